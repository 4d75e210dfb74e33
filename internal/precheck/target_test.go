package precheck_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/precheck"
	"github.com/dtsorg/dts/internal/testenv"
)

// TestConnection: a wrong password fails with the connector's code and fix,
// and everything that needs the server says it was not checked.
func TestConnection(t *testing.T) {
	t.Parallel()
	src := newSide(t, testenv.MariaDB(t))
	src.exec(t, "CREATE TABLE t (id INT PRIMARY KEY)")
	dst := newSide(t, testenv.Postgres(t))
	s := spec(src, dst, job.TypeMigration)
	s.Target.Password = "wrong"
	s.Source.Port = 1

	got := items(t, s)
	it := requireItem(t, got, "target.connection", precheck.Failed)
	require.Contains(t, it.Message, "Connection.AuthFailed")
	it = requireItem(t, got, "source.connection", precheck.Failed)
	require.Contains(t, it.Message, "Connection.Refused")
	it = requireItem(t, got, "target.version", precheck.Failed)
	require.Contains(t, it.Message, "not checked")

	s.Target.Password, s.Source.Port = job.Secret(testenv.Password), src.srv.Port
	got = items(t, s)
	for _, id := range []string{"source.connection", "target.connection", "source.version", "target.version"} {
		requireItem(t, got, id, precheck.Passed)
	}
}

// TestTimeZone: a zone name the server does not know fails (MariaDB without
// time zone tables); an offset works. (PostgreSQL knows every name dts's
// job validation accepts when both use the system's tz database.)
func TestTimeZone(t *testing.T) {
	t.Parallel()
	src := newSide(t, testenv.MariaDB(t))
	src.exec(t, "CREATE TABLE t (id INT PRIMARY KEY)")
	dst := newSide(t, testenv.Postgres(t))
	s := spec(src, dst, job.TypeMigration)
	s.Source.Options.TimeZone = "Europe/Berlin"
	s.Target.Options.TimeZone = "Europe/Berlin"
	got := items(t, s)
	it := requireItem(t, got, "source.time_zone", precheck.Failed)
	require.Contains(t, it.Fix, "+01:00")
	requireItem(t, got, "target.time_zone", precheck.Passed) // PostgreSQL knows its zones

	s.Source.Options.TimeZone = "+01:00"
	requireItem(t, items(t, s), "source.time_zone", precheck.Passed)
}

// TestExistingTables: an existing target table with rows fails under
// existing_tables: fail, warns under append, and passes once dropped; on
// both engines.
func TestExistingTables(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		src, dst *testenv.Server
	}{
		{"postgresql", testenv.MariaDB(t), testenv.Postgres(t)},
		{"mariadb", testenv.Postgres(t), testenv.MariaDB(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := newSide(t, tc.src)
			src.exec(t, "CREATE TABLE t (id INT PRIMARY KEY)", "CREATE TABLE u (id INT PRIMARY KEY)", "CREATE TABLE w (id INT PRIMARY KEY)")
			dst := newSide(t, tc.dst)
			dst.exec(t, "CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1)", "CREATE VIEW u AS SELECT 1 AS id",
				"CREATE TABLE w (id INT PRIMARY KEY)")
			s := spec(src, dst, job.TypeMigration)

			got := items(t, s)
			it := requireItem(t, got, "target.existing_tables", precheck.Failed)
			require.Contains(t, it.Message, "target tables that already exist (2, 1 with rows): "+dst.table("t")+", "+dst.table("w"))
			it = requireItem(t, got, "target.name_conflicts", precheck.Failed)
			require.Contains(t, it.Message, dst.table("u")+" is the name of an existing view")

			s.Target.Options.ExistingTables = job.ExistingAppend
			it = requireItem(t, items(t, s), "target.existing_tables", precheck.Warning)
			require.Contains(t, it.Message, "rows that are kept (1): "+dst.table("t")+";")

			dst.exec(t, "DROP TABLE t", "DROP VIEW u", "DROP TABLE w")
			got = items(t, s)
			requireItem(t, got, "target.existing_tables", precheck.Passed)
			requireItem(t, got, "target.name_conflicts", precheck.Passed)

			// Without the structure phase the tables must be there.
			s.Phases = &job.Phases{Full: true}
			it = requireItem(t, items(t, s), "target.existing_tables", precheck.Failed)
			require.Contains(t, it.Message, "do not exist")
		})
	}
}

// TestBookkeeping: the target's dts_meta holding another job of the same
// name stops the job; removing that job's rows frees the name.
func TestBookkeeping(t *testing.T) {
	t.Parallel()
	src := newSide(t, testenv.Postgres(t))
	src.exec(t, "CREATE TABLE t (id INT PRIMARY KEY)")
	dst := newSide(t, testenv.Postgres(t))
	s := spec(src, dst, job.TypeMigration)
	dst.exec(t, "CREATE SCHEMA dts_meta", "CREATE TABLE dts_meta.jobs (job_id TEXT PRIMARY KEY, job_name TEXT UNIQUE)",
		fmt.Sprintf("INSERT INTO dts_meta.jobs VALUES ('job-other', '%s')", s.Name))
	it := requireItem(t, items(t, s), "target.bookkeeping", precheck.Failed)
	require.Contains(t, it.Message, "job-other")

	dst.exec(t, "UPDATE dts_meta.jobs SET job_id = 'job-"+s.Name+"'")
	it = requireItem(t, items(t, s), "target.bookkeeping", precheck.Passed)
	require.Contains(t, it.Message, "resumes")
}

