package mysql

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/value"
)

// The jobs' bookkeeping on the target: the dts_meta database
// (docs/design/full-load.md, "Bookkeeping on the target").

const metaDB = "dts_meta"

var metaDDL = []string{
	"CREATE DATABASE IF NOT EXISTS `dts_meta` DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
	"CREATE TABLE IF NOT EXISTS `dts_meta`.`jobs` (" +
		"`job_id` VARCHAR(128) NOT NULL, `job_name` VARCHAR(255) NOT NULL, `created_at` DATETIME(6) NOT NULL, " +
		"PRIMARY KEY (`job_id`), UNIQUE KEY `job_name` (`job_name`)" +
		") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
	"CREATE TABLE IF NOT EXISTS `dts_meta`.`runs` (" +
		"`job_id` VARCHAR(128) NOT NULL, `run_no` INT NOT NULL, `position` JSON NOT NULL, `started_at` DATETIME(6) NOT NULL, " +
		"PRIMARY KEY (`job_id`, `run_no`)" +
		") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
	"CREATE TABLE IF NOT EXISTS `dts_meta`.`tables` (" +
		"`job_id` VARCHAR(128) NOT NULL, `source_table` VARCHAR(255) NOT NULL, `target_table` VARCHAR(255) NOT NULL, " +
		"`creating` TINYINT(1) NOT NULL DEFAULT 0, `created` TINYINT(1) NOT NULL DEFAULT 0, `loaded` TINYINT(1) NOT NULL DEFAULT 0, `finished` TINYINT(1) NOT NULL DEFAULT 0, " +
		"PRIMARY KEY (`job_id`, `source_table`)" +
		") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
	"CREATE TABLE IF NOT EXISTS `dts_meta`.`partitions` (" +
		"`job_id` VARCHAR(128) NOT NULL, `source_table` VARCHAR(255) NOT NULL, `no` INT NOT NULL, " +
		"`after_key` JSON NULL, `upto_key` JSON NULL, `last_key` JSON NULL, " +
		"`rows` BIGINT NOT NULL DEFAULT 0, `done` TINYINT(1) NOT NULL DEFAULT 0, " +
		"PRIMARY KEY (`job_id`, `source_table`, `no`)" +
		") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
	// The full-load runs each table's rows come from (TableState.FirstRun, LastRun).
	"CREATE TABLE IF NOT EXISTS `dts_meta`.`table_runs` (" +
		"`job_id` VARCHAR(128) NOT NULL, `source_table` VARCHAR(255) NOT NULL, `first_run` INT NOT NULL, `last_run` INT NOT NULL, " +
		"PRIMARY KEY (`job_id`, `source_table`)" +
		") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
	// Incremental sync (apply_meta.go): a checkpoint per apply worker, and
	// the source tables' structures by position.
	"CREATE TABLE IF NOT EXISTS `dts_meta`.`checkpoints` (" +
		"`job_id` VARCHAR(128) NOT NULL, `worker` INT NOT NULL, `workers` INT NOT NULL, " +
		"`txn_pos` JSON NOT NULL, `seq` INT NOT NULL, `complete` TINYINT(1) NOT NULL, `ack_pos` JSON NOT NULL, " +
		"`updated_at` DATETIME(6) NOT NULL, `routing` INT NOT NULL DEFAULT 0, " +
		"PRIMARY KEY (`job_id`, `worker`)" +
		") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
	"CREATE TABLE IF NOT EXISTS `dts_meta`.`schema_history` (" +
		"`job_id` VARCHAR(128) NOT NULL, `source_table` VARCHAR(255) NOT NULL, `pos_hash` CHAR(64) NOT NULL, " +
		"`pos` JSON NOT NULL, `structure` LONGTEXT NULL, `saved_at` DATETIME(6) NOT NULL, " +
		"PRIMARY KEY (`job_id`, `source_table`, `pos_hash`)" +
		") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
}

