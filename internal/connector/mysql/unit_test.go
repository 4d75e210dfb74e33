package mysql

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

func TestQuoting(t *testing.T) {
	require.Equal(t, "`a``b`", quoteIdent("a`b"))
	require.Equal(t, "`d`.`t`", quoteTable("d", "t"))
	for _, s := range []string{"", "it's", `a\b`, "nul\x00", "ctrl-z\x1a", "\\'", "é😀", "50%_\\%"} {
		lit := quoteString(s)
		got, rest, ok := unquoteString(lit)
		require.True(t, ok, s)
		require.Empty(t, rest)
		if !strings.Contains(s, `\%`) {
			require.Equal(t, s, got)
		}
	}
	v, rest, ok := unquoteString(`'a''b\\c\nd',x`)
	require.True(t, ok)
	require.Equal(t, "a'b\\c\nd", v)
	require.Equal(t, ",x", rest)
	_, _, ok = unquoteString(`'open`)
	require.False(t, ok)
	require.True(t, isPlainName("utf8mb4_0900_ai_ci"))
	require.False(t, isPlainName("utf8 ; DROP"))
	require.Equal(t, "X'00FF61'", hexLiteral([]byte{0, 0xff, 'a'}))
}

func TestParseLabels(t *testing.T) {
	labels, err := parseLabels(`enum('a,b','it''s','back\\slash','','))')`)
	require.NoError(t, err)
	require.Equal(t, []string{"a,b", "it's", `back\slash`, "", "))"}, labels)
	_, err = parseLabels("enum('a'")
	require.Error(t, err)
	require.Equal(t, `('a,b','it''s','x\\y')`, labelList([]string{"a,b", "it's", `x\y`}))
}

func TestColumnType(t *testing.T) {
	for _, c := range []struct {
		data, column, charset string
		want                  schema.Type
	}{
		{"int", "int(10) unsigned zerofill", "", schema.Type{Kind: schema.KindInt32, Unsigned: true}},
		{"decimal", "decimal(65,30) unsigned", "", schema.Type{Kind: schema.KindDecimal, Unsigned: true, Precision: 65, Scale: 30}},
		{"varchar", "varchar(255)", "utf8mb4", schema.Type{Kind: schema.KindVarChar, Length: 255}},
		{"char", "char", "utf8mb4", schema.Type{Kind: schema.KindChar, Length: 1}},
		{"datetime", "datetime(3)", "", schema.Type{Kind: schema.KindDateTime, FSP: 3}},
		{"bit", "bit(64)", "", schema.Type{Kind: schema.KindBit, Length: 64}},
		{"set", "set('x','y')", "binary", schema.Type{Kind: schema.KindSet, Values: []string{"x", "y"}, Binary: true}},
		{"point", "point", "", schema.Type{Kind: schema.KindUnknown}},
		{"inet4", "inet4", "", schema.Type{Kind: schema.KindInet}},
	} {
		got, err := columnType(c.data, c.column, c.charset)
		require.NoError(t, err)
		c.want.Raw = c.column
		require.Equal(t, c.want, got, c.column)
	}
}

