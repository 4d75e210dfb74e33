package mysql

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/testenv"
	"github.com/dtsorg/dts/internal/value"
)

// rowMap shows a row as column → value ("NULL" for NULL).
func rowMap(t *schema.Table, r value.Row) map[string]string {
	out := map[string]string{}
	for i, c := range t.Columns {
		if r[i] == nil {
			out[c.Name] = "NULL"
		} else {
			out[c.Name] = string(r[i])
		}
	}
	return out
}

// ddlSequence is a schema history workload: rows before and after each
// kind of DDL. It runs while no stream follows the source (T04): the
// stream reads it later from an older position, when the tables already
// have their final structure, so every old row event must be decoded with
// the structure of its time.
var ddlSequence = []string{
	"INSERT INTO t VALUES (1, 'one', 10, 'b')",
	"ALTER TABLE t ADD COLUMN c DECIMAL(5,2) UNSIGNED AFTER id",
	"INSERT INTO t VALUES (2, 1.5, 'two', 20, 'a')",
	"ALTER TABLE t DROP COLUMN b",
	"INSERT INTO t VALUES (3, 2.25, 'three', 'b')",
	"ALTER TABLE t ADD COLUMN n INT, ADD COLUMN f ENUM('x','y','z') NOT NULL DEFAULT 'z' FIRST",
	"INSERT INTO t (id, c, a, e, n, f) VALUES (4, NULL, 'four', 'a', 2147483647, 'y')",
	"ALTER TABLE t MODIFY n BIGINT UNSIGNED",
	"INSERT INTO t (id, a, e, n, f) VALUES (5, 'five', 'b', 18446744073709551615, 'x')",
	"ALTER TABLE t MODIFY e ENUM('b','a','c') AFTER id",
	"INSERT INTO t (id, a, e, n, f) VALUES (6, 'six', 'c', 6, 'x')",
	"ALTER TABLE t CHANGE a a2 VARCHAR(30) CHARACTER SET latin1, RENAME COLUMN c TO c2",
	"INSERT INTO t (id, a2, e, n, f, c2) VALUES (7, 'sept é', 'a', 7, 'z', 999.99)",
	"CREATE INDEX ix_a2 ON t (a2)",
	"DROP INDEX ix_a2 ON t",
	"RENAME TABLE t TO t2",
	"INSERT INTO t2 (id, a2, e, f) VALUES (8, 'eight', 'b', 'y')",
	"CREATE TABLE t3 (k VARCHAR(5) PRIMARY KEY, v SET('p','q') NOT NULL, w TIMESTAMP(3) NULL)",
	"INSERT INTO t3 VALUES ('k1', 'q,p', '2001-02-03 04:05:06.7')",
	"TRUNCATE TABLE t2",
	"INSERT INTO t2 (id, a2, e, f) VALUES (9, 'nine', 'c', 'z')",
	"CREATE TABLE other.x (id INT)", // another database: not followed
	"UPDATE t2 SET n = 9 WHERE id = 9",
	"DROP TABLE t3",
	"DELETE FROM t2",
}

// T04: every kind of DDL, rows before and after each, read from a position
// before all of them, with FULL row metadata (names and labels in the
// binlog, checked against the history).
func TestBinlogDDLSequenceFullMetadata(t *testing.T) {
	e := newEnv(t)
	e.srv.Exec(t, "", "CREATE DATABASE IF NOT EXISTS other")
	t.Cleanup(func() { e.srv.Exec(t, "", "DROP TABLE IF EXISTS other.x") })
	checkDDLSequence(e)
}

// T04 with MariaDB's default binlog_row_metadata=NO_LOG: nothing but column
// types in the binlog; unsigned values, ENUM labels and column order come
// from the schema history alone.
func TestBinlogDDLSequenceNoMetadata(t *testing.T) {
	e := dedicated(t, testenv.MariaDBOptions{BinlogRowMetadata: "NO_LOG"})
	e.srv.Exec(t, "", "CREATE DATABASE other")
	checkDDLSequence(e)
}

