package compare_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/compare"
	"github.com/dtsorg/dts/internal/connector/engines"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/logging"
	"github.com/dtsorg/dts/internal/runner"
	"github.com/dtsorg/dts/internal/testenv"
)

// side is one end of a test job: a server and a database/schema on it.
type side struct {
	srv      *testenv.Server
	database string // MySQL: the database; PostgreSQL: the database holding the schema
	schema   string // MySQL: same as database; PostgreSQL: the schema
}

func (s side) mysql() bool { return s.srv.Engine.IsMySQL() }

func newSide(t *testing.T, srv *testenv.Server) side {
	db := srv.NewDatabase(t)
	if srv.Engine.IsMySQL() {
		return side{srv, db, db}
	}
	srv.Exec(t, db, `CREATE SCHEMA app`)
	return side{srv, db, "app"}
}

// exec runs statements in the side's schema.
func (s side) exec(t *testing.T, stmts ...string) {
	t.Helper()
	if !s.mysql() {
		s.srv.Exec(t, s.database, "SET search_path = "+s.schema+";\n"+strings.Join(stmts, ";\n"))
		return
	}
	s.srv.Exec(t, s.database, stmts...)
}

func (s side) endpoint() job.Endpoint {
	if s.mysql() {
		return s.srv.Endpoint("")
	}
	return s.srv.Endpoint(s.database)
}

// quote quotes an identifier for the side's engine.
func (s side) quote(name string) string {
	if s.mysql() {
		return "`" + strings.ReplaceAll(name, "`", "``") + "`"
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`
}

var directions = []struct {
	name     string
	src, dst func(t testing.TB) *testenv.Server
}{
	{"mariadb_to_mariadb", testenv.MariaDB, testenv.MariaDB},
	{"mariadb_to_postgresql", testenv.MariaDB, testenv.Postgres},
	{"postgresql_to_postgresql", testenv.Postgres, testenv.Postgres},
	{"postgresql_to_mariadb", testenv.Postgres, testenv.MariaDB},
}

// migrated copies the type matrix fixtures from a fresh source to a fresh
// target with a full load and returns the job and both ends.
func migrated(t *testing.T, srcSrv, dstSrv *testenv.Server) (*job.Spec, side, side) {
	t.Helper()
	src, dst := newSide(t, srcSrv), newSide(t, dstSrv)
	// Job names and ids are unique per test database: dts_meta on a shared
	// MariaDB server outlives the test.
	name := dst.database[max(0, len(dst.database)-63):]
	same := src.srv.Engine == dst.srv.Engine
	if src.mysql() {
		src.exec(t, compare.MySQLFixtures(same)...)
	} else {
		src.exec(t, compare.PGFixtures(same)...)
	}
	target := dst.schema
	if !dst.mysql() {
		target = "copy"
	}
	spec := &job.Spec{
		Name: name, Type: job.TypeMigration, Source: src.endpoint(), Target: dst.endpoint(),
		Objects:     job.Objects{{Key: src.schema, Value: job.DatabaseRule{All: true, Name: target}}},
		Parallelism: job.Parallelism{Min: 1, Max: 3},
	}
	spec.Normalize()
	require.NoError(t, spec.Validate())
	r := runner.New(engines.Engines{}, logging.Discard())
	r.ChunkRows = 500
	require.NoError(t, r.Run(context.Background(), "job-"+dst.database, spec, runner.NewProgress()))
	return spec, src, side{dst.srv, dst.database, target}
}

// testOptions make every mechanism run on the small fixtures: several
// chunks per table, bisection, quick re-checks.
func testOptions(typ string) compare.Options {
	return compare.Options{Type: typ, Workers: 3, ChunkRows: 400, LeafRows: 16, RecheckDelay: 5 * time.Millisecond, Rechecks: 1}
}

func runCompare(t *testing.T, spec *job.Spec, opts compare.Options, j compare.Journal) *compare.Result {
	t.Helper()
	c := &compare.Compare{Spec: spec, Options: opts, Journal: j, Engines: engines.Engines{}, Log: logging.Discard()}
	res, err := c.Run(context.Background())
	require.NoError(t, err)
	return res
}

func tableReport(t *testing.T, r *compare.Report, name string) compare.TableReport {
	t.Helper()
	for _, tr := range r.Tables {
		if strings.HasSuffix(tr.Table, "."+name) {
			return tr
		}
	}
	t.Fatalf("no table %s in the report", name)
	return compare.TableReport{}
}

// requireEqual fails with the report's differences.
func requireEqual(t *testing.T, r *compare.Report) {
	t.Helper()
	for _, tr := range r.Tables {
		require.Equal(t, compare.StatusEqual, tr.Status, "table %s: %s; objects %+v; rows %s", tr.Table, tr.Reason, tr.Objects, showRows(tr.Rows))
	}
	require.Equal(t, compare.StatusEqual, r.Status)
}

// showRows prints row differences for failure messages.
func showRows(rows []compare.RowDiff) string {
	val := func(p *string) string {
		if p == nil {
			return "NULL"
		}
		return fmt.Sprintf("%q", *p)
	}
	var b strings.Builder
	for _, r := range rows {
		b.WriteString("\n  " + r.Kind)
		for _, k := range r.Key {
			b.WriteString(" " + k.Column + "=" + val(k.Value))
		}
		for _, c := range r.Columns {
			b.WriteString(" [" + c.Column + ": " + val(c.Source) + " vs " + val(c.Target) + "]")
		}
	}
	return b.String()
}
