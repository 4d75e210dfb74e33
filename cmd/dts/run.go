package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/dtsorg/dts/internal/connector/engines"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/runner"
	"github.com/dtsorg/dts/internal/transform"
)

func runCmd(g *globals) *cobra.Command {
	var reset bool
	var chunkRows int
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
			if err := transform.ValidateSpec(spec); err != nil {
				return err
			}
			log, err := g.logger()
			if err != nil {
				return usageError{err}
			}
			// A foreground run is identified on the target by its name: the
			// next run of the same file resumes it.
			jobID := "run-" + spec.Name
			if reset {
				if err := forget(cmd.Context(), jobID, spec.Target, log); err != nil {
					return err
				}
			}
			progress := runner.NewProgress()
			display := startDisplay(g, progress)
			r := runner.New(engines.Engines{}, log)
			r.ChunkRows = chunkRows
			err = r.Run(cmd.Context(), jobID, spec, progress)
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
			return err
		},
	}
	cmd.Flags().IntVar(&chunkRows, "chunk-rows", 0, "rows per committed full-load chunk (default 20000): smaller chunks redo less after a crash")
	cmd.Flags().BoolVar(&reset, "reset", false, "forget the progress of earlier runs of this job and start over\n(rows already copied stay; target.options.existing_tables decides what happens to them)")
	return cmd
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
