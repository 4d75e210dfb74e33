package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
)

// Applying change streams (docs/design/incremental.md): each apply worker
// has an applier, a pooled connection it keeps, on which it holds a
// transaction open across source transactions and commits it with its
// checkpoint row. Statements are pipelined: Apply queues them (parameters
// encoded at once, as text the server reads with the column type's input
// function), and they go in one round trip when the queue fills or at
// Commit, whose COMMIT is sent only after every queued result was checked.
// Statements are in apply_write.go, DDL in apply_ddl.go, the bookkeeping in
// apply_meta.go.

var _ connector.ApplySink = (*Sink)(nil)

// applier is one worker's connection and open transaction.
type applier struct {
	s       *Sink
	jobID   string
	worker  int
	workers int
	routing int

	conn   *pgxpool.Conn
	tx     pgx.Tx // nil: no transaction open
	broken bool

	queue       *pgx.Batch
	checks      []queued // one per queued statement
	queuedRows  int
	queuedBytes int

	plans map[*connector.ApplyTable]*applyPlan
	// versions is the table version each target table was last written
	// with (see plan).
	versions map[string]*connector.ApplyTable
	// mayStage: the user may create temporary tables (bulk updates'
	// staging tables, apply_bulk.go); nil until asked.
	mayStage *bool
}

// resultCheck reads one queued statement's result.
type resultCheck func(br pgx.BatchResults) error

// queued is a statement in the pipeline: the table it writes (for
// messages: the server names no table when a parameter does not fit its
// column's type) and how its result is read.
type queued struct {
	table string
	check resultCheck
}

// Queue bounds: a pipeline goes out when it holds this many rows or bytes.
const (
	maxQueuedRows  = 2000
	maxQueuedBytes = 1 << 20
	maxApplyPlans  = 256
)

// OpenApplier opens worker's applier on a pooled connection it keeps. The
// pool's sessions run with TimeZone UTC and, where allowed,
// session_replication_role = replica (no triggers, no foreign key checks);
// both are checked on the connection.
func (s *Sink) OpenApplier(ctx context.Context, jobID string, worker, workers, routing int) (connector.Applier, error) {
	if err := s.inTx(ctx, func(tx pgx.Tx) error { return createMeta(ctx, tx) }); err != nil {
		return nil, wrapErr(err, "create the bookkeeping schema dts_meta on the target")
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, wrapErr(err, "apply worker %d: connect", worker)
	}
	var zone string
	if err := conn.QueryRow(ctx, `SELECT current_setting('TimeZone')`).Scan(&zone); err != nil || zone != "UTC" {
		conn.Release()
		if err == nil {
			err = fmt.Errorf("the session's TimeZone is %q, want UTC", zone)
		}
		return nil, wrapErr(err, "apply worker %d: check session settings", worker)
	}
	return &applier{s: s, jobID: jobID, worker: worker, workers: workers, routing: routing, conn: conn,
		queue: &pgx.Batch{}, plans: map[*connector.ApplyTable]*applyPlan{}, versions: map[string]*connector.ApplyTable{}}, nil
}

var errBroken = errors.New("apply: the transaction failed earlier: roll it back first")

// begin opens the target transaction if none is open.
func (a *applier) begin(ctx context.Context) error {
	if a.broken {
		return errBroken
	}
	if a.tx != nil {
		return nil
	}
	tx, err := a.conn.Begin(ctx)
	if err != nil {
		a.broken = true
		return wrapErr(err, "apply worker %d: begin", a.worker)
	}
	a.tx = tx
	return nil
}

func (a *applier) fail(err error) error {
	if err != nil {
		a.broken = true
	}
	return err
}

// enqueue adds a statement that writes table to the pipeline; it goes out
// once the pipeline is full.
func (a *applier) enqueue(ctx context.Context, table, q string, args []any, rows, bytes int, check resultCheck) error {
	a.queue.Queue(q, args...)
	a.checks = append(a.checks, queued{table: table, check: check})
	a.queuedRows += rows
	a.queuedBytes += bytes
	if a.queuedRows >= maxQueuedRows || a.queuedBytes >= maxQueuedBytes {
		return a.flush(ctx)
	}
	return nil
}

// flush sends the queued statements in one round trip and checks their
// results in order; the first failure is returned.
func (a *applier) flush(ctx context.Context) error {
	if len(a.checks) == 0 {
		return nil
	}
	br := a.tx.SendBatch(ctx, a.queue)
	var first error
	table := ""
	for _, q := range a.checks {
		if err := q.check(br); err != nil {
			first, table = err, q.table
			break
		}
	}
	if err := br.Close(); err != nil && first == nil {
		first = err
	}
	a.queue = &pgx.Batch{}
	clear(a.checks)
	a.checks = a.checks[:0]
	a.queuedRows, a.queuedBytes = 0, 0
	if first != nil {
		return a.fail(a.explain(first, table))
	}
	return nil
}

