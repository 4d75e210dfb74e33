package runner

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/dtsorg/dts/internal/apply"
	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/phase/fullload"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/transform"
)

// logEnds returns the source and sink as the incremental phase needs them.
func logEnds(src connector.Source, sink connector.Sink, spec *job.Spec) (connector.LogSource, connector.ApplySink, error) {
	ls, ok := src.(connector.LogSource)
	if !ok {
		return nil, nil, errs.New(errs.NotAvailable, "incremental sync from a %s source is not available in this version", spec.Source.Engine)
	}
	as, ok := sink.(connector.ApplySink)
	if !ok {
		return nil, nil, errs.New(errs.NotAvailable, "incremental sync into a %s target is not available in this version", spec.Target.Engine)
	}
	return ls, as, nil
}

// logJob names what the job follows in the source's log.
func logJob(jobID string, spec *job.Spec, tables []*fullload.Table) connector.LogJob {
	lj := connector.LogJob{JobID: jobID, JobName: spec.Name, Slot: spec.Source.Options.Slot,
		Publication: spec.Source.Options.Publication, ServerID: spec.Source.Options.ServerID}
	for _, t := range tables {
		lj.Tables = append(lj.Tables, connector.TableRef{Schema: t.Source.Schema, Name: t.Source.Name})
	}
	return lj
}

// Backoff between attempts to follow again after a transient failure.
const (
	retryFirst = 250 * time.Millisecond
	retryMax   = 30 * time.Second
)

// follow runs the incremental phase until ctx ends or an error stops it:
// the log from where the full load's snapshot (or start_position) left off,
// applied with checkpoints in the target. Every restart resumes from the
// checkpoints; nothing is lost or applied twice.
//
// A transient failure (a target or source restarting, a connection lost, a
// deadlock: connector.IsTransient) tears the attempt down - the stream, the
// coordinator, its connections and open transactions - and follows again
// from the target's checkpoints after a backoff (250 ms doubling to 30 s,
// back to 250 ms once an attempt applied something). The checkpoints make
// the retry exactly-once, as for a restarted job. Any other error stops the
// job.
func (r *Runner) follow(ctx context.Context, jobID string, spec *job.Spec, src connector.LogSource, sink connector.ApplySink,
	lj connector.LogJob, tables []*fullload.Table, comp *transform.Compiler, progress *Progress, ro RunOptions, log *slog.Logger) error {
	var classifiers []connector.TransientClassifier
	for _, c := range []any{sink, src} {
		if tc, ok := c.(connector.TransientClassifier); ok {
			classifiers = append(classifiers, tc)
		}
	}
	delay := retryFirst
	for attempt := 1; ; attempt++ {
		before := progress.Apply.Snapshot().Position
		err := r.followOnce(ctx, jobID, spec, src, sink, lj, tables, comp, progress, ro, log)
		if err == nil || ctx.Err() != nil || !connector.IsTransient(err, classifiers...) {
			return err
		}
		if change.Compare(progress.Apply.Snapshot().Position, before) > 0 {
			delay = retryFirst
		}
		progress.Apply.Retried(err)
		log.WarnContext(ctx, "incremental sync lost a connection; following again from the target's checkpoints",
			"err", err.Error(), "attempt", attempt, "in", delay.String())
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		delay = min(2*delay, retryMax)
	}
}

// followOnce is one attempt of follow: a coordinator and a stream from the
// target's checkpoints, until an error or ctx ends.
func (r *Runner) followOnce(ctx context.Context, jobID string, spec *job.Spec, src connector.LogSource, sink connector.ApplySink,
	lj connector.LogJob, tables []*fullload.Table, comp *transform.Compiler, progress *Progress, ro RunOptions, log *slog.Logger) error {
	start, safeUntil, err := r.startPosition(ctx, jobID, spec, src, sink, lj, tables)
	if err != nil {
		return err
	}
	st, err := sink.LoadState(ctx, jobID)
	if err != nil {
		return fmt.Errorf("read the job's progress on the target: %w", err)
	}
	coord, err := apply.New(ctx, apply.Options{
		JobID: jobID, Sink: sink, Workers: spec.Parallelism.Max, Start: start, SafeUntil: safeUntil,
		SourceEngine: string(spec.Source.Engine), CarryDDL: spec.CarriesDDL, BatchRows: spec.Target.Options.BatchRows,
		BlockRouting: spec.Target.Engine.IsMySQL(),
		SkipDDL:      ro.SkipDDL,
		Plan: func(src *schema.Table) (*apply.TablePlan, error) {
			p, err := comp.Compile(src)
			if err != nil || p == nil {
				return nil, err
			}
			for _, pr := range p.Problems {
				if pr.Fatal {
					return nil, errs.New(CodeUnsupportedType, "table %s column %s (%s): %s", src, pr.Column, pr.Type, pr.Reason).
						WithFix("leave the table or column out of the job, or change its type on the source")
				}
			}
			return &apply.TablePlan{Target: p.Target, Rules: p, Window: tableWindow(spec, st, p)}, nil
		},
		Logger: log, Stats: progress.Apply,
	})
	if err != nil {
		return err
	}
	defer coord.Close()
	from := coord.StartPosition()
	structures, err := sink.LoadSchemas(ctx, jobID, from)
	if err != nil {
		return fmt.Errorf("read the schema history: %w", err)
	}
	if len(structures) == 0 {
		// The job's first follow from a source whose snapshot reads no
		// structures (seedHistory), or from a start_position: the planned
		// structures stand for the ones the first events were written
		// under (PostgreSQL's RELATION messages correct them; a MySQL
		// start_position in the past has the limit docs/design/incremental.md
		// describes).
		for _, t := range tables {
			structures = append(structures, t.Source)
		}
		if err := sink.SaveSchemas(ctx, jobID, from, structures); err != nil {
			return fmt.Errorf("record the schema history: %w", err)
		}
	} else if added := newTables(structures, tables); len(added) > 0 {
		// Tables added to a running job: their changes before their own
		// snapshot are skipped, the ones after decode with this structure.
		if err := sink.SaveSchemas(ctx, jobID, from, added); err != nil {
			return fmt.Errorf("record the schema history: %w", err)
		}
		structures = append(structures, added...)
	}
	stream, err := src.Follow(ctx, lj, from, structures)
	if err != nil {
		return err
	}
	defer stream.Close()
	if spec.Check.Incremental.Enabled {
		var stopVerify func()
		stream, stopVerify = r.startVerify(ctx, jobID, spec, stream, progress, log)
		defer stopVerify()
	}
	progress.set(PhaseIncremental)
	log.InfoContext(ctx, "following the source", "from", from.String(), "workers", coord.Workers())
	return coord.Run(ctx, stream)
}

