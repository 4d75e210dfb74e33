package postgres

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
)

// T14: an UPDATE that leaves a TOASTed value alone sends it as 'u': under
// the default identity the column is Missing (never NULL, never a
// placeholder); under REPLICA IDENTITY FULL it is filled from the old row.
func TestLogicalTOAST(t *testing.T) {
	t.Parallel()
	v := newLogEnv(t, []string{"d", "f"},
		`CREATE TABLE d (id integer PRIMARY KEY, small integer, big text)`,
		`ALTER TABLE d ALTER COLUMN big SET STORAGE EXTERNAL`,
		`CREATE TABLE f (id integer PRIMARY KEY, small integer, big text)`,
		`ALTER TABLE f ALTER COLUMN big SET STORAGE EXTERNAL`,
		`ALTER TABLE f REPLICA IDENTITY FULL`)
	snap := v.openLog(t, 1)
	st := v.follow(t, snap.Position())
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	v.exec(t, `INSERT INTO d VALUES (1, 1, repeat('0123456789abcdef', 65536))`,
		`INSERT INTO f VALUES (1, 1, repeat('0123456789abcdef', 65536))`,
		`UPDATE d SET small = 2`, `UPDATE f SET small = 2`,
		`UPDATE d SET big = 'short' || small`)
	got := rows(commits(t, st, 5))
	require.Len(t, got, 5)

	assert.Equal(t, big, string(col(got[0], "big")), "insert carries the value")
	assert.Nil(t, got[0].Missing)

	upd := got[2] // default identity
	require.Equal(t, change.OpUpdate, upd.Op)
	assert.Equal(t, []bool{false, false, true}, upd.Missing)
	assert.Nil(t, upd.After[2], "a missing value is not a value")
	assert.Equal(t, "2", string(upd.After[1]))
	assert.True(t, upd.BeforeKeyOnly)
	assert.Equal(t, "1", string(upd.Before[0]), "the key of an update that kept it")
	assert.Nil(t, upd.Before[2])

	full := got[3] // REPLICA IDENTITY FULL
	assert.Nil(t, full.Missing)
	assert.Equal(t, big, string(full.After[2]), "filled from the old row")
	assert.False(t, full.BeforeKeyOnly)
	assert.Equal(t, big, string(full.Before[2]))
	assert.Equal(t, "1", string(full.Before[1]))

	assert.Nil(t, got[4].Missing)
	assert.Equal(t, "short2", string(got[4].After[2]))
}

// Under the default identity, an UPDATE that changes the key and a DELETE
// carry the old key only ('K').
func TestLogicalKeyOnlyOldTuples(t *testing.T) {
	t.Parallel()
	v := newLogEnv(t, []string{"t"}, `CREATE TABLE t (a integer, b text, c text, PRIMARY KEY (a, b))`)
	st := v.follow(t, v.openLog(t, 1).Position())
	v.exec(t, `INSERT INTO t VALUES (1, 'x', 'c1')`, `UPDATE t SET a = 2 WHERE a = 1`, `DELETE FROM t`)
	got := rows(commits(t, st, 3))
	require.Len(t, got, 3)
	upd, del := got[1], got[2]
	assert.Equal(t, change.OpUpdate, upd.Op)
	assert.True(t, upd.BeforeKeyOnly)
	assert.Equal(t, [][]byte{[]byte("1"), []byte("x"), nil}, [][]byte(upd.Before))
	assert.Equal(t, [][]byte{[]byte("2"), []byte("x"), []byte("c1")}, [][]byte(upd.After))
	assert.Equal(t, change.OpDelete, del.Op)
	assert.True(t, del.BeforeKeyOnly)
	assert.Equal(t, [][]byte{[]byte("2"), []byte("x"), nil}, [][]byte(del.Before))
	assert.Nil(t, del.After)
}

// T15: a table without a primary key under REPLICA IDENTITY FULL, with
// duplicate rows: updates and deletes carry the whole old row.
func TestLogicalFullIdentityWithoutKey(t *testing.T) {
	t.Parallel()
	v := newLogEnv(t, []string{"n"}, `CREATE TABLE n (a integer, b text)`, `ALTER TABLE n REPLICA IDENTITY FULL`)
	st := v.follow(t, v.openLog(t, 1).Position())
	v.exec(t, `INSERT INTO n VALUES (1, 'dup'), (1, 'dup'), (2, NULL)`,
		`DELETE FROM n WHERE ctid = (SELECT min(ctid) FROM n WHERE a = 1)`,
		`UPDATE n SET b = 'one' WHERE a = 1`,
		`UPDATE n SET a = 3 WHERE a = 2`)
	got := rows(commits(t, st, 4))
	require.Len(t, got, 6)
	del := got[3]
	assert.Equal(t, change.OpDelete, del.Op)
	assert.False(t, del.BeforeKeyOnly)
	assert.Equal(t, [][]byte{[]byte("1"), []byte("dup")}, [][]byte(del.Before))
	upd := got[4]
	assert.Equal(t, [][]byte{[]byte("1"), []byte("dup")}, [][]byte(upd.Before))
	assert.Equal(t, [][]byte{[]byte("1"), []byte("one")}, [][]byte(upd.After))
	assert.Equal(t, [][]byte{[]byte("2"), nil}, [][]byte(got[5].Before), "NULL in the old row")
}

