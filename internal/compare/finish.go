package compare

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/dtsorg/dts/internal/value"
)

// finishTable settles a table's differing rows, fills in its report and
// returns the statements that repair the target.
func (cr *content) finishTable(ctx context.Context, t *tableRun) ([]string, error) {
	var s settled
	var err error
	switch {
	case t.p.mode == modeRows:
		s, err = cr.resolveRows(ctx, t)
	case len(t.suspects) > 0:
		s, err = cr.resolveKeys(ctx, t, t.suspects, false)
	}
	if err != nil {
		return nil, err
	}
	rep := t.rep
	for i, d := range s.diffs {
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
	rep.Unlisted = t.dropped + s.unlisted
	rep.Unconfirmed = t.unconfirmed + s.unconfirmed
	var notes []string
	rep.Status = StatusEqual
	switch {
	case rep.differences() > 0:
		rep.Status = StatusDifferent
	case rep.Unconfirmed > 0:
		rep.Status = StatusIncomplete
		notes = append(notes, fmt.Sprintf("%d rows differed while the sync job applied changes and could not be confirmed "+
			"(it did not catch up in time, or the source kept changing them): compare again", rep.Unconfirmed))
	}
	if len(t.p.notes) > 0 {
		notes = append(notes, t.p.notes...)
	}
	rep.Reason = strings.Join(notes, "; ")
	t.tp.Diffs.Store(rep.differences())
	t.found = s.diffs
	t.at = time.Now()
	return cr.repairFor(t, s.diffs)
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
		rd.Key = append(rd.Key, Cell{Column: t.p.cols[i].tname, Value: display(t.p.cols[i], d.key[j])})
	}
	// Columns go by their target names: the row to look at and repair is
	// the target's; a renamed column says its source name too.
	for _, i := range d.cols {
		k := t.p.cols[i]
		cd := ColumnDiff{Column: k.tname, Source: display(k, d.src[i]), Target: display(k, d.dst[i])}
		if !k.added && k.name != k.tname {
			cd.SourceColumn = k.name
		}
		rd.Columns = append(rd.Columns, cd)
	}
	return rd
}

// repaired is what a table's repair touched, kept in its done record so
// that the rows can be checked again after the repair: the keys of its
// differing rows, or without a key its differing buckets.
type repaired struct {
	Keys    []value.Row `json:"keys,omitempty"`
	M       int64       `json:"m,omitempty"`
	Buckets []int64     `json:"buckets,omitempty"`
}

func (t *tableRun) repaired() *repaired {
	if len(t.found) == 0 {
		return nil
	}
	if t.p.mode == modeRows {
		r := &repaired{M: t.m}
		for _, b := range t.batches {
			r.Buckets = append(r.Buckets, b...)
		}
		return r
	}
	r := &repaired{}
	for _, d := range t.found {
		r.Keys = append(r.Keys, d.key)
	}
	return r
}
