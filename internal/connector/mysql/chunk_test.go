package mysql

import (
	"database/sql"
	"fmt"
	"math/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// Chunked reads return every row exactly once, in the server's key order,
// under case-insensitive PAD SPACE collations, binary keys and composite
// keys; SplitKeys ranges cover the table exactly.
func TestChunks(t *testing.T) {
	e := newEnv(t)
	e.exec(
		"CREATE TABLE ci (k VARCHAR(10) CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci NOT NULL PRIMARY KEY, v INT)",
		"CREATE TABLE lat (k VARCHAR(10) CHARACTER SET latin1 COLLATE latin1_swedish_ci NOT NULL PRIMARY KEY)",
		"CREATE TABLE bin (k BINARY(16) NOT NULL PRIMARY KEY, v INT)",
		"CREATE TABLE comp (a INT NOT NULL, b VARCHAR(10) COLLATE utf8mb4_unicode_ci NOT NULL, v INT, PRIMARY KEY (a, b))",
		"CREATE TABLE dec_k (k DECIMAL(20,10) NOT NULL PRIMARY KEY)",
		"CREATE TABLE uk (id INT NULL, code BIGINT UNSIGNED NOT NULL, UNIQUE KEY (code))",
	)
	db := e.srv.DB(t, e.src)
	rnd := rand.New(rand.NewSource(1))
	alphabet := []rune{'a', 'A', 'b', 'B', ' ', '\t', '!', 'é', 'E', 'ß', 's'}
	word := func() string {
		n := 1 + rnd.Intn(4)
		r := make([]rune, n)
		for i := range r {
			r[i] = alphabet[rnd.Intn(len(alphabet))]
		}
		return string(r)
	}
	insert := func(q string, args ...any) {
		_, err := db.ExecContext(e.ctx, q, args...)
		require.NoError(t, err)
	}
	for i := range 300 {
		insert("INSERT IGNORE INTO ci VALUES (?, ?)", word(), i)
		insert("INSERT IGNORE INTO lat VALUES (?)", word())
		k := make([]byte, 16)
		rnd.Read(k[:1+rnd.Intn(16)]) // trailing zero bytes, invalid UTF-8
		insert("INSERT IGNORE INTO bin VALUES (?, ?)", k, i)
		insert("INSERT IGNORE INTO comp VALUES (?, ?, ?)", rnd.Intn(5), word(), i)
		insert("INSERT IGNORE INTO dec_k VALUES (?)", fmt.Sprintf("%d.%010d", rnd.Intn(2000)-1000, rnd.Int63n(1e10)))
		insert("INSERT IGNORE INTO uk VALUES (NULL, ?)", rnd.Uint64())
	}
	for _, name := range []string{"ci", "lat", "bin", "comp", "dec_k", "uk"} {
		insert("ANALYZE TABLE " + name)
	}
	src := e.source()
	snap := e.snapshot(src, 2)
	r := snap.Readers()[1]
	for _, name := range []string{"ci", "lat", "bin", "comp", "dec_k", "uk"} {
		t.Run(name, func(t *testing.T) {
			table := e.table(src, e.src, name)
			key := table.ChunkKey()
			require.NotEmpty(t, key)
			all := e.readAll(r, table)
			require.Equal(t, count(t, db, name), len(all))

			var chunked []value.Row
			var after value.Row
			for {
				n := 0
				err := r.Read(e.ctx, connector.ReadRequest{Table: table, Columns: table.Names(), Key: key, After: after, Limit: 7},
					func(row value.Row) error {
						chunked = append(chunked, row.Clone())
						n++
						return nil
					})
				require.NoError(t, err)
				if n < 7 {
					break
				}
				after = keyOf(table, key, chunked[len(chunked)-1])
			}
			require.Equal(t, rowStrings(all), rowStrings(chunked))

			splits, err := r.SplitKeys(e.ctx, table, nil, key, 4)
			require.NoError(t, err)
			require.Len(t, splits, 3)
			var ranged []value.Row
			var lo value.Row
			for i := 0; i <= len(splits); i++ {
				var hi value.Row
				if i < len(splits) {
					hi = splits[i]
				}
				part := 0
				err := r.Read(e.ctx, connector.ReadRequest{Table: table, Columns: table.Names(), Key: key, After: lo, Upto: hi},
					func(row value.Row) error {
						ranged = append(ranged, row.Clone())
						part++
						return nil
					})
				require.NoError(t, err)
				require.Greater(t, part, len(all)/8, "ranges are about equal")
				lo = hi
			}
			require.Equal(t, rowStrings(all), rowStrings(ranged))
		})
	}
}

func count(t *testing.T, db *sql.DB, table string) int {
	var n int
	require.NoError(t, db.QueryRow("SELECT COUNT(*) FROM "+quoteIdent(table)).Scan(&n))
	return n
}

func keyOf(t *schema.Table, key []string, row value.Row) value.Row {
	out := make(value.Row, len(key))
	for i, k := range key {
		out[i] = row[t.ColumnIndex(k)]
	}
	return out
}

// A table without rows or with fewer rows than readers splits into nothing.
func TestSplitSmallTable(t *testing.T) {
	e := newEnv(t)
	e.exec("CREATE TABLE s (id INT PRIMARY KEY)", "INSERT INTO s VALUES (1), (2)")
	src := e.source()
	snap := e.snapshot(src, 1)
	table := e.table(src, e.src, "s")
	splits, err := snap.Readers()[0].SplitKeys(e.ctx, table, nil, []string{"id"}, 8)
	require.NoError(t, err)
	require.Empty(t, splits)
	est, err := snap.Readers()[0].EstimateRows(e.ctx, table, nil)
	require.NoError(t, err)
	require.GreaterOrEqual(t, est, int64(0))
}
