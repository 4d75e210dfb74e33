package mysql

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/testenv"
)

// ENUM and SET labels with characters beyond utf8mb3, which MariaDB's
// information_schema shows as '?', are read as stored, without anything
// reaching the binlog: the target's column gets them, and a binlog without
// row metadata decodes them by index as themselves, not as '?'. A label
// that is '?' stays '?'.
func TestWideLabels(t *testing.T) {
	e := dedicated(t, testenv.MariaDBOptions{BinlogRowMetadata: "NO_LOG"})
	e.exec("CREATE TABLE l (id INT PRIMARY KEY, e ENUM('a','😀','?','b''c\\\\d𝄞'), s SET('x','𝄞','?'),"+
		" n ENUM('?','ü') CHARACTER SET latin1) CHARACTER SET utf8mb4",
		"INSERT INTO l VALUES (1, '😀', 'x,𝄞,?', 'ü'), (2, '?', '𝄞', '?')")
	src := e.source()
	lj := e.logJob("l")
	before := binlogPos(t, e)
	from, tables := e.logSnapshot(src, lj)
	again := e.table(src, e.src, "l")
	require.Equal(t, before, binlogPos(t, e), "reading the labels wrote to the binlog")

	col := func(tb *schema.Table, name string) schema.Type {
		c, ok := tb.Column(name)
		require.True(t, ok, name)
		return c.Type
	}
	for _, tb := range []*schema.Table{tables[0], again} {
		require.Equal(t, []string{"a", "😀", "?", `b'c\d𝄞`}, col(tb, "e").Values)
		require.Equal(t, `enum('a','😀','?','b''c\\d𝄞')`, col(tb, "e").Raw)
		require.Equal(t, []string{"x", "𝄞", "?"}, col(tb, "s").Values)
		require.Equal(t, "set('x','𝄞','?')", col(tb, "s").Raw)
		require.Equal(t, []string{"?", "ü"}, col(tb, "n").Values)
	}

	target := e.copyTable(src, e.sink(), tables[0])
	copied := e.table(src, e.dst, "l")
	require.Equal(t, col(tables[0], "e").Values, col(copied, "e").Values)
	require.Equal(t, col(tables[0], "s").Values, col(copied, "s").Values)
	require.Equal(t, target.Names(), copied.Names())

	st := stream{t, e.follow(src, lj, from, tables)}
	e.exec("INSERT INTO l VALUES (3, 'b''c\\\\d𝄞', '𝄞,?', NULL)", "UPDATE l SET e = '?', s = 'x' WHERE id = 1")
	_, rows, _ := st.txn()
	require.Equal(t, map[string]string{"id": "3", "e": `b'c\d𝄞`, "s": "𝄞,?", "n": "NULL"}, rowMap(rows[0].Table, rows[0].After))
	_, rows, _ = st.txn()
	require.Equal(t, map[string]string{"id": "1", "e": "😀", "s": "x,𝄞,?", "n": "ü"}, rowMap(rows[0].Table, rows[0].Before))
	require.Equal(t, map[string]string{"id": "1", "e": "?", "s": "x", "n": "ü"}, rowMap(rows[0].Table, rows[0].After))
}

// binlogPos is where the server's binlog ends.
func binlogPos(t *testing.T, e *env) string {
	var file, pos, doDB, ignoreDB string
	require.NoError(t, e.srv.DB(t, "").QueryRow("SHOW MASTER STATUS").Scan(&file, &pos, &doDB, &ignoreDB))
	return file + ":" + pos
}
