package main

import (
	"database/sql"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/testenv"
)

// TestSyncSurvivesKill9 runs a sync job as `dts run` and kills it for real
// (SIGKILL) three times while a workload changes the source - inserts,
// updates, deletes, primary-key changes, a column added with a default,
// one transaction of 100,000 rows - and starts it again each time. Once the workload stops
// and the job caught up, the target equals the source row by row on every
// column; a PostgreSQL source's slot is never confirmed past the
// checkpoint on the target.
func TestSyncSurvivesKill9(t *testing.T) {
	t.Parallel()
	// A MariaDB target is a server of the direction's own: the row lock
	// the test holds there (run) would stall the FLUSH TABLES WITH READ
	// LOCK of other tests' snapshots on a shared server, and their global
	// read lock this test's apply.
	ownMariaDB := func(t testing.TB) *testenv.Server { return testenv.StartMariaDB(t, testenv.MariaDBOptions{}) }
	for _, d := range []struct {
		name     string
		src, dst func(testing.TB) *testenv.Server
	}{
		{"mariadb-mariadb", testenv.MariaDB, ownMariaDB},
		{"mariadb-postgresql", testenv.MariaDB, testenv.Postgres},
		{"postgresql-postgresql", testenv.Postgres, testenv.Postgres},
		{"postgresql-mariadb", testenv.Postgres, ownMariaDB},
	} {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			newKillRig(t, d.src(t), d.dst(t)).run()
		})
	}
}

const (
	seedRows = 1_000
	bigRows  = 100_000
	bigFrom  = 10_000_000 // the big transaction's ids, apart from the workload's
)

// killRig is one direction's source, target, job file and child process.
type killRig struct {
	t                *testing.T
	src, dst         *testenv.Server
	srcDB, dstDB     string
	srcConn, dstConn *sql.DB
	table            string // the target table, as the target names it
	jobID            string // the foreground run's id on the target: "run-" + name
	file             string
	child            *runChild
}

func newKillRig(t *testing.T, src, dst *testenv.Server) *killRig {
	r := &killRig{t: t, src: src, dst: dst, srcDB: src.NewDatabase(t), dstDB: dst.NewDatabase(t)}
	// The job's name comes from the target database's: unique per run, so
	// -count=2 or a concurrent test never meets this job's bookkeeping.
	name := r.dstDB
	r.jobID = "run-" + name
	r.srcConn, r.dstConn = src.DB(t, r.srcDB), dst.DB(t, r.dstDB)

	create := "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, k INT NOT NULL, v VARCHAR(64) NOT NULL, n BIGINT NOT NULL)"
	seed := fmt.Sprintf("INSERT INTO t SELECT seq, seq %% 97, CONCAT('seed-', seq), seq FROM seq_1_to_%d", seedRows)
	srcEndpoint := fmt.Sprintf("{engine: mariadb, host: %s, port: %d, user: dts, password: \"${env:PW}\"}", src.Host, src.Port)
	srcObjects := r.srcDB
	if !src.Engine.IsMySQL() {
		seed = fmt.Sprintf("INSERT INTO t SELECT g, g %% 97, 'seed-' || g, g FROM generate_series(1, %d) g", seedRows)
		srcEndpoint = fmt.Sprintf("{engine: postgresql, host: %s, port: %d, user: dts, password: \"${env:PW}\", database: %s}", src.Host, src.Port, r.srcDB)
		srcObjects = "public"
	}
	src.Exec(t, r.srcDB, create, seed)

	// A MariaDB target's database is also the apply sessions' default one:
	// applyWaits finds them by it.
	dstSchema := r.dstDB
	r.table = "`" + r.dstDB + "`.t"
	if !dst.Engine.IsMySQL() {
		dstSchema, r.table = "copy", "copy.t"
	}
	r.file = writeFile(t, "sync.yaml", fmt.Sprintf(`
name: %s
type: sync
source: %s
target: {engine: %s, host: %s, port: %d, user: dts, password: "${env:PW}", database: %s}
objects: {%s: {all: true, name: %s}}
ddl: [alter_table]
parallelism: {max: 2}
`, name, srcEndpoint, dst.Engine, dst.Host, dst.Port, r.dstDB, srcObjects, dstSchema))
	t.Cleanup(func() { // before the databases are dropped
		if r.child != nil {
			r.child.kill()
		}
	})
	return r
}

