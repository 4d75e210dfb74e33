package control

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/connector/conntest"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
)

// Outcome is the answer to an action: a Result for a synchronous action, an
// Operation to poll for an asynchronous one.
type Outcome struct {
	Action    job.Action
	Job       *catalog.Job
	Result    any
	Operation *catalog.Operation
}

// Act applies an action to a job.
func (s *Service) Act(ctx context.Context, idOrName, action string, params json.RawMessage) (*Outcome, error) {
	a, err := job.ParseAction(action)
	if err != nil {
		return nil, err
	}
	j, err := s.GetJob(ctx, idOrName)
	if err != nil {
		return nil, err
	}
	if a == job.ActionDelete {
		var p struct {
			Force bool `json:"force"`
		}
		if err := decodeParams(params, &p); err != nil {
			return nil, err
		}
		return &Outcome{Action: a, Job: j}, s.DeleteJob(ctx, j.ID, p.Force)
	}
	if _, err := job.Apply(j.State, a); err != nil {
		return nil, err
	}
	h, ok := s.handlers[a]
	if !ok {
		return nil, errs.New(errs.NotAvailable, "the %s action is not available yet in this version of dts", a)
	}
	if j, err = s.enter(ctx, j.ID, a, h.Check, params); err != nil {
		return nil, err
	}
	if !h.Async {
		res, err := h.Run(ctx, j, params)
		if err != nil {
			return nil, err
		}
		return &Outcome{Action: a, Job: j, Result: res}, nil
	}
	op := &catalog.Operation{ID: newID("op"), JobID: j.ID, Action: string(a), Status: catalog.OpRunning, Params: params}
	if err := s.store.CreateOperation(ctx, op); err != nil {
		return nil, err
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		res, err := h.Run(s.bg, j, params)
		s.finish(op.ID, res, err)
	}()
	return &Outcome{Action: a, Job: j, Operation: op}, nil
}

// enter moves the job to the state the action leads to, checking the
// transition again inside the catalog transaction: between the first check
// and now another request may have moved the job.
func (s *Service) enter(ctx context.Context, jobID string, a job.Action, check func(*catalog.Job, json.RawMessage) error, params json.RawMessage) (*catalog.Job, error) {
	var from job.State
	j, err := s.store.UpdateJob(ctx, jobID, func(j *catalog.Job) error {
		next, err := job.Apply(j.State, a)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(j, params); err != nil {
				return err
			}
		}
		from = j.State
		if next != j.State {
			j.State, j.StateReason = next, fmt.Sprintf("%s requested", a)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if j.State != from {
		s.event(ctx, jobID, catalog.LevelInfo, "state_changed", fmt.Sprintf("%s → %s: %s requested", from, j.State, a), map[string]any{"from": from, "to": j.State, "action": a})
	}
	return j, nil
}

// finish records an asynchronous action's outcome on its operation.
func (s *Service) finish(opID string, res any, runErr error) {
	ctx := context.WithoutCancel(s.bg)
	_, err := s.store.UpdateOperation(ctx, opID, func(op *catalog.Operation) error {
		if runErr != nil {
			op.Status, op.Error = catalog.OpFailed, ErrorInfo(runErr)
			return nil
		}
		op.Status = catalog.OpSucceeded
		if res != nil {
			b, err := json.Marshal(res)
			if err != nil {
				return fmt.Errorf("encode result: %w", err)
			}
			op.Result = b
		}
		return nil
	})
	if err != nil {
		s.log.Error("record operation outcome", "operation_id", opID, "err", err)
	}
	if runErr != nil {
		s.log.Error("operation failed", "operation_id", opID, "err", runErr)
	}
}

// ErrorInfo converts an error into what users see: coded errors as they are,
// anything else as an Internal error whose details stay in the logs.
func ErrorInfo(err error) *catalog.ErrorInfo {
	if e, ok := errs.As(err); ok && e.Code != errs.Internal {
		return &catalog.ErrorInfo{Code: e.Code, Message: e.Message, Fix: e.Fix, Details: e.Details}
	}
	return &catalog.ErrorInfo{Code: errs.Internal, Message: "internal error; see the server log"}
}

// GetOperation returns an operation.
func (s *Service) GetOperation(ctx context.Context, id string) (*catalog.Operation, error) {
	return s.store.GetOperation(ctx, id)
}

// Events returns a job's events after an event id.
func (s *Service) Events(ctx context.Context, idOrName string, after int64, limit int) ([]catalog.Event, error) {
	j, err := s.GetJob(ctx, idOrName)
	if err != nil {
		return nil, err
	}
	return s.store.ListEvents(ctx, j.ID, after, limit)
}

// ConnectionResults answers test_connection for a job.
type ConnectionResults struct {
	Source *conntest.Result `json:"source,omitempty"`
	Target *conntest.Result `json:"target,omitempty"`
}

func (s *Service) testJobConnections(ctx context.Context, j *catalog.Job, params json.RawMessage) (any, error) {
	var p struct {
		Endpoint string `json:"endpoint"` // source | target | both (default)
	}
	if err := decodeParams(params, &p); err != nil {
		return nil, err
	}
	var out ConnectionResults
	switch p.Endpoint {
	case "", "both":
		src, dst := make(chan conntest.Result, 1), make(chan conntest.Result, 1)
		go func() { src <- conntest.Test(ctx, j.Spec.Source) }()
		go func() { dst <- conntest.Test(ctx, j.Spec.Target) }()
		sr, tr := <-src, <-dst
		out.Source, out.Target = &sr, &tr
	case "source":
		r := conntest.Test(ctx, j.Spec.Source)
		out.Source = &r
	case "target":
		r := conntest.Test(ctx, j.Spec.Target)
		out.Target = &r
	default:
		return nil, errs.Invalid([]errs.FieldError{{Path: "params.endpoint", Message: fmt.Sprintf("%q is not allowed; allowed: source, target, both", p.Endpoint)}})
	}
	return out, nil
}

// TestConnection checks an endpoint that belongs to no job yet.
func (s *Service) TestConnection(ctx context.Context, e job.Endpoint) (conntest.Result, error) {
	if err := e.Validate("endpoint"); err != nil {
		return conntest.Result{}, err
	}
	return conntest.Test(ctx, e), nil
}

// decodeParams decodes action parameters strictly; absent params decode as zero.
func decodeParams(params json.RawMessage, v any) error {
	if len(params) == 0 || string(params) == "null" {
		return nil
	}
	if err := job.DecodeInto(params, v); err != nil {
		if e, ok := errs.As(err); ok {
			for i := range e.Fields {
				e.Fields[i].Path = strings.TrimSuffix("params."+e.Fields[i].Path, ".")
			}
			return e
		}
		return err
	}
	return nil
}
