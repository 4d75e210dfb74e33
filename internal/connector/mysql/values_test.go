package mysql

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

const valuesDDL = "CREATE TABLE vals (id INT NOT NULL PRIMARY KEY, " +
	"ti TINYINT, tiu TINYINT UNSIGNED, t1 TINYINT(1), si SMALLINT, siu SMALLINT UNSIGNED, mi MEDIUMINT, miu MEDIUMINT UNSIGNED, " +
	"i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED, " +
	"d DECIMAL(65,30), d2 DECIMAL(10,3), f FLOAT, dbl DOUBLE, " +
	"vc VARCHAR(100), ch CHAR(10), lat VARCHAR(20) CHARACTER SET latin1, txt TEXT, " +
	"vbin VARBINARY(300), bin16 BINARY(16), bl BLOB, " +
	"dt DATE, dtm DATETIME(6), dt0 DATETIME, tm TIME(6), tm0 TIME, ts TIMESTAMP(6) NULL, y YEAR, " +
	"j JSON, e ENUM('a,b','it''s','back\\\\slash',''), e2 ENUM('x','y'), st SET('x','y','z'), " +
	"b1 BIT(1), b10 BIT(10), b64 BIT(64), u UUID, ip6 INET6, ip4 INET4, g GEOMETRY, " +
	"gen INT AS (id * 2) VIRTUAL)"

type valueCase struct {
	col  string
	sql  string // the value as SQL; "?" takes arg
	arg  any
	want *string // canonical; nil for NULL
}

func str(s string) *string { return &s }

func f64(v float64) *string { return str(strconv.FormatFloat(v, 'g', -1, 64)) }
func f32(v float32) *string { return str(strconv.FormatFloat(float64(v), 'g', -1, 32)) }

func allBytes() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

// nested is a document 2*depth levels deep (MariaDB's json_valid admits 32 with the value).
func nested(depth int) string {
	return strings.Repeat(`{"a":[`, depth) + "1" + strings.Repeat("]}", depth)
}

