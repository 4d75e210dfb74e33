package postgres

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/value"
)

// The jobs' bookkeeping on a PostgreSQL target: schema dts_meta of the
// target database (docs/design/full-load.md). Keys are JSON arrays of
// base64 strings, null for NULL, so any bytes round-trip.

var metaTables = []struct{ name, ddl string }{
	{"jobs", `CREATE TABLE dts_meta.jobs (
		job_id text PRIMARY KEY,
		job_name text NOT NULL UNIQUE,
		created_at timestamptz NOT NULL DEFAULT now())`},
	{"runs", `CREATE TABLE dts_meta.runs (
		job_id text NOT NULL,
		run_no integer NOT NULL,
		position jsonb NOT NULL,
		started_at timestamptz NOT NULL DEFAULT now(),
		PRIMARY KEY (job_id, run_no))`},
	{"tables", `CREATE TABLE dts_meta.tables (
		job_id text NOT NULL,
		source_table text NOT NULL,
		target_table text NOT NULL,
		creating boolean NOT NULL DEFAULT false,
		created boolean NOT NULL DEFAULT false,
		loaded boolean NOT NULL DEFAULT false,
		finished boolean NOT NULL DEFAULT false,
		PRIMARY KEY (job_id, source_table))`},
	{"partitions", `CREATE TABLE dts_meta.partitions (
		job_id text NOT NULL,
		source_table text NOT NULL,
		"no" integer NOT NULL,
		after_key jsonb,
		upto_key jsonb,
		last_key jsonb,
		"rows" bigint NOT NULL DEFAULT 0,
		done boolean NOT NULL DEFAULT false,
		PRIMARY KEY (job_id, source_table, "no"))`},
	// The full-load runs each table's rows come from (TableState.FirstRun, LastRun).
	{"table_runs", `CREATE TABLE dts_meta.table_runs (
		job_id text NOT NULL,
		source_table text NOT NULL,
		first_run integer NOT NULL,
		last_run integer NOT NULL,
		PRIMARY KEY (job_id, source_table))`},
	// Incremental sync (apply_meta.go): a checkpoint per apply worker, and
	// the source tables' structures by position.
	{"checkpoints", `CREATE TABLE dts_meta.checkpoints (
		job_id text NOT NULL,
		worker integer NOT NULL,
		workers integer NOT NULL,
		txn_pos jsonb NOT NULL,
		seq integer NOT NULL,
		complete boolean NOT NULL,
		ack_pos jsonb NOT NULL,
		updated_at timestamptz NOT NULL DEFAULT now(),
		routing integer NOT NULL DEFAULT 0,
		PRIMARY KEY (job_id, worker))`},
	{"schema_history", `CREATE TABLE dts_meta.schema_history (
		job_id text NOT NULL,
		source_table text NOT NULL,
		pos_hash text NOT NULL,
		pos jsonb NOT NULL,
		structure text,
		saved_at timestamptz NOT NULL DEFAULT now(),
		PRIMARY KEY (job_id, source_table, pos_hash))`},
}

// metaLock serializes creating dts_meta between concurrent dts processes.
const metaLock = 0x64_74_73_6d_65_74_61 // "dtsmeta"

// Claim creates dts_meta if missing and registers the job. A name that
// another job id registered is a coded error (OperationDenied.TargetOwned).
func (s *Sink) Claim(ctx context.Context, jobID, jobName string) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := createMeta(ctx, tx); err != nil {
			return err
		}
		var owner string
		err := tx.QueryRow(ctx, `SELECT job_id FROM dts_meta.jobs WHERE job_name = $1`, jobName).Scan(&owner)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return err
		case owner != jobID:
			return errs.New(CodeTargetOwned, "the target database holds the progress of another job named %q (id %s)", jobName, owner).
				WithFix("delete or reset that job first (that removes its progress from the target), or give this job another name")
		}
		_, err = tx.Exec(ctx, `INSERT INTO dts_meta.jobs (job_id, job_name) VALUES ($1, $2)
			ON CONFLICT (job_id) DO UPDATE SET job_name = EXCLUDED.job_name`, jobID, jobName)
		return err
	})
	var coded *errs.Error
	if errors.As(err, &coded) {
		return err
	}
	return wrapErr(err, "register the job on the target (dts_meta)")
}

