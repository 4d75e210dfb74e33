package precheck

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The binary log of a MySQL/MariaDB source, read by the incremental phase.

// persistNote ends the fix of a dynamic variable: SET GLOBAL is lost at restart.
const persistNote = "; also set it in the [mysqld] section of the server's configuration so a restart keeps it"

func mysqlSourceVars(ctx context.Context, e *env) (map[string]string, *endpointDB, error) {
	d, err := e.sourceDB(ctx)
	if err != nil {
		return nil, nil, err
	}
	vars, err := e.settings(ctx, true)
	return vars, d, err
}

func checkLogBin(ctx context.Context, e *env) Outcome {
	vars, _, err := mysqlSourceVars(ctx, e)
	if err != nil {
		return notChecked(err)
	}
	if on(vars["log_bin"]) {
		return passed("the binary log is on").with("log_bin", vars["log_bin"])
	}
	return failed("the binary log is off (log_bin is %s): there are no changes to follow", vars["log_bin"]).
		with("log_bin", vars["log_bin"]).
		fix("add log_bin=binlog (with a server_id) to the [mysqld] section of the server's configuration and restart it: log_bin cannot be switched on at runtime")
}

func checkBinlogFormat(ctx context.Context, e *env) Outcome {
	vars, _, err := mysqlSourceVars(ctx, e)
	if err != nil {
		return notChecked(err)
	}
	v := strings.ToUpper(vars["binlog_format"])
	if v == "ROW" {
		return passed("binlog_format is ROW").with("binlog_format", v)
	}
	return failed("binlog_format is %s: statement events carry no row values to copy", v).with("binlog_format", v).
		sql("SET GLOBAL binlog_format = 'ROW';").
		fix("run the SQL on the source; sessions opened before it keep their format, so reconnect the applications" + persistNote)
}

func checkRowImage(ctx context.Context, e *env) Outcome {
	vars, _, err := mysqlSourceVars(ctx, e)
	if err != nil {
		return notChecked(err)
	}
	v, ok := vars["binlog_row_image"]
	switch {
	case !ok:
		return passed("this server always logs full row images")
	case strings.EqualFold(v, "FULL"):
		return passed("binlog_row_image is FULL").with("binlog_row_image", v)
	}
	return failed("binlog_row_image is %s: updates would not carry every column, so the target could not be kept equal", strings.ToUpper(v)).
		with("binlog_row_image", v).
		sql("SET GLOBAL binlog_row_image = 'FULL';").
		fix("run the SQL on the source; sessions opened before it keep their setting, so reconnect the applications" + persistNote)
}

func checkRowMetadata(ctx context.Context, e *env) Outcome {
	vars, _, err := mysqlSourceVars(ctx, e)
	if err != nil {
		return notChecked(err)
	}
	v, ok := vars["binlog_row_metadata"]
	if ok && strings.EqualFold(v, "FULL") {
		return passed("binlog_row_metadata is FULL: every row event is checked against the table's structure").with("binlog_row_metadata", v)
	}
	if !ok {
		v = "not available"
	}
	o := warning("binlog_row_metadata is %s: row events carry no column names or signedness; dts decodes them with the "+
		"structure history it keeps from the snapshot and every DDL, but cannot cross-check events against it", strings.ToUpper(v)).
		with("binlog_row_metadata", v)
	if ok {
		return o.sql("SET GLOBAL binlog_row_metadata = 'FULL';").fix("run the SQL on the source for the extra check" + persistNote)
	}
	return o.fix("nothing to do; MySQL 8.0.1+ and MariaDB 10.5+ can log full metadata")
}

// Retention thresholds: the binlog must outlast the full load, and a job
// stopped for longer than it cannot resume.
const (
	minRetention  = time.Hour
	goodRetention = 24 * time.Hour
)

