package compare

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/value"
)

// Verifier checks given rows of a job's tables on both sides, by key.
//
// It is the seam of the job's check.incremental setting: continuous
// verification during a sync calls Check with the keys of the changes it
// applied, a moment after applying them, and alerts on what it returns. A
// row that differs is looked at again after Options.RecheckDelay
// (Options.Rechecks times), exactly as a compare running during a sync
// re-checks the rows it found different, so a row the sync changes again
// meanwhile is not reported. Check is safe for concurrent use.
type Verifier struct {
	cr    *content
	pairs map[string]*pair
}

// NewVerifier reads the job's tables and connects to both sides.
func NewVerifier(ctx context.Context, spec *job.Spec, opts Options, engines Engines, log *slog.Logger) (*Verifier, error) {
	opts.defaults()
	src, err := engines.OpenSource(ctx, spec.Source, log)
	if err != nil {
		return nil, fmt.Errorf("connect to the source: %w", err)
	}
	defer src.Close()
	tgt, err := engines.OpenSource(ctx, spec.Target, log)
	if err != nil {
		return nil, fmt.Errorf("connect to the target: %w", err)
	}
	defer tgt.Close()
	sink, err := engines.OpenSink(ctx, spec.Target, log)
	if err != nil {
		return nil, fmt.Errorf("connect to the target: %w", err)
	}
	defer sink.Close()
	pairs, err := selectPairs(ctx, spec, nil, src, tgt, sink)
	if err != nil {
		return nil, err
	}
	c := &Compare{Spec: spec, Options: opts, Journal: &MemoryJournal{}, Engines: engines, Log: log, Progress: NewProgress()}
	sides, err := c.openSides(ctx)
	if err != nil {
		return nil, err
	}
	v := &Verifier{cr: &content{c: c, opts: &c.Options, sides: sides, sem: make(chan struct{}, opts.Workers)}, pairs: map[string]*pair{}}
	v.cr.budget.Store(int64(opts.MaxRepairRows))
	for _, p := range pairs {
		v.pairs[p.name] = p
	}
	return v, nil
}

// Check compares the rows of source table (schema.name) with these keys
// (canonical values of the source's key columns) and returns those that
// still differ after the re-checks.
func (v *Verifier) Check(ctx context.Context, table string, keys []value.Row) ([]RowDiff, error) {
	p, ok := v.pairs[table]
	switch {
	case !ok:
		return nil, errs.New(errs.InvalidParameter, "%s is not a table the job moves", table)
	case p.skip != "":
		return nil, errs.New(errs.NotAvailable, "%s cannot be verified: %s", table, p.skip)
	case len(p.key) == 0:
		return nil, errs.New(errs.NotAvailable, "%s has no key: its rows cannot be verified one by one", table)
	}
	t := &tableRun{p: p}
	for i := range 2 {
		t.ts[i] = newTableSQL(v.cr.sides[i].d, p, i)
	}
	forms := make([]value.Row, len(keys))
	for i, k := range keys {
		if len(k) != len(p.key) {
			return nil, fmt.Errorf("key %d has %d values for %d key columns", i, len(k), len(p.key))
		}
		forms[i] = make(value.Row, len(k))
		for j, c := range p.key {
			forms[i][j] = compareForm(p.cols[c], 0, k[j])
		}
	}
	diffs, err := v.cr.confirm(ctx, t, forms)
	if err != nil {
		return nil, err
	}
	out := make([]RowDiff, len(diffs))
	for i, d := range diffs {
		out[i] = t.rowDiff(d)
	}
	return out, nil
}

// Close closes the verifier's connections.
func (v *Verifier) Close() {
	closeSides(v.cr.sides)
}
