package precheck_test

import (
	"database/sql"
	"fmt"
	"log/slog"
	"testing"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/precheck"
	"github.com/dtsorg/dts/internal/testenv"
)

// TestBinlogSettings: a MariaDB source configured against incremental sync
// fails its binlog items; running the SQL they print makes them pass.
func TestBinlogSettings(t *testing.T) {
	t.Parallel()
	srv := testenv.StartMariaDB(t, testenv.MariaDBOptions{BinlogRowMetadata: "NO_LOG", Args: []string{
		"--binlog-format=STATEMENT", "--binlog-row-image=MINIMAL", "--gtid-strict-mode=OFF",
		"--binlog-expire-logs-seconds=600",
	}})
	src := newSide(t, srv)
	src.exec(t, "CREATE TABLE keyed (id INT PRIMARY KEY, v TEXT)", "CREATE TABLE keyless (v INT)")
	dst := newSide(t, testenv.Postgres(t))
	s := spec(src, dst, job.TypeSync)

	got := items(t, s)
	for id, status := range map[string]string{
		"source.binlog.enabled":      precheck.Passed,
		"source.binlog.format":       precheck.Failed,
		"source.binlog.row_image":    precheck.Failed,
		"source.binlog.row_metadata": precheck.Warning,
		"source.binlog.retention":    precheck.Failed,
		"source.gtid":                precheck.Warning,
		"objects.primary_keys":       precheck.Failed,
		"source.binlog.filters":      precheck.Passed,
		"source.server_id":           precheck.Passed,
	} {
		requireItem(t, got, id, status)
	}
	require.Contains(t, got["objects.primary_keys"].Message, src.table("keyless"))
	for _, id := range []string{"source.binlog.format", "source.binlog.row_image", "source.binlog.row_metadata",
		"source.binlog.retention", "source.gtid"} {
		applyFix(t, src, got[id])
	}
	got = items(t, s)
	for _, id := range []string{"source.binlog.format", "source.binlog.row_image", "source.binlog.row_metadata",
		"source.binlog.retention", "source.gtid"} {
		requireItem(t, got, id, precheck.Passed)
	}
	// With full row images a keyless table is safe, but slower.
	requireItem(t, got, "objects.primary_keys", precheck.Warning)

	// The job's own replica id must differ from the source's and its replicas'.
	var own uint32
	require.NoError(t, srv.DB(t, "").QueryRowContext(t.Context(), "SELECT @@server_id").Scan(&own))
	s.Source.Options.ServerID = own
	it := requireItem(t, items(t, s), "source.server_id", precheck.Failed)
	require.Contains(t, it.Message, "source's own server_id")
	s.Source.Options.ServerID = own + 4242
	it = requireItem(t, items(t, s), "source.server_id", precheck.Passed)
	require.Contains(t, it.Message, fmt.Sprintf("%d is unique", own+4242))

	// A replica connected with that id: the source would disconnect one of them.
	replica := connectReplica(t, srv, own+4242)
	it = requireItem(t, items(t, s), "source.server_id", precheck.Failed)
	require.Contains(t, it.Message, "a replica connected to the source")
	replica.Close()
	requireItem(t, items(t, s), "source.server_id", precheck.Passed)
}

// connectReplica registers a binlog reader with server id id, as a replica does.
func connectReplica(t *testing.T, srv *testenv.Server, id uint32) *replication.BinlogSyncer {
	t.Helper()
	var file string
	var pos uint32
	var ignore sql.NullString
	row := srv.DB(t, "").QueryRowContext(t.Context(), "SHOW MASTER STATUS")
	require.NoError(t, row.Scan(&file, &pos, &ignore, &ignore))
	syncer := replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
		ServerID: id, Flavor: "mariadb", Host: srv.Host, Port: uint16(srv.Port), User: srv.User, Password: srv.Password,
		Logger: slog.New(slog.DiscardHandler),
	})
	t.Cleanup(syncer.Close)
	_, err := syncer.StartSync(gomysql.Position{Name: file, Pos: pos})
	require.NoError(t, err)
	return syncer
}

