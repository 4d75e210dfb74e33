// Package postgres connects to PostgreSQL endpoints with pgx. Everything that
// reads from or writes to a PostgreSQL server opens its connections here.
package postgres

import (
	"context"
	"errors"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/job"
)

// baseConfig is parsed into every configuration before the endpoint's values
// are set field by field. It is a constant: no user value is ever formatted
// into a connection string. Its keys pin what PG* environment variables of
// the dts process would otherwise choose, or fail on (PGSSLROOTCERT naming a
// missing file). Only PGSERVICE cannot be pinned: a service must exist.
const baseConfig = "host=localhost port=5432 sslmode=disable sslrootcert='' sslcert='' sslkey='' sslpassword='' " +
	"sslsni=1 sslnegotiation=postgres sslcertmode=allow target_session_attrs=any require_auth='' " +
	"min_protocol_version=3.0 max_protocol_version=3.0 channel_binding=prefer"

// Config returns the pgx configuration for e. Sessions get TimeZone=UTC (or
// options.time_zone) and application_name=dts. TLS follows e's tls.mode with
// libpq's semantics: prefer tries TLS and falls back to plaintext only when
// the server refuses TLS; require, verify-ca and verify-full never fall back.
// Connecting is bounded by the endpoint's connect timeout.
func Config(e job.Endpoint) (*pgx.ConnConfig, error) {
	zone, err := connector.SessionZone(e)
	if err != nil {
		return nil, err
	}
	tlsConfig, err := connector.TLSConfig(e)
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(baseConfig)
	if err != nil {
		return nil, connector.NewError(connector.Failed, e, err)
	}
	cfg.Host = connector.Host(e)
	cfg.Port = uint16(connector.Port(e))
	cfg.User = e.User
	cfg.Password = e.Password.Reveal() // set even when empty: no ~/.pgpass lookup
	cfg.Database = e.Database
	cfg.ConnectTimeout = connector.ConnectTimeout(e)
	cfg.RuntimeParams = map[string]string{"application_name": "dts"} // drops PGOPTIONS, PGAPPNAME...
	if tz := timeZoneSetting(zone); tz != "" {
		cfg.RuntimeParams["TimeZone"] = tz
	}
	cfg.KerberosSrvName, cfg.KerberosSpn = "", ""
	cfg.ValidateConnect = nil
	cfg.TLSConfig, cfg.Fallbacks = tlsConfig, nil
	if tlsConfig != nil && connector.TLSMode(e) == job.TLSPrefer {
		cfg.Fallbacks = []*pgconn.FallbackConfig{{Host: cfg.Host, Port: cfg.Port}} // plaintext
	}
	return cfg, nil
}

// timeZoneSetting returns the TimeZone setting, "" to keep the server's.
// PostgreSQL reads a bare "+05:30" as a POSIX zone, west-positive (UTC-05:30);
// "<+05:30>-05:30" names the zone and gives the POSIX offset, so it is UTC+05:30.
func timeZoneSetting(z connector.Zone) string {
	switch z.Kind {
	case connector.ZoneUTC:
		return "UTC"
	case connector.ZoneSystem:
		return ""
	case connector.ZoneOffset:
		posix := "-" + z.Name[1:]
		if z.Name[0] == '-' {
			posix = "+" + z.Name[1:]
		}
		return "<" + z.Name + ">" + posix
	}
	return z.Name
}

// Connect opens one connection to e. Errors are coded (connector codes).
func Connect(ctx context.Context, e job.Endpoint) (*pgx.Conn, error) {
	cfg, err := Config(e)
	if err != nil {
		return nil, err
	}
	return ConnectConfig(ctx, e, cfg)
}

// ConnectConfig is Connect with a configuration from Config that the caller
// changed (a dial hook, a tracer).
func ConnectConfig(ctx context.Context, e job.Endpoint, cfg *pgx.ConnConfig) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, Classify(err, e)
	}
	return conn, nil
}

// PoolConfig returns a pool configuration whose connections use Config(e).
func PoolConfig(e job.Endpoint) (*pgxpool.Config, error) {
	cfg, err := Config(e)
	if err != nil {
		return nil, err
	}
	pc, err := pgxpool.ParseConfig(baseConfig)
	if err != nil {
		return nil, connector.NewError(connector.Failed, e, err)
	}
	pc.ConnConfig = cfg
	return pc, nil
}

// NewPool returns a pool for e after one connection succeeded within the
// endpoint's connect timeout. Errors are coded (connector codes).
func NewPool(ctx context.Context, e job.Endpoint) (*pgxpool.Pool, error) {
	pc, err := PoolConfig(e)
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, Classify(err, e)
	}
	pctx, cancel := context.WithTimeout(ctx, connector.ConnectTimeout(e))
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, Classify(err, e)
	}
	return pool, nil
}

// ReplicationConfig returns the configuration of a logical replication
// connection (replication=database) to e, for pglogrepl: the same login, TLS
// and timeouts as Config.
func ReplicationConfig(e job.Endpoint) (*pgconn.Config, error) {
	cfg, err := Config(e)
	if err != nil {
		return nil, err
	}
	rc := cfg.Config.Copy()
	rc.RuntimeParams["replication"] = "database"
	return rc, nil
}

// SQLSTATEs that name a connection problem.
const (
	invalidPassword      = "28P01"
	invalidAuthorization = "28000" // e.g. no pg_hba.conf line for this user, database and address
	invalidCatalogName   = "3D000" // the database does not exist
)

// Classify returns the coded error of a failed connection to e (see package
// connector); it returns nil for nil.
func Classify(err error, e job.Endpoint) error {
	return connector.Classify(err, e, func(err error) string {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) {
			switch pgErr.Code {
			case invalidPassword, invalidAuthorization:
				return connector.AuthFailed
			case invalidCatalogName:
				return connector.DatabaseNotFound
			}
		}
		// pgconn has no error type for a server that answers the SSLRequest
		// with "N", so this one is told by its text. Under prefer that answer
		// is the normal way to plaintext, not an error.
		if connector.TLSMode(e) != job.TLSPrefer && strings.Contains(err.Error(), "server refused TLS connection") {
			return connector.TLS
		}
		return ""
	})
}
