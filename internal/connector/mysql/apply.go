package mysql

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
)

// Applying change streams (docs/design/incremental.md): each apply worker
// has an applier, a connection of its own on which it keeps a transaction
// open across source transactions and commits it with its checkpoint row.
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

	conn   *sql.Conn
	inTx   bool // START TRANSACTION sent, no COMMIT/ROLLBACK since
	broken bool // a call failed: only Rollback and Close are allowed

	stmts *stmtCache
	plans map[*connector.ApplyTable]*applyPlan
	// stages counts the staging tables made on this connection (the
	// connection is not returned to the pool when there are); noStage:
	// the session may not create them (apply_stage.go).
	stages  int
	noStage bool
}

// maxApplyPlans bounds the table plans an applier caches (a plan per table
// version; DDL makes new versions).
const maxApplyPlans = 256

// OpenApplier opens worker's applier on a connection of its own. The pool's
// session settings (time zone UTC, strict sql_mode, foreign_key_checks=0)
// are checked on it, and its transactions run READ COMMITTED: apply reads
// nothing a snapshot would keep consistent, and without gap locks workers
// writing neighbouring keys do not block each other.
func (s *Sink) OpenApplier(ctx context.Context, jobID string, worker, workers, routing int) (connector.Applier, error) {
	if err := s.ensureMeta(ctx); err != nil {
		return nil, err
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("apply worker %d: connect: %w", worker, err)
	}
	a := &applier{s: s, jobID: jobID, worker: worker, workers: workers, routing: routing, conn: conn,
		stmts: newStmtCache(conn, 128), plans: map[*connector.ApplyTable]*applyPlan{}}
	if err := a.setup(ctx); err != nil {
		a.discard()
		return nil, err
	}
	return a, nil
}

func (a *applier) setup(ctx context.Context) error {
	var zone, mode string
	var fkChecks int
	if err := a.conn.QueryRowContext(ctx, "SELECT @@session.time_zone, @@session.sql_mode, @@session.foreign_key_checks").
		Scan(&zone, &mode, &fkChecks); err != nil {
		return fmt.Errorf("apply worker %d: read session settings: %w", a.worker, err)
	}
	if zone != "+00:00" || !strings.Contains(mode, "STRICT_ALL_TABLES") || fkChecks != 0 {
		return fmt.Errorf("apply worker %d: the session runs with time_zone %q, sql_mode %q, foreign_key_checks %d: want +00:00, strict, 0",
			a.worker, zone, mode, fkChecks)
	}
	var format string
	if err := a.conn.QueryRowContext(ctx, "SELECT @@session.binlog_format").Scan(&format); err != nil {
		format = ""
	}
	if !strings.EqualFold(format, "STATEMENT") { // InnoDB refuses READ COMMITTED writes into a statement binlog
		if _, err := a.conn.ExecContext(ctx, "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"); err != nil {
			return fmt.Errorf("apply worker %d: set isolation level: %w", a.worker, err)
		}
	}
	if !a.s.srv.mariadb {
		a.conn.ExecContext(ctx, "SET SESSION explicit_defaults_for_timestamp = 1") //nolint:errcheck // read-only on some versions
	}
	return nil
}

// begin opens the target transaction if none is open.
func (a *applier) begin(ctx context.Context) error {
	if a.broken {
		return errors.New("apply: the transaction failed earlier: roll it back first")
	}
	if a.inTx {
		return nil
	}
	if _, err := a.conn.ExecContext(ctx, "START TRANSACTION"); err != nil {
		a.broken = true
		return fmt.Errorf("apply worker %d: start transaction: %w", a.worker, err)
	}
	a.inTx = true
	return nil
}

// fail marks the transaction unusable and returns err.
func (a *applier) fail(err error) error {
	if err != nil {
		a.broken = true
	}
	return err
}

// Commit writes the checkpoint and commits. With no transaction open the
// checkpoint row is written alone (one statement is atomic).
func (a *applier) Commit(ctx context.Context, cp connector.Checkpoint) error {
	if a.broken {
		return errors.New("apply: the transaction failed earlier: roll it back first")
	}
	st, err := a.stmts.get(ctx, checkpointSQL)
	if err != nil {
		return a.fail(fmt.Errorf("apply worker %d: %w", a.worker, err))
	}
	_, err = st.ExecContext(ctx, a.jobID, a.worker, a.workers, string(cp.Pos.Encode()), cp.Seq, cp.Complete, string(cp.Ack.Encode()), a.routing)
	if err != nil {
		return a.fail(fmt.Errorf("apply worker %d: write the checkpoint: %w", a.worker, err))
	}
	if !a.inTx {
		return nil
	}
	// The COMMIT is not abandoned when ctx ends (a pause, another worker's
	// failure): one the server already runs lands even when the client
	// stops waiting, possibly after the next run has read the checkpoints,
	// and that run would apply the same rows again. It gets a bounded wait
	// of its own instead.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	if _, err := a.conn.ExecContext(cctx, "COMMIT"); err != nil {
		return a.fail(fmt.Errorf("apply worker %d: commit: %w", a.worker, err))
	}
	a.inTx = false
	return nil
}

// commitTimeout bounds a COMMIT that outlives its run's context.
const commitTimeout = time.Minute

const checkpointSQL = "INSERT INTO `dts_meta`.`checkpoints` (`job_id`, `worker`, `workers`, `txn_pos`, `seq`, `complete`, `ack_pos`, `updated_at`, `routing`) " +
	"VALUES (?, ?, ?, ?, ?, ?, ?, UTC_TIMESTAMP(6), ?) ON DUPLICATE KEY UPDATE `workers` = VALUES(`workers`), `txn_pos` = VALUES(`txn_pos`), " +
	"`seq` = VALUES(`seq`), `complete` = VALUES(`complete`), `ack_pos` = VALUES(`ack_pos`), `updated_at` = VALUES(`updated_at`), " +
	"`routing` = VALUES(`routing`)"

// Rollback abandons the open transaction. A connection that cannot roll
// back is dropped: the server rolls back what it held.
func (a *applier) Rollback(ctx context.Context) error {
	if !a.inTx && !a.broken {
		return nil
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_, err := a.conn.ExecContext(rctx, "ROLLBACK")
	if err != nil {
		a.discard()
		a.conn = nil
		return fmt.Errorf("apply worker %d: roll back: %w", a.worker, err)
	}
	a.inTx, a.broken = false, false
	return nil
}

// Close rolls back and returns the connection.
func (a *applier) Close() error {
	if a.conn == nil {
		return nil
	}
	if a.inTx || a.broken {
		if err := a.Rollback(context.Background()); err != nil {
			return nil // discarded
		}
	}
	if a.stages > 0 { // its staging tables end with it, not in the pool
		a.discard()
		a.conn = nil
		return nil
	}
	a.stmts.close()
	err := a.conn.Close()
	a.conn = nil
	return err
}

// discard closes the connection without returning it to the pool's idle
// set: whatever transaction it held dies with it.
func (a *applier) discard() {
	if a.conn == nil {
		return
	}
	a.stmts.close()
	a.conn.Raw(func(any) error { return driver.ErrBadConn }) //nolint:errcheck // marks the connection bad
	a.conn.Close()
}

// divergence is the coded error of a row the target does not hold as the
// change stream expects.
func divergence(table, what string, args ...any) error {
	return errs.New(connector.CodeDivergence, "table %s on the target: %s", table, fmt.Sprintf(what, args...)).WithDetail("table", table).
		WithFix("the target was changed outside dts: compare the table with the source and repair it (or reload it), then resume the job")
}