func TestDefaults(t *testing.T) {
	maria := server{mariadb: true, major: 10, minor: 11}
	mysql8 := server{major: 8, minor: 0, patch: 36}
	str := func(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }
	vc := schema.Column{Type: schema.Type{Kind: schema.KindVarChar, Length: 10}, Nullable: true}
	dt := schema.Column{Type: schema.Type{Kind: schema.KindDateTime, FSP: 6}}
	bin := schema.Column{Type: schema.Type{Kind: schema.KindVarBinary, Length: 4}}
	for _, c := range []struct {
		srv   server
		raw   sql.NullString
		extra string
		col   schema.Column
		want  *schema.Default
	}{
		{maria, str("NULL"), "", vc, &schema.Default{Kind: schema.DefaultNull}},
		{maria, sql.NullString{}, "", vc, &schema.Default{Kind: schema.DefaultNull}},
		{maria, sql.NullString{}, "", dt, nil},
		{maria, str("'NULL'"), "", vc, &schema.Default{Kind: schema.DefaultLiteral, Value: "NULL"}},
		{maria, str(`'it''s \\'`), "", vc, &schema.Default{Kind: schema.DefaultLiteral, Value: `it's \`}},
		{maria, str("current_timestamp(6)"), "", dt, &schema.Default{Kind: schema.DefaultCurrentTimestamp, FSP: 6}},
		{maria, str("'2000-01-01 00:00:00.000000'"), "", dt, &schema.Default{Kind: schema.DefaultLiteral, Value: "2000-01-01 00:00:00"}},
		{maria, str("concat('a','b')"), "", vc, &schema.Default{Kind: schema.DefaultExpression, Value: "concat('a','b')"}},
		{mysql8, str("NULL"), "", vc, &schema.Default{Kind: schema.DefaultLiteral, Value: "NULL"}},
		{mysql8, sql.NullString{}, "", vc, &schema.Default{Kind: schema.DefaultNull}},
		{mysql8, str("it's"), "", vc, &schema.Default{Kind: schema.DefaultLiteral, Value: "it's"}},
		{mysql8, str("CURRENT_TIMESTAMP(6)"), "DEFAULT_GENERATED on update CURRENT_TIMESTAMP(6)", dt,
			&schema.Default{Kind: schema.DefaultCurrentTimestamp, FSP: 6}},
		{mysql8, str(`concat(_utf8mb4\'a\',_utf8mb4\'b\')`), "DEFAULT_GENERATED", vc,
			&schema.Default{Kind: schema.DefaultExpression, Value: "concat(_utf8mb4'a',_utf8mb4'b')"}},
		{mysql8, str("0x6162"), "", bin, &schema.Default{Kind: schema.DefaultLiteral, Value: "ab"}},
		{mysql8, str("curdate()"), "DEFAULT_GENERATED", dt, &schema.Default{Kind: schema.DefaultCurrentDate}},
	} {
		col := c.col
		require.Equal(t, c.want, columnDefault(c.srv, c.raw, c.extra, &col), "%v %q", c.srv.mariadb, c.raw.String)
	}
}

func TestCanonicalHelpers(t *testing.T) {
	for in, want := range map[string]string{"12:00:00.500000": "12:00:00.5", "12:00:00.000000": "12:00:00", "-838:59:59": "-838:59:59",
		"2020-01-01 00:00:00.000100": "2020-01-01 00:00:00.0001", "2020-01-01": "2020-01-01"} {
		require.Equal(t, want, string(trimFraction([]byte(in))))
	}
	require.Equal(t, "1", string(appendBits(nil, []byte{1}, 1)))
	require.Equal(t, "0000000101", string(appendBits(nil, []byte{0, 5}, 10)))
	require.Equal(t, strings.Repeat("1", 64), string(appendBits(nil, []byte{255, 255, 255, 255, 255, 255, 255, 255}, 64)))
	n, err := parseBits([]byte(strings.Repeat("1", 64)))
	require.NoError(t, err)
	require.Equal(t, ^uint64(0), n)
	_, err = parseBits([]byte("102"))
	require.Error(t, err)

	require.NoError(t, checkDecimal([]byte("-00012.3400"), 5, 2))
	require.Error(t, checkDecimal([]byte("1234.5"), 5, 2))
	require.Error(t, checkDecimal([]byte("1.005"), 5, 2))
	require.Error(t, checkDecimal([]byte("NaN"), 5, 2))

	mask, err := setMask([]string{"x", "y", "z"}, "x,z")
	require.NoError(t, err)
	require.Equal(t, uint64(5), mask)
	require.Equal(t, 0, enumIndex([]string{"a"}, ""))

	out := make(value.Row, 3)
	decodeRow(out, []sql.RawBytes{nil, {}, []byte("A1B2C3D4-0000-0000-0000-000000000000")}, []decoder{nil, nil, decoderFor(schema.Type{Kind: schema.KindUUID})}, make([][]byte, 3))
	require.Nil(t, out[0])
	require.NotNil(t, out[1])
	require.Empty(t, out[1])
	require.Equal(t, "a1b2c3d4-0000-0000-0000-000000000000", string(out[2]))
}

func TestKeys(t *testing.T) {
	for _, k := range []value.Row{nil, {}, {[]byte("a"), nil, value.Empty, {0, 0xff}}} {
		enc := encodeKey(k)
		var b []byte
		if enc != nil {
			b = []byte(enc.(string))
		}
		got, err := decodeKey(b)
		require.NoError(t, err)
		if k == nil {
			require.Nil(t, got)
			continue
		}
		require.Equal(t, k, got)
	}
}

func TestBoundSQL(t *testing.T) {
	tbl := &schema.Table{Schema: "d", Name: "t", Columns: []schema.Column{
		{Name: "a", Type: schema.Type{Kind: schema.KindInt64, Unsigned: true}},
		{Name: "b", Type: schema.Type{Kind: schema.KindVarChar, Length: 5}, Charset: "utf8mb4", Collation: "utf8mb4_general_ci"},
		{Name: "c", Type: schema.Type{Kind: schema.KindDecimal, Precision: 10, Scale: 2}},
	}}
	q, args, err := selectSQL(connector.ReadRequest{Table: tbl, Columns: []string{"a", "b"}, Key: []string{"a", "b", "c"},
		After: value.Row{[]byte("18446744073709551615"), []byte("x"), []byte("1.50")}, Limit: 7}, 0)
	require.NoError(t, err)
	p := "CONVERT(? USING utf8mb4) COLLATE utf8mb4_general_ci"
	require.Equal(t, "SELECT `a`,`b` FROM `d`.`t` WHERE `a` >= ? AND ((`a` > ?) OR (`a` = ? AND `b` > "+p+") OR "+
		"(`a` = ? AND `b` = "+p+" AND `c` > CAST(? AS DECIMAL(10,2)))) ORDER BY `a`,`b`,`c` LIMIT ?", q)
	require.Equal(t, []any{uint64(18446744073709551615), uint64(18446744073709551615), uint64(18446744073709551615), "x",
		uint64(18446744073709551615), "x", "1.50", int64(7)}, args)

	q, args, err = selectSQL(connector.ReadRequest{Table: tbl, Columns: []string{"a"}, Key: []string{"a"},
		After: value.Row{[]byte("1")}, Upto: value.Row{[]byte("9")}}, 3)
	require.NoError(t, err)
	require.Equal(t, "SELECT `a` FROM `d`.`t` WHERE `a` > ? AND `a` <= ? ORDER BY `a` LIMIT ? OFFSET ?", q)
	require.Equal(t, uint64(1), args[0])
	require.Equal(t, int64(3), args[3])

	_, _, err = selectSQL(connector.ReadRequest{Table: tbl, Columns: []string{"a"}, Key: []string{"a"}, After: value.Row{nil}}, 0)
	require.Error(t, err)
}

func TestVersionAndNames(t *testing.T) {
	v := parseVersion("5.5.5-10.11.19-MariaDB-0+deb12u1-log")
	require.True(t, v.mariadb)
	require.Equal(t, [3]int{10, 11, 19}, [3]int{v.major, v.minor, v.patch})
	require.True(t, v.atLeast(10, 5, 2))
	require.False(t, v.atLeast(11, 0, 0))
	v = parseVersion("8.0.36-commercial")
	require.False(t, v.mariadb)
	require.True(t, v.atLeast(8, 0, 17))

	long := strings.Repeat("é", 70)
	short := shortName(long)
	require.Equal(t, 64, len([]rune(short)))
	require.Equal(t, short, shortName(long), "deterministic")
	require.NotEqual(t, short, shortName(long+"x"))
	require.Equal(t, "ok", shortName("ok"))
}