// TestTargetPrivileges: a target user holding nothing fails with the GRANTs
// it needs, on both engines; running them passes.
func TestTargetPrivileges(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		src, dst *testenv.Server
	}{
		{"mariadb", testenv.Postgres(t), testenv.MariaDB(t)},
		{"postgresql", testenv.MariaDB(t), testenv.Postgres(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := newSide(t, tc.src)
			src.exec(t, "CREATE TABLE t (id INT PRIMARY KEY)")
			dst := newSide(t, tc.dst).withUser(t)
			s := spec(src, dst, job.TypeSync)
			it := requireItem(t, items(t, s), "target.privileges", precheck.Failed)
			applyFix(t, dst, it)
			requireItem(t, items(t, s), "target.privileges", precheck.Passed)
		})
	}
}

// TestMaxAllowedPacket: rows larger than the MySQL target's
// max_allowed_packet fail (measured on a PostgreSQL source; bounded by the
// source's own setting on a MySQL one); raising it (the printed SQL) passes.
func TestMaxAllowedPacket(t *testing.T) {
	t.Parallel()
	target := testenv.StartMariaDB(t, testenv.MariaDBOptions{Args: []string{"--max-allowed-packet=1M"}})
	dst := newSide(t, target)

	pgSrc := newSide(t, testenv.Postgres(t))
	pgSrc.exec(t, "CREATE TABLE big (id INT PRIMARY KEY, body TEXT)", "CREATE TABLE small (id INT PRIMARY KEY, v VARCHAR(10))",
		"INSERT INTO big VALUES (1, repeat('x', 2000000))")
	s := spec(pgSrc, dst, job.TypeMigration)
	it := requireItem(t, items(t, s), "target.max_allowed_packet", precheck.Failed)
	require.Contains(t, it.Message, "app.big (2000")
	require.NotContains(t, it.Message, "small")

	mySrc := newSide(t, testenv.MariaDB(t)) // 64M
	mySrc.exec(t, "CREATE TABLE big (id INT PRIMARY KEY, body LONGTEXT)")
	it = requireItem(t, items(t, spec(mySrc, dst, job.TypeMigration)), "target.max_allowed_packet", precheck.Warning)
	require.Contains(t, it.Message, "smaller than the source's")

	applyFix(t, dst, it)
	requireItem(t, items(t, s), "target.max_allowed_packet", precheck.Passed)
	requireItem(t, items(t, spec(mySrc, dst, job.TypeMigration)), "target.max_allowed_packet", precheck.Passed)
}

// TestDiskSpace: PostgreSQL shows no free space through SQL: the item
// passes with the estimate. A MariaDB target with the DISKS plugin shows
// it: a data directory on a disk smaller than the source's tables fails,
// and passes once the disk has grown as the printed fix says.
func TestDiskSpace(t *testing.T) {
	t.Parallel()
	src := newSide(t, testenv.Postgres(t))
	src.exec(t, "CREATE TABLE t (id INT PRIMARY KEY, v TEXT)",
		"INSERT INTO t SELECT g, repeat('x', 1000) FROM generate_series(1, 48000) g") // ~50 MB, stored uncompressed
	pg := newSide(t, testenv.Postgres(t))
	it := requireItem(t, items(t, spec(src, pg, job.TypeMigration)), "target.disk_space", precheck.Passed)
	require.Contains(t, it.Message, "not readable")
	need := it.Details["source_bytes"].(int64)
	require.Greater(t, need, int64(48_000_000))

	// The template's data directory takes about 70 MB; 112 MB leaves less
	// than the source's tables need.
	target := testenv.StartMariaDB(t, testenv.MariaDBOptions{DataDisk: 112 << 20})
	target.Exec(t, "", "INSTALL SONAME 'disks'")
	s := spec(src, newSide(t, target), job.TypeMigration)
	it = requireItem(t, items(t, s), "target.disk_space", precheck.Failed)
	require.Less(t, it.Details["target_free_bytes"], need)
	require.Contains(t, it.Fix, "free or add at least")
	target.ResizeDataDisk(t, 1<<30)
	it = requireItem(t, items(t, s), "target.disk_space", precheck.Passed)
	require.True(t, strings.HasPrefix(it.Message, "the target has "), it.Message)
}

// TestSharedServersPass: the harness's servers are set up for dts: every
// item of a sync job between them passes, in both directions.
func TestSharedServersPass(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		src, dst *testenv.Server
	}{
		{"mariadb-to-postgresql", testenv.MariaDB(t), testenv.Postgres(t)},
		{"postgresql-to-mariadb", testenv.Postgres(t), testenv.MariaDB(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src, dst := newSide(t, tc.src), newSide(t, tc.dst)
			src.exec(t, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))")
			got := items(t, spec(src, dst, job.TypeSync))
			require.Equal(t, len(precheck.Applicable(spec(src, dst, job.TypeSync))), len(got))
			for id := range got {
				requireItem(t, got, id, precheck.Passed)
			}
		})
	}
}
