package runner_test

import (
	"fmt"
	"strings"
	"testing"
)

// The changes TestSyncCarriesEveryType makes on the source while the sync
// follows it. Rows are copied and updated inside the source from the base
// rows, so every change carries exactly the values of a base row; carried
// maps each row id the target must end with to the base row it must equal.
//
//	100+b  inserted as a copy of b
//	200+b  inserted as a copy of another base row, then every column updated to b's
//	300+b  a copy of b whose note is updated twice, back to b's: updates that
//	       leave the large values alone
//	500+b  a copy of b inserted as 600+b, then only its key changed
//	400+b  inserted, updated, deleted; and the full-loaded row doomed deleted
//	700+b  (only with a schema change) inserted as a copy of b after it

// txn runs statements on the side in one transaction, after the table's
// session setting.
func txn(t *testing.T, s side, tb cdcTable, stmts ...string) {
	t.Helper()
	begin := "START TRANSACTION"
	if !s.mysql() {
		begin = "BEGIN"
	}
	all := []string{begin}
	if tb.setup != "" {
		all = []string{tb.setup, begin}
	}
	s.exec(t, append(append(all, stmts...), "COMMIT")...)
}

// copyRows inserts a copy of row from as row to.
func copyRows(s side, tb cdcTable, to, from int) string {
	cols := quotedCols(s, tb.cols)
	return fmt.Sprintf("INSERT INTO %s (id, %s) SELECT %d, %s FROM %s WHERE id = %d", tb.name, cols, to, cols, tb.name, from)
}

// copyGroup inserts a copy of every base row b as row offset+b.
func copyGroup(s side, tb cdcTable, offset int) string {
	cols := quotedCols(s, tb.cols)
	return fmt.Sprintf("INSERT INTO %s (id, %s) SELECT id + %d, %s FROM %s WHERE id IN (%s)", tb.name, cols, offset, cols, tb.name, ids(tb.base, 0))
}

// setGroup updates columns of rows offset+b to the values of base row b.
func setGroup(s side, tb cdcTable, offset int, cols []string) string {
	var sets []string
	for _, c := range cols {
		sets = append(sets, fmt.Sprintf("%s = s.%s", quote(s, c), quote(s, c)))
	}
	if s.mysql() {
		for i := range sets {
			sets[i] = "t." + sets[i]
		}
		return fmt.Sprintf("UPDATE %s t JOIN %s s ON s.id = t.id - %d SET %s WHERE t.id IN (%s)",
			tb.name, tb.name, offset, strings.Join(sets, ", "), ids(tb.base, offset))
	}
	return fmt.Sprintf("UPDATE %s t SET %s FROM %s s WHERE s.id = t.id - %d AND t.id IN (%s)",
		tb.name, strings.Join(sets, ", "), tb.name, offset, ids(tb.base, offset))
}

// beforeChanges are the changes of the rows' first lives: inserts, and
// updates that reach no final value yet.
func beforeChanges(t *testing.T, s side, tb cdcTable) {
	t.Helper()
	stmts := []string{copyGroup(s, tb, 100), copyGroup(s, tb, 300), copyGroup(s, tb, 400), copyGroup(s, tb, 600)}
	for i, b := range tb.base {
		stmts = append(stmts, copyRows(s, tb, 200+b, tb.base[(i+1)%len(tb.base)]))
	}
	txn(t, s, tb, stmts...)
	txn(t, s, tb, fmt.Sprintf("UPDATE %s SET note = 'x' WHERE id IN (%s)", tb.name, ids(tb.base, 300)),
		fmt.Sprintf("UPDATE %s SET note = 'gone' WHERE id IN (%s)", tb.name, ids(tb.base, 400)))
}

// afterChanges bring every row to its final value.
func afterChanges(t *testing.T, s side, tb cdcTable) {
	t.Helper()
	txn(t, s, tb, setGroup(s, tb, 200, tb.cols))
	txn(t, s, tb, setGroup(s, tb, 300, []string{"note"}),
		fmt.Sprintf("DELETE FROM %s WHERE id IN (%s)", tb.name, ids(tb.base, 400)))
	txn(t, s, tb, fmt.Sprintf("UPDATE %s SET id = id - 100 WHERE id IN (%s)", tb.name, ids(tb.base, 600)),
		fmt.Sprintf("DELETE FROM %s WHERE id = %d", tb.name, doomed))
}

// carried is what the target must end with: each row id and the base row
// it must equal.
func carried(tb cdcTable, groups ...int) map[int]int {
	want := map[int]int{}
	for _, b := range tb.base {
		for _, g := range append([]int{0}, groups...) {
			want[g+b] = b
		}
	}
	return want
}

func quotedCols(s side, cols []string) string {
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = quote(s, c)
	}
	return strings.Join(q, ", ")
}

func quote(s side, name string) string {
	if s.mysql() {
		return "`" + strings.ReplaceAll(name, "`", "``") + "`"
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

func ids(base []int, offset int) string {
	s := make([]string, len(base))
	for i, b := range base {
		s[i] = fmt.Sprint(offset + b)
	}
	return strings.Join(s, ", ")
}
