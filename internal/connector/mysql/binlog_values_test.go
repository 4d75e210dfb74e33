package mysql

import (
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/change"
)

// The binlog path and the snapshot path give the same canonical bytes for
// the same stored values (T25): every case of the type matrix (values_test.go)
// plus cases only the binlog path could get wrong, inserted, updated (both
// row images) and deleted, each compared with what the snapshot Reader reads.
func TestBinlogValuesMatchSnapshot(t *testing.T) {
	e := newEnv(t)
	e.exec(valuesDDL)
	e.binlogMatchesSnapshot("vals", valueInserts(valueCases()))
}

// Values whose binlog form differs most from the snapshot's: character sets,
// padding, MariaDB's UUID/INET types, wide ENUM/SET, every BIT and TIME width.
func TestBinlogValuesEdgeCases(t *testing.T) {
	e := newEnv(t)
	labels := make([]string, 300)
	for i := range labels {
		labels[i] = fmt.Sprintf("'l%d'", i)
	}
	members := make([]string, 64)
	for i := range members {
		members[i] = fmt.Sprintf("'m%d'", i)
	}
	e.exec("CREATE TABLE edge (id INT PRIMARY KEY, " +
		"c4 CHAR(4), c4b CHAR(4) CHARACTER SET binary, b4 BINARY(4), vb VARBINARY(10), " +
		"l1 VARCHAR(40) CHARACTER SET latin1, lc CHAR(10) CHARACTER SET latin1, lt TEXT CHARACTER SET latin1, " +
		"u2 VARCHAR(10) CHARACTER SET ucs2, u16 VARCHAR(10) CHARACTER SET utf16, u16le VARCHAR(10) CHARACTER SET utf16le, " +
		"u32 VARCHAR(10) CHARACTER SET utf32, a VARCHAR(10) CHARACTER SET ascii, u3 VARCHAR(10) CHARACTER SET utf8mb3, " +
		"e300 ENUM(" + strings.Join(labels, ",") + "), s64 SET(" + strings.Join(members, ",") + "), " +
		"bt2 BIT(2), bt9 BIT(9), bt17 BIT(17), bt33 BIT(33), " +
		"t1 TIME(1), t2 TIME(2), t3 TIME(3), t4 TIME(4), t5 TIME(5), dt3 DATETIME(3), ts1 TIMESTAMP(1) NULL, ts4 TIMESTAMP(4) NULL, " +
		"d1 DECIMAL(1,0), d9 DECIMAL(18,9), d30 DECIMAL(30,0) UNSIGNED, f2 FLOAT(7,3), db2 DOUBLE(12,4), " +
		"u UUID, i6 INET6, i4 INET4, tt TINYTEXT, mt MEDIUMTEXT, lb LONGBLOB, tb TINYBLOB, j JSON, " +
		"yy YEAR, mu MEDIUMINT UNSIGNED, su SMALLINT UNSIGNED, tu TINYINT UNSIGNED, iu INT UNSIGNED, bu BIGINT UNSIGNED, " +
		"sv INT AS (id + 1) STORED)")
	cases := []valueCase{
		{"c4", "'ab  '", nil, nil}, {"c4", "'é😀 '", nil, nil}, {"c4", "' '", nil, nil}, {"c4b", "'a  '", nil, nil},
		{"b4", "X'00000000'", nil, nil}, {"b4", "X'61000000'", nil, nil}, {"b4", "X'00000061'", nil, nil}, {"b4", "'a b'", nil, nil},
		{"vb", "X'0000'", nil, nil}, {"vb", "X'2020'", nil, nil},
		{"l1", "?", "€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ ¡¢£¤¥¦§¨©", nil}, {"l1", "X'818D8F909D'", nil, nil},
		{"lc", "'ÿ é  '", nil, nil}, {"lt", "?", strings.Repeat("äöü", 100), nil},
		{"u2", "'é€𝄞'", nil, nil}, {"u16", "'é€𝄞😀'", nil, nil}, {"u16le", "'é€😀'", nil, nil}, {"u32", "'é€😀'", nil, nil},
		{"a", "'plain ascii'", nil, nil}, {"u3", "'ñandú'", nil, nil},
		{"e300", "'l0'", nil, nil}, {"e300", "'l255'", nil, nil}, {"e300", "'l299'", nil, nil},
		{"s64", "''", nil, nil}, {"s64", "'m63'", nil, nil}, {"s64", "'" + strings.Join(stripQuotes(members), ",") + "'", nil, nil},
		{"bt2", "b'10'", nil, nil}, {"bt9", "b'100000001'", nil, nil}, {"bt17", "b'10000000000000001'", nil, nil},
		{"bt33", "b'100000000000000000000000000000001'", nil, nil},
		{"t1", "'-00:00:00.1'", nil, nil}, {"t1", "'-838:59:58.9'", nil, nil}, {"t2", "'-00:00:01.01'", nil, nil},
		{"t2", "'12:00:00.99'", nil, nil}, {"t3", "'-01:02:03.004'", nil, nil}, {"t4", "'-00:00:00.0001'", nil, nil},
		{"t5", "'-837:00:00.00001'", nil, nil}, {"t5", "'00:00:00'", nil, nil},
		{"dt3", "'2024-02-29 23:59:59.999'", nil, nil}, {"dt3", "'0000-00-00 00:00:00'", nil, nil},
		{"ts1", "'2000-01-01 00:00:00.1'", nil, nil}, {"ts4", "'2038-01-19 03:14:07.9999'", nil, nil},
		{"d1", "-9", nil, nil}, {"d1", "0", nil, nil}, {"d9", "'-123456789.123456789'", nil, nil}, {"d9", "'0.000000001'", nil, nil},
		{"d30", "'999999999999999999999999999999'", nil, nil},
		{"f2", "'1234.567'", nil, nil}, {"f2", "'-0.001'", nil, nil}, {"db2", "'12345678.1234'", nil, nil},
		{"u", "'6ccd780c-baba-1026-9564-5b8c656024db'", nil, nil}, {"u", "'00000000-0000-0000-0000-000000000000'", nil, nil},
		{"u", "'ffffffff-ffff-4fff-bfff-ffffffffffff'", nil, nil}, {"u", "'00112233-4455-6677-8899-AABBCCDDEEFF'", nil, nil},
		{"i6", "'::'", nil, nil}, {"i6", "'::1'", nil, nil}, {"i6", "'1::'", nil, nil}, {"i6", "'1:0:0:2:0:0:0:3'", nil, nil},
		{"i6", "'1:0:2:0:3:0:4:0'", nil, nil}, {"i6", "'::1.2.3.4'", nil, nil}, {"i6", "'::ffff:0.0.0.0'", nil, nil},
		{"i6", "'fe80::abcd:ef01:2345:6789'", nil, nil}, {"i6", "'::ffff:1:2'", nil, nil}, {"i6", "'0:0:0:0:0:1:0:0'", nil, nil},
		{"i4", "'0.0.0.0'", nil, nil}, {"i4", "'10.20.30.40'", nil, nil},
		{"tt", "?", strings.Repeat("x", 255), nil}, {"mt", "?", strings.Repeat("ü", 40000), nil},
		{"lb", "?", []byte(strings.Repeat("\x00\xff", 200000)), nil}, {"tb", "?", []byte{0, 1, 2}, nil},
		{"j", `'{"a": [1, 2.50, "x"], "b": null}'`, nil, nil}, {"j", `'[]'`, nil, nil},
		{"yy", "1901", nil, nil}, {"yy", "0", nil, nil}, {"mu", "16777215", nil, nil}, {"mu", "8388608", nil, nil},
		{"su", "65535", nil, nil}, {"su", "32768", nil, nil}, {"tu", "128", nil, nil}, {"iu", "2147483648", nil, nil},
		{"iu", "4294967295", nil, nil}, {"bu", "9223372036854775808", nil, nil}, {"bu", "18446744073709551615", nil, nil},
	}
	e.binlogMatchesSnapshot("edge", valueInserts(cases))
}

