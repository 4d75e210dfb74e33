package compare

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/control"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
)

// Service runs the compares of a server's jobs: the create_compare and
// cancel_compare actions, scheduled starts, check jobs, and compares that
// were under way when the server stopped (they resume from their journal,
// kept in the catalog). Each compare runs in a goroutine of its own.
type Service struct {
	svc     *control.Service
	engines Engines
	log     *slog.Logger
	// PublishEvery is how often a running compare's progress is written to the catalog.
	PublishEvery time.Duration
	// Follow, when set, returns how far a job applies its source's changes
	// (the job's manager knows): compares of a running sync job settle
	// their differences at a source position (settle.go).
	Follow func(jobID string) Follower
	// Reported, when set, receives every finished compare's report (alerts).
	Reported func(jobID string, spec *job.Spec, compareID string, rep *Report)

	bg     context.Context
	stop   context.CancelFunc
	mu     sync.Mutex
	active map[string]*activeCompare
	wg     sync.WaitGroup
}

type activeCompare struct {
	jobID  string
	cancel context.CancelCauseFunc
	done   chan struct{}
}

// errCancelled is the cause of a compare's context when a user cancels it.
var errCancelled = errors.New("cancelled by user")

// NewService returns a service and registers the create_compare and
// cancel_compare actions with svc.
func NewService(svc *control.Service, engines Engines, log *slog.Logger) *Service {
	bg, stop := context.WithCancel(context.Background())
	s := &Service{svc: svc, engines: engines, log: log.With("component", "compares"), PublishEvery: 2 * time.Second,
		bg: bg, stop: stop, active: map[string]*activeCompare{}}
	svc.Handle(job.ActionCreateCompare, control.Handler{Async: true, Run: s.create})
	svc.Handle(job.ActionCancelCompare, control.Handler{Run: s.cancel})
	return s
}

// Close stops the running compares and waits for them. Their catalog
// status stays as it is, so the next server resumes them (Recover).
func (s *Service) Close() {
	s.stop()
	s.wg.Wait()
}

// StopJob cancels a job's running compares (it is being deleted) and waits
// for them to stop.
func (s *Service) StopJob(jobID string) {
	s.mu.Lock()
	var stopping []*activeCompare
	for _, a := range s.active {
		if a.jobID == jobID {
			a.cancel(errCancelled)
			stopping = append(stopping, a)
		}
	}
	s.mu.Unlock()
	for _, a := range stopping {
		<-a.done
	}
}

// Recover resumes the compares that were scheduled or running when the
// server stopped (check jobs' compares resume with their job).
func (s *Service) Recover(ctx context.Context) error {
	jobs, err := s.svc.ListJobs(ctx)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		list, err := s.svc.Store().ListCompares(ctx, j.ID)
		if err != nil {
			return err
		}
		for _, c := range list {
			if !c.Ended() && !isCheck(c) {
				s.log.InfoContext(ctx, "resuming compare after restart", "compare_id", c.ID, "job_id", j.ID)
				s.launch(c)
			}
		}
	}
	return nil
}

// CreateResult answers create_compare.
type CreateResult struct {
	CompareID string    `json:"compare_id"`
	Status    string    `json:"status"`
	StartAt   time.Time `json:"start_at,omitzero"`
}

func (s *Service) create(ctx context.Context, j *catalog.Job, raw json.RawMessage) (any, error) {
	var p Params
	if len(raw) > 0 && string(raw) != "null" {
		if err := job.DecodeInto(raw, &p); err != nil {
			return nil, prefixFields(err, "params.")
		}
	}
	if p.Type == "" {
		p.Type = CheckParams(j.Spec).Type
	}
	if err := p.Validate("params."); err != nil {
		return nil, err
	}
	c, err := s.newCompare(ctx, j.ID, p, false)
	if err != nil {
		return nil, err
	}
	s.launch(c)
	return CreateResult{CompareID: c.ID, Status: c.Status, StartAt: c.StartAt}, nil
}

