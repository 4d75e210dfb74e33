package postgres

import (
	"context"
	"maps"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
)

// replicationParams are the settings of the replication connection, sent
// in its startup message. pgoutput prints column values with the output
// functions of the walsender's own session, so the settings that shape
// text output must be the readers' (sessionParams: TimeZone=UTC for
// timestamptz, DateStyle, IntervalStyle, extra_float_digits, bytea_output,
// client_encoding — pgoutput converts text to the client encoding). money
// prints per lc_monetary, which the readers avoid by casting to numeric:
// here it is pinned to C ("$1,234.50") and converted (logical_values.go).
var replicationParams = func() map[string]string {
	p := maps.Clone(sessionParams)
	p["lc_monetary"] = "C"
	return p
}()

// replicationConnect opens a logical replication connection (replication=database).
func replicationConnect(ctx context.Context, e job.Endpoint) (*pgconn.PgConn, error) {
	cfg, err := ReplicationConfig(e)
	if err != nil {
		return nil, err
	}
	maps.Copy(cfg.RuntimeParams, replicationParams)
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	if err != nil {
		if pgCode(err) == sqlstateInsufficientPriv {
			return nil, errs.Wrap(err, CodeLogicalDecoding, "%s does not allow %s to open a replication connection", e.Host, e.User).
				WithFix("grant the login the REPLICATION attribute (ALTER ROLE ... REPLICATION) and allow it in pg_hba.conf")
		}
		return nil, Classify(err, e)
	}
	return conn, nil
}

// serverMajor is the connection's server major version (15 for 15.4).
func serverMajor(conn *pgconn.PgConn) int {
	v := conn.ParameterStatus("server_version")
	major, _, _ := strings.Cut(v, ".")
	major, _, _ = strings.Cut(major, " ")
	n, _ := strconv.Atoi(major)
	return n
}