// TestBinlogRestartFixes: the binlog items whose fix is a change of the
// server's configuration and a restart: log_bin off, and binlog-ignore-db
// naming a selected database. Each fails, and passes once the server runs
// with the configuration the fix describes.
func TestBinlogRestartFixes(t *testing.T) {
	t.Parallel()
	srv := testenv.StartMariaDB(t, testenv.MariaDBOptions{Args: []string{"--skip-log-bin"}})
	src := newSide(t, srv)
	src.exec(t, "CREATE TABLE t (id INT PRIMARY KEY)")
	dst := newSide(t, testenv.Postgres(t))
	s := spec(src, dst, job.TypeSync)

	it := requireItem(t, items(t, s), "source.binlog.enabled", precheck.Failed)
	require.Contains(t, it.Fix, "add log_bin=binlog")
	srv.RestartMariaDB(t, testenv.MariaDBOptions{}) // the harness's configuration has log-bin=binlog
	requireItem(t, items(t, s), "source.binlog.enabled", precheck.Passed)

	srv.RestartMariaDB(t, testenv.MariaDBOptions{Args: []string{"--binlog-ignore-db=" + src.database}})
	it = requireItem(t, items(t, s), "source.binlog.filters", precheck.Failed)
	require.Contains(t, it.Message, "does not log changes of "+src.database)
	require.Contains(t, it.Fix, "remove binlog-do-db / binlog-ignore-db")
	srv.RestartMariaDB(t, testenv.MariaDBOptions{})
	requireItem(t, items(t, s), "source.binlog.filters", precheck.Passed)
}

// TestSnapshotPrivileges: without RELOAD a MariaDB source warns (one
// reader); without BINLOG MONITOR there is no position to start from: the
// item fails until the printed GRANT runs.
func TestSnapshotPrivileges(t *testing.T) {
	t.Parallel()
	src := newSide(t, testenv.MariaDB(t)).withUser(t)
	src.exec(t, "CREATE TABLE t (id INT PRIMARY KEY)")
	src.srv.Exec(t, "", fmt.Sprintf("GRANT SELECT ON `%s`.* TO '%s'@'%%'", src.database, src.user),
		fmt.Sprintf("GRANT RELOAD ON *.* TO '%s'@'%%'", src.user))
	s := spec(src, newSide(t, testenv.Postgres(t)), job.TypeMigration)

	it := requireItem(t, items(t, s), "source.privileges.snapshot", precheck.Failed)
	require.Contains(t, it.Message, "lacks BINLOG MONITOR")
	require.Equal(t, []string{fmt.Sprintf("GRANT BINLOG MONITOR ON *.* TO '%s'@'%%';", src.user)}, it.FixSQL)
	applyFix(t, src, it)
	requireItem(t, items(t, s), "source.privileges.snapshot", precheck.Passed)
}

// TestReplicationPrivileges: a source user without replication privileges
// fails; the printed GRANT fixes it.
func TestReplicationPrivileges(t *testing.T) {
	t.Parallel()
	src := newSide(t, testenv.MariaDB(t)).withUser(t)
	src.exec(t, "CREATE TABLE t (id INT PRIMARY KEY)")
	// A privilege on the table makes it visible; SELECT is what the copy needs.
	src.srv.Exec(t, "", fmt.Sprintf("GRANT INSERT ON `%s`.`t` TO '%s'@'%%'", src.database, src.user))
	dst := newSide(t, testenv.Postgres(t))
	s := spec(src, dst, job.TypeSync)

	got := items(t, s)
	sel := requireItem(t, got, "source.privileges.select", precheck.Failed)
	snap := requireItem(t, got, "source.privileges.snapshot", precheck.Warning) // MariaDB: one reader without RELOAD
	repl := requireItem(t, got, "source.privileges.replication", precheck.Failed)
	require.Contains(t, repl.Message, "REPLICATION SLAVE and BINLOG MONITOR")
	for _, it := range []precheck.Item{sel, snap, repl} {
		applyFix(t, src, it)
	}
	got = items(t, s)
	for _, id := range []string{"source.privileges.select", "source.privileges.snapshot", "source.privileges.replication"} {
		requireItem(t, got, id, precheck.Passed)
	}
	require.Equal(t, fmt.Sprintf("GRANT SELECT ON `%s`.* TO '%s'@'%%';", escapeLike(src.database), src.user), sel.FixSQL[0])
}

// escapeLike escapes the wildcards of a database name in a GRANT.
func escapeLike(s string) string {
	out := ""
	for _, r := range s {
		if r == '_' || r == '%' || r == '\\' {
			out += `\`
		}
		out += string(r)
	}
	return out
}
