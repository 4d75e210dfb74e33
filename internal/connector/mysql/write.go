package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/value"
)

// WriteChunk writes a chunk's rows with multi-row INSERT statements and the
// partition's progress in one transaction (docs/design/full-load.md).
//
// A statement carries up to batchRows rows, fewer when their parameters
// would pass 65,535 or their bytes a quarter of max_allowed_packet. The
// full-size statement is prepared once per table and connection and reused;
// a smaller one (the last of a chunk, or one cut by bytes) is prepared for
// the occasion. Generated columns of the target are left out: MySQL
// computes them.
func (s *Sink) WriteChunk(ctx context.Context, w connector.ChunkWrite, next func() ([]value.Row, error)) (int64, error) {
	p, err := s.plan(w)
	if err != nil {
		return 0, err
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", w.Table, err)
	}
	cw := &chunkWriter{s: s, p: p, tx: tx, args: make([]any, 0, p.maxRows*len(p.pos))}
	n, err := cw.run(ctx, w, next)
	cw.closeStmt()
	if err != nil {
		tx.Rollback()
		return 0, err
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("write %s: commit: %w", w.Table, err)
	}
	return n, nil
}

// chunkWriter writes one chunk in its transaction.
type chunkWriter struct {
	s       *Sink
	p       *insertPlan
	tx      *sql.Tx
	full    *sql.Stmt // the full-size statement on this transaction
	pending []value.Row
	bytes   int
	args    []any
	written int64
}

func (cw *chunkWriter) run(ctx context.Context, w connector.ChunkWrite, next func() ([]value.Row, error)) (int64, error) {
	budget := min(cw.s.maxPacket/4, 16<<20)
	for {
		batch, err := next()
		if err != nil {
			return 0, err
		}
		if batch == nil {
			break
		}
		for _, row := range batch {
			if len(row) != len(w.Columns) {
				return 0, fmt.Errorf("write %s: a row has %d values for %d columns", cw.p.table, len(row), len(w.Columns))
			}
			if cw.p.enums && cw.hasEnumError(row) {
				if err := cw.flush(ctx); err != nil {
					return 0, err
				}
				if err := cw.writeNonStrict(ctx, row); err != nil {
					return 0, err
				}
				continue
			}
			cw.pending = append(cw.pending, row)
			cw.bytes += row.Size() + 8*len(row)
			if len(cw.pending) == cw.p.maxRows || cw.bytes >= budget {
				if err := cw.flush(ctx); err != nil {
					return 0, err
				}
			}
		}
	}
	if err := cw.flush(ctx); err != nil {
		return 0, err
	}
	if w.Progress != nil {
		if err := writeProgress(ctx, cw.tx, w.Progress()); err != nil {
			return 0, err
		}
	}
	return cw.written, nil
}

func (cw *chunkWriter) hasEnumError(row value.Row) bool {
	for i, pos := range cw.p.pos {
		if isEnumError(cw.p.types[i], row[pos]) {
			return true
		}
	}
	return false
}

// flush inserts the pending rows.
func (cw *chunkWriter) flush(ctx context.Context) error {
	n := len(cw.pending)
	if n == 0 {
		return nil
	}
	args, err := cw.fill(cw.args[:0], cw.pending)
	if err != nil {
		return err
	}
	cw.args = args[:0]
	var stmt *sql.Stmt
	if n == cw.p.maxRows {
		if cw.full == nil {
			full, err := cw.p.fullStmt(ctx, cw.s.db)
			switch {
			case err != nil:
				return fmt.Errorf("write %s: %w", cw.p.table, err)
			case full != nil:
				cw.full = cw.tx.StmtContext(ctx, full)
			default: // the plan was evicted meanwhile
				if cw.full, err = cw.tx.PrepareContext(ctx, cw.p.insertSQL(n)); err != nil {
					return fmt.Errorf("write %s: %w", cw.p.table, err)
				}
			}
		}
		stmt = cw.full
	} else {
		if stmt, err = cw.tx.PrepareContext(ctx, cw.p.insertSQL(n)); err != nil {
			return fmt.Errorf("write %s: %w", cw.p.table, err)
		}
		defer stmt.Close()
	}
	if _, err := stmt.ExecContext(ctx, args...); err != nil {
		return cw.insertError(err)
	}
	cw.written += int64(n)
	clear(cw.pending) // let the batches go
	clear(args)
	cw.pending, cw.bytes = cw.pending[:0], 0
	return nil
}

