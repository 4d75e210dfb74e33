package apply_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
)

// A column dropped and another added in its place is not a rename: the new
// column starts empty, whatever its position. Only the renames the source
// states (DDL.Renames) keep a column's values under a new name, in place or
// moved.
func TestRenamesOnlyAsStated(t *testing.T) {
	forEngines(t, func(t *testing.T, h *harness) {
		v1 := h.table("rn", []tcol{{name: "id", kind: schema.KindInt32}, {name: "a", kind: schema.KindVarChar, n: 10, null: true},
			{name: "b", kind: schema.KindInt32, null: true}}, []string{"id"})
		h.create(v1)
		s := newScript()
		s.txn(ins(v1, row(1, "one", 42)), ins(v1, row(2, "two", 43)))
		// DROP COLUMN b, ADD COLUMN x INT AFTER a: x lands where b was.
		v2 := version(v1, func(t *schema.Table) { t.Columns[2].Name = "x" })
		s.ddl(ddl(job.DDLAlterTable, v1, v2, "ALTER TABLE rn DROP COLUMN b, ADD COLUMN x INT AFTER a"))
		s.txn(ins(v2, row(3, "three", 7)))
		// RENAME COLUMN a TO a2: in place.
		v3 := version(v2, func(t *schema.Table) { t.Columns[1].Name = "a2" })
		d := ddl(job.DDLAlterTable, v2, v3, "ALTER TABLE rn RENAME COLUMN a TO a2")
		d.Renames = map[string]string{"a": "a2"}
		s.ddl(d)
		// CHANGE x x2 INT FIRST: renamed and moved.
		v4 := version(v3, func(t *schema.Table) {
			x := t.Columns[2]
			x.Name = "x2"
			t.Columns = []schema.Column{x, t.Columns[0], t.Columns[1]}
		})
		d = ddl(job.DDLAlterTable, v3, v4, "ALTER TABLE rn CHANGE x x2 INT FIRST")
		d.Renames = map[string]string{"x": "x2"}
		s.ddl(d)
		s.txn(ins(v4, row(8, 4, "four")))
		require.NoError(t, h.apply(s, h.options(3)))
		assert.Equal(t, []string{"1|one|NULL", "2|two|NULL", "3|three|7", "4|four|8"}, h.dump("rn", "id", "a2", "x2"))
	})
}

// Renames that take each other's names (a chain b → c, a → b; a swap
// c ↔ b) keep every column's values on PostgreSQL, where the DDL commits
// with its checkpoint. MySQL targets run DDL outside the checkpoint's
// transaction and could not tell on a replay whether such renames were
// done: they stop with Apply.UnsupportedDDL instead of guessing.
func TestRenamesThatTradeNames(t *testing.T) {
	forEngines(t, func(t *testing.T, h *harness) {
		v1 := h.table("tr", []tcol{{name: "id", kind: schema.KindInt32}, {name: "a", kind: schema.KindInt32, null: true},
			{name: "b", kind: schema.KindInt32, null: true}}, []string{"id"})
		h.create(v1)
		s := newScript()
		s.txn(ins(v1, row(1, 10, 20)))
		v2 := version(v1, func(t *schema.Table) { t.Columns[1].Name, t.Columns[2].Name = "b", "c" })
		chain := ddl(job.DDLAlterTable, v1, v2, "ALTER TABLE tr RENAME COLUMN b TO c, RENAME COLUMN a TO b")
		chain.Renames = map[string]string{"a": "b", "b": "c"}
		s.ddl(chain)
		v3 := version(v2, func(t *schema.Table) { t.Columns[1].Name, t.Columns[2].Name = "c", "b" })
		swap := ddl(job.DDLAlterTable, v2, v3, "ALTER TABLE tr RENAME COLUMN b TO c, RENAME COLUMN c TO b")
		swap.Renames = map[string]string{"b": "c", "c": "b"}
		s.ddl(swap)
		s.txn(ins(v3, row(2, 30, 40)))
		err := h.apply(s, h.options(2))
		if h.engine == "mariadb" {
			e, ok := errs.As(err)
			require.True(t, ok, "%v", err)
			assert.Equal(t, connector.CodeUnsupportedDDL, e.Code)
			return
		}
		require.NoError(t, err)
		// a (10) became b then c; b (20) became c then b.
		assert.Equal(t, []string{"1|10|20", "2|30|40"}, h.dump("tr", "id", "c", "b"))
	})
}
