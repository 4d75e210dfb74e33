package apply_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/apply"
	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// errCrash is an injected failure: the process "dies" there.
var errCrash = errors.New("injected crash")

// faults wraps a real sink: its appliers fail at one chosen call, before
// or after doing the real work (a statement executed but never committed,
// a commit done but never reported, a DDL applied without its checkpoint).
// It also watches what the coordinator does: every commit's checkpoint per
// worker (never backwards), every Ack (never past what all workers
// committed).
type faults struct {
	connector.ApplySink
	mu        sync.Mutex
	calls     int
	failAt    int  // the call that fails; 0: none
	after     bool // it fails after the real work
	committed map[int]connector.Checkpoint
	problems  []string
}

func (f *faults) OpenApplier(ctx context.Context, jobID string, worker, workers, routing int) (connector.Applier, error) {
	a, err := f.ApplySink.OpenApplier(ctx, jobID, worker, workers, routing)
	if err != nil {
		return nil, err
	}
	return &faultyApplier{Applier: a, f: f, w: worker}, nil
}

// hit counts a call and says whether it fails, and when.
func (f *faults) hit() (fail, after bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return f.calls == f.failAt, f.after
}

func (f *faults) problem(format string, args ...any) {
	f.mu.Lock()
	f.problems = append(f.problems, fmt.Sprintf(format, args...))
	f.mu.Unlock()
}

type faultyApplier struct {
	connector.Applier
	f *faults
	w int
}

func (a *faultyApplier) do(real func() error) error {
	fail, after := a.f.hit()
	if fail && !after {
		return errCrash
	}
	if err := real(); err != nil {
		return err
	}
	if fail {
		return errCrash
	}
	return nil
}

func (a *faultyApplier) Apply(ctx context.Context, b *connector.ApplyBatch) error {
	return a.do(func() error { return a.Applier.Apply(ctx, b) })
}

func (a *faultyApplier) ApplySchemaChange(ctx context.Context, d *change.DDL) error {
	return a.do(func() error { return a.Applier.ApplySchemaChange(ctx, d) })
}

func (a *faultyApplier) Truncate(ctx context.Context, tables []*schema.Table) error {
	return a.do(func() error { return a.Applier.Truncate(ctx, tables) })
}

func (a *faultyApplier) Commit(ctx context.Context, cp connector.Checkpoint) error {
	return a.do(func() error {
		if err := a.Applier.Commit(ctx, cp); err != nil {
			return err
		}
		f := a.f
		f.mu.Lock()
		defer f.mu.Unlock()
		if prev, ok := f.committed[a.w]; ok && connector.CompareCheckpoints(cp, prev) < 0 {
			f.problems = append(f.problems, fmt.Sprintf("worker %d checkpoint went back from %s to %s", a.w, prev, cp))
		}
		f.committed[a.w] = cp
		return nil
	})
}

// ackOK checks an Ack against what every worker has committed.
func (f *faults) ackOK(pos change.Position, workers int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for w := 0; w < workers; w++ {
		cp, ok := f.committed[w]
		if !ok || change.Compare(pos, cp.Ack) > 0 {
			f.problems = append(f.problems, fmt.Sprintf("ack %s is past worker %d's committed %s", pos, w, cp))
			return
		}
	}
}

// workload is a deterministic random workload over three tables (keyed,
// with a second unique key, without key) with a model of the result.
type workload struct {
	h                 *harness
	s                 *script
	acct, uniq, loose *schema.Table
	acctV2            *schema.Table
	accts             map[int][4]any // id → id, v, n, extra (after the DDL)
	uniqs             map[int]int    // a → b
	looses            map[string]int // "a|b" → count
	ddlDone           bool
}

