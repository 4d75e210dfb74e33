package testenv

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dtsorg/dts/internal/job"
)

// Server is one running database server.
type Server struct {
	Engine   job.Engine // EngineMariaDB or EnginePostgreSQL
	Host     string     // always 127.0.0.1
	Port     int
	User     string // the superuser tests log in as (User)
	Password string // its password (Password)
	Dir      string // data directory, socket and server.log

	flavor flavor
	shared bool // shared servers must not be stopped by a test

	mu   sync.Mutex
	proc *process // nil while stopped
}

// flavor is what differs between the engines.
type flavor interface {
	command(port int) *exec.Cmd
	stopSignal() syscall.Signal
	// ping logs in as the bootstrap administrator: true readiness.
	ping(ctx context.Context, port int) error
	// connector logs in as User.
	connector(port int, database string) (driver.Connector, error)
	createDatabase(name string) string
	dropDatabase(ctx context.Context, db *sql.DB, name string) error
}

// Endpoint returns an endpoint that logs in to database as User, without TLS.
func (s *Server) Endpoint(database string) job.Endpoint {
	return job.Endpoint{
		Engine:   s.Engine,
		Host:     s.Host,
		Port:     s.Port,
		User:     s.User,
		Password: job.Secret(s.Password),
		Database: database,
		TLS:      job.TLS{Mode: job.TLSDisable},
	}
}

// NewDatabase creates a database named after the test (t_<name>_<n>, at most
// 63 bytes) and drops it when the test ends.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := databaseName(t.Name(), dbSeq.Add(1))
	s.Exec(t, "", s.flavor.createDatabase(name))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		db, err := s.open("")
		if err == nil {
			err = s.flavor.dropDatabase(ctx, db, name)
			db.Close()
		}
		if err != nil {
			t.Errorf("testenv: drop database %s: %v", name, err)
		}
	})
	return name
}

// DB returns a connection pool to database ("" for none on MariaDB, the
// postgres database on PostgreSQL) as User; it is closed when the test ends.
func (s *Server) DB(t testing.TB, database string) *sql.DB {
	t.Helper()
	db, err := s.open(database)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = db.PingContext(ctx)
		cancel()
	}
	if err != nil {
		t.Fatalf("testenv: connect to %s database %q: %v", s.Engine, database, err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Exec runs the statements (one per string) in order on one session in
// database, failing the test at the first error. Call it from the test's goroutine.
func (s *Server) Exec(t testing.TB, database string, stmts ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := s.open(database)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatalf("testenv: connect to %s database %q: %v", s.Engine, database, err)
	}
	defer conn.Close()
	for _, q := range stmts {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("testenv: %s: %v\nstatement: %s", s.Engine, err, clip(q, 500))
		}
	}
}

func (s *Server) open(database string) (*sql.DB, error) {
	c, err := s.flavor.connector(s.Port, database)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(c), nil
}

// Kill kills the server with SIGKILL, as a crash would. Start brings it back.
func (s *Server) Kill(t testing.TB) {
	t.Helper()
	s.halt(t, (*process).kill)
}

// Stop shuts the server down gracefully (SIGKILL after 10 s).
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.halt(t, func(p *process) { p.stop(s.flavor.stopSignal()) })
}

func (s *Server) halt(t testing.TB, how func(*process)) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.shared:
		t.Fatal("testenv: the shared server must keep running; start your own with StartMariaDB or StartPostgres")
	case s.proc == nil:
		t.Fatal("testenv: the server is not running")
	}
	how(s.proc)
	s.proc = nil
}

// Start starts a stopped or killed server again, on the same port and data directory.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		t.Fatal("testenv: the server is running")
	}
	if err := s.boot(false); err != nil {
		t.Fatalf("testenv: restart %s: %v", s.Engine, err)
	}
}

// boot starts the server and waits until it accepts logins. With newPort it
// picks a free port, and picks another when that one was taken meanwhile.
func (s *Server) boot(newPort bool) error {
	for attempt := 1; ; attempt++ {
		if newPort {
			port, err := freePort()
			if err != nil {
				return err
			}
			s.Port = port
		}
		p, err := startProcess(s.flavor.command(s.Port), filepath.Join(s.Dir, "server.log"))
		if err != nil {
			return err
		}
		err = p.waitReady(func(ctx context.Context) error { return s.flavor.ping(ctx, s.Port) })
		if err == nil {
			s.proc = p
			return nil
		}
		p.kill()
		if !newPort || attempt == 3 || !addrInUse(err) {
			return err
		}
	}
}

// shutdown stops the server and removes its directory.
func (s *Server) shutdown() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		s.proc.stop(s.flavor.stopSignal())
		s.proc = nil
	}
	if m, ok := s.flavor.(*mariadb); ok && m.opts.DataDisk > 0 {
		unmountDisk(filepath.Join(s.Dir, "data"))
	}
	if err := os.RemoveAll(s.Dir); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: remove %s: %v\n", s.Dir, err)
	}
}

// databaseName returns t_<test name, lower-case, [a-z0-9_]>_<n>, at most 63 bytes.
func databaseName(test string, n int64) string {
	var b strings.Builder
	for _, r := range strings.ToLower(test) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case !strings.HasSuffix(b.String(), "_"):
			b.WriteByte('_')
		}
	}
	suffix := "_" + strconv.FormatInt(n, 10)
	name := strings.Trim(b.String(), "_")
	if limit := 63 - len("t_") - len(suffix); len(name) > limit {
		name = strings.TrimRight(name[:limit], "_")
	}
	return "t_" + name + suffix
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
