package mysql_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	myconn "github.com/dtsorg/dts/internal/connector/mysql"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/testenv"
)

// TestMain (testenv.Main) is in main_test.go.

func open(t *testing.T, e job.Endpoint) *sql.DB {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := myconn.Open(ctx, e)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

// openErr opens e, expects a failure with code and checks that no form of
// the password is in the error.
func openErr(t *testing.T, e job.Endpoint, code string) *errs.Error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := myconn.Open(ctx, e)
	if db != nil {
		db.Close()
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

func TestSession(t *testing.T) {
	t.Parallel()
	srv := testenv.MariaDB(t)
	db := open(t, srv.Endpoint(srv.NewDatabase(t))) // the harness password is full of DSN syntax

	var tz, client, collation string
	require.NoError(t, db.QueryRow("SELECT @@session.time_zone, @@character_set_client, @@collation_connection").Scan(&tz, &client, &collation))
	assert.Equal(t, []string{"+00:00", "utf8mb4", "utf8mb4_general_ci"}, []string{tz, client, collation})

	var epoch time.Time
	require.NoError(t, db.QueryRow("SELECT FROM_UNIXTIME(0)").Scan(&epoch))
	assert.Equal(t, int64(0), epoch.Unix())

	_, err := db.Exec("SELECT 1; SELECT 2")
	assert.Error(t, err, "multi-statements are off")
}

func TestTimeZoneOption(t *testing.T) {
	t.Parallel()
	srv := testenv.MariaDB(t)
	e := srv.Endpoint("")
	e.Options.TimeZone = "+05:30"
	db := open(t, e)
	var tz string
	var epoch time.Time
	require.NoError(t, db.QueryRow("SELECT @@session.time_zone, FROM_UNIXTIME(0)").Scan(&tz, &epoch))
	assert.Equal(t, "+05:30", tz)
	assert.Equal(t, 5, epoch.Hour(), "the wall clock is the session's")
	assert.Equal(t, int64(0), epoch.Unix(), "the instant is right")
}

// A password that reads as DSN parameters stays a password.
func TestPasswordIsNotADSN(t *testing.T) {
	t.Parallel()
	srv := testenv.MariaDB(t)
	const pw = `x?allowAllFiles=true&multiStatements=true&interpolateParams=true@tcp(evil:1)/`
	user := "u" + strings.TrimPrefix(srv.NewDatabase(t), "t") // unique per test binary run
	user = user[:min(len(user), 32)]
	lit := "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(pw) + "'"
	srv.Exec(t, "", "CREATE USER '"+user+"'@'%' IDENTIFIED BY "+lit)
	t.Cleanup(func() { srv.Exec(t, "", "DROP USER '"+user+"'@'%'") })

	e := srv.Endpoint("")
	e.User, e.Password = user, job.Secret(pw)
	cfg, err := myconn.Config(e)
	require.NoError(t, err)
	assert.Equal(t, pw, cfg.Passwd)
	assert.False(t, cfg.AllowAllFiles || cfg.MultiStatements || cfg.InterpolateParams)

	db := open(t, e)
	var got string
	require.NoError(t, db.QueryRow("SELECT CURRENT_USER()").Scan(&got))
	assert.Equal(t, user+"@%", got)
	_, err = db.Exec("SELECT 1; SELECT 2")
	assert.Error(t, err, "multi-statements stay off")

	e.Password = job.Secret(pw + "!")
	openErr(t, e, connector.AuthFailed)
}

func TestConnectErrors(t *testing.T) {
	t.Parallel()
	srv := testenv.MariaDB(t)

	wrong := srv.Endpoint("")
	wrong.Password = job.Secret(srv.Password + "?allowAllFiles=true")
	openErr(t, wrong, connector.AuthFailed)

	openErr(t, srv.Endpoint("no_such_db"), connector.DatabaseNotFound)

	tlsRequired := srv.Endpoint("")
	tlsRequired.TLS.Mode = job.TLSRequire // the shared server has no TLS
	e := openErr(t, tlsRequired, connector.TLS)
	assert.Contains(t, e.Message, "TLS")

	prefer := srv.Endpoint("")
	prefer.TLS.Mode = job.TLSPrefer // falls back to plaintext
	open(t, prefer)
}

func TestTLS(t *testing.T) {
	t.Parallel()
	certs := testenv.NewCerts(t)
	srv := testenv.StartMariaDB(t, testenv.MariaDBOptions{TLS: certs})
	cipher := func(e job.Endpoint) string {
		var name, value string
		require.NoError(t, open(t, e).QueryRow("SHOW SESSION STATUS LIKE 'Ssl_cipher'").Scan(&name, &value))
		return value
	}
	for _, mode := range []string{job.TLSPrefer, job.TLSRequire, job.TLSVerifyCA, job.TLSVerifyFull} {
		e := srv.Endpoint("")
		e.TLS = job.TLS{Mode: mode, CA: certs.CAFile}
		assert.NotEmpty(t, cipher(e), "mode %s uses TLS", mode)
	}
	plain := srv.Endpoint("")
	assert.Empty(t, cipher(plain), "mode disable")

	wrongCA := srv.Endpoint("")
	wrongCA.TLS = job.TLS{Mode: job.TLSVerifyFull, CA: testenv.NewCerts(t).CAFile}
	openErr(t, wrongCA, connector.TLS)
}
