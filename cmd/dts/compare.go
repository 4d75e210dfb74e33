package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/dtsorg/dts/internal/compare"
	"github.com/dtsorg/dts/internal/connector/engines"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/transform"
)

// codeDifferent is the exit error of a compare that found differences.
const codeDifferent = "Compare.Different"

func compareCmd(g *globals) *cobra.Command {
	var (
		typ, dir      string
		tables        []string
		sample, hours float64
		repair, reset bool
		chunkRows     int
		maxDiffs      int
		recheck       time.Duration
	)
	cmd := &cobra.Command{
		Use:   "compare FILE",
		Short: "Compare the source and target of a job file, without a server",
		Long: "Compare what the job moves on its source and target: objects (structure), rows (counts) or content\n" +
			"(every value, by chunk checksums computed in each database, bisected down to rows).\n" +
			"Prints a table per table and the differing rows; writes the repair SQL for the target to DIR/repair.sql,\n" +
			"and applies it with --repair. A stopped content compare resumes from DIR/state.jsonl.\n" +
			"Exit status 0 only when everything is equal (or was repaired).",
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
			p := compare.CheckParams(spec)
			if typ != "" {
				p.Type = typ
			}
			if cmd.Flags().Changed("sample") {
				p.SamplePercent = sample
			}
			if cmd.Flags().Changed("max-hours") {
				p.MaxHours = hours
			}
			p.Tables, p.Repair = tables, repair
			if err := p.Validate("--"); err != nil {
				return err
			}
			log, err := g.logger()
			if err != nil {
				return usageError{err}
			}
			if dir == "" {
				dir = filepath.Join("dts-compare", spec.Name)
			}
			opts := p.Options(spec)
			opts.ChunkRows, opts.MaxRowDiffs = chunkRows, maxDiffs
			if cmd.Flags().Changed("recheck-delay") {
				opts.RecheckDelay = recheck
				if recheck == 0 {
					opts.Rechecks = -1
				}
			}
			return runCompare(cmd.Context(), g, spec, opts, dir, reset, log)
		},
	}
	f := cmd.Flags()
	f.StringVar(&typ, "type", "", "objects, rows or content (default: the job's check.full.mode, else content)")
	f.StringSliceVar(&tables, "tables", nil, "compare only these source tables (schema.table or table), comma-separated")
	f.Float64Var(&sample, "sample", 100, "percent of the chunks a content compare checks")
	f.Float64Var(&hours, "max-hours", 0, "stop after this many hours (0: no limit); unfinished tables are reported incomplete")
	f.BoolVar(&repair, "repair", false, "apply the repair SQL to the target when the compare ends")
	f.StringVar(&dir, "dir", "", "where the repair SQL and the resume state go (default dts-compare/<job name>)")
	f.BoolVar(&reset, "reset", false, "forget the state of a stopped compare and start over")
	f.IntVar(&chunkRows, "chunk-rows", 0, "rows per checksummed chunk (default 25000)")
	f.IntVar(&maxDiffs, "max-diffs", 0, "row differences listed per table (default 100; all are counted)")
	f.DurationVar(&recheck, "recheck-delay", 2*time.Second, "wait before checking differing rows again (a sync may be applying them); 0: no re-check")
	return cmd
}

// compareRun is one foreground compare of a job file.
type compareRun struct {
	spec  *job.Spec
	opts  compare.Options
	dir   string // where the repair SQL and the resume state go
	reset bool
	// quiet: no live display (another one is on the screen).
	quiet bool
}

func runCompare(ctx context.Context, g *globals, spec *job.Spec, opts compare.Options, dir string, reset bool, log *slog.Logger) error {
	if opts.Follower == nil {
		// A `dts run` of the same file may be applying changes now: its
		// checkpoints on the target say how far it has got.
		f, closeF, err := compare.NewCheckpointFollower(ctx, engines.Engines{}, spec.Target, "run-"+spec.Name, log)
		if err != nil {
			return err
		}
		defer closeF()
		if f != nil {
			if _, running, err := f.Applied(ctx); err == nil && running {
				opts.Follower = f
			}
		}
	}
	rep, err := (&compareRun{spec: spec, opts: opts, dir: dir, reset: reset}).run(ctx, g, log)
	if err != nil {
		return err
	}
	return compareOutcome(rep)
}

