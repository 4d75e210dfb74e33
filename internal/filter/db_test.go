package filter

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/testenv"
	"github.com/dtsorg/dts/internal/value"
)

// The differential tests: for a table of edge rows on a real server and a
// set of filters, the rows the server selects with the rendered WHERE are
// exactly the rows Eval selects, and the server fails exactly when Eval
// fails on some row (arithmetic overflow).

// edgeCol is one column of the edge table.
type edgeCol struct {
	name        string
	mysql, pg   string // column type; "" when the engine has no such column
	col         schema.Column
	mysqlColl   string
	values      []string // SQL literals valid in both engines
	mysqlValues []string
	pgValues    []string
	strs        []string // for strings: the values (generated filters compare with them)
}

var edgeStrings = []string{"a", "A", "a ", " a", "á", "Á", "ß", "ss", "SS", "", "a\t", "é", "e", "E", "Æ", "ae", "😀", "😁",
	"Straße", "STRASSE", "100%", "a_b", `a\b`, "ǅ", "İ", "ı", "i", "I", "Ä", "ä", "zz", "Z", "€", "中文", "ﬀ", "ff", "Ǆ", "ǆ",
	"ſ", "s", "K", "K", "ℌ", "\u00a0", "a\u0301", "\u0301", "-", "_", "%", "'", "x'y", strings.Repeat("x", 19)}

var latin1Strings = []string{"a", "A", "ä", "Ä", "é", "É", "€", "ß", "ss", "x", " a", "a ", "ü", "Y", "ÿ", "Ÿ", "å", "Å", "æ", "Æ", "ø", "Ø", ""}

