package postgres

import (
	"context"
	"log/slog"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
)

// Source reads a PostgreSQL database: its tables' structure from
// pg_catalog, their rows through snapshots shared by several connections
// (COPY ... TO STDOUT, parsed into canonical values).
type Source struct {
	e    job.Endpoint
	log  *slog.Logger
	pool *pgxpool.Pool // catalog reads
	// exporter provides the snapshot that OpenSnapshot's readers share: by
	// default an exporting transaction (exportTransaction); the incremental
	// phase swaps in the snapshot a new replication slot exports.
	exporter snapshotExporter
}

var _ connector.Source = (*Source)(nil)

// OpenSource connects to e as a source. Errors are coded (connector codes).
func OpenSource(ctx context.Context, e job.Endpoint, log *slog.Logger) (*Source, error) {
	pool, err := openPool(ctx, e, 4, nil)
	if err != nil {
		return nil, err
	}
	return &Source{e: e, log: log.With("component", "postgres-source"), pool: pool, exporter: exportTransaction}, nil
}

// ListTables lists the ordinary and partitioned tables of every user schema.
func (s *Source) ListTables(ctx context.Context) ([]connector.TableRef, error) {
	return listTables(ctx, s.pool)
}

// ReadTables reads the structure of refs.
func (s *Source) ReadTables(ctx context.Context, refs []connector.TableRef) ([]*schema.Table, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, wrapErr(err, "read tables")
	}
	defer conn.Release()
	// One transaction: a consistent catalog, and one connection for the
	// many small type lookups.
	tx, err := conn.BeginTx(ctx, pgxTxReadOnly)
	if err != nil {
		return nil, wrapErr(err, "read tables")
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	return readTables(ctx, tx, refs)
}

// Close closes the source's connections. Snapshots are closed by their own Close.
func (s *Source) Close() error {
	s.pool.Close()
	return nil
}
