package runner

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/dtsorg/dts/internal/alert"
	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/compare"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/control"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
)

// Manager owns the jobs a server runs: it starts them, pauses them
// (cancelling their context; the checkpoint is on the target), resumes them
// (running them again), and publishes their progress in the catalog.
type Manager struct {
	svc     *control.Service
	runner  *Runner
	engines Engines
	log     *slog.Logger
	// StatusEvery is how often a running job's status is written to the catalog.
	StatusEvery time.Duration
	// AlertEvery is how often a running job's delay is looked at for the delay alert.
	AlertEvery time.Duration

	mu     sync.Mutex
	active map[string]*activeJob
	wg     sync.WaitGroup

	// compares runs compares and check jobs (internal/compare).
	compares *compare.Service
	// sender posts alerts; alerts are the jobs' alerting, by job id.
	sender *alert.Sender
	alerts map[string]*alert.Job
}

type activeJob struct {
	cancel   context.CancelCauseFunc
	done     chan struct{}
	progress *Progress
}

// errPaused is the cause of a job's context when a user stops it.
var errPaused = errors.New("stopped by user")

// NewManager returns a manager and registers its actions with svc.
func NewManager(svc *control.Service, engines Engines, log *slog.Logger) *Manager {
	m := &Manager{svc: svc, runner: New(engines, log), engines: engines, log: log.With("component", "manager"),
		StatusEvery: 2 * time.Second, AlertEvery: time.Second, active: map[string]*activeJob{},
		sender: alert.NewSender(log, svc.Event), alerts: map[string]*alert.Job{}}
	m.runner.Hooks = Hooks{FullLoaded: m.fullLoaded, Verified: m.verified}
	svc.Handle(job.ActionStart, control.Handler{Async: true, Run: m.start})
	svc.Handle(job.ActionResume, control.Handler{Async: true, Run: m.resume})
	svc.Handle(job.ActionStop, control.Handler{Async: true, Run: m.stop})
	svc.Handle(job.ActionReset, control.Handler{Async: true, Run: m.reset})
	svc.Handle(job.ActionDelete, control.Handler{Run: m.delete})
	svc.Handle(job.ActionSkipDDL, control.Handler{Async: true, Check: checkSkipDDL, Run: m.skipDDL})
	svc.Handle(job.ActionAddObjects, control.Handler{Run: m.addObjects})
	m.compares = compare.NewService(svc, engines, log)
	m.compares.Follow, m.compares.Reported = m.follower, m.reported
	return m
}

// Runner returns the runner the manager runs jobs with (its pacing can be
// tuned before jobs start).
func (m *Manager) Runner() *Runner { return m.runner }

// Recover resumes the jobs that were running when the server stopped, and
// fails the prechecks it left unfinished.
func (m *Manager) Recover(ctx context.Context) error {
	if err := m.svc.RecoverPrechecks(ctx); err != nil {
		return err
	}
	jobs, err := m.svc.ListJobs(ctx)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if j.State == job.StateRunning {
			m.log.InfoContext(ctx, "resuming job after restart", "job_id", j.ID, "job", j.Spec.Name)
			m.launch(j, RunOptions{})
		}
	}
	return m.compares.Recover(ctx)
}

// Close pauses every running job and waits for them to stop. Their state
// stays running so the next server resumes them.
func (m *Manager) Close() {
	m.mu.Lock()
	for _, a := range m.active {
		a.cancel(context.Canceled)
	}
	m.mu.Unlock()
	m.wg.Wait()
	m.compares.Close()
	m.sender.Close(5 * time.Second)
}

// start runs the precheck first (unless it passed for the job's current
// configuration) and refuses to start while an item fails and is not skipped.
func (m *Manager) start(ctx context.Context, j *catalog.Job, _ json.RawMessage) (any, error) {
	if err := m.svc.PrecheckGate(ctx, j); err != nil {
		return nil, err
	}
	j, err := m.svc.Transition(ctx, j.ID, job.EventStarted, "started", nil)
	if err != nil {
		return nil, err
	}
	m.launch(j, RunOptions{})
	return map[string]string{"state": string(j.State)}, nil
}