func edgeColumns() []edgeCol {
	num := func(k schema.Kind, unsigned bool) schema.Column {
		return schema.Column{Type: schema.Type{Kind: k, Unsigned: unsigned}, Nullable: true}
	}
	str := func(k schema.Kind, n int) schema.Column {
		return schema.Column{Type: schema.Type{Kind: k, Length: n}, Nullable: true}
	}
	quoted := func(ss []string) []string {
		var out []string
		for _, s := range ss {
			out = append(out, "'"+strings.ReplaceAll(s, "'", "''")+"'")
		}
		return out
	}
	strCol := func(name, mysqlColl, pgType string) edgeCol {
		c := edgeCol{name: name, mysql: "VARCHAR(20) CHARACTER SET utf8mb4 COLLATE " + mysqlColl, pg: pgType,
			col: str(schema.KindVarChar, 20), mysqlColl: mysqlColl, strs: edgeStrings}
		if mysqlColl == "" {
			c.mysql = ""
		}
		c.values = quoted(edgeStrings)
		return c
	}
	cols := []edgeCol{
		{name: "id", mysql: "INT PRIMARY KEY", pg: "INT PRIMARY KEY", col: schema.Column{Type: schema.Type{Kind: schema.KindInt32}}},
		{name: "i64", mysql: "BIGINT", pg: "BIGINT", col: num(schema.KindInt64, false),
			values: []string{"0", "1", "-1", "9223372036854775807", "-9223372036854775808", "100", "42", "-7"}},
		{name: "u64", mysql: "BIGINT UNSIGNED", col: num(schema.KindInt64, true),
			values: []string{"0", "18446744073709551615", "9223372036854775808", "5", "1"}},
		{name: "i32", mysql: "INT", pg: "INT", col: num(schema.KindInt32, false),
			values: []string{"2147483647", "-2147483648", "0", "7", "-3"}},
		{name: "i16", mysql: "SMALLINT", pg: "SMALLINT", col: num(schema.KindInt16, false),
			values: []string{"32767", "-32768", "0", "3", "-1"}},
		{name: "dec", mysql: "DECIMAL(20,6)", pg: "NUMERIC(20,6)", col: schema.Column{Type: schema.Type{Kind: schema.KindDecimal, Precision: 20, Scale: 6}, Nullable: true},
			values: []string{"0", "12.345678", "-12.345678", "99999999999999.999999", "0.000001", "12.5", "-0.5", "7"}},
		{name: "num", pg: "NUMERIC", col: schema.Column{Type: schema.Type{Kind: schema.KindDecimal}, Nullable: true},
			pgValues: []string{"'NaN'", "'Infinity'", "'-Infinity'", "1e100", "0.1", "12.5", "-3", "0"}},
		{name: "f", mysql: "FLOAT", pg: "REAL", col: num(schema.KindFloat32, false),
			values: []string{"0.5", "-0.25", "0.1", "1024", "3.5", "0", "-7"}, pgValues: []string{"'NaN'", "'Infinity'"}},
		{name: "g", mysql: "DOUBLE", pg: "DOUBLE PRECISION", col: num(schema.KindFloat64, false),
			values:   []string{"0.1", "-1e300", "1e-300", "2.5", "1e15", "0", "9007199254740993", "-3"},
			pgValues: []string{"'NaN'", "'Infinity'", "'-Infinity'", "'-0'"}},
		strCol("s_gen", "utf8mb4_general_ci", "TEXT"),
		strCol("s_uni", "utf8mb4_unicode_ci", `VARCHAR(20) COLLATE "und-x-icu"`),
		strCol("s_520", "utf8mb4_unicode_520_ci", ""),
		strCol("s_bin", "utf8mb4_bin", `TEXT COLLATE "C"`),
		strCol("s_nopad", "utf8mb4_general_nopad_ci", ""),
		{name: "c", mysql: "CHAR(5) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci", pg: "CHAR(5)", col: str(schema.KindChar, 5),
			mysqlColl: "utf8mb4_general_ci", values: quoted([]string{"a", "a  ", "A", "", "ab", "é", " a", "abcde"}),
			strs: []string{"a", "a  ", "A", "", "ab", "é", " a", "abcde", "a    ", "abcdef"}},
		{name: "lat", mysql: "VARCHAR(20) CHARACTER SET latin1 COLLATE latin1_swedish_ci", col: str(schema.KindVarChar, 20),
			mysqlColl: "latin1_swedish_ci", values: quoted(latin1Strings), strs: latin1Strings},
		{name: "e", mysql: "ENUM('new','vip','gone') CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci", pg: "mood",
			col:       schema.Column{Type: schema.Type{Kind: schema.KindEnum, Values: []string{"new", "vip", "gone"}}, Nullable: true},
			mysqlColl: "utf8mb4_general_ci", values: quoted([]string{"new", "vip", "gone"}), strs: []string{"new", "vip", "gone", "VIP"}},
		{name: "d", mysql: "DATE", pg: "DATE", col: num(schema.KindDate, false),
			values:      []string{"'2024-01-01'", "'0001-01-01'", "'9999-12-31'", "'2000-02-29'", "'1970-01-01'"},
			mysqlValues: []string{"'0000-00-00'"}, pgValues: []string{"'infinity'", "'-infinity'", "'0044-03-15 BC'"}},
		{name: "dt", mysql: "DATETIME(6)", pg: "TIMESTAMP(6)", col: num(schema.KindDateTime, false),
			values: []string{"'2024-01-01 00:00:00'", "'2024-01-01 00:00:00.5'", "'2023-12-31 23:59:59.999999'",
				"'1000-01-01 00:00:00'", "'9999-12-31 23:59:59.999999'", "'2024-01-01 12:00:00'"}, pgValues: []string{"'infinity'"}},
		{name: "ts", mysql: "TIMESTAMP(6) NULL DEFAULT NULL", pg: "TIMESTAMPTZ(6)", col: num(schema.KindTimestamp, false),
			values:   []string{"'1970-01-01 00:00:01'", "'2038-01-19 03:14:07'", "'2024-06-01 12:00:00.25'", "'2024-01-01 00:00:00'"},
			pgValues: []string{"'infinity'", "'1900-01-01 00:00:00'"}},
		{name: "tm", mysql: "TIME(6)", pg: "TIME(6)", col: num(schema.KindTime, false),
			values:      []string{"'00:00:00'", "'23:59:59.999999'", "'12:30:00'", "'09:30:00.5'"},
			mysqlValues: []string{"'-838:59:59'", "'838:59:59'", "'-00:00:01'", "'100:00:00'"}, pgValues: []string{"'24:00:00'"}},
		{name: "y", mysql: "YEAR", col: num(schema.KindYear, false), values: []string{"2024", "1901", "2155", "0", "1999"}},
		{name: "b", pg: "BOOLEAN", col: num(schema.KindBool, false), values: []string{"TRUE", "FALSE"}},
	}
	for i := range cols {
		cols[i].col.Name = cols[i].name
	}
	return cols
}

