package control

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/connector/engines"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/precheck"
)

// The precheck and skip_precheck actions, and the gate start goes through.

// CodePrecheckFailed is the code of a start refused because precheck items
// fail and are not skipped.
const CodePrecheckFailed = "OperationDenied.PrecheckFailed"

// maxSkipReason bounds the reason of a skip_precheck.
const maxSkipReason = 1000

func (s *Service) registerPrecheck() {
	s.Handle(job.ActionPrecheck, Handler{Async: true, Run: s.precheckAction})
	s.Handle(job.ActionSkipPrecheck, Handler{Run: s.skipPrecheck})
}

// PrecheckSummary is the answer of the precheck action: the items are
// served by GET /v1/jobs/{id}/precheck.
type PrecheckSummary struct {
	Status   string   `json:"status"`
	Passed   int      `json:"passed"`
	Warnings int      `json:"warnings"`
	Failed   int      `json:"failed"`
	Skipped  int      `json:"skipped"`
	Failing  []string `json:"failing,omitempty"`
	SpecHash string   `json:"spec_hash"`
}

func summary(r *precheck.Result) PrecheckSummary {
	return PrecheckSummary{Status: r.Status, Passed: r.Passed, Warnings: r.Warnings, Failed: r.Failed, Skipped: r.Skipped,
		Failing: r.Failing, SpecHash: r.SpecHash}
}

// precheckAction runs the precheck of a job in state prechecking and moves
// it to precheck_passed or precheck_failed.
func (s *Service) precheckAction(ctx context.Context, j *catalog.Job, _ json.RawMessage) (any, error) {
	r, err := s.RunPrecheck(ctx, j)
	if err != nil {
		s.precheckBroke(ctx, j.ID, err)
		return nil, err
	}
	event, reason := job.EventPrecheckPassed, passedReason(r)
	if r.Status == precheck.Failed {
		event, reason = job.EventPrecheckFailed, failedReason(r)
	}
	if _, err := s.Transition(ctx, j.ID, event, reason, nil); err != nil {
		return nil, err
	}
	return summary(r), nil
}

// RunPrecheck runs every check of the job, saves the result (skips made for
// the same configuration carry over) and returns it as users see it.
func (s *Service) RunPrecheck(ctx context.Context, j *catalog.Job) (*precheck.Result, error) {
	rep := precheck.Run(ctx, j.Spec, precheck.Options{JobID: j.ID, Engines: engines.Engines{}, Logger: s.log})
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("precheck interrupted: %w", err)
	}
	rec := rep.Record(j.ID)
	if err := s.store.SavePrecheck(ctx, rec); err != nil {
		return nil, err
	}
	r := precheck.Summarize(rec)
	level := catalog.LevelInfo
	if r.Status != precheck.Passed {
		level = catalog.LevelWarning
	}
	s.event(ctx, j.ID, level, "precheck_finished", fmt.Sprintf("precheck %s: %d passed, %d warnings, %d failed, %d skipped",
		r.Status, r.Passed, r.Warnings, r.Failed, r.Skipped),
		map[string]any{"status": r.Status, "failing": r.Failing, "duration_ms": r.DurationMS})
	return r, nil
}

// Precheck returns the latest precheck result of a job and whether it
// checked the job's current configuration.
func (s *Service) Precheck(ctx context.Context, idOrName string) (r *precheck.Result, current bool, err error) {
	j, err := s.GetJob(ctx, idOrName)
	if err != nil {
		return nil, false, err
	}
	p, err := s.store.GetPrecheck(ctx, j.ID)
	if err != nil {
		return nil, false, err
	}
	return precheck.Summarize(p), p.SpecHash == precheck.SpecHash(j.Spec), nil
}

// PrecheckGate is what start does before the job runs (the job is in state
// prechecking). A job that came from precheck_passed whose latest result is
// for its current configuration and not failing goes on; any other job runs
// the precheck first. While an item fails and is not skipped, the job moves
// to precheck_failed and the start is refused with CodePrecheckFailed.
func (s *Service) PrecheckGate(ctx context.Context, j *catalog.Job) error {
	if s.passedBefore(ctx, j) {
		return nil
	}
	r, err := s.RunPrecheck(ctx, j)
	if err != nil {
		s.precheckBroke(ctx, j.ID, err)
		return err
	}
	if r.Status != precheck.Failed {
		return nil
	}
	reason := failedReason(r)
	if _, err := s.Transition(ctx, j.ID, job.EventPrecheckFailed, reason, nil); err != nil {
		return err
	}
	return errs.New(CodePrecheckFailed, "the job did not start: %s", reason).
		WithFix("see GET /v1/jobs/{id}/precheck (dts job action ... precheck): fix each failed item and start again, "+
			"or skip it with skip_precheck {\"items\": [...], \"reason\": \"...\"}").
		WithDetail("failing", r.Failing)
}

// passedBefore: the job entered prechecking for this start from
// precheck_passed, and the stored result still holds for its configuration.
func (s *Service) passedBefore(ctx context.Context, j *catalog.Job) bool {
	hist, err := s.store.History(ctx, j.ID)
	if err != nil || len(hist) == 0 {
		return false
	}
	last := hist[len(hist)-1]
	if last.To != job.StatePrechecking || last.From != job.StatePrecheckPassed {
		return false
	}
	p, err := s.store.GetPrecheck(ctx, j.ID)
	if err != nil || p.SpecHash != precheck.SpecHash(j.Spec) {
		return false
	}
	return precheck.Summarize(p).Status != precheck.Failed
}

