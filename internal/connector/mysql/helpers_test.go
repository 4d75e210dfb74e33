package mysql

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/testenv"
	"github.com/dtsorg/dts/internal/value"
)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// env is one test's server, databases and connectors.
type env struct {
	t   *testing.T
	ctx context.Context
	srv *testenv.Server
	src string // source database
	dst string // target database
}

func newEnv(t *testing.T) *env {
	t.Parallel()
	srv := testenv.MariaDB(t)
	t.Cleanup(func() {
		if t.Failed() { // the server's side of the story
			b, _ := os.ReadFile(filepath.Join(srv.Dir, "server.log"))
			t.Log(string(b[max(0, len(b)-4000):]))
		}
	})
	return &env{t: t, ctx: testContext(t), srv: srv, src: srv.NewDatabase(t), dst: srv.NewDatabase(t)}
}

func (e *env) exec(stmts ...string) { e.t.Helper(); e.srv.Exec(e.t, e.src, stmts...) }

func (e *env) source() *Source {
	e.t.Helper()
	s, err := OpenSource(e.ctx, e.srv.Endpoint(e.src), discardLog())
	require.NoError(e.t, err)
	e.t.Cleanup(func() { s.Close() })
	return s
}

func (e *env) sink() *Sink {
	e.t.Helper()
	s, err := OpenSink(e.ctx, e.srv.Endpoint(e.dst), discardLog())
	require.NoError(e.t, err)
	e.t.Cleanup(func() { s.Close() })
	return s
}

func (e *env) table(s *Source, db, name string) *schema.Table {
	e.t.Helper()
	tables, err := s.ReadTables(e.ctx, []connector.TableRef{{Schema: db, Name: name}})
	require.NoError(e.t, err)
	return tables[0]
}

func (e *env) snapshot(s *Source, readers int) connector.Snapshot {
	e.t.Helper()
	snap, err := s.OpenSnapshot(e.ctx, readers)
	require.NoError(e.t, err)
	e.t.Cleanup(func() { snap.Close() })
	return snap
}

// readAll reads every row of t (all columns) through r, ordered by its key.
func (e *env) readAll(r connector.Reader, t *schema.Table) []value.Row {
	e.t.Helper()
	var rows []value.Row
	err := r.Read(e.ctx, connector.ReadRequest{Table: t, Columns: t.Names(), Key: t.ChunkKey()}, func(row value.Row) error {
		rows = append(rows, row.Clone())
		return nil
	})
	require.NoError(e.t, err)
	return rows
}

// copyTable creates t's copy in the target database through the sink and
// copies its rows in one chunk; it returns the target table.
func (e *env) copyTable(src *Source, sink *Sink, t *schema.Table) *schema.Table {
	e.t.Helper()
	named := *t
	named.Schema = e.dst
	target, problems := sink.MapTable(&named, "mariadb")
	require.Empty(e.t, problems)
	require.NoError(e.t, sink.PrepareTable(e.ctx, target, "fail"))
	snap := e.snapshot(src, 1)
	rows := e.readAll(snap.Readers()[0], t)
	types := typesOf(t)
	sent := false
	n, err := sink.WriteChunk(e.ctx, connector.ChunkWrite{Table: target, Columns: target.Names(), SourceTypes: types},
		func() ([]value.Row, error) {
			if sent {
				return nil, nil
			}
			sent = true
			return rows, nil
		})
	require.NoError(e.t, err)
	require.EqualValues(e.t, len(rows), n)
	require.NoError(e.t, sink.FinishTable(e.ctx, target))
	return target
}

func rowStrings(rows []value.Row) [][]*string {
	out := make([][]*string, len(rows))
	for i, r := range rows {
		out[i] = make([]*string, len(r))
		for j, v := range r {
			if v != nil {
				s := string(v)
				out[i][j] = &s
			}
		}
	}
	return out
}

func typesOf(t *schema.Table) []schema.Type {
	types := make([]schema.Type, len(t.Columns))
	for i, c := range t.Columns {
		types[i] = c.Type
	}
	return types
}
