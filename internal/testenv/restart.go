package testenv

import (
	"testing"
)

// Restart stops a dedicated server gracefully and starts it again on the
// same port and data directory: settings changed with ALTER SYSTEM on
// PostgreSQL take effect (the harness's own settings are in a configuration
// file that postgresql.auto.conf overrides, as on a real server).
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop(t)
	s.Start(t)
}

// RestartMariaDB restarts a dedicated MariaDB server with options o, as a
// DBA changes a server's configuration file and restarts it. The TLS setup
// stays as it was.
func (s *Server) RestartMariaDB(t testing.TB, o MariaDBOptions) {
	t.Helper()
	m, ok := s.flavor.(*mariadb)
	if !ok {
		t.Fatalf("testenv: RestartMariaDB on a %s server", s.Engine)
	}
	s.Stop(t)
	o.TLS = m.opts.TLS
	m.opts = o
	s.Start(t)
}

// RestartPostgres restarts a dedicated PostgreSQL server with options o
// (Settings replace the earlier ones; ALTER SYSTEM still overrides them).
// The TLS setup stays as it was.
func (s *Server) RestartPostgres(t testing.TB, o PostgresOptions) {
	t.Helper()
	p, ok := s.flavor.(*postgres)
	if !ok {
		t.Fatalf("testenv: RestartPostgres on a %s server", s.Engine)
	}
	s.Stop(t)
	o.TLS = p.opts.TLS
	p.opts = o
	if err := p.writeSettings(); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	s.Start(t)
}
