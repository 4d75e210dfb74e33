package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/dtsorg/dts/internal/apply"
	"github.com/dtsorg/dts/internal/phase/fullload"
	"github.com/dtsorg/dts/internal/runner"
)

// display shows a running job's progress: a bar per table on a terminal,
// a log line per table every few seconds otherwise, and a summary at the end.
type display struct {
	g        *globals
	progress *runner.Progress
	start    time.Time
	quit     chan struct{}
	done     chan struct{}
}

func startDisplay(g *globals, p *runner.Progress) *display {
	d := &display{g: g, progress: p, start: time.Now(), quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(d.done)
		if isTerminal(g.stderr) && g.output != "json" {
			d.bars()
		} else {
			d.lines()
		}
	}()
	return d
}

// stop ends the live display and prints the summary.
func (d *display) stop(ok bool) {
	close(d.quit)
	<-d.done
	d.summary(ok)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// bars draws one bar per table: rows done / total, rows/s, ETA.
func (d *display) bars() {
	p := mpb.New(mpb.WithOutput(d.g.stderr), mpb.WithRefreshRate(200*time.Millisecond), mpb.WithWidth(40))
	bars := map[*fullload.TableStats]*mpb.Bar{}
	var follow *mpb.Bar // the incremental phase's line
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	update := func(final bool) {
		if follow == nil && d.progress.Phase() == runner.PhaseIncremental {
			follow = p.New(0, mpb.NopStyle(), mpb.PrependDecorators(decor.Any(func(decor.Statistics) string {
				a := d.progress.Apply.Snapshot()
				return fmt.Sprintf("incremental  applied %d rows  %.0f rows/s  delay %s  at %s", a.AppliedRows, a.RowsPerSecond, delayText(a), a.Position)
			})))
		}
		if follow != nil && final {
			follow.Abort(false)
		}
		for _, t := range d.progress.Stats.Tables() {
			b, ok := bars[t]
			if !ok {
				b = p.AddBar(max(t.Estimated.Load(), 1),
					mpb.PrependDecorators(decor.Name(t.Name, decor.WCSyncSpaceR)),
					mpb.AppendDecorators(
						decor.CountersNoUnit("%d / %d", decor.WCSyncSpace),
						decor.AverageSpeed(0, " %.0f rows/s", decor.WCSyncSpace),
						decor.OnComplete(decor.AverageETA(decor.ET_STYLE_GO, decor.WCSyncSpace), " done"),
					))
				bars[t] = b
			}
			rows, est := t.Rows.Load(), t.Estimated.Load()
			if t.Loaded.Load() {
				b.SetTotal(rows, true)
				continue
			}
			b.SetTotal(max(est, rows+1), false)
			b.SetCurrent(rows)
			if final {
				b.Abort(false)
			}
		}
	}
	for {
		select {
		case <-tick.C:
			update(false)
		case <-d.quit:
			update(true)
			p.Wait()
			return
		}
	}
}

// lines logs progress every 5 seconds, for logs and CI.
func (d *display) lines() {
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			phase := d.progress.Phase()
			if phase == runner.PhaseIncremental {
				a := d.progress.Apply.Snapshot()
				fmt.Fprintf(d.g.stderr, "progress phase=incremental applied=%d rate=%.0f/s delay=%s position=%s\n",
					a.AppliedRows, a.RowsPerSecond, delayText(a), a.Position)
				continue
			}
			for _, t := range d.progress.Stats.Tables() {
				if t.Loaded.Load() {
					continue
				}
				rows, est := t.Rows.Load(), t.Estimated.Load()
				rate := float64(rows) / time.Since(t.Started).Seconds()
				eta := "-"
				if rate > 0 && est > rows {
					eta = (time.Duration(float64(est-rows)/rate) * time.Second).Round(time.Second).String()
				}
				fmt.Fprintf(d.g.stderr, "progress phase=%s table=%s rows=%d/%d rate=%.0f/s eta=%s\n", phase, t.Name, rows, est, rate, eta)
			}
		case <-d.quit:
			return
		}
	}
}

// summary prints what was copied.
func (d *display) summary(ok bool) {
	elapsed := time.Since(d.start)
	tables := d.progress.Stats.Tables()
	var total int64
	rows := make([][]string, 0, len(tables))
	type tableJSON struct {
		Table  string `json:"table"`
		Target string `json:"target"`
		Rows   int64  `json:"rows"`
		Loaded bool   `json:"loaded"`
	}
	var js []tableJSON
	for _, t := range tables {
		n := t.Rows.Load()
		total += n
		status := "copied"
		if !t.Loaded.Load() {
			status = "incomplete"
		}
		rows = append(rows, []string{t.Name, t.Target, strconv.FormatInt(n, 10), status})
		js = append(js, tableJSON{t.Name, t.Target, n, t.Loaded.Load()})
	}
	a := d.progress.Apply.Snapshot()
	if d.g.output == "json" {
		out := map[string]any{"ok": ok, "phase": d.progress.Phase(), "seconds": elapsed.Seconds(),
			"rows": total, "tables": js, "snapshot": d.progress.Snapshot().String(), "warnings": d.progress.Warnings()}
		if !a.Position.IsZero() {
			out["incremental"] = map[string]any{"applied_rows": a.AppliedRows, "position": a.Position.String()}
		}
		writeJSON(d.g.stdout, out)
		return
	}
	if len(rows) > 0 {
		table(d.g.stdout, []string{"TABLE", "TARGET", "ROWS", "STATUS"}, rows)
	}
	for _, w := range d.progress.Warnings() {
		fmt.Fprintf(d.g.stdout, "warning: %s\n", w)
	}
	rate := float64(total) / max(elapsed.Seconds(), 0.001)
	fmt.Fprintf(d.g.stdout, "%d rows in %d tables in %s (%.0f rows/s)", total, len(tables), elapsed.Round(time.Millisecond), rate)
	if pos := d.progress.Snapshot(); !pos.IsZero() {
		fmt.Fprintf(d.g.stdout, "; source position %s", pos)
	}
	fmt.Fprintln(d.g.stdout)
	if !a.Position.IsZero() {
		fmt.Fprintf(d.g.stdout, "incremental: %d row changes applied; everything up to %s is on the target\n", a.AppliedRows, a.Position)
	}
}

// delayText shows the apply delay, "?" while the run cannot tell it yet.
func delayText(a apply.StatsSnapshot) string {
	if !a.DelayKnown {
		return "?"
	}
	return fmt.Sprintf("%.1fs", a.Delay.Seconds())
}
