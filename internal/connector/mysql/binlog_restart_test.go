package mysql

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/testenv"
)

// The source server is killed while the stream is inside a transaction
// (T09): Next reconnects by itself from the last transaction boundary and
// returns the rest of that transaction, nothing twice, nothing lost, then
// what the restarted server writes.
func TestBinlogSourceRestart(t *testing.T) {
	e := dedicated(t, testenv.MariaDBOptions{})
	e.exec("CREATE TABLE t (id INT PRIMARY KEY, v INT)")
	src := e.source()
	lj := e.logJob("t")
	from, tables := e.logSnapshot(src, lj)
	const n = 3000
	e.exec("SET SESSION max_recursive_iterations = 10000",
		fmt.Sprintf("INSERT INTO t WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %d) SELECT i, i FROM s", n),
		"INSERT INTO t VALUES (0, 0)")
	st := stream{t, e.follow(src, lj, from, tables)}
	begin := st.next()
	require.Equal(t, change.ItemBegin, begin.Kind)
	for i := range 100 {
		it := st.next()
		require.Equal(t, i, it.Row.Seq)
	}

	e.srv.Kill(t)
	e.srv.Start(t)

	for i := 100; i < n; i++ {
		it := st.next()
		require.Equal(t, change.ItemRow, it.Kind, "item %d", i)
		require.Same(t, begin.Txn, it.Txn, "the rest of the transaction carries the Txn the caller has")
		require.Equal(t, i, it.Row.Seq)
		require.Equal(t, strconv.Itoa(i+1), string(it.Row.After[0]))
	}
	commit := st.next()
	require.Equal(t, change.ItemCommit, commit.Kind)
	require.Same(t, begin.Txn, commit.Txn)
	_, rows, _ := st.txn()
	require.Equal(t, "0", string(rows[0].After[0]))

	// The restarted server's own writes follow.
	e.exec("INSERT INTO t VALUES (-1, -1)")
	_, rows, _ = st.txn()
	require.Equal(t, "-1", string(rows[0].After[0]))

	// Killed again while idle: heartbeats resume after the restart.
	e.srv.Kill(t)
	e.srv.Start(t)
	e.exec("INSERT INTO t VALUES (-2, -2)")
	_, rows, _ = st.txn()
	require.Equal(t, "-2", string(rows[0].After[0]))
}

// A position whose binlog was purged is a coded error naming the fix (T18),
// whether the stream starts by GTID or by file and position; no item is
// returned.
func TestBinlogPurged(t *testing.T) {
	e := dedicated(t, testenv.MariaDBOptions{})
	e.exec("CREATE TABLE t (id INT PRIMARY KEY)")
	src := e.source()
	lj := e.logJob("t")
	from, tables := e.logSnapshot(src, lj)
	e.exec("INSERT INTO t VALUES (1)", "FLUSH BINARY LOGS", "INSERT INTO t VALUES (2)")
	purgeAllBut(e, src, from.File)

	st, err := src.Follow(e.ctx, lj, from, tables)
	if err == nil { // by GTID the server refuses when the stream asks
		defer st.Close()
		err = stream{t, st}.fail()
	}
	require.True(t, errs.Is(err, CodeBinlogPurged), "%v", err)
	ce, _ := errs.As(err)
	require.Contains(t, ce.Fix, "reset the job")

	byFile := from
	byFile.GTIDSet = ""
	_, err = src.Follow(e.ctx, lj, byFile, tables)
	require.True(t, errs.Is(err, CodeBinlogPurged), "%v", err)
	require.ErrorContains(t, err, from.File)

	_, err = src.ResolveStart(e.ctx, lj, mustStart(t, "binlog:"+from.File+":4"))
	require.True(t, errs.Is(err, CodeBinlogPurged), "%v", err)
	_, err = src.ResolveStart(e.ctx, lj, mustStart(t, "gtid:"+from.GTIDSet))
	require.True(t, errs.Is(err, CodeBinlogPurged), "%v", err)
}

// After RESET MASTER a file/position of the old binlog is refused rather
// than read from the new one (T22).
func TestBinlogResetMaster(t *testing.T) {
	e := dedicated(t, testenv.MariaDBOptions{})
	e.exec("CREATE TABLE t (id INT PRIMARY KEY)")
	src := e.source()
	lj := e.logJob("t")
	e.exec("INSERT INTO t VALUES (1)", "INSERT INTO t VALUES (2)")
	file, pos, err := src.masterPosition(e.ctx)
	require.NoError(t, err)
	_, tables := e.logSnapshot(src, lj)
	e.exec("RESET MASTER", "INSERT INTO t VALUES (3)")
	_, err = src.Follow(e.ctx, lj, src.position(file, pos), tables)
	require.True(t, errs.Is(err, CodeSourceChanged), "%v", err)
}

// purgeAllBut rotates and purges binlogs until file is gone: MariaDB keeps a
// binlog InnoDB may still need for crash recovery until its checkpoint.
func purgeAllBut(e *env, src *Source, file string) {
	e.t.Helper()
	waitFor(e.t, "binlog "+file+" purged", func() bool {
		e.exec("FLUSH BINARY LOGS")
		last, _, err := src.masterPosition(e.ctx)
		require.NoError(e.t, err)
		e.exec("PURGE BINARY LOGS TO '" + last + "'")
		files, err := src.binlogFiles(e.ctx)
		require.NoError(e.t, err)
		return fileIndex(files, file) < 0
	})
}

// The replica connection is killed again and again inside a transaction
// (T11's reset_peer): each time the stream reconnects from the last
// boundary and continues where the caller is, nothing twice.
func TestBinlogConnectionKilled(t *testing.T) {
	e := dedicated(t, testenv.MariaDBOptions{})
	e.exec("CREATE TABLE t (id INT PRIMARY KEY, pad VARCHAR(100))")
	src := e.source()
	lj := e.logJob("t")
	from, tables := e.logSnapshot(src, lj)
	const n = 5000
	e.exec("SET SESSION max_recursive_iterations = 10000",
		fmt.Sprintf("INSERT INTO t WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < %d) "+
			"SELECT i, REPEAT('x', 100) FROM s", n),
		"INSERT INTO t VALUES (0, '')")
	db := e.srv.DB(t, "")
	// A dump connection may be gone already: after a kill the stream first
	// hands out what it had buffered, and only then reconnects.
	killed := 0
	killDump := func() {
		rows, err := db.QueryContext(e.ctx, "SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'")
		require.NoError(t, err)
		var ids []int64
		for rows.Next() {
			var id int64
			require.NoError(t, rows.Scan(&id))
			ids = append(ids, id)
		}
		require.NoError(t, rows.Close())
		killed += len(ids)
		for _, id := range ids {
			db.ExecContext(e.ctx, fmt.Sprintf("KILL %d", id)) //nolint:errcheck // it may be gone already
		}
	}
	st := stream{t, e.follow(src, lj, from, tables)}
	begin := st.next()
	require.Equal(t, change.ItemBegin, begin.Kind)
	for i := range n {
		if i%1000 == 500 {
			killDump()
		}
		it := st.next()
		require.Equal(t, change.ItemRow, it.Kind, "item %d", i)
		require.Same(t, begin.Txn, it.Txn)
		require.Equal(t, i, it.Row.Seq)
		require.Equal(t, strconv.Itoa(i+1), string(it.Row.After[0]))
	}
	require.Equal(t, change.ItemCommit, st.next().Kind)
	require.Positive(t, killed, "no dump connection was killed")
	_, rows, _ := st.txn()
	require.Equal(t, "0", string(rows[0].After[0]))
}