// run runs the compare, keeps the repair SQL and prints the report.
func (c *compareRun) run(ctx context.Context, g *globals, log *slog.Logger) (*compare.Report, error) {
	journal := &compare.FileJournal{Path: filepath.Join(c.dir, "state.jsonl")}
	if c.reset {
		if err := journal.Remove(); err != nil {
			return nil, fmt.Errorf("forget the compare state: %w", err)
		}
	}
	repairFile := filepath.Join(c.dir, "repair.sql")
	progress := compare.NewProgress()
	cmp := &compare.Compare{Spec: c.spec, Options: c.opts, Journal: journal, Engines: engines.Engines{}, Log: log,
		Progress: progress, RepairFile: repairFile}
	var display *compareDisplay
	if !c.quiet {
		display = startCompareDisplay(g, progress)
	}
	res, err := cmp.Run(ctx)
	if display != nil {
		display.stop()
	}
	switch {
	case errors.Is(err, context.Canceled):
		return nil, errs.New("Stopped", "stopped before the compare finished; its progress is in %s", journal.Path).
			WithFix("run dts compare on the same file (with --dir %s) to resume; --reset starts over", c.dir)
	case err != nil:
		return nil, err
	}
	rep := res.Report
	if rep.TimeLimited {
		// Cut short by max_hours: the state stays so that the next run resumes.
		fmt.Fprintf(g.stderr, "the time limit ended the compare; run it again to continue from %s\n", journal.Path)
	} else if err := journal.Remove(); err != nil {
		return nil, fmt.Errorf("remove the compare state: %w", err)
	}
	if len(res.Script) > 0 {
		if err := writeScript(repairFile, res.Script); err != nil {
			return nil, err
		}
	} else if err := os.Remove(repairFile); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove the old repair SQL: %w", err)
	}
	if g.output == "json" {
		writeJSON(g.stdout, rep)
	} else {
		printReport(g, rep)
	}
	return rep, nil
}

// compareOutcome is the exit error of a finished compare: nil only when
// everything is equal, or differed and was repaired and found equal after.
func compareOutcome(rep *compare.Report) error {
	switch {
	case rep.Repair != nil && rep.Repair.Applied && rep.Repair.Verified && rep.Repair.StillDifferent > 0:
		return errs.New(codeDifferent, "the repair was applied but %d rows still differ when compared again", rep.Repair.StillDifferent).
			WithFix("something on the target undoes the repair (a trigger, a writer, a sync job writing the other way): find it, then compare again")
	case rep.Differs() && !rep.Repair.Repaired():
		return errs.New(codeDifferent, "the source and the target differ").
			WithFix("see the report; apply the repair SQL (dts compare --repair, or run it with the target's client)")
	case rep.Status == compare.StatusIncomplete:
		return errs.New("Compare.Incomplete", "some tables were not compared completely").WithFix("see the reasons in the report; run the compare again")
	}
	return nil
}

func writeScript(path string, stmts []string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("write the repair SQL: %w", err)
	}
	var b strings.Builder
	b.WriteString("-- dts compare: repair SQL for the target; every statement can run again\n")
	for _, s := range stmts {
		b.WriteString(s)
		b.WriteString(";\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write the repair SQL: %w", err)
	}
	return nil
}

