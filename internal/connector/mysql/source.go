package mysql

import (
	"context"
	"database/sql"
	"log/slog"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
)

// Source reads a MySQL 5.7/8 or MariaDB 10.x server: its tables' structure
// from information_schema, its rows inside a consistent snapshot.
type Source struct {
	e   job.Endpoint
	db  *sql.DB // catalog queries
	cat *catalog
	log *slog.Logger
}

var _ connector.Source = (*Source)(nil)

// OpenSource connects to e as a source. Connection errors are coded
// (connector codes).
func OpenSource(ctx context.Context, e job.Endpoint, log *slog.Logger) (*Source, error) {
	db, err := openPool(ctx, e, map[string]string{"sql_mode": sourceSQLMode}, false)
	if err != nil {
		return nil, err
	}
	srv, err := readServer(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	f, err := readFeatures(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	log = log.With("component", "mysql-source", "server", connector.Addr(e))
	return &Source{e: e, db: db, cat: &catalog{db: db, srv: srv, features: f}, log: log}, nil
}

// Flavor is mysql or mariadb.
func (s *Source) Flavor() string { return s.cat.srv.flavor() }

// ListTables lists the base tables of every database but the system ones
// and dts_meta, ordered by database and name.
func (s *Source) ListTables(ctx context.Context) ([]connector.TableRef, error) {
	return s.cat.listTables(ctx)
}

// ReadTables reads the structure of tables; Type.Raw is COLUMN_TYPE.
func (s *Source) ReadTables(ctx context.Context, refs []connector.TableRef) ([]*schema.Table, error) {
	return s.cat.readTables(ctx, refs)
}

// Close closes the source's connections.
func (s *Source) Close() error { return s.db.Close() }
