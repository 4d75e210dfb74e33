package compare

import (
	"context"
	"strings"
)

// finishTable confirms a table's differing rows, fills in its report and
// returns the statements that repair the target.
func (cr *content) finishTable(ctx context.Context, t *tableRun) ([]string, error) {
	var diffs []diffRow
	var err error
	switch {
	case t.p.mode == modeRows && len(t.differ) > 0:
		diffs, err = cr.confirmRows(ctx, t)
	case len(t.suspects) > 0:
		diffs, err = cr.confirm(ctx, t, t.suspects)
	}
	if err != nil {
		return nil, err
	}
	rep := t.rep
	if t.p.mode == modeRows { // rows without a key take their share of MaxRepairRows here
		if left := cr.budget.Add(-int64(len(diffs))); left < 0 {
			keep := max(len(diffs)+int(left), 0)
			t.dropped += int64(len(diffs) - keep)
			diffs = diffs[:keep]
		}
	}
	for i, d := range diffs {
		switch d.kind {
		case RowMissing:
			rep.Missing++
		case RowExtra:
			rep.Extra++
		case RowChanged:
			rep.Changed++
		}
		if i < cr.opts.MaxRowDiffs {
			rep.Rows = append(rep.Rows, t.rowDiff(d))
		}
	}
	rep.Unlisted = t.dropped
	rep.Status = StatusEqual
	if rep.differences() > 0 {
		rep.Status = StatusDifferent
	}
	if len(t.p.notes) > 0 {
		rep.Reason = strings.Join(t.p.notes, "; ")
	}
	t.tp.Diffs.Store(rep.differences())
	return cr.repairFor(t, diffs)
}

// rowDiff shows a differing row to people.
func (t *tableRun) rowDiff(d diffRow) RowDiff {
	rd := RowDiff{Kind: d.kind}
	keyCols := t.p.key
	if len(keyCols) == 0 {
		keyCols = make([]int, len(t.p.cols))
		for i := range keyCols {
			keyCols[i] = i
		}
	}
	for j, i := range keyCols {
		rd.Key = append(rd.Key, Cell{Column: t.p.cols[i].name, Value: display(t.p.cols[i], d.key[j])})
	}
	for _, i := range d.cols {
		k := t.p.cols[i]
		rd.Columns = append(rd.Columns, ColumnDiff{Column: k.name, Source: display(k, d.src[i]), Target: display(k, d.dst[i])})
	}
	return rd
}
