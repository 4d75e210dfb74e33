package mysql

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/testenv"
	"github.com/dtsorg/dts/internal/value"
)

// Helpers of the binlog stream's tests.

// logJob names the tables of the test's source database.
func (e *env) logJob(tables ...string) connector.LogJob {
	lj := connector.LogJob{JobID: "job-" + e.src, JobName: e.src}
	for _, t := range tables {
		lj.Tables = append(lj.Tables, connector.TableRef{Schema: e.src, Name: t})
	}
	return lj
}

// logSnapshot opens and closes a log snapshot: its position and the tables'
// structure there.
func (e *env) logSnapshot(src *Source, lj connector.LogJob) (change.Position, []*schema.Table) {
	e.t.Helper()
	snap, err := src.OpenLogSnapshot(e.ctx, lj, 1)
	require.NoError(e.t, err)
	defer snap.Close()
	tables := snap.(*Snapshot).Tables()
	require.Len(e.t, tables, len(lj.Tables))
	return snap.Position(), tables
}

// follow opens a change stream closed when the test ends.
func (e *env) follow(src *Source, lj connector.LogJob, from change.Position, tables []*schema.Table) connector.ChangeStream {
	e.t.Helper()
	st, err := src.Follow(e.ctx, lj, from, tables)
	require.NoError(e.t, err)
	e.t.Cleanup(func() { st.Close() })
	return st
}

// stream reads a change stream in a test.
type stream struct {
	t  *testing.T
	st connector.ChangeStream
}

// next returns the next item that is not a heartbeat.
func (s stream) next() change.Item {
	s.t.Helper()
	for {
		it := s.item(30 * time.Second)
		if it.Kind != change.ItemHeartbeat {
			return it
		}
	}
}

// item returns the next item, failing after wait.
func (s stream) item(wait time.Duration) change.Item {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	it, err := s.st.Next(ctx)
	require.NoError(s.t, err)
	return it
}

// txn reads one transaction: Begin, Rows, Commit.
func (s stream) txn() (begin change.Item, rows []*change.Row, commit change.Item) {
	s.t.Helper()
	begin = s.next()
	require.Equal(s.t, change.ItemBegin, begin.Kind, "expected a Begin, got %+v", begin)
	for {
		it := s.next()
		switch it.Kind {
		case change.ItemRow:
			require.Same(s.t, begin.Txn, it.Txn)
			require.Equal(s.t, len(rows), it.Row.Seq)
			rows = append(rows, it.Row)
		case change.ItemCommit:
			require.Same(s.t, begin.Txn, it.Txn)
			return begin, rows, it
		default:
			s.t.Fatalf("unexpected item %+v inside a transaction", it)
		}
	}
}

// rows reads n row changes from transactions.
func (s stream) rows(n int) []*change.Row {
	s.t.Helper()
	var out []*change.Row
	for len(out) < n {
		_, rows, _ := s.txn()
		out = append(out, rows...)
	}
	require.Len(s.t, out, n)
	return out
}

// ddl reads the next item and requires a DDL.
func (s stream) ddl() *change.DDL {
	s.t.Helper()
	it := s.next()
	require.Equal(s.t, change.ItemDDL, it.Kind, "expected a DDL, got %+v", it)
	return it.DDL
}

// fail reads until the stream fails and returns the error.
func (s stream) fail() error {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		_, err := s.st.Next(ctx)
		if err != nil {
			require.NoError(s.t, ctx.Err())
			return err
		}
	}
}

// snapshotRows reads a table through a fresh snapshot, by the first column's value.
func (e *env) snapshotRows(src *Source, t *schema.Table) map[string]value.Row {
	e.t.Helper()
	snap := e.snapshot(src, 1)
	out := map[string]value.Row{}
	for _, r := range e.readAll(snap.Readers()[0], t) {
		out[string(r[0])] = r
	}
	return out
}

// rowText shows a row for failure messages.
func rowText(t *schema.Table, r value.Row) string {
	var b strings.Builder
	for i, v := range r {
		name := fmt.Sprint(i)
		if t != nil && i < len(t.Columns) {
			name = t.Columns[i].Name
		}
		if v == nil {
			fmt.Fprintf(&b, "%s=NULL ", name)
		} else {
			fmt.Fprintf(&b, "%s=%q ", name, v)
		}
	}
	return b.String()
}

// requireSameRow compares a change stream row with the snapshot's, value by value.
func requireSameRow(t *testing.T, table *schema.Table, want, got value.Row, msg string) {
	t.Helper()
	require.Len(t, got, len(want), msg)
	for i := range want {
		name := table.Columns[i].Name
		if want[i] == nil {
			require.Nil(t, got[i], "%s: column %s: snapshot NULL, binlog %q", msg, name, got[i])
			continue
		}
		require.NotNil(t, got[i], "%s: column %s: snapshot %q, binlog NULL", msg, name, want[i])
		require.Equal(t, string(want[i]), string(got[i]), "%s: column %s", msg, name)
	}
}

// dedicated starts a MariaDB server of the test's own (restarts, server
// settings) with a database and an env on it.
func dedicated(t *testing.T, o testenv.MariaDBOptions) *env {
	t.Parallel()
	srv := testenv.StartMariaDB(t, o)
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(serverLogTail(srv))
		}
	})
	return &env{t: t, ctx: testContext(t), srv: srv, src: srv.NewDatabase(t), dst: srv.NewDatabase(t)}
}

func serverLogTail(srv *testenv.Server) string {
	b, _ := os.ReadFile(filepath.Join(srv.Dir, "server.log"))
	return string(b[max(0, len(b)-4000):])
}