func (r *killRig) run() {
	t := r.t
	w := startWorkload(t, r.srcConn, !r.src.Engine.IsMySQL(), seedRows+1)
	r.child = startRunChild(t, r.file)

	// 1: killed once it follows the source and applied some of the workload.
	first := w.next.Load()
	r.waitFor("the incremental phase applying the workload", func() bool {
		return r.checkpoints() > 0 && r.dstMaxWorkloadID() > first+30
	})
	r.killAndRestart("while following the workload")

	// 2: killed while the target applies the big transaction, after a
	// column was added with a default (the rows the target holds already
	// must show it as the source's do). The big transaction ends by updating row 1, which
	// a session of the test holds locked on the target: the worker it
	// goes to waits there, in the middle of the transaction, until killed.
	r.waitProgress("after the first restart", w)
	r.src.Exec(t, r.srcDB, "ALTER TABLE t ADD COLUMN note VARCHAR(32) DEFAULT 'dflt'")
	w.altered.Store(true)
	// The lock would keep the ALTER TABLE from the target: taken after it.
	r.waitFor("the new column on the target", func() bool {
		return r.dstConn.QueryRow("SELECT note FROM "+r.table+" WHERE id = 1").Scan(new(sql.NullString)) == nil
	})
	lock := r.lockRowOne()
	r.bigTransaction()
	r.waitFor("the big transaction waiting for row 1 on the target", r.applyWaits)
	r.child.kill()
	require.NoError(t, lock.Rollback())
	t.Logf("killed while applying the big transaction: %d of its %d rows committed", r.dstBigRows(), bigRows)
	r.requireSlotBehindCheckpoint()
	r.child = startRunChild(t, r.file)

	// 3: killed once the big transaction is in and the workload moves on.
	r.waitFor("the big transaction on the target", func() bool { return r.dstBigRows() == bigRows })
	r.waitProgress("after the big transaction", w)
	r.killAndRestart("after the big transaction")

	r.waitProgress("after the third restart", w)
	w.finish(t)
	t.Logf("workload: %d transactions", w.txns.Load())
	r.waitFor("the target to catch up", func() bool { return r.aggregate(r.srcConn, "t") == r.aggregate(r.dstConn, r.table) })
	r.requireSameRows()
	r.requireSlotBehindCheckpoint()
	r.child.stop(t)
	r.child = nil
	r.requireSlotBehindCheckpoint()
}

// killAndRestart kills the child with SIGKILL and starts it again.
func (r *killRig) killAndRestart(when string) {
	r.t.Helper()
	r.child.kill()
	r.t.Logf("killed %s (%d checkpoints on the target)", when, r.checkpoints())
	r.requireSlotBehindCheckpoint()
	r.child = startRunChild(r.t, r.file)
}

// waitProgress waits until the target holds a workload row written after now.
func (r *killRig) waitProgress(what string, w *workload) {
	r.t.Helper()
	mark := w.next.Load()
	r.waitFor("the workload applied "+what, func() bool { return r.dstMaxWorkloadID() >= mark })
}

// waitFor polls cond; the child ending or a generous deadline fails the test.
func (r *killRig) waitFor(what string, cond func() bool) {
	r.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for !cond() {
		if r.child != nil {
			r.child.requireAlive(r.t, what)
		}
		if time.Now().After(deadline) {
			r.t.Fatalf("waited in vain for %s; dts run says:\n%s", what, r.child.tail())
		}
		time.Sleep(10 * time.Millisecond) // a short poll: the big transaction's window is a few seconds
	}
}

// q writes a statement's one placeholder in the target's dialect.
func (r *killRig) q(query string) string {
	if r.dst.Engine.IsMySQL() {
		return query
	}
	return strings.ReplaceAll(query, "?", "$1")
}

// checkpoints counts the job's checkpoint rows on the target (0 before
// the incremental phase wrote any).
func (r *killRig) checkpoints() int {
	var n int
	_ = r.dstConn.QueryRow(r.q("SELECT count(*) FROM dts_meta.checkpoints WHERE job_id = ?"), r.jobID).Scan(&n)
	return n
}

