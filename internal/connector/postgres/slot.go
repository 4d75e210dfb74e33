package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
)

// slotInfo is a pg_replication_slots row. It is read through to_jsonb, so
// columns a server version lacks (wal_status before 13, conflicting before
// 16, invalidation_reason before 17) are simply absent.
type slotInfo struct {
	Name               string  `json:"slot_name"`
	Plugin             *string `json:"plugin"`
	Type               string  `json:"slot_type"`
	Database           *string `json:"database"`
	Temporary          bool    `json:"temporary"`
	Active             bool    `json:"active"`
	ActivePID          *int    `json:"active_pid"`
	RestartLSN         *string `json:"restart_lsn"`
	ConfirmedFlushLSN  *string `json:"confirmed_flush_lsn"`
	WALStatus          *string `json:"wal_status"`
	Conflicting        *bool   `json:"conflicting"`
	InvalidationReason *string `json:"invalidation_reason"`
}

// readSlot returns the slot named name, nil if there is none.
func readSlot(ctx context.Context, q querier, name string) (*slotInfo, error) {
	var raw []byte
	err := q.QueryRow(ctx, `SELECT to_jsonb(s) FROM pg_replication_slots s WHERE s.slot_name = $1`, name).Scan(&raw)
	if err == pgx.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, wrapErr(err, "read replication slot %s", name)
	}
	var si slotInfo
	if err := json.Unmarshal(raw, &si); err != nil {
		return nil, fmt.Errorf("read replication slot %s: %w", name, err)
	}
	return &si, nil
}

// confirmed returns the slot's confirmed_flush_lsn (0 when unset).
func (si *slotInfo) confirmed() uint64 {
	if si.ConfirmedFlushLSN == nil {
		return 0
	}
	lsn, err := parseLSN(*si.ConfirmedFlushLSN)
	if err != nil {
		return 0
	}
	return lsn
}

// invalidated says why the server no longer keeps what the slot needs, "" if it does.
func (si *slotInfo) invalidated() string {
	switch {
	case si.WALStatus != nil && *si.WALStatus == "lost":
		return "wal_status is lost: the WAL it needed was removed (max_slot_wal_keep_size)"
	case si.InvalidationReason != nil:
		return "invalidated: " + *si.InvalidationReason
	case si.Conflicting != nil && *si.Conflicting:
		return "invalidated by a recovery conflict"
	case si.RestartLSN == nil && si.Type == "logical":
		return "it has no restart_lsn (invalidated)"
	}
	return ""
}

// checkOwn refuses a slot that cannot be the job's: another plugin, kind
// or database, or a temporary slot of another session.
func (si *slotInfo) checkOwn(database string) error {
	plugin := ""
	if si.Plugin != nil {
		plugin = *si.Plugin
	}
	db := ""
	if si.Database != nil {
		db = *si.Database
	}
	var why string
	switch {
	case si.Type != "logical" || plugin != "pgoutput":
		why = fmt.Sprintf("it is a %s slot with plugin %q, not a pgoutput logical slot", si.Type, plugin)
	case db != database:
		why = fmt.Sprintf("it decodes database %q, not %q", db, database)
	case si.Temporary:
		why = "it is a temporary slot of another session"
	default:
		return nil
	}
	return errs.New(CodeSlotForeign, "replication slot %s exists and is not this job's: %s", si.Name, why).
		WithFix("name another slot in the source endpoint's options.slot, or drop this one if nothing uses it")
}

// checkFollow refuses a slot the job cannot follow from from without a gap:
// gone, invalidated, or confirmed past from (T10: another consumer, or
// pg_replication_slot_advance, moved it; the changes in between are never
// sent again).
func checkFollow(si *slotInfo, name, database string, from uint64) error {
	if si == nil {
		return errs.New(CodeSlotLost, "replication slot %s does not exist any more (dropped, or the server failed over)", name).
			WithFix(resnapshotFix).WithDetail("slot", name)
	}
	if err := si.checkOwn(database); err != nil {
		return err
	}
	if why := si.invalidated(); why != "" {
		return errs.New(CodeSlotInvalidated, "replication slot %s can no longer be read: %s", name, why).
			WithFix(resnapshotFix).WithDetail("slot", name)
	}
	if cf := si.confirmed(); cf > from {
		return errs.New(CodeSlotAhead, "possible data loss: replication slot %s is confirmed up to %s, past the target's checkpoint %s; "+
			"changes committed in between will never be sent again", name, lsnString(cf), lsnString(from)).
			WithFix(resnapshotFix+"; find out what advanced the slot (another consumer, pg_replication_slot_advance)").
			WithDetail("slot", name).WithDetail("confirmed_flush_lsn", lsnString(cf)).WithDetail("checkpoint", lsnString(from))
	}
	return nil
}

