package postgres

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
)

// The job's publication lists exactly its tables, ONLY (no inheritance
// children), every operation, through the partition root; it follows the
// job's selection; a hand-made one is used only when it is exactly that;
// FOR ALL TABLES never.
func TestPublication(t *testing.T) {
	t.Parallel()
	v := newLogEnv(t, []string{"a"}, `CREATE TABLE a (id integer PRIMARY KEY)`, `CREATE TABLE b (id integer PRIMARY KEY)`,
		`CREATE TABLE a_child (x integer) INHERITS (a)`)
	ctx := t.Context()
	version, err := v.src.serverVersion(ctx)
	require.NoError(t, err)
	members := func(name string) []string {
		m, err := publicationMembers(ctx, v.src.pool, name)
		require.NoError(t, err)
		var out []string
		for _, ref := range m {
			out = append(out, ref.Name)
		}
		return out
	}
	tables, err := resolveTables(ctx, v.src.pool, v.lj.Tables)
	require.NoError(t, err)
	existed, err := v.src.ensurePublication(ctx, v.lj, tables, version)
	require.NoError(t, err)
	assert.False(t, existed)
	name := PublicationName(v.lj)
	assert.Equal(t, []string{"a"}, members(name), "ONLY: not the inheriting table")
	p, err := readPublication(ctx, v.src.pool, name, version)
	require.NoError(t, err)
	assert.Empty(t, p.problems(tables, version))
	assert.True(t, p.ownedBy(v.lj))

	// The selection grows on a resumed run: the publication follows.
	v.lj.Tables = append(v.lj.Tables, connector.TableRef{Schema: "public", Name: "b"})
	tables, err = resolveTables(ctx, v.src.pool, v.lj.Tables)
	require.NoError(t, err)
	existed, err = v.src.ensurePublication(ctx, v.lj, tables, version)
	require.NoError(t, err)
	assert.True(t, existed)
	assert.ElementsMatch(t, []string{"a", "b"}, members(name))

	// Hand-made publications: used when exact, refused otherwise.
	hand := v.lj
	hand.JobID, hand.Publication = "hand", "by_hand"
	v.exec(t, `CREATE PUBLICATION by_hand FOR TABLE ONLY a, ONLY b WITH (publish_via_partition_root = true)`)
	_, err = v.src.ensurePublication(ctx, hand, tables, version)
	require.NoError(t, err)
	v.exec(t, `ALTER PUBLICATION by_hand SET (publish = 'insert')`)
	_, err = v.src.ensurePublication(ctx, hand, tables, version)
	assert.Equal(t, CodePublication, errs.CodeOf(err), "%v", err)
	all := v.lj
	all.JobID, all.Publication = "all", "every_table"
	v.exec(t, `CREATE PUBLICATION every_table FOR ALL TABLES`)
	_, err = v.src.ensurePublication(ctx, all, tables, version)
	assert.Equal(t, CodePublication, errs.CodeOf(err), "%v", err)
	assert.Contains(t, err.Error(), "FOR ALL TABLES")

	require.NoError(t, v.src.DropLog(ctx, hand))
	p, err = readPublication(ctx, v.src.pool, "by_hand", version)
	require.NoError(t, err)
	assert.NotNil(t, p, "a hand-made publication is not dts's to drop")
}
