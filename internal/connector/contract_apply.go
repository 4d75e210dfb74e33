package connector

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// The apply half of incremental sync (docs/design/incremental.md): a sink
// that applies a change stream with exactly-once effect, through per-worker
// checkpoints committed with the changes. internal/apply drives it; the
// engines implement it (mysql/apply*.go, postgres/apply*.go).
//
// What the apply machinery relies on from a ChangeStream (contract_cdc.go):
//
//   - Positions of one stream are totally ordered by change.Compare, and
//     items come in that order: a transaction's Txn.Pos is at or after the
//     end (Item.Pos) of the item before it and before its own Commit.Pos;
//     a DDL's or Truncate's Pos is after the item before it. A Heartbeat's
//     Pos is at or after the last end. (MySQL: Txn.Pos is the transaction's
//     first event, so Txn.Pos(T+1) = Commit.Pos(T). PostgreSQL: Txn.Pos must
//     grow in commit order - the BEGIN message's final LSN, or the previous
//     commit's end - never the transaction's first WAL record, which
//     interleaved transactions reorder.) The coordinator stops with
//     CodePositionOrder when a stream breaks this.
//   - Follow(from) where from is a Txn.Pos replays that transaction whole
//     and everything after it; where from is an end position (a Commit's,
//     DDL's, Truncate's or Heartbeat's Pos), everything after it.
//   - Items, and the rows and tables they point to, belong to the receiver:
//     the stream does not reuse them. Every row of one table version points
//     to the same *schema.Table (the coordinator caches per pointer).
//   - A DDL's Table is the whole structure after the change (columns, keys
//     and indexes): a source that does not learn indexes from its log
//     copies them from Old. Renamed columns are in Renames, as the source
//     stated them (MySQL CHANGE/RENAME COLUMN, PostgreSQL's attnum):
//     ApplySchemaChange renames exactly those; any other column of Old
//     missing from Table was dropped, whatever takes its position.

// Codes of the apply machinery.
const (
	// CodeDivergence: the target does not hold what the change stream
	// expects (an insert found its key taken, an update or delete found no
	// row): something changed the target behind dts's back.
	CodeDivergence = "Apply.Divergence"
	// CodePositionOrder: the change stream's positions went backwards.
	CodePositionOrder = "Apply.PositionOrder"
	// CodeUnsupportedDDL: a schema change dts cannot carry to the target.
	CodeUnsupportedDDL = "Apply.UnsupportedDDL"
	// CodeUnidentifiedRow: a change does not carry the values that
	// identify its row on the target (a key column missing from the old
	// image, a table without key without a full old image).
	CodeUnidentifiedRow = "Apply.UnidentifiedRow"
)

// ApplySink is a Sink that applies change streams (incremental sync).
//
// The job's apply state lives on the target, in dts_meta:
//
//	checkpoints(job_id, worker, workers, txn_pos, seq, complete, ack_pos, updated_at)
//	    one row per apply worker, written in the worker's own transactions
//	schema_history(job_id, source_table, pos, structure)
//	    the source tables' structures from a position on (versioned JSON)
//
// Its methods are safe for concurrent use. Appliers are not: each belongs
// to one worker goroutine.
type ApplySink interface {
	Sink
	// LoadCheckpoints returns the job's checkpoints, one per worker that
	// ever committed, ordered by worker; empty before the first. Every row
	// holds the worker count the job applies with (Workers) and the routing
	// scheme changes are distributed by (Routing): a job keeps both for its
	// life, a later run uses the stored ones.
	LoadCheckpoints(ctx context.Context, jobID string) ([]WorkerCheckpoint, error)
	// OpenApplier opens worker's applier: its own connection with the
	// apply session settings (UTC, strict values, foreign key checks and
	// triggers off where the target allows). Every Commit writes the
	// worker's checkpoint row with workers as the job's worker count and
	// routing as its routing scheme.
	OpenApplier(ctx context.Context, jobID string, worker, workers, routing int) (Applier, error)
	// SaveSchemas records tables (source structures) as of pos, in a
	// transaction of its own: the structures a job starts following with.
	// Saving the same table at the same position again replaces it.
	SaveSchemas(ctx context.Context, jobID string, pos change.Position, tables []*schema.Table) error
	// LoadSchemas returns each source table's structure as of at: the
	// latest saved at a position at or before it, leaving out tables
	// dropped by then. Ordered by schema and name.
	LoadSchemas(ctx context.Context, jobID string, at change.Position) ([]*schema.Table, error)
}

