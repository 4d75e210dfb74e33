package compare_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/compare"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/connector/engines"
	"github.com/dtsorg/dts/internal/logging"
)

// TestFourDirections copies the type matrix in every direction, finds it
// equal with every compare type, then finds every kind of difference made
// on the target (a changed value in each column, missing, extra and
// re-keyed rows, in tables with integer, composite text and no keys),
// repairs them, and finds the tables equal again.
func TestFourDirections(t *testing.T) {
	t.Parallel()
	for _, d := range directions {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			spec, src, dst := migrated(t, d.src(t), d.dst(t))
			for _, typ := range []string{compare.TypeObjects, compare.TypeRows, compare.TypeContent} {
				res := runCompare(t, spec, testOptions(typ), nil)
				requireEqual(t, res.Report)
				require.Empty(t, res.Script)
			}
			same := src.srv.Engine == dst.srv.Engine
			content := runCompare(t, spec, testOptions(compare.TypeContent), nil).Report
			require.Equal(t, "range", tableReport(t, content, "big").Mode)
			require.Equal(t, "rows", tableReport(t, content, "nokey").Mode)
			if same && src.mysql() {
				require.Equal(t, "range", tableReport(t, content, "composite").Mode, "MySQL to MySQL: same collation, same order")
			} else {
				require.Equal(t, "hash", tableReport(t, content, "composite").Mode)
			}
			require.Greater(t, tableReport(t, content, "big").Chunks, 3)

			changed := mutate(t, dst)
			res := runCompare(t, spec, testOptions(compare.TypeContent), nil)
			rep := res.Report
			require.Equal(t, compare.StatusDifferent, rep.Status)
			types := tableReport(t, rep, "types")
			require.Equal(t, int64(1), types.Changed, "%s", showRows(types.Rows))
			require.Equal(t, int64(2), types.Missing, "%s", showRows(types.Rows))
			require.Equal(t, int64(2), types.Extra, "%s", showRows(types.Rows))
			var named []string
			for _, r := range types.Rows {
				switch r.Kind {
				case compare.RowChanged:
					require.Equal(t, "4", *r.Key[0].Value)
					for _, c := range r.Columns {
						named = append(named, c.Column)
					}
				case compare.RowMissing:
					require.Contains(t, []string{"5", "6"}, *r.Key[0].Value)
				case compare.RowExtra:
					require.Contains(t, []string{"99", "100"}, *r.Key[0].Value)
				}
			}
			slices.Sort(named)
			slices.Sort(changed)
			require.Equal(t, changed, named, "every changed column is named")

			big := tableReport(t, rep, "big")
			require.Equal(t, [3]int64{0, 1, 1}, [3]int64{big.Extra, big.Missing, big.Changed}, "%s", showRows(big.Rows))
			require.Less(t, big.ChunksDifferent, big.Chunks)
			comp := tableReport(t, rep, "composite")
			require.Equal(t, [3]int64{0, 1, 1}, [3]int64{comp.Extra, comp.Missing, comp.Changed}, "%s", showRows(comp.Rows))
			nokey := tableReport(t, rep, "nokey")
			require.Equal(t, [3]int64{1, 1, 0}, [3]int64{nokey.Extra, nokey.Missing, nokey.Changed}, "%s", showRows(nokey.Rows))
			order := tableReport(t, rep, "Order")
			require.Equal(t, int64(1), order.Changed)
			require.Equal(t, "ünï cödé", order.Rows[0].Columns[0].Column)
			for _, name := range []string{"parent", "child", "gen"} {
				require.Equal(t, compare.StatusEqual, tableReport(t, rep, name).Status, name)
			}
			require.NotNil(t, rep.Repair)
			require.Equal(t, len(res.Script)-headerLen(dst), rep.Repair.Statements)
			require.False(t, rep.Repair.Applied)

			// Repair, then nothing differs.
			opts := testOptions(compare.TypeContent)
			opts.Repair = true
			fixed := runCompare(t, spec, opts, nil).Report
			require.True(t, fixed.Repair.Applied, "repair error: %s", fixed.Repair.Error)
			require.True(t, fixed.Repair.Verified)
			require.Zero(t, fixed.Repair.StillDifferent, "the repaired rows are equal when checked again")
			require.True(t, fixed.Repair.Repaired())
			after := runCompare(t, spec, testOptions(compare.TypeContent), nil)
			requireEqual(t, after.Report)
			require.Empty(t, after.Script)
		})
	}
}

func headerLen(s side) int {
	if s.mysql() {
		return 4
	}
	return 5
}

// mutate changes the target: in table types, row 4 gets row 1's value in
// every column (row 2's where those are equal), row 6 goes, row 99 comes,
// row 5 becomes 100; in the others a value changes and a row goes. It
// returns the columns of types it changed.
func mutate(t *testing.T, s side) []string {
	t.Helper()
	ctx := context.Background()
	src, err := engines.Engines{}.OpenSource(ctx, s.endpoint(), logging.Discard())
	require.NoError(t, err)
	defer src.Close()
	tables, err := src.ReadTables(ctx, []connector.TableRef{{Schema: s.schema, Name: "types"}})
	require.NoError(t, err)
	var stmts, cols []string
	for _, c := range tables[0].Columns {
		if c.Name == "id" {
			continue
		}
		from := 1
		if c.Name == "ta" {
			from = 2 // '{}' in rows 1 and 4
		}
		q := s.quote(c.Name)
		if s.mysql() {
			stmts = append(stmts, fmt.Sprintf("UPDATE types t JOIN types f ON f.id = %d SET t.%s = f.%s WHERE t.id = 4", from, q, q))
		} else {
			stmts = append(stmts, fmt.Sprintf("UPDATE types t SET %s = f.%s FROM types f WHERE f.id = %d AND t.id = 4", q, q, from))
		}
		cols = append(cols, c.Name)
	}
	stmts = append(stmts,
		"DELETE FROM types WHERE id = 6", "INSERT INTO types (id) VALUES (99)", "UPDATE types SET id = 100 WHERE id = 5",
		"UPDATE big SET pad = 'x' WHERE id = 1500", "DELETE FROM big WHERE id = 2999",
		"UPDATE composite SET note = 'changed' WHERE a = 2 AND b = 'a'", "DELETE FROM composite WHERE a = 1 AND b = 'B'",
		"INSERT INTO nokey VALUES (3, 'new')",
		fmt.Sprintf("UPDATE %s SET %s = 'changed' WHERE %s = 1", s.quote("Order"), s.quote("ünï cödé"), s.quote("select")),
	)
	if s.mysql() {
		stmts = append(stmts, "DELETE FROM nokey WHERE x = 1 LIMIT 1")
	} else {
		stmts = append(stmts, "DELETE FROM nokey WHERE ctid IN (SELECT ctid FROM nokey WHERE x = 1 LIMIT 1)")
	}
	s.exec(t, stmts...)
	return cols
}
