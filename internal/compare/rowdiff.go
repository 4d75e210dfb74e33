package compare

import (
	"bytes"
	"context"
	"sort"
	"strconv"
	"sync"

	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// Row-level comparison reads rows' signatures first (key and row hash, as
// each database computes it: a few bytes a row whatever the row's size),
// and whole rows only for those found different for good, to show and
// repair them. The values kept stay within Options.MaxRepairBytes.

// diffRow is a row that differs: its key, its values on each side (nil
// when it is not there), and which columns differ.
type diffRow struct {
	kind string
	key  value.Row
	src  value.Row
	dst  value.Row
	cols []int
}

// size is the bytes a differing row holds.
func (d *diffRow) size() int64 {
	n := int64(64)
	for _, r := range []value.Row{d.key, d.src, d.dst} {
		for _, v := range r {
			n += int64(len(v)) + 24
		}
	}
	return n
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

// differingKeys reads the signatures of the rows pr selects on both sides
// and returns the keys of those that differ: the first check of a chunk's
// rows.
func (cr *content) differingKeys(ctx context.Context, t *tableRun, pr pred) ([]value.Row, error) {
	type entry struct {
		key value.Row
		h   uint64
	}
	var rows [2]map[string]entry
	err := both(func(s int) error {
		m := map[string]entry{}
		rows[s] = m
		return cr.sides[s].sums(ctx, t.ts[s], pr, func(k value.Row, h uint64) error {
			m[keyString(k)] = entry{k, h}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	var out []value.Row
	for id, a := range rows[0] {
		if b, ok := rows[1][id]; !ok || a.h != b.h {
			out = append(out, a.key)
		}
	}
	for id, b := range rows[1] {
		if _, ok := rows[0][id]; !ok {
			out = append(out, b.key)
		}
	}
	sort.Slice(out, func(i, j int) bool { return keyString(out[i]) < keyString(out[j]) })
	return out, nil
}

// keyProbe reads the signatures of rows by key; keys maps ids to keys.
func (cr *content) keyProbe(t *tableRun, keys map[string]value.Row, locked bool) probe {
	return func(ctx context.Context, s int, ids map[string]bool) (map[string]sig, error) {
		list := make([]value.Row, 0, len(ids))
		for id := range ids {
			list = append(list, keys[id])
		}
		out := map[string]sig{}
		for start := 0; start < len(list); start += keyBatch {
			batch := list[start:min(start+keyBatch, len(list))]
			err := cr.hold(ctx, locked, func() error {
				return cr.sides[s].sums(ctx, t.ts[s], pred{keys: batch}, func(k value.Row, h uint64) error {
					// A lookup under a case-insensitive collation may
					// match more rows than asked for.
					if id := keyString(k); ids[id] {
						out[id] = sig{n: 1, h: h}
					}
					return nil
				})
			})
			if err != nil {
				return nil, err
			}
		}
		return out, nil
	}
}

// hold runs f holding a place among the queries under way, unless the
// caller holds one already (locked).
func (cr *content) hold(ctx context.Context, locked bool, f func() error) error {
	if !locked {
		if err := cr.acquire(ctx); err != nil {
			return err
		}
		defer cr.release()
	}
	return f()
}

// settled is what re-checking suspect rows found.
type settled struct {
	diffs []diffRow // differing rows with their values, sorted by key
	// unlisted differ too but are not kept (beyond MaxRepairBytes);
	// unconfirmed could not be decided (settle.go).
	unlisted, unconfirmed int64
}

// resolveKeys settles suspect rows by key and reads the values of those
// that differ for good.
func (cr *content) resolveKeys(ctx context.Context, t *tableRun, keys []value.Row, locked bool) (settled, error) {
	byID := make(map[string]value.Row, len(keys))
	ids := make(map[string]bool, len(keys))
	for _, k := range keys {
		id := keyString(k)
		byID[id], ids[id] = k, true
	}
	if len(ids) == 0 {
		return settled{}, nil
	}
	v, err := cr.settle(ctx, ids, cr.keyProbe(t, byID, locked))
	if err != nil {
		return settled{}, err
	}
	out := settled{unconfirmed: v.unconfirmed}
	confirmed := make([]value.Row, 0, len(v.differ))
	for id := range v.differ {
		confirmed = append(confirmed, byID[id])
	}
	sort.Slice(confirmed, func(i, j int) bool { return keyString(confirmed[i]) < keyString(confirmed[j]) })
	for start := 0; start < len(confirmed); start += keyBatch {
		batch := confirmed[start:min(start+keyBatch, len(confirmed))]
		if cr.bytes.Load() <= 0 {
			out.unlisted += int64(len(batch))
			continue
		}
		var diffs []diffRow
		err := cr.hold(ctx, locked, func() (err error) {
			diffs, err = cr.valuesOf(ctx, t, batch)
			return err
		})
		if err != nil {
			return settled{}, err
		}
		for _, d := range diffs {
			if cr.bytes.Add(-d.size()) < 0 {
				out.unlisted++
				continue
			}
			out.diffs = append(out.diffs, d)
		}
	}
	sortDiffs(out.diffs)
	return out, nil
}

// valuesOf reads the rows of keys on both sides and returns those that
// differ, with their values. A row that became equal since it was
// settled (a sync applied it) is left out.
func (cr *content) valuesOf(ctx context.Context, t *tableRun, keys []value.Row) ([]diffRow, error) {
	want := map[string]bool{}
	for _, k := range keys {
		want[keyString(k)] = true
	}
	var rows [2]map[string]value.Row
	var mu sync.Mutex
	err := both(func(s int) error {
		m := map[string]value.Row{}
		mu.Lock()
		rows[s] = m
		mu.Unlock()
		return cr.sides[s].fetch(ctx, t.ts[s], pred{keys: keys}, func(r value.Row) error {
			if k := keyString(t.keyOf(r)); want[k] {
				m[k] = r
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	var out []diffRow
	for k := range want {
		s, inSrc := rows[0][k]
		d, inDst := rows[1][k]
		switch {
		case inSrc && !inDst:
			out = append(out, diffRow{kind: RowMissing, key: t.keyOf(s), src: s})
		case inDst && !inSrc:
			out = append(out, diffRow{kind: RowExtra, key: t.keyOf(d), dst: d})
		case inSrc:
			if cols := differing(s, d); len(cols) > 0 {
				out = append(out, diffRow{kind: RowChanged, key: t.keyOf(s), src: s, dst: d, cols: cols})
			}
		}
	}
	return out, nil
}

// keyBytes is the most bytes a key of the table may take in memory: it
// bounds how many keys a batch of hash buckets may bring.
func keyBytes(p *pair) int64 {
	n := int64(0)
	for _, i := range p.key {
		t := p.cols[i].c[0].Type
		switch t.Kind {
		case schema.KindChar, schema.KindVarChar, schema.KindText:
			n += int64(max(t.Length, 255)) * 4
		case schema.KindBinary, schema.KindVarBinary, schema.KindBlob:
			n += int64(max(t.Length, 255))
		default:
			n += 40
		}
	}
	return n + 64 // the map entry around it
}

// idOf is the id of a row hash (rows without a key).
func idOf(h uint64) string { return strconv.FormatUint(h, 16) }
