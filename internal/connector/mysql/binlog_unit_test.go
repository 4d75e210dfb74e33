package mysql

import (
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
)

// MySQL's binary JSON reaches dts as go-mysql's compact text
// (RenderJSONAsMySQLText); jsonText gives it MySQL's own layout.
func TestJSONText(t *testing.T) {
	for in, want := range map[string]string{
		`{"a":1,"b":[1,2.0,"x,y: z"]}`:          `{"a": 1, "b": [1, 2.0, "x,y: z"]}`,
		`{}`:                                    `{}`,
		`[]`:                                    `[]`,
		`["\u003ca\u0026b\u003e"]`:              `["<a&b>"]`,
		`["\\u003c","\"q\"",":"]`:               `["\\u003c", "\"q\"", ":"]`,
		`{"k":{"n":null,"t":true,"d":1.5e-07}}`: `{"k": {"n": null, "t": true, "d": 1.5e-07}}`,
		`"2015-01-15 23:24:25.000000"`:          `"2015-01-15 23:24:25.000000"`,
		`{"é":"😀","\u0000":"\n"}`:               `{"é": "😀", "\u0000": "\n"}`,
	} {
		require.Equal(t, want, string(jsonText(nil, []byte(in))), in)
	}
	got, err := appendMySQLJSON(nil, "")
	require.NoError(t, err)
	require.Equal(t, "null", string(got))
}

func TestTextDecoders(t *testing.T) {
	dec := func(cs string, b []byte) string {
		t.Helper()
		d, ok := textDecoderFor(cs)
		require.True(t, ok, cs)
		if d == nil {
			return string(b)
		}
		out, err := d(nil, b)
		require.NoError(t, err)
		return string(out)
	}
	require.Equal(t, "€\u0081‚ÿé a", dec("latin1", []byte{0x80, 0x81, 0x82, 0xff, 0xe9, ' ', 'a'}))
	require.Equal(t, "é𝄞", dec("utf16", []byte{0x00, 0xe9, 0xd8, 0x34, 0xdd, 0x1e}))
	require.Equal(t, "é😀", dec("utf16le", []byte{0xe9, 0x00, 0x3d, 0xd8, 0x00, 0xde}))
	require.Equal(t, "é", dec("ucs2", []byte{0x00, 0xe9}))
	require.Equal(t, "😀", dec("utf32", []byte{0x00, 0x01, 0xf6, 0x00}))
	require.Equal(t, "x", dec("utf8mb4", []byte("x")))
	_, ok := textDecoderFor("gbk")
	require.False(t, ok)
}

func TestIntegersWithoutSignedness(t *testing.T) {
	for _, c := range []struct {
		v        any
		unsigned bool
		bits     int
		want     string
	}{
		{int8(-1), true, 8, "255"}, {int8(-1), false, 8, "-1"}, {int16(-1), true, 16, "65535"},
		{int32(-1), true, 24, "16777215"}, {int32(-8388608), true, 24, "8388608"}, {int32(-8388608), false, 24, "-8388608"},
		{int32(-1), true, 32, "4294967295"}, {int64(-1), true, 64, "18446744073709551615"},
		{uint64(18446744073709551615), true, 64, "18446744073709551615"}, {uint8(200), true, 8, "200"}, {1901, false, 64, "1901"},
	} {
		got, err := appendInteger(nil, c.v, c.unsigned, c.bits)
		require.NoError(t, err)
		require.Equal(t, c.want, string(got), "%#v", c)
	}
}

func TestSQLModeOf(t *testing.T) {
	status := []byte{0, 0, 0, 0, 0, 1}
	status = binary.LittleEndian.AppendUint64(status, 4|1<<21)
	status = append(status, 6, 3, 's', 't', 'd')
	require.Equal(t, uint64(4|1<<21), sqlModeOf(status))
	require.Zero(t, sqlModeOf([]byte{5, 1, 'x'}))
	require.Zero(t, sqlModeOf(nil))
}

// A statement written under ANSI_QUOTES parses with it: "t" is a table.
func TestDDLUnderANSIQuotes(t *testing.T) {
	tbl := &schema.Table{Schema: "db", Name: "t", Collation: "utf8mb4_general_ci",
		Columns: []schema.Column{{Name: "id", Type: schema.Type{Kind: schema.KindInt32, Raw: "int(11)"}}}}
	h := newSchemaHistory([]*schema.Table{tbl}, server{mariadb: true, major: 10, minor: 11}, false)
	o, err := h.applyStatement(newDDLParser(), `ALTER TABLE "t" ADD COLUMN "x y" INT`, "db", 4)
	require.NoError(t, err)
	require.Len(t, o.effects, 1)
	require.Equal(t, []string{"id", "x y"}, o.effects[0].table.Names())
}

func TestIdentifiers(t *testing.T) {
	require.Equal(t, []string{"CREATE", "TRIGGER", "a`b", "ON", "t", "x", "y"},
		identifiers("CREATE /* c */ TRIGGER `a``b` ON t 'str''s' \"x\" y"))
	require.Equal(t, job.DDLAlterTable, ddlKindOf("/* x */ ALTER TABLE t"))
}

func TestIPv6Text(t *testing.T) {
	for in, want := range map[[16]byte]string{
		{}:                  "::",
		{15: 1}:             "::1",
		{0: 0, 1: 1}:        "1::",
		{1: 1, 7: 2, 15: 3}: "1:0:0:2::3",
		{10: 0xff, 11: 0xff, 12: 1, 13: 2, 14: 3, 15: 4}: "::ffff:1.2.3.4",
		{12: 1, 13: 2, 14: 3, 15: 4}:                     "::1.2.3.4",
	} {
		require.Equal(t, want, string(appendIPv6(nil, in[:])))
	}
}
