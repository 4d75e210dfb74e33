// Package sqlite is the embedded catalog: a catalog.Store in one SQLite file
// (modernc.org/sqlite, pure Go), its schema brought up to date by goose from
// numbered migrations built into the binary.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/secret"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the catalog in one SQLite file. It is safe for concurrent use.
type Store struct {
	db     *sql.DB
	box    *secret.Box
	logger *slog.Logger
}

var _ catalog.Store = (*Store)(nil)

// Open opens the catalog at path, creating it (mode 0600, its directory 0700)
// if it is missing, and migrates its schema to this binary's. Passwords are
// sealed with box. A catalog whose schema is newer than this binary is refused.
func Open(ctx context.Context, path string, box *secret.Box, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("component", "catalog")
	if box == nil {
		return nil, errors.New("catalog: open: no secret box")
	}
	if strings.ContainsRune(path, '?') {
		return nil, errs.New(errs.InvalidParameter, "the catalog path %q contains a '?'", path).
			WithFix("choose a data directory whose path has no '?'")
	}
	if err := createFile(path, logger); err != nil {
		return nil, err
	}
	db, err := sql.Open("sqlite", dsn(path))
	if err != nil {
		return nil, fmt.Errorf("catalog: open %s: %w", path, err)
	}
	// One connection: catalog writes are few and small, and with a single
	// connection every transaction (UpdateJob's read-modify-write included)
	// simply waits its turn in database/sql's pool, which honours ctx, instead
	// of spinning on SQLITE_BUSY.
	db.SetMaxOpenConns(1)
	s := &Store{db: db, box: box, logger: logger}
	if err := s.migrate(ctx); err != nil {
		return nil, errors.Join(fmt.Errorf("catalog: migrate %s: %w", path, err), db.Close())
	}
	return s, nil
}

// Close closes the database; SQLite checkpoints the WAL into the file.
func (s *Store) Close() error { return s.db.Close() }

// dsn sets the pragmas on every connection the pool opens (a PRAGMA run once
// with Exec would reach one connection only):
//   - journal_mode=WAL: readers do not block the writer, commits append.
//   - synchronous=FULL: the WAL is synced on every commit. NORMAL survives a
//     crash of dts but a power cut may drop the last commits; in the catalog of
//     a data-safety product a lost state change, delete or resume position is
//     worth one fsync per commit at a catalog's write rate.
//   - foreign_keys: SQLite leaves them off per connection; the cascades need them.
//   - busy_timeout: another process (a backup, the sqlite3 shell) may hold the lock.
//   - _txlock=immediate: transactions take the write lock at BEGIN, so a
//     read-then-write transaction never fails half-way with SQLITE_BUSY.
func dsn(path string) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(5000)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Set("_txlock", "immediate")
	return path + "?" + q.Encode()
}

// createFile creates the catalog file before SQLite does: SQLite would create
// it 0644, and it gives the -wal and -shm files the database file's mode.
func createFile(path string, logger *slog.Logger) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("catalog: create data directory: %w", err)
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("catalog: open %s: %w", path, err)
	}
	info, err := f.Stat()
	if err := errors.Join(err, f.Close()); err != nil {
		return fmt.Errorf("catalog: stat %s: %w", path, err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		// Passwords are sealed, but hosts, users and table rules are not.
		logger.Warn("the catalog file is readable by other users", "path", path, "mode", fmt.Sprintf("%04o", perm), "fix", "chmod 600 "+path)
	}
	return nil
}

func (s *Store) migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return err
	}
	current, target, err := p.GetVersions(ctx)
	if err != nil {
		return err
	}
	if current > target {
		// goose would do nothing, and this binary would misread the tables.
		return errs.New(errs.Internal, "the catalog schema is version %d, newer than this dts knows (%d)", current, target).
			WithFix("run the dts release that last used this catalog, or a newer one")
	}
	results, err := p.Up(ctx)
	if err != nil {
		return err
	}
	for _, r := range results {
		s.logger.Info("catalog schema migrated", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
	}
	return nil
}
