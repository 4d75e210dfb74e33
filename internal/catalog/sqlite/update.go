package sqlite

import (
	"context"
	"database/sql"

	"github.com/dtsorg/dts/internal/catalog"
)

// UpdateJob implements catalog.Store. The transaction owns the store's one
// connection and holds SQLite's write lock from BEGIN (see dsn), so two
// updates cannot both read the same version, in this process or another:
// the second reads what the first wrote.
func (s *Store) UpdateJob(ctx context.Context, id string, fn func(*catalog.Job) error) (*catalog.Job, error) {
	var out *catalog.Job
	err := s.write(ctx, "update job", func(tx *sql.Tx) error {
		j, err := s.getJob(ctx, tx, "id", id, jobNotFound(id))
		if err != nil {
			return err
		}
		before := *j
		if err := fn(j); err != nil {
			return err
		}
		// The identity and bookkeeping fields are the store's.
		j.ID, j.CreatedAt = before.ID, before.CreatedAt
		j.Version, j.UpdatedAt = before.Version+1, now()
		if err := s.writeJob(ctx, tx, j); err != nil {
			return err
		}
		if j.State != before.State {
			_, err := tx.ExecContext(ctx, `INSERT INTO job_state_history (job_id, from_state, to_state, reason, at) VALUES (?, ?, ?, ?, ?)`,
				id, before.State, j.State, j.StateReason, j.UpdatedAt.UnixMicro())
			if err != nil {
				return failed(ctx, "record state change", err)
			}
		}
		out = j
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (s *Store) writeJob(ctx context.Context, tx *sql.Tx, j *catalog.Job) error {
	if j.Spec == nil {
		return failed(ctx, "update job", errNoSpec)
	}
	spec, sealed, err := catalog.SealSpec(s.box, j.ID, j.Spec)
	if err != nil {
		return err
	}
	errText, err := errorText(j.Error)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE jobs SET name = ?, spec = ?, secrets = ?, state = ?, state_reason = ?,
		error = ?, status = ?, version = ?, updated_at = ? WHERE id = ?`,
		j.Spec.Name, string(spec), sealed, j.State, j.StateReason, errText, text(j.Status), j.Version, j.UpdatedAt.UnixMicro(), j.ID)
	if code(err) == codeUnique {
		return nameTaken(j.Spec.Name)
	}
	if err != nil {
		return failed(ctx, "update job", err)
	}
	return nil
}

// History implements catalog.Store.
func (s *Store) History(ctx context.Context, jobID string) ([]catalog.StateChange, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT from_state, to_state, reason, at FROM job_state_history WHERE job_id = ? ORDER BY id`, jobID)
	if err != nil {
		return nil, failed(ctx, "read history", err)
	}
	defer rows.Close()
	changes := []catalog.StateChange{}
	for rows.Next() {
		var c catalog.StateChange
		var at int64
		if err := rows.Scan(&c.From, &c.To, &c.Reason, &at); err != nil {
			return nil, failed(ctx, "read history", err)
		}
		c.At = fromMicros(at)
		changes = append(changes, c)
	}
	if err := rows.Err(); err != nil {
		return nil, failed(ctx, "read history", err)
	}
	if len(changes) == 0 {
		if err := s.requireJob(ctx, jobID); err != nil {
			return nil, err
		}
	}
	return changes, nil
}
