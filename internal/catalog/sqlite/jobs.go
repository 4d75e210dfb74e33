package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/errs"
)

var errNoSpec = errors.New("a job needs an id and a spec")

const jobColumns = `id, spec, secrets, state, state_reason, error, status, version, created_at, updated_at`

// CreateJob implements catalog.Store.
func (s *Store) CreateJob(ctx context.Context, j *catalog.Job) error {
	if j.ID == "" || j.Spec == nil {
		return failed(ctx, "create job", errNoSpec)
	}
	spec, sealed, err := catalog.SealSpec(s.box, j.ID, j.Spec)
	if err != nil {
		return err
	}
	errText, err := errorText(j.Error)
	if err != nil {
		return err
	}
	at := now()
	_, err = s.db.ExecContext(ctx, `INSERT INTO jobs (name, `+jobColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
		j.Spec.Name, j.ID, string(spec), sealed, j.State, j.StateReason, errText, text(j.Status), at.UnixMicro(), at.UnixMicro())
	switch code(err) {
	case codePrimaryKey:
		return errs.New(errs.JobAlreadyExists, "job %q already exists", j.ID)
	case codeUnique: // the only unique column besides the id
		return nameTaken(j.Spec.Name)
	}
	if err != nil {
		return failed(ctx, "create job", err)
	}
	j.Version, j.CreatedAt, j.UpdatedAt = 1, at, at
	return nil
}

func nameTaken(name string) error {
	return errs.New(errs.JobAlreadyExists, "a job named %q already exists", name).
		WithFix("choose another name, or update or delete the existing job")
}

// GetJob implements catalog.Store.
func (s *Store) GetJob(ctx context.Context, id string) (*catalog.Job, error) {
	return s.getJob(ctx, s.db, "id", id, jobNotFound(id))
}

// GetJobByName implements catalog.Store.
func (s *Store) GetJobByName(ctx context.Context, name string) (*catalog.Job, error) {
	return s.getJob(ctx, s.db, "name", name, errs.New(errs.JobNotFound, "no job is named %q", name))
}

func (s *Store) getJob(ctx context.Context, q queryer, column, value string, notFound error) (*catalog.Job, error) {
	row := q.QueryRowContext(ctx, `SELECT `+jobColumns+` FROM jobs WHERE `+column+` = ?`, value)
	j, err := s.scanJob(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound
	}
	if err != nil {
		return nil, failed(ctx, "read job", err)
	}
	return j, nil
}

// ListJobs implements catalog.Store. Ties in created_at (the same
// microsecond) fall back to insertion order.
func (s *Store) ListJobs(ctx context.Context) ([]*catalog.Job, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+jobColumns+` FROM jobs ORDER BY created_at, rowid`)
	if err != nil {
		return nil, failed(ctx, "list jobs", err)
	}
	defer rows.Close()
	jobs := []*catalog.Job{}
	for rows.Next() {
		j, err := s.scanJob(rows)
		if err != nil {
			return nil, failed(ctx, "list jobs", err)
		}
		jobs = append(jobs, j)
	}
	if err := rows.Err(); err != nil {
		return nil, failed(ctx, "list jobs", err)
	}
	return jobs, nil
}

// DeleteJob implements catalog.Store; the foreign keys cascade to the job's
// history, events and operations in the same statement.
func (s *Store) DeleteJob(ctx context.Context, id string) error {
	res, err := s.db.ExecContext(ctx, `DELETE FROM jobs WHERE id = ?`, id)
	if err != nil {
		return failed(ctx, "delete job", err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return failed(ctx, "delete job", err)
	} else if n == 0 {
		return jobNotFound(id)
	}
	return nil
}

// scanJob reads one row of jobColumns and opens its sealed passwords. A
// secret that does not open (another key) is a coded error, never a job with
// garbage in its passwords.
func (s *Store) scanJob(row scanner) (*catalog.Job, error) {
	var (
		j                    catalog.Job
		spec, sealed         string
		errText, status      sql.NullString
		createdAt, updatedAt int64
	)
	err := row.Scan(&j.ID, &spec, &sealed, &j.State, &j.StateReason, &errText, &status, &j.Version, &createdAt, &updatedAt)
	if err != nil {
		return nil, err
	}
	if j.Spec, err = catalog.OpenSpec(s.box, j.ID, []byte(spec), sealed); err != nil {
		return nil, fmt.Errorf("catalog: job %s: %w", j.ID, err)
	}
	if j.Error, err = errorInfo(errText); err != nil {
		return nil, fmt.Errorf("job %s: %w", j.ID, err)
	}
	j.Status = raw(status)
	j.CreatedAt, j.UpdatedAt = fromMicros(createdAt), fromMicros(updatedAt)
	return &j, nil
}