// createMeta creates dts_meta and the tables it lacks, serialized with
// other dts processes by an advisory lock.
func createMeta(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(metaLock)); err != nil {
		return err
	}
	var hasSchema bool
	if err := tx.QueryRow(ctx, `SELECT to_regnamespace('dts_meta') IS NOT NULL`).Scan(&hasSchema); err != nil {
		return err
	}
	if !hasSchema {
		if _, err := tx.Exec(ctx, `CREATE SCHEMA dts_meta`); err != nil {
			return err
		}
	}
	for _, t := range metaTables {
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, "dts_meta."+t.name).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			if _, err := tx.Exec(ctx, t.ddl); err != nil {
				return err
			}
		}
	}
	// A dts_meta from before the routing column: its rows are scheme 0.
	// Looked up first: ALTER TABLE would queue for the running jobs'
	// checkpoint locks even with nothing to add.
	var has bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_attribute
		WHERE attrelid = 'dts_meta.checkpoints'::regclass AND attname = 'routing' AND NOT attisdropped)`).Scan(&has); err != nil || has {
		return err
	}
	_, err := tx.Exec(ctx, `ALTER TABLE dts_meta.checkpoints ADD COLUMN routing integer NOT NULL DEFAULT 0`)
	return err
}

// noMeta reports whether err says dts_meta or one of its tables is missing.
func noMeta(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && (pgErr.Code == "42P01" || pgErr.Code == "3F000")
}

// LoadState returns the job's runs, tables and partitions; empty when the
// target has no dts_meta yet.
func (s *Sink) LoadState(ctx context.Context, jobID string) (*connector.LoadState, error) {
	st := &connector.LoadState{Tables: map[string]*connector.TableState{}}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT position::text FROM dts_meta.runs WHERE job_id = $1 ORDER BY run_no`, jobID)
		if err != nil {
			return err
		}
		var pos string
		if _, err := pgx.ForEachRow(rows, []any{&pos}, func() error {
			p, err := change.DecodePosition([]byte(pos))
			st.Runs = append(st.Runs, p)
			return err
		}); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT source_table, target_table, creating, created, loaded, finished FROM dts_meta.tables WHERE job_id = $1`, jobID)
		if err != nil {
			return err
		}
		var ts connector.TableState
		if _, err := pgx.ForEachRow(rows, []any{&ts.Table, &ts.Target, &ts.Creating, &ts.Created, &ts.Loaded, &ts.Finished}, func() error {
			t := ts
			st.Tables[t.Table] = &t
			return nil
		}); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT source_table, first_run, last_run FROM dts_meta.table_runs WHERE job_id = $1`, jobID)
		if err != nil {
			return err
		}
		var name string
		var firstRun, lastRun int
		if _, err := pgx.ForEachRow(rows, []any{&name, &firstRun, &lastRun}, func() error {
			if t := st.Tables[name]; t != nil {
				t.FirstRun, t.LastRun = firstRun, lastRun
			}
			return nil
		}); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `SELECT source_table, "no", after_key::text, upto_key::text, last_key::text, "rows", done
			FROM dts_meta.partitions WHERE job_id = $1 ORDER BY source_table, "no"`, jobID)
		if err != nil {
			return err
		}
		var (
			table             string
			p                 connector.Partition
			after, upto, last *string
		)
		_, err = pgx.ForEachRow(rows, []any{&table, &p.No, &after, &upto, &last, &p.Rows, &p.Done}, func() error {
			part := p
			var err error
			if part.After, err = decodeKey(after); err != nil {
				return err
			}
			if part.Upto, err = decodeKey(upto); err != nil {
				return err
			}
			if part.Last, err = decodeKey(last); err != nil {
				return err
			}
			t := st.Tables[table]
			if t == nil {
				t = &connector.TableState{Table: table}
				st.Tables[table] = t
			}
			t.Partitions = append(t.Partitions, part)
			return nil
		})
		return err
	})
	if noMeta(err) {
		return &connector.LoadState{Tables: map[string]*connector.TableState{}}, nil
	}
	if err != nil {
		return nil, wrapErr(err, "read the job's progress (dts_meta)")
	}
	return st, nil
}