// slotExporter creates the job's slot on a replication connection with
// EXPORT_SNAPSHOT: the snapshot the readers import sees exactly the
// transactions that committed before the slot's consistent point, and the
// slot streams exactly those that commit after it. The snapshot lives
// until the replication connection runs its next command, so the
// connection stays open, unused, until release (openSnapshot calls it once
// every reader imported the snapshot). created is set once the slot exists.
func slotExporter(slot string, created *bool) snapshotExporter {
	return func(ctx context.Context, e job.Endpoint, log *slog.Logger) (exported, error) {
		conn, err := replicationConnect(ctx, e)
		if err != nil {
			return exported{}, err
		}
		res, err := pglogrepl.CreateReplicationSlot(ctx, conn, slot, "pgoutput",
			pglogrepl.CreateReplicationSlotOptions{Mode: pglogrepl.LogicalReplication, SnapshotAction: "EXPORT_SNAPSHOT"})
		if err != nil {
			conn.Close(context.WithoutCancel(ctx))
			if pgCode(err) == sqlstateDuplicateObject {
				return exported{}, errs.Wrap(err, CodeSlotForeign, "replication slot %s was created by someone else meanwhile", slot).
					WithFix("make sure only one instance of the job runs; name another slot in options.slot")
			}
			return exported{}, logicalErr(err, "create replication slot %s", slot)
		}
		*created = true
		lsn, err := parseLSN(res.ConsistentPoint)
		if err != nil {
			conn.Close(context.WithoutCancel(ctx))
			return exported{}, err
		}
		log.InfoContext(ctx, "replication slot created", "slot", slot, "consistent_point", res.ConsistentPoint, "snapshot", res.SnapshotName)
		release := func() {
			ctx, cancel := context.WithTimeout(context.Background(), connector.ConnectTimeout(e))
			defer cancel()
			conn.Close(ctx)
		}
		return exported{name: res.SnapshotName, pos: pgPosition(lsn), release: release}, nil
	}
}

// dropSlot drops the slot, ending the walsender that keeps it active (a
// stream of this job that outlived its run). It returns once the slot is
// gone; a slot that does not exist is fine.
func (s *Source) dropSlot(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		var dropped bool
		err := s.pool.QueryRow(ctx, `WITH t AS (
				SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1 AND active_pid IS NOT NULL)
			SELECT count(*) = 0 FROM t`, name).Scan(&dropped)
		if err == nil && dropped { // nothing to end: try the drop
			_, err = s.pool.Exec(ctx, `SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1`, name)
			if err == nil {
				si, rerr := readSlot(ctx, s.pool, name)
				if rerr == nil && si == nil {
					return nil
				}
				err = rerr
			}
		}
		if err != nil && pgCode(err) != sqlstateObjectInUse && pgCode(err) != sqlstateUndefinedObject {
			return wrapErr(err, "drop replication slot %s", name)
		}
		select {
		case <-ctx.Done():
			return errs.New(CodeSlotBusy, "replication slot %s stays active: another process keeps using it", name).
				WithFix("stop the process that reads the slot (pg_stat_replication), then retry")
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// logicalErr codes the failures of replication commands a user fixes.
func logicalErr(err error, format string, args ...any) error {
	switch pgCode(err) {
	case sqlstateInsufficientPriv:
		return errs.Wrap(err, CodeLogicalDecoding, format, args...).
			WithFix("the login needs the REPLICATION attribute: ALTER ROLE ... REPLICATION")
	case sqlstateObjectNotInState:
		return errs.Wrap(err, CodeLogicalDecoding, format, args...).
			WithFix("logical decoding needs wal_level = logical (and a restart) and a free slot (max_replication_slots, max_wal_senders)")
	}
	return wrapErr(err, format, args...)
}

// followFrom is a position's LSN after checking it is PostgreSQL's.
func followFrom(p change.Position) (uint64, error) {
	if p.Engine != "postgresql" || p.LSN == 0 {
		return 0, errs.New(errs.Internal, "follow a PostgreSQL slot from %s: not a PostgreSQL position", p)
	}
	return p.LSN, nil
}
