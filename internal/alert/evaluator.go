package alert

import (
	"fmt"
	"time"

	"github.com/dtsorg/dts/internal/job"
)

// Evaluator turns observations of one job into notices, once per episode.
// It is pure: the caller says what time it is, so tests drive it with a
// fake clock. Not safe for concurrent use (Job serializes it).
//
// Delay: an episode begins when the delay has stayed above
// threshold_seconds for for_seconds (a dip to or below the threshold
// restarts the count) and ends when it is at or below the threshold again,
// or the job stops following its source. Error: begins when the job fails
// (with alerts.error), ends when it runs again. Mismatch: begins when rows
// are found different, ends when a later check finds them equal.
type Evaluator struct {
	rules     job.Alerts
	jobID     string
	jobName   string
	overSince time.Time            // the delay went over the threshold then (zero: it is not over)
	active    map[string]time.Time // firing episodes: kind → when they began
}

// NewEvaluator returns the evaluator of a job's alert rules.
func NewEvaluator(jobID, jobName string, rules job.Alerts) *Evaluator {
	return &Evaluator{rules: rules, jobID: jobID, jobName: jobName, active: map[string]time.Time{}}
}

// Firing reports whether an episode of kind is under way.
func (e *Evaluator) Firing(kind string) bool {
	_, ok := e.active[kind]
	return ok
}

func (e *Evaluator) notice(kind, state string, now time.Time, msg string, details map[string]any) Notice {
	since := e.active[kind]
	if since.IsZero() {
		since = now
	}
	return Notice{V: NoticeVersion, Kind: kind, State: state, JobID: e.jobID, Job: e.jobName, Message: msg,
		At: now.UTC(), Since: since.UTC(), Details: details}
}

func (e *Evaluator) fire(kind string, now time.Time, msg string, details map[string]any) []Notice {
	if e.Firing(kind) {
		return nil
	}
	e.active[kind] = now
	return []Notice{e.notice(kind, StateFiring, now, msg, details)}
}

func (e *Evaluator) resolve(kind string, now time.Time, msg string, details map[string]any) []Notice {
	if !e.Firing(kind) {
		return nil
	}
	n := e.notice(kind, StateResolved, now, msg, details)
	delete(e.active, kind)
	return []Notice{n}
}

// Delay observes the job's delay at now; following says the job applies
// its source's changes (the delay means something only then).
func (e *Evaluator) Delay(now time.Time, delay time.Duration, following bool) []Notice {
	threshold := time.Duration(e.rules.Delay.ThresholdSeconds) * time.Second
	if threshold <= 0 {
		return nil
	}
	details := map[string]any{"delay_seconds": delay.Seconds(), "threshold_seconds": e.rules.Delay.ThresholdSeconds,
		"for_seconds": e.rules.Delay.ForSeconds}
	switch {
	case !following:
		e.overSince = time.Time{}
		return e.resolve(KindDelay, now, "the job no longer follows its source", details)
	case delay <= threshold:
		e.overSince = time.Time{}
		return e.resolve(KindDelay, now, fmt.Sprintf("delay back to %s (threshold %s)", round(delay), threshold), details)
	}
	if e.overSince.IsZero() {
		e.overSince = now
	}
	if now.Sub(e.overSince) < time.Duration(e.rules.Delay.ForSeconds)*time.Second {
		return nil
	}
	return e.fire(KindDelay, now, fmt.Sprintf("delay %s has been over the threshold %s for %s",
		round(delay), threshold, round(now.Sub(e.overSince))), details)
}

// Failed observes the job failing with message (already free of secrets:
// coded errors and scrubbed driver errors).
func (e *Evaluator) Failed(now time.Time, message string, details map[string]any) []Notice {
	if !e.rules.Error {
		return nil
	}
	return e.fire(KindError, now, "the job failed: "+message, details)
}

// Running observes the job running again: a failure episode ends.
func (e *Evaluator) Running(now time.Time) []Notice {
	return e.resolve(KindError, now, "the job is running again", nil)
}

// Mismatch observes rows found different.
func (e *Evaluator) Mismatch(now time.Time, message string, details map[string]any) []Notice {
	return e.fire(KindMismatch, now, message, details)
}

// Matched observes a check that found the rows equal again.
func (e *Evaluator) Matched(now time.Time, message string, details map[string]any) []Notice {
	return e.resolve(KindMismatch, now, message, details)
}

func round(d time.Duration) time.Duration {
	if d > time.Minute {
		return d.Round(time.Second)
	}
	return d.Round(100 * time.Millisecond)
}
