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
	"github.com/dtsorg/dts/internal/connector/engines"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/runner"
)

func runCmd(g *globals) *cobra.Command {
	var reset bool
	var chunkRows int
	var dir string
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
			if err := spec.Validate(); err != nil {
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
			return runJob(cmd.Context(), g, spec, runOptions{reset: reset, chunkRows: chunkRows, dir: dir}, log)
		},
	}
	cmd.Flags().IntVar(&chunkRows, "chunk-rows", 0, "rows per committed full-load chunk (default 20000): smaller chunks redo less after a crash")
	cmd.Flags().BoolVar(&reset, "reset", false, "forget the progress of earlier runs of this job and start over\n(rows already copied stay; target.options.existing_tables decides what happens to them)")
	cmd.Flags().StringVar(&dir, "dir", "", "where a compare (check jobs, check.full) keeps its repair SQL and resume state (default dts-compare/<job name>)")
	return cmd
}

type runOptions struct {
	reset     bool
	chunkRows int
	dir       string
}

// runJob runs a migration or sync job in the foreground.
func runJob(ctx context.Context, g *globals, spec *job.Spec, o runOptions, log *slog.Logger) error {
	// A foreground run is identified on the target by its name: the
	// next run of the same file resumes it.
	jobID := "run-" + spec.Name
	if o.reset {
		if err := forget(ctx, jobID, spec.Target, log); err != nil {
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
	err := r.Run(ctx, jobID, spec, progress)
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

// forget removes the bookkeeping earlier runs left on the target. The rows
// they copied stay: target.options.existing_tables says what the next run
// does with them.
func forget(ctx context.Context, jobID string, target job.Endpoint, log *slog.Logger) error {
	sink, err := engines.Engines{}.OpenSink(ctx, target, log)
	if err != nil {
		return fmt.Errorf("connect to the target: %w", err)
	}
	defer sink.Close()
	return sink.Forget(ctx, jobID)
}
