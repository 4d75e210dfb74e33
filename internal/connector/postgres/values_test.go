package postgres

import (
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/value"
)

// valueCase is one edge value: a SQL literal of a column type and the
// canonical bytes a reader must return for it.
type valueCase struct {
	col, typ, lit, want string
}

var allBytes = func() string {
	var b []byte
	for i := range 256 {
		b = append(b, byte(i))
	}
	return string(b)
}()

var valueCases = []valueCase{
	{"i2", "smallint", "-32768", "-32768"},
	{"i2", "smallint", "32767", "32767"},
	{"i4", "integer", "-2147483648", "-2147483648"},
	{"i4", "integer", "2147483647", "2147483647"},
	{"i8", "bigint", "-9223372036854775808", "-9223372036854775808"},
	{"i8", "bigint", "9223372036854775807", "9223372036854775807"},
	{"num", "numeric", "'12345678901234567890123456789012345678901234567890.000000000000000000000000000000000000000001'",
		"12345678901234567890123456789012345678901234567890.000000000000000000000000000000000000000001"},
	{"num", "numeric", "'NaN'", "NaN"},
	{"num", "numeric", "'Infinity'", "Infinity"},
	{"num", "numeric", "'-Infinity'", "-Infinity"},
	{"num", "numeric", "'-0.000'", "0.000"},
	{"num2", "numeric(10,3)", "'1.5'", "1.500"},
	{"f4", "real", "0.1", "0.1"},
	{"f4", "real", "'3.4028235e38'", "3.4028235e+38"},
	{"f4", "real", "'1e-45'", "1e-45"},
	{"f4", "real", "'-0'", "-0"},
	{"f4", "real", "'NaN'", "NaN"},
	{"f4", "real", "'Infinity'", "Infinity"},
	{"f8", "double precision", "0.1", "0.1"},
	{"f8", "double precision", "1e308", "1e+308"},
	{"f8", "double precision", "'5e-324'", "5e-324"},
	{"f8", "double precision", "'2.2250738585072014e-308'", "2.2250738585072014e-308"},
	{"f8", "double precision", "'-0'", "-0"},
	{"f8", "double precision", "'-216237.00000035969'", "-216237.0000003597"},  // the same double: 16 digits are enough
	{"f8", "double precision", "'-216237.00000035967'", "-216237.00000035967"}, // 17 digits needed
	{"f8", "double precision", "'0.30000000000000004'", "0.30000000000000004"},
	{"f8", "double precision", "1234567", "1.234567e+06"},
	{"f8", "double precision", "'NaN'", "NaN"},
	{"f8", "double precision", "'-Infinity'", "-Infinity"},
	{"txt", "text", "''", ""},
	{"txt", "text", "'😀 e\u0301 \u200fשלום\u200e trailing  '", "😀 e\u0301 \u200fשלום\u200e trailing  "},
	{"txt", "text", "E'tab\\there\\nline\\r\\\\back'", "tab\there\nline\r\\back"},
	{"txt", "text", "'\\N'", `\N`},
	{"ch", "character(5)", "'ab'", "ab   "},
	{"vc", "character varying(10)", "'x y '", "x y "},
	{"by", "bytea", "''", ""},
	{"by", "bytea", "'\\x" + hexOf(allBytes) + "'", allBytes},
	{"bo", "boolean", "true", "1"},
	{"bo", "boolean", "false", "0"},
	{"d", "date", "'4713-01-01 BC'", "4713-01-01 BC"},
	{"d", "date", "'5874897-12-31'", "5874897-12-31"},
	{"d", "date", "'infinity'", "infinity"},
	{"d", "date", "'-infinity'", "-infinity"},
	{"t", "time(6)", "'24:00:00'", "24:00:00"},
	{"t", "time(6)", "'00:00:00.000001'", "00:00:00.000001"},
	{"t", "time(6)", "'23:59:59.50'", "23:59:59.5"},
	{"ttz", "time with time zone", "'12:00:00.25+05:30'", "12:00:00.25+05:30"},
	{"ts", "timestamp(6)", "'2020-01-01 10:00:00.123456'", "2020-01-01 10:00:00.123456"},
	{"ts", "timestamp(6)", "'4713-01-01 00:00:00 BC'", "4713-01-01 00:00:00 BC"},
	{"ts", "timestamp(6)", "'294276-12-31 23:59:59.999999'", "294276-12-31 23:59:59.999999"},
	{"ts", "timestamp(6)", "'infinity'", "infinity"},
	{"tstz", "timestamptz(6)", "'2020-06-01 12:00:00.5+02'", "2020-06-01 10:00:00.5"},
	{"tstz", "timestamptz(6)", "'2000-01-01 00:00:00 America/New_York'", "2000-01-01 05:00:00"},
	{"tstz", "timestamptz(6)", "'0001-01-01 00:00:00+00 BC'", "0001-01-01 00:00:00 BC"},
	{"tstz", "timestamptz(6)", "'-infinity'", "-infinity"},
	{"iv", "interval", "'1000 hours'", "1000:00:00"},
	{"iv", "interval", "'-838:59:59.5'", "-838:59:59.5"},
	{"iv", "interval", "'1 year 2 mons 3 days 04:05:06.000007'", "1 year 2 mons 3 days 04:05:06.000007"},
	{"iv", "interval", "'-1 year -2 mons'", "-1 years -2 mons"},
	{"js", "json", `'{"b": "\u0000", "a" :[1, 2.50]}'`, `{"b": "\u0000", "a" :[1, 2.50]}`},
	{"jb", "jsonb", `'{"b":1,"a":{"c":[true,null]}}'`, `{"a": {"c": [true, null]}, "b": 1}`},
	{"u", "uuid", "'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"},
	{"ip", "inet", "'192.168.0.1/24'", "192.168.0.1/24"},
	{"ip", "inet", "'::1'", "::1"},
	{"net", "cidr", "'10.0.0.0/8'", "10.0.0.0/8"},
	{"mac", "macaddr", "'08:00:2B:01:02:03'", "08:00:2b:01:02:03"},
	{"b4", "bit(4)", "B'0101'", "0101"},
	{"vb", "bit varying(8)", "B''", ""},
	{"vb", "bit varying(8)", "B'1'", "1"},
	{"ia", "integer[]", "'{1,NULL,3}'", "{1,NULL,3}"},
	{"ta", "text[][]", `'{{a,"b c"},{NULL,"\""}}'`, `{{a,"b c"},{NULL,"\""}}`},
	{"mo", "money", "'12.34'", "12.34"},
	{"mo", "money", "'-92233720368547758.08'", "-92233720368547758.08"},
	{"x", "xml", "'<a b=\"1\">x &amp; y</a>'", `<a b="1">x &amp; y</a>`},
	{"e", "mood", "'happy'", "happy"},
	{"dom", "posint", "7", "7"},
}

