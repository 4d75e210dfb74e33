package postgres

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/dtsorg/dts/internal/value"
)

// Bulk updates: full-row updates that keep their keys, many at a time (a
// source statement updating a large share of a table), go through a
// staging table instead of one upsert row per value list:
//
//	COPY stage FROM STDIN                      the new rows, as the full load writes them
//	UPDATE t SET c = s.c ... FROM stage s      joined on the key; its row count must be
//	  WHERE t.k = s.k                          the rows' (strict: a missing row is a divergence)
//
// The staging table is a temporary one of the session, made LIKE the
// target table once per table structure (a new plan after a DDL gets a new
// one) and emptied before each use; it is created inside the worker's
// transaction, so a rolled-back transaction takes it along and the next
// use creates it again.

// bulkUpdateMinRows: full-row updates of this many rows go through the
// staging table (below, the upsert's per-statement cost is smaller than a
// COPY round trip's).
const bulkUpdateMinRows = 256

// stageSeq numbers staging tables: one per plan.
var stageSeq atomic.Int64

// bulkUpdatable says whether rows of p can take the bulk update: a key the
// UPDATE can join on (a unique one: p.conflict is set only then), some
// column besides it to set, and every column of the table written (the
// staging table has them all; one left out could be NOT NULL there, and
// copying defaults could draw on the table's sequences).
func (p *applyPlan) bulkUpdatable() bool {
	return p.conflict != "" && len(p.keyPos) > 0 && len(p.cols) > len(p.keyPos) && len(p.cols) == len(p.at.Table.Columns)
}

// canStage says whether the user may create the staging table: without
// the TEMPORARY privilege on the database, updates take the upsert path
// (asked once; the query cannot fail the open transaction).
func (a *applier) canStage(ctx context.Context) bool {
	if a.mayStage == nil {
		ok := false
		if err := a.tx.QueryRow(ctx, "SELECT has_database_privilege(current_database(), 'TEMPORARY')").Scan(&ok); err != nil {
			ok = false
		}
		a.mayStage = &ok
	}
	return *a.mayStage
}

func (a *applier) bulkUpdate(ctx context.Context, p *applyPlan, rows []value.Row) error {
	if err := a.flush(ctx); err != nil {
		return err
	}
	if p.stage == "" {
		p.stage = fmt.Sprintf("dts_stage_%d", stageSeq.Add(1))
	}
	stage := quoteIdent(p.stage)
	if _, err := a.tx.Exec(ctx, "CREATE TEMP TABLE IF NOT EXISTS "+stage+" (LIKE "+p.qtable+") ON COMMIT DELETE ROWS"); err != nil {
		return a.explain(err, p.name)
	}
	if _, err := a.tx.Exec(ctx, "TRUNCATE "+stage); err != nil {
		return a.explain(err, p.name)
	}
	if err := a.copyRows(ctx, p, rows, stage); err != nil {
		return err
	}
	tag, err := a.tx.Exec(ctx, p.bulkUpdateSQL(stage))
	if err != nil {
		return a.explain(err, p.name)
	}
	if n := tag.RowsAffected(); n != int64(len(rows)) {
		return a.missingAfterBulk(ctx, p, stage, n, len(rows))
	}
	return nil
}

// bulkUpdateSQL is UPDATE t SET <non-key columns> = the stage's FROM the
// stage joined on the key.
func (p *applyPlan) bulkUpdateSQL(stage string) string {
	isKey := map[int]bool{}
	for _, pos := range p.keyPos {
		isKey[pos] = true
	}
	var set []string
	for _, c := range p.cols {
		if !isKey[c.pos] {
			set = append(set, quoteIdent(c.name)+" = s."+quoteIdent(c.name))
		}
	}
	return "UPDATE " + p.qtable + " AS d SET " + strings.Join(set, ", ") + " FROM " + stage + " AS s WHERE " + p.stageJoin()
}

// stageJoin is the condition joining the target (d) and its stage (s) on
// the key.
func (p *applyPlan) stageJoin() string {
	on := make([]string, len(p.keyPos))
	for i, pos := range p.keyPos {
		k := quoteIdent(p.at.Columns[pos])
		on[i] = "d." + k + " = s." + k
	}
	return strings.Join(on, " AND ")
}

// missingAfterBulk names a key of the stage the target does not hold.
func (a *applier) missingAfterBulk(ctx context.Context, p *applyPlan, stage string, updated int64, want int) error {
	key := make([]string, len(p.keyPos))
	for i, pos := range p.keyPos {
		key[i] = "s." + quoteIdent(p.at.Columns[pos]) + "::text"
	}
	q := "SELECT concat_ws(', ', " + strings.Join(key, ", ") + ") FROM " + stage + " AS s WHERE NOT EXISTS (SELECT 1 FROM " +
		p.qtable + " AS d WHERE " + p.stageJoin() + ") LIMIT 1"
	var missing string
	if err := a.tx.QueryRow(ctx, q).Scan(&missing); err != nil {
		return divergence(p.name, "an update of %d rows found %d of them", want, updated)
	}
	return divergence(p.name, "an update found no row with (%s) = (%s)", strings.Join(p.at.Key, ", "), missing)
}
