package postgres

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dtsorg/dts/internal/change"
)

// Codes of the errors following a PostgreSQL source's log can end with.
// They are part of the outside contract (job events, API answers). None of
// them is retried: each needs a person (or a re-snapshot) to resolve.
const (
	// CodeSlotLost: the job's replication slot does not exist (dropped, or
	// the server failed over to a standby without it).
	CodeSlotLost = "Source.SlotLost"
	// CodeSlotInvalidated: the slot exists but the server invalidated it
	// (wal_status 'lost': max_slot_wal_keep_size exceeded; or a recovery
	// conflict on a standby). The changes it held are gone.
	CodeSlotInvalidated = "Source.SlotInvalidated"
	// CodeSlotAhead: the slot is confirmed past the target's checkpoint, so
	// changes in between would never be sent again: possible data loss.
	CodeSlotAhead = "Source.SlotAhead"
	// CodeSlotForeign: a slot of that name exists but is not this job's
	// (another plugin, another database, or created before this job's
	// publication).
	CodeSlotForeign = "Source.SlotForeign"
	// CodeSlotBusy: another process keeps the slot active.
	CodeSlotBusy = "Source.SlotBusy"
	// CodePublication: the job's publication is missing, or one of that
	// name exists that dts cannot use as is.
	CodePublication = "Source.Publication"
	// CodeReplicaIdentity: selected tables whose updates and deletes
	// logical replication cannot identify (no primary key, and REPLICA
	// IDENTITY neither FULL nor USING INDEX).
	CodeReplicaIdentity = "Source.ReplicaIdentity"
	// CodeLogicalDecoding: the server or the login cannot do logical
	// decoding (wal_level, REPLICATION privilege, PostgreSQL version).
	CodeLogicalDecoding = "Source.LogicalDecoding"
	// CodeDecode: a message of the change stream dts cannot turn into
	// changes; the stream stops at its position.
	CodeDecode = "Source.Decode"
	// CodeStartPosition: a start_position a PostgreSQL source cannot follow from.
	CodeStartPosition = "InvalidParameter.StartPosition"
)

// The fix of every error that means the slot can no longer deliver what
// the target lacks.
const resnapshotFix = "the changes since the target's checkpoint can no longer be read from this slot: reset the job " +
	"and run it again with a full load (a new slot and snapshot); never recreate the slot by hand, it would skip the changes in between"

// lsnString formats a WAL location as PostgreSQL does (X/Y).
func lsnString(lsn uint64) string { return fmt.Sprintf("%X/%X", lsn>>32, uint32(lsn)) }

// pgPosition is a PostgreSQL position at lsn.
func pgPosition(lsn uint64) change.Position {
	return change.Position{Engine: "postgresql", LSN: lsn}
}

// SQLSTATEs the replication code tells apart.
const (
	sqlstateUndefinedObject   = "42704" // slot or publication does not exist
	sqlstateObjectInUse       = "55006" // slot active for another PID
	sqlstateInsufficientPriv  = "42501"
	sqlstateObjectNotInState  = "55000" // e.g. wal_level < logical
	sqlstateDuplicateObject   = "42710"
	sqlstateAdminShutdown     = "57P01"
	sqlstateCrashShutdown     = "57P02"
	sqlstateCannotConnectNow  = "57P03"
	sqlstateTooManyConnection = "53300"
)

// pgCode returns err's SQLSTATE, "" when it is not a server error.
func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}
