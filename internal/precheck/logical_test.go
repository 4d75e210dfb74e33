package precheck_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	pgconnector "github.com/dtsorg/dts/internal/connector/postgres"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/precheck"
	"github.com/dtsorg/dts/internal/testenv"
)

// TestLogicalSettings: a PostgreSQL source set up against logical
// replication fails its items; the printed fixes (dropping an unused slot,
// ending an unused replication connection, ALTER SYSTEM and a restart)
// make them pass.
func TestLogicalSettings(t *testing.T) {
	t.Parallel()
	srv := testenv.StartPostgres(t, testenv.PostgresOptions{Settings: map[string]string{
		"wal_level": "replica", "max_replication_slots": "1", "max_wal_senders": "1", "max_slot_wal_keep_size": "64MB",
	}})
	src := newSide(t, srv)
	src.exec(t, "CREATE TABLE t (id INT PRIMARY KEY)")
	dst := newSide(t, testenv.MariaDB(t))
	s := spec(src, dst, job.TypeSync)

	srv.Exec(t, "", "SELECT pg_create_physical_replication_slot('pc_unused')")
	walsender := replicationConn(t, srv)
	got := items(t, s)
	requireItem(t, got, "source.wal_level", precheck.Failed)
	requireItem(t, got, "source.wal_retention", precheck.Warning)
	slots := requireItem(t, got, "source.replication_slots", precheck.Failed)
	require.Contains(t, slots.FixSQL, "SELECT pg_drop_replication_slot('pc_unused');")
	senders := requireItem(t, got, "source.wal_senders", precheck.Failed)
	require.Contains(t, senders.Fix, "pg_terminate_backend")

	applyFix(t, src, slots) // raises the limit for the next restart, and drops the unused slot now
	pids := senders.Details["walsender_pids"].([]int32)
	src.srv.Exec(t, "", fmt.Sprintf("SELECT pg_terminate_backend(%d)", pids[0]))
	waitClosed(t, walsender)
	db := srv.DB(t, "")
	require.Eventually(t, func() bool { // the backend leaves pg_stat_activity as it exits
		var n int
		require.NoError(t, db.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender'`).Scan(&n))
		return n == 0
	}, 10*time.Second, 10*time.Millisecond)
	got = items(t, s)
	requireItem(t, got, "source.replication_slots", precheck.Passed)
	requireItem(t, got, "source.wal_senders", precheck.Passed)

	// wal_level and max_replication_slots change at a restart; the printed
	// ALTER SYSTEM statements then take effect (and max_slot_wal_keep_size at
	// the reload the fix includes).
	walLevel := requireItem(t, got, "source.wal_level", precheck.Failed)
	require.Equal(t, []string{"ALTER SYSTEM SET wal_level = logical;"}, walLevel.FixSQL)
	require.Contains(t, walLevel.Fix, "restart")
	retention := requireItem(t, got, "source.wal_retention", precheck.Warning)
	applyFix(t, src, walLevel)
	applyFix(t, src, retention)
	srv.Restart(t)
	got = items(t, s)
	for _, id := range []string{"source.wal_level", "source.wal_retention", "source.replication_slots", "source.wal_senders"} {
		requireItem(t, got, id, precheck.Passed)
	}
	require.Equal(t, 2, got["source.replication_slots"].Details["max_replication_slots"], "raised by the fix")
}

// replicationConn opens a physical replication connection: it holds a WAL sender.
func replicationConn(t *testing.T, srv *testenv.Server) *pgconn.PgConn {
	t.Helper()
	cfg, err := pgconnector.ReplicationConfig(srv.Endpoint("postgres"))
	require.NoError(t, err)
	cfg.RuntimeParams["replication"] = "true"
	conn, err := pgconn.ConnectConfig(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// waitClosed waits until the server ended the connection.
func waitClosed(t *testing.T, c *pgconn.PgConn) {
	t.Helper()
	err := c.Exec(t.Context(), "IDENTIFY_SYSTEM").Close()
	require.Error(t, err, "the server ended the connection")
}

// TestSlotName: a slot already holding the job's name is refused; dropping
// it (the printed SQL) frees the name.
func TestSlotName(t *testing.T) {
	t.Parallel()
	src := newSide(t, testenv.Postgres(t))
	src.exec(t, "CREATE TABLE t (id INT PRIMARY KEY)")
	dst := newSide(t, testenv.MariaDB(t))
	s := spec(src, dst, job.TypeSync)
	slot := pgconnector.SlotName(connector.LogJob{JobID: "job-" + s.Name, JobName: s.Name})
	src.srv.Exec(t, src.database, fmt.Sprintf("SELECT pg_create_logical_replication_slot('%s', 'pgoutput')", slot))

	it := requireItem(t, items(t, s), "source.slot", precheck.Failed)
	require.Contains(t, it.Message, slot)
	applyFix(t, src, it)
	requireItem(t, items(t, s), "source.slot", precheck.Passed)
}

// TestLogicalPrivileges: a PostgreSQL source role without REPLICATION, CREATE
// on the database or ownership of the tables fails; the printed SQL fixes it.
func TestLogicalPrivileges(t *testing.T) {
	t.Parallel()
	src := newSide(t, testenv.Postgres(t))
	src.exec(t, "CREATE TABLE t (id INT PRIMARY KEY)", "CREATE TABLE u (id INT PRIMARY KEY)")
	src = src.withUser(t)
	dst := newSide(t, testenv.MariaDB(t))
	s := spec(src, dst, job.TypeSync)

	got := items(t, s)
	sel := requireItem(t, got, "source.privileges.select", precheck.Failed)
	repl := requireItem(t, got, "source.privileges.replication", precheck.Failed)
	pub := requireItem(t, got, "source.privileges.publication", precheck.Failed)
	require.Contains(t, pub.Message, "CREATE on database")
	require.Contains(t, pub.Message, "ownership of 2 selected tables")
	for _, it := range []precheck.Item{sel, repl, pub} {
		applyFix(t, src, it)
	}
	got = items(t, s)
	requireItem(t, got, "source.privileges.select", precheck.Passed)
	requireItem(t, got, "source.privileges.replication", precheck.Passed)
	it := requireItem(t, got, "source.privileges.publication", precheck.Passed)
	require.Contains(t, it.Message, "used as it is")
}
