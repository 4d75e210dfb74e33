package postgres

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/phase/fullload"
	"github.com/dtsorg/dts/internal/value"
)

// failingSink fails every WriteChunk after the first ok ones, after
// writing part of the chunk: a crash in the middle of a load.
type failingSink struct {
	*Sink
	ok atomic.Int32
}

var errCrash = errors.New("crash")

func (f *failingSink) WriteChunk(ctx context.Context, w connector.ChunkWrite, next func() ([]value.Row, error)) (int64, error) {
	if f.ok.Add(-1) >= 0 {
		return f.Sink.WriteChunk(ctx, w, next)
	}
	return f.Sink.WriteChunk(ctx, w, func() ([]value.Row, error) {
		b, err := next()
		if err == nil && b == nil {
			return nil, errCrash // the chunk's rows went to the server; the commit never comes
		}
		return b, err
	})
}

// The full-load orchestrator over this source and sink: partitions,
// chunks, a crash, and a resumed run that copies every row exactly once.
func TestFullLoadResume(t *testing.T) {
	t.Parallel()
	v := newEnv(t,
		`CREATE TABLE items (id integer PRIMARY KEY, name text, price numeric(10,2), at timestamptz)`,
		`INSERT INTO items SELECT g, 'item ' || g, g / 7.0, '2020-01-01'::timestamptz + g * interval '1 minute' FROM generate_series(1, 5000) g`,
		`CREATE TABLE nokey (a text, b bytea)`,
		`INSERT INTO nokey SELECT 'r' || g, '\x00ff' FROM generate_series(1, 300) g`,
		`ANALYZE`,
	)
	ctx := t.Context()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	plan := func() []*fullload.Table {
		var tables []*fullload.Table
		for _, name := range []string{"items", "nokey"} {
			src := v.table(t, "public", name)
			named := *src
			named.Schema = "copy"
			target, _ := v.sink.MapTable(&named, "postgresql")
			tables = append(tables, &fullload.Table{Source: src, Target: target, SourceColumns: src.Names(), TargetColumns: target.Names()})
		}
		return tables
	}
	run := func(sink connector.Sink) error {
		require.NoError(t, sink.Claim(ctx, "job", "job"))
		st, err := sink.LoadState(ctx, "job")
		require.NoError(t, err)
		tables := plan()
		for _, tab := range tables {
			ts, ok := st.Tables[tab.Source.QualifiedName()]
			if !ok {
				ts = &connector.TableState{Table: tab.Source.QualifiedName(), Target: tab.Target.QualifiedName()}
			}
			if !ts.Created {
				require.NoError(t, sink.PrepareTable(ctx, tab.Target, job.ExistingFail))
				ts.Created = true
				require.NoError(t, sink.SaveTableState(ctx, "job", ts))
			}
			tab.State = ts
		}
		_, err = fullload.Run(ctx, v.src, sink, tables, fullload.Options{JobID: "job", Workers: 3, ChunkRows: 400, BatchRows: 150, PartitionRows: 1000, Logger: log})
		return err
	}

	crashing := &failingSink{Sink: v.sink}
	crashing.ok.Store(5)
	require.ErrorIs(t, run(crashing), errCrash)
	var copied int
	require.NoError(t, v.conn(t).QueryRow(ctx, `SELECT count(*) FROM copy.items`).Scan(&copied))
	assert.Less(t, copied, 5000)

	require.NoError(t, run(v.sink))
	for _, name := range []string{"items", "nokey"} {
		want := v.readAll(t, v.table(t, "public", name))
		got := v.readAll(t, v.table(t, "copy", name))
		if name == "nokey" {
			assert.ElementsMatch(t, want, got, name)
		} else {
			assert.Equal(t, want, got, name)
		}
	}
	st, err := v.sink.LoadState(ctx, "job")
	require.NoError(t, err)
	items := st.Tables["public.items"]
	require.NotNil(t, items)
	assert.True(t, items.Loaded && items.Finished)
	assert.Greater(t, len(items.Partitions), 1, "the table was split")
	var rows int64
	for _, p := range items.Partitions {
		assert.True(t, p.Done)
		rows += p.Rows
	}
	assert.Equal(t, int64(5000), rows)
	assert.Len(t, st.Runs, 2)
}