func (r *killRig) dstMaxWorkloadID() int64 {
	var n sql.NullInt64
	_ = r.dstConn.QueryRow(fmt.Sprintf("SELECT MAX(id) FROM %s WHERE id < %d", r.table, bigFrom)).Scan(&n)
	return n.Int64
}

func (r *killRig) dstBigRows() int {
	var n int
	_ = r.dstConn.QueryRow(fmt.Sprintf("SELECT count(*) FROM %s WHERE id > %d", r.table, bigFrom)).Scan(&n)
	return n
}

// bigTransaction inserts bigRows rows and updates row 1, in one source
// transaction.
func (r *killRig) bigTransaction() {
	r.t.Helper()
	insert := fmt.Sprintf("INSERT INTO t (id, k, v, n) SELECT %d + seq, seq %% 97, CONCAT('big-', seq), seq FROM seq_1_to_%d", bigFrom, bigRows)
	if !r.src.Engine.IsMySQL() {
		insert = fmt.Sprintf("INSERT INTO t (id, k, v, n) SELECT %d + g, g %% 97, 'big-' || g, g FROM generate_series(1, %d) g", bigFrom, bigRows)
	}
	tx, err := r.srcConn.Begin()
	require.NoError(r.t, err)
	defer tx.Rollback()
	_, err = tx.Exec(insert)
	require.NoError(r.t, err)
	_, err = tx.Exec("UPDATE t SET v = 'big-end' WHERE id = 1")
	require.NoError(r.t, err)
	require.NoError(r.t, tx.Commit())
}

// lockRowOne locks row 1 on the target in a transaction of the test's.
func (r *killRig) lockRowOne() *sql.Tx {
	r.t.Helper()
	tx, err := r.dstConn.Begin()
	require.NoError(r.t, err)
	r.t.Cleanup(func() { _ = tx.Rollback() })
	var id int64
	require.NoError(r.t, tx.QueryRow("SELECT id FROM "+r.table+" WHERE id = 1 FOR UPDATE").Scan(&id))
	return tx
}

// applyWaits reports whether an apply session waits for row 1 on the
// target, in the middle of the big transaction: its worker applied its
// share of the inserts before (MariaDB shows the waiting statement; on
// PostgreSQL, a session that wrote waits for a lock).
func (r *killRig) applyWaits() bool {
	var n int
	if r.dst.Engine.IsMySQL() {
		// Not information_schema.innodb_trx: MariaDB refreshes it only
		// once nobody read it for 100 ms.
		_ = r.dstConn.QueryRow(`SELECT count(*) FROM information_schema.processlist
			WHERE db = ? AND info LIKE '%big-end%' AND id <> CONNECTION_ID()`, r.dstDB).Scan(&n)
		return n > 0
	}
	_ = r.dstConn.QueryRow(`SELECT count(*) FROM pg_stat_activity
		WHERE datname = current_database() AND wait_event_type = 'Lock' AND backend_xid IS NOT NULL`).Scan(&n)
	return n > 0
}

// aggregate sums a table up: a cheap test of whether the target caught up.
func (r *killRig) aggregate(db *sql.DB, table string) string {
	var a, b, c, d, e sql.NullString
	err := db.QueryRow("SELECT count(*), SUM(id), SUM(k), SUM(n), count(note) FROM "+table).Scan(&a, &b, &c, &d, &e)
	if err != nil {
		return err.Error()
	}
	return strings.Join([]string{a.String, b.String, c.String, d.String, e.String}, "|")
}

// requireSameRows compares every row and column of both tables.
func (r *killRig) requireSameRows() {
	r.t.Helper()
	want, got := tableRows(r.t, r.srcConn, "t"), tableRows(r.t, r.dstConn, r.table)
	var missing, extra []string
	inGot := map[string]bool{}
	for _, row := range got {
		inGot[row] = true
	}
	inWant := map[string]bool{}
	for _, row := range want {
		inWant[row] = true
		if !inGot[row] {
			missing = append(missing, row)
		}
	}
	for _, row := range got {
		if !inWant[row] {
			extra = append(extra, row)
		}
	}
	require.Empty(r.t, missing, "source rows the target lacks or holds otherwise")
	require.Empty(r.t, extra, "target rows the source does not hold")
	require.Equal(r.t, len(want), len(got), "row count")
	r.t.Logf("target equals source: %d rows", len(want))
}