func valueCases() []valueCase {
	nines := strings.Repeat("9", 35) + "." + strings.Repeat("9", 30)
	point := "\x00\x00\x00\x00\x01\x01\x00\x00\x00" + "\x00\x00\x00\x00\x00\x00\xf0\x3f" + "\x00\x00\x00\x00\x00\x00\x00\x40"
	return []valueCase{
		{"ti", "-128", nil, str("-128")}, {"ti", "127", nil, str("127")},
		{"tiu", "0", nil, str("0")}, {"tiu", "255", nil, str("255")},
		{"t1", "0", nil, str("0")}, {"t1", "1", nil, str("1")}, {"t1", "127", nil, str("127")},
		{"si", "-32768", nil, str("-32768")}, {"si", "32767", nil, str("32767")}, {"siu", "65535", nil, str("65535")},
		{"mi", "-8388608", nil, str("-8388608")}, {"mi", "8388607", nil, str("8388607")}, {"miu", "16777215", nil, str("16777215")},
		{"i", "-2147483648", nil, str("-2147483648")}, {"i", "2147483647", nil, str("2147483647")}, {"iu", "4294967295", nil, str("4294967295")},
		{"bi", "-9223372036854775808", nil, str("-9223372036854775808")}, {"bi", "9223372036854775807", nil, str("9223372036854775807")},
		{"biu", "18446744073709551615", nil, str("18446744073709551615")}, {"biu", "0", nil, str("0")},
		{"d", nines, nil, str(nines)}, {"d", "-" + nines, nil, str("-" + nines)},
		{"d", "0." + strings.Repeat("0", 29) + "1", nil, str("0." + strings.Repeat("0", 29) + "1")},
		{"d", "-0.0", nil, str("0." + strings.Repeat("0", 30))},
		{"d2", "12.3", nil, str("12.300")}, {"d2", "-0.001", nil, str("-0.001")},
		{"f", "?", float32(0.1), f32(0.1)}, {"f", "?", float32(math.MaxFloat32), f32(math.MaxFloat32)},
		{"f", "?", float32(math.SmallestNonzeroFloat32), f32(math.SmallestNonzeroFloat32)},
		{"f", "?", float32(16777216), f32(16777216)}, {"f", "?", float32(-1.5e-38), f32(-1.5e-38)},
		{"dbl", "0.1", nil, f64(0.1)}, {"dbl", "1e308", nil, f64(1e308)}, {"dbl", "?", math.MaxFloat64, f64(math.MaxFloat64)},
		{"dbl", "?", math.SmallestNonzeroFloat64, f64(math.SmallestNonzeroFloat64)}, {"dbl", "?", 2.2250738585072e-308, f64(2.2250738585072e-308)},
		{"dbl", "?", -216237.00000035969, f64(-216237.00000035969)}, {"dbl", "?", 0.30000000000000004, str("0.30000000000000004")},
		{"dbl", "?", math.Copysign(0, -1), str("0")} /* MariaDB stores -0 as 0 */, {"dbl", "?", 123456789012345680, f64(123456789012345680)},
		{"vc", "''", nil, str("")}, {"vc", "NULL", nil, nil}, {"vc", "'trailing   '", nil, str("trailing   ")},
		{"vc", "'😀🎉 𝄞'", nil, str("😀🎉 𝄞")}, {"vc", "'e\u0301 \u200fשלום'", nil, str("e\u0301 \u200fשלום")},
		{"vc", "'it''s \\\\ \"q\"'", nil, str(`it's \ "q"`)},
		{"ch", "'ab  '", nil, str("ab")}, {"ch", "''", nil, str("")},
		{"lat", "'café ÿ'", nil, str("café ÿ")},
		{"txt", "?", "a\x00b\nc", str("a\x00b\nc")}, {"txt", "?", strings.Repeat("é", 32767), nil},
		{"vbin", "?", allBytes(), str(string(allBytes()))}, {"vbin", "?", []byte{}, str("")},
		{"bin16", "X'01020000000000000000000000000000'", nil, str("\x01\x02" + strings.Repeat("\x00", 14))},
		{"bin16", "'ab'", nil, str("ab" + strings.Repeat("\x00", 14))},
		{"bl", "?", []byte{0, 0, 0xff, 0}, str("\x00\x00\xff\x00")},
		{"dt", "'0000-00-00'", nil, str("0000-00-00")}, {"dt", "'1000-01-01'", nil, str("1000-01-01")},
		{"dt", "'9999-12-31'", nil, str("9999-12-31")}, {"dt", "'2020-00-00'", nil, str("2020-00-00")},
		{"dtm", "'0000-00-00 00:00:00'", nil, str("0000-00-00 00:00:00")},
		{"dtm", "'1000-01-01 00:00:00'", nil, str("1000-01-01 00:00:00")},
		{"dtm", "'9999-12-31 23:59:59.999999'", nil, str("9999-12-31 23:59:59.999999")},
		{"dtm", "'2020-01-01 12:00:00.5'", nil, str("2020-01-01 12:00:00.5")},
		{"dt0", "'2020-01-01 00:00:00'", nil, str("2020-01-01 00:00:00")},
		{"tm", "'-838:59:59'", nil, str("-838:59:59")}, {"tm", "'838:59:59.999999'", nil, str("838:59:59.999999")},
		{"tm", "'-00:00:01.5'", nil, str("-00:00:01.5")}, {"tm", "'12:34:56.0001'", nil, str("12:34:56.0001")},
		{"tm0", "'00:00:00'", nil, str("00:00:00")}, {"tm0", "'100:00:00'", nil, str("100:00:00")},
		{"ts", "'1970-01-01 00:00:01'", nil, str("1970-01-01 00:00:01")},
		{"ts", "'2038-01-19 03:14:07.999999'", nil, str("2038-01-19 03:14:07.999999")},
		{"ts", "'0000-00-00 00:00:00'", nil, str("0000-00-00 00:00:00")},
		{"y", "0", nil, str("0")}, {"y", "1901", nil, str("1901")}, {"y", "2155", nil, str("2155")},
		{"j", `'{"b":1, "a":[1,2,{"x":null}],"big":123456789012345678901234567890,"a":2}'`, nil,
			str(`{"b":1, "a":[1,2,{"x":null}],"big":123456789012345678901234567890,"a":2}`)},
		{"j", "'" + nested(15) + "'", nil, str(nested(15))},
		{"e", "'a,b'", nil, str("a,b")}, {"e", "'it''s'", nil, str("it's")}, {"e", "'back\\\\slash'", nil, str(`back\slash`)},
		{"e", "''", nil, str("")}, {"e2", "'x'", nil, str("x")}, {"e2", "'not a label'", nil, str("")},
		{"st", "''", nil, str("")}, {"st", "'z,x'", nil, str("x,z")}, {"st", "'x,y,z'", nil, str("x,y,z")},
		{"b1", "b'0'", nil, str("0")}, {"b1", "b'1'", nil, str("1")}, {"b10", "b'1000000001'", nil, str("1000000001")},
		{"b64", "b'" + strings.Repeat("1", 64) + "'", nil, str(strings.Repeat("1", 64))},
		{"b64", "0", nil, str(strings.Repeat("0", 64))},
		{"u", "'123E4567-E89B-12D3-A456-426614174000'", nil, str("123e4567-e89b-12d3-a456-426614174000")},
		{"ip6", "'::1'", nil, str("::1")}, {"ip6", "'2001:db8::ff00:42:8329'", nil, str("2001:db8::ff00:42:8329")},
		{"ip6", "'::ffff:1.2.3.4'", nil, str("::ffff:1.2.3.4")}, {"ip4", "'192.168.0.1'", nil, str("192.168.0.1")},
		{"g", "ST_GeomFromText('POINT(1 2)')", nil, str(point)},
	}
}

