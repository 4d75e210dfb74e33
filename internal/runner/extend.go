package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/transform"
)

// errRestart is the cause of a job's context when its configuration grew
// and it runs again with the new one.
var errRestart = errors.New("restarting with added objects")

// addObjects adds tables to a started job's objects ({"objects": {...}},
// the job file's shape). A paused job takes them when resumed. A running
// one is paused and run again at once: the runner creates the new tables,
// copies them from a snapshot of their own (recording its position) and
// follows them with the others, applying each new table's changes only
// from its snapshot on (runner.tableWindow); the other tables resume from
// their checkpoints, so they stop only for as long as the new tables take
// to copy.
func (m *Manager) addObjects(ctx context.Context, j *catalog.Job, params json.RawMessage) (any, error) {
	var p struct {
		Objects job.Objects `json:"objects"`
	}
	if err := job.DecodeInto(params, &p); err != nil {
		if e, ok := errs.As(err); ok {
			for i := range e.Fields {
				e.Fields[i].Path = "params." + e.Fields[i].Path
			}
		}
		return nil, err
	}
	if len(p.Objects) == 0 {
		return nil, errs.Invalid([]errs.FieldError{{Path: "params.objects", Message: "required: the databases/schemas and tables to add, as in the job file"}})
	}
	spec, err := j.Spec.AddObjects(p.Objects, "params.objects")
	if err != nil {
		return nil, err
	}
	if err := transform.ValidateSpec(spec); err != nil {
		return nil, err
	}
	a := m.get(j.ID)
	if a != nil {
		a.cancel(errRestart)
		select {
		case <-a.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	j, err = m.svc.Store().UpdateJob(ctx, j.ID, func(cur *catalog.Job) error {
		cur.Spec = spec
		return nil
	})
	if err != nil {
		return nil, err
	}
	m.svc.Event(ctx, j.ID, catalog.LevelInfo, "objects_added", fmt.Sprintf("objects added; the job copies the new tables, then follows them (%s)", j.State), nil)
	if a != nil && j.State == job.StateRunning {
		m.launch(j, RunOptions{})
	}
	return map[string]string{"state": string(j.State)}, nil
}
