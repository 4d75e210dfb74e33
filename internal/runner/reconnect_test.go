package runner_test

import (
	"context"
	"database/sql"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/testenv"
)

// A target killed (kill -9) while changes flow and started again: the job
// notices, retries with backoff from the target's checkpoints, continues
// by itself, and the target ends equal to the source (T08).
func TestTargetKilledMidApply(t *testing.T) {
	t.Parallel()
	for _, d := range []struct {
		name  string
		start func(testing.TB) *testenv.Server
	}{
		{"mariadb", func(t testing.TB) *testenv.Server { return testenv.StartMariaDB(t, testenv.MariaDBOptions{}) }},
		{"postgresql", func(t testing.TB) *testenv.Server { return testenv.StartPostgres(t, testenv.PostgresOptions{}) }},
	} {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			src, dst := newSide(t, testenv.MariaDB(t)), newSide(t, d.start(t))
			src.exec(t, "CREATE TABLE s (id INT PRIMARY KEY, k INT NOT NULL, c VARCHAR(40) NOT NULL)",
				"INSERT INTO s SELECT seq, seq, 'init' FROM seq_1_to_200")
			h := startRun(t, nil, "kill-"+src.database, syncSpec("kill-"+d.name, src, dst))

			stop, wrote := make(chan struct{}), make(chan error, 1)
			db := src.srv.DB(t, src.database)
			go func() { wrote <- writeLoad(db, stop) }()
			waitFor(t, h, "changes applied before the kill", func() bool { return h.p.Apply.Snapshot().AppliedRows > 0 })
			dst.srv.Kill(t)
			waitFor(t, h, "a retry after the kill", func() bool { return h.p.Apply.Snapshot().Retries > 0 })
			dst.srv.Start(t)
			after := h.p.Apply.Snapshot().AppliedRows
			waitFor(t, h, "changes applied after the restart", func() bool { return h.p.Apply.Snapshot().AppliedRows > after })
			close(stop)
			require.NoError(t, <-wrote)
			waitSame(t, h, src, dst, "s", "s")
			snap := h.p.Apply.Snapshot()
			require.NotEmpty(t, snap.RetryError)
			t.Logf("%d retries, the last after: %s", snap.Retries, snap.RetryError)
		})
	}
}

// writeLoad writes transactions of inserts, updates and deletes on the
// source until stop closes.
func writeLoad(db *sql.DB, stop chan struct{}) error {
	ctx := context.Background()
	for i := 0; ; i++ {
		select {
		case <-stop:
			return nil
		default:
		}
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		base := 1000 + i*10
		stmts := []string{
			fmt.Sprintf("INSERT INTO s SELECT seq, seq, 'new' FROM seq_%d_to_%d", base, base+9),
			fmt.Sprintf("UPDATE s SET k = k + 1, c = 'upd%d' WHERE id %% 50 = %d", i, i%50),
			fmt.Sprintf("DELETE FROM s WHERE id IN (%d, %d)", base-7, base-3),
		}
		for _, q := range stmts {
			if _, err := tx.ExecContext(ctx, q); err != nil {
				tx.Rollback()
				return fmt.Errorf("%s: %w", q, err)
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		time.Sleep(5 * time.Millisecond) // a steady flow, not a flood: the 2-core machine is shared
	}
}

// waitFor polls cond until it holds; the job must keep running meanwhile.
func waitFor(t *testing.T, h *running, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for !cond() {
		select {
		case err := <-h.done:
			h.done <- err
			t.Fatalf("waiting for %s: the job stopped: %v", what, err)
		default:
		}
		require.True(t, time.Now().Before(deadline), "no %s; status %s", what, h.p.Status())
		time.Sleep(20 * time.Millisecond)
	}
}

// An error that starting over cannot fix stops the job at once: a row
// deleted on the target behind dts's back, then updated on the source.
func TestDivergenceStopsTheJob(t *testing.T) {
	t.Parallel()
	src, dst := newSide(t, testenv.MariaDB(t)), newSide(t, testenv.MariaDB(t))
	src.exec(t, "CREATE TABLE d (id INT PRIMARY KEY, v INT)", "INSERT INTO d VALUES (1, 1), (2, 2)")
	h := startRun(t, nil, "div-"+src.database, syncSpec("div", src, dst))
	dst.exec(t, "DELETE FROM d WHERE id = 2")
	src.exec(t, "UPDATE d SET v = 3 WHERE id = 2")
	select {
	case err := <-h.done:
		h.done <- err
		e, ok := errs.As(err)
		require.True(t, ok, "%v", err)
		require.Equal(t, connector.CodeDivergence, e.Code)
		require.Zero(t, h.p.Apply.Snapshot().Retries)
	case <-time.After(2 * time.Minute):
		t.Fatalf("the job did not stop; status %s", h.p.Status())
	}
}