func checkBinlogRetention(ctx context.Context, e *env) Outcome {
	vars, d, err := mysqlSourceVars(ctx, e)
	if err != nil {
		return notChecked(err)
	}
	seconds, _ := strconv.ParseFloat(vars["binlog_expire_logs_seconds"], 64)
	days, _ := strconv.ParseFloat(vars["expire_logs_days"], 64)
	retention := time.Duration(seconds) * time.Second
	if retention == 0 {
		retention = time.Duration(days * float64(24*time.Hour))
	}
	fixSQL := "SET GLOBAL binlog_expire_logs_seconds = 604800;"
	if _, ok := vars["binlog_expire_logs_seconds"]; !ok {
		fixSQL = "SET GLOBAL expire_logs_days = 7;"
	}
	details := func(o Outcome) Outcome {
		return o.with("retention_seconds", retention.Seconds()).with("binlog_expire_logs_seconds", vars["binlog_expire_logs_seconds"]).
			with("expire_logs_days", vars["expire_logs_days"])
	}
	_ = d
	switch {
	case retention == 0:
		return details(passed("binary logs are never purged automatically (purge them by hand only behind the job's position)"))
	case retention < minRetention:
		return details(failed("binary logs are purged after %s: a full load or a short stop of the job outlasts that, "+
			"and a job whose position was purged must start over", retention)).sql(fixSQL).
			fix("keep binary logs for at least a day (the SQL keeps them 7 days)" + persistNote)
	case retention < goodRetention:
		return details(warning("binary logs are purged after %s: a job stopped for longer, or a longer full load, must start over", retention)).
			sql(fixSQL).fix("keep binary logs for at least a day (the SQL keeps them 7 days)" + persistNote)
	}
	return details(passed("binary logs are kept for %s", retention))
}

// checkBinlogFilters: binlog-do-db / binlog-ignore-db leave databases out of
// the binary log; their changes would be lost without a trace.
func checkBinlogFilters(ctx context.Context, e *env) Outcome {
	_, d, err := mysqlSourceVars(ctx, e)
	if err != nil {
		return notChecked(err)
	}
	doDB, ignoreDB, err := binlogFilters(ctx, d)
	if err != nil {
		return notChecked(err)
	}
	sel, err := e.selectedOK(ctx)
	if err != nil {
		return notChecked(err)
	}
	dbs := map[string]bool{}
	for _, s := range sel {
		dbs[s.Source.Schema] = true
	}
	var lost []string
	for _, db := range sortedKeys(dbs) {
		if len(doDB) > 0 && !slices.Contains(doDB, db) || len(doDB) == 0 && slices.Contains(ignoreDB, db) {
			lost = append(lost, db)
		}
	}
	o := passed("no selected database is filtered out of the binary log")
	if len(lost) > 0 {
		o = failed("the source does not log changes of %s (binlog-do-db / binlog-ignore-db): they would never reach the target", strings.Join(lost, ", ")).
			with("filtered_databases", lost).
			fix("remove binlog-do-db / binlog-ignore-db from the server's configuration (or list these databases in binlog-do-db) and restart it")
	}
	return o.with("binlog_do_db", doDB).with("binlog_ignore_db", ignoreDB)
}

