package postgres

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/testenv"
	"github.com/dtsorg/dts/internal/value"
)

// ACK-SAFE: the slot's confirmed_flush_lsn never passes what was
// acknowledged (sampled while the stream runs); acknowledging a commit
// confirms that transaction's commit LSN, which a restart re-sends.
func TestLogicalAckDiscipline(t *testing.T) {
	t.Parallel()
	v := newLogEnv(t, []string{"t"}, `CREATE TABLE t (id integer PRIMARY KEY)`)
	st := v.follow(t, v.openLog(t, 1).Position())
	start := v.slot(t).confirmed()

	var acked atomic.Uint64 // the highest position passed to Ack
	var violations atomic.Int32
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			var s string
			if err := v.src.pool.QueryRow(context.Background(), `SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1`,
				SlotName(v.lj)).Scan(&s); err != nil {
				continue
			}
			limit := acked.Load() // read after: acknowledgements only grow
			cf, _ := parseLSN(s)
			if cf > max(limit, start) {
				violations.Add(1)
			}
		}
	})
	conn := v.conn(t)
	wg.Go(func() {
		for i := range 200 {
			if _, err := conn.Exec(context.Background(), fmt.Sprintf(`INSERT INTO t VALUES (%d)`, i)); err != nil {
				t.Errorf("insert: %v", err)
				return
			}
		}
	})
	var lastTxn change.Position
	for n := 0; n < 200; {
		it := next(t, st)
		if it.Kind != change.ItemCommit {
			continue
		}
		n++
		lastTxn = it.Txn.Pos
		if n%7 == 0 || n == 200 { // acknowledge now and then, like a batching applier
			acked.Store(it.Pos.LSN)
			require.NoError(t, st.Ack(it.Pos))
		}
	}
	// The slot confirms at least the last transaction's commit LSN (at
	// most the position acknowledged: a heartbeat there may confirm that).
	want := lastTxn.LSN - txnOffset
	eventually(t, "the slot to confirm the last transaction", func() bool {
		cf := v.slot(t).confirmed()
		return cf >= want && cf <= acked.Load()
	})
	close(stop)
	wg.Wait()
	assert.Zero(t, violations.Load(), "confirmed_flush_lsn passed an acknowledged position")

	// Nothing beyond what was emitted can be acknowledged.
	err := st.Ack(change.Position{Engine: "postgresql", LSN: v.walLSN(t) + 1<<20})
	assert.Error(t, err)
}

// T19a: an idle source's slot follows the WAL other databases write, through
// acknowledged heartbeats, so the server does not keep that WAL for it.
func TestLogicalIdleAdvance(t *testing.T) {
	t.Parallel()
	v := newLogEnv(t, []string{"t"}, `CREATE TABLE t (id integer PRIMARY KEY)`)
	st := v.follow(t, v.openLog(t, 1).Position())
	other := v.srv.NewDatabase(t)
	v.srv.Exec(t, other, `CREATE TABLE w (x text)`, `INSERT INTO w SELECT repeat('x', 1000) FROM generate_series(1, 5000)`)
	target := v.walLSN(t)
	for {
		it := nextAny(t, st)
		require.Equal(t, change.ItemHeartbeat, it.Kind, "the captured tables are idle")
		require.NoError(t, st.Ack(it.Pos))
		if it.Pos.LSN >= target {
			break
		}
	}
	eventually(t, "the slot to pass the other database's WAL", func() bool { return v.slot(t).confirmed() >= target })
}

// T10, T19b: a slot confirmed past the checkpoint (pg_replication_slot_advance
// while the job was stopped), dropped, or invalidated is refused loudly,
// and never recreated.
func TestLogicalSlotChecks(t *testing.T) {
	t.Parallel()
	v := newLogEnv(t, []string{"t"}, `CREATE TABLE t (id integer PRIMARY KEY)`)
	pos := v.openLog(t, 1).Position()
	v.exec(t, `INSERT INTO t VALUES (1)`)
	slot := SlotName(v.lj)
	v.exec(t, `SELECT pg_replication_slot_advance('`+slot+`', pg_current_wal_lsn())`)
	_, err := v.src.Follow(t.Context(), v.lj, pos, v.tables(t))
	require.Error(t, err)
	assert.Equal(t, CodeSlotAhead, errs.CodeOf(err), "%v", err)
	assert.Contains(t, err.Error(), "possible data loss")

	v.exec(t, `SELECT pg_drop_replication_slot('`+slot+`')`)
	_, err = v.src.Follow(t.Context(), v.lj, pos, v.tables(t))
	assert.Equal(t, CodeSlotLost, errs.CodeOf(err), "%v", err)
	assert.Nil(t, v.slot(t), "not recreated")
}

