package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dtsorg/dts/internal/connector/engines"
	"github.com/dtsorg/dts/internal/control"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/precheck"
	"github.com/dtsorg/dts/internal/transform"
)

func precheckCmd(g *globals) *cobra.Command {
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "precheck FILE",
		Short: "Check a job file against its source and target before any row moves",
		Long: "Run every precheck item that applies to the job against its real source and target:\n" +
			"connectivity, versions, privileges, binlog/WAL settings, keys, types, character sets,\n" +
			"target names, packet sizes, disk space. Each item says what to fix (the SQL where there is some).\n" +
			"Exit status 0 when no item fails (warnings allowed), 1 when one does, 2 for an invalid job file.",
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
			// The same id as dts run: the target's bookkeeping knows its earlier runs.
			jobID := "run-" + spec.Name
			rep := precheck.Run(cmd.Context(), spec, precheck.Options{JobID: jobID, Engines: engines.Engines{}, Logger: log, CheckTimeout: timeout})
			if err := cmd.Context().Err(); err != nil {
				return errs.New("Stopped", "the precheck was interrupted")
			}
			res := precheck.Summarize(rep.Record(jobID))
			if g.output == "json" {
				writeJSON(g.stdout, res)
			} else {
				showPrecheck(g.stdout, res)
			}
			if res.Status == precheck.Failed {
				return errs.New(control.CodePrecheckFailed, "%d precheck items fail: %s", len(res.Failing), strings.Join(res.Failing, ", ")).
					WithFix("fix each failed item as it says and run dts precheck again")
			}
			return nil
		},
	}
	cmd.Flags().DurationVar(&timeout, "check-timeout", 2*time.Minute, "how long one check may take")
	return cmd
}

// showPrecheck prints one line per item, and under each item that did not
// pass what to fix and the SQL that fixes it.
func showPrecheck(w io.Writer, r *precheck.Result) {
	width := 0
	for _, it := range r.Items {
		width = max(width, len(it.ID))
	}
	for _, it := range r.Items {
		fmt.Fprintf(w, "%-8s %-*s  %s\n", strings.ToUpper(it.Status), width, it.ID, it.Message)
		if it.Status == precheck.Passed {
			continue
		}
		indent := strings.Repeat(" ", 9+width+2)
		if it.Skipped != nil {
			fmt.Fprintf(w, "%sskipped (%s): %s\n", indent, it.Skipped.Status, it.Skipped.Reason)
		}
		if it.Fix != "" {
			fmt.Fprintf(w, "%sfix: %s\n", indent, it.Fix)
		}
		for _, q := range it.FixSQL {
			fmt.Fprintf(w, "%s  %s\n", indent, q)
		}
	}
	fmt.Fprintf(w, "\nprecheck %s: %d passed, %d warnings, %d failed, %d skipped (%.1f s)\n",
		r.Status, r.Passed, r.Warnings, r.Failed, r.Skipped, r.DurationMS/1000)
}
