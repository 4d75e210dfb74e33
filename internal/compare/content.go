package compare

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/value"
)

// content compares every value of every row (or of a sampled share of the
// chunks) of the pairs, table by table, chunks in parallel.
//
// A table with a key whose order is the same on both sides (numbers and
// times; on one engine also text of the same collation) is split into key
// ranges of about ChunkRows rows. Each chunk's checksum is computed by both
// databases at once; a differing chunk is split in eight by the keys of
// the side with more rows, and so on (bisection) until a differing piece
// holds at most LeafRows rows, which are then read and compared row by row.
// Other tables are split into hash buckets of their key (or, without a
// key, of whole rows): one scan per side checksums every bucket, and the
// rows of differing buckets are read and compared.
//
// Rows found different are checked again before they are reported
// (settle.go): a row that a running sync changes meanwhile converges and
// is not reported. The keys of up to MaxRepairRows of them are kept until
// their table is done, to be re-checked together, listed and repaired;
// those beyond are re-checked with their chunk and only counted. The plan
// and each chunk's result go to the journal, so a stopped compare resumes
// where it stopped.
type content struct {
	c     *Compare
	opts  *Options
	sides [2]*side
	recs  map[string]map[int]catalog.CompareRecord
	// sem bounds the chunks (and other table queries) under way at once.
	sem chan struct{}
	// budget is what is left of MaxRepairRows: keys of differing rows kept.
	budget atomic.Int64
	// bytes is what is left of MaxRepairBytes: values of differing rows kept.
	bytes atomic.Int64
	// sameMySQL: both sides are MySQL.
	sameMySQL bool
}

// tableRun is one table of a content compare.
type tableRun struct {
	p   *pair
	ts  [2]*tableSQL
	tp  *TableProgress
	rep *TableReport

	mu       sync.Mutex
	suspects []value.Row
	// dropped differ but are not kept (beyond the budgets); unconfirmed
	// could not be decided while a sync applied changes.
	dropped, unconfirmed int64

	// batches are the differing buckets of m (hash and rows modes), in
	// batches of bounded rows.
	batches [][]int64
	m       int64
	// found are the rows found different for good.
	found []diffRow
	// at is when the table's repair SQL is made: the commit time it
	// writes into added commit_time columns.
	at time.Time
}

// keep takes the keys of suspect rows within the compare's budget and
// returns those beyond it.
func (cr *content) keep(keys []value.Row) (kept, beyond []value.Row) {
	for i, k := range keys {
		if cr.budget.Add(-1) < 0 {
			cr.budget.Add(1)
			return kept, keys[i:]
		}
		kept = append(kept, k)
	}
	return kept, nil
}

// countDiffering re-checks suspect rows that are not kept and counts
// those that differ for good.
func (cr *content) countDiffering(ctx context.Context, t *tableRun, keys []value.Row, locked bool) (differ, unconfirmed int64, err error) {
	if len(keys) == 0 {
		return 0, 0, nil
	}
	byID := make(map[string]value.Row, len(keys))
	ids := make(map[string]bool, len(keys))
	for _, k := range keys {
		id := keyString(k)
		byID[id], ids[id] = k, true
	}
	v, err := cr.settle(ctx, ids, cr.keyProbe(t, byID, locked))
	return int64(len(v.differ)), v.unconfirmed, err
}