func TestValues(t *testing.T) {
	e := newEnv(t)
	e.exec(valuesDDL)
	db := e.srv.DB(t, e.src)
	cases := valueCases()
	conn, err := db.Conn(e.ctx)
	require.NoError(t, err)
	for _, q := range []string{"SET time_zone = '+00:00'", "SET sql_mode = 'NO_ENGINE_SUBSTITUTION'"} {
		_, err = conn.ExecContext(e.ctx, q)
		require.NoError(t, err)
	}
	for i, c := range cases {
		q := fmt.Sprintf("INSERT INTO vals (id, %s) VALUES (%d, %s)", quoteIdent(c.col), i+1, c.sql)
		var args []any
		if c.sql == "?" {
			args = []any{c.arg}
		}
		_, err := conn.ExecContext(e.ctx, q, args...)
		require.NoError(t, err, "case %d: %s", i, q)
		if c.col == "txt" && c.want == nil {
			s := c.arg.(string)
			cases[i].want = &s
		}
	}
	_, err = conn.ExecContext(e.ctx, fmt.Sprintf("INSERT INTO vals (id) VALUES (%d)", len(cases)+1)) // all NULL
	require.NoError(t, err)
	conn.Close()

	src := e.source()
	sink := e.sink()
	table := e.table(src, e.src, "vals")
	snap := e.snapshot(src, 1)
	rows := e.readAll(snap.Readers()[0], table)
	require.Len(t, rows, len(cases)+1)
	check := func(rows []value.Row) {
		t.Helper()
		for i, c := range cases {
			row := rows[i]
			require.Equal(t, strconv.Itoa(i+1), string(row[0]))
			col := table.ColumnIndex(c.col)
			got := row[col]
			if c.want == nil {
				require.Nil(t, got, "case %d %s %s", i, c.col, c.sql)
			} else {
				require.NotNil(t, got, "case %d %s %s", i, c.col, c.sql)
				require.Equal(t, *c.want, string(got), "case %d %s %s", i, c.col, c.sql)
			}
			for j, v := range row {
				if j != 0 && j != col && table.Columns[j].Name != "gen" {
					require.Nil(t, v, "case %d: column %s", i, table.Columns[j].Name)
				}
			}
			require.Equal(t, strconv.Itoa(2*(i+1)), string(row[table.ColumnIndex("gen")]))
		}
		for j, v := range rows[len(cases)] {
			if j != 0 && table.Columns[j].Name != "gen" {
				require.Nil(t, v)
			}
		}
	}
	check(rows)

	target := e.copyTable(src, sink, table)
	back := e.table(src, e.dst, "vals")
	require.Equal(t, target.Columns, back.Columns)
	snap2 := e.snapshot(src, 1)
	copied := e.readAll(snap2.Readers()[0], back)
	check(copied)
	require.Equal(t, rowStrings(rows), rowStrings(copied))
}

// A value the target column cannot hold fails loudly, naming table and column.
func TestWriteRejectsWhatDoesNotFit(t *testing.T) {
	e := newEnv(t)
	e.exec("CREATE TABLE small (id INT PRIMARY KEY, v VARCHAR(3), f DOUBLE, n DECIMAL(5,2))")
	src := e.source()
	sink := e.sink()
	table := e.table(src, e.src, "small")
	named := copyTable(table)
	named.Schema = e.dst
	require.NoError(t, sink.PrepareTable(e.ctx, named, "fail"))
	write := func(types []string, row value.Row) error {
		w := chunkWrite(named, types)
		sent := false
		_, err := sink.WriteChunk(e.ctx, w, func() ([]value.Row, error) {
			if sent {
				return nil, nil
			}
			sent = true
			return []value.Row{row}, nil
		})
		return err
	}
	err := write(nil, value.Row{[]byte("1"), []byte("toolong"), nil, nil})
	require.ErrorContains(t, err, CodeUnsupportedValue)
	require.ErrorContains(t, err, "Data too long")
	err = write(nil, value.Row{[]byte("2"), nil, []byte("NaN"), nil})
	require.ErrorContains(t, err, CodeUnsupportedValue)
	require.ErrorContains(t, err, "column f")
	err = write([]string{"", "", "", "numeric"}, value.Row{[]byte("3"), nil, nil, []byte("1.005")})
	require.ErrorContains(t, err, "would round it")
	require.NoError(t, write([]string{"", "", "", "numeric"}, value.Row{[]byte("4"), nil, nil, []byte("123.4500")}))
	err = write(nil, value.Row{[]byte("4"), nil, nil, nil})
	require.ErrorContains(t, err, CodeDuplicateKey)
	_, hasRows, err := sink.TableInfo(e.ctx, e.dst, "small")
	require.NoError(t, err)
	require.True(t, hasRows)
}

// chunkWrite writes every column of t; a source type "numeric" is an
// unconstrained decimal (as PostgreSQL's numeric), others are t's own.
func chunkWrite(t *schema.Table, sourceTypes []string) connector.ChunkWrite {
	w := connector.ChunkWrite{Table: t, Columns: t.Names()}
	for i, c := range t.Columns {
		typ := c.Type
		if i < len(sourceTypes) && sourceTypes[i] == "numeric" {
			typ = schema.Type{Kind: schema.KindDecimal}
		}
		w.SourceTypes = append(w.SourceTypes, typ)
	}
	return w
}
