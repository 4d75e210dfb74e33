package catalog

import (
	"context"
	"time"
)

// PrecheckStore keeps each job's latest precheck result and the items a
// user skipped in it. Methods that take a job id answer JobNotFound for a
// job that does not exist; a job without a result answers PrecheckNotFound.
//
// A result belongs to the configuration it checked (SpecHash). Skips belong
// to the result's configuration too: saving a new result of the same
// configuration keeps them, a result of another configuration drops them.
type PrecheckStore interface {
	// SavePrecheck replaces the job's latest result with p. p.Skips is
	// ignored: the skips of the previous result are kept when its SpecHash
	// equals p.SpecHash, dropped otherwise; p.Skips is set to what is kept.
	SavePrecheck(ctx context.Context, p *Precheck) error
	// GetPrecheck returns the job's latest result with its skips.
	GetPrecheck(ctx context.Context, jobID string) (*Precheck, error)
	// UpdatePrecheck reads the job's latest result, calls fn with it and
	// writes the skips fn left in it, in one transaction (concurrent skips
	// are serialised). fn must not do I/O; its error aborts the update and is
	// returned as is. Items, SpecHash and times cannot change this way.
	UpdatePrecheck(ctx context.Context, jobID string, fn func(*Precheck) error) (*Precheck, error)
}

// CodePrecheckNotFound is the code of a job that has no precheck result yet.
const CodePrecheckNotFound = "PrecheckNotFound"

// Precheck is one run of a job's precheck as the catalog keeps it.
type Precheck struct {
	JobID string
	// SpecHash identifies the configuration that was checked (precheck.SpecHash).
	SpecHash   string
	StartedAt  time.Time
	FinishedAt time.Time
	// Items are the checks' outcomes, in the order they were listed.
	Items []PrecheckItem
	// Skips are the items a user chose to go past, oldest first.
	Skips []PrecheckSkip
}

// PrecheckItem is the outcome of one check.
type PrecheckItem struct {
	// ID is stable across versions (source.binlog.format); users skip by it.
	ID    string `json:"id"`
	Title string `json:"title"`
	// Status is passed, warning or failed.
	Status  string `json:"status"`
	Message string `json:"message"`
	// Fix says what to do, FixSQL the exact statements where there are some
	// (run on the endpoint the item's id names).
	Fix     string         `json:"fix,omitempty"`
	FixSQL  []string       `json:"fix_sql,omitempty"`
	Details map[string]any `json:"details,omitempty"`
	// DurationMS is how long the check ran.
	DurationMS float64 `json:"duration_ms"`
}

// PrecheckSkip is a user's decision to go past a failed or warning item.
type PrecheckSkip struct {
	Item   string    `json:"item"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
	// Status is the item's status the user went past (failed or warning):
	// the skip covers the item only while it has that status, so skipping a
	// warning never lets a later failure of the same item through. Skips
	// stored before it was recorded have none and cover nothing.
	Status string `json:"status,omitempty"`
}
