package mysql

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/schema"
)

func TestExistingTablePolicies(t *testing.T) {
	e := newEnv(t)
	sink := e.sink()
	table := &schema.Table{Schema: e.dst, Name: "t", PrimaryKey: []string{"id"}, Columns: []schema.Column{
		{Name: "id", Type: schema.Type{Kind: schema.KindInt32, Raw: "int"}},
		{Name: "v", Type: schema.Type{Kind: schema.KindInt32, Raw: "int"}, Nullable: true},
	}}
	e.srv.Exec(t, e.dst, "CREATE TABLE t (id INT PRIMARY KEY, old INT)", "INSERT INTO t VALUES (1, 1)")
	db := e.srv.DB(t, e.dst)
	columns := func() []string {
		rows, err := db.Query("SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 't' ORDER BY ORDINAL_POSITION", e.dst)
		require.NoError(t, err)
		defer rows.Close()
		var out []string
		for rows.Next() {
			var c string
			require.NoError(t, rows.Scan(&c))
			out = append(out, c)
		}
		return out
	}

	err := sink.PrepareTable(e.ctx, table, "fail")
	require.Equal(t, CodeTargetTableExists, errs.CodeOf(err))
	require.ErrorContains(t, err, e.dst+".t")
	require.ErrorContains(t, err, "target.options.existing_tables")

	require.NoError(t, sink.PrepareTable(e.ctx, table, "append"))
	exists, hasRows, err := sink.TableInfo(e.ctx, e.dst, "t")
	require.NoError(t, err)
	require.True(t, exists && hasRows)
	require.Equal(t, []string{"id", "old"}, columns())

	require.NoError(t, sink.PrepareTable(e.ctx, table, "truncate"))
	exists, hasRows, err = sink.TableInfo(e.ctx, e.dst, "t")
	require.NoError(t, err)
	require.True(t, exists)
	require.False(t, hasRows)

	require.NoError(t, sink.PrepareTable(e.ctx, table, "recreate"))
	require.Equal(t, []string{"id", "v"}, columns())

	err = sink.PrepareTable(e.ctx, table, "overwrite")
	require.True(t, errs.Is(err, errs.InvalidParameter))

	exists, _, err = sink.TableInfo(e.ctx, e.dst, "missing")
	require.NoError(t, err)
	require.False(t, exists)
	missing := *table
	missing.Name = "missing"
	require.NoError(t, sink.PrepareTable(e.ctx, &missing, "fail"), "a new table is created whatever the policy")
}
