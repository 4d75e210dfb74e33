package compare

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/value"
)

// Verifier checks given rows of a job's tables on both sides, by key.
//
// It is the seam of the job's check.incremental setting: continuous
// verification during a sync calls Check with the keys of changes it
// applied, and alerts on what it returns. A row that differs is settled
// first (settle.go): with Options.Follower, once the job has applied what
// the source held when the row was read, so a row the sync changes again
// meanwhile is not reported. Checks run one at a time.
type Verifier struct {
	cr    *content
	pairs map[string]*pair
	mu    sync.Mutex
}

// Verified is what a Check found.
type Verified struct {
	// Diffs are the rows that differ for good.
	Diffs []RowDiff
	// Keys are the keys of the rows in Diffs, as Check takes them.
	Keys []value.Row
	// Unlisted differ too, beyond Options.MaxRepairBytes; Unconfirmed
	// could not be decided (the job lagged more than MaxSettle).
	Unlisted, Unconfirmed int64
}

// NewVerifier reads the job's tables and connects to both sides.
func NewVerifier(ctx context.Context, spec *job.Spec, opts Options, engines Engines, log *slog.Logger) (*Verifier, error) {
	opts.defaults()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
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
	v.cr.bytes.Store(opts.MaxRepairBytes)
	for _, p := range pairs {
		v.pairs[p.name] = p
	}
	return v, nil
}

// Check compares the rows of source table (schema.name) with these keys
// (canonical values of the source's key columns) and returns those that
// still differ after the re-checks.
func (v *Verifier) Check(ctx context.Context, table string, keys []value.Row) (Verified, error) {
	p, ok := v.pairs[table]
	switch {
	case !ok:
		return Verified{}, errs.New(errs.InvalidParameter, "%s is not a table the job moves", table)
	case p.skip != "":
		return Verified{}, errs.New(errs.NotAvailable, "%s cannot be verified: %s", table, p.skip)
	case len(p.key) == 0:
		return Verified{}, errs.New(errs.NotAvailable, "%s has no key: its rows cannot be verified one by one", table)
	}
	t := &tableRun{p: p}
	for i := range 2 {
		t.ts[i] = newTableSQL(v.cr.sides[i].d, p, i)
	}
	forms := make([]value.Row, len(keys))
	for i, k := range keys {
		if len(k) != len(p.key) {
			return Verified{}, fmt.Errorf("key %d has %d values for %d key columns", i, len(k), len(p.key))
		}
		forms[i] = make(value.Row, len(k))
		for j, c := range p.key {
			forms[i][j] = compareForm(p.cols[c], 0, k[j])
		}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	v.cr.bytes.Store(v.cr.opts.MaxRepairBytes)
	res, err := v.cr.resolveKeys(ctx, t, forms, false)
	if err != nil {
		return Verified{}, err
	}
	out := Verified{Unlisted: res.unlisted, Unconfirmed: res.unconfirmed}
	for _, d := range res.diffs {
		out.Diffs = append(out.Diffs, t.rowDiff(d))
		out.Keys = append(out.Keys, d.key)
	}
	return out, nil
}

// KeyColumns returns the source key columns of a table the verifier can
// check: the values Check takes, in order.
func (v *Verifier) KeyColumns(table string) []string {
	if p, ok := v.pairs[table]; ok {
		return p.keyNames()
	}
	return nil
}

// Tables returns the source tables (schema.name) the verifier can check
// by key.
func (v *Verifier) Tables() []string {
	var out []string
	for name, p := range v.pairs {
		if p.skip == "" && len(p.key) > 0 {
			out = append(out, name)
		}
	}
	return out
}

// Close closes the verifier's connections.
func (v *Verifier) Close() {
	closeSides(v.cr.sides)
}
