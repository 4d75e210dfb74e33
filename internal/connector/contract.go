package connector

import (
	"context"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/filter"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// The contracts between dts's engine-neutral phases (structure, full load)
// and the engine connectors. Values cross them in canonical form
// (internal/value), tables as the schema model (internal/schema): a source
// only knows its engine and those, a sink the same, so every pair of engines
// works through one pipeline.

// TableRef names a table of a source.
type TableRef struct {
	Schema string // MySQL database or PostgreSQL schema
	Name   string
}

func (r TableRef) String() string { return r.Schema + "." + r.Name }

// Source is a database dts reads from.
//
// It is opened for one run of a job and closed at the end of it. Its methods
// are safe for concurrent use; they honour ctx.
type Source interface {
	// ListTables lists the base tables (not views) of every user schema,
	// ordered by schema and name. System schemas are never listed.
	ListTables(ctx context.Context) ([]TableRef, error)
	// ReadTables reads the structure of tables. Column types come back as
	// logical kinds with the source's own spelling in Type.Raw.
	ReadTables(ctx context.Context, refs []TableRef) ([]*schema.Table, error)
	// OpenSnapshot starts a consistent read of the whole source shared by
	// `readers` connections and returns it with the log position it matches:
	// a change committed after that position is not visible to the readers,
	// one committed before it is.
	OpenSnapshot(ctx context.Context, readers int) (Snapshot, error)
	Close() error
}

// Snapshot is a consistent read of a source.
type Snapshot interface {
	// Position is the source log position the snapshot matches.
	Position() change.Position
	// Readers are the snapshot's connections; each is used by one goroutine
	// at a time.
	Readers() []Reader
	// Close ends the snapshot's transactions and closes its connections.
	Close() error
}

// Reader reads rows inside a snapshot.
type Reader interface {
	// EstimateRows returns the engine's estimate of t's rows that where
	// selects (nil: every row) without scanning the table.
	EstimateRows(ctx context.Context, t *schema.Table, where *filter.Filter) (int64, error)
	// SplitKeys returns at most n-1 values of key, ascending in the
	// database's order, that split t's rows that where selects (nil: every
	// row) into ranges of about equal size; fewer (even none) for small tables.
	SplitKeys(ctx context.Context, t *schema.Table, where *filter.Filter, key []string, n int) ([]value.Row, error)
	// Read streams the rows req selects to fn, ordered by req.Key when it is
	// set. Rows hold req.Columns in canonical form; fn must not keep a row
	// after it returns (Clone it): drivers reuse their buffers. An error from
	// fn stops the read and is returned.
	Read(ctx context.Context, req ReadRequest, fn func(value.Row) error) error
}

// ReadRequest selects rows of one table.
type ReadRequest struct {
	Table   *schema.Table
	Columns []string // columns to read, in the order rows carry them
	// Key orders the rows; After (exclusive) and Upto (inclusive) bound it,
	// in canonical form, nil meaning unbounded. Comparisons are the
	// database's own (collations included) as a row-value comparison.
	Key   []string
	After value.Row
	Upto  value.Row
	// Limit caps the rows read (0: no cap).
	Limit int
	// Filter selects the rows (nil: every row): the job's row filter,
	// parsed and checked. Readers AND its rendering for their dialect
	// (Filter.SQL) into the query: the user's text never reaches SQL.
	Filter *filter.Filter
}

// Sink is a database dts writes to.
//
// Besides the user's tables, a sink keeps the jobs' bookkeeping on the
// target (the dts_meta database/schema): what structure a job created, its
// full-load partitions and their progress, the positions of its snapshots.
// Chunk progress commits in the same transaction as the chunk's rows, so a
// crash at any instant leaves the target with whole chunks and progress that
// says exactly which.
type Sink interface {
	// MapTable returns the target table for a source table: names as given
	// (renames already applied), types in the target's dialect (Type.Raw set
	// to the target's spelling). Values the target cannot hold exactly are
	// listed as problems; a same-engine copy keeps every type verbatim.
	MapTable(src *schema.Table, sourceEngine string) (*schema.Table, []TypeProblem)

	// Claim makes the target's bookkeeping ready and registers the job on it
	// (creating dts_meta if missing). It refuses, with a coded error, a
	// target that holds progress of another job id under the same name.
	Claim(ctx context.Context, jobID, jobName string) error
	// LoadState returns what the job's earlier runs recorded.
	LoadState(ctx context.Context, jobID string) (*LoadState, error)
	// SaveTableState records a table's structure and load milestones.
	SaveTableState(ctx context.Context, jobID string, st *TableState) error
	// AddRun records the position of a new full-load run's snapshot.
	AddRun(ctx context.Context, jobID string, pos change.Position) error
	// Forget removes all of a job's bookkeeping (reset, delete).
	Forget(ctx context.Context, jobID string) error

	// TableInfo says whether a target table exists and holds rows.
	TableInfo(ctx context.Context, schemaName, table string) (exists, hasRows bool, err error)
	// PrepareTable creates the target schema/database if needed and the
	// table with its primary key only, as policy says for an existing table
	// (fail, append, truncate, recreate).
	PrepareTable(ctx context.Context, t *schema.Table, policy string) error
	// FinishTable adds what is faster to build after the data: secondary
	// indexes (unique ones included) and auto-increment/sequence values past
	// the copied maximum. It is idempotent.
	FinishTable(ctx context.Context, t *schema.Table) error
	// AddForeignKeys creates t's foreign keys once every table is finished
	// (a key may reference another table's unique index). It skips keys that
	// exist, and fails with a coded error naming a key whose referenced table
	// is not on the target.
	AddForeignKeys(ctx context.Context, t *schema.Table) error
	// WriteChunk writes rows and, in the same transaction, the partition
	// progress that w.Progress returns. next returns batches of rows until it
	// returns nil, nil; then WriteChunk calls w.Progress, writes it, and
	// commits. An error from next aborts the transaction. Memory stays
	// bounded by the batches. It returns the number of rows written.
	WriteChunk(ctx context.Context, w ChunkWrite, next func() ([]value.Row, error)) (int64, error)

	Close() error
}

// ChunkWrite says where a chunk goes and what it completes.
type ChunkWrite struct {
	Table *schema.Table // the target table
	// Columns are the target columns, in the order rows carry values.
	Columns []string
	// SourceTypes are the logical types of the incoming values, in Columns
	// order: they say which canonical form each value has.
	SourceTypes []schema.Type
	// Progress is called after the last batch; what it returns is
	// committed with the rows.
	Progress func() Progress
}

// Progress is a partition's progress after a chunk.
type Progress struct {
	JobID     string
	Table     string // source table, schema.name
	Partition int
	Last      value.Row // key of the chunk's last row
	Rows      int64     // rows in this chunk (added to the partition's count)
	Done      bool      // the partition is complete
}

// TypeProblem is a source column whose values the target cannot hold exactly.
type TypeProblem struct {
	Column string
	Type   string // the source type
	// Reason says which values are lost and how, e.g. "PostgreSQL has no
	// unsigned integers: values above 9223372036854775807 ..."
	Reason string
	// Fatal problems stop the job before any row moves; the others are warnings.
	Fatal bool
}

// LoadState is a job's bookkeeping on a target.
type LoadState struct {
	// Runs are the snapshot positions of the job's full-load runs, oldest first.
	Runs   []change.Position
	Tables map[string]*TableState // by source table, schema.name
}

// TableState is one table's structure and load milestones.
type TableState struct {
	Table string // source table, schema.name
	// Target is the target table, schema.name.
	Target string
	// Creating says the job found no target table and set out to create
	// it: a table found later without Created is the job's own, empty one.
	Creating bool
	// Created says the job created (or prepared per policy) the target table.
	Created bool
	// Partitions are planned once per table; empty until planned.
	Partitions []Partition
	// Loaded says every partition is done.
	Loaded bool
	// Finished says FinishTable ran.
	Finished bool
	// FirstRun and LastRun are the full-load runs (1-based, as Runs) whose
	// snapshots the table's rows may come from, recorded before a run
	// copies any of them; 0: not recorded. Changes the first snapshot holds
	// are in every copied row; changes up to the last one's position may be
	// in some (incremental sync applies them idempotently).
	FirstRun, LastRun int
}

// Partition is a key range of a table, copied in chunks in key order.
type Partition struct {
	No int
	// After (exclusive) and Upto (inclusive) bound the range; nil is open.
	After, Upto value.Row
	// Last is the key of the last copied row; nil before the first chunk.
	Last value.Row
	Rows int64
	Done bool
}
