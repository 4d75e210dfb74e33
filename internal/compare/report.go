package compare

import (
	"time"
)

// ReportVersion versions the report document: the API answers it and the
// catalog keeps it.
const ReportVersion = 1

// Report statuses (of a compare and of each table).
const (
	StatusEqual      = "equal"
	StatusDifferent  = "different"
	StatusSkipped    = "skipped"    // a table that could not be compared (Reason says why)
	StatusIncomplete = "incomplete" // the time limit ended the compare first
)

// Report is what a compare found.
type Report struct {
	V             int     `json:"v"`
	Type          string  `json:"type"`
	Status        string  `json:"status"`
	SamplePercent float64 `json:"sample_percent,omitempty"`
	// Tables are the compared tables, by source name.
	Tables []TableReport `json:"tables"`
	// ExtraTables are tables of the target schemas that no source table
	// maps onto (objects compares); they do not make the compare different.
	ExtraTables []string    `json:"extra_tables,omitempty"`
	Repair      *RepairInfo `json:"repair,omitempty"`
	Warnings    []string    `json:"warnings,omitempty"`
	// TimeLimited says the time limit (max_hours) ended the compare: what
	// was done is kept (a journal) for the next run to continue.
	TimeLimited bool      `json:"time_limited,omitempty"`
	StartedAt   time.Time `json:"started_at"`
	FinishedAt  time.Time `json:"finished_at"`
	Seconds     float64   `json:"seconds"`
}

// TableReport is one table's result.
type TableReport struct {
	Table  string `json:"table"`  // source schema.name
	Target string `json:"target"` // target schema.name
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
	// Mode is how a content compare split the table: range (key ranges),
	// hash (hash buckets of the key: its order differs between the
	// engines) or rows (no key: hash buckets of whole rows).
	Mode       string `json:"mode,omitempty"`
	SourceRows *int64 `json:"source_rows,omitempty"`
	TargetRows *int64 `json:"target_rows,omitempty"`
	// Chunks planned, compared (fewer when sampled or cut short) and found different.
	Chunks          int `json:"chunks,omitempty"`
	ChunksCompared  int `json:"chunks_compared,omitempty"`
	ChunksDifferent int `json:"chunks_different,omitempty"`
	// Missing rows are on the source only, extra rows on the target only,
	// changed rows on both with different values.
	Missing int64 `json:"missing,omitempty"`
	Extra   int64 `json:"extra,omitempty"`
	Changed int64 `json:"changed,omitempty"`
	// Objects are the structure differences (objects compares).
	Objects []ObjectDiff `json:"objects,omitempty"`
	// Rows are the first row differences (Options.MaxRowDiffs).
	Rows []RowDiff `json:"rows,omitempty"`
	// Unlisted counts differences found but not listed or repaired
	// (beyond Options.MaxRepairRows or MaxRepairBytes).
	Unlisted int64 `json:"unlisted,omitempty"`
	// Unconfirmed counts rows that differed while a sync job applied
	// changes and could not be confirmed either way (the job did not
	// catch up within the compare's wait, or the source kept changing
	// them); they are not differences, and make the table incomplete.
	Unconfirmed int64 `json:"unconfirmed,omitempty"`
}

func (t *TableReport) differences() int64 { return t.Missing + t.Extra + t.Changed + t.Unlisted }

// ObjectDiff is one structure difference.
type ObjectDiff struct {
	// Object names what differs: "table", "column c", "primary key",
	// "index (a, b)", "foreign key (a) → s.t (id)".
	Object string `json:"object"`
	// Kind is missing (not on the target), extra (on the target only) or different.
	Kind     string `json:"kind"`
	Expected string `json:"expected,omitempty"`
	Actual   string `json:"actual,omitempty"`
}

// Row difference kinds.
const (
	RowMissing = "missing" // on the source, not on the target
	RowExtra   = "extra"   // on the target, not on the source
	RowChanged = "changed" // on both, with different values
)

// RowDiff is one differing row.
type RowDiff struct {
	Kind string `json:"kind"`
	// Key is the row's key (every column for a table without one), by
	// target column names.
	Key []Cell `json:"key"`
	// Columns are the columns whose values differ (changed rows), with
	// their values on each side.
	Columns []ColumnDiff `json:"columns,omitempty"`
}

// Cell is a column's value for people: text as is (cut after 200
// characters), bytes as 0x hex; nil is NULL.
type Cell struct {
	Column string  `json:"column"`
	Value  *string `json:"value"`
}

// ColumnDiff is a column whose value differs.
type ColumnDiff struct {
	// Column is the target column; SourceColumn the source's name of a
	// renamed one ("" when the names agree, or for an added column).
	Column       string  `json:"column"`
	SourceColumn string  `json:"source_column,omitempty"`
	Source       *string `json:"source"`
	Target       *string `json:"target"`
}

// RepairInfo describes the repair SQL of a compare.
type RepairInfo struct {
	// Dialect is the target's (mysql or postgresql).
	Dialect string `json:"dialect"`
	// File is where the whole script is: a path (dts compare) or an API
	// path (server compares).
	File       string `json:"file,omitempty"`
	Statements int    `json:"statements"`
	// Inline are the first statements (Options.InlineRepair).
	Inline []string `json:"inline,omitempty"`
	// Truncated says more rows differ than the script repairs: compare
	// again after applying it.
	Truncated bool `json:"truncated,omitempty"`
	// Applied says the script ran on the target; Error says why it failed.
	Applied bool   `json:"applied,omitempty"`
	Error   string `json:"error,omitempty"`
	// Verified says the repaired rows were compared again after the
	// repair: StillDifferent of them still differ (0: the repair took),
	// Unconfirmed could not be decided while a sync applied changes.
	Verified       bool  `json:"verified,omitempty"`
	StillDifferent int64 `json:"still_different,omitempty"`
	Unconfirmed    int64 `json:"unconfirmed,omitempty"`
}

// Repaired reports whether a repair was applied and the repaired rows
// were found equal afterwards, with nothing left unrepaired.
func (r *RepairInfo) Repaired() bool {
	return r != nil && r.Applied && r.Verified && r.StillDifferent == 0 && r.Unconfirmed == 0 && !r.Truncated
}

// finish sets the compare's status from its tables.
func (r *Report) finish(started time.Time) {
	r.V, r.StartedAt, r.FinishedAt = ReportVersion, started.UTC(), time.Now().UTC()
	r.Seconds = r.FinishedAt.Sub(r.StartedAt).Seconds()
	r.Status = StatusEqual
	for _, t := range r.Tables {
		switch t.Status {
		case StatusDifferent:
			r.Status = StatusDifferent
		case StatusIncomplete, StatusSkipped:
			if r.Status == StatusEqual {
				r.Status = StatusIncomplete
			}
		}
	}
}

// Differs reports whether the compare found a difference.
func (r *Report) Differs() bool { return r.Status == StatusDifferent }
