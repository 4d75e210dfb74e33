package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	driver "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/errs"
)

// queryer is what single-row reads need from *sql.DB and *sql.Tx alike.
type queryer interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type scanner interface{ Scan(dest ...any) error }

// write runs fn in one transaction and commits when fn succeeds. Errors of fn
// come back unchanged, so an UpdateJob callback's error reaches its caller as is.
func (s *Store) write(ctx context.Context, what string, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return failed(ctx, what, err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit; a failed rollback changes nothing we can report
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return failed(ctx, what, err)
	}
	return nil
}

// failed wraps a failure of the store. Once ctx has ended its error is the
// cause, whatever the driver or database/sql made of the interruption, so
// callers can tell cancellation from a broken store. Coded errors pass as is.
func failed(ctx context.Context, what string, err error) error {
	if _, ok := errs.As(err); ok {
		return err
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		err = ctxErr
	}
	return fmt.Errorf("catalog: %s: %w", what, err)
}

// code returns SQLite's extended result code of err, or 0. Constraint
// violations are told apart by code, never by message text.
func code(err error) int {
	var e *driver.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

const (
	codePrimaryKey = sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	codeUnique     = sqlite3.SQLITE_CONSTRAINT_UNIQUE
	codeForeignKey = sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
)

func jobNotFound(id string) error { return errs.New(errs.JobNotFound, "job %q does not exist", id) }

func opNotFound(id string) error {
	return errs.New(errs.OperationNotFound, "operation %q does not exist", id)
}

// requireJob answers JobNotFound for a job that does not exist. Lists call it
// only when they come back empty, to tell "no rows yet" from "no such job".
func (s *Store) requireJob(ctx context.Context, id string) error {
	var one int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM jobs WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return jobNotFound(id)
	}
	if err != nil {
		return failed(ctx, "read job", err)
	}
	return nil
}

// now is the store's clock, at the precision times are kept in.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// normal is t as the store keeps it: UTC, whole microseconds.
func normal(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// text is a raw JSON value as a TEXT column; empty is NULL.
func text(m json.RawMessage) any {
	if len(m) == 0 {
		return nil
	}
	return string(m)
}

func raw(s sql.NullString) json.RawMessage {
	if !s.Valid {
		return nil
	}
	return json.RawMessage(s.String)
}

func errorText(e *catalog.ErrorInfo) (any, error) {
	if e == nil {
		return nil, nil
	}
	return marshalText(e)
}

func marshalText(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode %T: %w", v, err)
	}
	return string(b), nil
}

func errorInfo(s sql.NullString) (*catalog.ErrorInfo, error) {
	if !s.Valid {
		return nil, nil
	}
	var e catalog.ErrorInfo
	if err := json.Unmarshal([]byte(s.String), &e); err != nil {
		return nil, fmt.Errorf("decode stored error: %w", err)
	}
	return &e, nil
}
