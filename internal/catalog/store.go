// Package catalog is where dts keeps its jobs, their state and history,
// events and operations. Store is the contract; sqlite/ implements it (the
// embedded default) and catalogtest/ is the conformance suite every
// implementation passes, so a PostgreSQL store for several nodes can follow.
package catalog

import (
	"context"
	"encoding/json"
	"time"

	"github.com/dtsorg/dts/internal/job"
)

// Store persists dts's catalog.
//
// All methods are safe for concurrent use and honour ctx. Errors a caller can
// act on are coded (internal/errs): JobNotFound, JobAlreadyExists,
// OperationNotFound; anything else is an internal failure of the store.
//
// Passwords in job specs are sealed before they are written (see SealSpec)
// and never stored in plaintext. A stored secret that does not open (another
// key) is a coded error, never a job with a wrong password.
//
// Times are kept in UTC with microsecond precision: the store truncates the
// times it is given and sets on the records it is passed, so what a write
// leaves in a record is exactly what a later read returns.
//
// Methods that take a job id (History, the event and operation methods that
// name a job) answer JobNotFound for a job that does not exist.
type Store interface {
	// PrecheckStore keeps precheck results (precheck.go).
	PrecheckStore
	// CompareStore keeps compare tasks and their reports (compare.go).
	CompareStore

	// CreateJob stores a new job. j.ID and j.Spec.Name must be unique
	// (JobAlreadyExists otherwise). CreatedAt/UpdatedAt/Version are set by the store.
	CreateJob(ctx context.Context, j *Job) error
	// GetJob returns the job with this id (JobNotFound otherwise).
	GetJob(ctx context.Context, id string) (*Job, error)
	// GetJobByName returns the job with this name (JobNotFound otherwise).
	GetJobByName(ctx context.Context, name string) (*Job, error)
	// ListJobs returns every job, oldest first.
	ListJobs(ctx context.Context) ([]*Job, error)
	// UpdateJob reads the job, calls fn with it, and writes what fn left in
	// it, all in one transaction: concurrent updates of one job are
	// serialised. fn must not do I/O; an error from fn aborts the update and
	// is returned as is. A changed State is recorded in the job's history
	// with StateReason, at the update's UpdatedAt. The store bumps Version and
	// UpdatedAt and keeps ID and CreatedAt, whatever fn does to them. A new
	// Spec.Name taken by another job is JobAlreadyExists.
	UpdateJob(ctx context.Context, id string, fn func(*Job) error) (*Job, error)
	// DeleteJob removes the job with its history, events and operations.
	DeleteJob(ctx context.Context, id string) error
	// History returns the job's state changes, oldest first. Creating a job
	// is not a change: a new job's history is empty.
	History(ctx context.Context, jobID string) ([]StateChange, error)

	// AppendEvent stores an event of a job; the store sets ID and, if zero, At.
	AppendEvent(ctx context.Context, e *Event) error
	// ListEvents returns up to limit events of a job with ID > afterID, oldest
	// (lowest ID) first; limit <= 0 means no limit. IDs are never reused.
	ListEvents(ctx context.Context, jobID string, afterID int64, limit int) ([]Event, error)

	// CreateOperation stores a new operation; the store sets the times.
	CreateOperation(ctx context.Context, op *Operation) error
	// GetOperation returns an operation (OperationNotFound otherwise).
	GetOperation(ctx context.Context, id string) (*Operation, error)
	// UpdateOperation is UpdateJob for operations; the store keeps ID, JobID
	// and CreatedAt and bumps UpdatedAt.
	UpdateOperation(ctx context.Context, id string, fn func(*Operation) error) (*Operation, error)
	// ListOperations returns a job's operations, newest first.
	ListOperations(ctx context.Context, jobID string) ([]*Operation, error)

	// Close releases the store.
	Close() error
}

// Job is a job as the catalog keeps it.
type Job struct {
	ID string
	// Spec is the job's configuration, passwords included (sealed at rest).
	Spec *job.Spec
	// State is the lifecycle state; StateReason says why it is there
	// ("stopped by user", "precheck failed: 2 items"...).
	State       job.State
	StateReason string
	// Error is the error that failed the job, if any.
	Error *ErrorInfo
	// Status is what the running job last reported (phase, progress,
	// position, delay). Its shape belongs to the runner, which versions it.
	Status json.RawMessage
	// Version counts updates; it changes on every write.
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ErrorInfo is a coded error as stored and shown to users.
type ErrorInfo struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
	// Details is the error's machine-readable context (a position, a
	// statement): what an action taken on the error refers to.
	Details map[string]any `json:"details,omitempty"`
}

// StateChange is one entry of a job's state history.
type StateChange struct {
	From   job.State
	To     job.State
	Reason string
	At     time.Time
}

// Event levels.
const (
	LevelInfo    = "info"
	LevelWarning = "warning"
	LevelError   = "error"
)

// Event is something that happened to a job, for people and alerting.
type Event struct {
	ID    int64
	JobID string
	At    time.Time
	Level string
	// Type is a stable machine-readable kind: state_changed, precheck_skipped...
	Type    string
	Message string
	Details map[string]any
}

// Operation statuses.
const (
	OpRunning   = "running"
	OpSucceeded = "succeeded"
	OpFailed    = "failed"
)

// Operation is the record of a long action a client polls.
type Operation struct {
	ID     string
	JobID  string
	Action string
	Status string
	Params json.RawMessage
	// Result is the action's answer once it succeeded.
	Result    json.RawMessage
	Error     *ErrorInfo
	CreatedAt time.Time
	UpdatedAt time.Time
}
