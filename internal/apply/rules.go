package apply

import (
	"fmt"
	"slices"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/value"
)

// CodeFilterUnknown: a change of a filtered table does not carry the
// values its row filter reads, and guessing could move a row wrongly.
const CodeFilterUnknown = "Apply.FilterUnknown"

// ruled is one change as a table's rules turn a source change into: a row
// change to route, and whether it must be applied idempotently (a delete
// of a row that may not be on the target).
type ruled struct {
	row      *change.Row
	tolerant bool
	// existing: an update writes the row only where it is, never inserts it
	// (a table whose dml list lacks insert).
	existing bool
}

// applyRules applies a table's dml list and row filter to a change, with
// the database's semantics (filter.Eval, the same tree the snapshot query
// renders), so the change stream moves exactly the rows a snapshot would:
//
//	insert: carried when the new row is selected
//	delete: carried when the old row was selected
//	update: old selected, new selected → the update
//	        old not selected, new selected → an insert of the new row (it moves in)
//	        old selected, new not selected → a delete of the old key (it moves out)
//	        neither → nothing
//
// When the old row is not known (PostgreSQL sends only the key of the old
// row unless REPLICA IDENTITY FULL), "was it selected" is unknown: the old
// key is deleted idempotently (deleting a row that is not there is fine)
// and the new row inserted when it is selected. A new row whose filter
// columns the source did not send (unchanged TOAST values) takes them from
// a full old row; without one the change stops the job (CodeFilterUnknown)
// instead of guessing.
//
// A dml list without insert: the target holds only the rows it had, so an
// update or delete applies where its row is and does nothing where it is
// not (it was inserted on the source and never carried), and an update
// moving a row into the filter inserts nothing. An update whose old row is
// unknown and whose new row is selected updates the row where it is (it
// was in the filter) instead of deleting and inserting it.
//
// A dml list without delete: the target keeps the rows the source deleted,
// so a key can come back on the source while the target still holds it.
// Inserts and updates apply idempotently (tolerant): an insert replaces the
// row still holding its key, an update moving a row onto such a key
// replaces it, where they would otherwise stop the job as a divergence.
func (tp *tablePlan) applyRules(r *change.Row) ([]ruled, error) {
	out, err := tp.filterRules(r)
	if err == nil && !tp.rules.DML.Delete {
		for i := range out {
			if out[i].row.Op != change.OpDelete {
				out[i].tolerant = true
			}
		}
	}
	if err != nil || tp.rules.DML.Insert {
		return out, err
	}
	kept := out[:0]
	for _, d := range out {
		if d.row.Op != change.OpInsert {
			d.tolerant, d.existing = true, true
			kept = append(kept, d)
		}
	}
	return kept, nil
}

// filterRules is applyRules but for a dml list without insert.
func (tp *tablePlan) filterRules(r *change.Row) ([]ruled, error) {
	p := tp.rules
	if !p.Carries(r.Op) {
		return nil, nil
	}
	if p.Filter == nil {
		return []ruled{{row: r}}, nil
	}
	switch r.Op {
	case change.OpInsert:
		in, err := tp.selects(r, r.After, "new")
		if err != nil || !in {
			return nil, err
		}
		return []ruled{{row: r}}, nil
	case change.OpDelete:
		in, known, err := tp.oldSelected(r)
		switch {
		case err != nil:
			return nil, err
		case !known:
			return []ruled{{row: r, tolerant: true}}, nil
		case in:
			return []ruled{{row: r}}, nil
		}
		return nil, nil
	case change.OpUpdate:
		after, missing := tp.fillMissing(r)
		for _, c := range p.Filter.ColumnIndexes() {
			if c < len(missing) && missing[c] {
				return nil, tp.unknown(r, fmt.Sprintf("the source did not send the new value of column %s (an unchanged TOAST value) and the old row does not carry it", r.Table.Columns[c].Name))
			}
		}
		newIn, err := tp.selects(r, after, "new")
		if err != nil {
			return nil, err
		}
		oldIn, known, err := tp.oldSelected(r)
		if err != nil {
			return nil, err
		}
		if known && oldIn && newIn {
			return []ruled{{row: r}}, nil
		}
		if known && !oldIn && !newIn {
			return nil, nil
		}
		if !known && newIn && !p.DML.Insert {
			// Nothing may be inserted: the row is updated where it is (it
			// was in the filter), and nothing happens where it is not.
			return []ruled{{row: &change.Row{Op: change.OpUpdate, Table: r.Table, Before: r.Before, BeforeKeyOnly: r.BeforeKeyOnly,
				After: after, Missing: missing, Seq: r.Seq}}}, nil
		}
		var out []ruled
		if !known || oldIn {
			out = append(out, ruled{row: &change.Row{Op: change.OpDelete, Table: r.Table, Before: tp.oldImage(r), BeforeKeyOnly: r.Before == nil || r.BeforeKeyOnly, Seq: r.Seq}, tolerant: !known})
		}
		if newIn {
			if slices.Contains(missing, true) {
				return nil, tp.unknown(r, "the row moves into the filter but the source did not send all of its new values (unchanged TOAST values)")
			}
			out = append(out, ruled{row: &change.Row{Op: change.OpInsert, Table: r.Table, After: after, Seq: r.Seq}})
		}
		return out, nil
	}
	return []ruled{{row: r}}, nil
}