// SaveTableState records a table's milestones and, once planned, its
// partitions (a plan is saved whole: partitions beyond it are removed).
func (s *Sink) SaveTableState(ctx context.Context, jobID string, st *connector.TableState) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO dts_meta.tables (job_id, source_table, target_table, creating, created, loaded, finished)
			VALUES ($1, $2, $3, $4, $5, $6, $7)
			ON CONFLICT (job_id, source_table) DO UPDATE SET target_table = EXCLUDED.target_table, creating = EXCLUDED.creating,
				created = EXCLUDED.created, loaded = EXCLUDED.loaded, finished = EXCLUDED.finished`,
			jobID, st.Table, st.Target, st.Creating, st.Created, st.Loaded, st.Finished)
		if err != nil {
			return err
		}
		if st.FirstRun > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO dts_meta.table_runs (job_id, source_table, first_run, last_run) VALUES ($1, $2, $3, $4)
				ON CONFLICT (job_id, source_table) DO UPDATE SET first_run = EXCLUDED.first_run, last_run = EXCLUDED.last_run`,
				jobID, st.Table, st.FirstRun, st.LastRun); err != nil {
				return err
			}
		}
		if len(st.Partitions) == 0 {
			return nil
		}
		for _, p := range st.Partitions {
			_, err := tx.Exec(ctx, `INSERT INTO dts_meta.partitions (job_id, source_table, "no", after_key, upto_key, last_key, "rows", done)
				VALUES ($1, $2, $3, $4::jsonb, $5::jsonb, $6::jsonb, $7, $8)
				ON CONFLICT (job_id, source_table, "no") DO UPDATE SET after_key = EXCLUDED.after_key, upto_key = EXCLUDED.upto_key,
					last_key = EXCLUDED.last_key, "rows" = EXCLUDED."rows", done = EXCLUDED.done`,
				jobID, st.Table, p.No, encodeKey(p.After), encodeKey(p.Upto), encodeKey(p.Last), p.Rows, p.Done)
			if err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `DELETE FROM dts_meta.partitions WHERE job_id = $1 AND source_table = $2 AND "no" >= $3`,
			jobID, st.Table, len(st.Partitions))
		return err
	})
	return wrapErr(err, "record the progress of %s (dts_meta)", st.Table)
}

// saveProgress records a chunk's progress inside the chunk's transaction.
func saveProgress(ctx context.Context, tx pgx.Tx, p connector.Progress) error {
	_, err := tx.Exec(ctx, `INSERT INTO dts_meta.partitions (job_id, source_table, "no", last_key, "rows", done)
		VALUES ($1, $2, $3, $4::jsonb, $5, $6)
		ON CONFLICT (job_id, source_table, "no") DO UPDATE SET
			last_key = COALESCE(EXCLUDED.last_key, partitions.last_key),
			"rows" = partitions."rows" + EXCLUDED."rows", done = EXCLUDED.done`,
		p.JobID, p.Table, p.Partition, encodeKey(p.Last), p.Rows, p.Done)
	return wrapErr(err, "record the progress of %s partition %d (dts_meta)", p.Table, p.Partition)
}

// AddRun records a new run's snapshot position.
func (s *Sink) AddRun(ctx context.Context, jobID string, pos change.Position) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO dts_meta.runs (job_id, run_no, position)
		SELECT $1, COALESCE(max(run_no), 0) + 1, $2::jsonb FROM dts_meta.runs WHERE job_id = $1`, jobID, string(pos.Encode()))
	return wrapErr(err, "record the snapshot position (dts_meta)")
}

// Forget removes all of the job's bookkeeping.
func (s *Sink) Forget(ctx context.Context, jobID string) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		for _, t := range []string{"partitions", "table_runs", "tables", "runs", "checkpoints", "schema_history", "jobs"} {
			var exists bool // a dts_meta from before incremental sync lacks some
			if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, "dts_meta."+t).Scan(&exists); err != nil || !exists {
				if err != nil {
					return err
				}
				continue
			}
			if _, err := tx.Exec(ctx, `DELETE FROM dts_meta.`+t+` WHERE job_id = $1`, jobID); err != nil {
				return err
			}
		}
		return nil
	})
	if noMeta(err) {
		return nil
	}
	return wrapErr(err, "remove the job's progress (dts_meta)")
}

// encodeKey returns a key as JSON text, nil (SQL NULL) for no key.
func encodeKey(k value.Row) *string {
	if k == nil {
		return nil
	}
	parts := make([]*string, len(k))
	for i, v := range k {
		if v != nil {
			s := base64.StdEncoding.EncodeToString(v)
			parts[i] = &s
		}
	}
	b, err := json.Marshal(parts)
	if err != nil {
		panic(err) // strings and nulls always marshal
	}
	s := string(b)
	return &s
}

func decodeKey(s *string) (value.Row, error) {
	if s == nil {
		return nil, nil
	}
	var parts []*string
	if err := json.Unmarshal([]byte(*s), &parts); err != nil {
		return nil, fmt.Errorf("decode key %.100q: %w", *s, err)
	}
	k := make(value.Row, len(parts))
	for i, p := range parts {
		if p == nil {
			continue
		}
		v, err := base64.StdEncoding.DecodeString(*p)
		if err != nil {
			return nil, fmt.Errorf("decode key %.100q: %w", *s, err)
		}
		if v == nil {
			v = value.Empty
		}
		k[i] = v
	}
	return k, nil
}
