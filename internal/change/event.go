package change

import (
	"time"

	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// A change source emits Items in commit order (docs/design/incremental.md):
//
//	Begin, Row..., Commit      one source transaction
//	DDL                        a schema change, between transactions
//	Truncate                   between transactions
//	Heartbeat                  nothing newer than Pos exists at the source
//
// Sources never skip: an event they cannot decode ends the stream with a
// coded error at its position.

// ItemKind says what an Item carries.
type ItemKind uint8

const (
	ItemBegin ItemKind = iota + 1
	ItemRow
	ItemCommit
	ItemDDL
	ItemTruncate
	ItemHeartbeat
)

// Item is one element of a change stream.
type Item struct {
	Kind ItemKind
	// Txn is the transaction a Begin, Row or Commit belongs to.
	Txn *Txn
	Row *Row
	DDL *DDL
	// Tables are the tables a Truncate empties (source structure).
	Tables []*schema.Table
	// Pos is where the stream is after this item: for Commit the position
	// after the transaction (a resume point), for DDL/Truncate after the
	// statement, for Heartbeat the source's newest position.
	Pos Position
	// At is the source's time of the item: commit time, statement time, or
	// the heartbeat's time.
	At time.Time
}

// Txn is one source transaction.
type Txn struct {
	// ID names it in the source's terms (GTID, xid) for messages.
	ID string
	// Pos is the position a replay must start at to see the transaction
	// whole (MySQL: its GTID/BEGIN event; PostgreSQL: its BEGIN's LSN).
	Pos Position
	// CommitTime is the source's commit timestamp.
	CommitTime time.Time
}

// Op is a row change's kind.
type Op uint8

const (
	OpInsert Op = iota + 1
	OpUpdate
	OpDelete
)

func (o Op) String() string {
	switch o {
	case OpInsert:
		return "insert"
	case OpUpdate:
		return "update"
	case OpDelete:
		return "delete"
	}
	return "op?"
}

// Row is one row change.
type Row struct {
	Op Op
	// Table is the source table as it was when the change was written (the
	// schema history's version at this position); Before and After hold its
	// columns in order.
	Table *schema.Table
	// Before is the old row (update, delete): every column with MySQL's FULL
	// row image or PostgreSQL's REPLICA IDENTITY FULL; with PostgreSQL's
	// default identity only the key columns are set (the others nil) and
	// BeforeKeyOnly is true.
	Before        value.Row
	BeforeKeyOnly bool
	// After is the new row (insert, update).
	After value.Row
	// Missing marks columns of After whose new value the source did not send
	// (PostgreSQL unchanged TOAST): the target keeps its value. nil: none.
	Missing []bool
	// Seq is the change's index within its transaction, from 0.
	Seq int
}

// DDL is a schema change the source recorded.
type DDL struct {
	// Kind is one of the job file's ddl kinds (job.DDLCreateTable...).
	Kind string
	// Schema is the database/schema the statement applies to.
	Schema string
	// Statement is the source's SQL text (MySQL) or a description
	// (PostgreSQL, whose changes arrive as new relation descriptions).
	Statement string
	// Table is the affected table's structure after the change (nil for DROP
	// TABLE); Old is its structure before (nil for CREATE TABLE). A rename
	// has both, under different names.
	Table *schema.Table
	Old   *schema.Table
	// Renames maps old column names to new ones, as the source stated them
	// (MySQL: CHANGE / RENAME COLUMN in the parsed statement; PostgreSQL: a
	// column whose attnum kept its place under a new name). A column of Old
	// that is missing from Table and not renamed here was dropped: renames
	// are never guessed from positions.
	Renames map[string]string
}
