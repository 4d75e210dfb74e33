package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/dtsorg/dts/internal/catalog"
)

const opColumns = `id, job_id, action, status, params, result, error, created_at, updated_at`

// CreateOperation implements catalog.Store.
func (s *Store) CreateOperation(ctx context.Context, op *catalog.Operation) error {
	errText, err := errorText(op.Error)
	if err != nil {
		return err
	}
	at := now()
	_, err = s.db.ExecContext(ctx, `INSERT INTO operations (`+opColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		op.ID, op.JobID, op.Action, op.Status, text(op.Params), text(op.Result), errText, at.UnixMicro(), at.UnixMicro())
	switch code(err) {
	case codeForeignKey:
		return jobNotFound(op.JobID)
	case codePrimaryKey: // ids are generated, so this is a bug, not a user's problem
		return fmt.Errorf("catalog: operation %q already exists", op.ID)
	}
	if err != nil {
		return failed(ctx, "create operation", err)
	}
	op.CreatedAt, op.UpdatedAt = at, at
	return nil
}

// GetOperation implements catalog.Store.
func (s *Store) GetOperation(ctx context.Context, id string) (*catalog.Operation, error) {
	return getOperation(ctx, s.db, id)
}

func getOperation(ctx context.Context, q queryer, id string) (*catalog.Operation, error) {
	op, err := scanOperation(q.QueryRowContext(ctx, `SELECT `+opColumns+` FROM operations WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, opNotFound(id)
	}
	if err != nil {
		return nil, failed(ctx, "read operation", err)
	}
	return op, nil
}

// UpdateOperation implements catalog.Store like UpdateJob: read, fn, write in
// one transaction that holds the write lock from its start.
func (s *Store) UpdateOperation(ctx context.Context, id string, fn func(*catalog.Operation) error) (*catalog.Operation, error) {
	var out *catalog.Operation
	err := s.write(ctx, "update operation", func(tx *sql.Tx) error {
		op, err := getOperation(ctx, tx, id)
		if err != nil {
			return err
		}
		before := *op
		if err := fn(op); err != nil {
			return err
		}
		op.ID, op.JobID, op.CreatedAt, op.UpdatedAt = before.ID, before.JobID, before.CreatedAt, now()
		errText, err := errorText(op.Error)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE operations SET action = ?, status = ?, params = ?, result = ?, error = ?, updated_at = ?
			WHERE id = ?`, op.Action, op.Status, text(op.Params), text(op.Result), errText, op.UpdatedAt.UnixMicro(), id)
		if err != nil {
			return failed(ctx, "update operation", err)
		}
		out = op
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListOperations implements catalog.Store. Ties in created_at fall back to
// insertion order, newest first too.
func (s *Store) ListOperations(ctx context.Context, jobID string) ([]*catalog.Operation, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+opColumns+` FROM operations WHERE job_id = ? ORDER BY created_at DESC, rowid DESC`, jobID)
	if err != nil {
		return nil, failed(ctx, "list operations", err)
	}
	defer rows.Close()
	ops := []*catalog.Operation{}
	for rows.Next() {
		op, err := scanOperation(rows)
		if err != nil {
			return nil, failed(ctx, "list operations", err)
		}
		ops = append(ops, op)
	}
	if err := rows.Err(); err != nil {
		return nil, failed(ctx, "list operations", err)
	}
	if len(ops) == 0 {
		if err := s.requireJob(ctx, jobID); err != nil {
			return nil, err
		}
	}
	return ops, nil
}

func scanOperation(row scanner) (*catalog.Operation, error) {
	var (
		op                     catalog.Operation
		params, result, errTxt sql.NullString
		createdAt, updatedAt   int64
	)
	if err := row.Scan(&op.ID, &op.JobID, &op.Action, &op.Status, &params, &result, &errTxt, &createdAt, &updatedAt); err != nil {
		return nil, err
	}
	var err error
	if op.Error, err = errorInfo(errTxt); err != nil {
		return nil, fmt.Errorf("operation %s: %w", op.ID, err)
	}
	op.Params, op.Result = raw(params), raw(result)
	op.CreatedAt, op.UpdatedAt = fromMicros(createdAt), fromMicros(updatedAt)
	return &op, nil
}
