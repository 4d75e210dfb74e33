package runner

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/dtsorg/dts/internal/alert"
	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/compare"
	"github.com/dtsorg/dts/internal/job"
)

// The manager's side of alerts, verification and compares of running
// jobs: it knows which jobs run and how far they have applied.

// alertJob returns (making it) the alerting of a job, with its current rules.
func (m *Manager) alertJob(jobID string, spec *job.Spec) *alert.Job {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.alertJobLocked(jobID, spec)
}

func (m *Manager) alertJobLocked(jobID string, spec *job.Spec) *alert.Job {
	a := m.alerts[jobID]
	if a == nil {
		a = alert.NewJob(jobID, spec, m.sender, m.svc.Event)
		m.alerts[jobID] = a
	} else {
		a.Configure(spec)
	}
	return a
}

// watch observes a running job's delay for the delay alert until ctx ends.
func (m *Manager) watch(ctx context.Context, a *alert.Job, p *Progress) {
	a.Watch(ctx, m.AlertEvery, func() (time.Duration, bool) {
		if p.Phase() != PhaseIncremental {
			return 0, false
		}
		return p.Apply.Snapshot().Delay, true
	})
}

// follower says how far a job applies its source's changes, for the
// compares of the job (compare.Follower).
func (m *Manager) follower(jobID string) compare.Follower {
	return compare.FollowerFunc(func(context.Context) (change.Position, bool, error) {
		a := m.get(jobID)
		if a == nil || a.progress.Phase() != PhaseIncremental {
			return change.Position{}, false, nil
		}
		return a.progress.Apply.Snapshot().Position, true, nil
	})
}

// fullLoaded starts the compare check.full asks for after a full load.
func (m *Manager) fullLoaded(ctx context.Context, jobID string, spec *job.Spec, _ *Progress) {
	if spec.Check.Full.Mode == "" {
		return
	}
	if _, err := m.compares.StartAfterFull(context.WithoutCancel(ctx), jobID, spec); err != nil {
		m.log.Error("start the compare after the full load", "job_id", jobID, "err", err)
	}
}

// reported raises or resolves the mismatch alert from a compare's report.
func (m *Manager) reported(jobID string, spec *job.Spec, compareID string, rep *compare.Report) {
	a := m.alertJob(jobID, spec)
	details := map[string]any{"compare_id": compareID, "status": rep.Status}
	switch {
	case rep.Differs():
		var tables []string
		for _, t := range rep.Tables {
			if t.Status == compare.StatusDifferent {
				tables = append(tables, t.Table)
			}
		}
		details["tables"] = tables
		a.Mismatch(fmt.Sprintf("compare %s found differences in %s", compareID, strings.Join(tables, ", ")), details)
	case rep.Status == compare.StatusEqual:
		a.Matched(fmt.Sprintf("compare %s found source and target equal", compareID), details)
	}
}

// verified records a round of continuous verification: an event, and the
// mismatch alert raised or resolved.
func (m *Manager) verified(jobID string, res VerifyResult) {
	ctx := context.Background()
	j, err := m.svc.Store().GetJob(ctx, jobID)
	if err != nil {
		return
	}
	a := m.alertJob(jobID, j.Spec)
	if !res.Failing {
		m.svc.Event(ctx, jobID, catalog.LevelInfo, "verify_equal", "continuous verification: the rows found different are equal now", nil)
		a.Matched("continuous verification found the differing rows equal again", nil)
		return
	}
	msg, details := verifyMessage(res)
	m.svc.Event(ctx, jobID, catalog.LevelWarning, "verify_mismatch", msg, details)
	a.Mismatch(msg, details)
}

// verifyMessage describes a failing round for people.
func verifyMessage(res VerifyResult) (string, map[string]any) {
	var tables []string
	rows := 0
	var first []compare.RowDiff
	for t, d := range res.Diffs {
		tables = append(tables, t)
		rows += len(d)
		if len(first) < 10 {
			first = append(first, d[:min(len(d), 10-len(first))]...)
		}
	}
	sort.Strings(tables)
	msg := fmt.Sprintf("continuous verification: %d of %d changed rows checked differ on the target (%s)", rows, res.Checked, strings.Join(tables, ", "))
	if rows == 0 {
		msg = "continuous verification: rows found different earlier still differ"
	}
	return msg, map[string]any{"tables": tables, "rows": rows, "checked": res.Checked, "first": first}
}
