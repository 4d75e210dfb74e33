package postgres

import (
	"context"
	"io"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/testenv"
	"github.com/dtsorg/dts/internal/value"
)

// logEnv is a test database with a job that follows some of its tables.
type logEnv struct {
	*env
	lj connector.LogJob
}

// newLogEnv creates the tables (stmts) and a job following tables
// (public.<name>); the slot is named after the test's database.
func newLogEnv(t *testing.T, tables []string, stmts ...string) *logEnv {
	t.Helper()
	return logEnvOn(t, newEnv(t, stmts...), tables)
}

func logEnvOn(t *testing.T, v *env, tables []string) *logEnv {
	lj := connector.LogJob{JobID: "id-" + v.db, JobName: v.db}
	for _, name := range tables {
		lj.Tables = append(lj.Tables, connector.TableRef{Schema: "public", Name: name})
	}
	return &logEnv{env: v, lj: lj}
}

// newLogEnvOn is newLogEnv on a server of the test's own.
func newLogEnvOn(t *testing.T, srv *testenv.Server, tables []string, stmts ...string) *logEnv {
	t.Helper()
	db := srv.NewDatabase(t)
	if len(stmts) > 0 {
		srv.Exec(t, db, stmts...)
	}
	e := srv.Endpoint(db)
	var w io.Writer = io.Discard
	if os.Getenv("DTS_TEST_LOG") != "" {
		w = os.Stderr
	}
	log := slog.New(slog.NewTextHandler(w, nil))
	src, err := OpenSource(t.Context(), e, log)
	require.NoError(t, err)
	t.Cleanup(func() { src.Close() })
	return logEnvOn(t, &env{srv: srv, db: db, e: e, src: src}, tables)
}

// openLog opens the job's log snapshot.
func (v *logEnv) openLog(t *testing.T, readers int) connector.Snapshot {
	t.Helper()
	snap, err := v.src.OpenLogSnapshot(t.Context(), v.lj, readers)
	require.NoError(t, err)
	t.Cleanup(func() { snap.Close() })
	return snap
}

// tables reads the job's tables' structures now.
func (v *logEnv) tables(t *testing.T) []*schema.Table {
	t.Helper()
	tables, err := v.src.ReadTables(t.Context(), v.lj.Tables)
	require.NoError(t, err)
	return tables
}

// follow opens a stream from pos with the tables' current structures.
func (v *logEnv) follow(t *testing.T, pos change.Position) *logicalStream {
	t.Helper()
	return v.followWith(t, pos, v.tables(t))
}

func (v *logEnv) followWith(t *testing.T, pos change.Position, tables []*schema.Table) *logicalStream {
	t.Helper()
	st, err := v.src.Follow(t.Context(), v.lj, pos, tables)
	require.NoError(t, err)
	t.Cleanup(func() { st.Close() })
	return st.(*logicalStream)
}

// slot reads the job's slot (nil if gone).
func (v *logEnv) slot(t *testing.T) *slotInfo {
	t.Helper()
	si, err := readSlot(t.Context(), v.src.pool, SlotName(v.lj))
	require.NoError(t, err)
	return si
}

// walLSN is the server's current WAL location.
func (v *logEnv) walLSN(t *testing.T) uint64 {
	t.Helper()
	var s string
	require.NoError(t, v.src.pool.QueryRow(t.Context(), `SELECT pg_current_wal_lsn()::text`).Scan(&s))
	lsn, err := parseLSN(s)
	require.NoError(t, err)
	return lsn
}

// next returns the stream's next item that is not a heartbeat, failing
// the test after a deadline.
func next(t *testing.T, st connector.ChangeStream) change.Item {
	t.Helper()
	for {
		it := nextAny(t, st)
		if it.Kind != change.ItemHeartbeat {
			return it
		}
	}
}

func nextAny(t *testing.T, st connector.ChangeStream) change.Item {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	it, err := st.Next(ctx)
	require.NoError(t, err)
	return it
}

// collectUntil returns the non-heartbeat items up to and including the
// first for which stop is true.
func collectUntil(t *testing.T, st connector.ChangeStream, stop func(change.Item) bool) []change.Item {
	t.Helper()
	var out []change.Item
	for {
		it := next(t, st)
		out = append(out, it)
		if stop(it) {
			return out
		}
	}
}

// commits collects the items of n transactions (up to their Commit).
func commits(t *testing.T, st connector.ChangeStream, n int) []change.Item {
	t.Helper()
	return collectUntil(t, st, func(it change.Item) bool {
		if it.Kind == change.ItemCommit {
			n--
		}
		return n == 0
	})
}

// rows returns the row changes among items.
func rows(items []change.Item) []*change.Row {
	var out []*change.Row
	for _, it := range items {
		if it.Kind == change.ItemRow {
			out = append(out, it.Row)
		}
	}
	return out
}

// col returns a row's value of column name (After, or Before for deletes).
func col(r *change.Row, name string) []byte {
	i := r.Table.ColumnIndex(name)
	if r.After != nil {
		return r.After[i]
	}
	return r.Before[i]
}

// id parses an integer column.
func id(t *testing.T, v []byte) int64 {
	t.Helper()
	n, err := strconv.ParseInt(string(v), 10, 64)
	require.NoError(t, err)
	return n
}

// readRows reads every row of tab (key order) on a new plain snapshot.
func (v *logEnv) readRows(t *testing.T, tab *schema.Table) []value.Row {
	t.Helper()
	return v.readAll(t, tab)
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		select {
		case <-t.Context().Done():
			t.Fatalf("test ended waiting for %s", what)
		case <-tick.C:
		}
	}
}