// Tables whose updates cannot be identified are refused before anything
// is created, with the statement that fixes each.
func TestLogicalReplicaIdentityRefused(t *testing.T) {
	t.Parallel()
	v := newLogEnv(t, []string{"ok", "nokey", "nothing", "whole", "parted"},
		`CREATE TABLE ok (id integer PRIMARY KEY)`,
		`CREATE TABLE nokey (a integer)`,
		`CREATE TABLE nothing (id integer PRIMARY KEY)`, `ALTER TABLE nothing REPLICA IDENTITY NOTHING`,
		`CREATE TABLE whole (a integer)`, `ALTER TABLE whole REPLICA IDENTITY FULL`,
		`CREATE TABLE parted (a integer) PARTITION BY RANGE (a)`,
		`CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (10)`,
		`CREATE TABLE parted_2 PARTITION OF parted FOR VALUES FROM (10) TO (20)`,
		`ALTER TABLE parted_2 REPLICA IDENTITY FULL`)
	problems, err := v.src.ReplicaIdentityProblems(t.Context(), v.lj.Tables)
	require.NoError(t, err)
	var names []string
	for _, p := range problems {
		names = append(names, p.Relation+" "+p.Identity)
	}
	assert.Equal(t, []string{"public.nokey default", "public.nothing nothing", "public.parted_1 default"}, names)
	assert.Contains(t, problems[0].Fix, "ALTER TABLE public.nokey REPLICA IDENTITY FULL")

	_, err = v.src.OpenLogSnapshot(t.Context(), v.lj, 1)
	require.Error(t, err)
	assert.Equal(t, CodeReplicaIdentity, errs.CodeOf(err))
	assert.Nil(t, v.slot(t), "no slot")
	p, err := readPublication(t.Context(), v.src.pool, PublicationName(v.lj), 150000)
	require.NoError(t, err)
	assert.Nil(t, p, "no publication")
}

