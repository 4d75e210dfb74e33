package job

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// validSpec returns a small valid migration spec tests change one field of.
func validSpec() *Spec {
	return &Spec{
		Name:    "m1",
		Type:    TypeMigration,
		Source:  Endpoint{Engine: EngineMariaDB, Host: "10.0.0.1", Port: 3306, User: "dts"},
		Target:  Endpoint{Engine: EnginePostgreSQL, Host: "10.0.0.2", Port: 5432, User: "dts", Database: "wh"},
		Objects: Objects{{Key: "shop", Value: DatabaseRule{All: true}}},
	}
}

func TestValidateAcceptsSpecExample(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/full.yaml")
	require.NoError(t, err)
	s, err := Decode(data, testEnv(map[string]string{"SHOP_DB_PASSWORD": "x"}))
	require.NoError(t, err)
	require.NoError(t, s.Validate())
	require.NoError(t, validSpec().Validate())
}

func TestValidateReportsEachProblem(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		change func(s *Spec)
		want   string // "path: message prefix"
	}{
		{"name required", func(s *Spec) { s.Name = "" }, "name: required"},
		{"name charset", func(s *Spec) { s.Name = "Bad Name" }, `name: "Bad Name" is not allowed`},
		{"name nul", func(s *Spec) { s.Name = "a\x00b" }, "name: "},
		{"type", func(s *Spec) { s.Type = "copy" }, `type: "copy" is not allowed; allowed: migration, sync, check`},
		{"engine", func(s *Spec) { s.Source.Engine = "oracle" }, `source.engine: "oracle" is not allowed; allowed: mysql, mariadb, postgresql`},
		{"kafka target", func(s *Spec) { s.Target.Engine = EngineKafka }, "target.engine: kafka targets are not available in this version"},
		{"host url", func(s *Spec) { s.Source.Host = "mysql://db" }, "source.host: must be a host name or IP address, not a URL"},
		{"host injection", func(s *Spec) { s.Source.Host = "x host=attacker" }, "source.host: "},
		{"ipv6 bracketed", func(s *Spec) { s.Source.Host = "[::1" }, "source.host: "},
		{"port zero", func(s *Spec) { s.Source.Port = 0 }, "source.port: required: a TCP port from 1 to 65535"},
		{"port high", func(s *Spec) { s.Target.Port = 65536 }, "target.port: required: a TCP port"},
		{"port negative", func(s *Spec) { s.Target.Port = -1 }, "target.port: "},
		{"user", func(s *Spec) { s.Source.User = "" }, "source.user: required"},
		{"pg database", func(s *Spec) { s.Target.Database = "" }, "target.database: required for postgresql"},
		{"tls mode", func(s *Spec) { s.Source.TLS.Mode = "maybe" }, `source.tls.mode: "maybe" is not allowed`},
		{"tls ca", func(s *Spec) { s.Source.TLS.Mode = TLSVerifyCA }, "source.tls.ca: required with mode verify-ca"},
		{"tls pair", func(s *Spec) { s.Source.TLS.Cert = "c.pem" }, "source.tls: cert and key go together"},
		{"slot on mysql", func(s *Spec) { s.Source.Options.Slot = "x" }, "source.options.slot: applies only to a postgresql source"},
		{"streaming on mysql", func(s *Spec) { off := false; s.Source.Options.Streaming = &off }, "source.options.streaming: applies only to a postgresql source"},
		{"server id on target", func(s *Spec) { s.Target.Options.ServerID = 7 }, "target.options.server_id: applies only to a mysql/mariadb source"},
		{"existing tables", func(s *Spec) { s.Target.Options.ExistingTables = "merge" }, `target.options.existing_tables: "merge" is not allowed`},
		{"time zone", func(s *Spec) { s.Target.Options.TimeZone = "Mars/Olympus" }, "target.options.time_zone: "},
		{"batch rows", func(s *Spec) { s.Target.Options.BatchRows = 1 << 31 }, "target.options.batch_rows: "},
		{"sync without incremental", func(s *Spec) { s.Type = TypeSync; s.Phases = &Phases{Full: true} }, "phases.incremental: a sync job runs the incremental phase"},
		{"check with phases", func(s *Spec) { s.Type = TypeCheck; s.Phases = &Phases{Full: true} }, "phases: a check job moves no data"},
		{"no phases", func(s *Spec) { s.Phases = &Phases{} }, "phases: a migration runs at least one phase"},
		{"no objects", func(s *Spec) { s.Objects = nil }, "objects: required"},
		{"empty selection", func(s *Spec) { s.Objects[0].Value.All = false }, "objects.shop: selects no tables"},
		{"bad glob", func(s *Spec) { s.Objects[0].Key = "shop[" }, `objects."shop[": "shop[" is not a valid glob`},
		{"long target name", func(s *Spec) { s.Objects[0].Value.Name = strings.Repeat("n", 65) }, "objects.shop.name: "},
		{"blank filter", func(s *Spec) { table(s).Filter = "   " }, "objects.shop.tables.t.filter: is blank"},
		{"huge filter", func(s *Spec) { table(s).Filter = strings.Repeat("a", 1<<20) }, "objects.shop.tables.t.filter: is 1048576 bytes"},
		{"column both", func(s *Spec) {
			table(s).Columns = Map[ColumnRule]{{Key: "c", Value: ColumnRule{Name: "d", Exclude: true}}}
		}, "objects.shop.tables.t.columns.c: set either name"},
		{"column clash", func(s *Spec) {
			table(s).Columns = Map[ColumnRule]{{Key: "a", Value: ColumnRule{Name: "x"}}, {Key: "b", Value: ColumnRule{Name: "X"}}}
		}, `objects.shop.tables.t.columns.b.name: "X" is also the new name of column "a"`},
		{"add column from", func(s *Spec) { table(s).AddColumns = []AddColumn{{Name: "c", Type: "int", From: "random"}} }, `objects.shop.tables.t.add_columns[0].from: "random" is not allowed`},
		{"add column value", func(s *Spec) { table(s).AddColumns = []AddColumn{{Name: "c", Type: "int", From: FromConstant}} }, "objects.shop.tables.t.add_columns[0].value: required with from: constant"},
		{"add column type injection", func(s *Spec) {
			table(s).AddColumns = []AddColumn{{Name: "c", Type: "int); DROP TABLE x; --", From: FromTable}}
		}, "objects.shop.tables.t.add_columns[0].type: "},
		{"dml", func(s *Spec) { table(s).DML = []string{"insert", "upsert"} }, `objects.shop.tables.t.dml[1]: "upsert" is not allowed`},
		{"dml empty", func(s *Spec) { table(s).DML = []string{} }, "objects.shop.tables.t.dml: must list at least one"},
		{"dml twice", func(s *Spec) { table(s).DML = []string{"insert", "insert"} }, `objects.shop.tables.t.dml[1]: "insert" is listed twice`},
		{"ddl", func(s *Spec) { s.DDL = &[]string{"drop_database"} }, `ddl[0]: "drop_database" is not allowed`},
		{"prefix", func(s *Spec) { s.RenameRule.Prefix = "a`b" }, "rename_rule.prefix: "},
		{"start position needs incremental", func(s *Spec) { s.StartPosition = "1700000000" }, "start_position: applies only to jobs with the incremental phase"},
		{"start position with full", func(s *Spec) { s.Type = TypeSync; s.StartPosition = "1700000000" }, "start_position: applies only when phases.full is false"},
		{"start position lsn on mysql", func(s *Spec) {
			s.Type, s.Phases, s.StartPosition = TypeSync, &Phases{Incremental: true}, "lsn:0/16B3748"
		}, "start_position: lsn positions apply only to a postgresql source"},
		{"start position garbage", func(s *Spec) {
			s.Type, s.Phases, s.StartPosition = TypeSync, &Phases{Incremental: true}, "yesterday"
		}, `start_position: "yesterday" is not a start position`},
		{"parallelism", func(s *Spec) { s.Parallelism = Parallelism{Min: 4, Max: 2} }, "parallelism.max: must be at least parallelism.min (4)"},
		{"parallelism huge", func(s *Spec) { s.Parallelism = Parallelism{Min: 1, Max: 10000} }, "parallelism.max: must be from 1 to 64"},
		{"webhook", func(s *Spec) { s.Alerts.Webhooks = []string{"ftp://x"} }, `alerts.webhooks[0]: "ftp://x" is not an http(s) URL`},
		{"alerts without webhook", func(s *Spec) { s.Alerts.Error = true }, "alerts.webhooks: alerts are enabled but no webhook"},
		{"check mode", func(s *Spec) { s.Check.Full.Mode = "lines" }, `check.full.mode: "lines" is not allowed`},
		{"sample", func(s *Spec) { s.Check.Full.SamplePercent = 101 }, "check.full.sample_percent: "},
		{"direction", func(s *Spec) { s.Direction = "both" }, `direction: "both" is not allowed`},
		{"schedule", func(s *Spec) { s.Schedule.StartAt = "tomorrow" }, `schedule.start_at: "tomorrow" is not an RFC 3339 time`},
		{"self loop", func(s *Spec) { s.Target = s.Source; s.Target.Host = "localhost"; s.Source.Host = "127.0.0.1" }, "objects.shop: source and target are the same server"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := validSpec()
			c.change(s)
			got := fieldProblems(t, s.Validate())
			require.Len(t, got, 1, "%q", got)
			require.True(t, strings.HasPrefix(got[0], c.want), "got %q, want prefix %q", got[0], c.want)
		})
	}
}

