package compare

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// Repair SQL: statements in the target's dialect that make its rows equal
// to the source's, one per differing row, each idempotent (a missing row
// is inserted or, if it arrived meanwhile, updated; a changed row gets its
// differing columns; an extra row is deleted), so a script cut short can
// simply run again. Values are literals of the target column's type built
// from the source's compare form: strings quoted (with an encoding that no
// session setting changes), bytes in hex. The script starts with the
// session settings it needs (UTC, strict SQL mode, no foreign key checks
// on MySQL). A table without a key gets INSERTs and single-row DELETEs
// matching every column.

// repairDialect is an engine's repair SQL (mysqlrepair.go, pgrepair.go).
type repairDialect interface {
	// header are the session settings that go before the statements.
	header() []string
	// literal is v (a compare form) as a constant of column c's type.
	literal(c *schema.Column, v []byte) (string, error)
	// is is a condition that holds for a row whose compare form of column
	// c (fetched as valueExpr) is v, exactly (no collation folding).
	is(c *schema.Column, valueExpr string, v []byte) (string, error)
	// upsert inserts a row or, when its key exists, updates the others.
	upsert(t *schema.Table, cols, vals, key []string) string
	// deleteOne deletes one row matching cond.
	deleteOne(t *schema.Table, cond string) string
	// afterInserts are statements after rows were inserted into t with
	// explicit values of its identity columns.
	afterInserts(t *schema.Table) []string
	quote(name string) string
	// table names a target table in INSERT, UPDATE and DELETE.
	table(t *schema.Table) string
}

// repairFor returns the statements that repair a table's differences.
func (cr *content) repairFor(t *tableRun, diffs []diffRow) ([]string, error) {
	rd := cr.sides[1].d.(repairDialect)
	var out []string
	inserted := false
	for _, d := range diffs {
		var stmt string
		var err error
		switch {
		case len(t.p.key) == 0 && d.kind == RowMissing:
			stmt, err = t.insertSQL(rd, d.src, false)
			inserted = true
		case len(t.p.key) == 0:
			stmt, err = t.deleteRowSQL(rd, d.dst)
		case d.kind == RowMissing:
			// In a merged table the key may be another source's row:
			// never an upsert, which would overwrite it (the INSERT fails
			// instead, and the repair reports it).
			stmt, err = t.insertSQL(rd, d.src, len(t.p.fixed) == 0)
			inserted = true
		case d.kind == RowChanged:
			stmt, err = t.updateSQL(rd, d)
		default:
			var cond string
			if cond, err = t.keyCond(rd, d.key); err == nil {
				stmt = "DELETE FROM " + rd.table(t.p.dst) + " WHERE " + cond
			}
		}
		if err != nil {
			return nil, fmt.Errorf("repair SQL for %s: %w", t.p.name, err)
		}
		if stmt != "" {
			out = append(out, stmt)
		}
	}
	if inserted {
		out = append(out, rd.afterInserts(t.p.dst)...)
	}
	return out, nil
}

// writable reports whether a target column takes values (not generated).
func writable(c *schema.Column) bool { return c.Generated == nil }

func (t *tableRun) insertSQL(rd repairDialect, src value.Row, upsert bool) (string, error) {
	var cols, vals []string
	for i, k := range t.p.cols {
		c := k.c[1]
		if !writable(c) {
			continue
		}
		lit, err := rd.literal(c, src[i])
		if err != nil {
			return "", fmt.Errorf("column %s: %w", c.Name, err)
		}
		cols, vals = append(cols, rd.quote(c.Name)), append(vals, lit)
	}
	fc, fv, err := t.fillSQL(rd, change.OpInsert)
	if err != nil {
		return "", err
	}
	cols, vals = append(cols, fc...), append(vals, fv...)
	if !upsert {
		return "INSERT INTO " + rd.table(t.p.dst) + " (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(vals, ", ") + ")", nil
	}
	var key []string
	for _, i := range t.p.key {
		key = append(key, rd.quote(t.p.cols[i].c[1].Name))
	}
	return rd.upsert(t.p.dst, cols, vals, key), nil
}

func (t *tableRun) updateSQL(rd repairDialect, d diffRow) (string, error) {
	var sets []string
	for _, i := range d.cols {
		c := t.p.cols[i].c[1]
		if !writable(c) || slices.Contains(t.p.key, i) {
			continue
		}
		lit, err := rd.literal(c, d.src[i])
		if err != nil {
			return "", fmt.Errorf("column %s: %w", c.Name, err)
		}
		sets = append(sets, rd.quote(c.Name)+" = "+lit)
	}
	if len(sets) == 0 {
		return "", nil
	}
	fc, fv, err := t.fillSQL(rd, change.OpUpdate)
	if err != nil {
		return "", err
	}
	for i := range fc {
		sets = append(sets, fc[i]+" = "+fv[i])
	}
	cond, err := t.keyCond(rd, d.key)
	if err != nil {
		return "", err
	}
	return "UPDATE " + rd.table(t.p.dst) + " SET " + strings.Join(sets, ", ") + " WHERE " + cond, nil
}

// fillSQL returns the added columns the compare does not compare (from
// operation or commit_time) with their values for a change op made by
// the repair now, as the job fills them (see added.go).
func (t *tableRun) fillSQL(rd repairDialect, op change.Op) (cols, vals []string, err error) {
	for _, f := range t.p.fill {
		if !writable(f.c) {
			continue
		}
		lit, err := rd.literal(f.c, f.added.Value(t.p.src, op, t.at))
		if err != nil {
			return nil, nil, fmt.Errorf("column %s: %w", f.c.Name, err)
		}
		cols, vals = append(cols, rd.quote(f.c.Name)), append(vals, lit)
	}
	return cols, vals, nil
}

// keyCond selects a row of the target by its key and, in a merged table,
// by the added columns that make it this source's row.
func (t *tableRun) keyCond(rd repairDialect, key value.Row) (string, error) {
	var conds []string
	for j, i := range t.p.key {
		c := t.p.cols[i].c[1]
		lit, err := rd.literal(c, key[j])
		if err != nil {
			return "", fmt.Errorf("key column %s: %w", c.Name, err)
		}
		conds = append(conds, rd.quote(c.Name)+" = "+lit)
	}
	for _, f := range t.ts[1].fixed {
		lit, err := rd.literal(f.c, f.val)
		if err != nil {
			return "", fmt.Errorf("column %s: %w", f.c.Name, err)
		}
		conds = append(conds, rd.quote(f.c.Name)+" = "+lit)
	}
	return strings.Join(conds, " AND "), nil
}

// deleteRowSQL deletes one target row equal to row in every column.
func (t *tableRun) deleteRowSQL(rd repairDialect, row value.Row) (string, error) {
	var conds []string
	for i, k := range t.p.cols {
		c := k.c[1]
		if row[i] == nil {
			conds = append(conds, rd.quote(c.Name)+" IS NULL")
			continue
		}
		cond, err := rd.is(c, t.ts[1].values[i], row[i])
		if err != nil {
			return "", fmt.Errorf("column %s: %w", c.Name, err)
		}
		conds = append(conds, cond)
	}
	return rd.deleteOne(t.p.dst, strings.Join(conds, " AND ")), nil
}
