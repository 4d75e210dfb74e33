package runner

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/control"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
)

// CodeNoPendingDDL refuses skip_ddl for a paused job that is not waiting
// at a schema change.
const CodeNoPendingDDL = "OperationDenied.NoPendingDDL"

// A schema change the target cannot take (connector.CodeUnsupportedDDL:
// no translation, or a target whose catalog contradicts it) pauses the
// job instead of failing it, with the statement and its position in the
// job's error. The checkpoint stands just before the change. The user then
// either fixes the target by hand and resumes (the change is retried; the
// apply checks the target's catalog, so what was done by hand is not done
// again), or skips it with skip_ddl: the change is recorded as applied
// (the schema history takes the source's new structure, the checkpoint
// moves past it) and nothing runs on the target.

// pauseAtDDL records a run stopped at a schema change the target could
// not take as a pause.
func (m *Manager) pauseAtDDL(ctx context.Context, jobID string, err error) (*catalog.Job, error) {
	info := control.ErrorInfo(err)
	pos, _ := info.Details["position"].(string)
	stmt, _ := info.Details["statement"].(string)
	if pos != "" {
		info.Message += " (at " + pos + ")"
		info.Fix = fmt.Sprintf("fix the target by hand and resume the job (the change is retried), or skip it: action skip_ddl with params {\"position\": %q}", pos)
	}
	m.log.Warn("job paused at a schema change the target cannot take", "job_id", jobID, "position", pos, "statement", stmt, "err", err)
	j, terr := m.svc.Transition(ctx, jobID, job.EventPaused, "paused at a schema change the target cannot take: "+info.Message, info)
	if terr == nil {
		m.svc.Event(ctx, jobID, catalog.LevelError, "ddl_paused", fmt.Sprintf("schema change %q at %s cannot be carried to the target", stmt, pos),
			map[string]any{"position": pos, "statement": stmt})
	}
	return j, terr
}

// pendingDDL returns the position and statement of the schema change a
// paused job waits at; pos is empty when it waits at none.
func pendingDDL(j *catalog.Job) (pos, stmt string) {
	if j.Error == nil || j.Error.Code != connector.CodeUnsupportedDDL {
		return "", ""
	}
	pos, _ = j.Error.Details["position"].(string)
	stmt, _ = j.Error.Details["statement"].(string)
	return pos, stmt
}

type skipDDLParams struct {
	// Position, when given, must be the one the job waits at: a guard
	// against skipping another change than the one the user looked at.
	Position string `json:"position"`
}

// checkSkipDDL refuses skip_ddl unless the job waits at a schema change
// (and at the position given, if any). It runs before the job's state moves.
func checkSkipDDL(j *catalog.Job, params json.RawMessage) error {
	var p skipDDLParams
	if len(params) > 0 && string(params) != "null" {
		if err := job.DecodeInto(params, &p); err != nil {
			return err
		}
	}
	pos, stmt := pendingDDL(j)
	if pos == "" {
		return errs.New(CodeNoPendingDDL, "the job is %s, but not at a schema change the target could not take: skip_ddl has nothing to skip", j.State).
			WithFix("resume the job instead")
	}
	if p.Position != "" && p.Position != pos {
		return errs.Invalid([]errs.FieldError{{Path: "params.position",
			Message: fmt.Sprintf("the job waits at the schema change %q at %s, not at %s; nothing was skipped", stmt, pos, p.Position)}})
	}
	if _, err := change.ParsePosition(pos); err != nil {
		return errs.Wrap(err, errs.Internal, "the job's paused position %q cannot be read", pos)
	}
	return nil
}

// skipDDL resumes a job paused at a schema change, recording the change as
// applied without running it on the target.
func (m *Manager) skipDDL(ctx context.Context, j *catalog.Job, _ json.RawMessage) (any, error) {
	pos, stmt := pendingDDL(j)
	p, err := change.ParsePosition(pos)
	if err != nil {
		return nil, err // checkSkipDDL read it already
	}
	m.svc.Event(ctx, j.ID, catalog.LevelWarning, "ddl_skipped", fmt.Sprintf("schema change %q at %s skipped by the user: recorded as applied, not run on the target", stmt, pos),
		map[string]any{"position": pos, "statement": stmt})
	m.launch(j, RunOptions{SkipDDL: p})
	return map[string]string{"state": string(j.State), "skipped": pos}, nil
}
