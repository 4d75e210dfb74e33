package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/compare"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/connector/engines"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/runner"
	"github.com/dtsorg/dts/internal/transform"
)

func runCmd(g *globals) *cobra.Command {
	var reset bool
	var chunkRows int
	var dir, skipDDL string
	cmd := &cobra.Command{
		Use:   "run FILE",
		Short: "Run one job file in the foreground, without a server",
		Long: "Run the job's phases in order with a live progress display, then print a summary.\n" +
			"Progress is kept on the target (dts_meta): after Ctrl-C or a crash, the same command resumes.\n" +
			"A job with the incremental phase follows the source until stopped (Ctrl-C, SIGTERM).\n" +
			"A check job runs its compare (check.full, content by default) as dts compare does; a job with\n" +
			"check.full runs that compare once its full load is done and prints its report too (with -o json,\n" +
			"a second JSON document). Alerts (alerts.*) go to the job's webhooks and the log.\n" +
			"Exit status 0 when everything was copied (and compared equal), or when a job that follows its\n" +
			"source was stopped.",
		Args: exactArgs(1, "a job file"),
		RunE: func(cmd *cobra.Command, args []string) error {
			spec, err := readSpec(args[0])
			if err != nil {
				return err
			}
			spec.Normalize()
			if err := transform.ValidateSpec(spec); err != nil {
				return err
			}
			log, err := g.logger()
			if err != nil {
				return usageError{err}
			}
			if dir == "" {
				dir = filepath.Join("dts-compare", spec.Name)
			}
			if spec.Type == job.TypeCheck { // a check job compares, moving no data
				p := compare.CheckParams(spec)
				return runCompare(cmd.Context(), g, spec, p.Options(spec), dir, reset, log)
			}
			o := runOptions{reset: reset, chunkRows: chunkRows, dir: dir, file: args[0]}
			if skipDDL != "" {
				if o.run.SkipDDL, err = change.ParsePosition(skipDDL); err != nil {
					return usageError{fmt.Errorf("--skip-ddl: %w", err)}
				}
			}
			return runJob(cmd.Context(), g, spec, o, log)
		},
	}
	cmd.Flags().IntVar(&chunkRows, "chunk-rows", 0, "rows per committed full-load chunk (default 20000): smaller chunks redo less after a crash")
	cmd.Flags().BoolVar(&reset, "reset", false, "forget the progress of earlier runs of this job and start over: drop its replication slot and publication\n"+
		"on a PostgreSQL source and its bookkeeping on the target\n(rows already copied stay; target.options.existing_tables decides what happens to them)")
	cmd.Flags().StringVar(&skipDDL, "skip-ddl", "", "POSITION of a schema change the target could not take (as the error showed it):\n"+
		"record it as applied without running it on the target, and go on")
	cmd.Flags().StringVar(&dir, "dir", "", "where a compare (check jobs, check.full) keeps its repair SQL and resume state (default dts-compare/<job name>)")
	return cmd
}

type runOptions struct {
	reset     bool
	chunkRows int
	dir       string
	file      string // the job file, for the hint after a schema change the target cannot take
	run       runner.RunOptions
}

// runJob runs a migration or sync job in the foreground.
func runJob(ctx context.Context, g *globals, spec *job.Spec, o runOptions, log *slog.Logger) error {
	// A foreground run is identified on the target by its name: the
	// next run of the same file resumes it.
	jobID := "run-" + spec.Name
	if o.reset {
		if err := forget(ctx, jobID, spec, log); err != nil {
			return err
		}
	}
	progress := runner.NewProgress()
	alerts := startAlerts(ctx, jobID, spec, progress, log)
	defer alerts.close()
	r := runner.New(engines.Engines{}, log)
	r.ChunkRows = o.chunkRows
	check := &afterFull{g: g, log: log, dir: o.dir}
	r.Hooks = runner.Hooks{FullLoaded: check.start, Verified: alerts.verified}
	display := startDisplay(g, progress)
	err := r.RunWith(ctx, jobID, spec, progress, o.run)
	following := progress.Phase() == runner.PhaseIncremental
	stopped := errors.Is(err, context.Canceled)
	display.stop(err == nil || following && stopped)
	if err != nil && !stopped {
		alerts.failed(err)
	}
	checkErr := check.wait()
	switch {
	case err == nil:
		return checkErr
	case stopped && following:
		// Stopping a sync is how it ends: the checkpoint is on the target.
		fmt.Fprintf(g.stderr, "stopped: the incremental phase resumes from its checkpoint when run again\n")
		return checkErr
	case stopped:
		return errs.New("Stopped", "stopped before the job finished; progress is saved on the target").
			WithFix("run the same command again to resume")
	}
	if e, ok := errs.As(err); ok && e.Code == connector.CodeUnsupportedDDL {
		if pos, _ := e.Details["position"].(string); pos != "" {
			fmt.Fprintf(g.stderr, "the job stopped at a schema change the target cannot take (at %s): fix the target by hand and run again, "+
				"or skip the change: dts run %s --skip-ddl '%s'\n", pos, o.file, pos)
		}
	}
	return err
}

// afterFull runs a job's check.full compare once its full load is done:
// beside the incremental phase when the job follows its source.
type afterFull struct {
	g    *globals
	log  *slog.Logger
	dir  string
	done chan error
}

func (a *afterFull) start(ctx context.Context, jobID string, spec *job.Spec, progress *runner.Progress) {
	if spec.Check.Full.Mode == "" {
		return
	}
	p := compare.CheckParams(spec)
	opts := p.Options(spec)
	// The compare runs while the job applies changes: differences settle
	// at the source position the job has applied (compare.Follower).
	opts.Follower = compare.FollowerFunc(func(context.Context) (pos change.Position, running bool, err error) {
		if progress.Phase() != runner.PhaseIncremental {
			return pos, false, nil
		}
		return progress.Apply.Snapshot().Position, true, nil
	})
	a.done = make(chan error, 1)
	quiet := spec.EffectivePhases().Incremental
	a.log.InfoContext(ctx, "the full load is done: comparing (check.full)", "type", p.Type)
	go func() {
		rep, err := (&compareRun{spec: spec, opts: opts, dir: a.dir, quiet: quiet}).run(ctx, a.g, a.log)
		if err == nil {
			err = compareOutcome(rep)
		}
		a.done <- err
	}()
}

// wait returns the compare's outcome (nil when none ran).
func (a *afterFull) wait() error {
	if a.done == nil {
		return nil
	}
	return <-a.done
}

// forget removes what earlier runs left: the source's replication slot and
// publication (PostgreSQL), the bookkeeping on the target. The rows they
// copied stay: target.options.existing_tables says what the next run does
// with them.
func forget(ctx context.Context, jobID string, spec *job.Spec, log *slog.Logger) error {
	if manual, err := runner.DropLog(ctx, engines.Engines{}, jobID, spec, log); err != nil {
		return errs.New(errs.OperationDenied, "cannot reset: %v", err).
			WithFix("make the source reachable and run again (or drop them by hand: %s)", manual)
	}
	sink, err := engines.Engines{}.OpenSink(ctx, spec.Target, log)
	if err != nil {
		return fmt.Errorf("connect to the target: %w", err)
	}
	defer sink.Close()
	return sink.Forget(ctx, jobID)
}
