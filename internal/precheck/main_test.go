package precheck_test

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector/engines"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/precheck"
	"github.com/dtsorg/dts/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// side is one end of a test job: a server and a database/schema on it.
type side struct {
	srv      *testenv.Server
	database string // MySQL: the database; PostgreSQL: the database holding the schema
	schema   string // MySQL: same as database; PostgreSQL: the schema
	user     string // "" for the harness superuser
	password string
}

func (s side) mysql() bool { return s.srv.Engine.IsMySQL() }

// newSide makes a fresh database (and on PostgreSQL the schema app) for one end of a job.
func newSide(t testing.TB, srv *testenv.Server) side {
	t.Helper()
	db := srv.NewDatabase(t)
	if srv.Engine.IsMySQL() {
		return side{srv: srv, database: db, schema: db}
	}
	srv.Exec(t, db, `CREATE SCHEMA app`)
	return side{srv: srv, database: db, schema: "app"}
}

// exec runs statements in the side's schema as the superuser.
func (s side) exec(t testing.TB, stmts ...string) {
	t.Helper()
	if !s.mysql() {
		stmts = append([]string{"SET search_path = " + s.schema}, stmts...)
	}
	s.srv.Exec(t, s.database, stmts...)
}

func (s side) endpoint() job.Endpoint {
	e := s.srv.Endpoint(s.database)
	if s.mysql() {
		e = s.srv.Endpoint("")
	}
	if s.user != "" {
		e.User, e.Password = s.user, job.Secret(s.password)
	}
	return e
}

var userSeq atomic.Int64

// withUser returns the side logging in as a new user holding no
// privileges; the user is dropped when the test ends.
func (s side) withUser(t *testing.T) side {
	t.Helper()
	name := fmt.Sprintf("u%d_%d", time.Now().UnixNano()%1e6, userSeq.Add(1))
	s.user, s.password = name, "pw-"+name
	if s.mysql() {
		s.srv.Exec(t, "", fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY '%s'", name, s.password))
		t.Cleanup(func() { s.srv.Exec(t, "", fmt.Sprintf("DROP USER IF EXISTS '%s'@'%%'", name)) })
		return s
	}
	s.srv.Exec(t, "", fmt.Sprintf(`CREATE ROLE %s LOGIN PASSWORD '%s'`, name, s.password))
	t.Cleanup(func() {
		s.srv.Exec(t, s.database, "DROP OWNED BY "+name)
		s.srv.Exec(t, "", "DROP ROLE "+name)
	})
	return s
}

// table is a table the job selects: schema.table on the side.
func (s side) table(name string) string { return s.schema + "." + name }

// spec is a job moving src's schema to dst's.
func spec(src, dst side, typ job.Type) *job.Spec {
	s := &job.Spec{
		Name: "pc-" + strings.ReplaceAll(src.database, "_", "-"), Type: typ,
		Source: src.endpoint(), Target: dst.endpoint(),
		Objects: job.Objects{{Key: src.schema, Value: job.DatabaseRule{All: true, Name: dst.schema}}},
	}
	if len(s.Name) > 63 {
		s.Name = s.Name[:63]
	}
	s.Normalize()
	return s
}

// items runs the precheck and returns its items by id.
func items(t testing.TB, s *job.Spec) map[string]precheck.Item {
	t.Helper()
	require.NoError(t, s.Validate())
	rep := precheck.Run(t.Context(), s, precheck.Options{JobID: "job-" + s.Name, Engines: engines.Engines{}})
	out := map[string]precheck.Item{}
	for _, it := range rep.Items {
		out[it.ID] = it
	}
	return out
}

// requireItem checks an item's status and returns it.
func requireItem(t *testing.T, got map[string]precheck.Item, id, status string) precheck.Item {
	t.Helper()
	it, ok := got[id]
	require.True(t, ok, "no item %s", id)
	require.Equal(t, status, it.Status, "%s: %s\nfix: %s\nsql: %v\ndetails: %v", id, it.Message, it.Fix, it.FixSQL, it.Details)
	if status != precheck.Passed {
		require.NotEmpty(t, it.Fix, "%s says what to fix", id)
	}
	return it
}

// applyFix runs the item's fix SQL on the side's server as the superuser.
func applyFix(t *testing.T, s side, it precheck.Item) {
	t.Helper()
	require.NotEmpty(t, it.FixSQL, "%s has SQL to run", it.ID)
	db := s.database
	if s.mysql() {
		db = ""
	}
	s.srv.Exec(t, db, it.FixSQL...)
}

// dump prints every item, for debugging.
func dump(t *testing.T, got map[string]precheck.Item) {
	for _, id := range precheck.IDs() {
		if it, ok := got[id]; ok {
			t.Logf("%-8s %-30s %s | fix: %s %v", it.Status, it.ID, it.Message, it.Fix, it.FixSQL)
		}
	}
}
