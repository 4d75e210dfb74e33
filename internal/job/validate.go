package job

import (
	"fmt"
	"net/netip"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/schema"
)

// Limits on values in a job file.
const (
	MaxParallelism   = 64
	maxIdentifier    = 64 // MySQL's limit; PostgreSQL's 63-byte truncation is a precheck item
	maxFilterBytes   = 16 << 10
	maxWebhooks      = 20
	maxBatchRows     = 100_000
	maxTimeoutSecond = 300
)

var (
	nameRE     = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)
	slotRE     = regexp.MustCompile(`^[a-z0-9_]{1,63}$`)
	hostnameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9_.-]{0,252})$`)
	affixRE    = regexp.MustCompile(`^[A-Za-z0-9_$-]{0,32}$`)
	colTypeRE  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_ ]*(\(\s*\d+\s*(,\s*\d+\s*)?\))?( [A-Za-z]+)*$`)
)

// Validate checks every value of the spec and reports every problem at once,
// each with its field path and what is allowed. It does not contact any
// database: checks against the servers are prechecks.
func (s *Spec) Validate() error {
	v := &validator{}
	v.spec(s)
	if len(v.problems) == 0 {
		return nil
	}
	return errs.Invalid(v.problems)
}

// Validate checks one endpoint on its own, as the connection test of an
// endpoint that belongs to no job yet does. path prefixes the field paths.
func (e *Endpoint) Validate(path string) error {
	v := &validator{}
	v.endpoint(path, e, roleAny)
	if len(v.problems) == 0 {
		return nil
	}
	return errs.Invalid(v.problems)
}

type validator struct{ problems []errs.FieldError }

// role says which end of a job an endpoint is; options depend on it.
type role int

const (
	roleSource role = iota
	roleTarget
	roleAny // a bare endpoint: every option is accepted
)

