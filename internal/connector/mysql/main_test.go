package mysql

import (
	"fmt"
	"os"
	"testing"

	"github.com/dtsorg/dts/internal/testenv"
)

func TestMain(m *testing.M) {
	// MariaDB keeps internal temporary tables in $TMPDIR under names made of
	// its process id; servers of other test binaries that share /tmp from
	// another PID namespace can have the same id and crash on each other's
	// files. A directory of this binary's own avoids that.
	dir, err := os.MkdirTemp("", "dtsmy")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Setenv("TMPDIR", dir)
	code := testenv.Main(m)
	os.RemoveAll(dir)
	os.Exit(code)
}
