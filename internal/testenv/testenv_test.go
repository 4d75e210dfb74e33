package testenv_test

import (
	"context"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

func TestMariaDB(t *testing.T) {
	t.Parallel()
	srv := testenv.MariaDB(t)
	a, b := srv.NewDatabase(t), srv.NewDatabase(t)
	require.NotEqual(t, a, b)
	srv.Exec(t, a, "CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1)")
	srv.Exec(t, b, "CREATE TABLE t (id INT PRIMARY KEY)")

	db := srv.DB(t, a) // logs in as dts with the awkward password
	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM t").Scan(&n))
	assert.Equal(t, 1, n)

	var format, image, logBin, meta, strict, charset string
	require.NoError(t, db.QueryRow("SELECT @@binlog_format, @@binlog_row_image, @@log_bin, @@binlog_row_metadata, @@gtid_strict_mode, @@character_set_server").
		Scan(&format, &image, &logBin, &meta, &strict, &charset))
	assert.Equal(t, []string{"ROW", "FULL", "1", "FULL", "1", "utf8mb4"}, []string{format, image, logBin, meta, strict, charset})

	var grants string
	require.NoError(t, db.QueryRow("SHOW GRANTS").Scan(&grants))
	assert.Contains(t, grants, "ALL PRIVILEGES ON *.*")
	assert.Contains(t, grants, "WITH GRANT OPTION")
	assert.Equal(t, testenv.Password, srv.Endpoint(a).Password.Reveal())
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	srv := testenv.Postgres(t)
	a, b := srv.NewDatabase(t), srv.NewDatabase(t)
	require.NotEqual(t, a, b)
	srv.Exec(t, a, "CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t VALUES (1)")
	srv.Exec(t, b, "CREATE TABLE t (id int PRIMARY KEY)")

	db := srv.DB(t, a)
	var n int
	require.NoError(t, db.QueryRow("SELECT count(*) FROM t").Scan(&n))
	assert.Equal(t, 1, n)
	var walLevel string
	require.NoError(t, db.QueryRow("SHOW wal_level").Scan(&walLevel))
	assert.Equal(t, "logical", walLevel)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cfg := pgConfig(t, srv, a, testenv.Password)
	cfg.RuntimeParams["replication"] = "database" // pg_hba's replication line allows it
	conn, err := pgconn.ConnectConfig(ctx, cfg)
	require.NoError(t, err)
	defer conn.Close(ctx)
	res, err := conn.Exec(ctx, "IDENTIFY_SYSTEM").ReadAll()
	require.NoError(t, err)
	assert.Equal(t, a, string(res[0].Rows[0][3]))

	_, err = pgconn.ConnectConfig(ctx, pgConfig(t, srv, a, "wrong"))
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr)
	assert.Equal(t, "28P01", pgErr.Code) // scram-sha-256: a wrong password really fails
}

func pgConfig(t *testing.T, srv *testenv.Server, database, password string) *pgconn.Config {
	cfg, err := pgconn.ParseConfig("sslmode=disable")
	require.NoError(t, err)
	cfg.Host, cfg.Port, cfg.Database = srv.Host, uint16(srv.Port), database
	cfg.User, cfg.Password = srv.User, password
	return cfg
}

func TestMariaDBNoLogMetadata(t *testing.T) {
	t.Parallel()
	srv := testenv.StartMariaDB(t, testenv.MariaDBOptions{BinlogRowMetadata: "NO_LOG", Args: []string{"--binlog-row-image=MINIMAL"}})
	var meta, image string
	require.NoError(t, srv.DB(t, "").QueryRow("SELECT @@binlog_row_metadata, @@binlog_row_image").Scan(&meta, &image))
	assert.Equal(t, "NO_LOG", meta)
	assert.Equal(t, "MINIMAL", image)
}

func TestPostgresSettings(t *testing.T) {
	t.Parallel()
	srv := testenv.StartPostgres(t, testenv.PostgresOptions{Settings: map[string]string{"max_slot_wal_keep_size": "64MB"}})
	var v string
	require.NoError(t, srv.DB(t, "").QueryRow("SHOW max_slot_wal_keep_size").Scan(&v))
	assert.Equal(t, "64MB", v)
}

// Kill and restart keep committed data, on the same port.
func TestKillRestart(t *testing.T) {
	t.Parallel()
	for name, start := range map[string]func(t *testing.T) *testenv.Server{
		"mariadb":  func(t *testing.T) *testenv.Server { return testenv.StartMariaDB(t, testenv.MariaDBOptions{}) },
		"postgres": func(t *testing.T) *testenv.Server { return testenv.StartPostgres(t, testenv.PostgresOptions{}) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := start(t)
			port := srv.Port
			db := srv.NewDatabase(t)
			srv.Exec(t, db, "CREATE TABLE t (id INT PRIMARY KEY)", "INSERT INTO t VALUES (1)")

			srv.Kill(t)
			srv.Start(t)
			srv.Exec(t, db, "INSERT INTO t VALUES (2)")
			srv.Stop(t)
			srv.Start(t)

			assert.Equal(t, port, srv.Port)
			var n int
			require.NoError(t, srv.DB(t, db).QueryRow("SELECT count(*) FROM t").Scan(&n))
			assert.Equal(t, 2, n)
		})
	}
}

