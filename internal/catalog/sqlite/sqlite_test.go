package sqlite_test

import (
	"crypto/rand"
	"database/sql"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/catalog/catalogtest"
	"github.com/dtsorg/dts/internal/catalog/sqlite"
	"github.com/dtsorg/dts/internal/secret"
)

func TestConformance(t *testing.T) {
	t.Parallel()
	catalogtest.Run(t, func(t *testing.T) catalogtest.Harness {
		path := filepath.Join(t.TempDir(), "catalog.db")
		return catalogtest.Harness{
			Store:  open(t, path, newBox(t)),
			Reopen: func(t *testing.T, box *secret.Box) catalog.Store { return open(t, path, box) },
			Raw:    func(t *testing.T) []byte { return rawBytes(t, path) },
		}
	})
}

// open opens the store at path and closes it when the test ends.
func open(t *testing.T, path string, box *secret.Box) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), path, box, testLogger(t))
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, s.Close()) })
	return s
}

// testLogger shows the store's logs with the test's output (on failure or -v).
func testLogger(t *testing.T) *slog.Logger { return slog.New(slog.NewTextHandler(t.Output(), nil)) }

func newBox(t *testing.T) *secret.Box {
	t.Helper()
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	box, err := secret.NewBox(key)
	require.NoError(t, err)
	return box
}

// rawDB is a second, plain connection to the file, to look at it from outside
// the store.
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, db.Close()) })
	return db
}

// rawBytes checkpoints the WAL into the database file, so both hold
// everything written, and returns the bytes of every file SQLite keeps.
// A FULL checkpoint leaves the WAL's frames in place (TRUNCATE would not),
// so what went through the WAL is read too.
func rawBytes(t *testing.T, path string) []byte {
	t.Helper()
	var busy, frames, moved int
	err := rawDB(t, path).QueryRowContext(t.Context(), `PRAGMA wal_checkpoint(FULL)`).Scan(&busy, &frames, &moved)
	require.NoError(t, err)
	require.Zero(t, busy, "checkpoint blocked")
	require.Equal(t, frames, moved, "checkpoint incomplete")

	var out []byte
	for _, suffix := range []string{"", "-wal", "-journal"} {
		b, err := os.ReadFile(path + suffix)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		require.NoError(t, err)
		out = append(out, b...)
	}
	return out
}
