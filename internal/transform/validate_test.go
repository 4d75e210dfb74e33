package transform

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
)

// hostileFilters is the bad-input corpus of RELIABILITY.md ("Filter
// strings") that needs no table to refuse: each must be rejected by job
// validation, at the filter's field, with a message naming the offending
// part. engines limits a string to the dialects whose message it names
// (the other dialect refuses it too, for another reason).
var hostileFilters = []struct {
	src, want string
	engines   []job.Engine // nil: every source engine
}{
	{"1=1; DROP TABLE t", "';' ends the statement", nil},
	{"id > 0 UNION SELECT password FROM mysql.user", "UNION is not allowed", nil},
	{"id = 1 -- ", "comments are not allowed ('--')", nil},
	{"id = 1 /* */ OR 1=1", "comments are not allowed ('/*')", nil},
	{"/*!50000 SLEEP(10) */", "versioned comments", nil},
	{"SLEEP(10)", "function SLEEP is not allowed", nil},
	{"BENCHMARK(1e9, MD5(1))", "function BENCHMARK is not allowed", nil},
	{"pg_sleep(10)", "function PG_SLEEP is not allowed", nil},
	{"(SELECT 1 FROM pg_read_file('/etc/passwd'))", "subqueries are not allowed", nil},
	{"LOAD_FILE('/etc/passwd')", "function LOAD_FILE is not allowed", nil},
	{"id = 1 INTO OUTFILE '/tmp/x'", "INTO is not allowed", nil},
	{"@@version", "variables are not allowed (@@version)", nil},
	{`\' OR 1=1 --`, "a backslash outside a string", nil},
	{`name = '\' OR 1=1 --`, "a string is not closed", []job.Engine{job.EngineMySQL, job.EngineMariaDB}},
	{`name = '\' OR 1=1 --'`, "comments are not allowed", []job.Engine{job.EnginePostgreSQL}},
	{`"id" = 1`, "double quotes mean a string or a name", []job.Engine{job.EngineMySQL, job.EngineMariaDB}},
	{"\u2018x\u2019 = name", "U+2018): it looks like a quote but is not one", nil},
	{"name = \u201cx\u201d", "U+201C): it looks like a quote", nil},
	{strings.Repeat("(", 1000) + "id = 1" + strings.Repeat(")", 1000), "nested more than 64 levels", nil},
	{"NOW() > created_at", "function NOW is not allowed in a filter: it is not deterministic", nil},
	{"RAND() < 0.5", "function RAND is not allowed in a filter: it is not deterministic", nil},
	{"id::text = '1'", "casts ('::') are not allowed", nil},
}

// Every hostile filter is refused when the job is validated (dts job
// validate, the API), naming the field and the offending part, before any
// database is contacted; a good filter passes.
func TestValidateRefusesHostileFilters(t *testing.T) {
	t.Parallel()
	for _, engine := range []job.Engine{job.EngineMariaDB, job.EngineMySQL, job.EnginePostgreSQL} {
		for _, c := range hostileFilters {
			if c.engines != nil && !containsEngine(c.engines, engine) {
				continue
			}
			s := validSpec()
			s.Source.Engine = engine
			if engine == job.EnginePostgreSQL {
				s.Source.Database = "shop"
			}
			s.Objects[0].Value.Tables = job.Map[job.TableRule]{{Key: "customers", Value: job.TableRule{Filter: c.src}}}
			err := ValidateSpec(s)
			e, ok := errs.As(err)
			require.True(t, ok, "%s %q: %v", engine, clip40(c.src), err)
			require.Equal(t, errs.InvalidParameter, e.Code)
			require.Len(t, e.Fields, 1, "%s %q: %v", engine, clip40(c.src), err)
			require.Equal(t, "objects.shop.tables.customers.filter", e.Fields[0].Path)
			require.Contains(t, e.Fields[0].Message, c.want, "%s %q", engine, clip40(c.src))
		}
		s := validSpec()
		s.Source.Engine = engine
		if engine == job.EnginePostgreSQL {
			s.Source.Database = "shop"
		}
		s.Objects[0].Value.Tables = job.Map[job.TableRule]{{Key: "customers", Value: job.TableRule{Filter: "country = 'DE' AND id > 100"}}}
		require.NoError(t, ValidateSpec(s), engine)
	}
}

func TestValidateChecksAddedColumnTypesInTheTargetDialect(t *testing.T) {
	t.Parallel()
	s := validSpec() // a PostgreSQL target
	s.Objects[0].Value.Tables = job.Map[job.TableRule]{{Key: "customers", Value: job.TableRule{AddColumns: []job.AddColumn{
		{Name: "a", Type: "datetime", From: job.FromCommitTime},
		{Name: "b", Type: "timestamptz", From: job.FromCommitTime},
	}}}}
	err := ValidateSpec(s)
	require.ErrorContains(t, err, `objects.shop.tables.customers.add_columns[0].type: "datetime" is not a PostgreSQL type`)
	e, _ := errs.As(err)
	require.Len(t, e.Fields, 1)
}

func containsEngine(list []job.Engine, e job.Engine) bool {
	for _, x := range list {
		if x == e {
			return true
		}
	}
	return false
}

func clip40(s string) string { return s[:min(len(s), 40)] }

// validSpec returns a small valid migration spec tests change one field of.
func validSpec() *job.Spec {
	return &job.Spec{
		Name:    "m1",
		Type:    job.TypeMigration,
		Source:  job.Endpoint{Engine: job.EngineMariaDB, Host: "10.0.0.1", Port: 3306, User: "dts"},
		Target:  job.Endpoint{Engine: job.EnginePostgreSQL, Host: "10.0.0.2", Port: 5432, User: "dts", Database: "wh"},
		Objects: job.Objects{{Key: "shop", Value: job.DatabaseRule{All: true}}},
	}
}
