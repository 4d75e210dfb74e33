package postgres_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	pgconnector "github.com/dtsorg/dts/internal/connector/postgres"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/testenv"
)

// TestMain (testenv.Main) is in main_test.go.

func connect(t *testing.T, e job.Endpoint) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgconnector.Connect(ctx, e)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// connectErr connects to e, expects a failure with code and checks that no
// form of the password is in the error.
func connectErr(t *testing.T, e job.Endpoint, code string) *errs.Error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgconnector.Connect(ctx, e)
	if conn != nil {
		conn.Close(ctx)
	}
	require.Error(t, err)
	assert.Equal(t, code, errs.CodeOf(err), "%v", err)
	if pw := e.Password.Reveal(); pw != "" {
		assert.NotContains(t, err.Error(), pw)
	}
	assert.NotContains(t, err.Error(), "w/rd") // a part of the harness password
	coded, _ := errs.As(err)
	return coded
}

func query(t *testing.T, conn *pgx.Conn, sql string, dst ...any) {
	t.Helper()
	require.NoError(t, conn.QueryRow(context.Background(), sql).Scan(dst...))
}

func TestSession(t *testing.T) {
	t.Parallel()
	srv := testenv.Postgres(t)
	conn := connect(t, srv.Endpoint(srv.NewDatabase(t))) // the harness password is full of conninfo syntax
	var tz, app string
	query(t, conn, "SELECT current_setting('TimeZone'), current_setting('application_name')", &tz, &app)
	assert.Equal(t, "UTC", tz)
	assert.Equal(t, "dts", app)
}

func TestTimeZoneOption(t *testing.T) {
	t.Parallel()
	srv := testenv.Postgres(t)
	for tz, want := range map[string]int{"+05:30": 19800, "-03:00": -10800, "Asia/Kolkata": 19800} {
		e := srv.Endpoint("postgres")
		e.Options.TimeZone = tz
		var off float64
		query(t, connect(t, e), "SELECT extract(timezone FROM now())", &off)
		assert.Equal(t, float64(want), off, "time_zone %s: seconds east of UTC", tz)
	}
}

// Libpq environment variables of the dts process change nothing.
func TestIgnoresEnvironment(t *testing.T) {
	srv := testenv.Postgres(t)
	t.Setenv("PGSSLMODE", "verify-full")
	t.Setenv("PGSSLROOTCERT", "/nonexistent/root.crt")
	t.Setenv("PGAPPNAME", "evil")
	t.Setenv("PGOPTIONS", "-c search_path=evil")
	t.Setenv("PGTARGETSESSIONATTRS", "standby")
	t.Setenv("PGPASSWORD", "from-env")
	t.Setenv("PGHOST", "does-not-exist.invalid,other.invalid")
	t.Setenv("PGPORT", "1,2,3")
	t.Setenv("PGSSLCERT", "/nonexistent/client.crt")
	t.Setenv("PGSSLKEY", "/nonexistent/client.key")
	t.Setenv("PGSSLNEGOTIATION", "direct")
	t.Setenv("PGREQUIREAUTH", "md5") // would refuse scram-sha-256
	t.Setenv("PGMAXPROTOCOLVERSION", "2.0")

	conn := connect(t, srv.Endpoint("postgres"))
	var app, path string
	query(t, conn, "SELECT current_setting('application_name'), current_setting('search_path')", &app, &path)
	assert.Equal(t, "dts", app)
	assert.NotContains(t, path, "evil")

	noPassword := srv.Endpoint("postgres")
	noPassword.Password = ""
	connectErr(t, noPassword, connector.AuthFailed) // PGPASSWORD was not used
}

// Passwords that read as conninfo or URL syntax stay passwords.
func TestPasswordIsNotAConnString(t *testing.T) {
	t.Parallel()
	srv := testenv.Postgres(t)
	for i, pw := range []string{`x host=does-not-exist.invalid sslmode=disable`, `x?sslmode=disable&host=evil`, `' OR ''='`} {
		role := strings.Replace(srv.NewDatabase(t), "t_", "u_", 1) + string(rune('a'+i))
		srv.Exec(t, "", `CREATE ROLE "`+role+`" LOGIN PASSWORD '`+strings.ReplaceAll(pw, "'", "''")+`'`)
		t.Cleanup(func() { srv.Exec(t, "", `DROP ROLE "`+role+`"`) })
		e := srv.Endpoint("postgres")
		e.User, e.Password = role, job.Secret(pw)
		var user string
		query(t, connect(t, e), "SELECT current_user", &user)
		assert.Equal(t, role, user)
	}
}

func TestPoolAndReplication(t *testing.T) {
	t.Parallel()
	srv := testenv.Postgres(t)
	e := srv.Endpoint(srv.NewDatabase(t))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	pool, err := pgconnector.NewPool(ctx, e)
	require.NoError(t, err)
	defer pool.Close()
	var app string
	require.NoError(t, pool.QueryRow(ctx, "SELECT current_setting('application_name')").Scan(&app))
	assert.Equal(t, "dts", app)

	rc, err := pgconnector.ReplicationConfig(e)
	require.NoError(t, err)
	conn, err := pgconn.ConnectConfig(ctx, rc)
	require.NoError(t, err)
	defer conn.Close(ctx)
	res, err := conn.Exec(ctx, "IDENTIFY_SYSTEM").ReadAll()
	require.NoError(t, err)
	assert.Equal(t, e.Database, string(res[0].Rows[0][3]))

	bad := e
	bad.Password += "!"
	_, err = pgconnector.NewPool(ctx, bad)
	assert.Equal(t, connector.AuthFailed, errs.CodeOf(err))
}

func TestConnectErrors(t *testing.T) {
	t.Parallel()
	srv := testenv.Postgres(t)

	wrong := srv.Endpoint("postgres")
	wrong.Password = job.Secret(srv.Password + " sslmode=disable")
	connectErr(t, wrong, connector.AuthFailed)

	connectErr(t, srv.Endpoint("no_such_db"), connector.DatabaseNotFound)

	tlsRequired := srv.Endpoint("postgres")
	tlsRequired.TLS.Mode = job.TLSRequire // the shared server has no TLS
	connectErr(t, tlsRequired, connector.TLS)

	prefer := srv.Endpoint("postgres")
	prefer.TLS.Mode = job.TLSPrefer // falls back to plaintext
	connect(t, prefer)
}

func TestTLS(t *testing.T) {
	t.Parallel()
	certs := testenv.NewCerts(t)
	srv := testenv.StartPostgres(t, testenv.PostgresOptions{TLS: certs})
	ssl := func(e job.Endpoint) bool {
		var on bool
		query(t, connect(t, e), "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()", &on)
		return on
	}
	for _, mode := range []string{job.TLSPrefer, job.TLSRequire, job.TLSVerifyCA, job.TLSVerifyFull} {
		e := srv.Endpoint("postgres")
		e.TLS = job.TLS{Mode: mode, CA: certs.CAFile}
		assert.True(t, ssl(e), "mode %s uses TLS", mode)
	}
	assert.False(t, ssl(srv.Endpoint("postgres")), "mode disable")

	wrongCA := srv.Endpoint("postgres")
	wrongCA.TLS = job.TLS{Mode: job.TLSVerifyFull, CA: testenv.NewCerts(t).CAFile}
	connectErr(t, wrongCA, connector.TLS) // and no plaintext fallback: the server would accept one
}