func (s *Service) newCompare(ctx context.Context, jobID string, p Params, check bool) (*catalog.Compare, error) {
	stored := storedParams{Params: p, Check: check}
	b, err := json.Marshal(stored)
	if err != nil {
		return nil, err
	}
	c := &catalog.Compare{ID: newID("cmp"), JobID: jobID, Type: p.Type, Status: catalog.CompareRunning, Params: b}
	if p.StartAt != "" {
		at, _ := time.Parse(time.RFC3339, p.StartAt) // validated
		if at.After(time.Now()) {
			c.Status, c.StartAt = catalog.CompareScheduled, at
		}
	}
	if err := s.svc.Store().CreateCompare(ctx, c); err != nil {
		return nil, err
	}
	s.svc.Event(ctx, jobID, catalog.LevelInfo, "compare_created", fmt.Sprintf("%s compare %s %s", p.Type, c.ID, c.Status),
		map[string]any{"compare_id": c.ID, "type": p.Type})
	return c, nil
}

// storedParams are a compare's parameters as kept in the catalog.
type storedParams struct {
	Params
	// Check marks the compare of a check job, which runs with its job.
	Check bool `json:"check,omitempty"`
}

func isCheck(c *catalog.Compare) bool {
	var p storedParams
	return json.Unmarshal(c.Params, &p) == nil && p.Check
}

// CancelResult answers cancel_compare.
type CancelResult struct {
	Cancelled []string `json:"cancelled"`
}

func (s *Service) cancel(ctx context.Context, j *catalog.Job, raw json.RawMessage) (any, error) {
	var p struct {
		CompareID string `json:"compare_id"`
	}
	if len(raw) > 0 && string(raw) != "null" {
		if err := job.DecodeInto(raw, &p); err != nil {
			return nil, prefixFields(err, "params.")
		}
	}
	list, err := s.svc.Store().ListCompares(ctx, j.ID)
	if err != nil {
		return nil, err
	}
	out := CancelResult{Cancelled: []string{}}
	found := false
	for _, c := range list {
		if p.CompareID != "" && c.ID != p.CompareID {
			continue
		}
		found = true
		if c.Ended() {
			continue
		}
		if err := s.stopCompare(ctx, c.ID); err != nil {
			return nil, err
		}
		out.Cancelled = append(out.Cancelled, c.ID)
	}
	if p.CompareID != "" && !found {
		return nil, errs.New(catalog.CompareNotFound, "job %s has no compare %q", j.Spec.Name, p.CompareID)
	}
	return out, nil
}

// stopCompare cancels a compare and waits until it stopped; one that does
// not run here is marked cancelled.
func (s *Service) stopCompare(ctx context.Context, id string) error {
	s.mu.Lock()
	a := s.active[id]
	s.mu.Unlock()
	if a != nil {
		a.cancel(errCancelled)
		select {
		case <-a.done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	_, err := s.svc.Store().UpdateCompare(ctx, id, func(c *catalog.Compare) error {
		if !c.Ended() {
			c.Status, c.FinishedAt = catalog.CompareCancelled, time.Now()
		}
		return nil
	})
	return err
}

// launch runs a compare in the background: it waits for its start time,
// runs, and records how it ended.
func (s *Service) launch(c *catalog.Compare) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.active[c.ID]; ok {
		return
	}
	ctx, cancel := context.WithCancelCause(s.bg)
	a := &activeCompare{jobID: c.JobID, cancel: cancel, done: make(chan struct{})}
	s.active[c.ID] = a
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(a.done)
		defer func() {
			s.mu.Lock()
			delete(s.active, c.ID)
			s.mu.Unlock()
		}()
		err := s.run(ctx, c.ID, c.JobID)
		s.ended(c.ID, c.JobID, err, context.Cause(ctx))
	}()
}

