package compare

import (
	"context"
	"sort"
	"strconv"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/value"
)

// bucketRows is the rows a hash bucket holds on average.
const bucketRows = 1000

// fetchRows bounds the rows of differing buckets read at once.
const fetchRows = 50_000

// keyMemory bounds the bytes of keys a batch of buckets may bring.
const keyMemory = 64 << 20

// hashed compares a table by hash buckets: its key's order differs between
// the engines (text under different collations, uuid...), or it has no
// key. One scan per side checksums every bucket; the rows of differing
// buckets are read (one scan per batch of buckets) and compared: by key,
// or without a key as multisets of whole rows. A sampled compare checks a
// run of the buckets (SamplePercent of them, from where the plan's seed
// says): the rows whose key hashes into them, the same rows on both sides
// (without a key, rows are sampled by the hash of their values, so a
// changed row may show only as its target version). A stopped compare
// checks the table again from the start.
func (cr *content) hashed(ctx context.Context, t *tableRun, recs map[int]catalog.CompareRecord) error {
	m, seed, err := cr.bucketPlan(ctx, t, recs)
	if err != nil {
		return err
	}
	take := sampledBuckets(m, cr.opts.SamplePercent)
	from := int64(seed % uint64(m))
	t.rep.Chunks = int(m)
	t.tp.Chunks.Store(1)
	if err := cr.acquire(ctx); err != nil {
		return err
	}
	var b [2]map[int64]digest
	err = both(func(s int) (err error) {
		b[s], err = cr.sides[s].buckets(ctx, t.ts[s], m, from, take)
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
	t.rep.ChunksCompared, t.rep.ChunksDifferent = int(take), len(differ)
	t.rep.SourceRows, t.rep.TargetRows = &src, &dst
	t.tp.Rows.Add(max(src, dst))
	t.m = m
	limit := int64(fetchRows)
	if t.p.mode == modeHash {
		limit = min(limit, max(keyMemory/keyBytes(t.p), 100))
	}
	t.batches = batchBuckets(differ, b, limit)
	if t.p.mode == modeHash {
		for _, batch := range t.batches {
			if err := cr.hashBatch(ctx, t, batch); err != nil {
				return err
			}
		}
	}
	t.tp.Done.Add(1)
	return nil
}

// hashBatch finds the differing rows of a batch of buckets by key.
func (cr *content) hashBatch(ctx context.Context, t *tableRun, batch []int64) error {
	if err := cr.acquire(ctx); err != nil {
		return err
	}
	defer cr.release()
	keys, err := cr.differingKeys(ctx, t, pred{m: t.m, buckets: batch})
	if err != nil {
		return err
	}
	kept, beyond := cr.keep(keys)
	dropped, unconfirmed, err := cr.countDiffering(ctx, t, beyond, true)
	if err != nil {
		return err
	}
	t.mu.Lock()
	t.suspects = append(t.suspects, kept...)
	t.dropped += dropped
	t.unconfirmed += unconfirmed
	t.mu.Unlock()
	t.tp.Diffs.Add(int64(len(keys)))
	return nil
}

// sampledBuckets is how many of m buckets a compare of pct percent checks.
func sampledBuckets(m int64, pct float64) int64 {
	if pct >= 100 {
		return m
	}
	return min(m, max(1, int64(float64(m)*pct/100+0.999999)))
}

// bucketPlan returns the table's number of buckets and the sample's seed,
// recorded in the journal.
func (cr *content) bucketPlan(ctx context.Context, t *tableRun, recs map[int]catalog.CompareRecord) (int64, uint64, error) {
	if r, ok := recs[recordPlan]; ok {
		var plan planRecord
		if err := decodeRecord(r, &plan); err != nil {
			return 0, 0, err
		}
		if plan.Mode == t.p.mode && plan.Buckets > 0 {
			return plan.Buckets, plan.Seed, nil
		}
	}
	est, err := cr.sides[0].conn.estimate(ctx, t.ts[0].t)
	if err != nil {
		return 0, 0, err
	}
	m := max(1, (est+bucketRows-1)/bucketRows)
	seed := newSeed()
	rec, err := encodeRecord(t.p.name, recordPlan, planRecord{V: recordVersion, Mode: t.p.mode, Buckets: m, Seed: seed})
	if err != nil {
		return 0, 0, err
	}
	return m, seed, cr.c.Journal.Save(ctx, rec)
}

// batchBuckets groups differing buckets into batches of at most limit rows
// (a bucket bigger than that is a batch of its own).
func batchBuckets(differ []int64, b [2]map[int64]digest, limit int64) [][]int64 {
	var out [][]int64
	var batch []int64
	var rows int64
	for _, id := range differ {
		n := max(b[0][id].n, b[1][id].n)
		if len(batch) > 0 && rows+n > limit {
			out = append(out, batch)
			batch, rows = nil, 0
		}
		batch, rows = append(batch, id), rows+n
	}
	if len(batch) > 0 {
		out = append(out, batch)
	}
	return out
}

// rowsProbe reads the multiset of row hashes of buckets on one side.
func (cr *content) rowsProbe(t *tableRun, buckets []int64) probe {
	return func(ctx context.Context, s int, ids map[string]bool) (map[string]sig, error) {
		out := map[string]sig{}
		err := cr.hold(ctx, false, func() error {
			return cr.sides[s].sums(ctx, t.ts[s], pred{m: t.m, buckets: buckets}, func(_ value.Row, h uint64) error {
				id := idOf(h)
				if ids != nil && !ids[id] {
					return nil
				}
				g := out[id]
				out[id] = sig{n: g.n + 1, h: h}
				return nil
			})
		})
		return out, err
	}
}

// resolveRows settles the differing buckets of a table without a key,
// batch by batch, and reads the values of rows that differ for good,
// within the budgets: a row on the source twice and on the target once is
// one missing row.
func (cr *content) resolveRows(ctx context.Context, t *tableRun) (settled, error) {
	var out settled
	for _, batch := range t.batches {
		v, err := cr.settle(ctx, nil, cr.rowsProbe(t, batch))
		if err != nil {
			return out, err
		}
		out.unconfirmed += v.unconfirmed
		// want[s][id]: how many rows of hash id side s has in excess.
		want := [2]map[string]int64{{}, {}}
		var total int64
		for id, d := range v.differ {
			if n := d[0].n - d[1].n; n > 0 {
				want[0][id] = n
				total += n
			} else {
				want[1][id] = -n
				total -= n
			}
		}
		kept := int64(0)
		if cr.budget.Load() > 0 && cr.bytes.Load() > 0 && total > 0 {
			var rows [2][]diffRow
			err := both(func(s int) error {
				return cr.hold(ctx, false, func() error {
					return cr.excess(ctx, t, s, batch, want[s], &rows[s])
				})
			})
			if err != nil {
				return out, err
			}
			for _, d := range append(rows[0], rows[1]...) {
				if cr.budget.Add(-1) < 0 || cr.bytes.Add(-d.size()) < 0 {
					break
				}
				out.diffs = append(out.diffs, d)
				kept++
			}
		}
		out.unlisted += total - kept
	}
	sortDiffs(out.diffs)
	return out, nil
}

// excess reads side s's rows of the buckets whose hashes want lists, as
// many of each as wanted, up to what the budgets could still keep.
func (cr *content) excess(ctx context.Context, t *tableRun, s int, buckets []int64, want map[string]int64, out *[]diffRow) error {
	if len(want) == 0 {
		return nil
	}
	left := map[string]int64{}
	for id, n := range want {
		left[id] = n
	}
	kind := RowMissing
	if s == 1 {
		kind = RowExtra
	}
	limit, room := cr.budget.Load(), cr.bytes.Load()
	return cr.sides[s].hashedRows(ctx, t.ts[s], pred{m: t.m, buckets: buckets}, func(r value.Row, h uint64) error {
		id := idOf(h)
		if left[id] <= 0 || int64(len(*out)) >= limit || room <= 0 {
			return nil
		}
		left[id]--
		d := diffRow{kind: kind, key: r}
		if s == 0 {
			d.src = r
		} else {
			d.dst = r
		}
		room -= d.size()
		*out = append(*out, d)
		return nil
	})
}

// bucketFilter is the condition that keeps the sampled buckets: take
// buckets from bucket from on, wrapping around m.
func bucketFilter(expr string, m, from, take int64) string {
	if take >= m {
		return ""
	}
	return "((" + expr + ") + " + strconv.FormatInt(m-from, 10) + ") % " + strconv.FormatInt(m, 10) + " < " + strconv.FormatInt(take, 10)
}

// andWhere adds a condition to a WHERE clause (empty: none).
func andWhere(where, cond string) string {
	switch {
	case cond == "":
		return where
	case where == "":
		return " WHERE " + cond
	}
	return where + " AND " + cond
}
