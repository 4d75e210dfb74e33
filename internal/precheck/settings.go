package precheck

import (
	"context"
	"fmt"
	"strings"
)

// Server settings, read once per endpoint in one query.

var mysqlVariables = []string{
	"log_bin", "binlog_format", "binlog_row_image", "binlog_row_metadata", "server_id",
	"expire_logs_days", "binlog_expire_logs_seconds", "gtid_mode", "enforce_gtid_consistency",
	"gtid_strict_mode", "max_allowed_packet", "lower_case_table_names", "datadir",
}

var postgresSettings = []string{
	"wal_level", "max_replication_slots", "max_wal_senders", "max_slot_wal_keep_size", "server_encoding",
}

// settings returns the endpoint's global variables (MySQL) or settings
// (PostgreSQL) that the checks read, by lower-case name. A missing name is a
// variable the server's version does not have.
func (e *env) settings(ctx context.Context, source bool) (map[string]string, error) {
	l := &e.dstVars
	if source {
		l = &e.srcVars
	}
	return l.get(ctx, e, func(ctx context.Context) (map[string]string, error) {
		d, err := e.db(ctx, source)
		if err != nil {
			return nil, err
		}
		out := map[string]string{}
		if d.my != nil {
			q := "SHOW GLOBAL VARIABLES WHERE Variable_name IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(mysqlVariables)), ", ") + ")"
			rows, err := d.my.QueryContext(ctx, q, anys(mysqlVariables)...)
			if err != nil {
				return nil, fmt.Errorf("read the server's variables: %w", err)
			}
			defer rows.Close()
			for rows.Next() {
				var k, v string
				if err := rows.Scan(&k, &v); err != nil {
					return nil, err
				}
				out[strings.ToLower(k)] = v
			}
			return out, rows.Err()
		}
		rows, err := d.pg.Query(ctx, `SELECT name, setting FROM pg_settings WHERE name = ANY($1)`, postgresSettings)
		if err != nil {
			return nil, fmt.Errorf("read the server's settings: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			var k, v string
			if err := rows.Scan(&k, &v); err != nil {
				return nil, err
			}
			out[k] = v
		}
		return out, rows.Err()
	})
}

func anys(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// on reports whether a MySQL boolean variable is on.
func on(v string) bool {
	switch strings.ToUpper(v) {
	case "ON", "1", "YES", "TRUE":
		return true
	}
	return false
}
