package postgres

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/schema"
)

// Incremental sync's bookkeeping in dts_meta (meta.go creates the tables):
// checkpoints, one row per apply worker, and schema_history, the source
// tables' structures by position (versioned JSON, connector.EncodeStructure).

// LoadCheckpoints returns the job's checkpoints by worker; none when the
// target has no dts_meta yet.
func (s *Sink) LoadCheckpoints(ctx context.Context, jobID string) ([]connector.WorkerCheckpoint, error) {
	rows, err := s.pool.Query(ctx, `SELECT worker, workers, routing, txn_pos::text, seq, complete, ack_pos::text, updated_at
		FROM dts_meta.checkpoints WHERE job_id = $1 ORDER BY worker`, jobID)
	if err != nil {
		if noMeta(err) {
			return nil, nil
		}
		return nil, wrapErr(err, "read dts_meta.checkpoints")
	}
	var out []connector.WorkerCheckpoint
	var (
		cp       connector.WorkerCheckpoint
		pos, ack string
		updated  time.Time
	)
	_, err = pgx.ForEachRow(rows, []any{&cp.Worker, &cp.Workers, &cp.Routing, &pos, &cp.Seq, &cp.Complete, &ack, &updated}, func() error {
		c := cp
		var err error
		if c.Pos, err = change.DecodePosition([]byte(pos)); err != nil {
			return err
		}
		if c.Ack, err = change.DecodePosition([]byte(ack)); err != nil {
			return err
		}
		c.UpdatedAt = updated
		out = append(out, c)
		return nil
	})
	if noMeta(err) {
		return nil, nil
	}
	return out, wrapErr(err, "read dts_meta.checkpoints of job %s", jobID)
}

const historySQL = `INSERT INTO dts_meta.schema_history (job_id, source_table, pos_hash, pos, structure, saved_at)
	VALUES ($1, $2, $3, $4::jsonb, $5, now())
	ON CONFLICT (job_id, source_table, pos_hash) DO UPDATE SET pos = EXCLUDED.pos, structure = EXCLUDED.structure, saved_at = EXCLUDED.saved_at`

func historyArgs(jobID, sourceTable string, pos change.Position, t *schema.Table) ([]any, error) {
	enc := pos.Encode()
	sum := sha256.Sum256(enc)
	var structure *string
	if t != nil {
		b, err := connector.EncodeStructure(t)
		if err != nil {
			return nil, err
		}
		s := string(b)
		structure = &s
	}
	return []any{jobID, sourceTable, hex.EncodeToString(sum[:]), string(enc), structure}, nil
}

// SaveSchema records a source table's structure from pos on, in the open
// transaction.
func (a *applier) SaveSchema(ctx context.Context, sourceTable string, pos change.Position, t *schema.Table) error {
	if err := a.begin(ctx); err != nil {
		return err
	}
	args, err := historyArgs(a.jobID, sourceTable, pos, t)
	if err != nil {
		return a.fail(err)
	}
	return a.enqueue(ctx, "dts_meta.schema_history", historySQL, args, 0, 0, func(br pgx.BatchResults) error {
		_, err := br.Exec()
		return wrapErr(err, "record the structure of %s in dts_meta.schema_history", sourceTable)
	})
}

// SaveSchemas records tables as of pos in one transaction.
func (s *Sink) SaveSchemas(ctx context.Context, jobID string, pos change.Position, tables []*schema.Table) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := createMeta(ctx, tx); err != nil {
			return err
		}
		for _, t := range tables {
			args, err := historyArgs(jobID, t.QualifiedName(), pos, t)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, historySQL, args...); err != nil {
				return wrapErr(err, "record the structure of %s", t)
			}
		}
		return nil
	})
	return wrapErr(err, "record table structures in dts_meta.schema_history")
}

// LoadSchemas returns each source table's latest structure at or before at.
func (s *Sink) LoadSchemas(ctx context.Context, jobID string, at change.Position) ([]*schema.Table, error) {
	rows, err := s.pool.Query(ctx, `SELECT source_table, pos::text, structure FROM dts_meta.schema_history WHERE job_id = $1`, jobID)
	if err != nil {
		if noMeta(err) {
			return nil, nil
		}
		return nil, wrapErr(err, "read dts_meta.schema_history")
	}
	h := connector.NewStructuresAt(at)
	var (
		name, pos string
		structure *string
	)
	_, err = pgx.ForEachRow(rows, []any{&name, &pos, &structure}, func() error {
		if structure == nil {
			return h.Add(name, []byte(pos), "", false)
		}
		return h.Add(name, []byte(pos), *structure, true)
	})
	if err != nil {
		if noMeta(err) {
			return nil, nil
		}
		return nil, wrapErr(err, "read dts_meta.schema_history of job %s", jobID)
	}
	return h.Tables(), nil
}