func newWorkload(h *harness, seed uint64, txns int) *workload {
	w := &workload{h: h, s: newScript(), accts: map[int][4]any{}, uniqs: map[int]int{}, looses: map[string]int{}}
	w.acct = h.table("acct", []tcol{{name: "id", kind: schema.KindInt32}, {name: "v", kind: schema.KindVarChar, n: 20, null: true},
		{name: "n", kind: schema.KindInt32, null: true}}, []string{"id"})
	w.uniq = h.table("uniq", []tcol{{name: "a", kind: schema.KindInt32}, {name: "b", kind: schema.KindInt32}}, []string{"a"}, []string{"b"})
	w.loose = h.table("loose", []tcol{{name: "a", kind: schema.KindInt32, null: true}, {name: "b", kind: schema.KindVarChar, n: 5, null: true}}, nil)
	for _, t := range []*schema.Table{w.acct, w.uniq, w.loose} {
		h.create(t)
	}
	w.acctV2 = version(w.acct, func(t *schema.Table) {
		t.Columns = append(t.Columns, schema.Column{Name: "extra", Nullable: true, Type: w.acct.Columns[1].Type,
			Charset: w.acct.Columns[1].Charset, Collation: w.acct.Columns[1].Collation})
	})
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	nextB := 1000
	for i := 0; i < txns; i++ {
		if i == txns/2 {
			w.s.ddl(ddl(job.DDLAlterTable, w.acct, w.acctV2, "ALTER TABLE acct ADD COLUMN extra varchar(20)"))
			w.ddlDone = true
		}
		n := 1 + rng.IntN(6)
		if rng.IntN(20) == 0 {
			n = 40 // now and then a bigger transaction
		}
		var rows []*change.Row
		for j := 0; j < n; j++ {
			switch rng.IntN(3) {
			case 0:
				rows = append(rows, w.acctChange(rng, i))
			case 1:
				rows = append(rows, w.uniqChange(rng, &nextB))
			default:
				rows = append(rows, w.looseChange(rng))
			}
		}
		w.s.txn(rows...)
	}
	return w
}

func (w *workload) acctTable() *schema.Table {
	if w.ddlDone {
		return w.acctV2
	}
	return w.acct
}

func (w *workload) acctRow(id int) value.Row {
	r := w.accts[id]
	if w.ddlDone {
		return row(r[0], r[1], r[2], r[3])
	}
	return row(r[0], r[1], r[2])
}

func (w *workload) acctChange(rng *rand.Rand, txn int) *change.Row {
	t := w.acctTable()
	id := 1 + rng.IntN(40)
	if _, ok := w.accts[id]; !ok {
		w.accts[id] = [4]any{id, fmt.Sprintf("v%d", txn), rng.IntN(100), pick[any](w.ddlDone, "x", nil)}
		return ins(t, w.acctRow(id))
	}
	before := w.acctRow(id)
	switch rng.IntN(4) {
	case 0:
		delete(w.accts, id)
		return del(t, before)
	case 1: // a key change
		nid := 41 + rng.IntN(40)
		if _, taken := w.accts[nid]; !taken {
			r := w.accts[id]
			delete(w.accts, id)
			r[0] = nid
			w.accts[nid] = r
			return upd(t, before, w.acctRow(nid))
		}
	}
	r := w.accts[id]
	r[1], r[2] = fmt.Sprintf("u%d", txn), rng.IntN(1000)
	if w.ddlDone {
		r[3] = fmt.Sprintf("e%d", txn)
	}
	w.accts[id] = r
	return upd(t, before, w.acctRow(id))
}

func (w *workload) uniqChange(rng *rand.Rand, nextB *int) *change.Row {
	a := 1 + rng.IntN(20)
	b, ok := w.uniqs[a]
	if !ok {
		*nextB++
		w.uniqs[a] = *nextB
		return ins(w.uniq, row(a, *nextB))
	}
	if rng.IntN(3) == 0 {
		delete(w.uniqs, a)
		return del(w.uniq, row(a, b))
	}
	// Take over the value of a deleted or moved row now and then: b values move.
	*nextB++
	nb := *nextB
	if rng.IntN(2) == 0 {
		nb = 900 + rng.IntN(50)
		for _, other := range w.uniqs {
			if other == nb {
				nb = *nextB
			}
		}
	}
	w.uniqs[a] = nb
	return upd(w.uniq, row(a, b), row(a, nb))
}

func (w *workload) looseChange(rng *rand.Rand) *change.Row {
	a, b := rng.IntN(3), []string{"x", "y"}[rng.IntN(2)]
	k := fmt.Sprintf("%d|%s", a, b)
	if w.looses[k] > 0 && rng.IntN(2) == 0 {
		w.looses[k]--
		if rng.IntN(2) == 0 {
			return del(w.loose, row(a, b))
		}
		w.looses[fmt.Sprintf("%d|z", a)]++
		return upd(w.loose, row(a, b), row(a, "z"))
	}
	w.looses[k]++
	return ins(w.loose, row(a, b))
}