func hexOf(s string) string {
	const digits = "0123456789abcdef"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteByte(digits[s[i]>>4])
		b.WriteByte(digits[s[i]&15])
	}
	return b.String()
}

// valueTable creates table v with a column per type of valueCases and a
// row per case holding the case's value in its column, NULL elsewhere.
func valueTable(t *testing.T, v *env) (cols []string) {
	t.Helper()
	v.exec(t, `CREATE TYPE mood AS ENUM ('sad', 'happy')`, `CREATE DOMAIN posint AS integer CHECK (VALUE > 0)`)
	seen := map[string]bool{}
	defs := []string{"id integer PRIMARY KEY"}
	for _, c := range valueCases {
		if !seen[c.col] {
			seen[c.col] = true
			cols = append(cols, c.col)
			defs = append(defs, c.col+" "+c.typ)
		}
	}
	stmts := []string{"CREATE TABLE v (" + strings.Join(defs, ", ") + ")"}
	for i, c := range valueCases {
		stmts = append(stmts, "INSERT INTO v (id, "+c.col+") VALUES ("+strconv.Itoa(i)+", "+c.lit+")")
	}
	stmts = append(stmts, "INSERT INTO v (id) VALUES (1000)") // all NULL
	v.exec(t, stmts...)
	return cols
}

func TestValues(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	cols := valueTable(t, v)
	tab := v.table(t, "public", "v")
	rows := v.readAll(t, tab)
	require.Len(t, rows, len(valueCases)+1)
	colIdx := map[string]int{}
	for i, c := range tab.Columns {
		colIdx[c.Name] = i
	}
	for i, c := range valueCases {
		row := rows[i]
		for _, name := range cols {
			got := row[colIdx[name]]
			if name != c.col {
				assert.Nil(t, got, "case %d (%s %s): column %s", i, c.typ, c.lit, name)
				continue
			}
			if assert.NotNil(t, got, "case %d (%s %s)", i, c.typ, c.lit) {
				assert.Equal(t, c.want, string(got), "case %d (%s %s)", i, c.typ, c.lit)
			}
		}
	}
	last := rows[len(rows)-1]
	for _, name := range cols {
		assert.Nil(t, last[colIdx[name]], "NULL in %s", name)
	}

	// Written into a copy and read back: the same canonical values.
	target := v.copyInto(t, tab, "copy", rows)
	back := v.readAll(t, v.table(t, "copy", "v"))
	require.Equal(t, len(rows), len(back))
	for i := range rows {
		for j := range rows[i] {
			assert.Equal(t, rows[i][j], back[i][j], "row %d column %s", i, tab.Columns[j].Name)
		}
	}
	assert.Equal(t, "copy", target.Schema)
}

func TestCopyText(t *testing.T) {
	t.Parallel()
	values := [][]byte{nil, {}, []byte("plain"), []byte("tab\tnl\ncr\rbs\\"), []byte(`\N`), []byte(allBytes[1:])}
	var line []byte
	for i, v := range values {
		if i > 0 {
			line = append(line, '\t')
		}
		if v == nil {
			line = append(line, `\N`...)
			continue
		}
		var err error
		line, err = appendCopyText(line, v)
		require.NoError(t, err)
	}
	line = append(line, '\n')
	var got [][]byte
	p := newCopyParser(len(values), func(f [][]byte) error {
		got = value.Row(f).Clone()
		return nil
	})
	// Cut the line at every position: rows split across writes join up.
	for cut := range line {
		got = nil
		_, err := p.Write(line[:cut])
		require.NoError(t, err)
		_, err = p.Write(line[cut:])
		require.NoError(t, err)
		require.NoError(t, p.finish())
		require.Equal(t, len(values), len(got))
		for i := range values {
			assert.Equal(t, values[i], got[i], "cut %d value %d", cut, i)
		}
	}
	_, err := appendCopyText(nil, []byte("a\x00b"))
	assert.ErrorIs(t, err, errNUL)
	// Input-only escapes.
	assert.Equal(t, "\b\f\v\x01AB\x07x\\", string(unescapeCopy(nil, []byte(`\b\f\v\1\101\x42\x7x\\`))))
}