// printReport prints a compare report for people: a line per table, the
// differences, and the repair SQL.
func printReport(g *globals, r *compare.Report) {
	rows := make([][]string, 0, len(r.Tables))
	num := func(p *int64) string {
		if p == nil {
			return "-"
		}
		return strconv.FormatInt(*p, 10)
	}
	for _, t := range r.Tables {
		rows = append(rows, []string{t.Table, t.Target, t.Status, t.Mode, num(t.SourceRows), num(t.TargetRows),
			strconv.FormatInt(t.Missing, 10), strconv.FormatInt(t.Extra, 10), strconv.FormatInt(t.Changed, 10)})
	}
	table(g.stdout, []string{"TABLE", "TARGET", "STATUS", "MODE", "SOURCE ROWS", "TARGET ROWS", "MISSING", "EXTRA", "CHANGED"}, rows)
	for _, t := range r.Tables {
		if t.Reason == "" && len(t.Objects) == 0 && len(t.Rows) == 0 && t.Unlisted == 0 {
			continue
		}
		fmt.Fprintf(g.stdout, "\n%s:\n", t.Table)
		if t.Reason != "" {
			fmt.Fprintf(g.stdout, "  %s\n", t.Reason)
		}
		for _, o := range t.Objects {
			fmt.Fprintf(g.stdout, "  %s %s", o.Kind, o.Object)
			if o.Expected != "" || o.Actual != "" {
				fmt.Fprintf(g.stdout, " (expected %s, found %s)", orNone(o.Expected), orNone(o.Actual))
			}
			fmt.Fprintln(g.stdout)
		}
		for _, d := range t.Rows {
			fmt.Fprintf(g.stdout, "  %-7s %s", d.Kind, cells(d.Key))
			for _, c := range d.Columns {
				name := c.Column
				if c.SourceColumn != "" {
					name += " (source " + c.SourceColumn + ")"
				}
				fmt.Fprintf(g.stdout, "  %s: %s → %s", name, shown(c.Source), shown(c.Target))
			}
			fmt.Fprintln(g.stdout)
		}
		if more := t.Missing + t.Extra + t.Changed - int64(len(t.Rows)); more > 0 {
			fmt.Fprintf(g.stdout, "  … and %d more rows\n", more)
		}
		if t.Unlisted > 0 {
			fmt.Fprintf(g.stdout, "  %d more differences not listed (beyond the repair bound): compare again after repairing\n", t.Unlisted)
		}
		if t.Unconfirmed > 0 {
			fmt.Fprintf(g.stdout, "  %d rows could not be confirmed while a sync applied changes: compare again\n", t.Unconfirmed)
		}
	}
	if len(r.ExtraTables) > 0 {
		fmt.Fprintf(g.stdout, "\non the target only: %s\n", strings.Join(r.ExtraTables, ", "))
	}
	if x := r.Repair; x != nil && x.Statements > 0 {
		fmt.Fprintf(g.stdout, "\nrepair SQL (%s, %d statements): %s\n", x.Dialect, x.Statements, x.File)
		switch {
		case x.Applied && x.Verified && x.StillDifferent > 0:
			fmt.Fprintf(g.stdout, "repair applied to the target, but %d rows still differ when compared again\n", x.StillDifferent)
		case x.Applied && x.Unconfirmed > 0:
			fmt.Fprintf(g.stdout, "repair applied to the target; %d repaired rows could not be confirmed while a sync applied changes\n", x.Unconfirmed)
		case x.Applied:
			fmt.Fprintln(g.stdout, "repair applied to the target and the repaired rows compared equal")
		case x.Error != "":
			fmt.Fprintf(g.stdout, "repair failed: %s\n", x.Error)
		}
	}
	fmt.Fprintf(g.stdout, "\n%s compare: %s (%d tables in %s)\n", r.Type, r.Status, len(r.Tables), time.Duration(r.Seconds*float64(time.Second)).Round(time.Millisecond))
}

func cells(cs []compare.Cell) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = c.Column + "=" + shown(c.Value)
	}
	return strings.Join(parts, " ")
}

func shown(v *string) string {
	if v == nil {
		return "NULL"
	}
	return strconv.Quote(*v)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// compareDisplay shows a running compare: a bar per table (chunks) on a
// terminal, a log line per table every few seconds otherwise.
type compareDisplay struct {
	quit, done chan struct{}
}

func startCompareDisplay(g *globals, p *compare.Progress) *compareDisplay {
	d := &compareDisplay{quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(d.done)
		if isTerminal(g.stderr) && g.output != "json" {
			compareBars(g, p, d.quit)
		} else {
			compareLines(g, p, d.quit)
		}
	}()
	return d
}

func (d *compareDisplay) stop() {
	close(d.quit)
	<-d.done
}

func compareBars(g *globals, p *compare.Progress, quit chan struct{}) {
	pb := mpb.New(mpb.WithOutput(g.stderr), mpb.WithRefreshRate(200*time.Millisecond), mpb.WithWidth(40))
	bars := map[*compare.TableProgress]*mpb.Bar{}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	update := func(final bool) {
		for _, t := range p.Tables() {
			b, ok := bars[t]
			if !ok {
				b = pb.AddBar(max(t.Chunks.Load(), 1),
					mpb.PrependDecorators(decor.Name(t.Name, decor.WCSyncSpaceR)),
					mpb.AppendDecorators(
						decor.CountersNoUnit("%d / %d chunks", decor.WCSyncSpace),
						decor.Any(func(decor.Statistics) string {
							return fmt.Sprintf("%d rows  %d differences", t.Rows.Load(), t.Diffs.Load())
						}, decor.WCSyncSpace),
					))
				bars[t] = b
			}
			if t.Ended.Load() {
				b.SetTotal(max(t.Done.Load(), 1), true)
				continue
			}
			b.SetTotal(max(t.Chunks.Load(), t.Done.Load()+1), false)
			b.SetCurrent(t.Done.Load())
			if final {
				b.Abort(false)
			}
		}
	}
	for {
		select {
		case <-tick.C:
			update(false)
		case <-quit:
			update(true)
			pb.Wait()
			return
		}
	}
}

func compareLines(g *globals, p *compare.Progress, quit chan struct{}) {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			for _, t := range p.Tables() {
				if !t.Ended.Load() {
					fmt.Fprintf(g.stderr, "progress phase=%s table=%s chunks=%d/%d rows=%d differences=%d\n",
						p.Phase(), t.Name, t.Done.Load(), t.Chunks.Load(), t.Rows.Load(), t.Diffs.Load())
				}
			}
		case <-quit:
			return
		}
	}
}
