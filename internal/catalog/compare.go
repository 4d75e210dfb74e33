package catalog

import (
	"context"
	"encoding/json"
	"time"
)

// CompareNotFound is the code of a compare id that does not exist.
const CompareNotFound = "CompareNotFound"

// Compare statuses. A compare is scheduled (it waits for its start time),
// running, or ended: done (its report says whether the data is equal),
// failed (Error says why) or cancelled.
const (
	CompareScheduled = "scheduled"
	CompareRunning   = "running"
	CompareDone      = "done"
	CompareFailed    = "failed"
	CompareCancelled = "cancelled"
)

// CompareStore keeps compare tasks, their reports, and the records a
// compare resumes from after a stop (one per table and chunk).
//
// Its methods follow Store's rules: safe for concurrent use, ctx honoured,
// times in UTC with microsecond precision. Methods that name a job answer
// JobNotFound for a job that does not exist; methods that name a compare
// answer CompareNotFound for one that does not exist. Deleting a job
// deletes its compares and their records.
type CompareStore interface {
	// CreateCompare stores a new compare; the store sets CreatedAt and UpdatedAt.
	CreateCompare(ctx context.Context, c *Compare) error
	// GetCompare returns a compare.
	GetCompare(ctx context.Context, id string) (*Compare, error)
	// UpdateCompare reads the compare, calls fn with it and writes what fn
	// left in it, in one transaction. The store keeps ID, JobID and
	// CreatedAt and bumps UpdatedAt. An error from fn is returned as is.
	UpdateCompare(ctx context.Context, id string, fn func(*Compare) error) (*Compare, error)
	// ListCompares returns a job's compares, newest first.
	ListCompares(ctx context.Context, jobID string) ([]*Compare, error)
	// SaveCompareRecord stores a record of a compare, replacing the one
	// with the same Table and Chunk.
	SaveCompareRecord(ctx context.Context, compareID string, r CompareRecord) error
	// ListCompareRecords returns a compare's records ordered by Table, then Chunk.
	ListCompareRecords(ctx context.Context, compareID string) ([]CompareRecord, error)
}

// Compare is one compare task of a job.
type Compare struct {
	ID    string
	JobID string
	// Type is objects, rows or content.
	Type   string
	Status string
	// Params are the parameters the compare was created with (JSON).
	Params json.RawMessage
	// Report is the compare's report; its shape belongs to internal/compare,
	// which versions it. Empty until the compare has one.
	Report json.RawMessage
	// Error says why a failed compare failed.
	Error *ErrorInfo
	// StartAt is when a scheduled compare starts (zero: at once).
	StartAt time.Time
	// StartedAt and FinishedAt are zero until the compare started / ended.
	StartedAt  time.Time
	FinishedAt time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Ended reports whether the compare has ended (done, failed or cancelled).
func (c *Compare) Ended() bool {
	return c.Status == CompareDone || c.Status == CompareFailed || c.Status == CompareCancelled
}

// CompareRecord is what a compare keeps of one table's chunk (or, for
// negative Chunk numbers, of the table as a whole) to resume from. Data
// belongs to internal/compare, which versions it.
type CompareRecord struct {
	Table string
	Chunk int
	Data  json.RawMessage
}
