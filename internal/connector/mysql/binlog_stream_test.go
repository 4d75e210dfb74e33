package mysql

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/testenv"
)

// Transactions come out whole, in commit order, with Seq numbering their
// rows, positions a replay can start from, and nothing for tables the job
// does not follow.
func TestBinlogTransactions(t *testing.T) {
	e := dedicated(t, testenv.MariaDBOptions{}) // positions are compared: no other test's transactions in between
	e.exec("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))", "CREATE TABLE other (id INT PRIMARY KEY)")
	src := e.source()
	lj := e.logJob("t")
	from, tables := e.logSnapshot(src, lj)
	e.exec("INSERT INTO t VALUES (1, 'a')",
		"INSERT INTO other VALUES (1)", // not followed: no items
		"BEGIN", "INSERT INTO t VALUES (2, 'b'), (3, 'c')", "INSERT INTO other VALUES (2)", "UPDATE t SET v = 'bb' WHERE id = 2",
		"SAVEPOINT s1", "DELETE FROM t WHERE id = 3", "COMMIT",
		"BEGIN", "INSERT INTO other VALUES (3)", "COMMIT",
		"INSERT INTO t VALUES (4, 'd')")
	end, endPos, err := src.masterPosition(e.ctx)
	require.NoError(t, err)
	st := stream{t, e.follow(src, lj, from, tables)}

	b1, rows, c1 := st.txn()
	require.Len(t, rows, 1)
	require.Equal(t, 0, rows[0].Seq)
	require.Equal(t, from.File, b1.Txn.Pos.File)
	require.GreaterOrEqual(t, b1.Txn.Pos.Pos, from.Pos)
	require.Equal(t, from.GTIDSet, b1.Txn.Pos.GTIDSet, "Begin's position carries the GTIDs before the transaction")
	require.NotEqual(t, c1.Pos.GTIDSet, b1.Txn.Pos.GTIDSet)
	require.Equal(t, c1.Pos.GTIDSet, b1.Txn.ID, "a MariaDB transaction is named by its GTID")

	b2, rows, c2 := st.txn()
	require.Len(t, rows, 4)
	ops := []change.Op{change.OpInsert, change.OpInsert, change.OpUpdate, change.OpDelete}
	for i, r := range rows {
		require.Equal(t, i, r.Seq)
		require.Equal(t, ops[i], r.Op)
	}
	require.Equal(t, map[string]string{"id": "2", "v": "bb"}, rowMap(rows[2].Table, rows[2].After))
	require.Equal(t, map[string]string{"id": "2", "v": "b"}, rowMap(rows[2].Table, rows[2].Before))
	require.Equal(t, -1, change.Compare(c1.Pos, b2.Txn.Pos), "a transaction of another table lies between")
	require.Equal(t, 1, change.Compare(c2.Pos, b2.Txn.Pos))

	_, rows, c4 := st.txn()
	require.Equal(t, map[string]string{"id": "4", "v": "d"}, rowMap(rows[0].Table, rows[0].After))
	require.Equal(t, end, c4.Pos.File)
	require.Equal(t, endPos, c4.Pos.Pos, "the last Commit's position is the end of the binlog")

	// Idle: heartbeats at the end of the binlog.
	hb := st.item(10 * time.Second)
	require.Equal(t, change.ItemHeartbeat, hb.Kind)
	require.Equal(t, 0, change.Compare(c4.Pos, hb.Pos))
	require.Equal(t, c4.Pos.GTIDSet, hb.Pos.GTIDSet)
	require.WithinDuration(t, time.Now(), hb.At, 5*time.Second)

	// A replay from a Begin's position sees that transaction whole again;
	// one from a Commit's position starts after it.
	again := stream{t, e.follow(src, lj, b2.Txn.Pos, tables)}
	b, rows, _ := again.txn()
	require.Equal(t, b2.Txn.ID, b.Txn.ID)
	require.Len(t, rows, 4)
	after := stream{t, e.follow(src, lj, c2.Pos, tables)}
	_, rows, _ = after.txn()
	require.Equal(t, "4", string(rows[0].After[0]))

	// The same by file/position only.
	byFile := c2.Pos
	byFile.GTIDSet = ""
	after = stream{t, e.follow(src, lj, byFile, tables)}
	_, rows, c := after.txn()
	require.Equal(t, "4", string(rows[0].After[0]))
	require.Equal(t, c4.Pos.GTIDSet, c.Pos.GTIDSet, "GTIDs are tracked from a file/position start")
}

// A transaction of 100,000 rows (about 100 MB) streams through with bounded
// memory: rows are decoded as they come, not collected per transaction.
func TestBinlogLargeTransaction(t *testing.T) {
	e := newEnv(t)
	e.exec("CREATE TABLE big (id INT PRIMARY KEY, pad VARCHAR(1000))")
	src := e.source()
	lj := e.logJob("big")
	from, tables := e.logSnapshot(src, lj)
	const n = 100000
	e.exec("SET SESSION max_recursive_iterations = 200000",
		fmt.Sprintf("INSERT INTO big WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %d) "+
			"SELECT i, REPEAT(CHAR(65 + i %% 26), 1000) FROM s", n))
	st := stream{t, e.follow(src, lj, from, tables)}
	begin := st.next()
	require.Equal(t, change.ItemBegin, begin.Kind)
	var peak uint64
	var ms runtime.MemStats
	for i := range n {
		it := st.next()
		require.Equal(t, change.ItemRow, it.Kind)
		require.Equal(t, i, it.Row.Seq)
		require.Equal(t, strconv.Itoa(i+1), string(it.Row.After[0]))
		require.Len(t, it.Row.After[1], 1000)
		if i%10000 == 0 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
		}
	}
	require.Equal(t, change.ItemCommit, st.next().Kind)
	t.Logf("peak heap while streaming %d rows of 1 KB: %d MiB", n, peak>>20)
	require.Less(t, peak, uint64(64<<20), "the transaction is ~100 MB; the stream must not hold it")
}

