package postgres

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/dtsorg/dts/internal/schema"
)

func TestClassifyDefault(t *testing.T) {
	t.Parallel()
	i4 := schema.Type{Kind: schema.KindInt32}
	text := schema.Type{Kind: schema.KindText}
	lit := func(v string) *schema.Default { return &schema.Default{Kind: schema.DefaultLiteral, Value: v} }
	expr := func(v string) *schema.Default { return &schema.Default{Kind: schema.DefaultExpression, Value: v} }
	for _, c := range []struct {
		expr string
		typ  schema.Type
		want *schema.Default
	}{
		{"'abc'::text", text, lit("abc")},
		{"'it''s'::character varying", text, lit("it's")},
		{"'x'::text COLLATE \"C\"", text, lit("x")},
		{"(1)::bigint", i4, lit("1")},
		{"'-5'::integer", i4, lit("-5")},
		{"((('a'::text)))", text, lit("a")},
		{"42", i4, lit("42")},
		{"'1.5e300'::numeric", schema.Type{Kind: schema.KindFloat64}, lit("1.5e+300")},
		{"true", schema.Type{Kind: schema.KindBool}, lit("1")},
		{"'2020-01-01 10:00:00+00'::timestamp with time zone", schema.Type{Kind: schema.KindTimestamp}, lit("2020-01-01 10:00:00")},
		{"'\\x00ff'::bytea", schema.Type{Kind: schema.KindBlob}, lit("\x00\xff")},
		{"'ok'::\"My Schema\".\"Mood\"", schema.Type{Kind: schema.KindEnum}, lit("ok")},
		{"NULL::text", text, &schema.Default{Kind: schema.DefaultNull}},
		{"now()", schema.Type{}, &schema.Default{Kind: schema.DefaultCurrentTimestamp, Value: "now()"}},
		{"CURRENT_TIMESTAMP(2)", schema.Type{}, &schema.Default{Kind: schema.DefaultCurrentTimestamp, Value: "CURRENT_TIMESTAMP(2)", FSP: 2}},
		{"CURRENT_DATE", schema.Type{}, &schema.Default{Kind: schema.DefaultCurrentDate, Value: "CURRENT_DATE"}},
		{"('2020-01-01'::date + 1)", schema.Type{Kind: schema.KindDate}, expr("('2020-01-01'::date + 1)")},
		{"'a'::text || 'b'::text", text, expr("'a'::text || 'b'::text")},
		{"('a'::text) || ('b'::text)", text, expr("('a'::text) || ('b'::text)")},
		{"'a'::text || x", text, expr("'a'::text || x")},
		{"ARRAY['a'::text, 'b'::text]", text, expr("ARRAY['a'::text, 'b'::text]")},
		{"nextval('s'::regclass)", i4, expr("nextval('s'::regclass)")},
		{"'yes'::boolean", schema.Type{Kind: schema.KindBool}, expr("'yes'::boolean")},
	} {
		assert.Equal(t, c.want, classifyDefault(c.expr, c.typ), c.expr)
	}
}