func TestLogicalSlotInvalidated(t *testing.T) {
	t.Parallel()
	srv := testenv.StartPostgres(t, testenv.PostgresOptions{Settings: map[string]string{"max_slot_wal_keep_size": "1MB"}})
	v := newLogEnvOn(t, srv, []string{"t"}, `CREATE TABLE t (id integer PRIMARY KEY)`)
	pos := v.openLog(t, 1).Position()
	// The job is stopped; the server writes more WAL than the slot may keep.
	for i := range 4 {
		v.exec(t, fmt.Sprintf(`INSERT INTO t VALUES (%d)`, i), `SELECT pg_switch_wal()`)
	}
	v.exec(t, `CHECKPOINT`)
	eventually(t, "the slot's invalidation", func() bool { return v.slot(t).invalidated() != "" })
	_, err := v.src.Follow(t.Context(), v.lj, pos, v.tables(t))
	require.Error(t, err)
	assert.Equal(t, CodeSlotInvalidated, errs.CodeOf(err), "%v", err)
	resumed := v.lj
	resumed.Resumed = true // the job recorded its first run
	_, err = v.src.OpenLogSnapshot(t.Context(), resumed, 1)
	assert.Equal(t, CodeSlotInvalidated, errs.CodeOf(err), "a resumed full load does not recreate it either: %v", err)
	assert.NotNil(t, v.slot(t))
}

// T10: the source server is killed and restarted; the stream reconnects by
// itself and delivers every change exactly once.
func TestLogicalServerRestart(t *testing.T) {
	t.Parallel()
	srv := testenv.StartPostgres(t, testenv.PostgresOptions{})
	v := newLogEnvOn(t, srv, []string{"t"}, `CREATE TABLE t (id integer PRIMARY KEY)`)
	st := v.follow(t, v.openLog(t, 1).Position())
	seen := map[int64]int{}
	read := func(upto int64) {
		for int64(len(seen)) < upto {
			it := next(t, st)
			if it.Kind == change.ItemRow {
				seen[id(t, col(it.Row, "id"))]++
			}
			if it.Kind == change.ItemCommit {
				require.NoError(t, st.Ack(it.Pos))
			}
		}
	}
	inserts := func(from, to int) []string {
		var out []string
		for i := from; i <= to; i++ {
			out = append(out, fmt.Sprintf(`INSERT INTO t VALUES (%d)`, i))
		}
		return out
	}
	v.exec(t, append([]string{`INSERT INTO t SELECT g FROM generate_series(1, 100) g`}, inserts(101, 150)...)...)
	read(120)
	srv.Kill(t)
	srv.Start(t)
	v.exec(t, inserts(151, 200)...)
	read(200)
	assert.Positive(t, st.reconnects.Load())
	for i := int64(1); i <= 200; i++ {
		assert.Equal(t, 1, seen[i], "id %d", i)
	}
}

// A connection cut in the middle of a large transaction: the server sends
// it again whole, and the stream passes on only what it had not yet.
func TestLogicalReconnectMidTransaction(t *testing.T) {
	t.Parallel()
	v := newLogEnv(t, []string{"t"}, `CREATE TABLE t (id integer PRIMARY KEY, v text)`)
	st := v.follow(t, v.openLog(t, 1).Position())
	const n = 20000 // of 1 KB: more than socket buffers hold
	v.exec(t, fmt.Sprintf(`INSERT INTO t SELECT g, repeat(md5(g::text), 32) FROM generate_series(1, %d) g`, n), `INSERT INTO t VALUES (0, 'after')`)
	begins, commitsSeen := 0, 0
	seq := 0
	for commitsSeen < 2 {
		it := next(t, st)
		switch it.Kind {
		case change.ItemBegin:
			begins++
		case change.ItemCommit:
			commitsSeen++
		case change.ItemRow:
			if commitsSeen == 0 {
				require.Equal(t, seq, it.Row.Seq, "no row twice, none skipped")
				require.Equal(t, fmt.Sprint(seq+1), string(col(it.Row, "id")))
				seq++
				if seq == 6000 {
					v.exec(t, `SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = '`+SlotName(v.lj)+`'`)
				}
			}
		}
	}
	assert.Equal(t, n, seq)
	assert.Equal(t, 2, begins)
	assert.Positive(t, st.reconnects.Load(), "the connection was cut")
}

