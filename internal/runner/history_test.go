package runner_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/connector/engines"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/logging"
	"github.com/dtsorg/dts/internal/runner"
	"github.com/dtsorg/dts/internal/testenv"
)

// raceEngines runs a statement on the source once, just before the job's
// first log snapshot: a schema change between the structure phase reading
// the tables and the snapshot.
type raceEngines struct {
	engines.Engines
	once *sync.Once
	ddl  func()
}

func (r raceEngines) OpenSource(ctx context.Context, e job.Endpoint, log *slog.Logger) (connector.Source, error) {
	src, err := r.Engines.OpenSource(ctx, e, log)
	if err != nil {
		return nil, err
	}
	return raceSource{src.(connector.LogSource), r}, nil
}

type raceSource struct {
	connector.LogSource
	r raceEngines
}

func (s raceSource) OpenLogSnapshot(ctx context.Context, lj connector.LogJob, readers int) (connector.Snapshot, error) {
	s.r.once.Do(s.r.ddl)
	return s.LogSource.OpenLogSnapshot(ctx, lj, readers)
}

// The schema history starts with the structures read under the first
// snapshot, at its position: an index created after the structure phase
// read the table is in it. A change of columns in between stops the job
// loudly at the snapshot: the target table and the copy follow the old
// columns.
func TestHistoryStartsAtTheFirstSnapshot(t *testing.T) {
	t.Parallel()
	srv := testenv.MariaDB(t)
	src, dst := newSide(t, srv), newSide(t, srv)
	src.exec(t, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))", "INSERT INTO t VALUES (1, 'a')")
	spec := syncSpec("history-seed", src, dst)
	eng := raceEngines{once: &sync.Once{}, ddl: func() { src.exec(t, "CREATE INDEX ix_v ON t (v)") }}
	jobID := "history-" + src.database
	h := startRun(t, runner.New(eng, logging.Discard()), jobID, spec)
	h.stop()

	sink, err := engines.Engines{}.OpenSink(t.Context(), dst.endpoint(), logging.Discard())
	require.NoError(t, err)
	defer sink.Close()
	st, err := sink.LoadState(t.Context(), jobID)
	require.NoError(t, err)
	require.NotEmpty(t, st.Runs)
	history, err := sink.(connector.ApplySink).LoadSchemas(t.Context(), jobID, st.Runs[0])
	require.NoError(t, err)
	require.Len(t, history, 1)
	var names []string
	for _, ix := range history[0].Indexes {
		names = append(names, ix.Name)
	}
	require.Contains(t, names, "ix_v", "the history holds the structure at the snapshot")

	src2, dst2 := newSide(t, srv), newSide(t, srv)
	src2.exec(t, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))", "INSERT INTO t VALUES (1, 'a')")
	eng = raceEngines{once: &sync.Once{}, ddl: func() { src2.exec(t, "ALTER TABLE t ADD COLUMN x INT") }}
	err = runner.New(eng, logging.Discard()).Run(t.Context(), "history-"+src2.database, syncSpec("history-race", src2, dst2), runner.NewProgress())
	require.Equal(t, runner.CodeSchemaChanged, errs.CodeOf(err), "%v", err)
	require.Contains(t, err.Error(), "x int")
}
