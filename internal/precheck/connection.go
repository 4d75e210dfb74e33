package precheck

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/connector/conntest"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
)

// Connectivity, versions and time zones of both endpoints.

func (e *env) connTest(ctx context.Context, source bool) (conntest.Result, error) {
	if source {
		return e.srcTest.get(ctx, e, func(ctx context.Context) (conntest.Result, error) { return conntest.Test(ctx, e.spec.Source), nil })
	}
	return e.dstTest.get(ctx, e, func(ctx context.Context) (conntest.Result, error) { return conntest.Test(ctx, e.spec.Target), nil })
}

// checkConnection reuses the test_connection check: reach, log in, version, round trip.
func checkConnection(source bool) func(context.Context, *env) Outcome {
	return func(ctx context.Context, e *env) Outcome {
		r, err := e.connTest(ctx, source)
		if err != nil {
			return notChecked(err)
		}
		ep := e.endpoint(source)
		var o Outcome
		if r.Error != nil {
			o = failed("%s: %s", r.Error.Code, r.Error.Message).fix("%s", r.Error.Fix)
		} else {
			o = passed("logged in to %s at %s as %q; round trip %.2f ms", ep.Engine, connector.Addr(ep), ep.User, r.RTTMillis)
		}
		return o.with("reachable", r.Reachable).with("authenticated", r.Authenticated).
			with("server_version", r.ServerVersion).with("rtt_ms", r.RTTMillis)
	}
}

func (e *env) endpoint(source bool) job.Endpoint {
	if source {
		return e.spec.Source
	}
	return e.spec.Target
}

func (e *env) db(ctx context.Context, source bool) (*endpointDB, error) {
	if source {
		return e.sourceDB(ctx)
	}
	return e.targetDB(ctx)
}

// serverVersion is what the checks need to know of a server's version.
type serverVersion struct {
	text                string
	postgres, mariadb   bool
	major, minor, patch int
}

func (v serverVersion) atLeast(major, minor, patch int) bool {
	if v.major != major {
		return v.major > major
	}
	if v.minor != minor {
		return v.minor > minor
	}
	return v.patch >= patch
}

func (v serverVersion) product() string {
	switch {
	case v.postgres:
		return "PostgreSQL"
	case v.mariadb:
		return "MariaDB"
	}
	return "MySQL"
}

// parseMySQLVersion reads "8.0.36", "10.11.19-MariaDB-0+deb12u1-log" or "5.5.5-10.11.19-MariaDB".
func parseMySQLVersion(s string) serverVersion {
	v := serverVersion{text: s, mariadb: strings.Contains(strings.ToLower(s), "mariadb")}
	num := s
	if v.mariadb {
		num = strings.TrimPrefix(num, "5.5.5-")
	}
	if i := strings.IndexFunc(num, func(r rune) bool { return r != '.' && (r < '0' || r > '9') }); i >= 0 {
		num = num[:i]
	}
	parts := strings.Split(num, ".")
	for i, p := range []*int{&v.major, &v.minor, &v.patch} {
		if i < len(parts) {
			*p, _ = strconv.Atoi(parts[i])
		}
	}
	return v
}

// checkVersion: see versionOutcome.
func checkVersion(source bool) func(context.Context, *env) Outcome {
	return func(ctx context.Context, e *env) Outcome {
		d, err := e.db(ctx, source)
		if err != nil {
			return notChecked(err)
		}
		return versionOutcome(d.version)
	}
}

// versionOutcome: MySQL 5.7 and 8, MariaDB 10.2 and later, PostgreSQL 12 and later.
func versionOutcome(v serverVersion) Outcome {
	o := passed("%s %s is supported", v.product(), v.text)
	switch {
	case v.postgres && v.major < 12:
		o = failed("PostgreSQL %s is too old: dts needs PostgreSQL 12 or later", v.text).
			fix("upgrade the server to PostgreSQL 12 or later")
	case v.mariadb && !v.atLeast(10, 2, 0):
		o = failed("MariaDB %s is too old: dts needs MariaDB 10.2 or later", v.text).
			fix("upgrade the server to MariaDB 10.2 or later")
	case !v.postgres && !v.mariadb && !v.atLeast(5, 7, 0):
		o = failed("MySQL %s is too old: dts needs MySQL 5.7 or later", v.text).
			fix("upgrade the server to MySQL 5.7 or later")
	case !v.postgres && !v.mariadb && v.major >= 9:
		o = warning("MySQL %s is newer than the versions dts is built for (5.7 and 8)", v.text).
			fix("run a test migration of a copy first, or use MySQL 8.0/8.4")
	}
	return o.with("version", v.text)
}