// acquire takes a place among the queries under way.
func (cr *content) acquire(ctx context.Context) error {
	select {
	case cr.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (cr *content) release() { <-cr.sem }

// both runs f for both sides at once.
func both(f func(side int) error) error {
	var errs [2]error
	var wg sync.WaitGroup
	wg.Go(func() { errs[1] = f(1) })
	errs[0] = f(0)
	wg.Wait()
	return errors.Join(errs[0], errs[1])
}

// table compares one table's content.
func (cr *content) table(ctx context.Context, p *pair) (*TableReport, []string, error) {
	rep := &TableReport{Table: p.name, Target: p.target.String(), Mode: p.mode}
	if p.skip != "" {
		rep.Status, rep.Reason = StatusDifferent, p.skip
		return rep, nil, nil
	}
	recs := cr.recs[p.name]
	if r, ok := recs[recordDone]; ok {
		var done doneRecord
		if err := decodeRecord(r, &done); err != nil {
			return nil, nil, err
		}
		cr.c.Progress.table(p.name).Ended.Store(true)
		return &done.Report, done.Repair, nil
	}
	t := &tableRun{p: p, tp: cr.c.Progress.table(p.name), rep: rep}
	for i := range 2 {
		t.ts[i] = newTableSQL(cr.sides[i].d, p, i)
	}
	var err error
	if p.mode == modeRange {
		err = cr.ranges(ctx, t, recs)
	} else {
		err = cr.hashed(ctx, t, recs)
	}
	if err != nil {
		return nil, nil, err
	}
	repair, err := cr.finishTable(ctx, t)
	if err != nil {
		return nil, nil, err
	}
	t.tp.Ended.Store(true)
	rec, err := encodeRecord(p.name, recordDone, doneRecord{V: recordVersion, Report: *rep, Repair: repair, Repaired: t.repaired()})
	if err != nil {
		return nil, nil, err
	}
	if err := cr.c.Journal.Save(ctx, rec); err != nil {
		return nil, nil, err
	}
	return rep, repair, nil
}

// ranges compares a table chunk by chunk.
func (cr *content) ranges(ctx context.Context, t *tableRun, recs map[int]catalog.CompareRecord) error {
	plan, err := cr.plan(ctx, t, recs)
	if err != nil {
		return err
	}
	n := len(plan.Splits) + 1
	chosen := sample(plan.Seed, n, cr.opts.SamplePercent)
	t.rep.Chunks = n
	t.tp.Chunks.Store(int64(len(chosen)))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
	}
	for _, i := range chosen {
		var lo, hi value.Row
		if i > 0 {
			lo = plan.Splits[i-1]
		}
		if i < n-1 {
			hi = plan.Splits[i]
		}
		if r, ok := recs[i]; ok {
			var ch chunkRecord
			if err := decodeRecord(r, &ch); err != nil {
				return err
			}
			cr.budget.Add(-int64(len(ch.Suspects)))
			cr.account(t, ch)
			continue
		}
		if err := cr.acquire(ctx); err != nil {
			fail(err)
			break
		}
		wg.Go(func() {
			defer cr.release()
			ch, err := cr.chunk(ctx, t, pred{after: lo, upto: hi})
			if err == nil {
				var rec catalog.CompareRecord
				if rec, err = encodeRecord(t.p.name, i, ch); err == nil {
					err = cr.c.Journal.Save(ctx, rec)
				}
			}
			if err != nil {
				fail(fmt.Errorf("table %s, chunk %d: %w", t.p.name, i, err))
				return
			}
			cr.account(t, ch)
		})
	}
	wg.Wait()
	return firstErr
}

// account adds a checked chunk to the table's report and progress.
func (cr *content) account(t *tableRun, ch chunkRecord) {
	t.mu.Lock()
	t.rep.ChunksCompared++
	if ch.Different {
		t.rep.ChunksDifferent++
	}
	t.rep.SourceRows = addPtr(t.rep.SourceRows, ch.Source)
	t.rep.TargetRows = addPtr(t.rep.TargetRows, ch.Target)
	t.mu.Unlock()
	if len(ch.Suspects) > 0 || ch.Dropped > 0 || ch.Unconfirmed > 0 {
		t.mu.Lock()
		t.suspects = append(t.suspects, ch.Suspects...)
		t.dropped += ch.Dropped
		t.unconfirmed += ch.Unconfirmed
		t.mu.Unlock()
	}
	t.tp.Done.Add(1)
	t.tp.Rows.Add(max(ch.Source, ch.Target))
	t.tp.Diffs.Add(int64(len(ch.Suspects)) + ch.Dropped)
}

func addPtr(p *int64, n int64) *int64 {
	v := n
	if p != nil {
		v += *p
	}
	return &v
}

// chunk checks one key range: checksums on both sides, bisection of a
// difference down to rows.
func (cr *content) chunk(ctx context.Context, t *tableRun, pr pred) (chunkRecord, error) {
	var d [2]digest
	err := both(func(i int) (err error) {
		d[i], err = cr.sides[i].checksum(ctx, t.ts[i], pr)
		return err
	})
	if err != nil {
		return chunkRecord{}, err
	}
	ch := chunkRecord{V: recordVersion, Source: d[0].n, Target: d[1].n}
	if d[0] == d[1] {
		return ch, nil
	}
	ch.Different = true
	var keys []value.Row
	if err := cr.bisect(ctx, t, pr, d, &keys); err != nil {
		return chunkRecord{}, err
	}
	var beyond []value.Row
	ch.Suspects, beyond = cr.keep(keys)
	// Rows beyond the budget are settled here, while their keys are at
	// hand (a chunk's worth at most), and only counted.
	ch.Dropped, ch.Unconfirmed, err = cr.countDiffering(ctx, t, beyond, true)
	if err != nil {
		return chunkRecord{}, err
	}
	return ch, nil
}

// fanout is the pieces a differing range is split into.
const fanout = 8

// bisect narrows a differing range down to its differing rows' keys.
func (cr *content) bisect(ctx context.Context, t *tableRun, pr pred, d [2]digest, keys *[]value.Row) error {
	n, from := d[0].n, 0
	if d[1].n > n {
		n, from = d[1].n, 1
	}
	if n <= int64(cr.opts.LeafRows) {
		return cr.leaf(ctx, t, pr, keys)
	}
	step := (n + fanout - 1) / fanout
	var splits []value.Row
	var seen int64
	err := cr.sides[from].keys(ctx, t.ts[from], pr, func(k value.Row) error {
		seen++
		if seen%step == 0 && seen < n {
			splits = append(splits, k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(splits) == 0 {
		return cr.leaf(ctx, t, pr, keys)
	}
	for i := 0; i <= len(splits); i++ {
		sub := pred{after: pr.after, upto: pr.upto}
		if i > 0 {
			sub.after = splits[i-1]
		}
		if i < len(splits) {
			sub.upto = splits[i]
		}
		var sd [2]digest
		err := both(func(s int) (err error) {
			sd[s], err = cr.sides[s].checksum(ctx, t.ts[s], sub)
			return err
		})
		if err != nil {
			return err
		}
		if sd[0] == sd[1] {
			continue
		}
		if max(sd[0].n, sd[1].n) >= n { // no smaller (rows changing under the compare)
			if err := cr.leaf(ctx, t, sub, keys); err != nil {
				return err
			}
			continue
		}
		if err := cr.bisect(ctx, t, sub, sd, keys); err != nil {
			return err
		}
	}
	return nil
}

// leaf reads the rows of a small range on both sides and appends the keys
// of those that differ.
func (cr *content) leaf(ctx context.Context, t *tableRun, pr pred, keys *[]value.Row) error {
	differ, err := cr.differingKeys(ctx, t, pr)
	*keys = append(*keys, differ...)
	return err
}

// sample picks the chunks a sampled compare checks: each with probability
// pct, at least one, the same ones for the same seed.
func sample(seed uint64, n int, pct float64) []int {
	out := make([]int, 0, n)
	for i := range n {
		if pct >= 100 || chunkDraw(seed, i) < pct/100 {
			out = append(out, i)
		}
	}
	if len(out) == 0 && n > 0 {
		out = append(out, int(seed%uint64(n)))
	}
	return out
}

// chunkDraw is chunk i's uniform draw in [0, 1) for seed: splitmix64's
// finalizer, whose every output bit depends on every input bit. (FNV of
// "seed:i" was used before: its high bits hardly move when only the last
// digits of i do, so neighbouring chunks were drawn alike and a 20%
// sample sometimes took every chunk.)
func chunkDraw(seed uint64, i int) float64 {
	z := seed + uint64(i+1)*0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11) / float64(1<<53)
}

// intStep is ceil(span * chunkRows / est), at least 1.
func intStep(lo, hi *big.Int, chunkRows, est int64) *big.Int {
	span := new(big.Int).Sub(hi, lo)
	span.Add(span, big.NewInt(1))
	w := new(big.Int).Mul(span, big.NewInt(chunkRows))
	w.Add(w, big.NewInt(max(est, 1)-1))
	w.Quo(w, big.NewInt(max(est, 1)))
	if w.Sign() <= 0 {
		w.SetInt64(1)
	}
	return w
}
