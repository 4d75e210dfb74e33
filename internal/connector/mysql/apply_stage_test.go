package mysql

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/value"
)

// A batch of full-row updates goes through the staging table: every value
// of every type arrives as the source holds it (the new rows are read from
// a table of the same structure), the staging table is made once per
// table and reused, and a key without a row is a divergence naming it.
func TestStagedUpdate(t *testing.T) {
	e := newEnv(t)
	const cols = "id BIGINT UNSIGNED NOT NULL PRIMARY KEY, v VARCHAR(40) CHARACTER SET utf8mb4, b BLOB, d DECIMAL(30,10), " +
		"ts TIMESTAMP(6) NULL, dt DATETIME(3), e ENUM('a','b','c') NOT NULL, st SET('x','y'), bits BIT(10), f DOUBLE, j JSON"
	e.exec("CREATE TABLE t ("+cols+")", "CREATE TABLE t_new ("+cols+")")
	var old, newer []string
	for i := 1; i <= 150; i++ {
		old = append(old, fmt.Sprintf("(%d, 'old', NULL, 0, NULL, NULL, 'a', '', 0, 0, NULL)", i))
		newer = append(newer, fmt.Sprintf("(%d, 'ü😀 %d', x'00ff%02x', -12345678901234567890.0123456789, '2024-02-29 23:59:59.999999', "+
			"'1000-01-01 00:00:00.001', 'c', 'x,y', b'1010101010', -1.5e-300, '{\"k\": [1, \"two\"]}')", i, i, i%256))
	}
	e.exec("INSERT INTO t VALUES "+strings.Join(old, ","), "INSERT INTO t_new VALUES "+strings.Join(newer, ","))
	src := e.source()
	tbl, want := e.table(src, e.src, "t"), e.table(src, e.src, "t_new")
	rows := e.readAll(e.snapshot(src, 1).Readers()[0], want)

	// The sink writes into the source database here: t is its target table.
	sink, err := OpenSink(e.ctx, e.srv.Endpoint(e.src), discardLog())
	require.NoError(t, err)
	t.Cleanup(func() { sink.Close() })
	ap, err := sink.OpenApplier(e.ctx, "staged", 0, 1, 1)
	require.NoError(t, err)
	t.Cleanup(func() { ap.Close() })
	a := ap.(*applier)
	at := &connector.ApplyTable{Table: tbl, Columns: tbl.Names(), SourceTypes: typesOf(tbl), Key: []string{"id"}}
	keys := func(rows []value.Row) []value.Row {
		out := make([]value.Row, len(rows))
		for i, r := range rows {
			out[i] = value.Row{r[0]}
		}
		return out
	}
	require.NoError(t, a.Apply(e.ctx, &connector.ApplyBatch{Table: at, Op: connector.ApplyUpdate, Rows: rows[:100], Keys: keys(rows[:100])}))
	require.NoError(t, a.Apply(e.ctx, &connector.ApplyBatch{Table: at, Op: connector.ApplyUpdate, Rows: rows[100:], Keys: keys(rows[100:])}))
	require.Equal(t, 1, a.stages, "one staging table for the table, used by both batches")

	dump := func(table string) []string {
		q := "SELECT CONCAT_WS('|', id, v, HEX(b), d, ts, dt, e, st, bits+0, f, j) FROM `" + e.src + "`.`" + table + "` ORDER BY id"
		r, err := a.conn.QueryContext(e.ctx, q) // the applier's session: its transaction is open
		require.NoError(t, err)
		defer r.Close()
		var out []string
		for r.Next() {
			var s string
			require.NoError(t, r.Scan(&s))
			out = append(out, s)
		}
		require.NoError(t, r.Err())
		return out
	}
	require.Equal(t, dump("t_new"), dump("t"))

	// Only v changed (ApplyBatch.Changed): a staging table of the key and
	// v; the other columns keep their values even where the rows differ.
	changed := make([]bool, len(at.Columns))
	changed[1] = true
	renamed := make([]value.Row, 100)
	for i := range renamed {
		renamed[i] = append(value.Row(nil), rows[i]...)
		renamed[i][1] = []byte(fmt.Sprintf("only v %d", i))
		renamed[i][6] = []byte("a") // e: not written
	}
	require.NoError(t, a.Apply(e.ctx, &connector.ApplyBatch{Table: at, Op: connector.ApplyUpdate, Rows: renamed, Keys: keys(renamed), Changed: changed}))
	require.Equal(t, 2, a.stages, "a staging table for the key and v")
	got := dump("t")
	for i, line := range got[:100] {
		want := strings.Replace(dump("t_new")[i], fmt.Sprintf("ü😀 %d", i+1), fmt.Sprintf("only v %d", i), 1)
		require.Equal(t, want, line)
	}
	nothing := make([]bool, len(at.Columns))
	nothing[0] = true // the key alone: the rows only have to be there
	require.NoError(t, a.Apply(e.ctx, &connector.ApplyBatch{Table: at, Op: connector.ApplyUpdate, Rows: renamed, Keys: keys(renamed), Changed: nothing}))
	require.Equal(t, got, dump("t"))

	missing := append([]value.Row(nil), rows[:80]...)
	missing = append(missing, value.Row{[]byte("777"), rows[0][1], rows[0][2], rows[0][3], rows[0][4], rows[0][5], rows[0][6],
		rows[0][7], rows[0][8], rows[0][9], rows[0][10]})
	err = a.Apply(e.ctx, &connector.ApplyBatch{Table: at, Op: connector.ApplyUpdate, Rows: missing, Keys: keys(missing)})
	require.Error(t, err)
	assert.Equal(t, connector.CodeDivergence, errs.CodeOf(err), "%v", err)
	assert.Contains(t, err.Error(), "777")
	require.NoError(t, a.Rollback(e.ctx))
}
