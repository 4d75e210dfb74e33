package postgres

import (
	"errors"
	"log/slog"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

func TestBookkeeping(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	ctx := t.Context()

	st, err := v.sink.LoadState(ctx, "job-1") // before any Claim: empty
	require.NoError(t, err)
	assert.Empty(t, st.Runs)
	require.NoError(t, v.sink.Forget(ctx, "job-1"))

	require.NoError(t, v.sink.Claim(ctx, "job-1", "orders"))
	require.NoError(t, v.sink.Claim(ctx, "job-1", "orders"), "claiming again is fine")
	err = v.sink.Claim(ctx, "job-2", "orders")
	require.Error(t, err)
	assert.Equal(t, CodeTargetOwned, errs.CodeOf(err))
	assert.Contains(t, err.Error(), "job-1")
	require.NoError(t, v.sink.Claim(ctx, "job-2", "other"))

	pos1 := change.Position{Engine: "mysql", Flavor: "mariadb", File: "binlog.000001", Pos: 4, GTIDSet: "0-1-5"}
	pos2 := change.Position{Engine: "postgresql", LSN: 0x16B374D848}
	require.NoError(t, v.sink.AddRun(ctx, "job-1", pos1))
	require.NoError(t, v.sink.AddRun(ctx, "job-1", pos2))

	odd := value.Row{[]byte{0, 1, 0xff, '"'}, nil, {}, []byte("ä\\")}
	ts := &connector.TableState{Table: "src.orders", Target: "dst.orders", Created: true, Partitions: []connector.Partition{
		{No: 0, Upto: value.Row{[]byte("100")}, Last: value.Row{[]byte("42")}, Rows: 42},
		{No: 1, After: value.Row{[]byte("100")}, Upto: odd, Done: true, Rows: 7},
		{No: 2, After: odd},
	}}
	require.NoError(t, v.sink.SaveTableState(ctx, "job-1", ts))
	require.NoError(t, v.sink.SaveTableState(ctx, "job-1", &connector.TableState{Table: "src.empty", Target: "dst.empty", Loaded: true, Finished: true}))
	require.NoError(t, v.sink.SaveTableState(ctx, "job-2", &connector.TableState{Table: "src.orders", Target: "x.orders"}))

	st, err = v.sink.LoadState(ctx, "job-1")
	require.NoError(t, err)
	assert.Equal(t, []change.Position{pos1, pos2}, st.Runs)
	assert.Equal(t, ts, st.Tables["src.orders"])
	assert.Equal(t, &connector.TableState{Table: "src.empty", Target: "dst.empty", Loaded: true, Finished: true}, st.Tables["src.empty"])
	assert.Len(t, st.Tables, 2)

	// A re-planned table keeps only its new partitions.
	ts.Partitions = ts.Partitions[:1]
	ts.Loaded = true
	require.NoError(t, v.sink.SaveTableState(ctx, "job-1", ts))
	st, err = v.sink.LoadState(ctx, "job-1")
	require.NoError(t, err)
	assert.Equal(t, ts, st.Tables["src.orders"])

	require.NoError(t, v.sink.Forget(ctx, "job-1"))
	st, err = v.sink.LoadState(ctx, "job-1")
	require.NoError(t, err)
	assert.Empty(t, st.Runs)
	assert.Empty(t, st.Tables)
	require.NoError(t, v.sink.Claim(ctx, "job-3", "orders"), "the name is free again")
	st, err = v.sink.LoadState(ctx, "job-2")
	require.NoError(t, err)
	assert.Len(t, st.Tables, 1)
}

func TestWriteChunkAtomic(t *testing.T) {
	t.Parallel()
	v := newEnv(t, `CREATE TABLE t (id integer PRIMARY KEY, v text)`)
	ctx := t.Context()
	require.NoError(t, v.sink.Claim(ctx, "job", "job"))
	tab := v.table(t, "public", "t")
	ts := &connector.TableState{Table: "src.t", Target: "public.t", Partitions: []connector.Partition{{No: 0}}}
	require.NoError(t, v.sink.SaveTableState(ctx, "job", ts))
	types := []schema.Type{tab.Columns[0].Type, tab.Columns[1].Type}
	rows := func(from, to int) []value.Row {
		var out []value.Row
		for i := from; i <= to; i++ {
			out = append(out, value.Row{[]byte(strconv.Itoa(i)), []byte("v\t" + strconv.Itoa(i))})
		}
		return out
	}
	progress := func(last string, n int64, done bool) func() connector.Progress {
		return func() connector.Progress {
			return connector.Progress{JobID: "job", Table: "src.t", Partition: 0, Last: value.Row{[]byte(last)}, Rows: n, Done: done}
		}
	}
	w := connector.ChunkWrite{Table: tab, Columns: []string{"id", "v"}, SourceTypes: types}

	// next fails after a batch: no row and no progress is written.
	broken := errors.New("source went away")
	sent := false
	w.Progress = progress("3", 3, false)
	_, err := v.sink.WriteChunk(ctx, w, func() ([]value.Row, error) {
		if !sent {
			sent = true
			return rows(1, 3), nil
		}
		return nil, broken
	})
	require.ErrorIs(t, err, broken)
	assertState(t, v, 0, connector.Partition{No: 0})

	// A value PostgreSQL cannot hold fails the chunk with a coded error naming the row.
	bad := append(rows(1, 2), value.Row{[]byte("7"), []byte("nul\x00here")})
	_, err = v.sink.WriteChunk(ctx, w, batches(bad, 10))
	require.Error(t, err)
	assert.Equal(t, CodeUnsupportedValue, errs.CodeOf(err))
	assert.Contains(t, err.Error(), `(id) = ("7")`)
	assert.Contains(t, err.Error(), "column v")
	assertState(t, v, 0, connector.Partition{No: 0})

	// Chunks commit with their progress; rows add up.
	w.Progress = progress("2500", 2500, false)
	n, err := v.sink.WriteChunk(ctx, w, batches(rows(1, 2500), 1000))
	require.NoError(t, err)
	assert.Equal(t, int64(2500), n)
	w.Progress = progress("2600", 100, true)
	_, err = v.sink.WriteChunk(ctx, w, batches(rows(2501, 2600), 30))
	require.NoError(t, err)
	assertState(t, v, 2600, connector.Partition{No: 0, Last: value.Row{[]byte("2600")}, Rows: 2600, Done: true})
}

func assertState(t *testing.T, v *env, rows int, p connector.Partition) {
	t.Helper()
	var n int
	require.NoError(t, v.conn(t).QueryRow(t.Context(), `SELECT count(*) FROM t`).Scan(&n))
	assert.Equal(t, rows, n)
	st, err := v.sink.LoadState(t.Context(), "job")
	require.NoError(t, err)
	assert.Equal(t, []connector.Partition{p}, st.Tables["src.t"].Partitions)
}

// A dts_meta from before the routing column gets it, its checkpoints read
// as scheme 0; an applier writes its job's scheme.
func TestCheckpointsRoutingColumn(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	ctx := t.Context()
	require.NoError(t, v.sink.Claim(ctx, "job-1", "orders"))
	ap, err := v.sink.OpenApplier(ctx, "job-1", 0, 1, 1)
	require.NoError(t, err)
	pos := change.Position{Engine: "postgresql", LSN: 100}
	require.NoError(t, ap.Commit(ctx, connector.Checkpoint{Pos: pos, Complete: true, Ack: pos}))
	require.NoError(t, ap.Close())
	cps, err := v.sink.LoadCheckpoints(ctx, "job-1")
	require.NoError(t, err)
	require.Len(t, cps, 1)
	assert.Equal(t, 1, cps[0].Routing)

	v.exec(t, `ALTER TABLE dts_meta.checkpoints DROP COLUMN routing`)
	old, err := OpenSink(ctx, v.e, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	t.Cleanup(func() { old.Close() })
	require.NoError(t, old.Claim(ctx, "job-1", "orders"))
	cps, err = old.LoadCheckpoints(ctx, "job-1")
	require.NoError(t, err)
	require.Len(t, cps, 1)
	assert.Equal(t, 0, cps[0].Routing, "rows from before the column: the first scheme")
}