// A stream opened from a checkpoint: from a transaction's Txn.Pos it
// replays that transaction whole, from its Commit's Pos the transactions
// after it, from a DDL's Pos the transaction the DDL opened, without the
// DDL again.
func TestLogicalFollowFromCheckpoints(t *testing.T) {
	t.Parallel()
	v := newLogEnv(t, []string{"t"}, `CREATE TABLE t (id integer PRIMARY KEY)`)
	pos := v.openLog(t, 1).Position()
	before := v.tables(t)
	st := v.follow(t, pos)
	v.exec(t, `INSERT INTO t VALUES (1), (2)`, `INSERT INTO t VALUES (3)`,
		`ALTER TABLE t ADD COLUMN x integer`, `INSERT INTO t VALUES (4, 4)`)
	items := commits(t, st, 3)
	require.NoError(t, st.Close())
	var txns []change.Item
	var ddl change.Item
	for _, it := range items {
		switch it.Kind {
		case change.ItemCommit:
			txns = append(txns, it)
		case change.ItemDDL:
			ddl = it
		}
	}
	require.Len(t, txns, 3)
	require.Equal(t, change.ItemDDL, ddl.Kind)
	idsFrom := func(from change.Position, tables int) []string {
		tabs := before
		if tables > 0 {
			tabs = v.tables(t)
		}
		st := v.followWith(t, from, tabs)
		defer st.Close()
		var out []string
		for _, it := range collectUntil(t, st, func(it change.Item) bool { return it.Kind == change.ItemCommit && it.Pos == txns[2].Pos }) {
			switch it.Kind {
			case change.ItemRow:
				out = append(out, string(col(it.Row, "id")))
			case change.ItemDDL:
				out = append(out, "ddl")
			}
		}
		return out
	}
	assert.Equal(t, []string{"1", "2", "3", "ddl", "4"}, idsFrom(pos, 0))
	assert.Equal(t, []string{"1", "2", "3", "ddl", "4"}, idsFrom(txns[0].Txn.Pos, 0))
	assert.Equal(t, []string{"3", "ddl", "4"}, idsFrom(txns[0].Pos, 0))
	assert.Equal(t, []string{"ddl", "4"}, idsFrom(txns[1].Pos, 0))
	assert.Equal(t, []string{"4"}, idsFrom(ddl.Pos, 1))
	assert.Equal(t, []string{"4"}, idsFrom(txns[2].Txn.Pos, 1))
	assert.Less(t, txns[1].Pos.LSN, ddl.Pos.LSN)
	assert.Less(t, ddl.Pos.LSN, txns[2].Txn.Pos.LSN)
}

// DropLog drops the slot, ending the walsender that reads it, and the
// publication; again, it finds nothing to do. The stream reports the loss.
func TestLogicalDropLog(t *testing.T) {
	t.Parallel()
	v := newLogEnv(t, []string{"t"}, `CREATE TABLE t (id integer PRIMARY KEY)`)
	st := v.follow(t, v.openLog(t, 1).Position())
	nextAny(t, st) // a heartbeat: the walsender is up
	require.NoError(t, v.src.DropLog(t.Context(), v.lj))
	assert.Nil(t, v.slot(t))
	p, err := readPublication(t.Context(), v.src.pool, PublicationName(v.lj), 150000)
	require.NoError(t, err)
	assert.Nil(t, p)
	require.NoError(t, v.src.DropLog(t.Context(), v.lj))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for {
		_, err := st.Next(ctx)
		if err != nil {
			assert.Equal(t, CodeSlotLost, errs.CodeOf(err), "%v", err)
			break
		}
	}
}