// maxSkew is the clock difference between dts and a server that warns.
const maxSkew = 5 * time.Second

// checkTimeZone: a named options.time_zone must be known to the server, and
// the server's clock must agree with dts's (delays and time-based start
// positions are measured with it).
func checkTimeZone(source bool) func(context.Context, *env) Outcome {
	return func(ctx context.Context, e *env) Outcome {
		d, err := e.db(ctx, source)
		if err != nil {
			return notChecked(err)
		}
		ep := e.endpoint(source)
		zone, serverZone, now, err := readZone(ctx, d, ep.Options.TimeZone)
		if err != nil {
			return notChecked(err)
		}
		skew := time.Since(now).Round(time.Millisecond)
		o := passed("server time zone %s; clocks agree within %s", serverZone, skew.Abs()).
			with("server_time_zone", serverZone).with("clock_skew_ms", skew.Milliseconds())
		side := sideName(source)
		switch {
		case !zone:
			o = failed("%s.options.time_zone %q is not a time zone the server knows", side, ep.Options.TimeZone).
				with("server_time_zone", serverZone)
			if d.my != nil {
				o = o.fix("load the time zone tables into the server (shell: mariadb-tzinfo-to-sql /usr/share/zoneinfo | mariadb mysql), "+
					"or set %s.options.time_zone to an offset such as +01:00", side)
			} else {
				o = o.fix("use a name from SELECT name FROM pg_timezone_names, or an offset such as +01:00")
			}
		case skew.Abs() > maxSkew:
			way := "behind"
			if skew < 0 { // the server's now is later than dts's
				way = "ahead of"
			}
			o = warning("the server's clock is %s %s dts's clock", skew.Abs().Round(100*time.Millisecond), way).
				with("server_time_zone", serverZone).with("clock_skew_ms", skew.Milliseconds()).
				fix("synchronise the clocks of the dts host and the server (NTP): delays and time-based start positions are measured with them")
		}
		return o
	}
}

func sideName(source bool) string {
	if source {
		return "source"
	}
	return "target"
}

// readZone reports whether the server knows the named zone tz ("" and
// offsets always count as known), the server's own time zone and its clock.
func readZone(ctx context.Context, d *endpointDB, tz string) (known bool, serverZone string, now time.Time, err error) {
	named := tz != "" && tz != "UTC" && tz != "SYSTEM" && !strings.HasPrefix(tz, "+") && !strings.HasPrefix(tz, "-")
	var unix float64
	if d.my != nil {
		var global, system string
		err = d.my.QueryRowContext(ctx, "SELECT @@GLOBAL.time_zone, @@system_time_zone, UNIX_TIMESTAMP(NOW(6))").Scan(&global, &system, &unix)
		if err != nil {
			return false, "", now, fmt.Errorf("read the time zone: %w", err)
		}
		serverZone = global
		if global == "SYSTEM" {
			serverZone = "SYSTEM (" + system + ")"
		}
		known = true
		if named {
			var conv *string
			if err = d.my.QueryRowContext(ctx, "SELECT CONVERT_TZ('2000-01-01 00:00:00', '+00:00', ?)", tz).Scan(&conv); err != nil {
				return false, "", now, fmt.Errorf("look up time zone %q: %w", tz, err)
			}
			known = conv != nil
		}
	} else {
		// dts's sessions run in UTC whatever the server's default; report the
		// zone the server logs in (its configured zone, readable by anyone).
		err = d.pg.QueryRow(ctx, `SELECT current_setting('log_timezone'), extract(epoch FROM clock_timestamp())::float8,
			$1 = '' OR EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = $1)`, namedOrEmpty(named, tz)).Scan(&serverZone, &unix, &known)
		if err != nil {
			return false, "", now, fmt.Errorf("read the time zone: %w", err)
		}
	}
	sec := int64(unix)
	now = time.Unix(sec, int64((unix-float64(sec))*1e9))
	return known, serverZone, now, nil
}

func namedOrEmpty(named bool, tz string) string {
	if named {
		return tz
	}
	return ""
}

// errText is an error's message for an item: a coded error's message, else the text.
func errText(err error) string {
	if e, ok := errs.As(err); ok {
		if e.Code == errs.InvalidParameter && len(e.Fields) > 1 {
			var parts []string
			for _, f := range e.Fields {
				parts = append(parts, f.Error())
			}
			return strings.Join(parts, "; ")
		}
		return e.Message
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "the servers did not answer in time"
	}
	return err.Error()
}

func errFix(err error) string {
	if e, ok := errs.As(err); ok {
		return e.Fix
	}
	return ""
}
