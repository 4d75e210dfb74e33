package mysql

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/testenv"
)

// DDL the TiDB parser cannot read (MariaDB syntax) on followed tables, with
// FULL metadata: the new structure is read from the server and confirmed by
// the TABLE_MAP of the next row event, even when the stream reads it long
// after (more binlog follows).
func TestBinlogUnparsedDDLFullMetadata(t *testing.T) {
	e := newEnv(t)
	e.exec("CREATE TABLE t (id INT PRIMARY KEY, a INT)", "CREATE TABLE r (id INT PRIMARY KEY, a INT)", "CREATE TABLE other (id INT)")
	src := e.source()
	lj := e.logJob("t", "r")
	from, tables := e.logSnapshot(src, lj)
	e.exec("INSERT INTO t VALUES (1, 1)",
		"ALTER TABLE t ADD COLUMN v INT INVISIBLE, ADD COLUMN u UUID",
		"INSERT INTO other VALUES (1)",
		"INSERT INTO t (id, a, v, u) VALUES (2, 2, 5, '6ccd780c-baba-1026-9564-5b8c656024db')",
		"CREATE OR REPLACE TABLE r (id INT PRIMARY KEY, w INET6)",
		"INSERT INTO r VALUES (1, '::1')",
		"INSERT INTO other VALUES (2)")
	st := stream{t, e.follow(src, lj, from, tables)}
	_, rows, _ := st.txn()
	require.Equal(t, map[string]string{"id": "1", "a": "1"}, rowMap(rows[0].Table, rows[0].After))
	d := st.ddl()
	require.Equal(t, job.DDLAlterTable, d.Kind)
	require.Equal(t, []string{"id", "a"}, d.Old.Names())
	require.Equal(t, []string{"id", "a", "v", "u"}, d.Table.Names())
	_, rows, _ = st.txn()
	require.Same(t, d.Table, rows[0].Table)
	require.Equal(t, map[string]string{"id": "2", "a": "2", "v": "5", "u": "6ccd780c-baba-1026-9564-5b8c656024db"},
		rowMap(rows[0].Table, rows[0].After))
	// CREATE OR REPLACE drops the old table, rows and all, and creates the new.
	d = st.ddl()
	require.Equal(t, job.DDLDropTable, d.Kind)
	require.Equal(t, "r", d.Old.Name)
	d = st.ddl()
	require.Equal(t, job.DDLCreateTable, d.Kind)
	require.Equal(t, []string{"id", "w"}, d.Table.Names())
	_, rows, _ = st.txn()
	require.Equal(t, map[string]string{"id": "1", "w": "::1"}, rowMap(rows[0].Table, rows[0].After))
}