// Applier is one apply worker's connection to the target and the target
// transaction open on it.
//
// One goroutine uses it. The first call after Open or Commit opens a
// target transaction; Commit writes the worker's checkpoint in it and
// commits. A call that fails leaves the transaction unusable: the caller
// calls Rollback (the target then holds what the last Commit left) and
// either stops or starts over from the checkpoint. An error may surface
// from a later call than the one that caused it (PostgreSQL pipelines
// statements): every call until Commit may report it. Cancelling ctx
// rolls the transaction back.
type Applier interface {
	// Apply writes one batch: changes of one table and one kind, in source
	// order, no key twice. It does not keep b or its rows after it returns.
	// Outside the replay window (b.Safe false) a row the target does not
	// hold as expected is an *errs.Error with CodeDivergence naming the
	// table and key.
	Apply(ctx context.Context, b *ApplyBatch) error
	// ApplySchemaChange carries a schema change to the target: ddl's Old and
	// Table are target structures (already mapped: names and types of the
	// target), Renames the target columns renamed, Kind one of the job's
	// ddl kinds. PostgreSQL runs it in the
	// open transaction, so it commits with the checkpoint. MySQL runs DDL
	// outside transactions: call it with no change pending (right after
	// Commit); the DDL commits by itself, and a replay finds it done on the
	// target's catalog (a column already there, an index already gone) and
	// does only what is missing.
	ApplySchemaChange(ctx context.Context, ddl *change.DDL) error
	// Truncate empties target tables. PostgreSQL: in the open transaction;
	// MySQL: like ApplySchemaChange (TRUNCATE is DDL there; replaying it is
	// harmless).
	Truncate(ctx context.Context, tables []*schema.Table) error
	// SaveSchema records a source table's structure from pos on (nil: the
	// table was dropped) in the open transaction.
	SaveSchema(ctx context.Context, sourceTable string, pos change.Position, t *schema.Table) error
	// Commit writes cp as the worker's checkpoint and commits everything
	// applied since the last Commit with it. A commit with nothing applied
	// advances the checkpoint alone.
	Commit(ctx context.Context, cp Checkpoint) error
	// Rollback abandons the open transaction, if any. It works with a
	// cancelled ctx.
	Rollback(ctx context.Context) error
	// Close rolls back and releases the connection.
	Close() error
}

// ApplyTable is a target table as apply writes it. The coordinator makes one
// per source table version; appliers cache statements per pointer.
type ApplyTable struct {
	// Table is the target table.
	Table *schema.Table
	// Columns are the target columns rows carry, in order; generated columns
	// among them are not written.
	Columns []string
	// SourceTypes are the logical types of the incoming values, in Columns
	// order: they say which canonical form each value has.
	SourceTypes []schema.Type
	// Key are the columns (among Columns) that identify a row: the primary
	// key, else a NOT NULL unique key. Empty: the table has no key and a
	// row is identified by all its values (NULL equal to NULL); an update
	// or delete then changes exactly one row of the ones that match.
	Key []string
}

// ApplyOp is what an ApplyBatch does.
type ApplyOp uint8

const (
	// ApplyInsert inserts Rows. Strict: a key already taken is divergence.
	// Safe: an existing row with the key is replaced.
	ApplyInsert ApplyOp = iota + 1
	// ApplyUpdate sets the row identified by Keys[i] to Rows[i] (only the
	// Present columns, when set; the key may change). Strict: every key
	// matches a row, else divergence. Safe: a full row (Present nil) is
	// written whether or not its old key matched (an upsert); a partial one
	// only where the row exists.
	ApplyUpdate
	// ApplyDelete deletes the rows identified by Keys. Strict: every key
	// matches a row, else divergence. Safe: missing rows are fine.
	ApplyDelete
)

func (o ApplyOp) String() string {
	switch o {
	case ApplyInsert:
		return "insert"
	case ApplyUpdate:
		return "update"
	case ApplyDelete:
		return "delete"
	}
	return "op?"
}

// ApplyBatch is a run of changes of one table and one kind.
type ApplyBatch struct {
	Table *ApplyTable
	Op    ApplyOp
	// Rows are the new rows of inserts and updates, values for
	// Table.Columns.
	Rows []value.Row
	// Keys identify the old rows of updates and deletes: values of
	// Table.Key in its order, or of all Table.Columns when Key is empty.
	Keys []value.Row
	// Present marks the columns an update writes (nil: all). A column left
	// out keeps its target value (PostgreSQL's unchanged TOAST values).
	Present []bool
	// Changed marks, for updates with every column present, the columns
	// whose new value differs from the old one in some row of the batch,
	// when the source sent every old value (MySQL's full row images); nil:
	// not known. A target may write only those: the others hold the old
	// values, which the rows' keys were found with.
	Changed []bool
	// Safe says the changes are inside the replay window: apply them
	// idempotently, without divergence checks.
	Safe bool
}

// Checkpoint is where one apply worker stands in the change stream:
// everything the coordinator routed to it up to this point is applied.
//
// A complete checkpoint is an end position (a Commit's, DDL's, Truncate's
// or Heartbeat's Item.Pos): every item that ended at or before it is
// applied, and a transaction is after it when its Txn.Pos is at or after
// Pos. An incomplete one stands inside the transaction whose Txn.Pos is
// Pos: its changes with Seq ≤ Seq are applied (Seq -1: none), the ones
// after are not. A restart follows the stream from the smallest Pos over
// the workers.
type Checkpoint struct {
	Pos      change.Position
	Seq      int
	Complete bool
	// Ack is the greatest end position at or before the checkpoint: the
	// stream may be acknowledged up to it.
	Ack change.Position
}