func TestValidateListsAllProblemsAtOnce(t *testing.T) {
	t.Parallel()
	s := &Spec{Source: Endpoint{Engine: EngineMySQL}}
	got := fieldProblems(t, s.Validate())
	require.GreaterOrEqual(t, len(got), 9, "%q", got)
	joined := strings.Join(got, "\n")
	for _, p := range []string{"name:", "type:", "source.host:", "source.port:", "source.user:", "target.engine:", "target.host:", "objects:"} {
		require.Contains(t, joined, p)
	}
}

func TestNormalizeIsExplicitAndKeepsUserValues(t *testing.T) {
	t.Parallel()
	s := validSpec()
	s.Type = TypeSync
	table(s)
	s.Normalize()
	require.Equal(t, Phases{Structure: true, Full: true, Incremental: true}, *s.Phases)
	require.Equal(t, DefaultDDL, *s.DDL)
	require.Equal(t, Parallelism{Min: 1, Max: 4}, s.Parallelism)
	require.Equal(t, []string{DMLInsert, DMLUpdate, DMLDelete}, table(s).DML)
	require.NoError(t, s.Validate())

	s = validSpec()
	s.DDL = &[]string{}
	s.Parallelism.Min = 8
	s.Normalize()
	require.Empty(t, *s.DDL, "an explicit empty ddl list carries no DDL")
	require.Equal(t, Parallelism{Min: 8, Max: 8}, s.Parallelism)
}