func checkDDLSequence(e *env) {
	t := e.t
	e.exec("CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(10), b INT, e ENUM('a','b'))")
	src := e.source()
	lj := e.logJob("t")
	from, tables := e.logSnapshot(src, lj)
	e.exec(ddlSequence...)
	st := stream{t, e.follow(src, lj, from, tables)}

	row := func(op change.Op, want map[string]string) *change.Row {
		t.Helper()
		_, rows, _ := st.txn()
		require.Len(t, rows, 1)
		r := rows[0]
		require.Equal(t, op, r.Op)
		img := r.After
		if op == change.OpDelete {
			img = r.Before
		}
		require.Equal(t, want, rowMap(r.Table, img))
		return r
	}
	ddl := func(kind string, name string, cols ...string) *change.DDL {
		t.Helper()
		d := st.ddl()
		require.Equal(t, kind, d.Kind, d.Statement)
		require.Equal(t, e.src, d.Schema)
		if d.Table != nil {
			require.Equal(t, name, d.Table.Name)
			require.Equal(t, cols, d.Table.Names(), d.Statement)
		} else {
			require.Equal(t, name, d.Old.Name)
		}
		return d
	}

	row(change.OpInsert, map[string]string{"id": "1", "a": "one", "b": "10", "e": "b"})
	d := ddl(job.DDLAlterTable, "t", "id", "c", "a", "b", "e")
	require.Equal(t, []string{"id", "a", "b", "e"}, d.Old.Names())
	c, _ := d.Table.Column("c")
	require.Equal(t, schema.Type{Kind: schema.KindDecimal, Precision: 5, Scale: 2, Unsigned: true, Raw: "decimal(5,2) unsigned"}, c.Type)
	row(change.OpInsert, map[string]string{"id": "2", "c": "1.50", "a": "two", "b": "20", "e": "a"})
	ddl(job.DDLAlterTable, "t", "id", "c", "a", "e")
	row(change.OpInsert, map[string]string{"id": "3", "c": "2.25", "a": "three", "e": "b"})
	ddl(job.DDLAlterTable, "t", "f", "id", "c", "a", "e", "n")
	row(change.OpInsert, map[string]string{"f": "y", "id": "4", "c": "NULL", "a": "four", "e": "a", "n": "2147483647"})
	ddl(job.DDLAlterTable, "t", "f", "id", "c", "a", "e", "n")
	row(change.OpInsert, map[string]string{"f": "x", "id": "5", "c": "NULL", "a": "five", "e": "b", "n": "18446744073709551615"})
	d = ddl(job.DDLAlterTable, "t", "f", "id", "e", "c", "a", "n")
	ec, _ := d.Table.Column("e")
	require.Equal(t, []string{"b", "a", "c"}, ec.Type.Values)
	row(change.OpInsert, map[string]string{"f": "x", "id": "6", "e": "c", "c": "NULL", "a": "six", "n": "6"})
	d = ddl(job.DDLAlterTable, "t", "f", "id", "e", "c2", "a2", "n")
	require.Equal(t, map[string]string{"a": "a2", "c": "c2"}, d.Renames)
	a2, _ := d.Table.Column("a2")
	require.Equal(t, "latin1", a2.Charset)
	row(change.OpInsert, map[string]string{"f": "z", "id": "7", "e": "a", "c2": "999.99", "a2": "sept é", "n": "7"})
	d = ddl(job.DDLCreateIndex, "t", "f", "id", "e", "c2", "a2", "n")
	require.Len(t, d.Table.Indexes, 1)
	require.Equal(t, "ix_a2", d.Table.Indexes[0].Name)
	d = ddl(job.DDLDropIndex, "t", "f", "id", "e", "c2", "a2", "n")
	require.Empty(t, d.Table.Indexes)
	d = ddl(job.DDLRenameTable, "t2", "f", "id", "e", "c2", "a2", "n")
	require.Equal(t, "t", d.Old.Name)
	row(change.OpInsert, map[string]string{"f": "y", "id": "8", "e": "b", "c2": "NULL", "a2": "eight", "n": "NULL"})
	d = ddl(job.DDLCreateTable, "t3", "k", "v", "w")
	require.Nil(t, d.Old)
	require.Equal(t, []string{"k"}, d.Table.PrimaryKey)
	row(change.OpInsert, map[string]string{"k": "k1", "v": "p,q", "w": "2001-02-03 04:05:06.7"})
	it := st.next()
	require.Equal(t, change.ItemTruncate, it.Kind)
	require.Equal(t, "t2", it.Tables[0].Name)
	row(change.OpInsert, map[string]string{"f": "z", "id": "9", "e": "c", "c2": "NULL", "a2": "nine", "n": "NULL"})
	r := row(change.OpUpdate, map[string]string{"f": "z", "id": "9", "e": "c", "c2": "NULL", "a2": "nine", "n": "9"})
	require.Equal(t, "NULL", rowMap(r.Table, r.Before)["n"])
	d = ddl(job.DDLDropTable, "t3")
	require.Nil(t, d.Table)
	row(change.OpDelete, map[string]string{"f": "z", "id": "9", "e": "c", "c2": "NULL", "a2": "nine", "n": "9"})

	// The history's structure after the DDL is the server's.
	live, err := src.ReadTables(e.ctx, []connector.TableRef{{Schema: e.src, Name: "t2"}})
	require.NoError(t, err)
	requireSameStructure(t, live[0], r.Table)
}

// requireSameStructure compares a structure built from DDL statements with
// the one read from information_schema.
func requireSameStructure(t *testing.T, want, got *schema.Table) {
	t.Helper()
	require.Equal(t, want.Names(), got.Names())
	for i := range want.Columns {
		w, g := want.Columns[i], got.Columns[i]
		require.Equal(t, w.Type, g.Type, "column %s", w.Name)
		require.Equal(t, w.Nullable, g.Nullable, "column %s", w.Name)
		require.Equal(t, w.Charset, g.Charset, "column %s", w.Name)
		require.Equal(t, w.Collation, g.Collation, "column %s", w.Name)
		require.Equal(t, w.Default, g.Default, "column %s", w.Name)
	}
	require.Equal(t, want.PrimaryKey, got.PrimaryKey)
	require.Equal(t, want.Indexes, got.Indexes)
	require.Equal(t, want.Collation, got.Collation)
}

var _ = errs.CodeOf
