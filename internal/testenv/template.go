package testenv

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

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

// removeTemplates removes the templates when the test binary ends.
func removeTemplates() {
	for _, tp := range []*template{&mariadbTemplate, &postgresTemplate} {
		if tp.dir != "" {
			os.RemoveAll(tp.dir)
		}
	}
}
