package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"sync"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
)

// Codes of the sink's refusals.
const (
	CodeTargetTableExists  = "OperationDenied.TargetTableExists"
	CodeTargetOwned        = "OperationDenied.TargetOwned"
	CodeReferenceMissing   = "OperationDenied.ReferencedTableMissing"
	CodeUnsupportedValue   = "OperationDenied.UnsupportedValue"
	CodeDuplicateKey       = "OperationDenied.DuplicateKey"
	CodeUnknownTablePolicy = "InvalidParameter.ExistingTables"
)

// Sink writes to a MySQL 5.7/8 or MariaDB 10.x server: tables, rows, and
// the jobs' bookkeeping in the dts_meta database.
type Sink struct {
	e   job.Endpoint
	db  *sql.DB
	srv server
	log *slog.Logger

	maxPacket int // the server's max_allowed_packet
	batchRows int // rows per INSERT statement at most

	metaMu    sync.Mutex
	metaReady bool

	plansMu sync.Mutex
	plans   map[string]*insertPlan // by table and columns
}

var _ connector.Sink = (*Sink)(nil)

// defaultBatchRows is the rows per INSERT statement unless the endpoint's
// options.batch_rows says otherwise.
const defaultBatchRows = 1000

// OpenSink connects to e as a target. Sessions run with time_zone +00:00, a
// strict sql_mode and foreign_key_checks=0 (the load writes children before
// parents; keys come last). The pool keeps a connection per possible
// worker (parallelism.max is at most job.MaxParallelism), so workers do not
// reconnect and re-prepare.
func OpenSink(ctx context.Context, e job.Endpoint, log *slog.Logger) (*Sink, error) {
	db, err := openPool(ctx, e, map[string]string{"sql_mode": sinkSQLMode, "foreign_key_checks": "0"}, true)
	if err != nil {
		return nil, err
	}
	db.SetMaxIdleConns(job.MaxParallelism + 4)
	srv, err := readServer(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	var packet int
	if err := db.QueryRowContext(ctx, "SELECT @@max_allowed_packet").Scan(&packet); err != nil {
		db.Close()
		return nil, fmt.Errorf("read max_allowed_packet: %w", err)
	}
	rows := defaultBatchRows
	if e.Options.BatchRows > 0 {
		rows = e.Options.BatchRows
	}
	log = log.With("component", "mysql-sink", "server", connector.Addr(e))
	return &Sink{e: e, db: db, srv: srv, log: log, maxPacket: packet, batchRows: rows, plans: map[string]*insertPlan{}}, nil
}

// Flavor is mysql or mariadb.
func (s *Sink) Flavor() string { return s.srv.flavor() }

// Close closes the sink's statements and connections.
func (s *Sink) Close() error {
	s.plansMu.Lock()
	for k, p := range s.plans {
		p.close()
		delete(s.plans, k)
	}
	s.plansMu.Unlock()
	return s.db.Close()
}

// TableInfo says whether a target table exists and holds rows.
func (s *Sink) TableInfo(ctx context.Context, schemaName, table string) (exists, hasRows bool, err error) {
	exists, err = s.tableExists(ctx, schemaName, table)
	if err != nil || !exists {
		return exists, false, err
	}
	var one int
	err = s.db.QueryRowContext(ctx, "SELECT 1 FROM "+quoteTable(schemaName, table)+" LIMIT 1").Scan(&one)
	if err == sql.ErrNoRows {
		return true, false, nil
	}
	if err != nil {
		return true, false, fmt.Errorf("read %s.%s: %w", schemaName, table, err)
	}
	return true, true, nil
}

func (s *Sink) tableExists(ctx context.Context, schemaName, table string) (bool, error) {
	var n int
	err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
		schemaName, table).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("look up table %s.%s: %w", schemaName, table, err)
	}
	return n > 0, nil
}

// PrepareTable creates the database if needed and the table with its
// primary key, as policy says for an existing table: fail (a coded error),
// append (keep it and its rows), truncate (empty it), recreate (drop it).
func (s *Sink) PrepareTable(ctx context.Context, t *schema.Table, policy string) error {
	if _, err := s.db.ExecContext(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(t.Schema)+" DEFAULT CHARACTER SET utf8mb4"); err != nil {
		return fmt.Errorf("create database %s: %w", t.Schema, err)
	}
	exists, err := s.tableExists(ctx, t.Schema, t.Name)
	if err != nil {
		return err
	}
	switch policy {
	case job.ExistingFail, "":
		if exists {
			return errs.New(CodeTargetTableExists, "table %s already exists on the target", t).
				WithFix("drop or rename it, or set target.options.existing_tables to append (keep its rows), " +
					"truncate (empty it) or recreate (drop and create it)")
		}
	case job.ExistingAppend:
		if exists {
			return nil
		}
	case job.ExistingTruncate:
		if exists {
			if _, err := s.db.ExecContext(ctx, "TRUNCATE TABLE "+quoteTable(t.Schema, t.Name)); err != nil {
				return fmt.Errorf("truncate %s: %w", t, err)
			}
			return nil
		}
	case job.ExistingRecreate:
		if exists {
			if _, err := s.db.ExecContext(ctx, "DROP TABLE IF EXISTS "+quoteTable(t.Schema, t.Name)); err != nil {
				return fmt.Errorf("drop %s: %w", t, err)
			}
		}
	default:
		e := errs.Invalid([]errs.FieldError{{Path: "target.options.existing_tables",
			Message: fmt.Sprintf("%q is not a policy: use fail, append, truncate or recreate", policy)}})
		e.Code = CodeUnknownTablePolicy
		return e
	}
	q, err := s.createTableSQL(t)
	if err != nil {
		return fmt.Errorf("create %s: %w", t, err)
	}
	return s.ddl(ctx, q, "create "+t.String())
}

// ddl runs a DDL statement on a session that spells TIMESTAMP columns as
// written (explicit_defaults_for_timestamp; MySQL 5.7 defaults it off).
func (s *Sink) ddl(ctx context.Context, q, what string) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer conn.Close()
	if !s.srv.mariadb {
		conn.ExecContext(ctx, "SET SESSION explicit_defaults_for_timestamp = 1") //nolint:errcheck // read-only on some versions
	}
	if _, err := conn.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}
