package postgres

import (
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/change"
)

// streamingEnv is newLogEnv with the smallest logical_decoding_work_mem
// (64kB) for the test database's sessions, the walsender's included: a
// transaction of a few thousand rows is streamed while it runs.
func streamingEnv(t *testing.T, tables []string, stmts ...string) *logEnv {
	t.Helper()
	v := newLogEnv(t, tables, stmts...)
	v.exec(t, `ALTER DATABASE `+quoteIdent(v.db)+` SET logical_decoding_work_mem = '64kB'`)
	return v
}

// txnsOf groups items into transactions: the ids (column id) of each
// transaction's rows, in order; it checks the items' shape on the way.
func txnsOf(t *testing.T, items []change.Item) [][]int64 {
	t.Helper()
	var out [][]int64
	var cur []int64
	open := false
	for _, it := range items {
		switch it.Kind {
		case change.ItemBegin:
			require.False(t, open, "Begin inside a transaction")
			open, cur = true, nil
		case change.ItemRow:
			require.True(t, open)
			require.Equal(t, len(cur), it.Row.Seq, "rows in order, none twice")
			cur = append(cur, id(t, col(it.Row, "id")))
		case change.ItemCommit:
			require.True(t, open)
			require.Greater(t, it.Pos.LSN, it.Txn.Pos.LSN)
			out, open = append(out, cur), false
		}
	}
	require.False(t, open)
	return out
}

func seq(from, to int64) []int64 {
	var out []int64
	for i := from; i <= to; i++ {
		out = append(out, i)
	}
	return out
}

func execOn(t *testing.T, c *pgx.Conn, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		_, err := c.Exec(t.Context(), s)
		require.NoError(t, err, s)
	}
}

func insertRange(from, to int) string {
	return fmt.Sprintf(`INSERT INTO t SELECT g, repeat('x', 100) FROM generate_series(%d, %d) g`, from, to)
}

// A transaction larger than logical_decoding_work_mem is streamed, kept
// until it commits, and arrives whole, between the transactions committed
// before and after it; acknowledging it confirms its commit.
func TestLogicalStreamedTransaction(t *testing.T) {
	t.Parallel()
	v := streamingEnv(t, []string{"t"}, `CREATE TABLE t (id integer PRIMARY KEY, v text)`)
	st := v.follow(t, v.openLog(t, 1).Position())
	v.exec(t, `INSERT INTO t VALUES (0, 'before')`, insertRange(1, 5000), `INSERT INTO t VALUES (-1, 'after')`)
	items := commits(t, st, 3)
	assert.Equal(t, [][]int64{{0}, seq(1, 5000), {-1}}, txnsOf(t, items))
	assert.EqualValues(t, 1, st.streamedTxns.Load(), "the large transaction was streamed, the small ones not")
	assert.Positive(t, st.spilled.Load())
	last := items[len(items)-1]
	require.NoError(t, st.Ack(last.Pos))
	// The commit LSN, or a heartbeat emitted at the commit's end.
	eventually(t, "the slot to confirm the last commit", func() bool {
		cf := v.slot(t).confirmed()
		return cf >= last.Txn.Pos.LSN-txnOffset && cf <= last.Pos.LSN
	})
}

// With options.streaming false the server keeps a large transaction until
// it commits (proto_version 1): the same items.
func TestLogicalStreamingOff(t *testing.T) {
	t.Parallel()
	v := streamingEnv(t, []string{"t"}, `CREATE TABLE t (id integer PRIMARY KEY, v text)`)
	off := false
	v.src.e.Options.Streaming = &off
	st := v.follow(t, v.openLog(t, 1).Position())
	v.exec(t, insertRange(1, 5000), `INSERT INTO t VALUES (-1, 'after')`)
	assert.Equal(t, [][]int64{seq(1, 5000), {-1}}, txnsOf(t, commits(t, st, 2)))
	assert.Zero(t, st.streamedTxns.Load())
	assert.Zero(t, st.spilled.Load())
}

