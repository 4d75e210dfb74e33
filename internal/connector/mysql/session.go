package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dtsorg/dts/internal/job"
)

// Session settings of every connection a Source or Sink opens, whatever the
// endpoint's options.time_zone says: canonical TIMESTAMP values are UTC.
const (
	// sessionZone makes TIMESTAMP values read and written in UTC.
	sessionZone = "'+00:00'"
	// sourceSQLMode keeps what a session reads free of surprises: no
	// ANSI_QUOTES (SHOW CREATE TABLE quoting), no PAD_CHAR_TO_FULL_LENGTH
	// (CHAR values padded), no NO_BACKSLASH_ESCAPES (literal quoting).
	sourceSQLMode = "'NO_ENGINE_SUBSTITUTION'"
	// sinkSQLMode makes a value the column cannot hold fail instead of being
	// truncated (STRICT_ALL_TABLES), stores 0 in AUTO_INCREMENT columns as 0
	// (NO_AUTO_VALUE_ON_ZERO), and admits what only a MySQL source can hold
	// so that it is copied as it is: zero dates and zero-in-date values (no
	// NO_ZERO_DATE / NO_ZERO_IN_DATE) and the invalid dates a source with
	// ALLOW_INVALID_DATES stored. A PostgreSQL source has none of those.
	sinkSQLMode = "'STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION,ALLOW_INVALID_DATES'"
	// netTimeout (seconds) bounds waiting for the other end of a connection:
	// a reader whose rows wait for the writer, a long statement.
	netTimeout = "3600"
)

// openPool opens a connection pool for e whose sessions have the given
// settings besides the common ones (time zone, network timeouts).
// Temporal values arrive as text (parseTime off), so zero dates survive.
func openPool(ctx context.Context, e job.Endpoint, settings map[string]string, readMaxPacket bool) (*sql.DB, error) {
	cfg, err := Config(e)
	if err != nil {
		return nil, err
	}
	cfg.ParseTime = false
	cfg.Loc = time.UTC
	cfg.ClientFoundRows = true // UPDATE reports matched rows: progress rows are checked by it
	if readMaxPacket {
		cfg.MaxAllowedPacket = 0 // the driver asks the server: long values are split to fit
	}
	params := make(map[string]string, len(cfg.Params)+len(settings)+3)
	for k, v := range cfg.Params {
		params[k] = v
	}
	params["time_zone"] = sessionZone
	for k, v := range settings {
		params[k] = v
	}
	params["net_read_timeout"] = netTimeout
	params["net_write_timeout"] = netTimeout
	cfg.Params = params
	return OpenConfig(ctx, e, cfg)
}

// server is what dts needs to know about a server's version.
type server struct {
	version string // as SELECT VERSION() says
	mariadb bool
	major   int
	minor   int
	patch   int
}

// flavor is mariadb or mysql, as change.Position spells it.
func (s server) flavor() string {
	if s.mariadb {
		return "mariadb"
	}
	return "mysql"
}

// atLeast reports whether the version is major.minor.patch or later.
func (s server) atLeast(major, minor, patch int) bool {
	if s.major != major {
		return s.major > major
	}
	if s.minor != minor {
		return s.minor > minor
	}
	return s.patch >= patch
}

// parseVersion reads a version string: "8.0.36", "10.11.19-MariaDB-0+deb12u1-log",
// or the handshake form "5.5.5-10.11.19-MariaDB".
func parseVersion(v string) server {
	s := server{version: v, mariadb: strings.Contains(strings.ToLower(v), "mariadb")}
	num := v
	if s.mariadb {
		num = strings.TrimPrefix(num, "5.5.5-")
	}
	if i := strings.IndexFunc(num, func(r rune) bool { return r != '.' && (r < '0' || r > '9') }); i >= 0 {
		num = num[:i]
	}
	parts := strings.Split(num, ".")
	vals := []*int{&s.major, &s.minor, &s.patch}
	for i := 0; i < len(parts) && i < 3; i++ {
		*vals[i], _ = strconv.Atoi(parts[i])
	}
	return s
}

// readServer asks the server for its version.
func readServer(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (server, error) {
	var v string
	if err := q.QueryRowContext(ctx, "SELECT VERSION()").Scan(&v); err != nil {
		return server{}, fmt.Errorf("read server version: %w", err)
	}
	return parseVersion(v), nil
}
