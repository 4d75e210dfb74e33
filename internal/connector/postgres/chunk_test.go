package postgres

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

var awkwardText = []string{"a", "B", "b", "A", "ä", "Z", "_x", "x_", "", " ", "a b", "a  ", "😀", "'quote", `back\slash`,
	"tab\there", "new\nline", "Ä", "z", "é", "e\u0301", "10", "9", "-1", "%", "\u200fאב"}

// chunkTables creates the tables of the chunking tests and returns the
// names whose rows they are: text keys under C and a linguistic collation
// (when the server has one), a composite key and a bytea key.
func chunkTables(t *testing.T, v *env) []string {
	t.Helper()
	var lits []string
	for _, s := range awkwardText {
		lits = append(lits, "("+quoteLiteral(s)+")")
	}
	stmts := []string{
		`CREATE TABLE text_c (k text COLLATE "C" PRIMARY KEY, n serial)`,
		`INSERT INTO text_c (k) VALUES ` + strings.Join(lits, ", "),
		`CREATE TABLE composite (a integer, b text, PRIMARY KEY (a, b))`,
		`INSERT INTO composite SELECT g % 7, 'k' || (g * 7919 % 1000) || repeat('x', g % 3) FROM generate_series(1, 2000) g ON CONFLICT DO NOTHING`,
		`CREATE TABLE bin (k bytea PRIMARY KEY)`,
		`INSERT INTO bin SELECT decode(lpad(to_hex(g * 2654435761 % 4294967296), 8, '0'), 'hex') FROM generate_series(1, 300) g`,
		`INSERT INTO bin VALUES (''), ('\x00'), ('\x0000'), ('\xff'), ('\x5c27')`,
		`ANALYZE`,
	}
	tables := []string{"text_c", "composite", "bin"}
	var coll string
	conn := v.conn(t)
	err := conn.QueryRow(t.Context(), `SELECT collname FROM pg_collation WHERE collname IN ('en_US.utf8', 'en_US', 'en-US-x-icu', 'und-x-icu') ORDER BY collname LIMIT 1`).Scan(&coll)
	if err == nil {
		stmts = append(stmts, `CREATE TABLE text_ling (k text COLLATE `+quoteIdent(coll)+` PRIMARY KEY)`,
			`INSERT INTO text_ling VALUES `+strings.Join(lits, ", "))
		tables = append(tables, "text_ling")
	} else {
		t.Logf("no linguistic collation on the server: only C is tested (%v)", err)
	}
	v.exec(t, stmts...)
	return tables
}

func TestChunks(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	for _, name := range chunkTables(t, v) {
		tab := v.table(t, "public", name)
		key := tab.ChunkKey()
		want := v.readAll(t, tab) // one read in key order
		r := v.snapshot(t, 1).readers[0]

		// Chunks of 7 rows, each after the previous chunk's last key.
		var got []value.Row
		var after value.Row
		for {
			n := 0
			err := r.Read(t.Context(), connector.ReadRequest{Table: tab, Columns: tab.Names(), Key: key, After: after, Limit: 7}, func(row value.Row) error {
				got = append(got, row.Clone())
				n++
				return nil
			})
			require.NoError(t, err)
			if n == 0 {
				break
			}
			after = keyOf(tab, got[len(got)-1], key)
			if n < 7 {
				break
			}
		}
		assert.Equal(t, want, got, "%s read in chunks of 7", name)

		// Split points: ranges (after, upto] cover every row exactly once.
		splits, err := r.SplitKeys(t.Context(), tab, nil, key, 4)
		require.NoError(t, err)
		if name == "composite" || name == "bin" {
			assert.NotEmpty(t, splits, name)
		}
		got = nil
		bounds := append([]value.Row{nil}, splits...)
		for i, lo := range bounds {
			var hi value.Row
			if i+1 < len(bounds) {
				hi = bounds[i+1]
			}
			require.NoError(t, r.Read(t.Context(), connector.ReadRequest{Table: tab, Columns: tab.Names(), Key: key, After: lo, Upto: hi}, func(row value.Row) error {
				got = append(got, row.Clone())
				return nil
			}))
		}
		assert.Equal(t, want, got, "%s read in %d ranges", name, len(bounds))
	}
}

func keyOf(t *schema.Table, row value.Row, key []string) value.Row {
	k := make(value.Row, len(key))
	for i, name := range key {
		k[i] = row[t.ColumnIndex(name)]
	}
	return k
}

func TestReadErrors(t *testing.T) {
	t.Parallel()
	v := newEnv(t, `CREATE TABLE t (id integer PRIMARY KEY)`, `INSERT INTO t SELECT generate_series(1, 100)`)
	tab := v.table(t, "public", "t")
	r := v.snapshot(t, 1).readers[0]
	// An error from fn stops the read; the reader stays usable.
	stop := fmt.Errorf("stop")
	n := 0
	err := r.Read(t.Context(), connector.ReadRequest{Table: tab, Columns: []string{"id"}, Key: []string{"id"}}, func(value.Row) error {
		n++
		return stop
	})
	require.ErrorIs(t, err, stop)
	assert.Equal(t, 1, n)
	est, err := r.EstimateRows(t.Context(), tab, nil)
	require.NoError(t, err)
	assert.Greater(t, est, int64(0))
	n = 0
	require.NoError(t, r.Read(t.Context(), connector.ReadRequest{Table: tab, Columns: []string{"id"}, Key: []string{"id"}, After: value.Row{[]byte("90")}},
		func(value.Row) error { n++; return nil }))
	assert.Equal(t, 10, n)
}