func (w *workload) check(t *testing.T) {
	var acct []string
	for _, r := range w.accts {
		acct = append(acct, fmt.Sprintf("%v|%v|%v|%v", r[0], r[1], r[2], nullStr(r[3])))
	}
	sort.Strings(acct)
	assert.Equal(t, acct, w.h.dump("acct", "id", "v", "n", "extra"))
	var uniq []string
	for a, b := range w.uniqs {
		uniq = append(uniq, fmt.Sprintf("%d|%d", a, b))
	}
	sort.Strings(uniq)
	assert.Equal(t, uniq, w.h.dump("uniq", "a", "b"))
	var loose []string
	for k, n := range w.looses {
		for range n {
			loose = append(loose, k)
		}
	}
	sort.Strings(loose)
	assert.Equal(t, loose, w.h.dump("loose", "a", "b"))
}

// Crash safety: a deterministic workload of 200 transactions (multi-row
// ones, key changes across workers, a unique-key table, a table without
// key, a DDL halfway) is applied by runs that fail at random points - in a
// statement, after a statement and before its commit, after a commit
// before the coordinator hears of it, after a DDL before its checkpoint,
// in the stream - 20 times, each run resuming from what LoadCheckpoints
// says. The target ends equal to the model: nothing lost, nothing applied
// twice. No checkpoint ever moves back, no Ack passes what every worker
// committed.
func TestCrashSafety(t *testing.T) {
	forEngines(t, func(t *testing.T, h *harness) {
		w := newWorkload(h, 42, 200)
		f := &faults{ApplySink: h.sink}
		rng := rand.New(rand.NewPCG(7, 11))
		crashes := 0
		var lastCkpt []connector.WorkerCheckpoint
		for round := 0; round <= 20; round++ {
			ctx, cancel := context.WithCancel(testCtx(t))
			opts := h.options(4)
			opts.Sink = f
			opts.StopAt = w.s.end()
			cps, err := h.sink.LoadCheckpoints(ctx, h.jobID)
			require.NoError(t, err)
			for i, cp := range cps { // checkpoints never go back across runs
				if i < len(lastCkpt) {
					assert.LessOrEqual(t, connector.CompareCheckpoints(lastCkpt[i].Checkpoint, cp.Checkpoint), 0, "worker %d", i)
				}
			}
			lastCkpt = cps
			f.mu.Lock()
			f.calls, f.failAt, f.committed = 0, 0, map[int]connector.Checkpoint{}
			f.mu.Unlock()
			c, err := apply.New(ctx, opts)
			require.NoError(t, err)
			cps, err = h.sink.LoadCheckpoints(ctx, h.jobID) // New wrote the first ones
			require.NoError(t, err)
			last := round == 20
			cancelAt := 0
			st := w.s.follow(c.StartPosition())
			left := len(st.items) // items this run would apply: the faults fall among them
			f.mu.Lock()
			for _, cp := range cps {
				f.committed[cp.Worker] = cp.Checkpoint
			}
			f.calls = 0
			if !last {
				// Early enough that each run leaves work to the next: the
				// crashes spread over the whole workload.
				switch rng.IntN(3) {
				case 0: // the stream breaks (a cancel, like a pause or kill)
					cancelAt = 1 + rng.IntN(max(1, left/3))
				default:
					f.failAt, f.after = 1+rng.IntN(max(1, left/8)), rng.IntN(2) == 0
				}
			}
			f.mu.Unlock()
			st.onNext = func(n int) error {
				if n == cancelAt {
					cancel()
				}
				return nil
			}
			st.onAck = func(pos change.Position) error { f.ackOK(pos, c.Workers()); return nil }
			from := c.StartPosition()
			err = c.Run(ctx, st)
			c.Close()
			cancel()
			t.Logf("round %d: from %s, %d calls: %v", round, from, f.calls, err)
			if last {
				require.NoError(t, err)
				break
			}
			if err != nil {
				crashes++
				if !errors.Is(err, errCrash) && !errors.Is(err, context.Canceled) {
					t.Fatalf("round %d: %v", round, err)
				}
			}
		}
		t.Logf("%s: %d runs stopped by a crash before the last one", h.engine, crashes)
		assert.GreaterOrEqual(t, crashes, 10)
		assert.Empty(t, f.problems)
		w.check(t)
	})
}