// run runs a compare from its catalog record to its end.
func (s *Service) run(ctx context.Context, id, jobID string) error {
	store := s.svc.Store()
	c, err := store.GetCompare(ctx, id)
	if err != nil {
		return err
	}
	if !c.StartAt.IsZero() {
		if err := sleep(ctx, time.Until(c.StartAt)); err != nil {
			return err
		}
	}
	j, err := store.GetJob(ctx, jobID)
	if err != nil {
		return err
	}
	var p storedParams
	if err := json.Unmarshal(c.Params, &p); err != nil {
		return fmt.Errorf("compare %s: read its parameters: %w", id, err)
	}
	if _, err := store.UpdateCompare(ctx, id, func(c *catalog.Compare) error {
		c.Status = catalog.CompareRunning
		if c.StartedAt.IsZero() {
			c.StartedAt = time.Now()
		}
		return nil
	}); err != nil {
		return err
	}
	progress := NewProgress()
	stopPublish := s.publish(id, progress)
	cmp := &Compare{Spec: j.Spec, Options: p.Options(j.Spec), Journal: &catalogJournal{store: store, id: id},
		Engines: s.engines, Log: s.log, Progress: progress, RepairFile: RepairPath(jobID, id)}
	if s.Follow != nil {
		cmp.Options.Follower = s.Follow(jobID)
	}
	res, err := cmp.Run(ctx)
	stopPublish()
	if err != nil {
		return err
	}
	report, err := json.Marshal(res.Report)
	if err != nil {
		return err
	}
	_, err = store.UpdateCompare(context.WithoutCancel(ctx), id, func(c *catalog.Compare) error {
		c.Status, c.Report, c.FinishedAt, c.Error = catalog.CompareDone, report, time.Now(), nil
		return nil
	})
	if err != nil {
		return err
	}
	level, msg := catalog.LevelInfo, fmt.Sprintf("compare %s: %s", id, res.Report.Status)
	if res.Report.Differs() {
		level = catalog.LevelWarning
		msg += ": " + summary(res.Report)
	}
	s.svc.Event(ctx, jobID, level, "compare_finished", msg, map[string]any{"compare_id": id, "status": res.Report.Status})
	if s.Reported != nil {
		s.Reported(jobID, j.Spec, id, res.Report)
	}
	return nil
}

// StartAfterFull starts the compare a job's check.full asks for once its
// full load is done, in the background: it is a compare of the job like
// any other (listed, cancellable, resumed after a restart).
func (s *Service) StartAfterFull(ctx context.Context, jobID string, spec *job.Spec) (string, error) {
	c, err := s.newCompare(ctx, jobID, CheckParams(spec), false)
	if err != nil {
		return "", err
	}
	s.svc.Event(ctx, jobID, catalog.LevelInfo, "compare_after_full_load",
		fmt.Sprintf("the full load is done: %s compare %s checks it (check.full)", c.Type, c.ID), map[string]any{"compare_id": c.ID})
	s.launch(c)
	return c.ID, nil
}

// RepairPath is where the API serves a server compare's repair script.
func RepairPath(jobID, compareID string) string {
	return "/v1/jobs/" + jobID + "/compares/" + compareID + "/repair.sql"
}

// ended records a compare that stopped for another reason than finishing.
func (s *Service) ended(id, jobID string, err, cause error) {
	ctx := context.Background()
	var status string
	var info *catalog.ErrorInfo
	switch {
	case err == nil:
		return
	case errors.Is(cause, errCancelled):
		status = catalog.CompareCancelled
	case errors.Is(cause, context.Canceled):
		return // the server is stopping: the next one resumes the compare
	default:
		status, info = catalog.CompareFailed, control.ErrorInfo(err)
		if _, coded := errs.As(err); !coded {
			info.Message = err.Error()
		}
		s.log.Error("compare failed", "compare_id", id, "job_id", jobID, "err", err)
	}
	_, uerr := s.svc.Store().UpdateCompare(ctx, id, func(c *catalog.Compare) error {
		c.Status, c.Error, c.FinishedAt = status, info, time.Now()
		return nil
	})
	if uerr != nil && errs.CodeOf(uerr) != catalog.CompareNotFound {
		s.log.Error("record compare outcome", "compare_id", id, "err", uerr)
	}
	level := catalog.LevelInfo
	if info != nil {
		level = catalog.LevelError
	}
	s.svc.Event(ctx, jobID, level, "compare_"+status, fmt.Sprintf("compare %s %s", id, status), map[string]any{"compare_id": id})
}

func summary(r *Report) string {
	var parts []string
	for _, t := range r.Tables {
		if t.Status == StatusDifferent {
			parts = append(parts, fmt.Sprintf("%s (%d missing, %d extra, %d changed)", t.Table, t.Missing, t.Extra, t.Changed))
		}
	}
	if len(parts) > 5 {
		parts = append(parts[:5], fmt.Sprintf("and %d more tables", len(parts)-5))
	}
	return strings.Join(parts, ", ")
}

func newID(prefix string) string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// prefixFields puts field paths of a coded error under prefix.
func prefixFields(err error, prefix string) error {
	if e, ok := errs.As(err); ok {
		for i := range e.Fields {
			e.Fields[i].Path = strings.TrimSuffix(prefix+e.Fields[i].Path, ".")
		}
	}
	return err
}
