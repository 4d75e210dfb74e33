package precheck

import (
	"context"

	"github.com/dtsorg/dts/internal/job"
)

// Check is one independent check.
type Check struct {
	// ID is stable: users skip items by it and tools match on it.
	ID    string
	Title string
	// applies says whether the check runs for a job.
	applies func(s *job.Spec) bool
	// Run checks; it honours ctx (the check's timeout).
	Run func(ctx context.Context, e *env) Outcome
}

// Conditions under which checks apply.
func always(*job.Spec) bool { return true }

func movesData(s *job.Spec) bool {
	p := s.EffectivePhases()
	return p.Structure || p.Full || p.Incremental
}

func fullLoad(s *job.Spec) bool    { return s.EffectivePhases().Full }
func incremental(s *job.Spec) bool { return s.EffectivePhases().Incremental }

func mysqlSource(and func(*job.Spec) bool) func(*job.Spec) bool {
	return func(s *job.Spec) bool { return s.Source.Engine.IsMySQL() && and(s) }
}

func postgresSource(and func(*job.Spec) bool) func(*job.Spec) bool {
	return func(s *job.Spec) bool { return s.Source.Engine == job.EnginePostgreSQL && and(s) }
}

func mysqlTarget(and func(*job.Spec) bool) func(*job.Spec) bool {
	return func(s *job.Spec) bool { return s.Target.Engine.IsMySQL() && and(s) }
}

// registry lists every check in the order items are shown.
var registry = []Check{
	{ID: "source.connection", Title: "Connect and log in to the source", applies: always, Run: checkConnection(true)},
	{ID: "target.connection", Title: "Connect and log in to the target", applies: always, Run: checkConnection(false)},
	{ID: "source.version", Title: "Source server version is supported", applies: always, Run: checkVersion(true)},
	{ID: "target.version", Title: "Target server version is supported", applies: always, Run: checkVersion(false)},
	{ID: "source.time_zone", Title: "Source time zone and clock", applies: always, Run: checkTimeZone(true)},
	{ID: "target.time_zone", Title: "Target time zone and clock", applies: always, Run: checkTimeZone(false)},

	{ID: "objects.selection", Title: "Selected objects exist and the selection is not empty", applies: always, Run: checkSelection},
	{ID: "objects.filters", Title: "Row filters can be applied", applies: always, Run: checkFilters},
	{ID: "objects.column_rules", Title: "Column rules can be applied", applies: always, Run: checkColumnRules},
	{ID: "objects.merge", Title: "Tables merged into one target table agree on its structure", applies: movesData, Run: checkMerge},
	{ID: "objects.filter_identity", Title: "Filtered tables' old rows tell whether an update leaves the filter", applies: incremental, Run: checkFilterIdentity},

	{ID: "source.privileges.select", Title: "Source user may read the selected tables", applies: always, Run: checkSourceSelect},
	{ID: "source.privileges.snapshot", Title: "Source user may take a consistent snapshot", applies: mysqlSource(fullLoad), Run: checkSnapshotPrivileges},
	{ID: "source.privileges.replication", Title: "Source user may read the change log", applies: incremental, Run: checkReplicationPrivileges},
	{ID: "source.privileges.publication", Title: "Source user may create or change the job's publication", applies: postgresSource(incremental), Run: checkPublication},

	{ID: "source.binlog.enabled", Title: "Binary log is on (log_bin)", applies: mysqlSource(incremental), Run: checkLogBin},
	{ID: "source.binlog.format", Title: "binlog_format is ROW", applies: mysqlSource(incremental), Run: checkBinlogFormat},
	{ID: "source.binlog.row_image", Title: "binlog_row_image is FULL", applies: mysqlSource(incremental), Run: checkRowImage},
	{ID: "source.binlog.row_metadata", Title: "binlog_row_metadata is FULL", applies: mysqlSource(incremental), Run: checkRowMetadata},
	{ID: "source.binlog.retention", Title: "Binary logs are kept long enough", applies: mysqlSource(incremental), Run: checkBinlogRetention},
	{ID: "source.binlog.filters", Title: "Selected databases are not filtered out of the binary log", applies: mysqlSource(incremental), Run: checkBinlogFilters},
	{ID: "source.gtid", Title: "GTIDs identify transactions", applies: mysqlSource(incremental), Run: checkGTID},
	{ID: "source.server_id", Title: "server_id is set and the job's replica id is unique", applies: mysqlSource(incremental), Run: checkServerID},

	{ID: "source.wal_level", Title: "wal_level is logical", applies: postgresSource(incremental), Run: checkWalLevel},
	{ID: "source.replication_slots", Title: "A replication slot is free (max_replication_slots)", applies: postgresSource(incremental), Run: checkFreeSlots},
	{ID: "source.wal_senders", Title: "A WAL sender is free (max_wal_senders)", applies: postgresSource(incremental), Run: checkFreeSenders},
	{ID: "source.slot", Title: "The job's replication slot name is free", applies: postgresSource(incremental), Run: checkSlotName},
	{ID: "source.wal_retention", Title: "The slot's WAL is not capped (max_slot_wal_keep_size)", applies: postgresSource(incremental), Run: checkWalRetention},

	{ID: "objects.primary_keys", Title: "Tables have a primary or unique key", applies: movesData, Run: checkKeys},
	{ID: "objects.foreign_keys", Title: "Foreign keys reference selected tables", applies: movesData, Run: checkForeignKeys},
	{ID: "objects.types", Title: "The target can hold every column's values", applies: movesData, Run: checkTypes},
	{ID: "objects.charsets", Title: "Character sets and collations can carry the data", applies: movesData, Run: checkCharsets},

	{ID: "target.privileges", Title: "Target user may create and write the tables", applies: always, Run: checkTargetPrivileges},
	{ID: "target.existing_tables", Title: "Target tables and the existing_tables policy agree", applies: always, Run: checkExistingTables},
	{ID: "target.name_conflicts", Title: "Target names do not clash", applies: movesData, Run: checkNameConflicts},
	{ID: "target.max_allowed_packet", Title: "The largest row fits max_allowed_packet", applies: mysqlTarget(movesData), Run: checkMaxPacket},
	{ID: "target.disk_space", Title: "The target has room for the data", applies: fullLoad, Run: checkDiskSpace},
	{ID: "target.bookkeeping", Title: "The target's dts_meta is free for this job", applies: movesData, Run: checkBookkeeping},
}

// Applicable returns the checks that apply to spec, in display order.
func Applicable(spec *job.Spec) []Check {
	var out []Check
	for _, c := range registry {
		if c.applies(spec) {
			out = append(out, c)
		}
	}
	return out
}

// IDs returns every check id, applicable to spec or not.
func IDs() []string {
	ids := make([]string, len(registry))
	for i, c := range registry {
		ids[i] = c.ID
	}
	return ids
}
