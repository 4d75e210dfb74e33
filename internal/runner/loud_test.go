package runner_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector/engines"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/logging"
	"github.com/dtsorg/dts/internal/runner"
	"github.com/dtsorg/dts/internal/testenv"
)

// A type the target cannot hold stops the job before any row moves or any
// table is created, naming the column.
func TestUnsupportedTypeStopsBeforeAnyRowMoves(t *testing.T) {
	t.Parallel()
	src, dst := newSide(t, testenv.MariaDB(t)), newSide(t, testenv.Postgres(t))
	src.exec(t, "CREATE TABLE places (id INT PRIMARY KEY, g GEOMETRY NOT NULL)", "INSERT INTO places VALUES (1, POINT(1, 2))",
		"CREATE TABLE fine (id INT PRIMARY KEY)", "INSERT INTO fine VALUES (1)")
	spec := migration("unsupported", src, dst, "copy")
	err := runner.New(engines.Engines{}, logging.Discard()).Run(context.Background(), "job-unsupported", spec, runner.NewProgress())
	require.Error(t, err)
	require.Equal(t, runner.CodeUnsupportedType, errs.CodeOf(err))
	require.Contains(t, err.Error(), ".places.g")
	var n int
	require.NoError(t, dst.srv.DB(t, dst.database).QueryRow(`SELECT count(*) FROM pg_namespace WHERE nspname IN ('copy', 'dts_meta')`).Scan(&n))
	require.Zero(t, n, "nothing was created on the target")
}

// A value the target cannot hold fails the chunk that carries it, loudly,
// with the table, column and key; nothing of that chunk is written.
func TestUnholdableValueFailsLoudly(t *testing.T) {
	t.Parallel()
	src, dst := newSide(t, testenv.MariaDB(t)), newSide(t, testenv.Postgres(t))
	src.exec(t, "SET SESSION sql_mode = ''",
		"CREATE TABLE events (id INT PRIMARY KEY, d DATE)",
		"INSERT INTO events VALUES (1, '2024-01-01'), (77, '0000-00-00')")
	spec := migration("zerodate", src, dst, "copy")
	err := runner.New(engines.Engines{}, logging.Discard()).Run(context.Background(), "job-zerodate", spec, runner.NewProgress())
	require.Error(t, err)
	require.True(t, errs.Is(err, "OperationDenied"), "%v", err)
	require.Contains(t, err.Error(), "zero date")
	require.Contains(t, err.Error(), `"77"`)
	var n int
	require.NoError(t, dst.srv.DB(t, dst.database).QueryRow(`SELECT count(*) FROM copy.events`).Scan(&n))
	require.Zero(t, n, "the chunk holding the bad value was not written")
}

// An existing non-empty target table stops the job unless the job says what
// to do with it; with truncate, its rows are replaced.
func TestExistingTargetTables(t *testing.T) {
	t.Parallel()
	src, dst := newSide(t, testenv.Postgres(t)), newSide(t, testenv.MariaDB(t))
	src.exec(t, "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t VALUES (1, 'new')")
	dst.exec(t, "CREATE TABLE t (id INT PRIMARY KEY, v TEXT)", "INSERT INTO t VALUES (1, 'old'), (2, 'stale')")
	spec := migration("existing", src, dst, dst.schema)
	err := runner.New(engines.Engines{}, logging.Discard()).Run(context.Background(), "job-existing", spec, runner.NewProgress())
	require.Equal(t, "OperationDenied.TargetTableExists", errs.CodeOf(err), "%v", err)
	require.Contains(t, err.Error(), "existing_tables")

	spec.Target.Options.ExistingTables = "truncate"
	runJob(t, "job-existing", spec)
	requireSameRows(t, src, dst, "t", "t", nil)
}