// Covers reports whether the change at (txnPos, seq) is at or before cp.
func (cp Checkpoint) Covers(txnPos change.Position, seq int) bool {
	return CompareCheckpoints(Checkpoint{Pos: txnPos, Seq: seq}, cp) <= 0
}

// CoversEnd reports whether an item that ended at pos (a DDL, a Truncate)
// is at or before cp.
func (cp Checkpoint) CoversEnd(pos change.Position) bool {
	return CompareCheckpoints(Checkpoint{Pos: pos, Complete: true}, cp) <= 0
}

// CompareCheckpoints orders two checkpoints of one stream: -1, 0 or 1. A
// complete checkpoint at E comes before the changes of a transaction whose
// Txn.Pos is E (it is the point before them), so it orders as (E, -1).
func CompareCheckpoints(a, b Checkpoint) int {
	if c := change.Compare(a.Pos, b.Pos); c != 0 {
		return c
	}
	as, bs := a.Seq, b.Seq
	if a.Complete {
		as = -1
	}
	if b.Complete {
		bs = -1
	}
	switch {
	case as < bs:
		return -1
	case as > bs:
		return 1
	}
	return 0
}

func (cp Checkpoint) String() string {
	if cp.Complete {
		return "after " + cp.Pos.String()
	}
	return fmt.Sprintf("in txn %s through seq %d", cp.Pos, cp.Seq)
}

// WorkerCheckpoint is a worker's stored checkpoint.
type WorkerCheckpoint struct {
	Worker  int
	Workers int // the job's worker count
	// Routing is the scheme by which the job routes changes to workers (0:
	// rows written by a dts from before the column: the first scheme).
	Routing int
	Checkpoint
	UpdatedAt time.Time
}

// ReplayWindowEnd returns the end of the replay window of a job whose full
// load ran with snapshots at runs (oldest first): changes before the last
// snapshot's position may already be in the copied rows, so they are
// applied idempotently up to it. Zero when there is no window (one run).
func ReplayWindowEnd(runs []change.Position) change.Position {
	if len(runs) < 2 {
		return change.Position{}
	}
	end := runs[0]
	for _, p := range runs[1:] {
		if change.Compare(p, end) > 0 {
			end = p
		}
	}
	if change.Compare(end, runs[0]) == 0 {
		return change.Position{}
	}
	return end
}

// structureVersion is the version of EncodeStructure's JSON.
const structureVersion = 1

// EncodeStructure returns a table structure as versioned JSON (schema history).
func EncodeStructure(t *schema.Table) ([]byte, error) {
	b, err := json.Marshal(struct {
		V     int           `json:"v"`
		Table *schema.Table `json:"table"`
	}{structureVersion, t})
	if err != nil {
		return nil, fmt.Errorf("encode the structure of %s: %w", t, err)
	}
	return b, nil
}

// DecodeStructure parses what EncodeStructure wrote.
func DecodeStructure(b []byte) (*schema.Table, error) {
	var w struct {
		V     int           `json:"v"`
		Table *schema.Table `json:"table"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("decode a table structure: %w", err)
	}
	if w.V != structureVersion {
		return nil, fmt.Errorf("decode a table structure: version %d, this dts reads %d", w.V, structureVersion)
	}
	if w.Table == nil {
		return nil, fmt.Errorf("decode a table structure: no table")
	}
	return w.Table, nil
}

// StructuresAt picks each table's structure as of a position from schema
// history records (LoadSchemas of the engines).
type StructuresAt struct {
	at     change.Position
	latest map[string]historyEntry
}

type historyEntry struct {
	pos   change.Position
	table *schema.Table // nil: dropped
}

// NewStructuresAt starts picking structures as of at.
func NewStructuresAt(at change.Position) *StructuresAt {
	return &StructuresAt{at: at, latest: map[string]historyEntry{}}
}

// Add takes one record: table's structure from pos (Position.Encode) on;
// dropped (present false) when the table was dropped there.
func (h *StructuresAt) Add(table string, pos []byte, structure string, present bool) error {
	p, err := change.DecodePosition(pos)
	if err != nil {
		return fmt.Errorf("table %s: %w", table, err)
	}
	if change.Compare(p, h.at) > 0 {
		return nil
	}
	if cur, ok := h.latest[table]; ok && change.Compare(cur.pos, p) > 0 {
		return nil
	}
	e := historyEntry{pos: p}
	if present {
		if e.table, err = DecodeStructure([]byte(structure)); err != nil {
			return fmt.Errorf("table %s at %s: %w", table, p, err)
		}
	}
	h.latest[table] = e
	return nil
}

// Tables returns the structures, dropped tables left out, by schema and name.
func (h *StructuresAt) Tables() []*schema.Table {
	var out []*schema.Table
	for _, e := range h.latest {
		if e.table != nil {
			out = append(out, e.table)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Schema != out[j].Schema {
			return out[i].Schema < out[j].Schema
		}
		return out[i].Name < out[j].Name
	})
	return out
}
