package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/errs"
)

// SavePrecheck implements catalog.PrecheckStore.
func (s *Store) SavePrecheck(ctx context.Context, p *catalog.Precheck) error {
	items, err := marshalText(nonNil(p.Items))
	if err != nil {
		return err
	}
	started, finished := normal(p.StartedAt), normal(p.FinishedAt)
	var kept []catalog.PrecheckSkip
	err = s.write(ctx, "save precheck", func(tx *sql.Tx) error {
		prev, err := getPrecheck(ctx, tx, p.JobID)
		switch {
		case errs.CodeOf(err) == catalog.CodePrecheckNotFound:
		case err != nil:
			return err
		case prev.SpecHash == p.SpecHash:
			kept = prev.Skips
		}
		skips, err := marshalText(nonNil(kept))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO prechecks (job_id, spec_hash, started_at, finished_at, items, skips)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (job_id) DO UPDATE SET spec_hash = excluded.spec_hash, started_at = excluded.started_at,
				finished_at = excluded.finished_at, items = excluded.items, skips = excluded.skips`,
			p.JobID, p.SpecHash, started.UnixMicro(), finished.UnixMicro(), items, skips)
		if code(err) == codeForeignKey {
			return jobNotFound(p.JobID)
		}
		if err != nil {
			return failed(ctx, "save precheck", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	p.StartedAt, p.FinishedAt, p.Skips = started, finished, kept
	return nil
}

// GetPrecheck implements catalog.PrecheckStore.
func (s *Store) GetPrecheck(ctx context.Context, jobID string) (*catalog.Precheck, error) {
	return getPrecheck(ctx, s.db, jobID)
}

// UpdatePrecheck implements catalog.PrecheckStore.
func (s *Store) UpdatePrecheck(ctx context.Context, jobID string, fn func(*catalog.Precheck) error) (*catalog.Precheck, error) {
	var out *catalog.Precheck
	err := s.write(ctx, "update precheck", func(tx *sql.Tx) error {
		p, err := getPrecheck(ctx, tx, jobID)
		if err != nil {
			return err
		}
		keep := *p
		if err := fn(p); err != nil {
			return err
		}
		skips := nonNil(p.Skips)
		for i := range skips {
			skips[i].At = normal(skips[i].At)
		}
		text, err := marshalText(skips)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE prechecks SET skips = ? WHERE job_id = ?`, text, jobID); err != nil {
			return failed(ctx, "update precheck", err)
		}
		keep.Skips = skips
		out = &keep
		return nil
	})
	return out, err
}

func getPrecheck(ctx context.Context, q queryer, jobID string) (*catalog.Precheck, error) {
	var (
		p                 = catalog.Precheck{JobID: jobID}
		started, finished int64
		items, skips      string
	)
	err := q.QueryRowContext(ctx, `SELECT spec_hash, started_at, finished_at, items, skips FROM prechecks WHERE job_id = ?`, jobID).
		Scan(&p.SpecHash, &started, &finished, &items, &skips)
	if errors.Is(err, sql.ErrNoRows) {
		if err := requireJobIn(ctx, q, jobID); err != nil {
			return nil, err
		}
		return nil, errs.New(catalog.CodePrecheckNotFound, "job %q has no precheck result yet", jobID).
			WithFix("run the precheck action first")
	}
	if err != nil {
		return nil, failed(ctx, "read precheck", err)
	}
	p.StartedAt, p.FinishedAt = fromMicros(started), fromMicros(finished)
	if err := json.Unmarshal([]byte(items), &p.Items); err != nil {
		return nil, fmt.Errorf("catalog: precheck items of job %s: %w", jobID, err)
	}
	if err := json.Unmarshal([]byte(skips), &p.Skips); err != nil {
		return nil, fmt.Errorf("catalog: precheck skips of job %s: %w", jobID, err)
	}
	for i := range p.Skips {
		p.Skips[i].At = p.Skips[i].At.UTC()
	}
	return &p, nil
}

// requireJobIn is requireJob on a transaction or the database.
func requireJobIn(ctx context.Context, q queryer, id string) error {
	var one int
	err := q.QueryRowContext(ctx, `SELECT 1 FROM jobs WHERE id = ?`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return jobNotFound(id)
	}
	if err != nil {
		return failed(ctx, "read job", err)
	}
	return nil
}

// nonNil returns s, or an empty slice for nil: stored lists are JSON arrays.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
