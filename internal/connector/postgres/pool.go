package postgres

import (
	"context"
	"fmt"
	"maps"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
)

// sessionParams are the settings of every connection the source and the
// sink open, sent in the startup message. With them PostgreSQL prints most
// values in their canonical form, reads literals the way quoteLiteral
// writes them, and never cuts a long read or an idle snapshot short.
var sessionParams = map[string]string{
	"client_encoding":                     "UTF8",
	"standard_conforming_strings":         "on",
	"TimeZone":                            "UTC",
	"DateStyle":                           "ISO, YMD",
	"IntervalStyle":                       "postgres",
	"extra_float_digits":                  "1",
	"bytea_output":                        "hex",
	"statement_timeout":                   "0",
	"lock_timeout":                        "0",
	"idle_in_transaction_session_timeout": "0",
}

// minServerVersion is PostgreSQL 12: generated columns, pg_export_snapshot
// with SET TRANSACTION SNAPSHOT, shortest float output.
const minServerVersion = 120000

// connConfig returns e's connection configuration with sessionParams.
func connConfig(e job.Endpoint) (*pgx.ConnConfig, error) {
	cfg, err := Config(e)
	if err != nil {
		return nil, err
	}
	maps.Copy(cfg.RuntimeParams, sessionParams)
	return cfg, nil
}

// connect opens one connection with sessionParams.
func connect(ctx context.Context, e job.Endpoint) (*pgx.Conn, error) {
	cfg, err := connConfig(e)
	if err != nil {
		return nil, err
	}
	return ConnectConfig(ctx, e, cfg)
}

// openPool opens a pool of up to maxConns connections with sessionParams;
// afterConnect (may be nil) prepares each new connection.
func openPool(ctx context.Context, e job.Endpoint, maxConns int32, afterConnect func(context.Context, *pgx.Conn) error) (*pgxpool.Pool, error) {
	pc, err := PoolConfig(e)
	if err != nil {
		return nil, err
	}
	maps.Copy(pc.ConnConfig.RuntimeParams, sessionParams)
	pc.MaxConns = maxConns
	pc.MinConns = 0
	pc.AfterConnect = afterConnect
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, Classify(err, e)
	}
	pctx, cancel := context.WithTimeout(ctx, connector.ConnectTimeout(e))
	defer cancel()
	var version int
	err = pool.QueryRow(pctx, `SELECT current_setting('server_version_num')::int`).Scan(&version)
	if err != nil {
		pool.Close()
		return nil, Classify(err, e)
	}
	if version < minServerVersion {
		pool.Close()
		return nil, errs.New(errs.NotAvailable, "%s runs PostgreSQL %d.%d; dts needs PostgreSQL 12 or later",
			connector.Addr(e), version/10000, version%10000).WithFix("upgrade the server, or move the data with another tool")
	}
	return pool, nil
}

// wrapErr adds what failed to a database error.
func wrapErr(err error, format string, args ...any) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf(format+": %w", append(args, err)...)
}
