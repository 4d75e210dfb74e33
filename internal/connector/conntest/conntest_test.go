package conntest_test

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/connector/conntest"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// servers runs f as a parallel subtest per engine, against the shared servers.
func servers(t *testing.T, f func(t *testing.T, srv *testenv.Server)) {
	for name, get := range map[string]func(testing.TB) *testenv.Server{"mariadb": testenv.MariaDB, "postgres": testenv.Postgres} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f(t, get(t))
		})
	}
}

// serverDB names a database every server has.
func serverDB(srv *testenv.Server) string {
	if srv.Engine == job.EnginePostgreSQL {
		return "postgres"
	}
	return ""
}

// check runs the test and asserts what every result must satisfy: no form of
// the password anywhere, an error exactly when the test failed.
func check(t *testing.T, e job.Endpoint) conntest.Result {
	t.Helper()
	r := conntest.Test(context.Background(), e)
	out, err := json.Marshal(r)
	require.NoError(t, err)
	t.Logf("%s", out)
	for _, secret := range []string{e.Password.Reveal(), testenv.Password, "w/rd"} {
		if secret != "" {
			assert.NotContains(t, string(out), secret)
			if r.Error != nil {
				assert.NotContains(t, r.Error.Error(), secret)
			}
		}
	}
	if r.Error == nil {
		assert.True(t, r.Reachable && r.Authenticated, "%s", out)
	}
	return r
}

func TestSuccess(t *testing.T) {
	t.Parallel()
	servers(t, func(t *testing.T, srv *testenv.Server) {
		r := check(t, srv.Endpoint(srv.NewDatabase(t))) // the harness password is full of DSN syntax
		require.Nil(t, r.Error, "%v", r.Error)
		assert.Greater(t, r.RTTMillis, 0.0)
		assert.Less(t, r.RTTMillis, 1000.0)
		if srv.Engine == job.EngineMariaDB {
			assert.Regexp(t, `^10\.\d+\.\d+-MariaDB`, r.ServerVersion)
		} else {
			assert.Regexp(t, `^\d+\.\d+`, r.ServerVersion)
		}
	})
}

func TestWrongPassword(t *testing.T) {
	t.Parallel()
	servers(t, func(t *testing.T, srv *testenv.Server) {
		e := srv.Endpoint(srv.NewDatabase(t))
		e.Password += "?allowAllFiles=true sslmode=disable"
		r := check(t, e)
		require.NotNil(t, r.Error)
		assert.Equal(t, connector.AuthFailed, r.Error.Code, "%v", r.Error)
		assert.True(t, r.Reachable)
		assert.False(t, r.Authenticated)
		assert.NotEmpty(t, r.Error.Fix)
	})
}

func TestMissingDatabase(t *testing.T) {
	t.Parallel()
	servers(t, func(t *testing.T, srv *testenv.Server) {
		r := check(t, srv.Endpoint("no_such_database"))
		require.NotNil(t, r.Error)
		assert.Equal(t, connector.DatabaseNotFound, r.Error.Code, "%v", r.Error)
		assert.Contains(t, r.Error.Message, `"no_such_database"`)
		assert.True(t, r.Reachable)
		assert.True(t, r.Authenticated, "the login worked")
	})
}

func TestUnreachable(t *testing.T) {
	t.Parallel()
	servers(t, func(t *testing.T, srv *testenv.Server) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		closed := l.Addr().(*net.TCPAddr).Port
		l.Close()

		e := srv.Endpoint(serverDB(srv))
		e.Port = closed
		r := check(t, e)
		require.NotNil(t, r.Error)
		assert.Equal(t, connector.Refused, r.Error.Code, "%v", r.Error)
		assert.False(t, r.Reachable)

		e = srv.Endpoint(serverDB(srv))
		e.Host = "does-not-exist.invalid"
		r = check(t, e)
		require.NotNil(t, r.Error)
		assert.Equal(t, connector.DNS, r.Error.Code, "%v", r.Error)
		assert.False(t, r.Reachable)
	})
}

// A server that accepts the connection and never says a word.
func TestTimeout(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	port := l.Addr().(*net.TCPAddr).Port
	for _, engine := range []job.Engine{job.EngineMariaDB, job.EnginePostgreSQL} {
		t.Run(string(engine), func(t *testing.T) {
			t.Parallel()
			e := job.Endpoint{Engine: engine, Host: "127.0.0.1", Port: port, User: "u", Password: testenv.Password,
				Database: "d", TLS: job.TLS{Mode: job.TLSPrefer}, Options: job.EndpointOptions{ConnectTimeoutSeconds: 1}}
			start := time.Now()
			r := check(t, e)
			elapsed := time.Since(start)
			require.NotNil(t, r.Error)
			assert.Equal(t, connector.Timeout, r.Error.Code, "%v", r.Error)
			assert.True(t, r.Reachable)
			assert.False(t, r.Authenticated)
			assert.Less(t, elapsed, 3*time.Second)
			assert.GreaterOrEqual(t, elapsed, 900*time.Millisecond)
		})
	}
}