// selects evaluates the filter on a row image.
func (tp *tablePlan) selects(r *change.Row, row value.Row, which string) (bool, error) {
	in, err := tp.rules.Filter.Eval(row)
	if err != nil {
		return false, errs.Wrap(err, CodeFilterUnknown, "the row filter of %s cannot be evaluated on the %s row of a change: %v", r.Table, which, err).
			WithFix("the database would fail on this row too (%s); change the filter so that it holds for every row", tp.rules.Path()+".filter")
	}
	return in, nil
}

// oldSelected reports whether the old row of an update or delete was
// selected; known is false when the old image lacks a column the filter
// reads (a key-only old row, or none: the key did not change).
func (tp *tablePlan) oldSelected(r *change.Row) (in, known bool, err error) {
	if r.Before != nil && !r.BeforeKeyOnly {
		in, err = tp.selects(r, r.Before, "old")
		return in, true, err
	}
	for _, c := range tp.rules.Filter.ColumnIndexes() {
		if !slices.Contains(tp.keySrc, c) {
			return false, false, nil
		}
	}
	if tp.keySrc == nil {
		return false, false, nil
	}
	in, err = tp.selects(r, tp.oldImage(r), "old")
	return in, true, err
}

// oldImage is the old row as far as it is known: the old image, or (an
// update that kept its key, sent without an old row) the key columns of
// the new row.
func (tp *tablePlan) oldImage(r *change.Row) value.Row {
	if r.Before != nil {
		return r.Before
	}
	img := make(value.Row, len(r.Table.Columns))
	for _, j := range tp.keySrc {
		if j < len(r.After) {
			img[j] = r.After[j]
		}
	}
	return img
}

// fillMissing returns the new row with the values the source did not send
// (unchanged TOAST) taken from a full old row, and what is still missing.
func (tp *tablePlan) fillMissing(r *change.Row) (value.Row, []bool) {
	if !slices.Contains(r.Missing, true) {
		return r.After, nil
	}
	if r.Before == nil || r.BeforeKeyOnly {
		return r.After, r.Missing
	}
	after := slices.Clone(r.After)
	for i, m := range r.Missing {
		if m && i < len(after) && i < len(r.Before) {
			after[i] = r.Before[i] // unchanged: the old value is the new one
		}
	}
	return after, nil
}

func (tp *tablePlan) unknown(r *change.Row, why string) error {
	return errs.New(CodeFilterUnknown, "a change of table %s cannot be filtered: %s; nothing after it was applied", r.Table, why).
		WithFix("set REPLICA IDENTITY FULL on the source table (the old row then carries every value), or filter on other columns (%s.filter)", tp.rules.Path())
}

// covers reports whether the table's copy already holds the change at
// (pos, seq): it is before the table's window.
func (tp *tablePlan) covers(pos change.Position, seq int) bool {
	return tp.window != nil && !tp.window.From.IsZero() &&
		(connector.Checkpoint{Pos: tp.window.From, Complete: true}).Covers(pos, seq)
}

// coversEnd is covers for an item that ended at pos (DDL, truncate).
func (tp *tablePlan) coversEnd(pos change.Position) bool {
	return tp.window != nil && !tp.window.From.IsZero() &&
		(connector.Checkpoint{Pos: tp.window.From, Complete: true}).CoversEnd(pos)
}

// safe says whether a change of the transaction at pos is applied
// idempotently: inside the table's window, or the job's.
func (c *Coordinator) safe(tp *tablePlan, pos change.Position) bool {
	until := c.opts.SafeUntil
	if tp.window != nil {
		until = tp.window.SafeUntil
	}
	return !until.IsZero() && change.Compare(pos, until) < 0
}

// mergeNote names the source tables of a merged target table in a
// divergence on it (the appliers name the table in the error's "table"
// detail): a key two of them hold collides there and is reported, never
// overwritten (a merged table's changes are applied strictly: see
// runner.tableWindow).
func (c *Coordinator) mergeNote(err error) error {
	ce, ok := errs.As(err)
	if !ok || ce.Code != connector.CodeDivergence {
		return err
	}
	table, _ := ce.Details["table"].(string)
	v, ok := c.merged.Load(table)
	if !ok {
		return err
	}
	return errs.Wrap(err, ce.Code, "%s (%s merges %s: two of them may hold this key)", ce.Message, table, v.(string)).
		WithFix("make the keys of the merged tables distinct on the source, or do not merge them; then reset the job")
}
