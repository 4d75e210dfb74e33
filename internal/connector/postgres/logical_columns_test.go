package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/errs"
)

// ddlsOf returns the DDL items among items.
func ddlsOf(items []change.Item) []*change.DDL {
	var out []*change.DDL
	for _, it := range items {
		if it.Kind == change.ItemDDL {
			out = append(out, it.DDL)
		}
	}
	return out
}

// streamErr reads st until it fails, and returns the error.
func streamErr(t *testing.T, st *logicalStream) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	for {
		if _, err := st.Next(ctx); err != nil {
			return err
		}
	}
}

// stall makes the stream fall behind: a transaction of more rows than the
// stream buffers, which the test reads only later, keeps the decoder from
// reading what follows it (relation messages too) until then.
func (v *logEnv) stall(t *testing.T) {
	v.exec(t, `INSERT INTO pad SELECT generate_series(1, 1000)`)
}

// A renamed column is a rename (the target keeps its values under the new
// name); a column dropped and another added at its place are a drop and an
// add, never a rename. Told apart by attnum, also when the catalog has moved
// on by the time the relation message is read.
func TestLogicalColumnRenames(t *testing.T) {
	t.Parallel()
	v := newLogEnv(t, []string{"pad", "t", "u", "w", "y"}, `CREATE TABLE pad (id integer PRIMARY KEY)`,
		`CREATE TABLE t (id integer PRIMARY KEY, b text, x integer)`,
		`CREATE TABLE u (id integer PRIMARY KEY, b text)`,
		`CREATE TABLE w (id integer PRIMARY KEY, b text)`,
		`CREATE TABLE y (id integer PRIMARY KEY, b text)`)
	st := v.follow(t, v.openLog(t, 1).Position())
	v.stall(t)
	v.exec(t, `INSERT INTO t VALUES (1, 'one', 1)`, `INSERT INTO u VALUES (1, 'one')`, `INSERT INTO w VALUES (1, 'one')`,
		`ALTER TABLE t RENAME b TO c`, `INSERT INTO t VALUES (2, 'two', 2)`,
		`ALTER TABLE u DROP COLUMN b`, `ALTER TABLE u ADD COLUMN c text`, `INSERT INTO u VALUES (2, 'two')`,
		// w: read after the catalog moved on (d added after the rename's change).
		`ALTER TABLE w RENAME b TO c`, `INSERT INTO w VALUES (2, 'two')`,
		`ALTER TABLE w ADD COLUMN d text`, `INSERT INTO w VALUES (3, 'three', 'd')`,
		// y: a column added and one renamed, read after another was added.
		`ALTER TABLE y ADD COLUMN c text`, `ALTER TABLE y RENAME b TO e`, `INSERT INTO y VALUES (2, 'e', 'two')`,
		`ALTER TABLE y ADD COLUMN d text`, `INSERT INTO y VALUES (3, 'e', 'three', 'd')`)
	items := commits(t, st, 10)
	ddls := ddlsOf(items)
	require.Len(t, ddls, 6)
	assert.Equal(t, map[string]string{"b": "e"}, ddls[4].Renames)
	assert.Equal(t, []string{"id", "e", "c"}, ddls[4].Table.Names())
	assert.Contains(t, ddls[4].Statement, "add column c text")
	assert.Nil(t, ddls[5].Renames)
	assert.Equal(t, "alter table public.y: add column d text (from a relation message)", ddls[5].Statement)

	assert.Equal(t, "t", ddls[0].Table.Name)
	assert.Equal(t, map[string]string{"b": "c"}, ddls[0].Renames)
	assert.Equal(t, []string{"id", "c", "x"}, ddls[0].Table.Names())
	assert.Contains(t, ddls[0].Statement, "rename column b to c")
	assert.NotContains(t, ddls[0].Statement, "drop")

	assert.Equal(t, "u", ddls[1].Table.Name)
	assert.Nil(t, ddls[1].Renames, "a drop and an add are not a rename")
	assert.Contains(t, ddls[1].Statement, "add column c text")
	assert.Contains(t, ddls[1].Statement, "drop column b")

	assert.Equal(t, map[string]string{"b": "c"}, ddls[2].Renames)
	assert.Nil(t, ddls[3].Renames)
	assert.Contains(t, ddls[3].Statement, "add column d text")

	var got []string
	for _, r := range rows(items) {
		if r.Table.Name != "pad" && id(t, col(r, "id")) >= 2 {
			got = append(got, r.Table.Name+" "+string(col(r, "c")))
		}
	}
	assert.Equal(t, []string{"t two", "u two", "w two", "w three", "y two", "y three"}, got)
}

