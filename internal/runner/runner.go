// Package runner runs one job: its phases in order, each resuming from what
// the job's earlier runs recorded on the target. `dts run` and the server's
// start action both run jobs through it, so a job behaves the same either way.
// Pausing is cancelling the context; resuming is running again.
package runner

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/dtsorg/dts/internal/apply"
	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/phase/fullload"
)

// Engines opens connectors for endpoints.
type Engines interface {
	OpenSource(ctx context.Context, e job.Endpoint, log *slog.Logger) (connector.Source, error)
	OpenSink(ctx context.Context, e job.Endpoint, log *slog.Logger) (connector.Sink, error)
}

// Phases of a running job, as reported.
const (
	PhaseConnecting  = "connecting"
	PhaseStructure   = "structure"
	PhaseFull        = "full"
	PhaseFinishing   = "finishing"
	PhaseIncremental = "incremental"
	PhaseDone        = "done"
)

// Progress is what a running job reports; safe for concurrent use.
type Progress struct {
	Stats *fullload.Stats
	// Apply is the incremental phase's progress.
	Apply *apply.Stats

	mu       sync.Mutex
	phase    string
	snapshot change.Position
	warnings []string
}

// NewProgress returns an empty progress report.
func NewProgress() *Progress {
	return &Progress{Stats: fullload.NewStats(), Apply: apply.NewStats(), phase: PhaseConnecting}
}

// Phase returns the current phase.
func (p *Progress) Phase() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.phase
}

// Snapshot returns the position of the full load's snapshot, once known.
func (p *Progress) Snapshot() change.Position {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.snapshot
}

// Warnings returns what the run warned about (type mapping, skipped keys).
func (p *Progress) Warnings() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.warnings...)
}

func (p *Progress) set(phase string) {
	p.mu.Lock()
	p.phase = phase
	p.mu.Unlock()
}

func (p *Progress) warn(msg string) {
	p.mu.Lock()
	p.warnings = append(p.warnings, msg)
	p.mu.Unlock()
}

// Runner runs jobs.
type Runner struct {
	engines Engines
	log     *slog.Logger
	// ChunkRows is the rows per committed full-load chunk (0: the default, 20,000).
	ChunkRows int
	// VerifyEvery and VerifyRows pace continuous verification
	// (check.incremental): a round every VerifyEvery of at most VerifyRows
	// changed rows (defaults 10 s, 200).
	VerifyEvery time.Duration
	VerifyRows  int
	// Hooks tell the caller what a run did besides moving data.
	Hooks Hooks
}

// Hooks are called by a run; any may be nil. They must not block.
type Hooks struct {
	// FullLoaded: the run completed the job's full load (not a run that
	// found it complete already). ctx ends with the run.
	FullLoaded func(ctx context.Context, jobID string, spec *Spec, progress *Progress)
	// Verified receives the rounds of continuous verification that found
	// rows different, and the first one after that found them equal.
	Verified func(jobID string, res VerifyResult)
}

// Spec is a job's configuration (job.Spec), named here for the hooks.
type Spec = job.Spec

func (h Hooks) verified(jobID string, res VerifyResult) {
	if h.Verified != nil {
		h.Verified(jobID, res)
	}
}

// New returns a runner.
func New(engines Engines, log *slog.Logger) *Runner {
	return &Runner{engines: engines, log: log.With("component", "runner"), VerifyEvery: 10 * time.Second, VerifyRows: 200}
}

// RunOptions change one run of a job.
type RunOptions struct {
	// SkipDDL is the position of a schema change the target could not take
	// (connector.CodeUnsupportedDDL, its "position" detail) that the user
	// chose to skip: this run records it as applied without carrying it.
	SkipDDL change.Position
}

// Run runs a job's phases from where its earlier runs stopped. It returns
// nil when every phase completed, ctx's error when cancelled (a pause: the
// next Run resumes), or the error that stopped it.
func (r *Runner) Run(ctx context.Context, jobID string, spec *job.Spec, progress *Progress) error {
	return r.RunWith(ctx, jobID, spec, progress, RunOptions{})
}

