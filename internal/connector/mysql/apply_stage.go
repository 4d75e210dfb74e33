package mysql

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/go-sql-driver/mysql"

	"github.com/dtsorg/dts/internal/value"
)

// Staged updates (MariaDB): full-row updates that keep their keys, many at
// a time (a source statement updating a large share of a table), go
// through a staging table instead of deleting and inserting the rows:
//
//	DELETE FROM stage                          left over from an earlier batch
//	INSERT INTO stage VALUES (...),(...)       the new rows, as inserts write them
//	UPDATE t JOIN stage s ON t.k = s.k         matched rows (CLIENT_FOUND_ROWS) must be
//	  SET t.c = s.c ...                        the rows': a missing row is a divergence
//
// Changing the rows in place writes each once (no delete-marked copies for
// purge, no index entries removed and added again) and logs one update
// event per row on the target: about half the time of DELETE + INSERT.
//
// The staging table is a temporary Aria table in dts_meta, made from the
// written columns of the target table once per table structure (a new plan
// after a DDL gets a new one): temporary, so other sessions never see it
// and it ends with the connection; Aria, because it is not transactional
// (a rolled-back batch leaves its rows, hence the DELETE first), needs no
// redo or undo, and holds BLOB and TEXT columns, unlike MEMORY. Its
// columns come from CREATE ... SELECT of the target's columns, so values
// convert into it as they would into the target. With a statement or mixed
// binary log the temporary table's statements are logged too, which a
// replica of the target can replay.

// stagedUpdateMinRows: full-row updates of this many rows go through the
// staging table (below, the three statements cost more than they save).
const stagedUpdateMinRows = 64

// stageSeq numbers staging tables: one per plan, in the whole process (a
// connection could come from the pool holding an older applier's).
var stageSeq atomic.Int64

// stagedUpdatable says whether an update batch of p can be staged: a
// MariaDB target that let this session create the staging table, a key to
// join on, a column besides the key to set, no other unique key (rows
// changed one after another in one statement could take each other's
// values for a moment) and no ENUM error values (those are written outside
// strict mode, one row at a time).
func (a *applier) stagedUpdatable(p *applyPlan, rows []value.Row) bool {
	if !a.s.srv.mariadb || a.noStage || len(rows) < stagedUpdateMinRows || len(p.keyPos) == 0 ||
		len(p.uniques) > 0 || len(p.cols) <= len(p.keyPos) {
		return false
	}
	if p.enums {
		for _, row := range rows {
			if p.hasEnumError(row, nil) {
				return false
			}
		}
	}
	return true
}

// stagedUpdate updates rows (full rows, keys unchanged) through the
// staging table. It returns false, nil when the session may not create
// the staging table: the caller takes the unstaged path.
func (a *applier) stagedUpdate(ctx context.Context, p *applyPlan, rows []value.Row) (bool, error) {
	if p.stage == "" {
		a.stages++
		name := fmt.Sprintf("stage_%d", stageSeq.Add(1))
		q := "CREATE TEMPORARY TABLE " + quoteTable(metaDB, name) + " ENGINE=Aria TRANSACTIONAL=0 AS SELECT " +
			p.columnList() + " FROM " + p.qtable + " LIMIT 0"
		// Neither ends the open transaction nor, when refused, fails it.
		if _, err := a.conn.ExecContext(ctx, q); err != nil {
			var me *mysql.MySQLError
			if errors.As(err, &me) && (me.Number == 1044 || me.Number == 1142 || me.Number == 1227) {
				a.noStage = true // no CREATE TEMPORARY TABLES on dts_meta
				return false, nil
			}
			return false, fmt.Errorf("apply %s: create the staging table: %w", p.name, err)
		}
		p.stage = quoteTable(metaDB, name)
		p.stageInsert = "INSERT INTO " + p.stage + strings.TrimPrefix(p.insertPrefix, "INSERT INTO "+p.qtable)
	}
	if _, err := a.conn.ExecContext(ctx, "DELETE FROM "+p.stage); err != nil {
		return false, fmt.Errorf("apply %s: empty the staging table: %w", p.name, err)
	}
	for rest := rows; len(rest) > 0; {
		n := max(a.fits(p, rest), 1) // no ENUM error values: stagedUpdatable
		if err := a.insertInto(ctx, p, p.stageInsert, rest[:n]); err != nil {
			return false, err
		}
		rest = rest[n:]
	}
	res, err := a.conn.ExecContext(ctx, p.stagedUpdateSQL())
	if err != nil {
		return false, p.writeError(err, "update")
	}
	if n, err := res.RowsAffected(); err != nil || n != int64(len(rows)) {
		keys := make([]value.Row, len(rows))
		for i, row := range rows {
			keys[i] = make(value.Row, len(p.keyPos))
			for j, at := range p.keyPos {
				keys[i][j] = row[at]
			}
		}
		return false, a.missingKey(ctx, p, keys)
	}
	return true, nil
}

// stagedUpdateSQL is the UPDATE joining the target table with its staging
// table on the key, setting every other written column.
func (p *applyPlan) stagedUpdateSQL() string {
	var on, set []string
	for _, c := range p.cols {
		q := quoteIdent(c.name)
		if indexOf(p.at.Key, c.name) >= 0 {
			on = append(on, "t."+q+" = s."+q)
		} else {
			set = append(set, "t."+q+" = s."+q)
		}
	}
	return "UPDATE " + p.qtable + " AS t JOIN " + p.stage + " AS s ON " + strings.Join(on, " AND ") +
		" SET " + strings.Join(set, ", ")
}

// columnList is the written columns, quoted, in plan order.
func (p *applyPlan) columnList() string {
	names := make([]string, len(p.cols))
	for i, c := range p.cols {
		names[i] = c.name
	}
	return quoteIdents(names)
}
