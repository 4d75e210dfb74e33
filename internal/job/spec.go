// Package job holds the job file (Spec), its decoding and validation, and the
// job state machine. Field names here are the outside contract of SPEC §7:
// users and tools depend on them, so they never change.
//
// The package imports no database driver.
package job

import (
	"encoding/json"
	"fmt"
	"log/slog"
)

// Type is the kind of job.
type Type string

const (
	TypeMigration Type = "migration"
	TypeSync      Type = "sync"
	TypeCheck     Type = "check"
)

// Engine is a database or sink engine.
type Engine string

const (
	EngineMySQL      Engine = "mysql"
	EngineMariaDB    Engine = "mariadb"
	EnginePostgreSQL Engine = "postgresql"
	EngineKafka      Engine = "kafka"
	EngineRedis      Engine = "redis"
)

// IsMySQL reports whether the engine speaks the MySQL protocol and dialect
// (MariaDB counts as MySQL everywhere).
func (e Engine) IsMySQL() bool { return e == EngineMySQL || e == EngineMariaDB }

// Spec is one job file.
type Spec struct {
	Name          string      `json:"name"`
	Type          Type        `json:"type"`
	Source        Endpoint    `json:"source"`
	Target        Endpoint    `json:"target"`
	Phases        *Phases     `json:"phases,omitempty"`
	Objects       Objects     `json:"objects,omitempty"`
	RenameRule    RenameRule  `json:"rename_rule"`
	DDL           *[]string   `json:"ddl,omitempty"`
	StartPosition string      `json:"start_position,omitempty"`
	Parallelism   Parallelism `json:"parallelism"`
	Alerts        Alerts      `json:"alerts"`
	Check         Check       `json:"check"`
	Direction     string      `json:"direction,omitempty"`
	Schedule      Schedule    `json:"schedule"`
}

// Endpoint is one database: engine, address, credentials, TLS and engine options.
type Endpoint struct {
	Engine   Engine          `json:"engine"`
	Host     string          `json:"host"`
	Port     int             `json:"port"`
	User     string          `json:"user"`
	Password Secret          `json:"password,omitempty"`
	Database string          `json:"database,omitempty"`
	TLS      TLS             `json:"tls"`
	Options  EndpointOptions `json:"options"`
}

// TLS says how an endpoint connection is secured.
type TLS struct {
	// Mode is disable | prefer | require | verify-ca | verify-full.
	Mode string `json:"mode,omitempty"`
	CA   string `json:"ca,omitempty"`
	Cert string `json:"cert,omitempty"`
	Key  string `json:"key,omitempty"`
}

// TLS modes.
const (
	TLSDisable    = "disable"
	TLSPrefer     = "prefer"
	TLSRequire    = "require"
	TLSVerifyCA   = "verify-ca"
	TLSVerifyFull = "verify-full"
)

// EndpointOptions are the engine-specific settings of an endpoint. Each option
// says which engine and role it applies to; Validate refuses the others.
type EndpointOptions struct {
	// ServerID is the replica server id a MySQL source's binlog reader uses
	// (default: derived from the job id; must be unique among the source's replicas).
	ServerID uint32 `json:"server_id,omitempty"`
	// Slot and Publication name a PostgreSQL source's replication slot and
	// publication (default: derived from the job name).
	Slot        string `json:"slot,omitempty"`
	Publication string `json:"publication,omitempty"`
	// Streaming lets a PostgreSQL 14+ source send large transactions while
	// they run, kept on dts's disk until they commit (default true); false
	// leaves them to the server until they commit.
	Streaming *bool `json:"streaming,omitempty"`
	// TimeZone is the session time zone used on the connection (default UTC).
	TimeZone string `json:"time_zone,omitempty"`
	// ConnectTimeoutSeconds bounds connecting and authenticating (default 5).
	ConnectTimeoutSeconds int `json:"connect_timeout_seconds,omitempty"`
	// ExistingTables says what a target does with a table that already exists:
	// fail (default) | append | truncate | recreate.
	ExistingTables string `json:"existing_tables,omitempty"`
	// BatchRows bounds the rows a target writes per statement or COPY batch.
	BatchRows int `json:"batch_rows,omitempty"`
}

// Existing-table policies of a target.
const (
	ExistingFail     = "fail"
	ExistingAppend   = "append"
	ExistingTruncate = "truncate"
	ExistingRecreate = "recreate"
)

// Phases says which phases a job runs.
type Phases struct {
	Structure   bool `json:"structure"`
	Full        bool `json:"full"`
	Incremental bool `json:"incremental"`
}

// RenameRule adds a prefix and/or suffix to target database/schema and table names.
type RenameRule struct {
	Prefix string `json:"prefix"`
	Suffix string `json:"suffix"`
}

// Parallelism bounds the workers a job may use.
type Parallelism struct {
	Min int `json:"min"`
	Max int `json:"max"`
}

// Alerts says when and where a job raises alerts.
type Alerts struct {
	Delay    DelayAlert `json:"delay"`
	Error    bool       `json:"error"`
	Webhooks []string   `json:"webhooks,omitempty"`
}

// DelayAlert fires when the delay stays above ThresholdSeconds for ForSeconds.
type DelayAlert struct {
	ThresholdSeconds int `json:"threshold_seconds"`
	ForSeconds       int `json:"for_seconds"`
}

