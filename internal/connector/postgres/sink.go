package postgres

import (
	"context"
	"errors"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
)

// Sink writes to a PostgreSQL database: tables created from the schema
// model, rows by COPY ... FROM STDIN, and the jobs' bookkeeping in the
// dts_meta schema of the target database.
type Sink struct {
	e    job.Endpoint
	log  *slog.Logger
	pool *pgxpool.Pool

	roleOnce sync.Once // logs once that session_replication_role is refused
}

var _ connector.Sink = (*Sink)(nil)

// sinkConns bounds the sink's connections: one per concurrent chunk
// transaction at the highest parallelism a job may have, and a few for
// structure and bookkeeping. Connections open only when used.
const sinkConns = job.MaxParallelism + 4

// OpenSink connects to e as a target. Errors are coded (connector codes).
//
// Every session runs with session_replication_role=replica when the user
// may set it (superusers, or a GRANT SET ON PARAMETER on PostgreSQL 15+):
// the target's triggers and foreign key checks then do not fire for the
// copied rows. Without it the load still works, triggers firing.
func OpenSink(ctx context.Context, e job.Endpoint, log *slog.Logger) (*Sink, error) {
	s := &Sink{e: e, log: log.With("component", "postgres-sink")}
	pool, err := openPool(ctx, e, sinkConns, s.prepareSession)
	if err != nil {
		return nil, err
	}
	s.pool = pool
	return s, nil
}

const insufficientPrivilege = "42501"

func (s *Sink) prepareSession(ctx context.Context, conn *pgx.Conn) error {
	_, err := conn.Exec(ctx, `SET session_replication_role = replica`)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == insufficientPrivilege {
		s.roleOnce.Do(func() {
			s.log.WarnContext(ctx, "the target user may not set session_replication_role: triggers and foreign key checks of the target tables fire during the load",
				"fix", "run dts as a superuser on the target, or GRANT SET ON PARAMETER session_replication_role TO the user (PostgreSQL 15+)")
		})
		return nil
	}
	return err
}

// Close closes the sink's connections.
func (s *Sink) Close() error {
	s.pool.Close()
	return nil
}

// MapTable returns src as a PostgreSQL table (see mapTable).
func (s *Sink) MapTable(src *schema.Table, sourceEngine string) (*schema.Table, []connector.TypeProblem) {
	return mapTable(src, sourceEngine)
}

// TableInfo says whether schemaName.table exists and holds rows.
func (s *Sink) TableInfo(ctx context.Context, schemaName, table string) (exists, hasRows bool, err error) {
	name := quoteQualified(schemaName, table)
	if err := s.pool.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&exists); err != nil || !exists {
		return false, false, wrapErr(err, "look up %s.%s", schemaName, table)
	}
	err = s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM `+name+`)`).Scan(&hasRows)
	return true, hasRows, wrapErr(err, "look into %s.%s", schemaName, table)
}

// inTx runs fn in a transaction on one pooled connection.
func (s *Sink) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}
