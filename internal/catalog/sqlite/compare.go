package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/errs"
)

const compareColumns = `id, job_id, type, status, params, report, error, start_at, started_at, finished_at, created_at, updated_at`

func compareNotFound(id string) error {
	return errs.New(catalog.CompareNotFound, "compare %q does not exist", id)
}

// CreateCompare implements catalog.CompareStore.
func (s *Store) CreateCompare(ctx context.Context, c *catalog.Compare) error {
	errText, err := errorText(c.Error)
	if err != nil {
		return err
	}
	at := now()
	c.StartAt, c.StartedAt, c.FinishedAt = normalOrZero(c.StartAt), normalOrZero(c.StartedAt), normalOrZero(c.FinishedAt)
	_, err = s.db.ExecContext(ctx, `INSERT INTO compares (`+compareColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.JobID, c.Type, c.Status, text(c.Params), text(c.Report), errText,
		micros(c.StartAt), micros(c.StartedAt), micros(c.FinishedAt), at.UnixMicro(), at.UnixMicro())
	switch code(err) {
	case codeForeignKey:
		return jobNotFound(c.JobID)
	case codePrimaryKey: // ids are generated, so this is a bug, not a user's problem
		return fmt.Errorf("catalog: compare %q already exists", c.ID)
	}
	if err != nil {
		return failed(ctx, "create compare", err)
	}
	c.CreatedAt, c.UpdatedAt = at, at
	return nil
}

// GetCompare implements catalog.CompareStore.
func (s *Store) GetCompare(ctx context.Context, id string) (*catalog.Compare, error) {
	return getCompare(ctx, s.db, id)
}

func getCompare(ctx context.Context, q queryer, id string) (*catalog.Compare, error) {
	c, err := scanCompare(q.QueryRowContext(ctx, `SELECT `+compareColumns+` FROM compares WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, compareNotFound(id)
	}
	if err != nil {
		return nil, failed(ctx, "read compare", err)
	}
	return c, nil
}

// UpdateCompare implements catalog.CompareStore like UpdateOperation.
func (s *Store) UpdateCompare(ctx context.Context, id string, fn func(*catalog.Compare) error) (*catalog.Compare, error) {
	var out *catalog.Compare
	err := s.write(ctx, "update compare", func(tx *sql.Tx) error {
		c, err := getCompare(ctx, tx, id)
		if err != nil {
			return err
		}
		before := *c
		if err := fn(c); err != nil {
			return err
		}
		c.ID, c.JobID, c.CreatedAt, c.UpdatedAt = before.ID, before.JobID, before.CreatedAt, now()
		c.StartAt, c.StartedAt, c.FinishedAt = normalOrZero(c.StartAt), normalOrZero(c.StartedAt), normalOrZero(c.FinishedAt)
		errText, err := errorText(c.Error)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE compares SET type = ?, status = ?, params = ?, report = ?, error = ?,
			start_at = ?, started_at = ?, finished_at = ?, updated_at = ? WHERE id = ?`,
			c.Type, c.Status, text(c.Params), text(c.Report), errText,
			micros(c.StartAt), micros(c.StartedAt), micros(c.FinishedAt), c.UpdatedAt.UnixMicro(), id)
		if err != nil {
			return failed(ctx, "update compare", err)
		}
		out = c
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// ListCompares implements catalog.CompareStore.
func (s *Store) ListCompares(ctx context.Context, jobID string) ([]*catalog.Compare, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+compareColumns+` FROM compares WHERE job_id = ? ORDER BY created_at DESC, rowid DESC`, jobID)
	if err != nil {
		return nil, failed(ctx, "list compares", err)
	}
	defer rows.Close()
	out := []*catalog.Compare{}
	for rows.Next() {
		c, err := scanCompare(rows)
		if err != nil {
			return nil, failed(ctx, "list compares", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, failed(ctx, "list compares", err)
	}
	if len(out) == 0 {
		if err := s.requireJob(ctx, jobID); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// SaveCompareRecord implements catalog.CompareStore.
func (s *Store) SaveCompareRecord(ctx context.Context, compareID string, r catalog.CompareRecord) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO compare_records (compare_id, table_name, chunk, data) VALUES (?, ?, ?, ?)
		ON CONFLICT (compare_id, table_name, chunk) DO UPDATE SET data = excluded.data`,
		compareID, r.Table, r.Chunk, string(r.Data))
	if code(err) == codeForeignKey {
		return compareNotFound(compareID)
	}
	if err != nil {
		return failed(ctx, "save compare record", err)
	}
	return nil
}

// ListCompareRecords implements catalog.CompareStore.
func (s *Store) ListCompareRecords(ctx context.Context, compareID string) ([]catalog.CompareRecord, error) {
	if _, err := s.GetCompare(ctx, compareID); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT table_name, chunk, data FROM compare_records WHERE compare_id = ?
		ORDER BY table_name, chunk`, compareID)
	if err != nil {
		return nil, failed(ctx, "list compare records", err)
	}
	defer rows.Close()
	out := []catalog.CompareRecord{}
	for rows.Next() {
		var r catalog.CompareRecord
		var data string
		if err := rows.Scan(&r.Table, &r.Chunk, &data); err != nil {
			return nil, failed(ctx, "list compare records", err)
		}
		r.Data = []byte(data)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, failed(ctx, "list compare records", err)
	}
	return out, nil
}

func scanCompare(row scanner) (*catalog.Compare, error) {
	var (
		c                              catalog.Compare
		params, report, errTxt         sql.NullString
		startAt, startedAt, finishedAt sql.NullInt64
		createdAt, updatedAt           int64
	)
	if err := row.Scan(&c.ID, &c.JobID, &c.Type, &c.Status, &params, &report, &errTxt,
		&startAt, &startedAt, &finishedAt, &createdAt, &updatedAt); err != nil {
		return nil, err
	}
	var err error
	if c.Error, err = errorInfo(errTxt); err != nil {
		return nil, fmt.Errorf("compare %s: %w", c.ID, err)
	}
	c.Params, c.Report = raw(params), raw(report)
	c.StartAt, c.StartedAt, c.FinishedAt = fromNullMicros(startAt), fromNullMicros(startedAt), fromNullMicros(finishedAt)
	c.CreatedAt, c.UpdatedAt = fromMicros(createdAt), fromMicros(updatedAt)
	return &c, nil
}

// micros is a time as an INTEGER column; the zero time is NULL.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromNullMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

func normalOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return normal(t)
}