// Check configures verification after the full load and during incremental sync.
type Check struct {
	Full        FullCheck        `json:"full"`
	Incremental IncrementalCheck `json:"incremental"`
}

// FullCheck is the compare run after a full load (and by check jobs).
type FullCheck struct {
	// Mode is objects | rows | content; empty means no compare after the full load.
	Mode          string  `json:"mode,omitempty"`
	SamplePercent float64 `json:"sample_percent,omitempty"`
	MaxHours      float64 `json:"max_hours,omitempty"`
}

// IncrementalCheck verifies applied changes continuously.
type IncrementalCheck struct {
	Enabled bool `json:"enabled"`
}

// Compare modes.
const (
	CompareObjects = "objects"
	CompareRows    = "rows"
	CompareContent = "content"
)

// Directions of a sync job.
const (
	DirectionForward = "forward"
	DirectionReverse = "reverse"
)

// Schedule says when a job starts on its own.
type Schedule struct {
	StartAt string `json:"start_at,omitempty"`
}

// Secret is a password. It prints as [redacted] through fmt and slog so a
// stray log line never leaks it; JSON carries the value because the CLI must
// send it to the server and the catalog must seal it. The API never answers
// with a Spec as is: it returns a redacted view.
type Secret string

const redacted = "[redacted]"

func (s Secret) String() string             { return redactedIfSet(s) }
func (s Secret) GoString() string           { return redactedIfSet(s) }
func (s Secret) LogValue() slog.Value       { return slog.StringValue(redactedIfSet(s)) }
func (s Secret) Format(f fmt.State, _ rune) { fmt.Fprint(f, redactedIfSet(s)) }

// Reveal returns the secret's value. Call it only where the value is used.
func (s Secret) Reveal() string { return string(s) }

func redactedIfSet(s Secret) string {
	if s == "" {
		return ""
	}
	return redacted
}

// DDL kinds carried in incremental sync.
const (
	DDLCreateTable   = "create_table"
	DDLAlterTable    = "alter_table"
	DDLRenameTable   = "rename_table"
	DDLTruncateTable = "truncate_table"
	DDLCreateIndex   = "create_index"
	DDLDropIndex     = "drop_index"
	DDLDropTable     = "drop_table"
)

// DDLKinds lists every DDL kind in documentation order.
var DDLKinds = []string{DDLCreateTable, DDLAlterTable, DDLRenameTable, DDLTruncateTable, DDLCreateIndex, DDLDropIndex, DDLDropTable}

// DefaultDDL is carried when the job file has no ddl key: everything but drop_table.
var DefaultDDL = []string{DDLCreateTable, DDLAlterTable, DDLRenameTable, DDLTruncateTable, DDLCreateIndex, DDLDropIndex}

// DML kinds.
const (
	DMLInsert = "insert"
	DMLUpdate = "update"
	DMLDelete = "delete"
)

// EffectivePhases returns the phases the job runs: the explicit ones, or the
// job type's defaults.
func (s *Spec) EffectivePhases() Phases {
	if s.Phases != nil {
		return *s.Phases
	}
	switch s.Type {
	case TypeMigration:
		return Phases{Structure: true, Full: true}
	case TypeSync:
		return Phases{Structure: true, Full: true, Incremental: true}
	}
	return Phases{}
}

// EffectiveDDL returns the DDL kinds carried in incremental sync.
func (s *Spec) EffectiveDDL() []string {
	if s.DDL != nil {
		return *s.DDL
	}
	return DefaultDDL
}

// CarriesDDL reports whether DDL kind is carried.
func (s *Spec) CarriesDDL(kind string) bool {
	for _, k := range s.EffectiveDDL() {
		if k == kind {
			return true
		}
	}
	return false
}

// Normalize fills in defaults so a stored spec is explicit about what the job
// does. It never changes a value the user set.
func (s *Spec) Normalize() {
	p := s.EffectivePhases()
	s.Phases = &p
	if s.DDL == nil && p.Incremental {
		d := append([]string(nil), DefaultDDL...)
		s.DDL = &d
	}
	if s.Parallelism.Min == 0 {
		s.Parallelism.Min = 1
	}
	if s.Parallelism.Max == 0 {
		s.Parallelism.Max = max(4, s.Parallelism.Min)
	}
	if s.Direction == "" {
		s.Direction = DirectionForward
	}
	for _, e := range []*Endpoint{&s.Source, &s.Target} {
		if e.TLS.Mode == "" {
			e.TLS.Mode = TLSPrefer
		}
	}
	if s.Check.Full.Mode != "" && s.Check.Full.SamplePercent == 0 {
		s.Check.Full.SamplePercent = 100
	}
	for i := range s.Objects {
		for j := range s.Objects[i].Value.Tables {
			t := &s.Objects[i].Value.Tables[j].Value
			if t.DML == nil {
				t.DML = []string{DMLInsert, DMLUpdate, DMLDelete}
			}
		}
	}
}

// Clone returns a deep copy of the spec.
func (s *Spec) Clone() *Spec {
	b, err := json.Marshal(s)
	if err != nil {
		panic(fmt.Sprintf("job: marshal spec: %v", err)) // every field is marshalable
	}
	var c Spec
	if err := json.Unmarshal(b, &c); err != nil {
		panic(fmt.Sprintf("job: unmarshal spec: %v", err))
	}
	return &c
}
