package precheck_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/precheck"
	"github.com/dtsorg/dts/internal/testenv"
)

// TestFilterIdentity: in a sync job, a filtered PostgreSQL table whose
// filter reads columns outside its replica identity fails, naming the
// table, its filter's field and the columns, with the ALTER that fixes
// it; a filter on the key, or a table with REPLICA IDENTITY FULL, passes.
// A MariaDB source fails while binlog_row_image is not FULL. A migration
// has no such item.
func TestFilterIdentity(t *testing.T) {
	t.Parallel()
	t.Run("postgresql", func(t *testing.T) {
		t.Parallel()
		src := newSide(t, testenv.Postgres(t))
		src.exec(t,
			"CREATE TABLE a (id INT PRIMARY KEY, country CHAR(2), v TEXT)",
			"CREATE TABLE b (id INT PRIMARY KEY, v TEXT)",
			"CREATE TABLE c (id INT PRIMARY KEY, country CHAR(2))", "ALTER TABLE c REPLICA IDENTITY FULL",
		)
		s := spec(src, newSide(t, testenv.MariaDB(t)), job.TypeSync)
		s.Objects[0].Value.Tables = job.Map[job.TableRule]{
			{Key: "a", Value: job.TableRule{Filter: "country = 'DE' AND id > 1"}},
			{Key: "b", Value: job.TableRule{Filter: "id > 1"}},
			{Key: "c", Value: job.TableRule{Filter: "country = 'DE'"}},
		}
		it := requireItem(t, items(t, s), "objects.filter_identity", precheck.Failed)
		require.Contains(t, it.Message, "app.a (objects."+src.schema+".tables.a.filter reads country)")
		require.NotContains(t, it.Message, "app.b")
		require.NotContains(t, it.Message, "app.c")
		require.Equal(t, []string{"ALTER TABLE app.a REPLICA IDENTITY FULL;"}, it.FixSQL)
		applyFix(t, src, it)
		it = requireItem(t, items(t, s), "objects.filter_identity", precheck.Passed)
		require.Contains(t, it.Message, "3 filtered tables")

		s.Type, s.Phases = job.TypeMigration, nil
		s.Normalize()
		_, ok := items(t, s)["objects.filter_identity"]
		require.False(t, ok, "a migration follows no changes")
	})
	t.Run("mariadb", func(t *testing.T) {
		t.Parallel()
		src := newSide(t, testenv.StartMariaDB(t, testenv.MariaDBOptions{Args: []string{"--binlog-row-image=MINIMAL"}}))
		src.exec(t, "CREATE TABLE a (id INT PRIMARY KEY, country CHAR(2))")
		s := spec(src, newSide(t, testenv.Postgres(t)), job.TypeSync)
		s.Objects[0].Value.Tables = job.Map[job.TableRule]{{Key: "a", Value: job.TableRule{Filter: "country = 'DE'"}}}
		it := requireItem(t, items(t, s), "objects.filter_identity", precheck.Failed)
		require.Contains(t, it.Message, "binlog_row_image is MINIMAL")
		applyFix(t, src, it)
		it = requireItem(t, items(t, s), "objects.filter_identity", precheck.Passed)
		require.Contains(t, it.Message, "binlog_row_image is FULL")
	})
}

// TestMergeCollisions: tables merged into one target table warn that a
// key two of them hold stops the job; without an added column telling
// them apart the warning says their rows cannot be told apart at all. The
// merge's one target name is no name conflict.
func TestMergeCollisions(t *testing.T) {
	t.Parallel()
	src := newSide(t, testenv.MariaDB(t))
	src.exec(t, "CREATE TABLE b (id INT PRIMARY KEY, v INT)", "CREATE TABLE c (id INT PRIMARY KEY, v INT)")
	dst := newSide(t, testenv.Postgres(t))
	s := spec(src, dst, job.TypeSync)
	s.Objects[0].Value.Tables = job.Map[job.TableRule]{{Key: "b", Value: job.TableRule{Name: "bc"}}, {Key: "c", Value: job.TableRule{Name: "bc"}}}
	got := items(t, s)
	it := requireItem(t, got, "objects.merge", precheck.Warning)
	require.Contains(t, it.Message, "cannot tell their sources' rows apart: "+dst.schema+".bc (key id; no added column")
	require.Contains(t, it.Fix, "add_columns")
	// A declared merge is no name conflict.
	requireItem(t, got, "target.name_conflicts", precheck.Passed)

	apart := job.TableRule{Name: "bc", AddColumns: []job.AddColumn{{Name: "src_table", Type: "varchar(64)", From: job.FromTable}}}
	s.Objects[0].Value.Tables = job.Map[job.TableRule]{{Key: "b", Value: apart}, {Key: "c", Value: apart}}
	it = requireItem(t, items(t, s), "objects.merge", precheck.Warning)
	require.Contains(t, it.Message, "their keys hold no column telling the sources apart: "+dst.schema+".bc (key id)")
	require.Contains(t, it.Message, "Apply.Divergence")

	// The same constant for both tells nothing apart.
	same := job.TableRule{Name: "bc", AddColumns: []job.AddColumn{{Name: "tag", Type: "varchar(8)", From: job.FromConstant, Value: "x"}}}
	s.Objects[0].Value.Tables = job.Map[job.TableRule]{{Key: "b", Value: same}, {Key: "c", Value: same}}
	it = requireItem(t, items(t, s), "objects.merge", precheck.Warning)
	require.Contains(t, it.Message, "cannot tell their sources' rows apart")

	// A merged table without insert in its dml list fails at its field.
	s.Objects[0].Value.Tables = job.Map[job.TableRule]{{Key: "b", Value: apart}, {Key: "c", Value: job.TableRule{Name: "bc", AddColumns: apart.AddColumns,
		DML: []string{job.DMLUpdate, job.DMLDelete}}}}
	it = requireItem(t, items(t, s), "objects.merge", precheck.Failed)
	require.Contains(t, it.Message, "objects."+src.schema+".tables.c.dml: ")
}
