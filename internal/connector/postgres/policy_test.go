package postgres

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
)

func TestExistingTablePolicies(t *testing.T) {
	t.Parallel()
	v := newEnv(t,
		`CREATE SCHEMA dst`,
		`CREATE TABLE dst.t (id integer PRIMARY KEY, old text)`,
		`INSERT INTO dst.t VALUES (1, 'kept')`,
		`CREATE TABLE dst.child (id integer PRIMARY KEY, t_id integer REFERENCES dst.t (id))`,
	)
	ctx := t.Context()
	want := &schema.Table{Schema: "dst", Name: "t", PrimaryKey: []string{"id"}, Columns: []schema.Column{
		{Name: "id", Type: schema.Type{Kind: schema.KindInt32, Raw: "integer"}},
		{Name: "v", Type: schema.Type{Kind: schema.KindText, Raw: "text"}, Nullable: true},
	}}
	count := func() int {
		var n int
		require.NoError(t, v.conn(t).QueryRow(ctx, `SELECT count(*) FROM dst.t`).Scan(&n))
		return n
	}

	exists, hasRows, err := v.sink.TableInfo(ctx, "dst", "t")
	require.NoError(t, err)
	assert.True(t, exists && hasRows)
	exists, _, err = v.sink.TableInfo(ctx, "dst", "nope")
	require.NoError(t, err)
	assert.False(t, exists)

	err = v.sink.PrepareTable(ctx, want, job.ExistingFail)
	require.Error(t, err)
	assert.Equal(t, CodeTargetTableExists, errs.CodeOf(err))
	assert.Contains(t, err.Error(), "dst.t")
	assert.Contains(t, err.Error(), "target.options.existing_tables")

	require.NoError(t, v.sink.PrepareTable(ctx, want, job.ExistingAppend))
	assert.Equal(t, 1, count())
	assert.Equal(t, "old", v.table(t, "dst", "t").Columns[1].Name, "append keeps the table")

	v.exec(t, `ALTER TABLE dst.child DROP CONSTRAINT child_t_id_fkey`)
	require.NoError(t, v.sink.PrepareTable(ctx, want, job.ExistingTruncate))
	assert.Equal(t, 0, count())
	assert.Equal(t, "old", v.table(t, "dst", "t").Columns[1].Name, "truncate keeps the table")

	v.exec(t, `INSERT INTO dst.t VALUES (1, 'x')`, `ALTER TABLE dst.child ADD FOREIGN KEY (t_id) REFERENCES dst.t (id)`)
	require.NoError(t, v.sink.PrepareTable(ctx, want, job.ExistingRecreate))
	assert.Equal(t, 0, count())
	got := v.table(t, "dst", "t")
	assert.Equal(t, want.Columns, got.Columns)
	assert.Empty(t, v.table(t, "dst", "child").ForeignKeys, "the referencing key was dropped with the table")

	require.NoError(t, v.sink.PrepareTable(ctx, &schema.Table{Schema: "new schema", Name: "t", Columns: want.Columns}, job.ExistingFail))
	exists, hasRows, err = v.sink.TableInfo(ctx, "new schema", "t")
	require.NoError(t, err)
	assert.True(t, exists)
	assert.False(t, hasRows)
}