func TestTLSServers(t *testing.T) {
	t.Parallel()
	certs := testenv.NewCerts(t)
	t.Run("mariadb", func(t *testing.T) {
		t.Parallel()
		srv := testenv.StartMariaDB(t, testenv.MariaDBOptions{TLS: certs})
		var haveSSL string
		require.NoError(t, srv.DB(t, "").QueryRow("SELECT @@have_ssl").Scan(&haveSSL))
		assert.Equal(t, "YES", haveSSL)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		srv := testenv.StartPostgres(t, testenv.PostgresOptions{TLS: certs})
		var ssl string
		require.NoError(t, srv.DB(t, "").QueryRow("SHOW ssl").Scan(&ssl))
		assert.Equal(t, "on", ssl)
	})
}

func TestDatabaseNames(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("Sub/Test-With Spaces ", 10)
	t.Run(long, func(t *testing.T) {
		srv := testenv.MariaDB(t)
		name := srv.NewDatabase(t)
		assert.LessOrEqual(t, len(name), 63)
		assert.Regexp(t, `^t_[a-z0-9_]+_\d+$`, name)
		assert.NotContains(t, name, "__")
	})
}

// TestRestartWithOptions: a dedicated server restarts on its port and data
// with changed options, as after editing its configuration; on PostgreSQL,
// ALTER SYSTEM overrides the harness's settings once the server restarts.
func TestRestartWithOptions(t *testing.T) {
	t.Parallel()
	t.Run("mariadb", func(t *testing.T) {
		t.Parallel()
		srv := testenv.StartMariaDB(t, testenv.MariaDBOptions{Args: []string{"--skip-log-bin"}})
		db := srv.NewDatabase(t)
		srv.Exec(t, db, "CREATE TABLE t (id INT PRIMARY KEY)")
		var logBin int
		require.NoError(t, srv.DB(t, "").QueryRow("SELECT @@log_bin").Scan(&logBin))
		assert.Equal(t, 0, logBin)
		port := srv.Port
		srv.RestartMariaDB(t, testenv.MariaDBOptions{})
		require.NoError(t, srv.DB(t, db).QueryRow("SELECT @@log_bin FROM t UNION SELECT @@log_bin").Scan(&logBin))
		assert.Equal(t, 1, logBin)
		assert.Equal(t, port, srv.Port)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		srv := testenv.StartPostgres(t, testenv.PostgresOptions{Settings: map[string]string{"wal_level": "replica"}})
		show := func(name string) string {
			var v string
			require.NoError(t, srv.DB(t, "").QueryRow("SHOW "+name).Scan(&v))
			return v
		}
		assert.Equal(t, "replica", show("wal_level"))
		srv.Exec(t, "", "ALTER SYSTEM SET wal_level = logical")
		srv.Restart(t)
		assert.Equal(t, "logical", show("wal_level"))
		srv.RestartPostgres(t, testenv.PostgresOptions{Settings: map[string]string{"max_connections": "50", "wal_level": "minimal"}})
		assert.Equal(t, "50", show("max_connections"))
		assert.Equal(t, "logical", show("wal_level"), "ALTER SYSTEM wins")
	})
}

// TestServerConditions: a dedicated MariaDB server on a small disk that can
// grow, with a clock ten minutes ahead.
func TestServerConditions(t *testing.T) {
	t.Parallel()
	srv := testenv.StartMariaDB(t, testenv.MariaDBOptions{DataDisk: 128 << 20, ClockOffset: 10 * time.Minute})
	db := srv.DB(t, "")
	var serverNow float64
	require.NoError(t, db.QueryRow("SELECT UNIX_TIMESTAMP(NOW(6))").Scan(&serverNow))
	ahead := time.Duration(serverNow*float64(time.Second)) - time.Duration(time.Now().UnixNano())
	assert.InDelta(t, (10 * time.Minute).Seconds(), ahead.Seconds(), 5)

	size := func() int64 {
		var st syscall.Statfs_t
		require.NoError(t, syscall.Statfs(srv.Dir+"/data", &st))
		return int64(st.Blocks) * st.Bsize
	}
	assert.Equal(t, int64(128<<20), size())
	srv.ResizeDataDisk(t, 256<<20)
	assert.Equal(t, int64(256<<20), size())
	srv.Exec(t, "", "CREATE DATABASE grown") // the server keeps working
}
