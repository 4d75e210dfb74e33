package postgres

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/value"
)

func TestSnapshot(t *testing.T) {
	t.Parallel()
	v := newEnv(t, `CREATE TABLE t (id integer PRIMARY KEY, v text)`, `INSERT INTO t SELECT g, 'old' FROM generate_series(1, 10) g`)
	tab := v.table(t, "public", "t")
	conn := v.conn(t)
	var before string
	require.NoError(t, conn.QueryRow(t.Context(), `SELECT pg_current_wal_lsn()::text`).Scan(&before))

	snap := v.snapshot(t, 3)
	pos := snap.Position()
	assert.Equal(t, "postgresql", pos.Engine)
	lsnBefore, err := parseLSN(before)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, pos.LSN, lsnBefore)

	// Changes committed after the snapshot are invisible to every reader.
	v.exec(t, `UPDATE t SET v = 'new' WHERE id <= 5`, `DELETE FROM t WHERE id = 10`, `INSERT INTO t VALUES (11, 'new')`)
	var after string
	require.NoError(t, conn.QueryRow(t.Context(), `SELECT pg_current_wal_lsn()::text`).Scan(&after))
	lsnAfter, err := parseLSN(after)
	require.NoError(t, err)
	assert.Less(t, pos.LSN, lsnAfter, "the position is before the later changes")

	readers := snap.Readers()
	require.Len(t, readers, 3)
	for i, r := range readers {
		var ids []string
		require.NoError(t, r.Read(t.Context(), connector.ReadRequest{Table: tab, Columns: []string{"id", "v"}, Key: []string{"id"}}, func(row value.Row) error {
			assert.Equal(t, "old", string(row[1]), "reader %d", i)
			ids = append(ids, string(row[0]))
			return nil
		}))
		assert.Equal(t, []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}, ids, "reader %d", i)
	}
	require.NoError(t, snap.Close())
}
