package runner

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/compare"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// Continuous verification (check.incremental): while a job applies its
// source's changes, a sample of the rows the changes touched is compared
// on both sides, a moment after the apply has passed the transaction that
// changed them.
//
// A tap on the change stream keeps a uniform sample (a reservoir) of at
// most VerifyRows changed rows per round, each with the end position of
// its transaction. Every VerifyEvery, the rows whose transaction the
// apply has committed on the target are compared by key (compare.Verifier,
// which settles rows the sync changes again meanwhile). Rows that differ
// for good are reported to Hooks.Verified and checked again in the next
// rounds, until they are equal (repaired) and the report says so. The
// cost is bounded: a few hundred key lookups per round, none when nothing
// changes. Verification never stops the job: its own errors are logged.

// VerifyResult is one round of continuous verification.
type VerifyResult struct {
	// Checked is the rows compared; Diffs those that differ for good, by
	// source table; Unconfirmed those that could not be decided.
	Checked     int
	Diffs       map[string][]compare.RowDiff
	Unconfirmed int64
	// Failing says rows found different earlier still differ (or new ones
	// do); false after a round that found every such row equal.
	Failing bool
}

// sampled is a changed row in the sample: its table, key, and the
// sequence number of its transaction (its end position once committed).
type sampled struct {
	table string
	key   value.Row
	txn   uint64
}

// tap samples the rows of the changes a stream delivers.
type tap struct {
	connector.ChangeStream
	size int
	keys func(table string) []string // key columns of a verifiable table; nil: not verifiable

	mu     sync.Mutex
	txn    uint64 // the open transaction's sequence number
	inTxn  bool
	seen   int64 // rows seen this round
	sample []sampled
	ended  map[uint64]change.Position // end positions of sampled transactions
}

func (t *tap) Next(ctx context.Context) (change.Item, error) {
	it, err := t.ChangeStream.Next(ctx)
	if err != nil {
		return it, err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch it.Kind {
	case change.ItemBegin:
		t.txn++
		t.inTxn = true
	case change.ItemRow:
		t.row(it.Row)
	case change.ItemCommit:
		if t.inTxn {
			t.ended[t.txn] = it.Pos
		}
		t.inTxn = false
	}
	return it, nil
}

// row offers a changed row to the reservoir.
func (t *tap) row(r *change.Row) {
	name := r.Table.QualifiedName()
	cols := t.keys(name)
	if cols == nil {
		return
	}
	vals := r.After
	if r.Op == change.OpDelete {
		vals = r.Before
	}
	key := make(value.Row, len(cols))
	for j, c := range cols {
		i := slices.IndexFunc(r.Table.Columns, func(x schema.Column) bool { return x.Name == c })
		if i < 0 || i >= len(vals) || vals[i] == nil {
			return // the key as the verifier knows it is not in this version of the table
		}
		key[j] = vals[i]
	}
	t.seen++
	s := sampled{table: name, key: key.Clone(), txn: t.txn}
	if len(t.sample) < t.size {
		t.sample = append(t.sample, s)
		return
	}
	if j := rand.Int64N(t.seen); j < int64(t.size) {
		t.sample[j] = s
	}
}

// take returns the sampled rows whose transactions ended at or before
// applied, and starts a new round with the others.
func (t *tap) take(applied change.Position) []sampled {
	t.mu.Lock()
	defer t.mu.Unlock()
	var ready, rest []sampled
	for _, s := range t.sample {
		if end, ok := t.ended[s.txn]; ok && change.Compare(end, applied) <= 0 {
			ready = append(ready, s)
		} else {
			rest = append(rest, s)
		}
	}
	keep := map[uint64]bool{}
	for _, s := range rest {
		keep[s.txn] = true
	}
	keep[t.txn] = true
	for txn := range t.ended {
		if !keep[txn] {
			delete(t.ended, txn)
		}
	}
	t.sample, t.seen = rest, int64(len(rest))
	return ready
}

// verifyLoop compares the tap's samples every interval until ctx ends.
func (r *Runner) verifyLoop(ctx context.Context, jobID string, v *compare.Verifier, tp *tap, progress *Progress, log *slog.Logger) {
	tick := time.NewTicker(r.VerifyEvery)
	defer tick.Stop()
	var failing []sampled // rows found different, checked again until equal
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		ready := tp.take(progress.Apply.Snapshot().Position)
		if len(ready) == 0 && len(failing) == 0 {
			continue
		}
		res, still, err := verifyRound(ctx, v, append(failing, ready...))
		if err != nil {
			if ctx.Err() == nil {
				log.WarnContext(ctx, "continuous verification: a round failed; the next one tries again", "err", err)
			}
			continue
		}
		res.Failing = len(still) > 0
		if res.Failing || len(failing) > 0 {
			r.Hooks.verified(jobID, res)
		}
		failing = still[:min(len(still), r.VerifyRows)]
	}
}

// verifyRound checks rows by table and returns the result and the rows
// that differ.
func verifyRound(ctx context.Context, v *compare.Verifier, rows []sampled) (VerifyResult, []sampled, error) {
	res := VerifyResult{Diffs: map[string][]compare.RowDiff{}}
	byTable := map[string][]value.Row{}
	for _, s := range rows {
		byTable[s.table] = append(byTable[s.table], s.key)
	}
	var still []sampled
	for table, keys := range byTable {
		got, err := v.Check(ctx, table, keys)
		if err != nil {
			return res, nil, err
		}
		res.Checked += len(keys)
		res.Unconfirmed += got.Unconfirmed
		if len(got.Diffs) > 0 {
			res.Diffs[table] = got.Diffs
		}
		for _, k := range got.Keys {
			still = append(still, sampled{table: table, key: k})
		}
	}
	return res, still, nil
}

// startVerify sets up continuous verification of a following job: it
// returns the stream to apply (tapped) and a func that stops the
// verification. A verifier that cannot start is logged: the job runs on.
func (r *Runner) startVerify(ctx context.Context, jobID string, spec *job.Spec, stream connector.ChangeStream,
	progress *Progress, log *slog.Logger) (connector.ChangeStream, func()) {
	opts := compare.Options{Workers: 1, Follower: compare.FollowerFunc(func(context.Context) (change.Position, bool, error) {
		return progress.Apply.Snapshot().Position, true, nil
	})}
	v, err := compare.NewVerifier(ctx, spec, opts, r.engines, log)
	if err != nil {
		log.WarnContext(ctx, "continuous verification (check.incremental) cannot start; the job runs without it", "err", err)
		return stream, func() {}
	}
	keys := map[string][]string{}
	for _, t := range v.Tables() {
		keys[t] = v.KeyColumns(t)
	}
	tp := &tap{ChangeStream: stream, size: r.VerifyRows, keys: func(t string) []string { return keys[t] }, ended: map[uint64]change.Position{}}
	vctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.verifyLoop(vctx, jobID, v, tp, progress, log.With("component", "verify"))
	}()
	log.InfoContext(ctx, "continuous verification on", "tables", len(keys), "every", r.VerifyEvery, "rows", r.VerifyRows)
	return tp, func() { cancel(); <-done; v.Close() }
}