// fill appends the parameters of rows to args.
func (cw *chunkWriter) fill(args []any, rows []value.Row) ([]any, error) {
	p := cw.p
	for _, row := range rows {
		for i, pos := range p.pos {
			v := row[pos]
			if v == nil {
				args = append(args, nil)
				continue
			}
			a, err := p.enc[i](v)
			if err != nil {
				return nil, errs.New(CodeUnsupportedValue, "table %s column %s: %v", p.table, p.names[i], err).
					WithFix("change the target column's type, or leave the column or table out of the job")
			}
			args = append(args, a)
		}
	}
	return args, nil
}

// writeNonStrict inserts a row holding an ENUM's error value, which only a
// non-strict sql_mode stores. Every warning must be that value's: anything
// else the non-strict mode let through (a truncation) fails the chunk.
func (cw *chunkWriter) writeNonStrict(ctx context.Context, row value.Row) error {
	args, err := cw.fill(nil, []value.Row{row})
	if err != nil {
		return err
	}
	if _, err := cw.tx.ExecContext(ctx, cw.p.nonStrict, args...); err != nil {
		return cw.insertError(err)
	}
	want := 0
	for i, pos := range cw.p.pos {
		if isEnumError(cw.p.types[i], row[pos]) {
			want++
		}
	}
	rows, err := cw.tx.QueryContext(ctx, "SHOW WARNINGS")
	if err != nil {
		return fmt.Errorf("write %s: %w", cw.p.table, err)
	}
	defer rows.Close()
	got := 0
	var msgs []string
	for rows.Next() {
		var level, msg string
		var code int
		if err := rows.Scan(&level, &code, &msg); err != nil {
			return err
		}
		if code == erWarnDataTruncated {
			got++
		}
		msgs = append(msgs, msg)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if got != want || len(msgs) != want {
		return errs.New(CodeUnsupportedValue, "table %s: a row with an ENUM error value could not be stored exactly: %s",
			cw.p.table, strings.Join(msgs, "; ")).WithFix("check the row's values against the target columns")
	}
	cw.written++
	return nil
}

const erWarnDataTruncated = 1265

// Server errors that mean a value does not fit its column.
var valueErrors = map[uint16]bool{
	1048: true, // column cannot be null
	1264: true, // out of range
	1265: true, // data truncated
	1292: true, // incorrect date/time value
	1366: true, // incorrect integer/string value
	1367: true, // illegal value
	1406: true, // data too long
	3140: true, // invalid JSON (MySQL)
	3819: true, // check constraint violated (MySQL)
	4025: true, // check constraint failed (MariaDB)
}

// insertError turns a server error into a coded error where a user can act on it.
func (cw *chunkWriter) insertError(err error) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch {
		case me.Number == erDupEntry:
			return errs.New(CodeDuplicateKey, "table %s on the target already holds a row with the key of a copied row: %s", cw.p.table, me.Message).
				WithFix("empty the target table, or set target.options.existing_tables to truncate or recreate")
		case valueErrors[me.Number]:
			return errs.New(CodeUnsupportedValue, "the target refused a value of table %s: %s", cw.p.table, me.Message).
				WithFix("change the target column's type, or leave the column or table out of the job")
		}
	}
	return fmt.Errorf("write %s: %w", cw.p.table, err)
}

func (cw *chunkWriter) closeStmt() {
	if cw.full != nil {
		cw.full.Close()
	}
}
