package testenv

// What the harness needs from the machine: binaries, ports, directories.

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// mariadbBinaries finds mariadbd and mariadb-install-db, installing them when missing.
func mariadbBinaries() (server, installDB string, err error) {
	find := func() bool {
		server = lookPath([]string{"mariadbd", "mysqld"}, "/usr/sbin")
		installDB = lookPath([]string{"mariadb-install-db", "mysql_install_db"}, "/usr/bin")
		return server != "" && installDB != ""
	}
	if find() {
		return server, installDB, nil
	}
	if err := install(); err != nil {
		return "", "", err
	}
	if !find() {
		return "", "", fmt.Errorf("mariadbd or mariadb-install-db not found after installing mariadb-server")
	}
	return server, installDB, nil
}

// pgBinDir finds PostgreSQL's server binaries: $DTS_PG_BINDIR, initdb on
// PATH, or the newest /usr/lib/postgresql/<version>/bin (Debian's layout, not
// on PATH); it installs them when missing.
func pgBinDir() (string, error) {
	find := func() string {
		if d := os.Getenv("DTS_PG_BINDIR"); d != "" {
			return d
		}
		if p, err := exec.LookPath("initdb"); err == nil {
			if real, err := filepath.EvalSymlinks(p); err == nil {
				p = real // a link on PATH: postgres is next to the real initdb
			}
			return filepath.Dir(p)
		}
		dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
		slices.SortFunc(dirs, func(a, b string) int { return pgVersion(a) - pgVersion(b) })
		if len(dirs) == 0 {
			return ""
		}
		return filepath.Dir(dirs[len(dirs)-1])
	}
	if d := find(); d != "" {
		return d, nil
	}
	if err := install(); err != nil {
		return "", err
	}
	if d := find(); d != "" {
		return d, nil
	}
	return "", fmt.Errorf("initdb not found after installing postgresql")
}

// pgVersion returns the major version in /usr/lib/postgresql/<version>/bin/initdb.
func pgVersion(path string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(path))))
	return v
}

// freePort returns a TCP port that was free a moment ago. Another process may
// take it before the server binds it; the caller retries on "Address already in use".
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func addrInUse(err error) bool {
	return err != nil && strings.Contains(err.Error(), "Address already in use")
}

// tempDir makes a short directory for a server: the unix socket path inside
// it must stay under 107 bytes. The directory records the test binary's pid,
// so that a later run can remove it if this one dies before its cleanup.
func tempDir(prefix string) (string, error) {
	parent := os.TempDir()
	if len(parent) > 40 {
		parent = "/tmp"
	}
	sweepOnce.Do(func() { sweep(parent) })
	dir, err := os.MkdirTemp(parent, prefix)
	if err != nil {
		return "", err
	}
	return dir, os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644)
}

const ownerFile = "owner.pid"

var sweepOnce sync.Once

// sweep removes the directories of servers whose test binary died (killed,
// or timed out by go test) before it could remove them.
func sweep(parent string) {
	dirs, _ := filepath.Glob(filepath.Join(parent, "dts[mp]*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue // not ours, or being created right now
		}
		pid, err := strconv.Atoi(string(b))
		if err == nil && pid > 0 && !alive(pid) {
			unmountDisk(filepath.Join(dir, "data")) // a DataDisk left mounted
			os.RemoveAll(dir)
		}
	}
}

// lookPath finds the first of names on PATH or in dir.
func lookPath(names []string, dir string) string {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
		if p := filepath.Join(dir, n); isExecutable(p) {
			return p
		}
	}
	return ""
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0
}

var (
	installOnce sync.Once
	installErr  error
)

// install installs the Debian server packages, once per test binary. Only
// root can; anyone else gets told what to install. The tests never skip.
func install() error {
	installOnce.Do(func() {
		if os.Geteuid() != 0 {
			installErr = errors.New("MariaDB or PostgreSQL server binaries are missing and the tests do not run as root: " +
				"install them with apt-get install -y --no-install-recommends mariadb-server postgresql " +
				"(or point DTS_PG_BINDIR at PostgreSQL's bin directory)")
			return
		}
		apt := func(args ...string) error {
			cmd := exec.Command("apt-get", append([]string{"-o", "DPkg::Lock::Timeout=300"}, args...)...)
			cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
			return run(cmd)
		}
		pkgs := []string{"install", "-y", "--no-install-recommends", "mariadb-server", "postgresql"}
		if installErr = apt(pkgs...); installErr != nil {
			// A fresh machine may have no package lists yet.
			if installErr = apt("update"); installErr == nil {
				installErr = apt(pkgs...)
			}
		}
	})
	return installErr
}
