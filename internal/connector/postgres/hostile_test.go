package postgres

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// Names that break naive quoting survive reading, DDL, bounds and COPY.
func TestHostileNames(t *testing.T) {
	t.Parallel()
	v := newEnv(t,
		`CREATE SCHEMA "s""1.x"`,
		`CREATE TYPE "s""1.x"."My ""Mood""" AS ENUM ('a''b', 'c\d')`,
		`CREATE TABLE "s""1.x"."t'a.b" ("Order" text PRIMARY KEY, "a b" "s""1.x"."My ""Mood""", "c""d" integer UNIQUE, "e\f" text, "😀" bytea)`,
		`CREATE INDEX "ix""1" ON "s""1.x"."t'a.b" ("e\f" DESC)`,
		`CREATE TABLE "s""1.x"."select" ("user" text REFERENCES "s""1.x"."t'a.b" ("Order"), "table" integer)`,
		`INSERT INTO "s""1.x"."t'a.b" VALUES ('it''s', 'a''b', 1, 'x', '\x27'), ('back\slash', 'c\d', 2, NULL, NULL), ('"q"', NULL, 3, '', '')`,
		`INSERT INTO "s""1.x"."select" VALUES ('it''s', 1)`,
	)
	refs, err := v.src.ListTables(t.Context())
	require.NoError(t, err)
	assert.Equal(t, []connector.TableRef{{Schema: `s"1.x`, Name: "select"}, {Schema: `s"1.x`, Name: "t'a.b"}}, refs)
	src, err := v.src.ReadTables(t.Context(), []connector.TableRef{refs[1], refs[0]})
	require.NoError(t, err)
	assert.Equal(t, `"s""1.x"."My ""Mood"""`, src[0].Columns[1].Type.UserType)

	rows := v.readAll(t, src[0])
	require.Len(t, rows, 3)
	// A bound holding a quote and a backslash.
	r := v.snapshot(t, 1).readers[0]
	var got []string
	require.NoError(t, r.Read(t.Context(), connector.ReadRequest{Table: src[0], Columns: []string{"Order"}, Key: []string{"Order"},
		After: value.Row{[]byte(`"q"`)}, Upto: value.Row{[]byte(`back\slash`)}}, func(row value.Row) error {
		got = append(got, string(row[0]))
		return nil
	}))
	assert.Equal(t, []string{`back\slash`}, got)

	var targets []*schema.Table
	for _, st := range src {
		named := *st
		named.Schema = `dst "2"`
		named.ForeignKeys = nil
		for _, fk := range st.ForeignKeys {
			fk.RefSchema = named.Schema
			named.ForeignKeys = append(named.ForeignKeys, fk)
		}
		target, problems := v.sink.MapTable(&named, "postgresql")
		require.Empty(t, problems)
		require.NoError(t, v.sink.PrepareTable(t.Context(), target, "fail"))
		v.write(t, target, st, v.readAll(t, st))
		require.NoError(t, v.sink.FinishTable(t.Context(), target))
		targets = append(targets, target)
	}
	for _, target := range targets {
		require.NoError(t, v.sink.AddForeignKeys(t.Context(), target))
	}
	back := v.table(t, `dst "2"`, "t'a.b")
	assert.Equal(t, rows, v.readAll(t, back))
	assert.Equal(t, `"dst ""2"""."My ""Mood"""`, back.Columns[1].Type.UserType)
	assert.Equal(t, comparable(src[0]), comparable(back))
	assert.Equal(t, comparable(src[1]), comparable(v.table(t, `dst "2"`, "select")))
}
