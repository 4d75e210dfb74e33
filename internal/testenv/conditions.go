package testenv

// Conditions a test can give a dedicated server: a small disk, a skewed clock.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

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

// faketimeLib is libfaketime as Debian's libfaketime package installs it.
var faketimeLib = "/usr/lib/" + debArch() + "/faketime/libfaketime.so.1"

func debArch() string {
	if runtime.GOARCH == "arm64" {
		return "aarch64-linux-gnu"
	}
	return "x86_64-linux-gnu"
}

var (
	faketimeOnce sync.Once
	faketimeErr  error
)

// needFaketime installs libfaketime when it is missing (as root; anyone else
// is told to).
func needFaketime() error {
	faketimeOnce.Do(func() {
		if isFile(faketimeLib) {
			return
		}
		if os.Geteuid() != 0 {
			faketimeErr = fmt.Errorf("%s is missing: install it with apt-get install -y libfaketime", faketimeLib)
			return
		}
		cmd := exec.Command("apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", "--no-install-recommends", "libfaketime")
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if faketimeErr = run(cmd); faketimeErr != nil {
			if faketimeErr = run(exec.Command("apt-get", "update")); faketimeErr == nil {
				faketimeErr = run(cmd)
			}
		}
	})
	return faketimeErr
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// fakeClock is the environment that shifts a process's wall clock by
// offset; its monotonic clock, which timeouts use, stays true.
func fakeClock(offset time.Duration) []string {
	return []string{"LD_PRELOAD=" + faketimeLib, fmt.Sprintf("FAKETIME=%+d", int64(offset.Seconds())),
		"FAKETIME_DONT_FAKE_MONOTONIC=1"}
}