func TestContextBounds(t *testing.T) {
	t.Parallel()
	srv := testenv.MariaDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := conntest.Test(ctx, srv.Endpoint(serverDB(srv)))
	require.NotNil(t, r.Error)
	assert.False(t, r.Authenticated)
}

// The harness servers have no TLS: a mode that requires it fails, prefer falls back.
func TestTLSRequiredButMissing(t *testing.T) {
	t.Parallel()
	servers(t, func(t *testing.T, srv *testenv.Server) {
		e := srv.Endpoint(serverDB(srv))
		e.TLS.Mode = job.TLSRequire
		r := check(t, e)
		require.NotNil(t, r.Error)
		assert.Equal(t, connector.TLS, r.Error.Code, "%v", r.Error)
		assert.True(t, r.Reachable)
		assert.False(t, r.Authenticated)

		e.TLS.Mode = job.TLSPrefer
		assert.Nil(t, check(t, e).Error)
	})
}

// Servers with TLS whose certificate names db.example only: verification
// failures are TLS errors and never fall back to plaintext, although the
// servers would accept plaintext.
func TestTLSVerification(t *testing.T) {
	t.Parallel()
	certs := testenv.NewCerts(t, "db.example")
	otherCA := testenv.NewCerts(t, "db.example").CAFile
	for name, start := range map[string]func(*testing.T) *testenv.Server{
		"mariadb": func(t *testing.T) *testenv.Server { return testenv.StartMariaDB(t, testenv.MariaDBOptions{TLS: certs}) },
		"postgres": func(t *testing.T) *testenv.Server {
			return testenv.StartPostgres(t, testenv.PostgresOptions{TLS: certs})
		},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := start(t)
			for _, c := range []struct {
				mode, ca string
				ok       bool
			}{
				{job.TLSRequire, "", true},
				{job.TLSVerifyCA, certs.CAFile, true},    // 127.0.0.1 is not db.example: verify-ca does not care
				{job.TLSVerifyFull, certs.CAFile, false}, // verify-full does
				{job.TLSVerifyFull, otherCA, false},      // wrong CA
				{job.TLSVerifyCA, otherCA, false},        // wrong CA
				{job.TLSRequire, otherCA, false},         // require with a CA verifies it (libpq)
			} {
				e := srv.Endpoint(serverDB(srv))
				e.TLS = job.TLS{Mode: c.mode, CA: c.ca}
				r := check(t, e)
				if c.ok {
					assert.Nil(t, r.Error, "%+v: %v", c, r.Error)
					continue
				}
				require.NotNil(t, r.Error, "%+v", c)
				assert.Equal(t, connector.TLS, r.Error.Code, "%+v: %v", c, r.Error)
				assert.True(t, r.Reachable)
				assert.False(t, r.Authenticated, "%+v: no plaintext fallback", c)
			}
		})
	}
}

func TestUnsupportedEngine(t *testing.T) {
	t.Parallel()
	r := conntest.Test(context.Background(), job.Endpoint{Engine: job.EngineKafka, Host: "k"})
	require.NotNil(t, r.Error)
	assert.True(t, errs.Is(r.Error, errs.OperationDenied), "%v", r.Error)
}

func TestJSON(t *testing.T) {
	t.Parallel()
	r := conntest.Result{Reachable: true, ServerVersion: "15.20", RTTMillis: 0.25,
		Error: &errs.Error{Code: connector.AuthFailed, Message: "no", Fix: "fix it", Details: map[string]any{"x": 1}}}
	out, err := json.Marshal(r)
	require.NoError(t, err)
	assert.JSONEq(t, `{"reachable":true,"authenticated":false,"server_version":"15.20","rtt_ms":0.25,
		"error":{"code":"Connection.AuthFailed","message":"no","fix":"fix it"}}`, string(out))
	var back conntest.Result
	require.NoError(t, json.Unmarshal(out, &back))
	assert.Equal(t, r.Error.Code, back.Error.Code)
	assert.Equal(t, r.ServerVersion, back.ServerVersion)

	out, err = json.Marshal(conntest.Result{Reachable: true, Authenticated: true})
	require.NoError(t, err)
	assert.JSONEq(t, `{"reachable":true,"authenticated":true}`, string(out))
}
