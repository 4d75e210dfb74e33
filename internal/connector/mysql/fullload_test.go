package mysql

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/phase/fullload"
)

// The full-load phase copies tables through this source and sink: split
// into partitions, chunk by chunk, progress recorded, indexes and keys last.
func TestFullLoad(t *testing.T) {
	e := newEnv(t)
	e.exec("CREATE TABLE parent (id INT PRIMARY KEY, name VARCHAR(20) COLLATE utf8mb4_general_ci NOT NULL, UNIQUE KEY (name))",
		"CREATE TABLE child (id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, pid INT, v DOUBLE, "+
			"KEY (v), CONSTRAINT fk FOREIGN KEY (pid) REFERENCES parent (id))",
		"CREATE TABLE nokey (a INT, b TEXT)",
		"SET max_recursive_iterations = 100000",
		"INSERT INTO parent WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM s WHERE n < 300) SELECT n, CONCAT('p', n) FROM s",
		"INSERT INTO child (pid, v) WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM s WHERE n < 5000) SELECT n % 300 + 1, n / 7 FROM s",
		"INSERT INTO nokey WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM s WHERE n < 1000) SELECT n, REPEAT('b', n % 50) FROM s",
		"ANALYZE TABLE parent, child, nokey")
	src := e.source()
	sink := e.sink()
	jobID := uuid.NewString()
	require.NoError(t, sink.Claim(e.ctx, jobID, "fullload-"+e.dst))
	t.Cleanup(func() { sink.Forget(e.ctx, jobID) })

	refs := []connector.TableRef{{Schema: e.src, Name: "parent"}, {Schema: e.src, Name: "child"}, {Schema: e.src, Name: "nokey"}}
	sources, err := src.ReadTables(e.ctx, refs)
	require.NoError(t, err)
	var tables []*fullload.Table
	for _, st := range sources {
		named := copyTable(st)
		named.Schema = e.dst
		for i := range named.ForeignKeys {
			named.ForeignKeys[i].RefSchema = e.dst
		}
		target, problems := sink.MapTable(named, "mariadb")
		require.Empty(t, problems)
		require.NoError(t, sink.PrepareTable(e.ctx, target, "fail"))
		state := &connector.TableState{Table: st.QualifiedName(), Target: target.QualifiedName(), Created: true}
		require.NoError(t, sink.SaveTableState(e.ctx, jobID, state))
		tables = append(tables, &fullload.Table{Source: st, Target: target, SourceColumns: st.Names(), TargetColumns: target.Names(), State: state})
	}
	pos, err := fullload.Run(e.ctx, src, sink, tables, fullload.Options{JobID: jobID, Workers: 3, ChunkRows: 700,
		BatchRows: 300, PartitionRows: 1000, Logger: discardLog()})
	require.NoError(t, err)
	require.NotEmpty(t, pos.File)

	st, err := sink.LoadState(e.ctx, jobID)
	require.NoError(t, err)
	require.Equal(t, []any{pos}, []any{st.Runs[0]})
	child := st.Tables[e.src+".child"]
	require.True(t, child.Loaded && child.Finished)
	require.Len(t, child.Partitions, 3, "5,000 rows in partitions of ~1,000 rows, at most 3 workers")
	var rows int64
	for _, p := range child.Partitions {
		require.True(t, p.Done)
		rows += p.Rows
	}
	require.EqualValues(t, 5000, rows)

	snap := e.snapshot(src, 1)
	for i, st := range sources {
		back := e.table(src, e.dst, st.Name)
		require.Equal(t, tables[i].Target, back)
		require.Equal(t, rowStrings(e.readAll(snap.Readers()[0], st)), rowStrings(e.readAll(snap.Readers()[0], back)), st.Name)
	}
	var next uint64
	require.NoError(t, e.srv.DB(t, e.dst).QueryRow("SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'child'", e.dst).Scan(&next))
	require.EqualValues(t, 5001, next)
}
