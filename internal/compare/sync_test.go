package compare_test

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/compare"
	"github.com/dtsorg/dts/internal/connector/engines"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/logging"
	"github.com/dtsorg/dts/internal/runner"
	"github.com/dtsorg/dts/internal/testenv"
)

// syncJob is a running sync job (internal/runner) from a MariaDB source
// table to a target, with a writer changing the source all along.
type syncJob struct {
	spec     *job.Spec
	src, dst side
	srcDB    *sql.DB
	progress *runner.Progress
	stop     context.CancelFunc
	done     chan error
	writes   atomic.Int64
	running  atomic.Bool
	quit     chan struct{}
	writer   sync.WaitGroup
	writeErr error
}

const syncRows = 2000

// startSync creates table t on a fresh source, starts a sync job to dst,
// waits until it follows the source, and starts the writer.
func startSync(t *testing.T, dstSrv *testenv.Server) *syncJob {
	t.Helper()
	src, dst := newSide(t, testenv.MariaDB(t)), newSide(t, dstSrv)
	src.exec(t, "CREATE TABLE t (id INT PRIMARY KEY, k INT NOT NULL, c VARCHAR(100) NOT NULL, note TEXT)",
		fmt.Sprintf("INSERT INTO t SELECT seq, seq %% 50, CONCAT('c', seq), IF(seq %% 3 = 0, NULL, REPEAT('n', seq %% 40)) FROM seq_1_to_%d", syncRows))
	target := dst.schema
	if !dst.mysql() {
		target = "copy"
	}
	spec := &job.Spec{
		Name: dst.database[max(0, len(dst.database)-63):], Type: job.TypeSync, Source: src.endpoint(), Target: dst.endpoint(),
		Objects:     job.Objects{{Key: src.schema, Value: job.DatabaseRule{All: true, Name: target}}},
		Parallelism: job.Parallelism{Min: 1, Max: 2},
	}
	spec.Normalize()
	require.NoError(t, spec.Validate())
	s := &syncJob{spec: spec, src: src, dst: side{dst.srv, dst.database, target}, srcDB: src.srv.DB(t, src.database),
		progress: runner.NewProgress(), done: make(chan error, 1), quit: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	s.stop = cancel
	go func() {
		s.done <- runner.New(engines.Engines{}, logging.Discard()).Run(ctx, "job-"+dst.database, spec, s.progress)
	}()
	t.Cleanup(func() { s.halt(t) })
	deadline := time.Now().Add(2 * time.Minute)
	for s.progress.Phase() != runner.PhaseIncremental {
		select {
		case err := <-s.done:
			t.Fatalf("the sync job ended: %v", err)
		default:
		}
		require.True(t, time.Now().Before(deadline), "the job does not follow its source")
		time.Sleep(20 * time.Millisecond)
	}
	s.running.Store(true)
	s.writer.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-s.quit:
				return
			default:
			}
			id := 1 + rand.IntN(syncRows)
			var err error
			switch i % 4 {
			case 0, 1: // updates dominate, as in OLTP
				_, err = s.srcDB.Exec("UPDATE t SET k = k + 1, c = CONCAT('w', k), note = IF(note IS NULL, 'x', NULL) WHERE id = ?", id)
			case 2: // a row goes and comes back
				_, err = s.srcDB.Exec("DELETE FROM t WHERE id = ?", id)
				if err == nil {
					_, err = s.srcDB.Exec("INSERT INTO t VALUES (?, 1, 'back', NULL)", id)
				}
			default: // a multi-row transaction
				_, err = s.srcDB.Exec("UPDATE t SET k = k + 1 WHERE id BETWEEN ? AND ?", id, id+20)
			}
			if err != nil {
				s.writeErr = err
				return
			}
			s.writes.Add(1)
		}
	})
	return s
}

// follower tells a compare how far the job has applied the source.
func (s *syncJob) follower() compare.Follower {
	return compare.FollowerFunc(func(context.Context) (change.Position, bool, error) {
		if !s.running.Load() {
			return change.Position{}, false, nil
		}
		return s.progress.Apply.Snapshot().Position, true, nil
	})
}