// startPosition is where a job's first follow starts, and the end of its
// replay window: after a full load, its first snapshot (the window reaches
// to the last one's); else start_position, or where the log is now. The
// position is recorded on the target (as a run) before anything follows
// it, so a restart starts at the same place.
func (r *Runner) startPosition(ctx context.Context, jobID string, spec *job.Spec, src connector.LogSource, sink connector.ApplySink,
	lj connector.LogJob, tables []*fullload.Table) (start, safeUntil change.Position, err error) {
	st, err := sink.LoadState(ctx, jobID)
	if err != nil {
		return start, safeUntil, fmt.Errorf("read the job's progress on the target: %w", err)
	}
	if len(st.Runs) > 0 {
		return st.Runs[0], connector.ReplayWindowEnd(st.Runs), nil
	}
	if spec.StartPosition != "" {
		sp, err := job.ParseStartPosition(spec.StartPosition)
		if err != nil {
			return start, safeUntil, errs.Invalid([]errs.FieldError{{Path: "start_position", Message: err.Error()}})
		}
		if start, err = src.ResolveStart(ctx, lj, sp); err != nil {
			return start, safeUntil, err
		}
	} else {
		snap, err := src.OpenLogSnapshot(ctx, lj, 1)
		if err != nil {
			return start, safeUntil, fmt.Errorf("read the source's log position: %w", err)
		}
		start = snap.Position()
		err = seedHistory(ctx, jobID, sink, snap, tables)
		snap.Close()
		if err != nil {
			return start, safeUntil, err
		}
	}
	if err := sink.AddRun(ctx, jobID, start); err != nil {
		return start, safeUntil, fmt.Errorf("record the start position: %w", err)
	}
	return start, change.Position{}, nil
}

// tableWindow is how a table's changes meet its copied rows, from the
// full-load runs its rows come from (TableState.FirstRun, LastRun); nil
// (the job's replay window) when they were not recorded.
//
// MySQL snapshots are exact (the binlog position is read under the
// snapshot's lock): changes up to the first run's position are in every
// row and skipped, changes up to the last run's position are applied
// idempotently, the rest strictly. A table added to a running job is
// copied from a new snapshot: its older changes are skipped.
//
// PostgreSQL: only the first run's snapshot is exact (exported by the
// replication slot's creation); a later run's position is the WAL position
// read beside its snapshot, and a transaction committing at that instant
// can be before it yet invisible to the snapshot. So nothing is skipped:
// the table's changes are applied idempotently from the job's start up to
// its last run's position. Merged tables are applied strictly instead: an
// idempotent replay could overwrite the row of another source table with
// the same key (a merged table whose copy was interrupted may then stop
// with Apply.Divergence on a change its copy already holds; reset it).
func tableWindow(spec *job.Spec, st *connector.LoadState, p *transform.Plan) *apply.Window {
	ts := st.Tables[p.Source.QualifiedName()]
	if ts == nil || ts.FirstRun < 1 || ts.LastRun < ts.FirstRun || ts.LastRun > len(st.Runs) {
		return nil
	}
	first, last := st.Runs[ts.FirstRun-1], st.Runs[ts.LastRun-1]
	w := &apply.Window{}
	merged := len(p.Merge) > 1
	switch {
	case spec.Source.Engine.IsMySQL():
		w.From = first
		if ts.LastRun > ts.FirstRun && !merged {
			w.SafeUntil = last
		}
	case ts.LastRun > 1 && !merged:
		w.SafeUntil = last
	}
	return w
}

// newTables returns the structures of tables the schema history does not
// know yet.
func newTables(known []*schema.Table, tables []*fullload.Table) []*schema.Table {
	have := map[string]bool{}
	for _, t := range known {
		have[t.QualifiedName()] = true
	}
	var out []*schema.Table
	for _, t := range tables {
		if !have[t.Source.QualifiedName()] {
			out = append(out, t.Source)
		}
	}
	return out
}
