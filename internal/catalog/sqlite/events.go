package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/dtsorg/dts/internal/catalog"
)

// AppendEvent implements catalog.Store.
func (s *Store) AppendEvent(ctx context.Context, e *catalog.Event) error {
	at := now()
	if !e.At.IsZero() {
		at = normal(e.At)
	}
	var details any
	if e.Details != nil {
		var err error
		if details, err = marshalText(e.Details); err != nil {
			return fmt.Errorf("catalog: event details: %w", err)
		}
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO events (job_id, at, level, type, message, details) VALUES (?, ?, ?, ?, ?, ?)`,
		e.JobID, at.UnixMicro(), e.Level, e.Type, e.Message, details)
	if code(err) == codeForeignKey {
		return jobNotFound(e.JobID)
	}
	if err != nil {
		return failed(ctx, "append event", err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return failed(ctx, "append event", err)
	}
	e.ID, e.At = id, at
	return nil
}

// ListEvents implements catalog.Store.
func (s *Store) ListEvents(ctx context.Context, jobID string, afterID int64, limit int) ([]catalog.Event, error) {
	if limit <= 0 {
		limit = -1 // SQLite's "no limit"
	}
	rows, err := s.db.QueryContext(ctx, `SELECT id, job_id, at, level, type, message, details FROM events
		WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?`, jobID, afterID, limit)
	if err != nil {
		return nil, failed(ctx, "list events", err)
	}
	defer rows.Close()
	events := []catalog.Event{}
	for rows.Next() {
		var (
			e       catalog.Event
			at      int64
			details sql.NullString
		)
		if err := rows.Scan(&e.ID, &e.JobID, &at, &e.Level, &e.Type, &e.Message, &details); err != nil {
			return nil, failed(ctx, "list events", err)
		}
		e.At = fromMicros(at)
		if details.Valid {
			if err := json.Unmarshal([]byte(details.String), &e.Details); err != nil {
				return nil, fmt.Errorf("catalog: details of event %d: %w", e.ID, err)
			}
		}
		events = append(events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, failed(ctx, "list events", err)
	}
	if len(events) == 0 {
		if err := s.requireJob(ctx, jobID); err != nil {
			return nil, err
		}
	}
	return events, nil
}