// TRUNCATE: a transaction of TRUNCATE only is one Truncate item in its
// place; a TRUNCATE of tables the transaction did not change yet comes
// before its Begin; a TRUNCATE after rows of the same table stops the
// stream, loudly, at that transaction.
func TestLogicalTruncate(t *testing.T) {
	t.Parallel()
	v := newLogEnv(t, []string{"a", "b"}, `CREATE TABLE a (id integer PRIMARY KEY)`, `CREATE TABLE b (id integer PRIMARY KEY)`)
	st := v.follow(t, v.openLog(t, 1).Position())
	v.exec(t, `INSERT INTO a VALUES (1)`, `TRUNCATE a, b`,
		`BEGIN`, `TRUNCATE a`, `INSERT INTO a VALUES (2)`, `COMMIT`,
		`BEGIN`, `INSERT INTO b VALUES (5)`, `TRUNCATE a`, `INSERT INTO a VALUES (3)`, `COMMIT`,
		`BEGIN`, `INSERT INTO a VALUES (4)`, `TRUNCATE a`, `COMMIT`)
	var got []string
	prev := change.Position{}
	for len(got) < 13 {
		it := next(t, st)
		assert.Positive(t, change.Compare(it.Pos, prev)+boolInt(it.Kind == change.ItemBegin || it.Kind == change.ItemRow), "positions grow")
		prev = it.Pos
		switch it.Kind {
		case change.ItemBegin:
			got = append(got, "begin")
		case change.ItemCommit:
			got = append(got, "commit")
		case change.ItemRow:
			got = append(got, it.Row.Table.Name+string(col(it.Row, "id")))
		case change.ItemTruncate:
			require.Nil(t, it.Txn, "between transactions")
			var names []string
			for _, tab := range it.Tables {
				names = append(names, tab.Name)
			}
			got = append(got, "truncate "+strings.Join(names, ","))
		}
	}
	assert.Equal(t, []string{"begin", "a1", "commit", "truncate a,b", "truncate a", "begin", "a2", "commit",
		"truncate a", "begin", "b5", "a3", "commit"}, got)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	for {
		it, err := st.Next(ctx)
		if err != nil {
			assert.Equal(t, CodeDecode, errs.CodeOf(err), "%v", err)
			assert.Contains(t, err.Error(), "truncates public.a after changing its rows")
			break
		}
		require.Equal(t, change.ItemHeartbeat, it.Kind, "nothing of the transaction that cannot be carried")
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// DDL: columns added, dropped and retyped come as DDL items with the
// structures before and after, ahead of the changes that use them; rows
// carry the structure they were written with.
func TestLogicalDDL(t *testing.T) {
	t.Parallel()
	v := newLogEnv(t, []string{"t"}, `CREATE TABLE t (id integer PRIMARY KEY, a integer, b text)`)
	st := v.follow(t, v.openLog(t, 1).Position())
	v.exec(t, `INSERT INTO t VALUES (1, 1, 'one')`,
		`ALTER TABLE t ADD COLUMN c numeric(5,2) DEFAULT 1.5`,
		`INSERT INTO t VALUES (2, 2, 'two')`,
		`ALTER TABLE t DROP COLUMN b`, `ALTER TABLE t ALTER COLUMN a TYPE bigint`,
		`UPDATE t SET a = 9000000000 WHERE id = 2`,
		`BEGIN`, `ALTER TABLE t RENAME TO u`, `INSERT INTO u VALUES (3, 3, 3)`, `COMMIT`)
	items := commits(t, st, 4)
	var kinds []string
	for _, it := range items {
		switch it.Kind {
		case change.ItemDDL:
			kinds = append(kinds, it.DDL.Kind)
		case change.ItemRow:
			kinds = append(kinds, it.Row.Op.String()+" "+strings.Join(it.Row.Table.Names(), ","))
		}
	}
	assert.Equal(t, []string{
		"insert id,a,b",
		job.DDLAlterTable, "insert id,a,b,c",
		job.DDLAlterTable, "update id,a,c",
		job.DDLRenameTable, "insert id,a,c",
	}, kinds)
	var ddls []*change.DDL
	prev := change.Position{}
	for _, it := range items {
		pos := it.Pos
		if it.Kind == change.ItemDDL {
			ddls = append(ddls, it.DDL)
			assert.Nil(t, it.Txn, "a DDL comes between transactions")
		}
		assert.GreaterOrEqual(t, change.Compare(pos, prev), 0, "positions never go back")
		prev = pos
	}
	require.Len(t, ddls, 3)
	assert.Equal(t, []string{"id", "a", "b"}, ddls[0].Old.Names())
	assert.Equal(t, "numeric(5,2)", ddls[0].Table.Columns[3].Type.Raw)
	assert.Contains(t, ddls[1].Statement, "drop column b")
	assert.Contains(t, ddls[1].Statement, "alter column a type bigint (was integer)")
	assert.Equal(t, "u", ddls[2].Table.Name)
	assert.Equal(t, "t", ddls[2].Old.Name)
	upd := rows(items)[2]
	assert.Equal(t, "9000000000", string(col(upd, "a")))
	assert.Same(t, ddls[1].Table, upd.Table, "rows point to the structure the DDL announced")
}

// A partitioned table is published through its root: changes to any
// partition arrive as the root's, and a row moved across partitions is a
// delete and an insert. Generated columns are not sent: Missing.
func TestLogicalPartitionedAndGenerated(t *testing.T) {
	t.Parallel()
	v := newLogEnv(t, []string{"p"},
		`CREATE TABLE p (id integer, part integer, g integer GENERATED ALWAYS AS (id * 2) STORED, PRIMARY KEY (id, part)) PARTITION BY RANGE (part)`,
		`CREATE TABLE p_1 PARTITION OF p FOR VALUES FROM (0) TO (10)`,
		`CREATE TABLE p_2 PARTITION OF p FOR VALUES FROM (10) TO (20)`)
	st := v.follow(t, v.openLog(t, 1).Position())
	v.exec(t, `INSERT INTO p (id, part) VALUES (1, 1), (2, 15)`, `UPDATE p SET part = 12 WHERE id = 1`)
	got := rows(commits(t, st, 2))
	var ops []string
	for _, r := range got {
		assert.Equal(t, "p", r.Table.Name)
		ops = append(ops, r.Op.String()+" "+string(col(r, "id"))+"/"+string(col(r, "part")))
	}
	assert.Equal(t, []string{"insert 1/1", "insert 2/15", "delete 1/1", "insert 1/12"}, ops)
	gi := got[0].Table.ColumnIndex("g")
	assert.Equal(t, []bool{false, false, true}, got[0].Missing)
	assert.Nil(t, got[0].After[gi])

	// PostgreSQL does not publish the TRUNCATE of one partition through the
	// root (a documented limit); the root's is published.
	v.exec(t, `TRUNCATE p_1`, `TRUNCATE p`, `INSERT INTO p (id, part) VALUES (3, 3)`)
	items := commits(t, st, 1)
	require.Equal(t, change.ItemTruncate, items[0].Kind)
	require.Len(t, items[0].Tables, 1)
	assert.Equal(t, "p", items[0].Tables[0].Name)
	assert.Equal(t, change.ItemBegin, items[1].Kind, "nothing for the partition's TRUNCATE")
}