// has reports whether the engine has the column.
func (c edgeCol) has(d Dialect) bool {
	return d == MySQL && c.mysql != "" || d == PostgreSQL && c.pg != ""
}

func (c edgeCol) literals(d Dialect) []string {
	v := slices.Clone(c.values)
	if d == MySQL {
		v = append(v, c.mysqlValues...)
	} else {
		v = append(v, c.pgValues...)
	}
	if d == MySQL && c.mysql != "" && len(c.strs) > 0 {
		for i := range v { // MySQL's default sql_mode reads backslashes as escapes
			v[i] = strings.ReplaceAll(v[i], `\`, `\\`)
		}
	}
	return v
}

// edgeTable creates the table on the server, fills it and returns its
// schema.Table and its rows in canonical form, read back from the server.
func edgeTable(t *testing.T, d Dialect, conn *sql.Conn) (*schema.Table, map[int64]value.Row) {
	ctx := context.Background()
	exec := func(q string) {
		_, err := conn.ExecContext(ctx, q)
		require.NoError(t, err, q)
	}
	tbl := &schema.Table{Schema: "edge", Name: "t", Collation: "utf8mb4_general_ci"}
	var defs []string
	var cols []edgeCol
	for _, c := range edgeColumns() {
		if !c.has(d) {
			continue
		}
		typ := c.mysql
		if d == PostgreSQL {
			typ = c.pg
		}
		defs = append(defs, quoteIdent(d, c.name)+" "+typ)
		col := c.col
		if d == MySQL {
			col.Collation = c.mysqlColl
		}
		tbl.Columns = append(tbl.Columns, col)
		cols = append(cols, c)
	}
	if d == PostgreSQL {
		exec("CREATE TYPE mood AS ENUM ('new', 'vip', 'gone')")
	}
	exec("CREATE TABLE t (" + strings.Join(defs, ", ") + ")")
	const nrows = 60
	for i := 0; i < nrows; i++ {
		vals := []string{strconv.Itoa(i)}
		for ci, c := range cols[1:] {
			lits := c.literals(d)
			// Row 0 is all NULL; the others mix the edge values with strides
			// that differ per column.
			v := "NULL"
			if i > 0 && (i+ci)%11 != 0 {
				v = lits[(i*(ci+1)+ci)%len(lits)]
			}
			vals = append(vals, v)
		}
		exec("INSERT INTO t VALUES (" + strings.Join(vals, ", ") + ")")
	}
	// Every string edge value of every string column appears at least once.
	id := nrows
	for ci, c := range cols {
		for _, lit := range c.literals(d) {
			vals := []string{strconv.Itoa(id)}
			for cj := range cols[1:] {
				if cj+1 == ci {
					vals = append(vals, lit)
				} else {
					vals = append(vals, "NULL")
				}
			}
			exec("INSERT INTO t VALUES (" + strings.Join(vals, ", ") + ")")
			id++
		}
	}
	return tbl, readBack(t, d, conn, cols)
}

func quoteIdent(d Dialect, name string) string {
	if d == MySQL {
		return "`" + name + "`"
	}
	return `"` + name + `"`
}

// readBack reads the table's rows in canonical form (internal/value).
func readBack(t *testing.T, d Dialect, conn *sql.Conn, cols []edgeCol) map[int64]value.Row {
	var exprs []string
	for _, c := range cols {
		q := quoteIdent(d, c.name)
		k := c.col.Type.Kind
		switch {
		case d == MySQL && k == schema.KindFloat32:
			q = "CAST(" + q + " AS DOUBLE)"
		case d == MySQL:
			q = "CAST(" + q + " AS CHAR)"
		case k == schema.KindChar:
			q = "rpad(" + q + "::text, " + strconv.Itoa(c.col.Type.Length) + ")"
		case k == schema.KindTimestamp:
			q = "CASE WHEN isfinite(" + q + ") THEN to_char(" + q + " AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') ELSE " + q + "::text END"
		case k == schema.KindFloat32:
			q = q + "::float8::text"
		default:
			q = q + "::text"
		}
		exprs = append(exprs, q)
	}
	rows, err := conn.QueryContext(context.Background(), "SELECT "+strings.Join(exprs, ", ")+" FROM t ORDER BY 1")
	require.NoError(t, err)
	defer rows.Close()
	out := map[int64]value.Row{}
	for rows.Next() {
		raw := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range raw {
			ptrs[i] = &raw[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		row := make(value.Row, len(cols))
		for i, r := range raw {
			if r.Valid {
				row[i] = []byte(canonicalize(t, cols[i].col.Type, r.String))
			}
		}
		id, _ := strconv.ParseInt(raw[0].String, 10, 64)
		out[id] = row
	}
	require.NoError(t, rows.Err())
	return out
}

// canonicalize turns a server's text into the canonical form.
func canonicalize(t *testing.T, typ schema.Type, s string) string {
	switch typ.Kind {
	case schema.KindFloat32, schema.KindFloat64:
		bits := 64
		if typ.Kind == schema.KindFloat32 {
			bits = 32
		}
		f, err := strconv.ParseFloat(s, 64)
		require.NoError(t, err, s)
		switch {
		case math.IsNaN(f):
			return "NaN"
		case math.IsInf(f, 1):
			return "Infinity"
		case math.IsInf(f, -1):
			return "-Infinity"
		}
		return strconv.FormatFloat(f, 'g', -1, bits)
	case schema.KindBool:
		return map[string]string{"true": "1", "false": "0"}[s]
	case schema.KindYear:
		n, err := strconv.Atoi(s)
		require.NoError(t, err)
		return strconv.Itoa(n)
	case schema.KindTime, schema.KindDateTime, schema.KindTimestamp:
		if i := strings.IndexByte(s, '.'); i >= 0 {
			s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
		}
	}
	return s
}

// dbFilters are checked on both engines (where the columns exist).
var dbFilters = []string{
	"i64 > 0", "i64 = -9223372036854775808", "i64 BETWEEN -1 AND 100", "i64 IN (1, 42, -7)", "i64 NOT IN (1, 42)",
	"i64 % 7 = 0", "i64 % -3 = -1", "i64 > 1.5", "i64 = 9223372036854775807", "i64 > 1e18", "i64 = 42.0",
	"i64 + 1 > 0", "i64 - 1 < 0", "i64 * 2 > 0", "ABS(i64) > 5", "i64 <> 0 AND i64 * 1 > 0",
	"i32 + 1 > 0", "i32 + i32 > 0", "i32 * 2 > 0", "i32 + 2147483648 > 0", "i16 + i16 > 0", "i16 + 1 > 0", "i16 * i16 > 0",
	"i32 + i16 > 0", "ABS(i16) > 0", "ABS(i32) > 0", "i16 % 2 = 1", "i16 % 2 = -1", "i32 * i16 > 1000",
	"dec > 12.3456775", "dec = 12.5", "dec >= 12.345678", "dec * 2 = 24.691356", "dec + i64 > 100",
	"dec < 0 AND dec > -13", "ABS(dec) = 12.345678", "dec = 1e-6", "dec > 0.1e1", "dec BETWEEN 0 AND 13",
	"dec * dec > 100", "dec * i16 > 0",
	"f = 0.1", "f > 0.1", "f < 0.5", "f = 0.5", "f + 1 > 1.5", "f * f > 0.2", "f * 2 = 1", "f IN (0.5, 1024)", "f BETWEEN 0 AND 1",
	"f + g > 0", "f = g", "f * 1e38 * 10 > 0",
	"g > 1e300", "g < 0", "g = 0.1", "g * 1e10 > 1", "g * 1e300 > 0", "g = 9007199254740993", "g = 9007199254740992",
	"g BETWEEN 1 AND 3", "g IN (2.5, 0.1)", "g > i64", "ABS(g) > 1", "g * g * g > 1",
	"g * 1e-300 * 1e-300 = 0", "g + 1 > 1", "COALESCE(g, 0) > 1", "COALESCE(g, i64, 0) = 0", "COALESCE(i16, i64) > 0",
	"COALESCE(f, 0.1) > 0.1", "COALESCE(dec, 1) > 1", "COALESCE(dec, g) > 1",
	"c = 'a'", "c = 'a  '", "c <> 'a'", "c < 'ab'", "c LIKE 'a'", "c LIKE 'a%'", "c LIKE 'a__'", "c LIKE '% a%'",
	"CHAR_LENGTH(c) = 1", "LENGTH(c) > 1", "OCTET_LENGTH(c) = 5", "LOWER(c) = 'a'", "UPPER(c) = 'A'", "SUBSTRING(c, 1, 2) = 'a'",
	"COALESCE(c, 'x') = 'x'", "COALESCE(c, 'zz') > 'a'", "c IN ('a', 'é')", "c BETWEEN 'a' AND 'b'",
	"d > '2000-01-01'", "d = '2000-02-29'", "d BETWEEN '0001-01-01' AND '2024-01-01'", "d < '1970-01-02'", "d IN ('2024-01-01', '9999-12-31')",
	"d < dt", "d = dt", "dt >= '2024-01-01'", "dt = '2024-01-01 00:00:00.5'", "dt > '2024-01-01 00:00:00'", "dt < '1000-01-01 00:00:00.000001'",
	"dt BETWEEN '2023-12-31' AND '2024-01-01 00:00:00.499999'", "ts > '2024-01-01'", "ts = '2024-06-01 12:00:00.25'", "ts < '1970-01-01 00:00:02'",
	"dt > ts", "d < ts", "ts IN ('2038-01-19 03:14:07')",
	"tm > '12:00:00'", "tm = '09:30:00.5'", "tm < '00:00:00'", "tm BETWEEN '00:00:00' AND '12:30:00'",
	"e = 'vip'", "e IN ('new', 'gone')", "e <> 'new'", "e IS NULL",
	"i64 IS NULL OR dec IS NOT NULL", "(i64 > 0) IS TRUE", "(i64 > 0) IS NOT TRUE", "(i64 > 0) IS FALSE", "(i64 > 0) IS NOT FALSE",
	"NOT (i64 > 0)", "NOT (i64 > 0 AND dec > 0)", "i64 > 0 OR dec > 0", "i64 > 0 AND (dec > 0 OR g > 0)", "(i64 > 0) IS NULL",
	"i64 NOT BETWEEN 0 AND 50", "i64 BETWEEN i32 AND 100", "i64 BETWEEN 0 AND g",
	"s_gen LIKE '%s%' OR i64 > 0", "TRUE", "FALSE", "i64 > 0 AND TRUE",
}

var mysqlDBFilters = []string{
	"u64 > 9223372036854775807", "u64 = 18446744073709551615", "u64 + 1 > 0", "u64 - 1 > 0", "u64 - 6 > 0", "u64 * 2 > 0",
	"u64 + i64 > 0", "u64 - i64 > 0", "u64 % 3 = 0", "u64 % -3 = 0", "u64 > i64", "u64 = 1e19", "u64 > 1.5e19", "ABS(u64) > 5",
	"u64 IN (5, 18446744073709551615)", "u64 BETWEEN 1 AND 1e19", "COALESCE(u64, i64) > 0", "u64 > -1",
	"i64 IN (1, 1e0)", "i64 BETWEEN 9007199254740993 AND 1e19", "i64 BETWEEN 1 AND 100.5",
	"y = 2024", "y > 1999", "y = 0", "y BETWEEN 1901 AND 2000", "y IN (2155, 0)",
	"d = '0000-00-00'", "d > '0000-00-00'", "d < '0001-01-01'",
	"tm < '-00:00:00.5'", "tm > '-838:59:58'", "tm = '838:59:59'", "tm > '100:00:00'",
	"e < 'vip'", "e > 'NEW'", "e LIKE 'V%'", "LOWER(e) = 'vip'", "e = 'VIP'",
	"lat = 'A'", "lat = 'ä'", "lat < 'b'", "lat LIKE '%Ä%'", "lat = 'ss'", "lat > 'z'", "UPPER(lat) = 'Ÿ'", "LOWER(lat) = 'ÿ'",
	"LENGTH(lat) = 1", "CHAR_LENGTH(lat) = 1", "lat = 'y'", "lat = 'ü'", "lat = 'Y'", "lat IN ('€', 'x')",
	"s_gen = s_gen", "s_uni > s_uni", "LOWER(s_bin) = s_bin", "s_gen <=> NULL", "s_gen <=> 'a'", "i64 <=> i32",
	"i64 = 1 && dec > 0 || g > 0",
}

var pgDBFilters = []string{
	"num = 'NaN'", "num > 1e99", "num > 'Infinity'", "num < 0", "num = 12.5", "num + 1 > 1", "num * 0 = 0", "num % 5 = 0",
	"num - num = 0", "ABS(num) > 1", "num IN (0.1, 12.5)", "num BETWEEN -1 AND 'Infinity'", "COALESCE(num, 0) > 1",
	"num > g", "num = i64", "dec % 0.3 > 0.1", "(dec % 0.7) BETWEEN 0 AND 0", "COALESCE(dt, '1970-01-01') > '2000-01-01'",
	"COALESCE(tm, '09:30:00.5') > '09:30:00.5'", "f IN (0.1, 3)", "f IN (0.1)", "f NOT IN (0.1, -0.25)", "COALESCE(f, 0.1) IN (0.1, 2)",
	"g = 'NaN'", "g > 1e300", "g = 'Infinity'", "g < '-Infinity'", "g = 0", "g + 1 > 0", "g * 0 = 0", "g - g = 0",
	"f = 'NaN'", "f > 1000", "f + f > 1", "f * 2 > 1", "f = 'Infinity'",
	"d > '2024-01-01'", "d = 'infinity'", "d < '0001-01-01'", "d > '-infinity'", "dt = 'infinity'", "ts > '1960-01-01'",
	"ts = 'infinity'", "tm = '24:00:00'", "tm > '23:59:59.999999'",
	"b", "NOT b", "b = TRUE", "b IS NOT FALSE", "b <> FALSE", "b IS NULL", "b IS DISTINCT FROM TRUE", "b IS NOT DISTINCT FROM NULL",
	"s_gen IS DISTINCT FROM 'a'", "s_gen IS NOT DISTINCT FROM s_bin", "i64 IS DISTINCT FROM i32",
	"e = 'vip' OR e IS NULL",
	`s_gen = E'a\\b'`, `s_gen LIKE 'a\%'`, `s_gen LIKE E'a\\\\b'`,
	"s_uni < s_bin", "s_uni COLLATE \"C\" > 'Z'",
}

// generatedFilters compares every string column with every edge value.
func generatedFilters(d Dialect, cols []edgeCol) []string {
	var out []string
	lit := func(s string) string {
		s = strings.ReplaceAll(s, "'", "''")
		if d == MySQL {
			s = strings.ReplaceAll(s, `\`, `\\`)
		}
		return "'" + s + "'"
	}
	for _, c := range cols {
		if !c.has(d) || c.strs == nil {
			continue
		}
		n := c.name
		for _, v := range c.strs {
			out = append(out, n+" = "+lit(v), n+" < "+lit(v), n+" >= "+lit(v), n+" <> "+lit(v),
				n+" LIKE "+lit(v), n+" LIKE "+lit(v+"%"), n+" LIKE "+lit("%"+v), n+" LIKE "+lit("_"+v+"%"),
				n+" NOT LIKE "+lit(v+"_"), "LOWER("+n+") = "+lit(v), "UPPER("+n+") = "+lit(v),
				"LOWER("+n+") < "+lit(v), n+" IN ("+lit(v)+", 'zz')", n+" BETWEEN "+lit(v)+" AND 'zzz'",
				"CHAR_LENGTH("+n+") = "+strconv.Itoa(len([]rune(v))), "LENGTH("+n+") = "+strconv.Itoa(len(v)),
				"SUBSTRING("+n+", 2) = "+lit(v), "SUBSTRING("+n+", -2, 1) = "+lit(v), "SUBSTRING("+n+", 0, 2) = "+lit(v),
				"COALESCE("+n+", "+lit(v)+") = "+lit(v))
		}
	}
	return out
}

func TestAgainstMariaDB(t *testing.T) {
	t.Parallel()
	srv := testenv.MariaDB(t)
	db := srv.DB(t, srv.NewDatabase(t))
	conn := session(t, db, "SET time_zone = '+00:00'", "SET sql_mode = 'NO_ENGINE_SUBSTITUTION'")
	differential(t, MySQL, conn, mysqlDBFilters)
}

func TestAgainstPostgres(t *testing.T) {
	t.Parallel()
	srv := testenv.Postgres(t)
	db := srv.DB(t, srv.NewDatabase(t))
	conn := session(t, db, "SET TimeZone = 'UTC'", "SET standard_conforming_strings = on")
	differential(t, PostgreSQL, conn, pgDBFilters)
}

// session returns one connection with the session settings of a dts source.
func session(t *testing.T, db *sql.DB, settings ...string) *sql.Conn {
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	for _, s := range settings {
		_, err := conn.ExecContext(ctx, s)
		require.NoError(t, err, s)
	}
	return conn
}

func differential(t *testing.T, d Dialect, conn *sql.Conn, extra []string) {
	tbl, rows := edgeTable(t, d, conn)
	var cols []edgeCol
	for _, c := range edgeColumns() {
		if c.has(d) {
			cols = append(cols, c)
		}
	}
	filters := append(slices.Clone(dbFilters), extra...)
	handWritten := len(filters)
	filters = append(filters, generatedFilters(d, cols)...)
	ids := make([]int64, 0, len(rows))
	for id := range rows {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	checked, failing, refused := 0, 0, 0
	for i, src := range filters {
		f, err := Parse(string(d), src, tbl)
		if err != nil {
			// Some generated filters are refused (a pattern that ends in the
			// escape character, PostgreSQL enum functions); every refusal
			// must be a user error, and no hand-written filter is refused.
			assert.Equal(t, errs.InvalidParameter, errs.CodeOf(err), "%s: %v", src, err)
			if i < handWritten {
				t.Errorf("%s: %s is refused: %v", d, src, err)
			}
			refused++
			continue
		}
		where := f.SQL(d)
		dbIDs, dbErr := selectIDs(conn, where)
		var evalIDs []int64
		var evalErr error
		for _, id := range ids {
			ok, err := f.Eval(rows[id])
			if err != nil {
				evalErr = err
				continue
			}
			if ok {
				evalIDs = append(evalIDs, id)
			}
		}
		checked++
		if dbErr != nil || evalErr != nil {
			failing++
			assert.True(t, dbErr != nil && evalErr != nil, "%s: %s\n  SQL %s\n  server error: %v\n  Eval error: %v", d, src, where, dbErr, evalErr)
			continue
		}
		if !slices.Equal(dbIDs, evalIDs) {
			t.Errorf("%s: %s\n  SQL %s\n  server selects %v\n  Eval selects   %v\n  differ: %s", d, src, where, dbIDs, evalIDs,
				describeDiff(tbl, rows, dbIDs, evalIDs, f))
		}
	}
	t.Logf("%s: %d filters checked on %d rows (%d failing on both sides, %d generated ones refused)", d, checked, len(rows), failing, refused)
}

func selectIDs(conn *sql.Conn, where string) ([]int64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rows, err := conn.QueryContext(ctx, "SELECT id FROM t WHERE "+where+" ORDER BY id")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	if out == nil {
		out = []int64{}
	}
	return out, rows.Err()
}

// describeDiff shows the referenced values of the rows one side selects and the other does not.
func describeDiff(tbl *schema.Table, rows map[int64]value.Row, a, b []int64, f *Filter) string {
	var parts []string
	for _, id := range symmetricDiff(a, b) {
		var vals []string
		for _, i := range f.ColumnIndexes() {
			v := rows[id][i]
			s := "NULL"
			if v != nil {
				s = strconv.Quote(string(v))
			}
			vals = append(vals, tbl.Columns[i].Name+"="+s)
		}
		parts = append(parts, fmt.Sprintf("id %d (%s)", id, strings.Join(vals, ", ")))
		if len(parts) == 5 {
			break
		}
	}
	return strings.Join(parts, "; ")
}

func symmetricDiff(a, b []int64) []int64 {
	var out []int64
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	for _, x := range b {
		if !slices.Contains(a, x) {
			out = append(out, x)
		}
	}
	return out
}