func TestParseStartPosition(t *testing.T) {
	t.Parallel()
	p, err := ParseStartPosition("binlog:mysql-bin.000042:1234")
	require.NoError(t, err)
	require.Equal(t, StartPosition{Kind: PositionBinlog, File: "mysql-bin.000042", Pos: 1234}, p)
	p, err = ParseStartPosition("2026-01-02T03:04:05+01:00")
	require.NoError(t, err)
	require.Equal(t, "2026-01-02T02:04:05Z", p.Time.Format("2006-01-02T15:04:05Z07:00"))
	p, err = ParseStartPosition("1700000000")
	require.NoError(t, err)
	require.Equal(t, int64(1700000000), p.Time.Unix())
	p, err = ParseStartPosition("gtid:0-1-42,1-2-7")
	require.NoError(t, err)
	require.Equal(t, "0-1-42,1-2-7", p.GTID)
	p, err = ParseStartPosition("lsn:16/b374d848")
	require.NoError(t, err)
	require.Equal(t, "16/B374D848", p.LSN)
	for _, bad := range []string{"binlog:x", "binlog:f:2", "lsn:1", "gtid:", "gtid:1;drop", "-5", "99999999999999"} {
		_, err := ParseStartPosition(bad)
		require.Error(t, err, bad)
	}
}

// table returns the rule of table t in the first database of s, adding it.
func table(s *Spec) *TableRule {
	db := &s.Objects[0].Value
	if len(db.Tables) == 0 {
		db.Tables = Map[TableRule]{{Key: "t"}}
	}
	return &db.Tables[0].Value
}