// tableRows reads id, k, v, n, note of every row, ordered by id.
func tableRows(t *testing.T, db *sql.DB, table string) []string {
	t.Helper()
	rows, err := db.Query("SELECT id, k, v, n, note FROM " + table + " ORDER BY id")
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, k, n int64
		var v string
		var note sql.NullString
		require.NoError(t, rows.Scan(&id, &k, &v, &n, &note))
		s := fmt.Sprintf("%d|%d|%s|%d|", id, k, v, n)
		if note.Valid {
			s += note.String
		} else {
			s += "∅"
		}
		out = append(out, s)
	}
	require.NoError(t, rows.Err())
	return out
}

// requireSlotBehindCheckpoint checks a PostgreSQL source's slot is not
// confirmed past what the target committed: every worker's acknowledged
// position in dts_meta.checkpoints (connector.Checkpoint.Ack). The slot is
// read first: it can only grow, so reading it before the checkpoints
// tells even while the job runs.
func (r *killRig) requireSlotBehindCheckpoint() {
	r.t.Helper()
	if r.src.Engine.IsMySQL() {
		return
	}
	var slot string
	err := r.srcConn.QueryRow(`SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE database = current_database()`).Scan(&slot)
	if err == sql.ErrNoRows {
		return // killed before it created its slot
	}
	require.NoError(r.t, err)
	confirmed, err := change.ParsePosition("lsn:" + slot)
	require.NoError(r.t, err)
	rows, err := r.dstConn.Query(r.q("SELECT worker, ack_pos FROM dts_meta.checkpoints WHERE job_id = ?"), r.jobID)
	require.NoError(r.t, err)
	defer rows.Close()
	workers := 0
	for ; rows.Next(); workers++ {
		var worker int
		var ack string
		require.NoError(r.t, rows.Scan(&worker, &ack))
		pos, err := change.DecodePosition([]byte(ack))
		require.NoError(r.t, err)
		require.LessOrEqual(r.t, confirmed.LSN, pos.LSN, "the slot is confirmed at %s, past worker %d's checkpoint %s", confirmed, worker, pos)
	}
	require.NoError(r.t, rows.Err())
	require.Positive(r.t, workers, "the job's checkpoints on the target") // the first kill comes after them
}

// runChild is `dts run FILE` as a child process.
type runChild struct {
	cmd    *exec.Cmd
	out    *lockedBuffer
	exited chan error
	err    error
	done   bool
}

func startRunChild(t *testing.T, file string) *runChild {
	t.Helper()
	c := &runChild{cmd: exec.Command(dtsBin, "run", file), out: &lockedBuffer{}, exited: make(chan error, 1)}
	c.cmd.Env = append(os.Environ(), "PW="+testenv.Password)
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.out
	require.NoError(t, c.cmd.Start())
	go func() { c.exited <- c.cmd.Wait() }()
	return c
}

func (c *runChild) wait() error {
	if !c.done {
		c.err, c.done = <-c.exited, true
	}
	return c.err
}

func (c *runChild) requireAlive(t *testing.T, what string) {
	t.Helper()
	select {
	case err := <-c.exited:
		c.err, c.done = err, true
		t.Fatalf("dts run ended (%v) while waiting for %s:\n%s", err, what, c.tail())
	default:
	}
}

// kill ends the process with SIGKILL, as a crash would.
func (c *runChild) kill() {
	if !c.done {
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
		_ = c.wait()
	}
}

// stop ends the process as a person would (SIGTERM): a sync stops with
// its checkpoint, exit status 0.
func (c *runChild) stop(t *testing.T) {
	t.Helper()
	require.NoError(t, c.cmd.Process.Signal(syscall.SIGTERM))
	select {
	case <-time.After(time.Minute):
		c.kill()
		t.Fatalf("dts run did not stop on SIGTERM:\n%s", c.tail())
	case err := <-c.exited:
		c.err, c.done = err, true
	}
	require.NoError(t, c.err, "dts run exits 0 when a sync is stopped:\n%s", c.tail())
	require.Contains(t, c.out.String(), "stopped: the incremental phase resumes from its checkpoint")
}

func (c *runChild) tail() string {
	if c == nil {
		return ""
	}
	s := c.out.String()
	if len(s) > 8000 {
		s = "…" + s[len(s)-8000:]
	}
	return s
}

// lockedBuffer collects a child's output while the test reads it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