// binlogFilters reads Binlog_Do_DB and Binlog_Ignore_DB from SHOW MASTER STATUS.
func binlogFilters(ctx context.Context, d *endpointDB) (doDB, ignoreDB []string, err error) {
	rows, err := d.my.QueryContext(ctx, "SHOW MASTER STATUS")
	if isMySQLErr(err, 1064) { // MySQL 8.4 renamed it
		rows, err = d.my.QueryContext(ctx, "SHOW BINARY LOG STATUS")
	}
	if isMySQLErr(err, 1227) {
		return nil, nil, fmt.Errorf("the source user may not run SHOW MASTER STATUS (see source.privileges.replication)")
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read the binary log status: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, nil, err
	}
	if !rows.Next() {
		return nil, nil, rows.Err() // no binary log: log_bin says so
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, nil, err
	}
	split := func(s string) []string {
		var out []string
		for _, p := range strings.Split(s, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
		return out
	}
	for i, c := range cols {
		switch strings.ToLower(c) {
		case "binlog_do_db":
			doDB = split(vals[i].String)
		case "binlog_ignore_db":
			ignoreDB = split(vals[i].String)
		}
	}
	return doDB, ignoreDB, rows.Err()
}

func checkGTID(ctx context.Context, e *env) Outcome {
	vars, d, err := mysqlSourceVars(ctx, e)
	if err != nil {
		return notChecked(err)
	}
	if d.version.mariadb {
		if on(vars["gtid_strict_mode"]) {
			return passed("MariaDB GTIDs with gtid_strict_mode ON").with("gtid_strict_mode", vars["gtid_strict_mode"])
		}
		return warning("gtid_strict_mode is OFF: out-of-order GTIDs can make a GTID position ambiguous after a failover").
			with("gtid_strict_mode", vars["gtid_strict_mode"]).
			sql("SET GLOBAL gtid_strict_mode = ON;").fix("run the SQL on the source" + persistNote)
	}
	if strings.EqualFold(vars["gtid_mode"], "ON") {
		return passed("gtid_mode is ON").with("gtid_mode", vars["gtid_mode"])
	}
	return warning("gtid_mode is %s: dts follows the binary log by file and position, so after a failover to another server the job must start over", vars["gtid_mode"]).
		with("gtid_mode", vars["gtid_mode"]).
		sql("SET GLOBAL enforce_gtid_consistency = ON;", "SET GLOBAL gtid_mode = OFF_PERMISSIVE;",
			"SET GLOBAL gtid_mode = ON_PERMISSIVE;", "SET GLOBAL gtid_mode = ON;").
		fix("run the statements one at a time on the source; before the last, wait until SHOW STATUS LIKE 'Ongoing_anonymous_transaction_count' is 0" + persistNote)
}

func checkServerID(ctx context.Context, e *env) Outcome {
	vars, d, err := mysqlSourceVars(ctx, e)
	if err != nil {
		return notChecked(err)
	}
	own, _ := strconv.ParseUint(vars["server_id"], 10, 32)
	if own == 0 {
		return failed("the source's server_id is 0: it refuses replicas, and dts reads the binary log as one").
			with("server_id", own).sql("SET GLOBAL server_id = 1;").
			fix("run the SQL with an id that no other server replicating with this one uses" + persistNote)
	}
	reader := e.spec.Source.Options.ServerID
	replicas, listErr := replicaIDs(ctx, d)
	o := passed("server_id is %d", own).with("server_id", own).with("replica_server_ids", replicas)
	if reader == 0 {
		o.Message += "; the job's replica id is derived from the job id when it starts"
		if listErr != nil {
			o.Message += " (" + listErr.Error() + ")"
		}
		return o
	}
	o = o.with("job_server_id", reader)
	switch {
	case uint64(reader) == own:
		return o.withStatus(Failed, "source.options.server_id %d is the source's own server_id", reader).
			fix("set source.options.server_id to an id no server replicating with the source uses")
	case slices.Contains(replicas, reader):
		return o.withStatus(Failed, "source.options.server_id %d is the id of a replica connected to the source: the server would disconnect one of them", reader).
			fix("set source.options.server_id to an id no server replicating with the source uses")
	case listErr != nil:
		return o.withStatus(Warning, "source.options.server_id %d is not the source's own id, but the connected replicas could not be listed: %s", reader, listErr).
			fix("make sure no replica of the source uses server_id %d (SHOW SLAVE HOSTS on the source)", reader)
	}
	o.Message += fmt.Sprintf("; the job's replica id %d is unique", reader)
	return o
}

// replicaIDs lists the server ids of the replicas connected to the server.
func replicaIDs(ctx context.Context, d *endpointDB) ([]uint32, error) {
	q := "SHOW SLAVE HOSTS"
	if !d.version.mariadb && d.version.atLeast(8, 0, 22) {
		q = "SHOW REPLICAS"
	}
	rows, err := d.my.QueryContext(ctx, q)
	if isMySQLErr(err, 1227) {
		return nil, fmt.Errorf("the user may not list the source's replicas")
	}
	if err != nil {
		return nil, fmt.Errorf("list the source's replicas: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	ids := []uint32{}
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		for i, c := range cols {
			if strings.EqualFold(c, "Server_id") {
				if id, err := strconv.ParseUint(vals[i].String, 10, 32); err == nil {
					ids = append(ids, uint32(id))
				}
			}
		}
	}
	return ids, rows.Err()
}

func (o Outcome) withStatus(status, format string, args ...any) Outcome {
	o.Status, o.Message = status, fmt.Sprintf(format, args...)
	return o
}