// The stream stops, naming the table, when the catalog moved on so far
// that a rename cannot be told from a drop and an add: the column renamed
// is dropped and added again before the relation message is read.
func TestLogicalColumnRenameAmbiguous(t *testing.T) {
	t.Parallel()
	v := newLogEnv(t, []string{"pad", "t"}, `CREATE TABLE pad (id integer PRIMARY KEY)`,
		`CREATE TABLE t (id integer PRIMARY KEY, b text, x integer)`)
	st := v.follow(t, v.openLog(t, 1).Position())
	v.stall(t)
	v.exec(t, `ALTER TABLE t RENAME b TO c`, `INSERT INTO t VALUES (1, 'one', 1)`,
		`ALTER TABLE t DROP COLUMN c`, `ALTER TABLE t ADD COLUMN c text`, `INSERT INTO t VALUES (2, 2, 'two')`)
	err := streamErr(t, st)
	e, ok := errs.As(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, CodeDecode, e.Code)
	assert.Contains(t, e.Message, "public.t")
	assert.Contains(t, e.Message, "(id, b, x) to (id, c, x)")
	assert.Contains(t, e.Message, "2 dropped")
}

// A column renamed while the job was stopped (the stream starts from before
// the rename, with the old structure): a table that never lost a column
// has known attnums, and the rename is one. One that lost a column before
// cannot be told: the stream stops at the change.
func TestLogicalColumnRenameWhileStopped(t *testing.T) {
	t.Parallel()
	v := newLogEnv(t, []string{"t", "u"}, `CREATE TABLE t (id integer PRIMARY KEY, b text)`,
		`CREATE TABLE u (id integer PRIMARY KEY, b text, x integer)`, `ALTER TABLE u DROP COLUMN x`)
	pos := v.openLog(t, 1).Position()
	before := v.tables(t)
	v.exec(t, `INSERT INTO t VALUES (1, 'one')`, `ALTER TABLE t RENAME b TO c`, `INSERT INTO t VALUES (2, 'two')`,
		`ALTER TABLE u RENAME b TO c`, `INSERT INTO u VALUES (2, 'two')`)
	st := v.followWith(t, pos, before)
	ddls := ddlsOf(commits(t, st, 2))
	require.Len(t, ddls, 1)
	assert.Equal(t, map[string]string{"b": "c"}, ddls[0].Renames)
	err := streamErr(t, st)
	e, ok := errs.As(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, CodeDecode, e.Code)
	assert.Contains(t, e.Message, "public.u")
}

// Retyped columns come as a DDL with the new types (a rename with them),
// and the rows after it decode with the new types. A retype of a table the
// transaction already changed cannot be placed before the transaction: the
// stream stops.
func TestLogicalRetype(t *testing.T) {
	t.Parallel()
	v := newLogEnv(t, []string{"t"}, `CREATE TABLE t (id integer PRIMARY KEY, n integer, s varchar(5), p text)`)
	st := v.follow(t, v.openLog(t, 1).Position())
	v.exec(t, `INSERT INTO t VALUES (1, 1, 'abc', '1.5')`,
		`ALTER TABLE t ALTER COLUMN n TYPE bigint, ALTER COLUMN s TYPE varchar(50), ALTER COLUMN p TYPE numeric(10,3) USING p::numeric`,
		`INSERT INTO t VALUES (2, 9000000000, 'a longer text', '2.25')`,
		`ALTER TABLE t RENAME n TO m`, `ALTER TABLE t ALTER COLUMN m TYPE numeric(20,0)`,
		`INSERT INTO t VALUES (3, 3, 'c', '3')`)
	items := commits(t, st, 3)
	ddls := ddlsOf(items)
	require.Len(t, ddls, 2)
	types := func(d *change.DDL) []string {
		var out []string
		for _, c := range d.Table.Columns {
			out = append(out, c.Type.Raw)
		}
		return out
	}
	assert.Equal(t, []string{"integer", "bigint", "character varying(50)", "numeric(10,3)"}, types(ddls[0]))
	assert.Contains(t, ddls[0].Statement, "alter column n type bigint (was integer)")
	assert.Contains(t, ddls[0].Statement, "alter column p type numeric(10,3) (was text)")
	assert.Nil(t, ddls[0].Renames)
	assert.Equal(t, []string{"integer", "numeric(20,0)", "character varying(50)", "numeric(10,3)"}, types(ddls[1]))
	assert.Equal(t, map[string]string{"n": "m"}, ddls[1].Renames)
	assert.Contains(t, ddls[1].Statement, "rename column n to m")
	assert.Contains(t, ddls[1].Statement, "alter column m type numeric(20,0) (was bigint)")
	rs := rows(items)
	require.Len(t, rs, 3)
	assert.Equal(t, "9000000000", string(col(rs[1], "n")))
	assert.Equal(t, "2.250", string(col(rs[1], "p")))
	assert.Equal(t, "3", string(col(rs[2], "m")))

	v.exec(t, `BEGIN`, `INSERT INTO t VALUES (4, 4, 'd', '4')`, `ALTER TABLE t ALTER COLUMN s TYPE text`,
		`INSERT INTO t VALUES (5, 5, 'e', '5')`, `COMMIT`)
	err := streamErr(t, st)
	e, ok := errs.As(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, CodeDecode, e.Code)
	assert.Contains(t, e.Message, "after changing its rows")
}
