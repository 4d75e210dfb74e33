package alert

import (
	"context"
	"sync"
	"time"

	"github.com/dtsorg/dts/internal/job"
)

// Job is the alerting of one job: it feeds the job's observations to its
// Evaluator, records every notice in the job's events and sends it to the
// job's webhooks. A server keeps one Job per job for as long as it runs, so
// episodes span the job's runs (a failure is resolved by the next start).
// Safe for concurrent use.
type Job struct {
	sender *Sender
	record Recorder
	hooks  []string
	now    func() time.Time

	mu   sync.Mutex
	eval *Evaluator
}

// NewJob returns the alerting of a job; record (nil: none) receives the
// notices as job events.
func NewJob(jobID string, spec *job.Spec, sender *Sender, record Recorder) *Job {
	return &Job{sender: sender, record: record, hooks: append([]string(nil), spec.Alerts.Webhooks...), now: time.Now,
		eval: NewEvaluator(jobID, spec.Name, spec.Alerts)}
}

// Configure takes a job's changed alert rules (an updated job); episodes
// under way stay.
func (j *Job) Configure(spec *job.Spec) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.hooks = append([]string(nil), spec.Alerts.Webhooks...)
	j.eval.rules, j.eval.jobName = spec.Alerts, spec.Name
}

// Delay observes the job's delay; following says it applies changes now.
func (j *Job) Delay(delay time.Duration, following bool) {
	j.apply(func(e *Evaluator, now time.Time) []Notice { return e.Delay(now, delay, following) })
}

// Failed observes the job failing.
func (j *Job) Failed(message string, details map[string]any) {
	j.apply(func(e *Evaluator, now time.Time) []Notice { return e.Failed(now, message, details) })
}

// Running observes the job (re)starting.
func (j *Job) Running() {
	j.apply(func(e *Evaluator, now time.Time) []Notice { return e.Running(now) })
}

// Mismatch observes rows found different.
func (j *Job) Mismatch(message string, details map[string]any) {
	j.apply(func(e *Evaluator, now time.Time) []Notice { return e.Mismatch(now, message, details) })
}

// Matched observes rows found equal again.
func (j *Job) Matched(message string, details map[string]any) {
	j.apply(func(e *Evaluator, now time.Time) []Notice { return e.Matched(now, message, details) })
}

// Firing reports whether an episode of kind is under way.
func (j *Job) Firing(kind string) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.eval.Firing(kind)
}

func (j *Job) apply(f func(*Evaluator, time.Time) []Notice) {
	j.mu.Lock()
	notices := f(j.eval, j.now())
	hooks := j.hooks
	j.mu.Unlock()
	for _, n := range notices {
		if j.record != nil {
			level := "warning"
			if n.State == StateResolved {
				level = "info"
			}
			details := map[string]any{"kind": n.Kind, "state": n.State}
			for k, v := range n.Details {
				details[k] = v
			}
			j.record(context.Background(), n.JobID, level, "alert_"+n.State, n.Kind+" alert "+n.State+": "+n.Message, details)
		}
		if j.sender != nil && len(hooks) > 0 {
			j.sender.Send(n, hooks)
		}
	}
}

// Watch observes a running job's delay every interval until ctx ends;
// status returns the delay and whether the job follows its source. When
// it returns, the job is observed as no longer following.
func (j *Job) Watch(ctx context.Context, interval time.Duration, status func() (time.Duration, bool)) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			j.Delay(0, false)
			return
		case <-tick.C:
			d, following := status()
			j.Delay(d, following)
		}
	}
}