// A resumed full load keeps the slot (and its position) and takes a new
// snapshot at a later position; a slot of that name that is not the job's
// is refused before anything is created.
func TestLogicalResumedSnapshot(t *testing.T) {
	t.Parallel()
	v := newLogEnv(t, []string{"t"}, `CREATE TABLE t (id integer PRIMARY KEY)`)
	first := v.openLog(t, 1).Position()
	v.exec(t, `INSERT INTO t VALUES (1)`)
	v.lj.Resumed = true // the job recorded the first run
	again := v.openLog(t, 2)
	assert.Greater(t, again.Position().LSN, first.LSN)
	assert.Equal(t, first.LSN, v.slot(t).confirmed(), "the slot keeps the first run's position")
	rowsSeen := 0
	tab := v.tables(t)[0]
	require.NoError(t, again.Readers()[1].Read(t.Context(), connector.ReadRequest{Table: tab, Columns: []string{"id"}}, func(value.Row) error {
		rowsSeen++
		return nil
	}))
	assert.Equal(t, 1, rowsSeen)

	other := v.lj
	other.JobID, other.JobName, other.Slot = "other", "other", SlotName(v.lj)
	_, err := v.src.OpenLogSnapshot(t.Context(), other, 1)
	assert.Equal(t, CodeSlotForeign, errs.CodeOf(err), "%v", err)
	p, err := readPublication(t.Context(), v.src.pool, PublicationName(other), 150000)
	require.NoError(t, err)
	assert.Nil(t, p, "nothing created")
	require.NoError(t, v.src.DropLog(t.Context(), other))
	assert.NotNil(t, v.slot(t), "another job's DropLog leaves the slot alone")

	same := v.lj
	same.JobID = "another-id" // same names, the publication says another job
	same.Slot, same.Publication = SlotName(v.lj), PublicationName(v.lj)
	_, err = v.src.OpenLogSnapshot(t.Context(), same, 1)
	assert.Equal(t, CodePublication, errs.CodeOf(err), "%v", err)
}

// start_position lsn:X/Y needs the job's slot, not confirmed past X/Y; a
// time cannot be mapped to a slot position.
func TestLogicalResolveStart(t *testing.T) {
	t.Parallel()
	v := newLogEnv(t, []string{"t"}, `CREATE TABLE t (id integer PRIMARY KEY)`)
	resolve := func(s string) (change.Position, error) {
		sp, err := job.ParseStartPosition(s)
		require.NoError(t, err)
		return v.src.ResolveStart(t.Context(), v.lj, sp)
	}
	_, err := resolve("2024-01-01T00:00:00Z")
	assert.Equal(t, CodeStartPosition, errs.CodeOf(err), "%v", err)
	_, err = resolve("lsn:0/1000")
	assert.Equal(t, CodeStartPosition, errs.CodeOf(err), "no slot: %v", err)

	pos := v.openLog(t, 1).Position()
	_, err = resolve("lsn:" + lsnString(pos.LSN-1))
	assert.Equal(t, CodeStartPosition, errs.CodeOf(err), "before the slot: %v", err)
	_, err = resolve("lsn:FF/0")
	assert.Equal(t, CodeStartPosition, errs.CodeOf(err), "in the future: %v", err)
	got, err := resolve("lsn:" + lsnString(pos.LSN))
	require.NoError(t, err)
	assert.Equal(t, pos, got)
}

// Derived names are valid slot names, at most 63 bytes, stable, and tell
// jobs apart.
func TestLogicalNames(t *testing.T) {
	t.Parallel()
	a := DerivedLogName("orders-sync", "id1")
	assert.Regexp(t, `^dts_orders_sync_[0-9a-f]{8}$`, a)
	assert.Equal(t, a, DerivedLogName("orders-sync", "id1"))
	assert.NotEqual(t, a, DerivedLogName("orders_sync", "id2"))
	long := DerivedLogName("a-very-long-job-name-that-goes-on-and-on-and-on-and-on-and-on", "id")
	assert.Len(t, long, 63)
	assert.Regexp(t, slotNameRE, long)
	assert.Equal(t, "dts_x", DerivedLogName("x", ""))
	lj := connector.LogJob{JobID: "id1", JobName: "orders-sync", Slot: "mine", Publication: "My Pub"}
	assert.Equal(t, "mine", SlotName(lj))
	assert.Equal(t, "My Pub", PublicationName(lj))
}