func (v *validator) add(path, format string, args ...any) {
	v.problems = append(v.problems, errs.FieldError{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (v *validator) oneOf(path, got string, allowed ...string) bool {
	if slices.Contains(allowed, got) {
		return true
	}
	if got == "" {
		v.add(path, "required; allowed: %s", strings.Join(allowed, ", "))
	} else {
		v.add(path, "%q is not allowed; allowed: %s", clip(got), strings.Join(allowed, ", "))
	}
	return false
}

func (v *validator) spec(s *Spec) {
	switch {
	case s.Name == "":
		v.add("name", "required: 1-63 characters of a-z, 0-9, _ and -")
	case !nameRE.MatchString(s.Name):
		v.add("name", "%q is not allowed: use 1-63 characters of a-z, 0-9, _ and -, starting with a letter or digit", clip(s.Name))
	}
	v.oneOf("type", string(s.Type), string(TypeMigration), string(TypeSync), string(TypeCheck))
	v.endpoint("source", &s.Source, roleSource)
	v.endpoint("target", &s.Target, roleTarget)
	v.phases(s)
	v.objects(s)
	v.affix("rename_rule.prefix", s.RenameRule.Prefix)
	v.affix("rename_rule.suffix", s.RenameRule.Suffix)
	if s.DDL != nil {
		v.kinds("ddl", *s.DDL, DDLKinds, false)
	}
	v.startPosition(s)
	v.parallelism(s.Parallelism)
	v.alerts(s.Alerts)
	v.check(s.Check)
	if s.Direction != "" {
		v.oneOf("direction", s.Direction, DirectionForward, DirectionReverse)
	}
	if s.Schedule.StartAt != "" {
		if _, err := time.Parse(time.RFC3339, s.Schedule.StartAt); err != nil {
			v.add("schedule.start_at", "%q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", clip(s.Schedule.StartAt))
		}
	}
	v.selfLoop(s)
}

func (v *validator) endpoint(p string, e *Endpoint, r role) {
	engines := []string{string(EngineMySQL), string(EngineMariaDB), string(EnginePostgreSQL)}
	if !v.oneOf(p+".engine", string(e.Engine), engines...) {
		if r == roleTarget && (e.Engine == EngineKafka || e.Engine == EngineRedis) {
			v.problems[len(v.problems)-1].Message = fmt.Sprintf("%s targets are not available in this version; allowed: %s", e.Engine, strings.Join(engines, ", "))
		}
	}
	v.host(p+".host", e.Host)
	if e.Port < 1 || e.Port > 65535 {
		v.add(p+".port", "required: a TCP port from 1 to 65535 (MySQL/MariaDB usually 3306, PostgreSQL 5432)")
	}
	switch {
	case e.User == "":
		v.add(p+".user", "required")
	case len(e.User) > 128 || hasControl(e.User):
		v.add(p+".user", "must be at most 128 characters without control characters")
	}
	if len(e.Password) > 1024 || strings.ContainsRune(string(e.Password), 0) {
		v.add(p+".password", "must be at most 1024 characters without NUL")
	}
	if e.Engine == EnginePostgreSQL && e.Database == "" {
		v.add(p+".database", "required for postgresql: the database that holds the schemas")
	}
	if e.Database != "" {
		v.identifier(p+".database", e.Database)
	}
	v.tls(p+".tls", e.TLS)
	v.options(p+".options", e, r)
}

func (v *validator) host(p, h string) {
	switch {
	case h == "":
		v.add(p, "required: a host name or IP address")
		return
	case strings.Contains(h, "://"):
		v.add(p, "must be a host name or IP address, not a URL: drop the scheme in %q", clip(h))
		return
	}
	if strings.HasPrefix(h, "[") || strings.Contains(h, ":") {
		inner, bracketed := strings.CutPrefix(h, "[")
		if bracketed {
			inner, bracketed = strings.CutSuffix(inner, "]")
		}
		if ip, err := netip.ParseAddr(inner); err != nil || !ip.Is6() || strings.HasPrefix(h, "[") && !bracketed {
			v.add(p, "%q is not a valid IPv6 address", clip(h))
		}
		return
	}
	if !hostnameRE.MatchString(h) {
		v.add(p, "%q is not a valid host name or IP address", clip(h))
	}
}

func (v *validator) tls(p string, t TLS) {
	if t.Mode != "" {
		v.oneOf(p+".mode", t.Mode, TLSDisable, TLSPrefer, TLSRequire, TLSVerifyCA, TLSVerifyFull)
	}
	if t.Mode == TLSVerifyCA && t.CA == "" {
		v.add(p+".ca", "required with mode verify-ca: the CA certificate file")
	}
	if (t.Cert == "") != (t.Key == "") {
		v.add(p, "cert and key go together: set both or neither")
	}
	if t.Mode == TLSDisable && (t.CA != "" || t.Cert != "") {
		v.add(p+".mode", "is disable but certificate files are set: use require, verify-ca or verify-full")
	}
}

func (v *validator) options(p string, e *Endpoint, r role) {
	o := e.Options
	source, target := r != roleTarget, r != roleSource
	only := func(field string, set bool, ok bool, where string) {
		if set && !ok {
			v.add(p+"."+field, "applies only to %s", where)
		}
	}
	only("server_id", o.ServerID != 0, source && e.Engine.IsMySQL(), "a mysql/mariadb source")
	only("slot", o.Slot != "", source && e.Engine == EnginePostgreSQL, "a postgresql source")
	only("publication", o.Publication != "", source && e.Engine == EnginePostgreSQL, "a postgresql source")
	only("streaming", o.Streaming != nil, source && e.Engine == EnginePostgreSQL, "a postgresql source")
	only("existing_tables", o.ExistingTables != "", target, "a target")
	only("batch_rows", o.BatchRows != 0, target, "a target")
	if o.Slot != "" && !slotRE.MatchString(o.Slot) {
		v.add(p+".slot", "%q is not allowed: 1-63 characters of a-z, 0-9 and _", clip(o.Slot))
	}
	if o.Publication != "" {
		v.identifier(p+".publication", o.Publication)
	}
	if o.TimeZone != "" && !validTimeZone(o.TimeZone) {
		v.add(p+".time_zone", "%q is not a time zone: use UTC, an offset such as +05:30, or a name such as Europe/Berlin", clip(o.TimeZone))
	}
	if o.ConnectTimeoutSeconds < 0 || o.ConnectTimeoutSeconds > maxTimeoutSecond {
		v.add(p+".connect_timeout_seconds", "must be from 1 to %d (0: the default, 5)", maxTimeoutSecond)
	}
	if o.ExistingTables != "" && target {
		v.oneOf(p+".existing_tables", o.ExistingTables, ExistingFail, ExistingAppend, ExistingTruncate, ExistingRecreate)
	}
	if o.BatchRows < 0 || o.BatchRows > maxBatchRows {
		v.add(p+".batch_rows", "must be from 1 to %d (0: the default)", maxBatchRows)
	}
}

var offsetRE = regexp.MustCompile(`^[+-](0\d|1[0-4]):[0-5]\d$`)

func validTimeZone(tz string) bool {
	if offsetRE.MatchString(tz) || tz == "UTC" || tz == "SYSTEM" {
		return true
	}
	_, err := time.LoadLocation(tz)
	return err == nil && tz != "Local"
}

func (v *validator) phases(s *Spec) {
	p := s.EffectivePhases()
	switch s.Type {
	case TypeMigration:
		if !p.Structure && !p.Full && !p.Incremental {
			v.add("phases", "a migration runs at least one phase: set structure, full or incremental")
		}
	case TypeSync:
		if !p.Incremental {
			v.add("phases.incremental", "a sync job runs the incremental phase: set it to true, or use type migration")
		}
	case TypeCheck:
		if p.Structure || p.Full || p.Incremental {
			v.add("phases", "a check job moves no data: leave phases out, or use type migration")
		}
	}
}

func (v *validator) objects(s *Spec) {
	if len(s.Objects) == 0 {
		v.add("objects", "required: select at least one database/schema, e.g. objects: {shop: {all: true}}")
		return
	}
	for _, db := range s.Objects {
		p := joinPath("objects", db.Key)
		v.pattern(p, db.Key)
		r := db.Value
		if r.Name != "" {
			v.identifier(p+".name", r.Name)
		}
		if !r.All && len(r.Tables) == 0 {
			v.add(p, "selects no tables: set all: true or list tables")
		}
		for _, t := range r.Tables {
			v.table(s, joinPath(p+".tables", t.Key), t.Key, &t.Value)
		}
	}
}

func (v *validator) table(s *Spec, p, key string, t *TableRule) {
	v.pattern(p, key)
	if t.Name != "" {
		v.identifier(p+".name", t.Name)
	}
	if t.Filter != "" {
		switch {
		case len(t.Filter) > maxFilterBytes:
			v.add(p+".filter", "is %d bytes; the limit is %d", len(t.Filter), maxFilterBytes)
		case strings.TrimSpace(t.Filter) == "":
			v.add(p+".filter", "is blank: remove it or write a condition such as id > 100")
		case strings.ContainsRune(t.Filter, 0) || !utf8.ValidString(t.Filter):
			v.add(p+".filter", "must be UTF-8 text without NUL")
		}
		// The grammar and the allow-list are checked by transform.ValidateSpec
		// (internal/filter cannot be imported here: its tests use testenv,
		// which imports this package).
	}
	targetNames := map[string]string{}
	for _, c := range t.Columns {
		cp := joinPath(p+".columns", c.Key)
		switch {
		case c.Key == "":
			v.add(cp, "a column name is required")
		case c.Value.Exclude && c.Value.Name != "":
			v.add(cp, "set either name (rename) or exclude: true, not both")
		case !c.Value.Exclude && c.Value.Name == "":
			v.add(cp, "set name (rename) or exclude: true")
		}
		if c.Value.Name != "" {
			v.identifier(cp+".name", c.Value.Name)
			if prev, dup := targetNames[strings.ToLower(c.Value.Name)]; dup {
				v.add(cp+".name", "%q is also the new name of column %q", c.Value.Name, prev)
			}
			targetNames[strings.ToLower(c.Value.Name)] = c.Key
		}
	}
	for i, a := range t.AddColumns {
		ap := fmt.Sprintf("%s.add_columns[%d]", p, i)
		if a.Name == "" {
			v.add(ap+".name", "required")
		} else {
			v.identifier(ap+".name", a.Name)
			if prev, dup := targetNames[strings.ToLower(a.Name)]; dup {
				v.add(ap+".name", "%q is already the name of column %q", a.Name, prev)
			}
			targetNames[strings.ToLower(a.Name)] = a.Name
		}
		if a.Type == "" {
			v.add(ap+".type", "required: a column type of the target, e.g. varchar(64)")
		} else if len(a.Type) > 64 || !colTypeRE.MatchString(a.Type) {
			v.add(ap+".type", "%q is not a column type such as varchar(64), bigint or timestamp", clip(a.Type))
		} else if s.Target.Engine.IsMySQL() || s.Target.Engine == EnginePostgreSQL {
			if _, err := schema.ParseUserType(s.Target.Engine.IsMySQL(), a.Type); err != nil {
				v.add(ap+".type", "%v (a type of the target, %s)", err, s.Target.Engine)
			}
		}
		if v.oneOf(ap+".from", a.From, FromConstant, FromDatabase, FromTable, FromCommitTime, FromOperation) {
			if a.From == FromConstant && a.Value == "" {
				v.add(ap+".value", "required with from: constant")
			}
			if a.From != FromConstant && a.Value != "" {
				v.add(ap+".value", "applies only with from: constant")
			}
		}
	}
	if t.DML != nil {
		v.kinds(p+".dml", t.DML, []string{DMLInsert, DMLUpdate, DMLDelete}, true)
	}
}

func (v *validator) kinds(p string, got, allowed []string, nonEmpty bool) {
	if nonEmpty && len(got) == 0 {
		v.add(p, "must list at least one of: %s", strings.Join(allowed, ", "))
	}
	seen := map[string]bool{}
	for i, k := range got {
		ip := fmt.Sprintf("%s[%d]", p, i)
		if !v.oneOf(ip, k, allowed...) {
			continue
		}
		if seen[k] {
			v.add(ip, "%q is listed twice", k)
		}
		seen[k] = true
	}
}

// pattern checks an object key: a name or a glob of *, ? and [...].
func (v *validator) pattern(p, key string) {
	switch {
	case key == "":
		v.add(p, "a name or glob is required")
	case len(key) > 2*maxIdentifier:
		v.add(p, "is longer than %d characters", 2*maxIdentifier)
	case hasControl(key):
		v.add(p, "must not contain control characters")
	default:
		if _, err := path.Match(key, ""); err != nil {
			v.add(p, "%q is not a valid glob (use *, ? and [...])", clip(key))
		}
	}
}

// identifier checks a target name: any characters but control characters,
// at most 64, and no trailing space (MySQL refuses those).
func (v *validator) identifier(p, name string) {
	switch {
	case utf8.RuneCountInString(name) > maxIdentifier:
		v.add(p, "%q is longer than %d characters", clip(name), maxIdentifier)
	case hasControl(name) || !utf8.ValidString(name):
		v.add(p, "must be UTF-8 without control characters")
	case strings.TrimSpace(name) != name:
		v.add(p, "%q must not start or end with a space", clip(name))
	}
}

func (v *validator) affix(p, s string) {
	if !affixRE.MatchString(s) {
		v.add(p, "%q is not allowed: up to 32 characters of A-Z, a-z, 0-9, _, $ and -", clip(s))
	}
}

func (v *validator) startPosition(s *Spec) {
	if s.StartPosition == "" {
		return
	}
	p := s.EffectivePhases()
	const f = "start_position"
	if !p.Incremental {
		v.add(f, "applies only to jobs with the incremental phase")
		return
	}
	if p.Full {
		v.add(f, "applies only when phases.full is false: with a full load, incremental starts at the load's snapshot")
	}
	pos, err := ParseStartPosition(s.StartPosition)
	if err != nil {
		v.add(f, "%v", err)
		return
	}
	switch {
	case (pos.Kind == PositionBinlog || pos.Kind == PositionGTID) && !s.Source.Engine.IsMySQL():
		v.add(f, "%s positions apply only to a mysql/mariadb source", pos.Kind)
	case pos.Kind == PositionLSN && s.Source.Engine != EnginePostgreSQL:
		v.add(f, "lsn positions apply only to a postgresql source")
	}
}

func (v *validator) parallelism(p Parallelism) {
	if p.Min < 0 || p.Min > MaxParallelism {
		v.add("parallelism.min", "must be from 1 to %d", MaxParallelism)
	}
	if p.Max < 0 || p.Max > MaxParallelism {
		v.add("parallelism.max", "must be from 1 to %d", MaxParallelism)
	} else if p.Max != 0 && p.Max < p.Min {
		v.add("parallelism.max", "must be at least parallelism.min (%d)", p.Min)
	}
}

func (v *validator) alerts(a Alerts) {
	if a.Delay.ThresholdSeconds < 0 || a.Delay.ThresholdSeconds > 7*86400 {
		v.add("alerts.delay.threshold_seconds", "must be from 1 to %d seconds (0: no delay alert)", 7*86400)
	}
	if a.Delay.ForSeconds < 0 || a.Delay.ForSeconds > 86400 {
		v.add("alerts.delay.for_seconds", "must be from 0 to 86400 seconds")
	}
	if len(a.Webhooks) > maxWebhooks {
		v.add("alerts.webhooks", "at most %d webhooks", maxWebhooks)
	}
	for i, w := range a.Webhooks {
		u, err := url.Parse(w)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(w) > 2048 {
			v.add(fmt.Sprintf("alerts.webhooks[%d]", i), "%q is not an http(s) URL", clip(w))
		}
	}
	if (a.Delay.ThresholdSeconds > 0 || a.Error) && len(a.Webhooks) == 0 {
		v.add("alerts.webhooks", "alerts are enabled but no webhook is listed to send them to")
	}
}

func (v *validator) check(c Check) {
	if c.Full.Mode != "" {
		v.oneOf("check.full.mode", c.Full.Mode, CompareObjects, CompareRows, CompareContent)
	}
	if c.Full.SamplePercent < 0 || c.Full.SamplePercent > 100 {
		v.add("check.full.sample_percent", "must be more than 0 and at most 100")
	}
	if c.Full.MaxHours < 0 || c.Full.MaxHours > 720 {
		v.add("check.full.max_hours", "must be from 0 (no limit) to 720")
	}
}

// selfLoop refuses a job whose source and target are the same server and
// whose objects would land on themselves.
func (v *validator) selfLoop(s *Spec) {
	src, dst := s.Source, s.Target
	if src.Engine.IsMySQL() != dst.Engine.IsMySQL() || src.Port != dst.Port || !sameHost(src.Host, dst.Host) {
		return
	}
	if src.Engine == EnginePostgreSQL && src.Database != dst.Database {
		return
	}
	if s.RenameRule.Prefix != "" || s.RenameRule.Suffix != "" {
		return
	}
	for _, db := range s.Objects {
		if db.Value.Name == "" || db.Value.Name == db.Key {
			v.add(joinPath("objects", db.Key), "source and target are the same server and this selection would be written onto itself: set name to another database/schema, or a rename_rule")
		}
	}
}

func sameHost(a, b string) bool {
	norm := func(h string) string {
		h = strings.ToLower(strings.Trim(h, "[]"))
		if h == "localhost" || h == "::1" || strings.HasPrefix(h, "127.") {
			return "loopback"
		}
		return h
	}
	return norm(a) == norm(b)
}

func hasControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0
}
