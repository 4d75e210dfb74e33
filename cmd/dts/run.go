package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/connector/engines"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/runner"
)

func runCmd(g *globals) *cobra.Command {
	var reset bool
	var chunkRows int
	var skipDDL string
	cmd := &cobra.Command{
		Use:   "run FILE",
		Short: "Run one job file in the foreground, without a server",
		Long: "Run the job's phases in order with a live progress display, then print a summary.\n" +
			"Progress is kept on the target (dts_meta): after Ctrl-C or a crash, the same command resumes.\n" +
			"A job with the incremental phase follows the source until stopped (Ctrl-C, SIGTERM).\n" +
			"Exit status 0 when everything was copied, or when a job that follows its source was stopped.",
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
			// A foreground run is identified on the target by its name: the
			// next run of the same file resumes it.
			jobID := "run-" + spec.Name
			var ro runner.RunOptions
			if skipDDL != "" {
				if ro.SkipDDL, err = change.ParsePosition(skipDDL); err != nil {
					return usageError{fmt.Errorf("--skip-ddl: %w", err)}
				}
			}
			if reset {
				if err := forget(cmd.Context(), jobID, spec, log); err != nil {
					return err
				}
			}
			progress := runner.NewProgress()
			display := startDisplay(g, progress)
			r := runner.New(engines.Engines{}, log)
			r.ChunkRows = chunkRows
			err = r.RunWith(cmd.Context(), jobID, spec, progress, ro)
			following := progress.Phase() == runner.PhaseIncremental
			stopped := errors.Is(err, context.Canceled)
			display.stop(err == nil || following && stopped)
			switch {
			case err == nil:
				return nil
			case stopped && following:
				// Stopping a sync is how it ends: the checkpoint is on the target.
				fmt.Fprintf(g.stderr, "stopped: the incremental phase resumes from its checkpoint when run again\n")
				return nil
			case stopped:
				return errs.New("Stopped", "stopped before the job finished; progress is saved on the target").
					WithFix("run the same command again to resume")
			}
			if e, ok := errs.As(err); ok && e.Code == connector.CodeUnsupportedDDL {
				if pos, _ := e.Details["position"].(string); pos != "" {
					fmt.Fprintf(g.stderr, "the job stopped at a schema change the target cannot take (at %s): fix the target by hand and run again, "+
						"or skip the change: dts run %s --skip-ddl '%s'\n", pos, args[0], pos)
				}
			}
			return err
		},
	}
	cmd.Flags().IntVar(&chunkRows, "chunk-rows", 0, "rows per committed full-load chunk (default 20000): smaller chunks redo less after a crash")
	cmd.Flags().BoolVar(&reset, "reset", false, "forget the progress of earlier runs of this job and start over: drop its replication slot and publication\n"+
		"on a PostgreSQL source and its bookkeeping on the target\n(rows already copied stay; target.options.existing_tables decides what happens to them)")
	cmd.Flags().StringVar(&skipDDL, "skip-ddl", "", "POSITION of a schema change the target could not take (as the error showed it):\n"+
		"record it as applied without running it on the target, and go on")
	return cmd
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