// explain turns a server error of a statement writing table into a coded
// one where a user can act.
func (a *applier) explain(err error, table string) error {
	var coded *errs.Error
	if errors.As(err, &coded) {
		return err
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		if pgErr.TableName != "" {
			table = qualified(pgErr.SchemaName, pgErr.TableName)
		}
		switch {
		case pgErr.Code == "23505": // unique_violation
			return divergence(table, "a row's key is taken: %s", pgErr.Detail)
		case strings.HasPrefix(pgErr.Code, "22") || pgErr.Code == "23502" || pgErr.Code == "23514": // data exception, not null, check
			what := "table " + table
			if pgErr.ColumnName != "" {
				what += " column " + pgErr.ColumnName
			}
			msg := pgErr.Message
			if pgErr.Detail != "" {
				msg += " (" + pgErr.Detail + ")"
			}
			return errs.New(CodeUnsupportedValue, "the target refused a value of %s: %s", what, msg).
				WithFix("change the target column's type, or leave the column or table out of the job")
		}
	}
	return wrapErr(err, "apply worker %d", a.worker)
}

func qualified(schemaName, table string) string {
	if schemaName == "" {
		return table
	}
	return schemaName + "." + table
}

// divergence is the coded error of a row the target does not hold as the
// change stream expects.
func divergence(table, what string, args ...any) error {
	return errs.New(connector.CodeDivergence, "table %s on the target: %s", table, fmt.Sprintf(what, args...)).WithDetail("table", table).
		WithFix("the target was changed outside dts: compare the table with the source and repair it (or reload it), then resume the job")
}

// Commit writes the checkpoint and commits: the queued statements and the
// checkpoint go in one round trip, COMMIT after their results were checked.
func (a *applier) Commit(ctx context.Context, cp connector.Checkpoint) error {
	if a.broken {
		return errBroken
	}
	args := []any{a.jobID, a.worker, a.workers, string(cp.Pos.Encode()), cp.Seq, cp.Complete, string(cp.Ack.Encode()), a.routing}
	if a.tx == nil { // nothing applied: the checkpoint alone (one statement is atomic)
		if _, err := a.conn.Exec(ctx, checkpointSQL, args...); err != nil {
			return a.fail(wrapErr(err, "apply worker %d: write the checkpoint", a.worker))
		}
		return nil
	}
	err := a.enqueue(ctx, "dts_meta.checkpoints", checkpointSQL, args, 0, 0, func(br pgx.BatchResults) error {
		_, err := br.Exec()
		return err
	})
	if err == nil {
		err = a.flush(ctx)
	}
	if err != nil {
		return a.fail(err)
	}
	// The COMMIT is not abandoned when ctx ends (a pause, another worker's
	// failure): a COMMIT the server already runs lands even when the client
	// stops waiting, possibly after the next run has read the checkpoints,
	// and that run would apply the same rows again. It gets a bounded wait
	// of its own instead.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	if err := a.tx.Commit(cctx); err != nil {
		return a.fail(wrapErr(err, "apply worker %d: commit", a.worker))
	}
	a.tx = nil
	return nil
}

// commitTimeout bounds a COMMIT that outlives its run's context.
const commitTimeout = time.Minute

const checkpointSQL = `INSERT INTO dts_meta.checkpoints (job_id, worker, workers, txn_pos, seq, complete, ack_pos, updated_at, routing)
	VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7::jsonb, now(), $8)
	ON CONFLICT (job_id, worker) DO UPDATE SET workers = EXCLUDED.workers, txn_pos = EXCLUDED.txn_pos, seq = EXCLUDED.seq,
		complete = EXCLUDED.complete, ack_pos = EXCLUDED.ack_pos, updated_at = EXCLUDED.updated_at, routing = EXCLUDED.routing`

// Rollback abandons the open transaction and the queued statements.
func (a *applier) Rollback(ctx context.Context) error {
	a.queue = &pgx.Batch{}
	a.checks = a.checks[:0]
	a.queuedRows, a.queuedBytes = 0, 0
	a.broken = false
	if a.tx == nil {
		return nil
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := a.tx.Rollback(rctx)
	a.tx = nil
	if err != nil {
		// The pool closes a connection released inside a transaction.
		return wrapErr(err, "apply worker %d: roll back", a.worker)
	}
	return nil
}

// Close rolls back and returns the connection to the pool (which closes it
// if it is still inside a transaction).
func (a *applier) Close() error {
	if a.conn == nil {
		return nil
	}
	a.Rollback(context.Background()) //nolint:errcheck // the pool drops a connection left in a transaction
	a.conn.Release()
	a.conn = nil
	return nil
}
