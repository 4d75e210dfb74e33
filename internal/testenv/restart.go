package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
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

// template is a data directory initialised once per test binary and copied
// for every server: copying takes a tenth of a second, initialising most of
// a second of the two cores.
type template struct {
	once sync.Once
	dir  string // holds data/
	err  error
}

var (
	mariadbTemplate  template
	postgresTemplate template
)

// copyTo copies the template's data directory to dir/data, initialising the
// template first with initialise(templateDir) on first use. Ownership and
// modes are kept (PostgreSQL's directory belongs to the postgres user).
func (tp *template) copyTo(dir, prefix string, initialise func(string) error) error {
	tp.once.Do(func() {
		if tp.dir, tp.err = tempDir(prefix); tp.err != nil {
			return
		}
		if tp.err = initialise(tp.dir); tp.err != nil {
			os.RemoveAll(tp.dir)
		}
	})
	if tp.err != nil {
		return tp.err
	}
	src, dst := filepath.Join(tp.dir, "data"), filepath.Join(dir, "data")
	if _, err := os.Stat(dst); err == nil { // a mounted disk: fill it
		return run(exec.Command("cp", "-a", src+"/.", dst))
	}
	return run(exec.Command("cp", "-a", src, dst))
}

// mountDisk mounts a tmpfs of size bytes at dir.
func mountDisk(dir string, size int64) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	return run(exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.FormatInt(size, 10)+",mode=0700", "tmpfs", dir))
}

// unmountDisk unmounts what mountDisk mounted at dir, if anything.
func unmountDisk(dir string) {
	_ = exec.Command("umount", dir).Run() // not a mount point: nothing to do
}

// ResizeDataDisk changes the size of a MariaDB server's DataDisk while it
// runs, as an administrator grows a volume.
func (s *Server) ResizeDataDisk(t testing.TB, size int64) {
	t.Helper()
	m, ok := s.flavor.(*mariadb)
	if !ok || m.opts.DataDisk == 0 {
		t.Fatal("testenv: ResizeDataDisk needs a MariaDB server started with DataDisk")
	}
	dir := filepath.Join(s.Dir, "data")
	if err := run(exec.Command("mount", "-o", "remount,size="+strconv.FormatInt(size, 10), dir)); err != nil {
		t.Fatalf("testenv: %v", err)
	}
	m.opts.DataDisk = size
}

// removeTemplates removes the templates when the test binary ends.
func removeTemplates() {
	for _, tp := range []*template{&mariadbTemplate, &postgresTemplate} {
		if tp.dir != "" {
			os.RemoveAll(tp.dir)
		}
	}
}
