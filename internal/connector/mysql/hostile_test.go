package mysql

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/value"
)

// Identifiers that break naive quoting are copied like any other.
func TestHostileIdentifiers(t *testing.T) {
	e := newEnv(t)
	e.exec("CREATE TABLE `a``b \"c' d` (`k``ey` VARCHAR(10) NOT NULL, `order` INT NOT NULL, `sel ect` TEXT, `é ü` INT DEFAULT 7, "+
		"PRIMARY KEY (`k``ey`, `order`), KEY `ix``1` (`order`, `sel ect`(5)))",
		"INSERT INTO `a``b \"c' d` VALUES ('x`y', 1, 'it''s', 1), ('x\\\\', 2, NULL, 2), ('\"', 3, 'z', 3), ('a', 4, '', 4)")
	src := e.source()
	sink := e.sink()
	table := e.table(src, e.src, "a`b \"c' d")
	weird := e.dst + "`x'y"
	t.Cleanup(func() { e.srv.Exec(t, "", "DROP DATABASE IF EXISTS "+quoteIdent(weird)) })
	named := copyTable(table)
	named.Schema = weird
	target, problems := sink.MapTable(named, "mariadb")
	require.Empty(t, problems)
	require.NoError(t, sink.PrepareTable(e.ctx, target, "fail"))
	snap := e.snapshot(src, 1)
	r := snap.Readers()[0]
	rows := e.readAll(r, table)
	require.Len(t, rows, 4)
	sent := false
	_, err := sink.WriteChunk(e.ctx, connector.ChunkWrite{Table: target, Columns: target.Names(), SourceTypes: typesOf(table)},
		func() ([]value.Row, error) {
			if sent {
				return nil, nil
			}
			sent = true
			return rows, nil
		})
	require.NoError(t, err)
	require.NoError(t, sink.FinishTable(e.ctx, target))
	back := e.table(src, weird, "a`b \"c' d")
	require.Equal(t, target, back)

	snap2 := e.snapshot(src, 1)
	var chunked []value.Row
	var after value.Row
	for {
		n := 0
		err := snap2.Readers()[0].Read(e.ctx, connector.ReadRequest{Table: back, Columns: back.Names(), Key: back.ChunkKey(), After: after, Limit: 3},
			func(row value.Row) error {
				chunked = append(chunked, row.Clone())
				n++
				return nil
			})
		require.NoError(t, err)
		if n < 3 {
			break
		}
		after = keyOf(back, back.ChunkKey(), chunked[len(chunked)-1])
	}
	require.Equal(t, rowStrings(rows), rowStrings(chunked))
}
