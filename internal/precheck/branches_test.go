package precheck_test

import (
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/precheck"
	"github.com/dtsorg/dts/internal/testenv"
)

// TestEmptySelection: a database entry that selects no table fails (a job
// that copies nothing is a mistake); a table to select passes.
func TestEmptySelection(t *testing.T) {
	t.Parallel()
	src := newSide(t, testenv.MariaDB(t))
	s := spec(src, newSide(t, testenv.Postgres(t)), job.TypeMigration)
	it := requireItem(t, items(t, s), "objects.selection", precheck.Failed)
	require.Contains(t, it.Message, "selects no table of the source")

	src.exec(t, "CREATE TABLE t (id INT PRIMARY KEY)")
	requireItem(t, items(t, s), "objects.selection", precheck.Passed)
}

// TestTargetTimeZone: a MariaDB target without time zone tables does not
// know a named options.time_zone; loading the zone (the printed command,
// for that one zone) makes it known.
func TestTargetTimeZone(t *testing.T) {
	t.Parallel()
	target := testenv.StartMariaDB(t, testenv.MariaDBOptions{})
	src := newSide(t, testenv.Postgres(t))
	src.exec(t, "CREATE TABLE t (id INT PRIMARY KEY)")
	s := spec(src, newSide(t, target), job.TypeMigration)
	s.Target.Options.TimeZone = "Europe/Berlin"
	it := requireItem(t, items(t, s), "target.time_zone", precheck.Failed)
	require.Contains(t, it.Fix, "mariadb-tzinfo-to-sql /usr/share/zoneinfo | mariadb mysql")

	load := exec.Command("sh", "-c", "mariadb-tzinfo-to-sql /usr/share/zoneinfo/Europe/Berlin Europe/Berlin | "+
		"mariadb --no-defaults -h 127.0.0.1 -P "+strconv.Itoa(target.Port)+" -u root mysql")
	out, err := load.CombinedOutput()
	require.NoError(t, err, "%s", out)
	requireItem(t, items(t, s), "target.time_zone", precheck.Passed)
}

// TestCaseFoldedNames: on a MariaDB target with lower_case_table_names=1,
// source tables (or target names given in the job) that differ only in
// case become one table; distinct target names fix it.
func TestCaseFoldedNames(t *testing.T) {
	t.Parallel()
	target := testenv.StartMariaDB(t, testenv.MariaDBOptions{Args: []string{"--lower-case-table-names=1"}})
	src := newSide(t, testenv.Postgres(t))
	src.exec(t, `CREATE TABLE "Orders" (id INT PRIMARY KEY)`, `CREATE TABLE orders (id INT PRIMARY KEY)`,
		`CREATE TABLE a (id INT PRIMARY KEY)`, `CREATE TABLE b (id INT PRIMARY KEY)`)
	dst := newSide(t, target)
	s := spec(src, dst, job.TypeMigration)
	it := requireItem(t, items(t, s), "target.name_conflicts", precheck.Failed)
	require.Contains(t, it.Message, `tables "`+dst.schema+`.Orders", "`+dst.schema+`.orders" become one table`)
	require.Contains(t, it.Message, "lower_case_table_names")

	// A clash the job's renames make: a → Sales, b → SALES.
	s.Objects[0].Value.Tables = job.Map[job.TableRule]{{Key: "Orders", Value: job.TableRule{Name: "orders_upper"}},
		{Key: "a", Value: job.TableRule{Name: "Sales"}}, {Key: "b", Value: job.TableRule{Name: "SALES"}}}
	it = requireItem(t, items(t, s), "target.name_conflicts", precheck.Failed)
	require.Contains(t, it.Message, `tables "`+dst.schema+`.Sales", "`+dst.schema+`.SALES" become one table`)
	require.NotContains(t, it.Message, "Orders")

	s.Objects[0].Value.Tables[2].Value.Name = "sales_b"
	requireItem(t, items(t, s), "target.name_conflicts", precheck.Passed)
}

// TestUnholdableTypes: PostgreSQL columns MySQL cannot hold (a composite
// type) fail, and columns whose values may not fit (unconstrained numeric)
// warn with the range; changing the columns' types on the source passes.
func TestUnholdableTypes(t *testing.T) {
	t.Parallel()
	src := newSide(t, testenv.Postgres(t))
	src.exec(t, "CREATE TYPE pair AS (a int, b int)", "CREATE TABLE t (id INT PRIMARY KEY, p pair, n numeric)")
	s := spec(src, newSide(t, testenv.MariaDB(t)), job.TypeMigration)
	it := requireItem(t, items(t, s), "objects.types", precheck.Failed)
	require.Contains(t, it.Message, "app.t.p (")
	require.Contains(t, it.Message, "MySQL has no type that holds")
	require.Contains(t, it.Details["warnings"], "app.t.n (numeric): unconstrained numeric becomes DECIMAL(65,30): values with more than 35 integer or 30 fraction digits, NaN and ±Infinity fail loudly")

	src.exec(t, "ALTER TABLE t ALTER COLUMN p TYPE text")
	it = requireItem(t, items(t, s), "objects.types", precheck.Warning)
	require.Contains(t, it.Message, "app.t.n (numeric)")
	src.exec(t, "ALTER TABLE t ALTER COLUMN n TYPE numeric(20,4)")
	requireItem(t, items(t, s), "objects.types", precheck.Passed)
}

// TestClockSkew: a source whose clock runs ten minutes ahead warns (delays
// and time-based start positions are measured with it); with its clock
// synchronised (the server restarted without the offset) it passes.
func TestClockSkew(t *testing.T) {
	t.Parallel()
	srv := testenv.StartMariaDB(t, testenv.MariaDBOptions{ClockOffset: 10 * time.Minute})
	src := newSide(t, srv)
	src.exec(t, "CREATE TABLE t (id INT PRIMARY KEY)")
	s := spec(src, newSide(t, testenv.Postgres(t)), job.TypeMigration)
	it := requireItem(t, items(t, s), "source.time_zone", precheck.Warning)
	require.Regexp(t, `^the server's clock is 10m0(\.\d)?s ahead of dts's clock$`, it.Message)
	require.Contains(t, it.Fix, "NTP")

	srv.RestartMariaDB(t, testenv.MariaDBOptions{})
	requireItem(t, items(t, s), "source.time_zone", precheck.Passed)
}
