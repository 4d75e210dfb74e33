package compare

import (
	"bytes"
	"context"
	"sort"
	"sync"
	"time"

	"github.com/dtsorg/dts/internal/value"
)

// diffRow is a row that differs: its key, its values on each side (nil
// when it is not there), and which columns differ.
type diffRow struct {
	kind string
	key  value.Row
	src  value.Row
	dst  value.Row
	cols []int
}

// diffRows reads the rows pr selects on both sides and returns those that
// differ, by key. want, when set, limits the answer to those keys (a key
// lookup may match more rows than asked for under a case-insensitive
// collation).
func (cr *content) diffRows(ctx context.Context, t *tableRun, pr pred, want map[string]bool) ([]diffRow, error) {
	var rows [2]map[string]value.Row
	err := both(func(s int) error {
		m := map[string]value.Row{}
		rows[s] = m
		return cr.sides[s].fetch(ctx, t.ts[s], pr, func(r value.Row) error {
			m[keyString(t.keyOf(r))] = r
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	var out []diffRow
	for k, s := range rows[0] {
		if want != nil && !want[k] {
			continue
		}
		d, ok := rows[1][k]
		switch {
		case !ok:
			out = append(out, diffRow{kind: RowMissing, key: t.keyOf(s), src: s})
		default:
			if cols := differing(s, d); len(cols) > 0 {
				out = append(out, diffRow{kind: RowChanged, key: t.keyOf(s), src: s, dst: d, cols: cols})
			}
		}
	}
	for k, d := range rows[1] {
		if want != nil && !want[k] {
			continue
		}
		if _, ok := rows[0][k]; !ok {
			out = append(out, diffRow{kind: RowExtra, key: t.keyOf(d), dst: d})
		}
	}
	sortDiffs(out)
	return out, nil
}

func (t *tableRun) keyOf(r value.Row) value.Row {
	k := make(value.Row, len(t.p.key))
	for j, i := range t.p.key {
		k[j] = r[i]
	}
	return k
}

// differing returns the positions of the values that differ.
func differing(a, b value.Row) []int {
	var out []int
	for i := range a {
		if (a[i] == nil) != (b[i] == nil) || !bytes.Equal(a[i], b[i]) {
			out = append(out, i)
		}
	}
	return out
}

func sortDiffs(d []diffRow) {
	sort.Slice(d, func(i, j int) bool { return keyString(d[i].key) < keyString(d[j].key) })
}

// keyBatch is the keys looked up per query.
const keyBatch = 100

// confirm checks suspect rows again, after RecheckDelay, Rechecks times,
// and returns those that differ every time, with their last values. Rows a
// running sync applies in the meantime stop differing; a row changed on
// both sides in step differs only between the two writes.
//
// It is also how continuous verification of an incremental sync checks the
// rows its changes touched (keys of applied changes, after the apply).
func (cr *content) confirm(ctx context.Context, t *tableRun, keys []value.Row) ([]diffRow, error) {
	rounds := max(cr.opts.Rechecks, 1)
	var diffs []diffRow
	for round := range rounds {
		if cr.opts.Rechecks > 0 {
			if err := sleep(ctx, cr.opts.RecheckDelay); err != nil {
				return nil, err
			}
		}
		next, err := cr.lookup(ctx, t, keys)
		if err != nil {
			return nil, err
		}
		diffs = next
		if len(diffs) == 0 || round == rounds-1 {
			break
		}
		keys = keys[:0:0]
		for _, d := range diffs {
			keys = append(keys, d.key)
		}
	}
	return diffs, nil
}

// lookup compares rows by key.
func (cr *content) lookup(ctx context.Context, t *tableRun, keys []value.Row) ([]diffRow, error) {
	var out []diffRow
	var mu sync.Mutex
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	for start := 0; start < len(keys); start += keyBatch {
		batch := keys[start:min(start+keyBatch, len(keys))]
		want := map[string]bool{}
		for _, k := range batch {
			want[keyString(k)] = true
		}
		if err := cr.acquire(ctx); err != nil {
			return nil, err
		}
		wg.Go(func() {
			defer cr.release()
			d, err := cr.diffRows(ctx, t, pred{keys: batch}, want)
			if err != nil {
				select {
				case errc <- err:
				default:
				}
				return
			}
			mu.Lock()
			out = append(out, d...)
			mu.Unlock()
		})
	}
	wg.Wait()
	select {
	case err := <-errc:
		return nil, err
	default:
	}
	sortDiffs(out)
	return out, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-tm.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
