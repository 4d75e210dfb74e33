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
//	INSERT INTO stage VALUES (...),(...)       the key and the changed columns of the rows
//	UPDATE t JOIN stage s ON t.k = s.k         matched rows (CLIENT_FOUND_ROWS) must be
//	  SET t.c = s.c ...                        the rows': a missing row is a divergence
//
// Changing the rows in place writes each once (no delete-marked copies for
// purge, no index entries removed and added again) and logs one update
// event per row on the target: about half the time of DELETE + INSERT.
// When the batch says which columns changed (connector.ApplyBatch.Changed,
// from MySQL's full old rows), the staging table holds the key and those
// only: an update of one counter column of wide rows stages a few bytes a
// row, not the row.
//
// A staging table is a temporary Aria table in dts_meta, made from the
// target table's columns once per table structure and set of columns (a
// new plan after a DDL gets new ones): temporary, so other sessions never
// see it and it ends with the connection; Aria, because it is not
// transactional (a rolled-back batch leaves its rows, hence the DELETE
// first), needs no redo or undo, and holds BLOB and TEXT columns, unlike
// MEMORY. Its columns come from CREATE ... SELECT of the target's columns,
// so values convert into it as they would into the target. With a
// statement or mixed binary log the temporary table's statements are
// logged too, which a replica of the target can replay.

// stagedUpdateMinRows: full-row updates of this many rows go through the
// staging table (below, the three statements cost more than they save).
const stagedUpdateMinRows = 64

// maxStages bounds the staging tables of one table structure (sets of
// changed columns); beyond, batches stage every column.
const maxStages = 8

// stageSeq numbers staging tables in the whole process (a connection could
// come from the pool holding an older applier's).
var stageSeq atomic.Int64

// stageTable is one staging table of a plan.
type stageTable struct {
	name   string // quoted
	mask   []bool // the columns it holds, by position in the rows (nil: all written)
	insert string // INSERT INTO stage (...) VALUES
	row    string // (?,?,...)
	update string // the UPDATE ... JOIN
}

// stagedUpdatable says whether an update batch of p can be staged: a
// MariaDB target that let this session create staging tables, a key to
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

// stagedUpdate updates rows (full rows, keys unchanged; changed: the
// columns that changed, nil: not known) through a staging table. It
// returns false, nil when the session may not create staging tables: the
// caller takes the unstaged path.
func (a *applier) stagedUpdate(ctx context.Context, p *applyPlan, rows []value.Row, changed []bool) (bool, error) {
	mask := p.stageMask(changed)
	if mask != nil && len(mask) == 0 { // no column besides the key changed: the rows only have to be there
		return true, a.checkKeys(ctx, p, p.keysOf(rows))
	}
	st, err := a.stage(ctx, p, mask)
	if st == nil || err != nil {
		return false, err
	}
	if _, err := a.conn.ExecContext(ctx, "DELETE FROM "+st.name); err != nil {
		return false, fmt.Errorf("apply %s: empty the staging table: %w", p.name, err)
	}
	for rest := rows; len(rest) > 0; {
		n := max(a.fits(p, rest), 1) // no ENUM error values: stagedUpdatable
		if err := a.insertInto(ctx, p, st.insert, st.row, st.mask, rest[:n]); err != nil {
			return false, err
		}
		rest = rest[n:]
	}
	res, err := a.conn.ExecContext(ctx, st.update)
	if err != nil {
		return false, p.writeError(err, "update")
	}
	if n, err := res.RowsAffected(); err != nil || n != int64(len(rows)) {
		return false, a.missingKey(ctx, p, p.keysOf(rows))
	}
	return true, nil
}

// stageMask is the columns (by position in the rows) a staging table needs
// for changed: the key and the changed written columns; nil: every written
// column; empty: no column besides the key changed.
func (p *applyPlan) stageMask(changed []bool) []bool {
	if changed == nil {
		return nil
	}
	mask := make([]bool, len(p.at.Columns))
	set := 0
	for _, c := range p.cols {
		switch {
		case indexOf(p.at.Key, c.name) >= 0:
			mask[c.pos] = true
		case c.pos < len(changed) && changed[c.pos]:
			mask[c.pos] = true
			set++
		}
	}
	if set == 0 {
		return []bool{}
	}
	if set == len(p.cols)-len(p.keyPos) {
		return nil // every column changed
	}
	return mask
}

// stage returns p's staging table for mask, creating it in the session on
// first use; nil when the session may not create it.
func (a *applier) stage(ctx context.Context, p *applyPlan, mask []bool) (*stageTable, error) {
	sig := ""
	if mask != nil {
		b := make([]byte, len(mask))
		for i, m := range mask {
			if m {
				b[i] = 1
			}
		}
		sig = string(b)
	}
	if st, ok := p.stages[sig]; ok {
		return st, nil
	}
	if len(p.stages) >= maxStages {
		if sig == "" {
			return nil, nil
		}
		return a.stage(ctx, p, nil)
	}
	var names, on, set []string
	for _, c := range p.cols {
		if mask != nil && !mask[c.pos] {
			continue
		}
		q := quoteIdent(c.name)
		names = append(names, c.name)
		if indexOf(p.at.Key, c.name) >= 0 {
			on = append(on, "t."+q+" = s."+q)
		} else {
			set = append(set, "t."+q+" = s."+q)
		}
	}
	a.stages++
	name := quoteTable(metaDB, fmt.Sprintf("stage_%d", stageSeq.Add(1)))
	q := "CREATE TEMPORARY TABLE " + name + " ENGINE=Aria TRANSACTIONAL=0 AS SELECT " + quoteIdents(names) + " FROM " + p.qtable + " LIMIT 0"
	// Neither ends the open transaction nor, when refused, fails it.
	if _, err := a.conn.ExecContext(ctx, q); err != nil {
		var me *mysql.MySQLError
		if errors.As(err, &me) && (me.Number == 1044 || me.Number == 1142 || me.Number == 1227) {
			a.noStage = true // no CREATE TEMPORARY TABLES on dts_meta
			return nil, nil
		}
		return nil, fmt.Errorf("apply %s: create a staging table: %w", p.name, err)
	}
	st := &stageTable{name: name, mask: mask,
		insert: "INSERT INTO " + name + " (" + quoteIdents(names) + ") VALUES ",
		row:    "(" + strings.TrimSuffix(strings.Repeat("?,", len(names)), ",") + ")",
		update: "UPDATE " + p.qtable + " AS t JOIN " + name + " AS s ON " + strings.Join(on, " AND ") + " SET " + strings.Join(set, ", "),
	}
	if p.stages == nil {
		p.stages = map[string]*stageTable{}
	}
	p.stages[sig] = st
	return st, nil
}

// keysOf returns the key values of rows.
func (p *applyPlan) keysOf(rows []value.Row) []value.Row {
	keys := make([]value.Row, len(rows))
	for i, row := range rows {
		keys[i] = make(value.Row, len(p.keyPos))
		for j, at := range p.keyPos {
			keys[i][j] = row[at]
		}
	}
	return keys
}
