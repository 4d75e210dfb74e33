package mysql

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/job"
)

// Readers see the source as of the snapshot, whatever commits after it;
// the position is a real binlog coordinate with a GTID set.
func TestSnapshotConsistency(t *testing.T) {
	e := newEnv(t)
	e.exec("CREATE TABLE t (id INT PRIMARY KEY, v INT)",
		"INSERT INTO t VALUES (1, 1), (2, 2), (3, 3), (4, 4), (5, 5)")
	src := e.source()
	require.Equal(t, "mariadb", src.Flavor())
	table := e.table(src, e.src, "t")
	snap := e.snapshot(src, 3)
	require.Len(t, snap.Readers(), 3)
	before := rowStrings(e.readAll(snap.Readers()[0], table))

	e.exec("INSERT INTO t VALUES (6, 6)", "UPDATE t SET v = 100 WHERE id = 1", "DELETE FROM t WHERE id = 2")
	for _, r := range snap.Readers() {
		require.Equal(t, before, rowStrings(e.readAll(r, table)))
	}
	n, err := snap.Readers()[2].EstimateRows(e.ctx, table, nil)
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, int64(0))

	pos := snap.Position()
	require.Equal(t, "mysql", pos.Engine)
	require.Equal(t, "mariadb", pos.Flavor)
	require.NotEmpty(t, pos.File)
	require.Greater(t, pos.Pos, uint64(0))
	require.NotEmpty(t, pos.GTIDSet)
	db := e.srv.DB(t, e.src)
	rows, err := db.QueryContext(e.ctx, "SHOW BINARY LOGS")
	require.NoError(t, err)
	found := false
	for rows.Next() {
		var name string
		var size uint64
		require.NoError(t, rows.Scan(&name, &size))
		found = found || name == pos.File
	}
	require.NoError(t, rows.Err())
	require.True(t, found, "binlog %s exists", pos.File)

	// A later snapshot sees the changes and a later position.
	snap2 := e.snapshot(src, 1)
	after := rowStrings(e.readAll(snap2.Readers()[0], table))
	require.Len(t, after, 5)
	require.NotEqual(t, before, after)
	require.NotEqual(t, pos.GTIDSet, snap2.Position().GTIDSet)
}

// Without RELOAD, MariaDB falls back to one reader whose position MariaDB
// reports for its transaction.
func TestSnapshotWithoutReload(t *testing.T) {
	e := newEnv(t)
	e.exec("CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1), (2)")
	user := "norel_" + e.src[len(e.src)-8:]
	user = strings.ReplaceAll(user, "-", "_")
	e.srv.Exec(t, "", "CREATE USER '"+user+"'@'%' IDENTIFIED BY 'pw'",
		"GRANT SELECT ON `"+e.src+"`.* TO '"+user+"'@'%'")
	t.Cleanup(func() { e.srv.Exec(t, "", "DROP USER '"+user+"'@'%'") })
	ep := e.srv.Endpoint(e.src)
	ep.User, ep.Password = user, job.Secret("pw")
	src, err := OpenSource(e.ctx, ep, discardLog())
	require.NoError(t, err)
	defer src.Close()
	snap, err := src.OpenSnapshot(e.ctx, 4)
	require.NoError(t, err)
	defer snap.Close()
	require.Len(t, snap.Readers(), 1)
	pos := snap.Position()
	require.NotEmpty(t, pos.File)
	require.Greater(t, pos.Pos, uint64(0))
	require.NotEmpty(t, pos.GTIDSet)
	table := e.table(src, e.src, "t")
	e.exec("INSERT INTO t VALUES (3)")
	require.Len(t, e.readAll(snap.Readers()[0], table), 2)
}
