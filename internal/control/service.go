// Package control is dts's control plane: it creates, changes and deletes
// jobs and applies actions to them. Every action is checked against the
// lifecycle transition table (job.Apply) inside the same catalog transaction
// that records the new state, so two concurrent starts cannot both pass.
//
// The work behind an action (a precheck, a running job, a compare) is done by
// handlers that later parts of dts register with Handle; an action without a
// handler is refused with OperationDenied.NotAvailable, never faked.
package control

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/transform"
)

// Handler does the work of one action for one job.
//
// For a synchronous handler, Run's result is the action's answer. For an
// asynchronous one, the service answers at once with an operation, and Run
// goes on in the background with a context that ends when the service
// closes; its result or error is recorded on the operation.
//
// The job's state has already moved as the transition table says when Run is
// called (Check allowing); Run reports outcomes with Service.Transition.
type Handler struct {
	Async bool
	// Check, if set, refuses the action for the job as stored (and its
	// params) before its state moves; it runs inside the catalog
	// transaction that moves it.
	Check func(j *catalog.Job, params json.RawMessage) error
	Run   func(ctx context.Context, j *catalog.Job, params json.RawMessage) (any, error)
}

// Service applies changes and actions to jobs.
type Service struct {
	store    catalog.Store
	log      *slog.Logger
	handlers map[job.Action]Handler

	// bg is the context of background operations; Close cancels it and
	// waits for them.
	bg     context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a service over store.
func New(store catalog.Store, log *slog.Logger) *Service {
	bg, cancel := context.WithCancel(context.Background())
	s := &Service{
		store:    store,
		log:      log.With("component", "control"),
		handlers: map[job.Action]Handler{},
		bg:       bg,
		cancel:   cancel,
	}
	s.Handle(job.ActionTestConnection, Handler{Run: s.testJobConnections})
	s.registerPrecheck()
	return s
}

// Handle registers the handler of an action. Call it before serving.
func (s *Service) Handle(a job.Action, h Handler) { s.handlers[a] = h }

// Close cancels background operations and waits for them to end.
func (s *Service) Close() {
	s.cancel()
	s.wg.Wait()
}

// Store returns the catalog the service works on.
func (s *Service) Store() catalog.Store { return s.store }

// CreateJob validates a spec and stores it as a new job in state created.
func (s *Service) CreateJob(ctx context.Context, spec *job.Spec) (*catalog.Job, error) {
	spec.Normalize()
	if err := transform.ValidateSpec(spec); err != nil {
		return nil, err
	}
	j := &catalog.Job{ID: newID("job"), Spec: spec, State: job.StateCreated, StateReason: "created"}
	if err := s.store.CreateJob(ctx, j); err != nil {
		return nil, err
	}
	s.event(ctx, j.ID, catalog.LevelInfo, "job_created", fmt.Sprintf("job %s created", spec.Name), nil)
	return j, nil
}

// GetJob returns a job by id or by name.
func (s *Service) GetJob(ctx context.Context, idOrName string) (*catalog.Job, error) {
	j, err := s.store.GetJob(ctx, idOrName)
	if errs.CodeOf(err) == errs.JobNotFound {
		if byName, nerr := s.store.GetJobByName(ctx, idOrName); nerr == nil {
			return byName, nil
		}
	}
	return j, err
}

// ListJobs returns every job.
func (s *Service) ListJobs(ctx context.Context) ([]*catalog.Job, error) {
	return s.store.ListJobs(ctx)
}

// UpdateJob replaces a job's configuration; refused once the job started.
// Passwords are write-only: an empty password keeps the stored one.
func (s *Service) UpdateJob(ctx context.Context, idOrName string, spec *job.Spec) (*catalog.Job, error) {
	cur, err := s.GetJob(ctx, idOrName)
	if err != nil {
		return nil, err
	}
	spec.Normalize()
	if err := transform.ValidateSpec(spec); err != nil {
		return nil, err
	}
	j, err := s.store.UpdateJob(ctx, cur.ID, func(j *catalog.Job) error {
		next, err := job.Apply(j.State, job.ActionUpdate)
		if err != nil {
			return err
		}
		if spec.Name != j.Spec.Name {
			return errs.Invalid([]errs.FieldError{{Path: "name", Message: fmt.Sprintf("a job's name cannot change (it is %q); create a new job instead", j.Spec.Name)}})
		}
		if spec.Source.Password == "" {
			spec.Source.Password = j.Spec.Source.Password
		}
		if spec.Target.Password == "" {
			spec.Target.Password = j.Spec.Target.Password
		}
		j.Spec, j.State, j.StateReason = spec, next, "configuration updated"
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.event(ctx, j.ID, catalog.LevelInfo, "job_updated", "configuration updated", nil)
	return j, nil
}

// DeleteJob removes a job; a job at work (running, prechecking) only with force.
func (s *Service) DeleteJob(ctx context.Context, idOrName string, force bool) error {
	j, err := s.GetJob(ctx, idOrName)
	if err != nil {
		return err
	}
	if _, err := job.Apply(j.State, job.ActionDelete); err != nil {
		return err
	}
	if job.NeedsForce(j.State) && !force {
		return errs.New(errs.OperationDeniedState, "the job is %s; deleting it stops its work", j.State).
			WithFix("stop the job first, or delete with force (?force=true, dts job delete --force)").
			WithDetail("state", string(j.State))
	}
	if h, ok := s.handlers[job.ActionDelete]; ok {
		params, _ := json.Marshal(map[string]bool{"force": force})
		if _, err := h.Run(ctx, j, params); err != nil {
			return err
		}
	}
	s.log.InfoContext(ctx, "job deleted", "job_id", j.ID, "name", j.Spec.Name, "force", force)
	return s.store.DeleteJob(ctx, j.ID)
}

// Transition applies a system event to a job's state and records it.
func (s *Service) Transition(ctx context.Context, jobID string, e job.Event, reason string, jobErr *catalog.ErrorInfo) (*catalog.Job, error) {
	var from job.State
	j, err := s.store.UpdateJob(ctx, jobID, func(j *catalog.Job) error {
		next, err := job.ApplyEvent(j.State, e)
		if err != nil {
			return err
		}
		from = j.State
		j.State, j.StateReason, j.Error = next, reason, jobErr
		return nil
	})
	if err != nil {
		return nil, err
	}
	level := catalog.LevelInfo
	if jobErr != nil {
		level = catalog.LevelError
	}
	s.event(ctx, jobID, level, "state_changed", fmt.Sprintf("%s → %s: %s", from, j.State, reason), map[string]any{"from": from, "to": j.State})
	return j, nil
}

// Event records an event of a job; failures to record are logged, not returned:
// an event is a report, never a reason to fail the work it reports on.
func (s *Service) Event(ctx context.Context, jobID, level, typ, message string, details map[string]any) {
	s.event(ctx, jobID, level, typ, message, details)
}

func (s *Service) event(ctx context.Context, jobID, level, typ, message string, details map[string]any) {
	e := &catalog.Event{JobID: jobID, Level: level, Type: typ, Message: message, Details: details}
	if err := s.store.AppendEvent(context.WithoutCancel(ctx), e); err != nil {
		s.log.ErrorContext(ctx, "record event", "job_id", jobID, "type", typ, "err", err)
	}
}

func newID(prefix string) string {
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return prefix + "-" + hex.EncodeToString(b)
}