// ensureMeta creates dts_meta and its tables once per sink.
func (s *Sink) ensureMeta(ctx context.Context) error {
	s.metaMu.Lock()
	defer s.metaMu.Unlock()
	if s.metaReady {
		return nil
	}
	for _, q := range metaDDL {
		if _, err := s.db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("create the bookkeeping database dts_meta on the target: %w", err)
		}
	}
	// A dts_meta from before the routing column: its rows are scheme 0.
	var has int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.COLUMNS "+
		"WHERE TABLE_SCHEMA = 'dts_meta' AND TABLE_NAME = 'checkpoints' AND COLUMN_NAME = 'routing'").Scan(&has); err != nil {
		return fmt.Errorf("read dts_meta.checkpoints on the target: %w", err)
	}
	if has == 0 {
		if _, err := s.db.ExecContext(ctx, "ALTER TABLE `dts_meta`.`checkpoints` ADD COLUMN `routing` INT NOT NULL DEFAULT 0"); err != nil {
			return fmt.Errorf("add dts_meta.checkpoints.routing on the target: %w", err)
		}
	}
	s.metaReady = true
	return nil
}

// Claim registers the job on the target. It refuses (CodeTargetOwned) a
// name another job id holds: that job's progress is on this target.
func (s *Sink) Claim(ctx context.Context, jobID, jobName string) error {
	if err := s.ensureMeta(ctx); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var owner string
		err := tx.QueryRowContext(ctx, "SELECT `job_id` FROM `dts_meta`.`jobs` WHERE `job_name` = ? FOR UPDATE", jobName).Scan(&owner)
		switch {
		case err == nil && owner != jobID:
			return owned(jobName, owner)
		case err == nil:
			return nil
		case err != sql.ErrNoRows:
			return fmt.Errorf("read dts_meta.jobs: %w", err)
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO `dts_meta`.`jobs` (`job_id`, `job_name`, `created_at`) VALUES (?, ?, UTC_TIMESTAMP(6)) "+
			"ON DUPLICATE KEY UPDATE `job_name` = VALUES(`job_name`)", jobID, jobName)
		if isErr(err, erDupEntry) { // another job took the name meanwhile
			return owned(jobName, "another job")
		}
		if err != nil {
			return fmt.Errorf("register the job in dts_meta.jobs: %w", err)
		}
		return nil
	})
}

const erDupEntry = 1062

func owned(name, owner string) error {
	return errs.New(CodeTargetOwned, "the target holds the progress of another job named %q (job id %s) in its dts_meta database", name, owner).
		WithFix("give this job another name, or delete that job (which removes its progress) if it no longer exists")
}