// resume runs the job again from its checkpoint. A job paused at a schema
// change the target could not take retries it: the apply checks the
// target's catalog first, so a change the user made by hand is found done.
func (m *Manager) resume(ctx context.Context, j *catalog.Job, _ json.RawMessage) (any, error) {
	m.launch(j, RunOptions{})
	return map[string]string{"state": string(j.State)}, nil
}

// stop pauses a running job and returns once its work has stopped.
func (m *Manager) stop(ctx context.Context, j *catalog.Job, _ json.RawMessage) (any, error) {
	a := m.get(j.ID)
	if a == nil {
		_, err := m.svc.Transition(ctx, j.ID, job.EventPaused, "stopped by user (it was not running here)", nil)
		return nil, err
	}
	a.cancel(errPaused)
	select {
	case <-a.done:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return map[string]string{"state": string(job.StatePaused)}, nil
}

// reset forgets the job's progress: its slot and publication on the source
// (DropLog) and its bookkeeping on the target. When the source cannot be
// cleaned, nothing is forgotten (a later start resumes with both) and the
// reset fails: retry it.
func (m *Manager) reset(ctx context.Context, j *catalog.Job, _ json.RawMessage) (any, error) {
	if manual, err := DropLog(ctx, m.engines, j.ID, j.Spec, m.log); err != nil {
		return nil, errs.New(errs.OperationDenied, "the job's replication slot and publication cannot be dropped on the source, so nothing was reset: %v", err).
			WithFix("make the source reachable and reset again (or drop them by hand: %s)", manual)
	}
	if err := m.forget(ctx, j); err != nil {
		return nil, err
	}
	_, err := m.svc.Store().UpdateJob(ctx, j.ID, func(j *catalog.Job) error {
		j.Status, j.Error = nil, nil
		return nil
	})
	return map[string]string{"state": string(job.StateCreated)}, err
}

// delete stops the job if it runs, drops its slot and publication on the
// source and removes its bookkeeping on the target. Without force a
// failure on either side refuses the delete; with force it is reported in
// the server's log with what to drop by hand (the job's events go with it).
func (m *Manager) delete(ctx context.Context, j *catalog.Job, params json.RawMessage) (any, error) {
	var p struct {
		Force bool `json:"force"`
	}
	_ = json.Unmarshal(params, &p)
	m.compares.StopJob(j.ID)
	m.mu.Lock()
	delete(m.alerts, j.ID)
	m.mu.Unlock()
	if a := m.get(j.ID); a != nil {
		a.cancel(errPaused)
		<-a.done
	}
	if manual, err := DropLog(ctx, m.engines, j.ID, j.Spec, m.log); err != nil {
		if !p.Force {
			return nil, errs.New(errs.OperationDenied, "the job's replication slot and publication cannot be dropped on the source: %v", err).
				WithFix("make the source reachable and delete again, or delete with force and drop them by hand on the source (they retain WAL until dropped): %s", manual)
		}
		m.log.WarnContext(ctx, "deleting job without dropping its replication slot and publication: drop them by hand on the source, they retain WAL until dropped",
			"job_id", j.ID, "job", j.Spec.Name, "source", connector.Addr(j.Spec.Source), "database", j.Spec.Source.Database, "sql", manual, "err", err)
		m.svc.Event(ctx, j.ID, catalog.LevelWarning, "log_left_on_source", "the replication slot and publication were not dropped: "+manual,
			map[string]any{"sql": manual})
	}
	if err := m.forget(ctx, j); err != nil {
		if !p.Force {
			return nil, errs.Wrap(err, errs.OperationDenied, "the job's bookkeeping (dts_meta) cannot be removed from the target").
				WithFix("make the target reachable and delete again, or delete with force and drop its dts_meta rows by hand")
		}
		m.log.WarnContext(ctx, "deleting job without cleaning its target bookkeeping", "job_id", j.ID, "err", err)
	}
	return nil, nil
}

func (m *Manager) forget(ctx context.Context, j *catalog.Job) error {
	sink, err := m.engines.OpenSink(ctx, j.Spec.Target, m.log)
	if err != nil {
		return err
	}
	defer sink.Close()
	return sink.Forget(ctx, j.ID)
}

func (m *Manager) get(id string) *activeJob {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.active[id]
}

// launch runs a job in the background until it completes, fails or is paused.
func (m *Manager) launch(j *catalog.Job, ro RunOptions) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, running := m.active[j.ID]; running {
		return
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	a := &activeJob{cancel: cancel, done: make(chan struct{}), progress: NewProgress()}
	m.active[j.ID] = a
	m.wg.Add(1)
	alerts := m.alertJobLocked(j.ID, j.Spec)
	go func() {
		defer m.wg.Done()
		defer close(a.done)
		alerts.Running()
		watchCtx, stopWatch := context.WithCancel(ctx)
		watched := make(chan struct{})
		go func() { defer close(watched); m.watch(watchCtx, alerts, a.progress) }()
		stopStatus := m.publish(j.ID, a.progress)
		run := m.runner.RunWith
		if j.Spec.Type == job.TypeCheck { // a check job compares, moving no data
			run = func(ctx context.Context, id string, spec *job.Spec, _ *Progress, _ RunOptions) error {
				return m.compares.RunCheck(ctx, id, spec)
			}
		}
		err := run(ctx, j.ID, j.Spec, a.progress, ro)
		stopWatch()
		<-watched
		stopStatus()
		m.mu.Lock()
		delete(m.active, j.ID)
		m.mu.Unlock()
		m.finished(j.ID, err, context.Cause(ctx), alerts)
	}()
}

// finished records how a run ended.
func (m *Manager) finished(jobID string, err, cause error, alerts *alert.Job) {
	ctx := context.Background()
	var terr error
	switch {
	case err == nil:
		_, terr = m.svc.Transition(ctx, jobID, job.EventCompleted, "every phase completed", nil)
	case errors.Is(cause, errPaused):
		_, terr = m.svc.Transition(ctx, jobID, job.EventPaused, "stopped by user; progress is checkpointed on the target", nil)
	case errors.Is(cause, context.Canceled):
		return // the server is stopping: the job stays running and resumes with the next server
	case errors.Is(cause, errRestart):
		return // add_objects runs it again
	case errs.CodeOf(err) == connector.CodeUnsupportedDDL:
		_, terr = m.pauseAtDDL(ctx, jobID, err)
	default:
		info := control.ErrorInfo(err)
		if _, coded := errs.As(err); !coded {
			info.Message = err.Error() // uncoded errors carry context but never secrets: drivers' texts are scrubbed
		}
		m.log.Error("job failed", "job_id", jobID, "err", err)
		alerts.Failed(info.Message, map[string]any{"code": info.Code})
		_, terr = m.svc.Transition(ctx, jobID, job.EventFailed, "failed: "+info.Message, info)
	}
	if terr != nil && errs.CodeOf(terr) != errs.JobNotFound {
		m.log.Error("record job outcome", "job_id", jobID, "err", terr)
	}
}

// publish writes the job's progress to the catalog until the returned func is called.
func (m *Manager) publish(jobID string, p *Progress) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(m.StatusEvery)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
			case <-quit:
			}
			status := p.Status()
			_, err := m.svc.Store().UpdateJob(context.Background(), jobID, func(j *catalog.Job) error {
				j.Status = status
				return nil
			})
			if err != nil && errs.CodeOf(err) != errs.JobNotFound {
				m.log.Warn("publish job status", "job_id", jobID, "err", err)
			}
			select {
			case <-quit:
				return
			default:
			}
		}
	}()
	return func() { close(quit); <-done }
}