// precheckBroke moves a job whose precheck could not run to precheck_failed.
func (s *Service) precheckBroke(ctx context.Context, jobID string, err error) {
	info := ErrorInfo(err)
	if _, terr := s.Transition(context.WithoutCancel(ctx), jobID, job.EventPrecheckFailed, "the precheck could not run: "+info.Message, info); terr != nil {
		s.log.ErrorContext(ctx, "record precheck failure", "job_id", jobID, "err", terr)
	}
}

// RecoverPrechecks moves jobs left in prechecking by a server that stopped
// to precheck_failed: nothing is checking them any more.
func (s *Service) RecoverPrechecks(ctx context.Context) error {
	jobs, err := s.store.ListJobs(ctx)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if j.State == job.StatePrechecking {
			if _, err := s.Transition(ctx, j.ID, job.EventPrecheckFailed, "the server stopped during the precheck; run it again", nil); err != nil {
				return err
			}
		}
	}
	return nil
}

func passedReason(r *precheck.Result) string {
	switch {
	case r.Skipped > 0:
		return fmt.Sprintf("precheck passed with %d items skipped", r.Skipped)
	case r.Warnings > 0:
		return fmt.Sprintf("precheck passed with %d warnings", r.Warnings)
	}
	return "precheck passed"
}

func failedReason(r *precheck.Result) string {
	return "precheck failed: " + strings.Join(r.Failing, ", ")
}

// SkipResult is the answer of skip_precheck.
type SkipResult struct {
	Skipped []string  `json:"skipped"`
	State   job.State `json:"state"`
	PrecheckSummary
}

// skipPrecheck records a user's decision to go past failed or warning items
// of the latest precheck of the job's current configuration.
func (s *Service) skipPrecheck(ctx context.Context, j *catalog.Job, params json.RawMessage) (any, error) {
	var p struct {
		Items  []string `json:"items"`
		Reason string   `json:"reason"`
	}
	if err := decodeParams(params, &p); err != nil {
		return nil, err
	}
	var problems []errs.FieldError
	if len(p.Items) == 0 {
		problems = append(problems, errs.FieldError{Path: "params.items", Message: "required: the ids of the items to skip, e.g. [\"source.binlog.row_metadata\"]"})
	}
	switch reason := strings.TrimSpace(p.Reason); {
	case reason == "":
		problems = append(problems, errs.FieldError{Path: "params.reason", Message: "required: say why the job may go past these items (it is recorded in the job's events)"})
	case utf8.RuneCountInString(reason) > maxSkipReason || !utf8.ValidString(reason):
		problems = append(problems, errs.FieldError{Path: "params.reason", Message: fmt.Sprintf("must be UTF-8 text of at most %d characters", maxSkipReason)})
	}
	if len(problems) > 0 {
		return nil, errs.Invalid(problems)
	}
	hash := precheck.SpecHash(j.Spec)
	now := time.Now()
	rec, err := s.store.UpdatePrecheck(ctx, j.ID, func(pc *catalog.Precheck) error {
		if pc.SpecHash != hash {
			return errs.New(errs.OperationDenied, "the job's configuration changed after its latest precheck").
				WithFix("run the precheck again, then skip its items")
		}
		status := map[string]string{}
		for _, it := range pc.Items {
			status[it.ID] = it.Status
		}
		var bad []errs.FieldError
		for i, id := range p.Items {
			path := fmt.Sprintf("params.items[%d]", i)
			switch st, ok := status[id]; {
			case !ok:
				bad = append(bad, errs.FieldError{Path: path, Message: fmt.Sprintf("%q is not an item of the latest precheck", id)})
			case st == precheck.Passed:
				bad = append(bad, errs.FieldError{Path: path, Message: fmt.Sprintf("%q passed; only failed and warning items can be skipped", id)})
			}
		}
		if len(bad) > 0 {
			return errs.Invalid(bad)
		}
		for _, id := range p.Items {
			kept := pc.Skips[:0]
			for _, sk := range pc.Skips {
				if sk.Item != id {
					kept = append(kept, sk)
				}
			}
			pc.Skips = append(kept, catalog.PrecheckSkip{Item: id, Reason: strings.TrimSpace(p.Reason), At: now, Status: status[id]})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	r := precheck.Summarize(rec)
	s.event(ctx, j.ID, catalog.LevelWarning, "precheck_skipped",
		fmt.Sprintf("precheck items skipped: %s; reason: %s", strings.Join(p.Items, ", "), strings.TrimSpace(p.Reason)),
		map[string]any{"items": p.Items, "reason": strings.TrimSpace(p.Reason)})
	state := j.State
	if j.State == job.StatePrecheckFailed && r.Status != precheck.Failed {
		moved, err := s.Transition(ctx, j.ID, job.EventPrecheckPassed, "every failed precheck item is skipped", nil)
		if err != nil {
			return nil, err
		}
		state = moved.State
	}
	return SkipResult{Skipped: p.Items, State: state, PrecheckSummary: summary(r)}, nil
}
