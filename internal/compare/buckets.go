package compare

import (
	"context"
	"fmt"
	"sort"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/value"
)

// bucketRows is the rows a hash bucket holds on average.
const bucketRows = 1000

// fetchRows bounds the rows of differing buckets read at once.
const fetchRows = 50_000

// hashed compares a table by hash buckets: its key's order differs between
// the engines (text under different collations, uuid...), or it has no
// key. One scan per side checksums every bucket; the rows of differing
// buckets are read (one scan per batch of buckets) and compared: by key,
// or without a key as multisets of whole rows. Buckets are not sampled,
// and a stopped compare checks the table again from the start.
func (cr *content) hashed(ctx context.Context, t *tableRun, recs map[int]catalog.CompareRecord) error {
	m, err := cr.bucketPlan(ctx, t, recs)
	if err != nil {
		return err
	}
	t.rep.Chunks = int(m)
	t.tp.Chunks.Store(1)
	if err := cr.acquire(ctx); err != nil {
		return err
	}
	var b [2]map[int64]digest
	err = both(func(s int) (err error) {
		b[s], err = cr.sides[s].buckets(ctx, t.ts[s], m)
		return err
	})
	cr.release()
	if err != nil {
		return err
	}
	var differ []int64
	var src, dst int64
	for id, d := range b[0] {
		src += d.n
		if b[1][id] != d {
			differ = append(differ, id)
		}
	}
	for id, d := range b[1] {
		dst += d.n
		if _, ok := b[0][id]; !ok {
			differ = append(differ, id)
		}
	}
	sort.Slice(differ, func(i, j int) bool { return differ[i] < differ[j] })
	t.rep.ChunksCompared, t.rep.ChunksDifferent = int(m), len(differ)
	t.rep.SourceRows, t.rep.TargetRows = &src, &dst
	t.tp.Rows.Add(max(src, dst))
	t.differ, t.m = differ, m
	if t.p.mode == modeHash {
		err = cr.eachBatch(differ, b, func(batch []int64) error {
			if err := cr.acquire(ctx); err != nil {
				return err
			}
			defer cr.release()
			diffs, err := cr.diffRows(ctx, t, pred{m: m, buckets: batch}, nil)
			keys := make([]value.Row, len(diffs))
			for i, d := range diffs {
				keys[i] = d.key
			}
			t.suspect(cr, keys)
			return err
		})
	}
	t.tp.Done.Add(1)
	return err
}

// bucketPlan returns the table's number of buckets, recorded in the journal.
func (cr *content) bucketPlan(ctx context.Context, t *tableRun, recs map[int]catalog.CompareRecord) (int64, error) {
	if r, ok := recs[recordPlan]; ok {
		var plan planRecord
		if err := decodeRecord(r, &plan); err != nil {
			return 0, err
		}
		if plan.Mode == t.p.mode && plan.Buckets > 0 {
			return plan.Buckets, nil
		}
	}
	est, err := cr.sides[0].conn.estimate(ctx, t.ts[0].t)
	if err != nil {
		return 0, err
	}
	m := max(1, (est+bucketRows-1)/bucketRows)
	rec, err := encodeRecord(t.p.name, recordPlan, planRecord{V: recordVersion, Mode: t.p.mode, Buckets: m, Seed: newSeed()})
	if err != nil {
		return 0, err
	}
	return m, cr.c.Journal.Save(ctx, rec)
}

// eachBatch calls fn with differing buckets, batched by rows.
func (cr *content) eachBatch(differ []int64, b [2]map[int64]digest, fn func([]int64) error) error {
	var batch []int64
	var rows int64
	for _, id := range differ {
		n := max(b[0][id].n, b[1][id].n)
		if len(batch) > 0 && rows+n > fetchRows {
			if err := fn(batch); err != nil {
				return err
			}
			batch, rows = nil, 0
		}
		batch, rows = append(batch, id), rows+n
	}
	if len(batch) > 0 {
		return fn(batch)
	}
	return nil
}

// confirmRows re-reads the differing buckets of a table without a key,
// after RecheckDelay, and diffs them as multisets of rows: the last
// round's differences are the table's.
func (cr *content) confirmRows(ctx context.Context, t *tableRun) ([]diffRow, error) {
	rounds := max(cr.opts.Rechecks, 1)
	var diffs []diffRow
	differ := t.differ
	for range rounds {
		if cr.opts.Rechecks > 0 {
			if err := sleep(ctx, cr.opts.RecheckDelay); err != nil {
				return nil, err
			}
		}
		diffs = diffs[:0]
		for start := 0; start < len(differ); start += 64 {
			batch := differ[start:min(start+64, len(differ))]
			if err := cr.acquire(ctx); err != nil {
				return nil, err
			}
			d, err := cr.multisetDiff(ctx, t, pred{m: t.m, buckets: batch})
			cr.release()
			if err != nil {
				return nil, err
			}
			diffs = append(diffs, d...)
		}
		if len(diffs) == 0 {
			break
		}
	}
	return diffs, nil
}

// multisetDiff compares the rows pr selects as multisets: a row on the
// source twice and on the target once is one missing row.
func (cr *content) multisetDiff(ctx context.Context, t *tableRun, pr pred) ([]diffRow, error) {
	type entry struct {
		row value.Row
		n   [2]int
	}
	var mu = make(chan struct{}, 1)
	seen := map[string]*entry{}
	err := both(func(s int) error {
		return cr.sides[s].fetch(ctx, t.ts[s], pr, func(r value.Row) error {
			mu <- struct{}{}
			defer func() { <-mu }()
			k := keyString(r)
			e := seen[k]
			if e == nil {
				e = &entry{row: r}
				seen[k] = e
			}
			e.n[s]++
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("compare rows of %s: %w", t.p.name, err)
	}
	var out []diffRow
	for _, e := range seen {
		for i := e.n[1]; i < e.n[0]; i++ {
			out = append(out, diffRow{kind: RowMissing, key: e.row, src: e.row})
		}
		for i := e.n[0]; i < e.n[1]; i++ {
			out = append(out, diffRow{kind: RowExtra, key: e.row, dst: e.row})
		}
	}
	sortDiffs(out)
	return out, nil
}