func stripQuotes(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.Trim(s, "'")
	}
	return out
}

// insert is one statement with its arguments.
type insert struct {
	sql  string
	args []any
}

// valueInserts inserts each case as a row of its own (id = case + 1), and a
// row of NULLs.
func valueInserts(cases []valueCase) []insert {
	var out []insert
	for i, c := range cases {
		q := fmt.Sprintf("INSERT INTO %%s (id, %s) VALUES (%d, %s)", quoteIdent(c.col), i+1, c.sql)
		var args []any
		if c.sql == "?" {
			args = []any{c.arg}
		}
		out = append(out, insert{q, args})
	}
	return append(out, insert{fmt.Sprintf("INSERT INTO %%s (id) VALUES (%d)", len(cases)+1), nil})
}

// binlogMatchesSnapshot inserts rows into table, then updates every row
// (id += 100000) and deletes them, and compares every row image of the
// binlog with the snapshot Reader's row.
func (e *env) binlogMatchesSnapshot(table string, inserts []insert) {
	t := e.t
	src := e.source()
	lj := e.logJob(table)
	from, tables := e.logSnapshot(src, lj)
	meta := tables[0]

	db := e.srv.DB(t, e.src)
	conn, err := db.Conn(e.ctx)
	require.NoError(t, err)
	defer conn.Close()
	for _, q := range []string{"SET time_zone = '+05:30'", "SET sql_mode = 'NO_ENGINE_SUBSTITUTION'"} {
		_, err := conn.ExecContext(e.ctx, q)
		require.NoError(t, err)
	}
	for i, in := range inserts {
		_, err := conn.ExecContext(e.ctx, fmt.Sprintf(in.sql, quoteIdent(table)), in.args...)
		require.NoError(t, err, "insert %d: %s", i, in.sql)
	}
	before := e.snapshotRows(src, meta)
	require.Len(t, before, len(inserts))

	st := stream{t, e.follow(src, lj, from, tables)}
	for i, r := range st.rows(len(inserts)) {
		require.Equal(t, change.OpInsert, r.Op)
		require.Same(t, meta, r.Table)
		require.Nil(t, r.Before)
		id := strconv.Itoa(i + 1)
		requireSameRow(t, meta, before[id], r.After, "insert of id "+id)
	}

	_, err = conn.ExecContext(e.ctx, fmt.Sprintf("UPDATE %s SET id = id + 100000", quoteIdent(table)))
	require.NoError(t, err)
	after := e.snapshotRows(src, meta)
	_, rows, _ := st.txn()
	require.Len(t, rows, len(inserts))
	for _, r := range rows {
		require.Equal(t, change.OpUpdate, r.Op)
		id := string(r.Before[0])
		requireSameRow(t, meta, before[id], r.Before, "update (before image) of id "+id)
		n, _ := strconv.Atoi(id)
		requireSameRow(t, meta, after[strconv.Itoa(n+100000)], r.After, "update (after image) of id "+id)
	}

	_, err = conn.ExecContext(e.ctx, fmt.Sprintf("DELETE FROM %s", quoteIdent(table)))
	require.NoError(t, err)
	_, rows, _ = st.txn()
	require.Len(t, rows, len(inserts))
	for _, r := range rows {
		require.Equal(t, change.OpDelete, r.Op)
		require.Nil(t, r.After)
		requireSameRow(t, meta, after[string(r.Before[0])], r.Before, "delete of id "+string(r.Before[0]))
	}
}