// quiesce stops the writer and waits until the job has applied all it wrote.
func (s *syncJob) quiesce(t *testing.T) {
	t.Helper()
	close(s.quit)
	s.writer.Wait()
	require.NoError(t, s.writeErr)
	var file string
	var pos uint64
	var doDB, ignoreDB sql.NullString
	require.NoError(t, s.srcDB.QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, &doDB, &ignoreDB))
	want := change.Position{Engine: "mysql", File: file, Pos: pos}
	deadline := time.Now().Add(2 * time.Minute)
	for change.Compare(s.progress.Apply.Snapshot().Position, want) < 0 {
		require.True(t, time.Now().Before(deadline), "the job does not catch up")
		time.Sleep(20 * time.Millisecond)
	}
}

// halt stops the job (once).
func (s *syncJob) halt(t *testing.T) {
	if s.done == nil {
		return
	}
	select {
	case <-s.quit:
	default:
		close(s.quit)
	}
	s.writer.Wait()
	s.stop()
	err := <-s.done
	s.done = nil
	s.running.Store(false)
	require.ErrorIs(t, err, context.Canceled)
}

// TestCompareDuringSync compares a table while a real sync job applies a
// continuous workload to it (MariaDB to PostgreSQL and to MariaDB). Rows
// caught in flight differ when first checked; they are settled once the
// job has applied the source position read then, so no difference is
// reported, although the time-based re-check is all but off. Then the job
// stops, a target row is changed by hand, and the compare finds it.
func TestCompareDuringSync(t *testing.T) {
	t.Parallel()
	for _, d := range []struct {
		name string
		dst  func(testing.TB) *testenv.Server
	}{{"mariadb_to_postgresql", testenv.Postgres}, {"mariadb_to_mariadb", testenv.MariaDB}} {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			s := startSync(t, d.dst(t))
			opts := testOptions(compare.TypeContent)
			opts.Tables, opts.ChunkRows, opts.LeafRows = []string{"t"}, 200, 8
			opts.RecheckDelay, opts.Rechecks = time.Millisecond, 1 // a time-based re-check would report rows in flight
			opts.Follower, opts.MaxSettle = s.follower(), 2*time.Minute
			inFlight := 0
			for range 3 {
				before := s.writes.Load()
				rep := runCompare(t, s.spec, opts, nil).Report
				require.Greater(t, s.writes.Load(), before, "the source changed during the compare")
				tr := tableReport(t, rep, "t")
				require.Zero(t, tr.Unconfirmed, "%+v", tr)
				requireEqual(t, rep)
				inFlight += tr.ChunksDifferent
			}
			t.Logf("%d writes; %d chunks differed when first checked", s.writes.Load(), inFlight)

			// A real difference is still found while the job runs: a row
			// only the target holds, out of the writer's reach.
			s.dst.exec(t, "INSERT INTO t VALUES (9000, 1, 'stray', NULL)")
			rep := runCompare(t, s.spec, opts, nil).Report
			tr := tableReport(t, rep, "t")
			require.Equal(t, compare.StatusDifferent, tr.Status, "%+v", tr)
			require.Equal(t, int64(1), tr.Extra, "%s", showRows(tr.Rows))
			require.Zero(t, tr.Missing+tr.Changed, "%s", showRows(tr.Rows))
			require.Equal(t, "9000", *tr.Rows[0].Key[0].Value)
			s.dst.exec(t, "DELETE FROM t WHERE id = 9000")

			s.quiesce(t)
			s.halt(t)
			s.dst.exec(t, "UPDATE t SET c = 'tampered' WHERE id = 77")
			rep = runCompare(t, s.spec, opts, nil).Report
			tr = tableReport(t, rep, "t")
			require.Equal(t, compare.StatusDifferent, tr.Status)
			require.Equal(t, int64(1), tr.Changed, "%s", showRows(tr.Rows))
			require.Equal(t, "77", *tr.Rows[0].Key[0].Value)
			require.Equal(t, "c", tr.Rows[0].Columns[0].Column)
		})
	}
}
