package connector

import (
	"context"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
)

// The contracts of incremental sync (docs/design/incremental.md): a source
// that can follow its log, and (contract_apply.go) a sink that applies what
// it follows with checkpoints in the target.

// LogJob names what a job follows in a source's log.
type LogJob struct {
	JobID   string
	JobName string
	// Tables are the selected source tables (a PostgreSQL publication lists exactly these).
	Tables []TableRef
	// Slot, Publication and ServerID come from the source endpoint's
	// options; empty/zero means derived from the job.
	Slot        string
	Publication string
	ServerID    uint32
	// Resumed says the job already recorded a log position on the target
	// (a run): what OpenLogSnapshot prepared for it then must still be
	// there. A PostgreSQL slot is never created anew for such a job: a new
	// slot starts now, after changes the job still needs.
	Resumed bool
}

// LogSource is a Source whose log dts can follow.
type LogSource interface {
	Source
	// OpenLogSnapshot readies the log for the job and opens the snapshot
	// its full load copies from, such that following from the snapshot's
	// Position leaves no gap and applies nothing twice. MySQL: a plain
	// snapshot (the binlog position is read under the snapshot's lock).
	// PostgreSQL: creates the job's publication and slot (or reuses them on
	// a resumed run, lj.Resumed) and copies from the snapshot the slot
	// exported. A resumed run's snapshot is not exact: its Position is at or
	// after the commit of every change its readers see, and the job keeps
	// following from its first run's position (the replay window).
	OpenLogSnapshot(ctx context.Context, lj LogJob, readers int) (Snapshot, error)
	// ResolveStart turns a job's start_position into a position to follow
	// from (MySQL: the first binlog event at or after a time; a binlog
	// coordinate; a GTID set). Unusable positions are coded errors.
	ResolveStart(ctx context.Context, lj LogJob, sp job.StartPosition) (change.Position, error)
	// Follow streams the log from a position: everything committed after
	// from. tables are the selected tables' structures as of from (the
	// schema history); the stream keeps them current through DDL.
	Follow(ctx context.Context, lj LogJob, from change.Position, tables []*schema.Table) (ChangeStream, error)
	// DropLog removes what OpenLogSnapshot created for the job (slot,
	// publication); a no-op for MySQL. Reset and delete call it.
	DropLog(ctx context.Context, lj LogJob) error
}

// ChangeStream is an open stream of a source's changes.
//
// Next is called by one goroutine; Ack may be called from another.
type ChangeStream interface {
	// Next waits for the next item. While the source is idle it returns a
	// Heartbeat at least every few seconds. An event the stream cannot
	// handle is a coded error naming its position; the stream is then done.
	// A lost connection is retried with backoff inside Next; only errors
	// that retrying cannot fix (purged binlog, lost slot) come out.
	Next(ctx context.Context) (change.Item, error)
	// Ack says every change at or before pos is durably applied on the
	// target with its checkpoint. PostgreSQL confirms the slot up to it and
	// never further.
	Ack(pos change.Position) error
	Close() error
}
