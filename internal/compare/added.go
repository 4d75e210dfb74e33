package compare

import (
	"fmt"
	"strings"
	"time"

	"github.com/dtsorg/dts/internal/schema"
)

// Added columns (add_columns) in a compare.
//
// A column filled with a constant, the source's database or table name
// holds one known value on every row the source table sends: it is
// compared like any column, the source side selecting that value as a
// literal, so a target row whose value was changed is found (and
// repaired). A column filled with the operation or the commit time holds
// what happened to the row in the source's log, which no read of the
// source can recompute: it is not compared (the table's report says so),
// and the repair fills it as the job fills it for a change: "insert" or
// "update" and the time the repair SQL was made.

// addedColumns pairs the plan's added columns with the target's.
func (p *pair) addedColumns(sameEngine bool) {
	if p.plan == nil {
		return
	}
	var skipped []string
	for i := range p.plan.Added {
		a := &p.plan.Added[i]
		dc := findColumn(p.dst, a.Name)
		if dc == nil {
			p.notes = append(p.notes, fmt.Sprintf("added column %s is missing on the target: its values are not compared", a.Name))
			continue
		}
		if !a.Deterministic() {
			p.fill = append(p.fill, fillCol{c: dc, added: a})
			skipped = append(skipped, fmt.Sprintf("%s (from %s)", a.Name, a.From))
			continue
		}
		sc := &schema.Column{Name: a.Name, Type: a.Type}
		k := newCol(sc, dc, sameEngine)
		k.added = true
		k.lit = compareForm(k, 0, a.Value(p.src, 0, time.Time{}))
		p.cols = append(p.cols, k)
	}
	switch len(skipped) {
	case 0:
	case 1:
		p.notes = append(p.notes, fmt.Sprintf("added column %s is not compared: its values come from the source's log, "+
			"not from its rows", skipped[0]))
	default:
		p.notes = append(p.notes, fmt.Sprintf("added columns %s are not compared: their values come from the source's log, "+
			"not from its rows", strings.Join(skipped, ", ")))
	}
}

// dmlNote says what a table's dml list that leaves out operations makes
// of its compare: the target departs from the source by design (rows the
// source deleted stay, say), the compare reports it all the same, and the
// repair would undo it.
func (p *pair) dmlNote() {
	if p.plan == nil {
		return
	}
	var left []string
	for _, d := range []struct {
		carried  bool
		op, what string
	}{
		{p.plan.DML.Insert, "insert", "rows inserted on the source are missing"},
		{p.plan.DML.Update, "update", "rows updated on the source are changed"},
		{p.plan.DML.Delete, "delete", "rows deleted on the source are extra"},
	} {
		if !d.carried {
			left = append(left, fmt.Sprintf("without %s, %s", d.op, d.what))
		}
	}
	if len(left) > 0 {
		p.notes = append(p.notes, "the table's dml list departs from the source by design ("+strings.Join(left, "; ")+
			"): such differences are reported, and a repair undoes them")
	}
}
