// Package testenv starts throwaway MariaDB and PostgreSQL servers for tests,
// from the Debian binaries on the machine (installed with apt-get when missing
// and the tests run as root). No containers, no servers that were already
// running: every server has its own temporary directory, port and settings.
//
// One MariaDB and one PostgreSQL server are shared per test binary; they start
// on first use and stop when the tests end, so every package with integration
// tests has
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }
//
// Tests share a server and isolate themselves with a database each
// (NewDatabase). A test that needs other settings, or kills and restarts the
// server, starts a dedicated one (StartMariaDB, StartPostgres), copied from a
// data directory initialised once per binary; RestartMariaDB and
// RestartPostgres restart it with changed settings.
//
// Every server has a superuser named User whose Password holds characters
// that break naive DSN building; Endpoint logs in as that user.
package testenv

import (
	"sync"
	"sync/atomic"
	"testing"
)

// User and Password log in as a superuser on every harness server.
const (
	User     = "dts"
	Password = `p@ss:w/rd?&;='"\ x`
)

var (
	mainRunning    atomic.Bool
	sharedMariaDB  lazyServer
	sharedPostgres lazyServer
	dbSeq          atomic.Int64
)

// Main runs the tests and then stops the shared servers. Call it from TestMain.
func Main(m *testing.M) int {
	mainRunning.Store(true)
	code := m.Run()
	for _, l := range []*lazyServer{&sharedMariaDB, &sharedPostgres} {
		if l.srv != nil {
			l.srv.shutdown()
		}
	}
	removeTemplates()
	return code
}

// MariaDB returns the test binary's shared MariaDB server, starting it on first use.
func MariaDB(t testing.TB) *Server {
	t.Helper()
	return sharedMariaDB.get(t, func() (*Server, error) { return startMariaDB(MariaDBOptions{}) })
}

// Postgres returns the test binary's shared PostgreSQL server, starting it on first use.
func Postgres(t testing.TB) *Server {
	t.Helper()
	return sharedPostgres.get(t, func() (*Server, error) { return startPostgres(PostgresOptions{}) })
}

type lazyServer struct {
	once sync.Once
	srv  *Server
	err  error
}

func (l *lazyServer) get(t testing.TB, start func() (*Server, error)) *Server {
	t.Helper()
	if !mainRunning.Load() {
		t.Fatal("testenv: the package needs func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }")
	}
	l.once.Do(func() {
		l.srv, l.err = start()
		if l.err == nil {
			l.srv.shared = true
		}
	})
	if l.err != nil {
		t.Fatalf("testenv: %v", l.err)
	}
	return l.srv
}
