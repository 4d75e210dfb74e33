// Package precheck checks a job against its real source and target before
// any row moves: connectivity, versions, privileges, binlog and WAL
// settings, the selected objects, keys, types, character sets, names on the
// target, packet sizes and disk space. Every check is independent, has a
// stable id, and says what to fix (the exact SQL where there is some).
//
// Checks run concurrently (bounded, each with its own timeout) over facts
// they share: the source's tables and their structure are read once, with
// one catalog query per kind over all tables, so 10,000 tables take seconds.
// A check whose facts cannot be read fails with "not checked": an item that
// was not checked never passes.
package precheck

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/job"
)

// Statuses of an item. Skipped is never a check's outcome: it is how a
// failed or warning item that a user skipped is shown.
const (
	Passed  = "passed"
	Warning = "warning"
	Failed  = "failed"
	Skipped = "skipped"
)

// Item is the outcome of one check.
type Item = catalog.PrecheckItem

// Outcome is what a check found; the runner adds the id, title and duration.
type Outcome struct {
	Status  string
	Message string
	Fix     string
	FixSQL  []string
	Details map[string]any
}

func passed(format string, args ...any) Outcome {
	return Outcome{Status: Passed, Message: fmt.Sprintf(format, args...)}
}

func warning(format string, args ...any) Outcome {
	return Outcome{Status: Warning, Message: fmt.Sprintf(format, args...)}
}

func failed(format string, args ...any) Outcome {
	return Outcome{Status: Failed, Message: fmt.Sprintf(format, args...)}
}

// notChecked is the outcome of a check whose facts could not be read.
func notChecked(err error) Outcome {
	o := failed("not checked: %s", errText(err))
	if fix := errFix(err); fix != "" {
		o.Fix = fix
	}
	return o
}

func (o Outcome) fix(format string, args ...any) Outcome {
	o.Fix = fmt.Sprintf(format, args...)
	return o
}

func (o Outcome) sql(stmts ...string) Outcome {
	o.FixSQL = append(o.FixSQL, stmts...)
	return o
}

func (o Outcome) with(key string, value any) Outcome {
	if o.Details == nil {
		o.Details = map[string]any{}
	}
	o.Details[key] = value
	return o
}

// Options configure a precheck run.
type Options struct {
	// JobID is the job's id; the target's bookkeeping (dts_meta) knows it.
	JobID string
	// Engines opens connectors (engines.Engines{} outside tests).
	Engines Engines
	// Parallel is how many checks run at once (default 8).
	Parallel int
	// CheckTimeout bounds each check (default 2 minutes).
	CheckTimeout time.Duration
	// Logger receives what the checks log (default: discard).
	Logger *slog.Logger
}

// Report is the result of a run.
type Report struct {
	SpecHash   string    `json:"spec_hash"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	Items      []Item    `json:"items"`
}

// Run runs every check that applies to spec and returns their items in the
// registry's order. It does not fail: a check that cannot run is a failed
// item saying why. spec must be valid (job.Spec.Validate).
func Run(ctx context.Context, spec *job.Spec, o Options) *Report {
	if o.Parallel <= 0 {
		o.Parallel = 8
	}
	if o.CheckTimeout <= 0 {
		o.CheckTimeout = 2 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Report{SpecHash: SpecHash(spec), StartedAt: time.Now().UTC()}
	env := newEnv(ctx, spec, o)
	defer env.close()

	checks := Applicable(spec)
	r.Items = make([]Item, len(checks))
	sem := make(chan struct{}, o.Parallel)
	var wg sync.WaitGroup
	for i, c := range checks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			r.Items[i] = runOne(ctx, env, c, o.CheckTimeout)
		}()
	}
	wg.Wait()
	r.FinishedAt = time.Now().UTC()
	return r
}

// runOne runs a check with its timeout; a panic is a failed item, not a crash.
func runOne(ctx context.Context, env *env, c Check, timeout time.Duration) (item Item) {
	start := time.Now()
	item = Item{ID: c.ID, Title: c.Title}
	defer func() {
		if p := recover(); p != nil {
			env.log.Error("precheck panicked", "check", c.ID, "panic", p, "stack", string(debug.Stack()))
			item.Status, item.Message = Failed, "not checked: the check failed unexpectedly; see the log"
		}
		item.DurationMS = float64(time.Since(start).Microseconds()) / 1000
	}()
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out := c.Run(cctx, env)
	if out.Status == "" {
		out.Status = Failed
	}
	if cctx.Err() != nil && out.Status != Passed && ctx.Err() == nil {
		out = failed("not checked: the check did not finish within %s", timeout).
			fix("check that both servers answer quickly; a busy catalog (information_schema) can be slow")
	}
	item.Status, item.Message, item.Fix, item.FixSQL, item.Details = out.Status, singular(out.Message), out.Fix, out.FixSQL, out.Details
	return item
}

// oneOf matches a count of one before a plural noun of the checks' messages.
var oneOf = regexp.MustCompile(`\b1 (tables|columns|foreign keys|name conflicts|selected tables|target tables|existing target tables|databases/schemas|items|schemas)\b`)

// singular rewrites "1 tables" as "1 table": messages are written with
// counts before nouns ("selected: %d tables"), and one table reads better singular.
func singular(msg string) string {
	return oneOf.ReplaceAllStringFunc(msg, func(m string) string {
		if strings.HasSuffix(m, "databases/schemas") {
			return strings.Replace(m, "databases/schemas", "database/schema", 1)
		}
		return strings.TrimSuffix(m, "s")
	})
}