// LoadState returns what the job's earlier runs recorded.
func (s *Sink) LoadState(ctx context.Context, jobID string) (*connector.LoadState, error) {
	if err := s.ensureMeta(ctx); err != nil {
		return nil, err
	}
	st := &connector.LoadState{Tables: map[string]*connector.TableState{}}
	rows, err := s.db.QueryContext(ctx, "SELECT `position` FROM `dts_meta`.`runs` WHERE `job_id` = ? ORDER BY `run_no`", jobID)
	if err != nil {
		return nil, fmt.Errorf("read dts_meta.runs: %w", err)
	}
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			rows.Close()
			return nil, err
		}
		pos, err := change.DecodePosition(b)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("dts_meta.runs of job %s: %w", jobID, err)
		}
		st.Runs = append(st.Runs, pos)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	table := func(name string) *connector.TableState {
		ts := st.Tables[name]
		if ts == nil {
			ts = &connector.TableState{Table: name}
			st.Tables[name] = ts
		}
		return ts
	}
	rows, err = s.db.QueryContext(ctx, "SELECT `source_table`, `target_table`, `creating`, `created`, `loaded`, `finished` "+
		"FROM `dts_meta`.`tables` WHERE `job_id` = ?", jobID)
	if err != nil {
		return nil, fmt.Errorf("read dts_meta.tables: %w", err)
	}
	for rows.Next() {
		var name, target string
		var creating, created, loaded, finished bool
		if err := rows.Scan(&name, &target, &creating, &created, &loaded, &finished); err != nil {
			rows.Close()
			return nil, err
		}
		ts := table(name)
		ts.Target, ts.Creating, ts.Created, ts.Loaded, ts.Finished = target, creating, created, loaded, finished
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = s.db.QueryContext(ctx, "SELECT `source_table`, `first_run`, `last_run` FROM `dts_meta`.`table_runs` WHERE `job_id` = ?", jobID)
	if err != nil {
		return nil, fmt.Errorf("read dts_meta.table_runs: %w", err)
	}
	for rows.Next() {
		var name string
		var first, last int
		if err := rows.Scan(&name, &first, &last); err != nil {
			rows.Close()
			return nil, err
		}
		ts := table(name)
		ts.FirstRun, ts.LastRun = first, last
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = s.db.QueryContext(ctx, "SELECT `source_table`, `no`, `after_key`, `upto_key`, `last_key`, `rows`, `done` "+
		"FROM `dts_meta`.`partitions` WHERE `job_id` = ? ORDER BY `source_table`, `no`", jobID)
	if err != nil {
		return nil, fmt.Errorf("read dts_meta.partitions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var p connector.Partition
		var after, upto, last []byte
		if err := rows.Scan(&name, &p.No, &after, &upto, &last, &p.Rows, &p.Done); err != nil {
			return nil, err
		}
		for _, k := range []struct {
			dst *value.Row
			src []byte
		}{{&p.After, after}, {&p.Upto, upto}, {&p.Last, last}} {
			if *k.dst, err = decodeKey(k.src); err != nil {
				return nil, fmt.Errorf("dts_meta.partitions of %s: %w", name, err)
			}
		}
		ts := table(name)
		ts.Partitions = append(ts.Partitions, p)
	}
	return st, rows.Err()
}

// SaveTableState records a table's milestones and its partitions as given
// (partitions it does not list are kept).
func (s *Sink) SaveTableState(ctx context.Context, jobID string, st *connector.TableState) error {
	if err := s.ensureMeta(ctx); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "INSERT INTO `dts_meta`.`tables` (`job_id`, `source_table`, `target_table`, `creating`, `created`, `loaded`, `finished`) "+
			"VALUES (?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE `target_table` = VALUES(`target_table`), `creating` = VALUES(`creating`), `created` = VALUES(`created`), "+
			"`loaded` = VALUES(`loaded`), `finished` = VALUES(`finished`)", jobID, st.Table, st.Target, st.Creating, st.Created, st.Loaded, st.Finished)
		if err != nil {
			return fmt.Errorf("record %s in dts_meta.tables: %w", st.Table, err)
		}
		if st.FirstRun > 0 {
			_, err := tx.ExecContext(ctx, "INSERT INTO `dts_meta`.`table_runs` (`job_id`, `source_table`, `first_run`, `last_run`) VALUES (?, ?, ?, ?) "+
				"ON DUPLICATE KEY UPDATE `first_run` = VALUES(`first_run`), `last_run` = VALUES(`last_run`)", jobID, st.Table, st.FirstRun, st.LastRun)
			if err != nil {
				return fmt.Errorf("record %s in dts_meta.table_runs: %w", st.Table, err)
			}
		}
		for _, p := range st.Partitions {
			_, err := tx.ExecContext(ctx, "INSERT INTO `dts_meta`.`partitions` (`job_id`, `source_table`, `no`, `after_key`, `upto_key`, `last_key`, `rows`, `done`) "+
				"VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON DUPLICATE KEY UPDATE `after_key` = VALUES(`after_key`), `upto_key` = VALUES(`upto_key`), "+
				"`last_key` = VALUES(`last_key`), `rows` = VALUES(`rows`), `done` = VALUES(`done`)",
				jobID, st.Table, p.No, encodeKey(p.After), encodeKey(p.Upto), encodeKey(p.Last), p.Rows, p.Done)
			if err != nil {
				return fmt.Errorf("record partition %d of %s in dts_meta.partitions: %w", p.No, st.Table, err)
			}
		}
		return nil
	})
}

