// Package mysql connects to MySQL and MariaDB endpoints with
// github.com/go-sql-driver/mysql. Everything that reads from or writes to a
// MySQL-protocol server opens its connections here.
package mysql

import (
	"context"
	"database/sql"
	"errors"

	"github.com/go-sql-driver/mysql"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/job"
)

// Config returns the driver configuration for e, built field by field: the
// password is never part of a DSN, so a password such as
// "x?allowAllFiles=true" stays a password.
//
// Sessions get time_zone '+00:00' (or options.time_zone) and utf8mb4; time
// values are parsed into time.Time in that zone (UTC for SYSTEM); LOAD DATA LOCAL,
// multi-statements and client-side interpolation are off. Dialing is bounded
// by the endpoint's connect timeout. The login after it is bounded by the
// context of whatever opens the connection: Open gives its first login the
// connect timeout, a pool's later logins run within the query's context.
func Config(e job.Endpoint) (*mysql.Config, error) {
	zone, err := connector.SessionZone(e)
	if err != nil {
		return nil, err
	}
	cfg := mysql.NewConfig()
	cfg.Net = "tcp"
	cfg.Addr = connector.Addr(e)
	cfg.User = e.User
	cfg.Passwd = e.Password.Reveal()
	cfg.DBName = e.Database
	cfg.Timeout = connector.ConnectTimeout(e)
	cfg.ParseTime = true
	cfg.Loc = zone.Loc
	cfg.Collation = "utf8mb4_general_ci" // sent in the handshake: utf8mb4 without an extra round trip
	cfg.Params = map[string]string{"time_zone": zoneLiteral(zone)}
	cfg.ConnectionAttributes = "program_name:dts"
	cfg.AllowAllFiles = false
	cfg.MultiStatements = false
	cfg.InterpolateParams = false
	cfg.AllowCleartextPasswords = false
	cfg.AllowOldPasswords = false

	cfg.TLS, err = connector.TLSConfig(e)
	if err != nil {
		return nil, err
	}
	cfg.AllowFallbackToPlaintext = cfg.TLS != nil && connector.TLSMode(e) == job.TLSPrefer
	// The driver drops cfg.TLS when it falls back to plaintext; with a hook it
	// works on a copy per connection, so one server answer cannot switch TLS
	// off for the whole pool.
	if err := cfg.Apply(mysql.BeforeConnect(func(context.Context, *mysql.Config) error { return nil })); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Open returns a pool for e after one connection succeeded within the
// endpoint's connect timeout. Errors are coded (connector codes).
func Open(ctx context.Context, e job.Endpoint) (*sql.DB, error) {
	cfg, err := Config(e)
	if err != nil {
		return nil, err
	}
	return OpenConfig(ctx, e, cfg)
}

// OpenConfig is Open with a configuration from Config that the caller changed
// (a dial hook, pool-wide settings).
func OpenConfig(ctx context.Context, e job.Endpoint, cfg *mysql.Config) (*sql.DB, error) {
	c, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, connector.NewError(connector.Failed, e, err)
	}
	db := sql.OpenDB(c)
	pctx, cancel := context.WithTimeout(ctx, connector.ConnectTimeout(e))
	defer cancel()
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, Classify(err, e)
	}
	return db, nil
}

// MySQL error numbers that name a connection problem.
const (
	erDBAccessDenied     = 1044 // access to the database denied
	erAccessDenied       = 1045 // wrong user or password
	erBadDB              = 1049 // unknown database
	erAccessDeniedNoPass = 1698 // access denied (auth plugin, e.g. unix_socket)
)

// Classify returns the coded error of a failed connection to e (see package
// connector); it returns nil for nil.
func Classify(err error, e job.Endpoint) error {
	return connector.Classify(err, e, func(err error) string {
		var me *mysql.MySQLError
		if errors.As(err, &me) {
			switch me.Number {
			case erAccessDenied, erDBAccessDenied, erAccessDeniedNoPass:
				return connector.AuthFailed
			case erBadDB:
				return connector.DatabaseNotFound
			}
		}
		if errors.Is(err, mysql.ErrNoTLS) {
			return connector.TLS
		}
		return ""
	})
}

// zoneLiteral returns the session time_zone value (an SQL literal). UTC is
// '+00:00' because a server without time zone tables knows no zone names;
// names need those tables.
func zoneLiteral(z connector.Zone) string {
	switch z.Kind {
	case connector.ZoneUTC:
		return "'+00:00'"
	case connector.ZoneSystem:
		return "'SYSTEM'"
	default: // an offset or a name: SessionZone admits no quote or backslash
		return "'" + z.Name + "'"
	}
}
