package mysql

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/schema"
)

func renamesTable() *schema.Table {
	col := func(name string) schema.Column {
		return schema.Column{Name: name, Nullable: true, Type: schema.Type{Kind: schema.KindInt32, Raw: "int(11)"}}
	}
	return &schema.Table{Schema: "db", Name: "t", Collation: "utf8mb4_general_ci",
		Columns: []schema.Column{col("id"), col("a"), col("b")}, PrimaryKey: []string{"id"}}
}

// A DDL item carries the column renames its statement states, and only
// those: a column dropped and another added in its place is no rename.
func TestStatedRenames(t *testing.T) {
	p := newDDLParser()
	cases := []struct {
		sql  string
		want map[string]string
	}{
		{"ALTER TABLE t DROP COLUMN b, ADD COLUMN x INT AFTER a", nil},
		{"ALTER TABLE t CHANGE a a2 INT, RENAME COLUMN b TO b2", map[string]string{"a": "a2", "b": "b2"}},
		{"ALTER TABLE t CHANGE COLUMN a z INT FIRST", map[string]string{"a": "z"}},
		{"ALTER TABLE t CHANGE a A INT", map[string]string{"a": "A"}},
		{"ALTER TABLE t CHANGE a a BIGINT", nil},
		{"ALTER TABLE t MODIFY a BIGINT", nil},
		{"ALTER TABLE t ADD COLUMN c INT, CHANGE c d INT", nil},
		{"ALTER TABLE t DROP COLUMN a, CHANGE b a INT", map[string]string{"b": "a"}},
		{"ALTER TABLE t RENAME COLUMN a TO x, DROP COLUMN x", nil},
	}
	for _, c := range cases {
		h := newSchemaHistory([]*schema.Table{renamesTable()}, server{mariadb: true, major: 10, minor: 11}, false)
		o, err := h.applyStatement(p, c.sql, "db", 0)
		require.NoError(t, err, c.sql)
		require.Len(t, o.effects, 1, c.sql)
		assert.Equal(t, c.want, o.effects[0].renames, c.sql)
		it := ddlItem(o.effects[0], c.sql, change.Position{Engine: "mysql", File: "b.000001", Pos: 4}, time.Unix(1, 0))
		assert.Equal(t, c.want, it.DDL.Renames, c.sql)
	}
}

// A statement the parser cannot read has its renames read from its words,
// confirmed by the structures before and after; names traded within the
// statement cannot be confirmed (ok false).
func TestRenamesInText(t *testing.T) {
	old := renamesTable()
	with := func(names ...string) *schema.Table {
		n := cloneTable(old)
		for i, name := range names {
			n.Columns[i].Name = name
		}
		return n
	}
	cases := []struct {
		sql   string
		after *schema.Table
		want  map[string]string
		ok    bool
	}{
		{"ALTER TABLE t CHANGE COLUMN IF EXISTS `a` `u` UUID", with("id", "u", "b"), map[string]string{"a": "u"}, true},
		{"ALTER TABLE t RENAME COLUMN b TO `b 2`, MODIFY a INET6", with("id", "a", "b 2"), map[string]string{"b": "b 2"}, true},
		{"ALTER TABLE t DROP COLUMN b, ADD COLUMN x UUID AFTER a", with("id", "a", "x"), nil, true},
		{"ALTER TABLE t CHANGE a a UUID", old, nil, true},
		{"ALTER TABLE t CHANGE a b UUID, CHANGE b a INT", with("id", "b", "a"), nil, false},
		{"ALTER TABLE t ADD COLUMN note TEXT DEFAULT 'CHANGE a b'", old, nil, true},
	}
	for _, c := range cases {
		got, ok := renamesInText(c.sql, old, c.after)
		assert.Equal(t, c.ok, ok, c.sql)
		assert.Equal(t, c.want, got, c.sql)
	}
}
