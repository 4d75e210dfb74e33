package postgres

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/testenv"
	"github.com/dtsorg/dts/internal/value"
)

// env is one test's database on the shared server, with a source and a
// sink open on it.
type env struct {
	srv  *testenv.Server
	db   string
	e    job.Endpoint
	src  *Source
	sink *Sink
}

func newEnv(t testing.TB, stmts ...string) *env {
	t.Helper()
	srv := testenv.Postgres(t)
	db := srv.NewDatabase(t)
	if len(stmts) > 0 {
		srv.Exec(t, db, stmts...)
	}
	e := srv.Endpoint(db)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	src, err := OpenSource(t.Context(), e, log)
	require.NoError(t, err)
	t.Cleanup(func() { src.Close() })
	sink, err := OpenSink(t.Context(), e, log)
	require.NoError(t, err)
	t.Cleanup(func() { sink.Close() })
	return &env{srv: srv, db: db, e: e, src: src, sink: sink}
}

func (v *env) exec(t testing.TB, stmts ...string) {
	t.Helper()
	v.srv.Exec(t, v.db, stmts...)
}

// conn returns a plain connection to the test's database.
func (v *env) conn(t *testing.T) *pgx.Conn {
	t.Helper()
	c, err := connect(t.Context(), v.e)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func (v *env) table(t testing.TB, schemaName, name string) *schema.Table {
	t.Helper()
	tables, err := v.src.ReadTables(t.Context(), []connector.TableRef{{Schema: schemaName, Name: name}})
	require.NoError(t, err)
	return tables[0]
}

func (v *env) snapshot(t *testing.T, readers int) *Snapshot {
	t.Helper()
	snap, err := v.src.OpenSnapshot(t.Context(), readers)
	require.NoError(t, err)
	t.Cleanup(func() { snap.Close() })
	return snap.(*Snapshot)
}

// readAll reads every row of t in key order (if it has a key) on a new snapshot.
func (v *env) readAll(t *testing.T, tab *schema.Table) []value.Row {
	t.Helper()
	snap, err := v.src.OpenSnapshot(t.Context(), 1)
	require.NoError(t, err)
	defer snap.Close()
	r := snap.Readers()[0]
	var rows []value.Row
	req := connector.ReadRequest{Table: tab, Columns: tab.Names(), Key: tab.ChunkKey()}
	require.NoError(t, r.Read(t.Context(), req, func(row value.Row) error {
		rows = append(rows, row.Clone())
		return nil
	}))
	return rows
}

// batches returns a next function handing out rows in batches of n.
func batches(rows []value.Row, n int) func() ([]value.Row, error) {
	return func() ([]value.Row, error) {
		if len(rows) == 0 {
			return nil, nil
		}
		b := rows[:min(n, len(rows))]
		rows = rows[len(b):]
		return b, nil
	}
}

// copyInto maps src into targetSchema (same engine), creates it and writes rows.
func (v *env) copyInto(t *testing.T, src *schema.Table, targetSchema string, rows []value.Row) *schema.Table {
	t.Helper()
	named := *src
	named.Schema = targetSchema
	target, problems := v.sink.MapTable(&named, "postgresql")
	for _, p := range problems {
		require.False(t, p.Fatal, "%+v", p)
	}
	require.NoError(t, v.sink.PrepareTable(t.Context(), target, job.ExistingFail))
	v.write(t, target, src, rows)
	return target
}

func (v *env) write(t *testing.T, target, src *schema.Table, rows []value.Row) {
	t.Helper()
	types := make([]schema.Type, len(src.Columns))
	for i, c := range src.Columns {
		types[i] = c.Type
	}
	n, err := v.sink.WriteChunk(t.Context(), connector.ChunkWrite{Table: target, Columns: target.Names(), SourceTypes: types}, batches(rows, 3))
	require.NoError(t, err)
	require.Equal(t, int64(len(rows)), n)
}