// A row event without every column (binlog_row_image=MINIMAL in one
// session) stops the stream loudly at its transaction: nothing of it is
// returned, and what came before is (T24).
func TestBinlogMinimalRowImage(t *testing.T) {
	e := newEnv(t)
	e.exec("CREATE TABLE t (id INT PRIMARY KEY, a INT, b INT)", "INSERT INTO t VALUES (1, 1, 1)")
	src := e.source()
	lj := e.logJob("t")
	from, tables := e.logSnapshot(src, lj)
	e.exec("UPDATE t SET a = 2 WHERE id = 1",
		"SET SESSION binlog_row_image = 'MINIMAL'", "UPDATE t SET b = 3 WHERE id = 1")
	st := stream{t, e.follow(src, lj, from, tables)}
	_, _, c := st.txn()
	err := st.fail()
	require.True(t, errs.Is(err, CodeRowImageNotFull), "%v", err)
	ce, _ := errs.As(err)
	require.Contains(t, ce.Fix, "binlog_row_image")
	_, err = st.st.Next(e.ctx)
	require.Equal(t, err, ce, "the stream stays stopped")
	// Following again from the last commit before it stops at the same event.
	again := stream{t, e.follow(src, lj, c.Pos, tables)}
	err2 := again.fail()
	ce2, _ := errs.As(err2)
	require.Equal(t, ce.Details["position"], ce2.Details["position"])
}

// A change logged as a statement (binlog_format=STATEMENT in a session)
// to a followed table stops the stream; one to another table does not.
func TestBinlogStatementFormat(t *testing.T) {
	e := newEnv(t)
	e.exec("CREATE TABLE t (id INT PRIMARY KEY)", "CREATE TABLE other (id INT PRIMARY KEY)")
	src := e.source()
	lj := e.logJob("t")
	from, tables := e.logSnapshot(src, lj)
	e.exec("SET SESSION binlog_format = 'STATEMENT'", "INSERT INTO other VALUES (1)",
		"SET SESSION binlog_format = 'ROW'", "INSERT INTO t VALUES (1)",
		"SET SESSION binlog_format = 'STATEMENT'", "INSERT INTO t VALUES (2)")
	st := stream{t, e.follow(src, lj, from, tables)}
	_, rows, _ := st.txn()
	require.Equal(t, "1", string(rows[0].After[0]))
	err := st.fail()
	require.True(t, errs.Is(err, CodeStatementBased), "%v", err)
	require.ErrorContains(t, err, "INSERT INTO t VALUES (2)")
}

// Structures that do not match the binlog stop the stream before a value is
// decoded with them, with and without FULL metadata.
func TestBinlogSchemaMismatch(t *testing.T) {
	for _, meta := range []string{"FULL", "NO_LOG"} {
		t.Run(meta, func(t *testing.T) {
			e := dedicated(t, testenv.MariaDBOptions{BinlogRowMetadata: meta})
			e.exec("CREATE TABLE t (id INT PRIMARY KEY, a INT, b VARCHAR(5))")
			src := e.source()
			lj := e.logJob("t")
			from, _ := e.logSnapshot(src, lj)
			e.exec("INSERT INTO t VALUES (1, 2, 'x')")
			// The structure of a later time: one column more.
			e.exec("ALTER TABLE t ADD COLUMN c INT AFTER id")
			_, later := e.logSnapshot(src, lj)
			st := stream{t, e.follow(src, lj, from, later)}
			err := st.fail()
			require.True(t, errs.Is(err, CodeSchemaMismatch), "%v", err)
			require.ErrorContains(t, err, "3 columns")

			// Same column count, other types.
			e.exec("CREATE TABLE u (id INT PRIMARY KEY, a INT, b VARCHAR(5))", "ALTER TABLE u MODIFY a BIGINT")
			lj2 := e.logJob("u")
			_, wrong := e.logSnapshot(src, lj2)
			e.exec("ALTER TABLE u MODIFY a INT")
			from2, _ := e.logSnapshot(src, lj2)
			e.exec("INSERT INTO u VALUES (1, 2, 'x')")
			st = stream{t, e.follow(src, lj2, from2, wrong)}
			err = st.fail()
			require.True(t, errs.Is(err, CodeSchemaMismatch), "%v", err)
			require.ErrorContains(t, err, "column 2 (a)")
		})
	}
}

// Only the job's own server_id is taken from the endpoint; derived ids are
// stable, distinct per job and purpose, never 0 nor the source's.
func TestBinlogServerID(t *testing.T) {
	a := binlogServerID(connector.LogJob{JobID: "a"}, "", 1)
	require.Equal(t, a, binlogServerID(connector.LogJob{JobID: "a"}, "", 1))
	require.NotEqual(t, a, binlogServerID(connector.LogJob{JobID: "b"}, "", 1))
	require.NotEqual(t, a, binlogServerID(connector.LogJob{JobID: "a"}, "resolve", 1))
	require.NotZero(t, a)
	require.NotEqual(t, a, binlogServerID(connector.LogJob{JobID: "a"}, "", a))
	require.Equal(t, uint32(77), binlogServerID(connector.LogJob{JobID: "a", ServerID: 77}, "", 1))
	require.NotEqual(t, uint32(77), binlogServerID(connector.LogJob{JobID: "a", ServerID: 77}, "resolve", 1))
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