// A streamed transaction that rolls back is never emitted; a savepoint
// rolled back inside a streamed one leaves out its changes only, also when
// the table's relation message was sent inside it.
func TestLogicalStreamedAborts(t *testing.T) {
	t.Parallel()
	v := streamingEnv(t, []string{"t", "u"},
		`CREATE TABLE t (id integer PRIMARY KEY, v text)`, `CREATE TABLE u (id integer PRIMARY KEY, v text)`)
	st := v.follow(t, v.openLog(t, 1).Position())
	c := v.conn(t)
	execOn(t, c, `BEGIN`, insertRange(1, 3000), `ROLLBACK`)
	execOn(t, c, `BEGIN`, insertRange(1, 3000), `SAVEPOINT s`, insertRange(3001, 6000), `ROLLBACK TO s`,
		`INSERT INTO t VALUES (9999, 'kept')`, `COMMIT`)
	execOn(t, c, `INSERT INTO u VALUES (1, 'one')`)
	// u's first change in the streamed transaction is in the savepoint
	// that rolls back: its relation message too.
	execOn(t, c, `BEGIN`, `INSERT INTO t VALUES (20000, 'top')`, `SAVEPOINT s`,
		`INSERT INTO u SELECT g, repeat('y', 100) FROM generate_series(2, 3000) g`, `ROLLBACK TO s`,
		`INSERT INTO u VALUES (7, 'kept')`, insertRange(10001, 13000), `COMMIT`)
	items := commits(t, st, 3)
	assert.Equal(t, [][]int64{append(seq(1, 3000), 9999), {1}, append([]int64{20000, 7}, seq(10001, 13000)...)}, txnsOf(t, items))
	kept := rows(items)[3003]
	assert.Equal(t, "u", kept.Table.Name)
	assert.Equal(t, "kept", string(col(kept, "v")))
	assert.EqualValues(t, 2, st.streamedTxns.Load())
	// At least the rolled back transaction's: when the server streams a
	// transaction's changes depends on its memory accounting at the time.
	assert.GreaterOrEqual(t, st.streamAborts.Load(), int64(1), "the rolled back transaction was streamed")
	assert.EqualValues(t, 2, st.subAborts.Load(), "the rolled back savepoints were streamed")
}

// Two streamed transactions interleave, with a small one committing
// between: each arrives whole, in commit order.
func TestLogicalStreamedInterleaved(t *testing.T) {
	t.Parallel()
	v := streamingEnv(t, []string{"t"}, `CREATE TABLE t (id integer PRIMARY KEY, v text)`)
	st := v.follow(t, v.openLog(t, 1).Position())
	c1, c2 := v.conn(t), v.conn(t)
	execOn(t, c1, `BEGIN`, insertRange(1, 2000))
	execOn(t, c2, `BEGIN`, insertRange(10001, 12000))
	execOn(t, c1, insertRange(2001, 4000))
	execOn(t, c2, insertRange(12001, 14000))
	v.exec(t, `INSERT INTO t VALUES (-1, 'between')`)
	execOn(t, c2, `COMMIT`)
	execOn(t, c1, `COMMIT`)
	got := txnsOf(t, commits(t, st, 3))
	assert.Equal(t, [][]int64{{-1}, seq(10001, 14000), seq(1, 4000)}, got)
	assert.EqualValues(t, 2, st.streamedTxns.Load())
}

// The connection is cut while a transaction is being streamed: the server
// streams it again from its start, and it arrives whole, once.
func TestLogicalStreamedReconnect(t *testing.T) {
	t.Parallel()
	v := streamingEnv(t, []string{"t"}, `CREATE TABLE t (id integer PRIMARY KEY, v text)`)
	st := v.follow(t, v.openLog(t, 1).Position())
	c := v.conn(t)
	execOn(t, c, `BEGIN`, insertRange(1, 3000))
	eventually(t, "the open transaction to be streamed", func() bool { return st.spilled.Load() > 0 })
	v.exec(t, `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '`+SlotName(v.lj)+`'`)
	eventually(t, "the stream to reconnect", func() bool { return st.reconnects.Load() > 0 })
	execOn(t, c, insertRange(3001, 6000), `COMMIT`)
	assert.Equal(t, [][]int64{seq(1, 6000)}, txnsOf(t, commits(t, st, 1)))
}

// dts stops (or crashes) while a transaction is being streamed, after
// acknowledging heartbeats past the transaction's first changes: a stream
// opened from the acknowledged position gets the transaction whole.
func TestLogicalStreamedRestart(t *testing.T) {
	t.Parallel()
	v := streamingEnv(t, []string{"t"}, `CREATE TABLE t (id integer PRIMARY KEY, v text)`)
	st := v.follow(t, v.openLog(t, 1).Position())
	v.exec(t, `INSERT INTO t VALUES (0, 'before')`)
	items := commits(t, st, 1)
	acked := items[len(items)-1].Pos
	require.NoError(t, st.Ack(acked))
	c := v.conn(t)
	execOn(t, c, `BEGIN`, insertRange(1, 3000))
	eventually(t, "the open transaction to be streamed", func() bool { return st.spilled.Load() > 0 })
	streamedTo := v.walLSN(t)
	for acked.LSN < streamedTo { // the source is idle: heartbeats past the streamed changes
		it := nextAny(t, st)
		require.Equal(t, change.ItemHeartbeat, it.Kind)
		require.NoError(t, st.Ack(it.Pos))
		acked = it.Pos
	}
	require.NoError(t, st.Close())
	eventually(t, "the slot to confirm the heartbeat", func() bool { return v.slot(t).confirmed() == acked.LSN })

	st2 := v.follow(t, acked)
	execOn(t, c, insertRange(3001, 6000), `COMMIT`)
	assert.Equal(t, [][]int64{seq(1, 6000)}, txnsOf(t, commits(t, st2, 1)))
	assert.EqualValues(t, 1, st2.streamedTxns.Load())
}