// Without FULL metadata an unparsed DDL is confirmed only when the stream
// reaches the end of the binlog with nothing after it touching the table;
// a later DDL of the same table before that stops the stream loudly.
func TestBinlogUnparsedDDLNoMetadata(t *testing.T) {
	e := dedicated(t, testenv.MariaDBOptions{BinlogRowMetadata: "NO_LOG"})
	t.Log(time.Now().Format("05.000"), 1)
	e.exec("CREATE TABLE t (id INT PRIMARY KEY, a INT)", "CREATE TABLE other (id INT)")
	src := e.source()
	lj := e.logJob("t")
	from, tables := e.logSnapshot(src, lj)

	// Live: the stream is at the end when the statement comes.
	st := stream{t, e.follow(src, lj, from, tables)}
	t.Log(time.Now().Format("05.000"), 2)
	require.Equal(t, change.ItemHeartbeat, st.item(30*time.Second).Kind)
	e.exec("ALTER TABLE t ADD COLUMN u UUID")
	d := st.ddl()
	t.Log(time.Now().Format("05.000"), 3)
	require.Equal(t, []string{"id", "a", "u"}, d.Table.Names())
	e.exec("INSERT INTO t VALUES (1, 1, '00112233-4455-6677-8899-aabbccddeeff')")
	_, rows, _ := st.txn()
	require.Equal(t, "00112233-4455-6677-8899-aabbccddeeff", string(rows[0].After[2]))
	afterFirst := st.item(30 * time.Second) // the heartbeat position after everything so far
	t.Log(time.Now().Format("05.000"), 4)
	require.Equal(t, change.ItemHeartbeat, afterFirst.Kind)

	// Read later, with rows after it but no other change of the table: the
	// stream confirms once it has read up to where the binlog ended when it
	// read the structure.
	_, tables1 := e.logSnapshot(src, lj)
	e.exec("ALTER TABLE t ADD COLUMN v INT INVISIBLE",
		"INSERT INTO other VALUES (1)", "INSERT INTO t (id, a, u, v) VALUES (3, 3, NULL, 33)", "INSERT INTO other VALUES (2)")
	behind := stream{t, e.follow(src, lj, afterFirst.Pos, tables1)}
	d = behind.ddl()
	t.Log(time.Now().Format("05.000"), 5)
	require.Equal(t, []string{"id", "a", "u", "v"}, d.Table.Names())
	_, rows, _ = behind.txn()
	require.Equal(t, map[string]string{"id": "3", "a": "3", "u": "NULL", "v": "33"}, rowMap(rows[0].Table, rows[0].After))

	// Read later, with a second change of the table after the first: the
	// server's structure now is not the one at the first statement.
	_, tables2 := e.logSnapshot(src, lj)
	t.Log(time.Now().Format("05.000"), 6)
	mark := behind.item(30 * time.Second)
	for mark.Kind != change.ItemHeartbeat {
		mark = behind.item(30 * time.Second)
	}
	e.exec("ALTER TABLE t ADD COLUMN w INET4", "INSERT INTO t (id, a, u, v, w) VALUES (2, 2, NULL, 22, '1.2.3.4')",
		"ALTER TABLE t ADD COLUMN x INT")
	late := stream{t, e.follow(src, lj, mark.Pos, tables2)}
	t.Log(time.Now().Format("05.000"), 7)
	err := late.fail()
	t.Log(time.Now().Format("05.000"), 8)
	require.True(t, errs.Is(err, CodeUnsupportedDDL), "%v", err)
	require.ErrorContains(t, err, "ADD COLUMN w INET4")
	ce, _ := errs.As(err)
	require.Contains(t, ce.Fix, "binlog_row_metadata=FULL")
}

// MariaDB's compressed binlog events (log_bin_compress) decode like plain
// ones, and NO_LOG metadata still decodes every type exactly (T24, T25):
// the type matrix again on such a server.
func TestBinlogValuesCompressedNoMetadata(t *testing.T) {
	e := dedicated(t, testenv.MariaDBOptions{BinlogRowMetadata: "NO_LOG",
		Args: []string{"--log-bin-compress=ON", "--log-bin-compress-min-len=10"}})
	e.exec(valuesDDL)
	e.binlogMatchesSnapshot("vals", valueInserts(valueCases()))
}

// A statement the parser cannot read in another database, about a table
// named like a followed one (another tenant's copy of the schema), holds
// nothing: the followed table's own schema change and rows right after it
// decode as they were written (before, they stopped the stream: the
// followed table's structure read for the other statement was already the
// later one).
func TestBinlogUnparsedDDLOtherDatabase(t *testing.T) {
	e := dedicated(t, testenv.MariaDBOptions{BinlogRowMetadata: "NO_LOG"})
	other := e.srv.NewDatabase(t)
	e.exec("CREATE TABLE t (id INT PRIMARY KEY, a INT)")
	src := e.source()
	lj := e.logJob("t")
	from, tables := e.logSnapshot(src, lj)
	e.srv.Exec(t, other, "CREATE TABLE t (id INT PRIMARY KEY, u UUID)", "INSERT INTO t VALUES (1, UUID())")
	e.exec("ALTER TABLE t ADD COLUMN x INT FIRST", "INSERT INTO t VALUES (7, 1, 2)")
	st := stream{t, e.follow(src, lj, from, tables)}
	d := st.ddl()
	require.Equal(t, []string{"x", "id", "a"}, d.Table.Names())
	_, rows, _ := st.txn()
	require.Equal(t, map[string]string{"x": "7", "id": "1", "a": "2"}, rowMap(rows[0].Table, rows[0].After))
}
