package mysql

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/testenv"
)

func mustStart(t *testing.T, s string) job.StartPosition {
	t.Helper()
	sp, err := job.ParseStartPosition(s)
	require.NoError(t, err)
	return sp
}

// Start positions by binlog coordinate and by GTID: valid ones resolve to
// positions the stream starts right after; positions inside a transaction,
// beyond the binlog or not written yet are refused with a code.
func TestResolveStartCoordinates(t *testing.T) {
	e := newEnv(t)
	e.exec("CREATE TABLE t (id INT PRIMARY KEY)")
	src := e.source()
	lj := e.logJob("t")
	_, tables := e.logSnapshot(src, lj)
	e.exec("INSERT INTO t VALUES (1)")
	file, pos, err := src.masterPosition(e.ctx)
	require.NoError(t, err)
	e.exec("INSERT INTO t VALUES (2)")

	p, err := src.ResolveStart(e.ctx, lj, mustStart(t, fmt.Sprintf("binlog:%s:%d", file, pos)))
	require.NoError(t, err)
	require.Equal(t, file, p.File)
	require.Equal(t, pos, p.Pos)
	require.NotEmpty(t, p.GTIDSet, "MariaDB positions carry their GTID position")
	st := stream{t, e.follow(src, lj, p, tables)}
	_, rows, _ := st.txn()
	require.Equal(t, "2", string(rows[0].After[0]))

	g, err := src.ResolveStart(e.ctx, lj, mustStart(t, "gtid:"+p.GTIDSet))
	require.NoError(t, err)
	require.Equal(t, p.GTIDSet, g.GTIDSet)
	st = stream{t, e.follow(src, lj, g, tables)}
	_, rows, _ = st.txn()
	require.Equal(t, "2", string(rows[0].After[0]))

	// Inside a transaction: the position of a Table_map event.
	var inside uint64
	rowsQ, err := src.db.QueryContext(e.ctx, fmt.Sprintf("SHOW BINLOG EVENTS IN '%s' FROM %d", file, pos))
	require.NoError(t, err)
	for rowsQ.Next() {
		var name, typ, info string
		var at, sid, end uint64
		require.NoError(t, rowsQ.Scan(&name, &at, &typ, &sid, &end, &info))
		if typ == "Table_map" && inside == 0 {
			inside = at
		}
	}
	require.NoError(t, rowsQ.Close())
	require.NotZero(t, inside)
	for _, bad := range []string{
		fmt.Sprintf("binlog:%s:%d", file, inside),
		fmt.Sprintf("binlog:%s:%d", file, inside+1),
		fmt.Sprintf("binlog:%s:%d", file, 1<<40),
		"binlog:binlog.999999:4",
		"gtid:0-1-999999999",
		"gtid:77-1-1",
		"lsn:0/1",
	} {
		_, err := src.ResolveStart(e.ctx, lj, mustStart(t, bad))
		require.True(t, errs.Is(err, CodePositionNotFound), "%s: %v", bad, err)
	}
}

// A start time resolves to the first transaction at or after it (T18's
// companion): found by binary search over the binlogs, then in the file.
// Transactions get their times from SET TIMESTAMP, so no test waits.
func TestResolveStartTime(t *testing.T) {
	e := dedicated(t, testenv.MariaDBOptions{})
	e.exec("CREATE TABLE t (id INT PRIMARY KEY)")
	src := e.source()
	lj := e.logJob("t")
	_, tables := e.logSnapshot(src, lj)
	now := time.Now().Unix()
	at := func(ago int64) string { return "SET TIMESTAMP = " + strconv.FormatInt(now-ago, 10) }
	purgeAllBut(e, src, "binlog.000001")
	second, _, err := src.masterPosition(e.ctx)
	require.NoError(t, err)
	// Only the current file: an older one the purge passed over (a reader
	// still had it open) would start after the back-dated transactions
	// below, which real timestamps never do.
	waitFor(t, "only "+second+" left", func() bool {
		e.exec("PURGE BINARY LOGS TO '" + second + "'")
		files, err := src.binlogFiles(e.ctx)
		require.NoError(t, err)
		return len(files) == 1
	})
	e.exec(at(1000), "INSERT INTO t VALUES (1)",
		at(900), "INSERT INTO t VALUES (2)",
		"FLUSH BINARY LOGS",
		at(800), "INSERT INTO t VALUES (3)",
		"FLUSH BINARY LOGS", "FLUSH BINARY LOGS",
		at(700), "INSERT INTO t VALUES (4)",
		at(600), "INSERT INTO t VALUES (5)")
	first := func(ago int64) string {
		t.Helper()
		p, err := src.ResolveStart(e.ctx, lj, mustStart(t, time.Unix(now-ago, 0).UTC().Format(time.RFC3339)))
		require.NoError(t, err)
		require.NotEmpty(t, p.GTIDSet)
		st := stream{t, e.follow(src, lj, p, tables)}
		_, rows, _ := st.txn()
		return string(rows[0].After[0])
	}
	require.Equal(t, "1", first(1000))
	require.Equal(t, "2", first(950))
	require.Equal(t, "2", first(900))
	require.Equal(t, "3", first(850))
	require.Equal(t, "4", first(750))
	require.Equal(t, "5", first(650))

	// After the last transaction: the end of the binlog.
	p, err := src.ResolveStart(e.ctx, lj, mustStart(t, strconv.FormatInt(now-100, 10)))
	require.NoError(t, err)
	file, pos, err := src.masterPosition(e.ctx)
	require.NoError(t, err)
	require.Equal(t, 0, change.Compare(change.Position{Engine: "mysql", File: file, Pos: pos}, change.Position{Engine: "mysql", File: p.File, Pos: p.Pos}))

	_, err = src.ResolveStart(e.ctx, lj, mustStart(t, time.Unix(now-2000, 0).UTC().Format(time.RFC3339)))
	require.True(t, errs.Is(err, CodeBinlogPurged), "%v", err)
	ce, _ := errs.As(err)
	require.Contains(t, ce.Fix, second)
	_, err = src.ResolveStart(e.ctx, lj, mustStart(t, time.Now().Add(time.Hour).UTC().Format(time.RFC3339)))
	require.True(t, errs.Is(err, CodePositionNotFound), "%v", err)
}