// AddRun records the position of a new run's snapshot.
func (s *Sink) AddRun(ctx context.Context, jobID string, pos change.Position) error {
	if err := s.ensureMeta(ctx); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(`run_no`), 0) FROM `dts_meta`.`runs` WHERE `job_id` = ? FOR UPDATE", jobID).Scan(&n)
		if err != nil {
			return fmt.Errorf("read dts_meta.runs: %w", err)
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO `dts_meta`.`runs` (`job_id`, `run_no`, `position`, `started_at`) VALUES (?, ?, ?, UTC_TIMESTAMP(6))",
			jobID, n+1, string(pos.Encode()))
		if err != nil {
			return fmt.Errorf("record the run in dts_meta.runs: %w", err)
		}
		return nil
	})
}

// Forget removes all of a job's bookkeeping.
func (s *Sink) Forget(ctx context.Context, jobID string) error {
	if err := s.ensureMeta(ctx); err != nil {
		return err
	}
	return s.inTx(ctx, func(tx *sql.Tx) error {
		for _, table := range []string{"partitions", "table_runs", "tables", "runs", "checkpoints", "schema_history", "jobs"} {
			if _, err := tx.ExecContext(ctx, "DELETE FROM `dts_meta`."+quoteIdent(table)+" WHERE `job_id` = ?", jobID); err != nil {
				return fmt.Errorf("remove the job from dts_meta.%s: %w", table, err)
			}
		}
		return nil
	})
}

// writeProgress records a chunk's progress in its transaction: the
// partition's last key (kept when the chunk was empty), its row count
// increased by the chunk's rows, and whether it is done.
func writeProgress(ctx context.Context, tx *sql.Tx, p connector.Progress) error {
	res, err := tx.ExecContext(ctx, "UPDATE `dts_meta`.`partitions` SET `last_key` = COALESCE(?, `last_key`), `rows` = `rows` + ?, `done` = ? "+
		"WHERE `job_id` = ? AND `source_table` = ? AND `no` = ?", encodeKey(p.Last), p.Rows, p.Done, p.JobID, p.Table, p.Partition)
	if err != nil {
		return fmt.Errorf("record progress of %s partition %d: %w", p.Table, p.Partition, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("record progress of %s partition %d: the partition is not planned in dts_meta.partitions", p.Table, p.Partition)
	}
	return nil
}

// encodeKey stores a key as a JSON array of base64 strings (null for SQL
// NULL), so any bytes round-trip; a nil key is SQL NULL.
func encodeKey(k value.Row) any {
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
	return string(b)
}

func decodeKey(b []byte) (value.Row, error) {
	if b == nil || strings.TrimSpace(string(b)) == "null" {
		return nil, nil
	}
	var parts []*string
	if err := json.Unmarshal(b, &parts); err != nil {
		return nil, fmt.Errorf("decode key %q: %w", b, err)
	}
	k := make(value.Row, len(parts))
	for i, p := range parts {
		if p == nil {
			continue
		}
		v, err := base64.StdEncoding.DecodeString(*p)
		if err != nil {
			return nil, fmt.Errorf("decode key %q: %w", b, err)
		}
		if v == nil {
			v = value.Empty
		}
		k[i] = v
	}
	return k, nil
}

// inTx runs fn in a transaction and commits it. A transaction InnoDB
// chose as a deadlock victim (two jobs claiming a target at once) is run
// again, a few times.
func (s *Sink) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := s.inTxOnce(ctx, fn)
		if !isErr(err, erLockDeadlock) || attempt == 5 {
			return err
		}
	}
}

// erLockDeadlock: the transaction was rolled back to end a deadlock.
const erLockDeadlock = 1213

func (s *Sink) inTxOnce(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}
