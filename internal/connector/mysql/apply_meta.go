package mysql

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/schema"
)

// Incremental sync's bookkeeping in dts_meta (meta.go creates the tables):
// checkpoints, one row per apply worker, and schema_history, the source
// tables' structures by position (versioned JSON, connector.EncodeStructure).

// LoadCheckpoints returns the job's checkpoints by worker.
func (s *Sink) LoadCheckpoints(ctx context.Context, jobID string) ([]connector.WorkerCheckpoint, error) {
	if err := s.ensureMeta(ctx); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, "SELECT `worker`, `workers`, `routing`, `txn_pos`, `seq`, `complete`, `ack_pos`, `updated_at` "+
		"FROM `dts_meta`.`checkpoints` WHERE `job_id` = ? ORDER BY `worker`", jobID)
	if err != nil {
		return nil, fmt.Errorf("read dts_meta.checkpoints: %w", err)
	}
	defer rows.Close()
	var out []connector.WorkerCheckpoint
	for rows.Next() {
		var cp connector.WorkerCheckpoint
		var pos, ack []byte
		var updated string
		if err := rows.Scan(&cp.Worker, &cp.Workers, &cp.Routing, &pos, &cp.Seq, &cp.Complete, &ack, &updated); err != nil {
			return nil, err
		}
		if cp.Pos, err = change.DecodePosition(pos); err != nil {
			return nil, fmt.Errorf("dts_meta.checkpoints of job %s worker %d: %w", jobID, cp.Worker, err)
		}
		if cp.Ack, err = change.DecodePosition(ack); err != nil {
			return nil, fmt.Errorf("dts_meta.checkpoints of job %s worker %d: %w", jobID, cp.Worker, err)
		}
		cp.UpdatedAt, _ = time.Parse("2006-01-02 15:04:05.999999", updated)
		out = append(out, cp)
	}
	return out, rows.Err()
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
	if _, err := a.exec(ctx, historySQL, args); err != nil {
		return a.fail(fmt.Errorf("record the structure of %s in dts_meta.schema_history: %w", sourceTable, err))
	}
	return nil
}

const historySQL = "INSERT INTO `dts_meta`.`schema_history` (`job_id`, `source_table`, `pos_hash`, `pos`, `structure`, `saved_at`) " +
	"VALUES (?, ?, ?, ?, ?, UTC_TIMESTAMP(6)) ON DUPLICATE KEY UPDATE `pos` = VALUES(`pos`), `structure` = VALUES(`structure`), `saved_at` = VALUES(`saved_at`)"

func historyArgs(jobID, sourceTable string, pos change.Position, t *schema.Table) ([]any, error) {
	enc := pos.Encode()
	sum := sha256.Sum256(enc)
	var structure any
	if t != nil {
		b, err := connector.EncodeStructure(t)
		if err != nil {
			return nil, err
		}
		structure = string(b)
	}
	return []any{jobID, sourceTable, hex.EncodeToString(sum[:]), string(enc), structure}, nil
}

// SaveSchemas records tables as of pos in one transaction.
func (s *Sink) SaveSchemas(ctx context.Context, jobID string, pos change.Position, tables []*schema.Table) error {
	if err := s.ensureMeta(ctx); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, t := range tables {
			args, err := historyArgs(jobID, t.QualifiedName(), pos, t)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, historySQL, args...); err != nil {
				return fmt.Errorf("record the structure of %s in dts_meta.schema_history: %w", t, err)
			}
		}
		return nil
	})
}

// LoadSchemas returns each source table's latest structure at or before at.
func (s *Sink) LoadSchemas(ctx context.Context, jobID string, at change.Position) ([]*schema.Table, error) {
	if err := s.ensureMeta(ctx); err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, "SELECT `source_table`, `pos`, `structure` FROM `dts_meta`.`schema_history` WHERE `job_id` = ?", jobID)
	if err != nil {
		return nil, fmt.Errorf("read dts_meta.schema_history: %w", err)
	}
	defer rows.Close()
	h := connector.NewStructuresAt(at)
	for rows.Next() {
		var name string
		var pos []byte
		var structure sql.NullString
		if err := rows.Scan(&name, &pos, &structure); err != nil {
			return nil, err
		}
		if err := h.Add(name, pos, structure.String, structure.Valid); err != nil {
			return nil, fmt.Errorf("dts_meta.schema_history of job %s: %w", jobID, err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return h.Tables(), nil
}
