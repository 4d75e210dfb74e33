package runner_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector/engines"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/logging"
	"github.com/dtsorg/dts/internal/runner"
	"github.com/dtsorg/dts/internal/testenv"
	"github.com/dtsorg/dts/internal/value"
)

// syncRun is a sync job running in the background.
type syncRun struct {
	cancel context.CancelFunc
	done   chan error
	p      *runner.Progress
}

// syncSpec is a sync job (full load, then incremental) of src's schema into
// dst's, every DDL kind carried.
func syncSpec(name string, src, dst side) *job.Spec {
	spec := migration(name, src, dst, dst.schema)
	spec.Type = job.TypeSync
	spec.Phases = nil
	spec.DDL = nil
	spec.Normalize()
	return spec
}

// startSync runs spec until the test ends, and waits until it follows the
// source.
func startSync(t *testing.T, jobID string, spec *job.Spec) *syncRun {
	t.Helper()
	require.NoError(t, spec.Validate())
	r := runner.New(engines.Engines{}, logging.Discard())
	r.ChunkRows = 50
	ctx, cancel := context.WithCancel(context.Background())
	h := &syncRun{cancel: cancel, done: make(chan error, 1), p: runner.NewProgress()}
	go func() { h.done <- r.Run(ctx, jobID, spec, h.p) }()
	t.Cleanup(func() {
		cancel()
		<-h.done
	})
	deadline := time.Now().Add(time.Minute)
	for h.p.Phase() != runner.PhaseIncremental {
		select {
		case err := <-h.done:
			h.done <- err
			t.Fatalf("the job ended before following the source: %v", err)
		default:
		}
		require.True(t, time.Now().Before(deadline), "the job does not follow the source; phase %s", h.p.Phase())
		time.Sleep(20 * time.Millisecond)
	}
	return h
}

// waitSame polls until table holds the same rows on both sides; the job
// must keep running meanwhile.
func waitSame(t *testing.T, h *syncRun, src, dst side, table string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case err := <-h.done:
			h.done <- err
			t.Fatalf("the job stopped: %v", err)
		default:
		}
		wantCols, want := readTable(t, src, table)
		gotCols, got := byColumns(readTable(t, dst, table))(wantCols)
		if fmt.Sprint(wantCols, want) == fmt.Sprint(gotCols, got) {
			return
		}
		if time.Now().After(deadline) {
			require.Equal(t, fmt.Sprint(wantCols, showRows(want)), fmt.Sprint(gotCols, showRows(got)), "table %s; status %s", table, h.p.Status())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// byColumns returns a function that puts rows of cols in the order of
// want's columns, where it can (PostgreSQL cannot move a column: after
// MySQL's AFTER/FIRST the target's order differs), sorted again.
func byColumns(cols []string, rows []value.Row) func(want []string) ([]string, []value.Row) {
	return func(want []string) ([]string, []value.Row) {
		idx := make([]int, len(want))
		for i, w := range want {
			idx[i] = slices.Index(cols, w)
			if idx[i] < 0 || len(want) != len(cols) {
				return cols, rows
			}
		}
		out := make([]value.Row, len(rows))
		for r, row := range rows {
			out[r] = make(value.Row, len(idx))
			for i, j := range idx {
				out[r][i] = row[j]
			}
		}
		sort.Slice(out, func(i, j int) bool { return compareRows(out[i], out[j]) < 0 })
		return want, out
	}
}

func showRows[R ~[][]byte](rows []R) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		for j, v := range r {
			if j > 0 {
				out[i] += "|"
			}
			out[i] += show(v)
		}
	}
	return out
}

// Column changes on a MySQL source reach both targets faithfully, with the
// target endpoint naming no database (as jobs do): a column dropped and
// another added in its place starts empty (not a rename), a column renamed
// and moved keeps its values, a column widened to BIGINT UNSIGNED takes
// its largest value on every apply worker, multi-row deletes apply.
func TestIncrementalColumnChanges(t *testing.T) {
	t.Parallel()
	for _, d := range []struct {
		name string
		dst  func(testing.TB) *testenv.Server
	}{{"to_mariadb", testenv.MariaDB}, {"to_postgresql", testenv.Postgres}} {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			src, dst := newSide(t, testenv.MariaDB(t)), newSide(t, d.dst(t))
			src.exec(t, "CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(10), b INT, n INT)",
				"INSERT INTO t SELECT seq, CONCAT('a', seq), seq, seq FROM seq_1_to_60")
			h := startSync(t, "cols-"+src.database, syncSpec("cols-"+d.name[3:], src, dst))
			src.exec(t,
				"UPDATE t SET n = n + 1000 WHERE id <= 40",
				// One-row statements on every worker, before and after the
				// retype, write the same statement text.
				"UPDATE t SET n = 1 WHERE id = 41", "UPDATE t SET n = 1 WHERE id = 42", "UPDATE t SET n = 1 WHERE id = 43",
				"UPDATE t SET n = 1 WHERE id = 44", "UPDATE t SET n = 1 WHERE id = 45", "UPDATE t SET n = 1 WHERE id = 46",
				"ALTER TABLE t DROP COLUMN b, ADD COLUMN x INT AFTER a",
				"INSERT INTO t (id, a, x, n) VALUES (100, 'new', 7, 1)",
				"ALTER TABLE t CHANGE a a2 VARCHAR(20) AFTER n",
				"ALTER TABLE t MODIFY n BIGINT UNSIGNED",
				"UPDATE t SET n = 18446744073709551615 WHERE id = 41", "UPDATE t SET n = 18446744073709551615 WHERE id = 42",
				"UPDATE t SET n = 18446744073709551615 WHERE id = 43", "UPDATE t SET n = 18446744073709551615 WHERE id = 44",
				"UPDATE t SET n = 18446744073709551615 WHERE id = 45", "UPDATE t SET n = 18446744073709551615 WHERE id = 46",
				"UPDATE t SET n = 18446744073709551615 - id WHERE id > 46",
				"INSERT INTO t (id, a2, x, n) SELECT seq, 'max', seq, 18446744073709551615 FROM seq_200_to_240",
				"DELETE FROM t WHERE id BETWEEN 10 AND 30",
			)
			waitSame(t, h, src, dst, "t")
			// Idle and caught up: the delay is known and small (the heartbeat's age).
			waitFor(t, h, "caught up", func() bool { a := h.p.Apply.Snapshot(); return a.CaughtUp && a.DelayKnown })
			require.Less(t, h.p.Apply.Snapshot().Delay, time.Minute)
		})
	}
}