// RunWith is Run with options for this run.
func (r *Runner) RunWith(ctx context.Context, jobID string, spec *job.Spec, progress *Progress, ro RunOptions) error {
	log := r.log.With("job_id", jobID, "job", spec.Name)
	src, err := r.engines.OpenSource(ctx, spec.Source, log)
	if err != nil {
		return fmt.Errorf("connect to the source: %w", err)
	}
	defer src.Close()
	sink, err := r.engines.OpenSink(ctx, spec.Target, log)
	if err != nil {
		return fmt.Errorf("connect to the target: %w", err)
	}
	defer sink.Close()

	tables, comp, err := planTables(ctx, spec, src, sink, progress)
	if err != nil {
		return err
	}
	if err := sink.Claim(ctx, jobID, spec.Name); err != nil {
		return err
	}
	state, err := sink.LoadState(ctx, jobID)
	if err != nil {
		return fmt.Errorf("read the job's progress on the target: %w", err)
	}
	for _, t := range tables {
		t.State = tableState(state, t)
	}
	phases := spec.EffectivePhases()
	var (
		logSrc   connector.LogSource
		applySnk connector.ApplySink
		lj       connector.LogJob
	)
	work := tables // the tables the structure and full phases handle
	if phases.Incremental {
		if logSrc, applySnk, err = logEnds(src, sink, spec); err != nil {
			return err
		}
		lj = logJob(jobID, spec, tables)
		lj.Resumed = len(state.Runs) > 0
		if work, err = withoutLogOwned(ctx, jobID, applySnk, state, tables); err != nil {
			return err
		}
	}
	if phases.Structure {
		progress.set(PhaseStructure)
		if err := createTables(ctx, jobID, spec, sink, work); err != nil {
			return err
		}
	}
	loadedBefore := true
	for _, t := range tables {
		loadedBefore = loadedBefore && t.State.Loaded
	}
	switch {
	case phases.Full:
		progress.set(PhaseFull)
		opts := fullload.Options{
			JobID: jobID, Workers: spec.Parallelism.Max, BatchRows: spec.Target.Options.BatchRows, ChunkRows: r.ChunkRows,
			Logger: log, Stats: progress.Stats,
		}
		if logSrc != nil {
			opts.OpenSnapshot = func(ctx context.Context, readers int) (connector.Snapshot, error) {
				snap, err := logSrc.OpenLogSnapshot(ctx, lj, readers)
				if err != nil || lj.Resumed {
					return snap, err
				}
				// The job's first snapshot: the schema history starts at its
				// position. Saved before the full load records the run: a run
				// that dies in between leaves structures at a position no run
				// starts from, and the next first snapshot saves its own at a
				// later one, which LoadSchemas prefers.
				if err := seedHistory(ctx, jobID, applySnk, snap, tables); err != nil {
					snap.Close()
					return nil, err
				}
				return snap, nil
			}
		}
		pos, err := fullload.Run(ctx, src, sink, work, opts)
		if err != nil {
			return err
		}
		progress.mu.Lock()
		progress.snapshot = pos
		progress.mu.Unlock()
		if !loadedBefore && r.Hooks.FullLoaded != nil {
			r.Hooks.FullLoaded(ctx, jobID, spec, progress)
		}
	case phases.Structure:
		progress.set(PhaseFinishing)
		if err := finishStructure(ctx, jobID, sink, work); err != nil {
			return err
		}
	}
	if phases.Incremental {
		return r.follow(ctx, jobID, spec, logSrc, applySnk, lj, tables, comp, progress, ro, log)
	}
	progress.set(PhaseDone)
	return nil
}

func tableState(st *connector.LoadState, t *fullload.Table) *connector.TableState {
	if ts, ok := st.Tables[t.Source.QualifiedName()]; ok {
		return ts
	}
	return &connector.TableState{Table: t.Source.QualifiedName(), Target: t.Target.QualifiedName()}
}
