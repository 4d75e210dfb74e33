package mysql

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/go-sql-driver/mysql"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/value"
)

// The statements of an apply batch (connector.ApplyBatch):
//
//	insert          INSERT INTO t (...) VALUES (...),(...)         a taken key: error 1062 → divergence
//	insert, safe    DELETE the rows holding the new rows' keys (and other unique values), then INSERT
//	update          UPDATE t SET <present columns> WHERE <key> = ...   per row; matched rows
//	                (CLIENT_FOUND_ROWS) must be 1
//	update, full,   MariaDB: through a staging table (apply_stage.go): UPDATE t JOIN stage
//	  >= 64 rows
//	update, full,   SELECT COUNT(*) ... WHERE <keys> must find every key, then
//	  > 2 rows      DELETE them and INSERT the new rows: three statements for the batch
//	update, safe    full rows: DELETE old and new keys, INSERT; partial: per row, unchecked
//	delete          DELETE FROM t WHERE <keys>; with > 1 key the keys are counted first
//	no key          per row, all columns compared byte for byte (NULL-safe), LIMIT 1
//
// No INSERT ... ON DUPLICATE KEY UPDATE or REPLACE: they take next-key
// (gap) locks even under READ COMMITTED, and the inserts of another worker
// into those gaps deadlock with them. Every statement here locks only the
// rows it changes. Keys are compared in the column's own terms (keys.go):
// CAST(? AS DECIMAL(p,s)) for decimals, the column's charset and collation
// for text. Several keys are written (k1 = ? AND k2 = ?) OR (...), which
// MariaDB answers from the index where it scans for row constructors. A
// present-column update cannot be one multi-row statement without putting
// values through derived-table columns whose types MySQL guesses (and
// converts through): those stay one statement per row, which also keeps
// the source order where unique keys could collide.

// Apply writes one batch (see the table at the top of the file).
func (a *applier) Apply(ctx context.Context, b *connector.ApplyBatch) error {
	p, err := a.plan(b.Table)
	if err != nil {
		return a.fail(err)
	}
	if err := a.begin(ctx); err != nil {
		return err
	}
	switch b.Op {
	case connector.ApplyInsert:
		err = a.insert(ctx, p, b.Rows, b.Safe)
	case connector.ApplyUpdate:
		err = a.update(ctx, p, b)
	case connector.ApplyDelete:
		err = a.delete(ctx, p, b.Keys, b.Safe)
	default:
		err = fmt.Errorf("apply %s: unknown operation %d", p.name, b.Op)
	}
	return a.fail(err)
}

// insert writes rows with multi-row INSERTs; safe: the rows holding their
// keys (or other unique values) are deleted first.
func (a *applier) insert(ctx context.Context, p *applyPlan, rows []value.Row, safe bool) error {
	if safe && len(p.keyPos) > 0 {
		if err := a.deleteHolders(ctx, p, nil, rows); err != nil {
			return err
		}
	}
	for len(rows) > 0 {
		n := a.fits(p, rows)
		if n == 0 { // a row with an ENUM error value: alone, outside strict mode
			if err := a.insertNonStrict(ctx, p, rows[0]); err != nil {
				return err
			}
			rows = rows[1:]
			continue
		}
		if err := a.insertRows(ctx, p, rows[:n]); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// fits is how many of rows (at least one) one multi-row INSERT takes; 0
// when the first has an ENUM error value (written alone, outside strict
// mode).
func (a *applier) fits(p *applyPlan, rows []value.Row) int {
	budget := min(a.s.maxPacket/4, 16<<20)
	n, bytes := 0, 0
	for n < len(rows) && n < p.maxRows && (n == 0 || bytes < budget) {
		if p.enums && p.hasEnumError(rows[n], nil) {
			break
		}
		bytes += rows[n].Size() + 8*len(rows[n])
		n++
	}
	return n
}

// deleteHolders deletes the rows holding one of keys or one of the key or
// unique values of rows (a safe insert's way of replacing them).
func (a *applier) deleteHolders(ctx context.Context, p *applyPlan, keys, rows []value.Row) error {
	for i, ks := range append([]keySet{p.key}, p.uniques...) {
		var vals []value.Row
		if i == 0 {
			vals = append(vals, keys...)
		}
		for _, row := range rows {
			k := make(value.Row, len(ks.pos))
			null := false
			for i, at := range ks.pos {
				k[i] = row[at]
				null = null || k[i] == nil
			}
			if !null { // NULLs never collide
				vals = append(vals, k)
			}
		}
		if _, err := a.deleteKeysCount(ctx, p, ks, vals); err != nil {
			return err
		}
	}
	return nil
}

func (a *applier) insertRows(ctx context.Context, p *applyPlan, rows []value.Row) error {
	return a.insertInto(ctx, p, p.insertPrefix, p.rowSQL, nil, rows)
}

// insertInto writes rows with one INSERT whose text starts with prefix
// (the target table's or a staging table's), each row's values (those of
// the columns in mask; nil: all) as rowSQL.
func (a *applier) insertInto(ctx context.Context, p *applyPlan, prefix, rowSQL string, mask []bool, rows []value.Row) error {
	var b strings.Builder
	b.Grow(len(prefix) + len(rows)*(len(rowSQL)+1))
	b.WriteString(prefix)
	for i := range rows {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(rowSQL)
	}
	args, err := p.fill(make([]any, 0, len(rows)*len(p.cols)), rows, mask)
	if err != nil {
		return err
	}
	_, err = a.exec(ctx, b.String(), args)
	if err != nil {
		return p.writeError(err, "insert")
	}
	return nil
}

// hasEnumError reports whether a written column of row (one present in
// the update, present nil: every one) holds an ENUM's error value, the empty string.
func (p *applyPlan) hasEnumError(row value.Row, present []bool) bool {
	for _, c := range p.cols {
		if (present == nil || present[c.pos]) && isEnumError(c.typ, row[c.pos]) {
			return true
		}
	}
	return false
}

// nonStrictMode is the sink's sql_mode without STRICT_ALL_TABLES: the only
// mode in which an ENUM's error value (the empty string) is stored.
const nonStrictMode = "'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION,ALLOW_INVALID_DATES'"

// insertNonStrict inserts a row holding an ENUM's error value, the empty string.
func (a *applier) insertNonStrict(ctx context.Context, p *applyPlan, row value.Row) error {
	q := "SET STATEMENT sql_mode = " + nonStrictMode + " FOR " + p.insertPrefix + p.rowSQL
	if !a.s.srv.mariadb {
		q = "INSERT /*+ SET_VAR(sql_mode = " + nonStrictMode + ") */" + strings.TrimPrefix(p.insertPrefix, "INSERT") + p.rowSQL
	}
	args, err := p.fill(nil, []value.Row{row}, nil)
	if err != nil {
		return err
	}
	if _, err := a.conn.ExecContext(ctx, q, args...); err != nil {
		return p.writeError(err, "insert")
	}
	return a.onlyEnumWarnings(ctx, p, row, nil)
}

// updateNonStrict runs an UPDATE (statement q) that writes an ENUM error
// value (the empty string) outside strict mode.
func (a *applier) updateNonStrict(ctx context.Context, q string, args []any) (interface{ RowsAffected() (int64, error) }, error) {
	if a.s.srv.mariadb {
		q = "SET STATEMENT sql_mode = " + nonStrictMode + " FOR " + q
	} else {
		q = "UPDATE /*+ SET_VAR(sql_mode = " + nonStrictMode + ") */" + strings.TrimPrefix(q, "UPDATE")
	}
	return a.conn.ExecContext(ctx, q, args...)
}

// onlyEnumWarnings checks that the warnings of the statement that just ran
// outside strict mode are exactly one per ENUM error value it wrote:
// anything else the non-strict mode let through (a truncation) fails.
func (a *applier) onlyEnumWarnings(ctx context.Context, p *applyPlan, row value.Row, present []bool) error {
	want := 0
	for _, c := range p.cols {
		if (present == nil || present[c.pos]) && isEnumError(c.typ, row[c.pos]) {
			want++
		}
	}
	rows, err := a.conn.QueryContext(ctx, "SHOW WARNINGS")
	if err != nil {
		return fmt.Errorf("apply %s: %w", p.name, err)
	}
	defer rows.Close()
	got := 0
	var msgs []string
	for rows.Next() {
		var level, msg string
		var code int
		if err := rows.Scan(&level, &code, &msg); err != nil {
			return err
		}
		if code == erWarnDataTruncated {
			got++
		}
		msgs = append(msgs, msg)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if got != want || len(msgs) != want {
		return errs.New(CodeUnsupportedValue, "table %s: a row with an ENUM error value could not be stored exactly: %s",
			p.name, strings.Join(msgs, "; ")).WithFix("check the row's values against the target columns")
	}
	return nil
}

// update applies an update batch.
func (a *applier) update(ctx context.Context, p *applyPlan, b *connector.ApplyBatch) error {
	if len(b.Rows) != len(b.Keys) {
		return fmt.Errorf("apply %s: %d rows for %d keys", p.name, len(b.Rows), len(b.Keys))
	}
	if len(p.keyPos) == 0 {
		for i := range b.Rows {
			if err := a.updateOne(ctx, p, b.Keys[i], b.Rows[i], b.Present, true, b.Safe); err != nil {
				return err
			}
		}
		return nil
	}
	moved := make([]bool, len(b.Rows))
	anyMoved := false
	for i, row := range b.Rows {
		moved[i] = !p.sameKey(b.Keys[i], row)
		anyMoved = anyMoved || moved[i]
	}
	if b.Safe && b.Present == nil { // the rows end up as given, whatever the target held
		if err := a.deleteHolders(ctx, p, b.Keys, b.Rows); err != nil {
			return err
		}
		return a.insert(ctx, p, b.Rows, false)
	}
	if !b.Safe && b.Present == nil && !anyMoved && a.stagedUpdatable(p, b.Rows) {
		if done, err := a.stagedUpdate(ctx, p, b.Rows, b.Changed); done || err != nil {
			return err
		}
	}
	if !b.Safe && b.Present == nil && !anyMoved && len(p.uniques) == 0 && len(b.Rows) > 2 {
		// Every key has its row: replace them all.
		if err := a.checkKeys(ctx, p, b.Keys); err != nil {
			return err
		}
		n, err := a.deleteKeysCount(ctx, p, p.key, b.Keys)
		if err != nil {
			return err
		}
		if n != int64(len(b.Keys)) {
			return divergence(p.name, "an update of %d rows found %d", len(b.Keys), n)
		}
		return a.insert(ctx, p, b.Rows, false)
	}
	for i := range b.Rows {
		if err := a.updateOne(ctx, p, b.Keys[i], b.Rows[i], b.Present, moved[i], b.Safe); err != nil {
			return err
		}
	}
	return nil
}

// sameKey reports whether row carries key (byte for byte).
func (p *applyPlan) sameKey(key, row value.Row) bool {
	for i, pos := range p.keyPos {
		if (key[i] == nil) != (row[pos] == nil) || string(key[i]) != string(row[pos]) {
			return false
		}
	}
	return true
}

// updateOne updates the row key identifies; withKey also sets the key
// columns (the key changed). Strict: exactly one row must match.
func (a *applier) updateOne(ctx context.Context, p *applyPlan, key, row value.Row, present []bool, withKey, safe bool) error {
	var b strings.Builder
	args := make([]any, 0, len(p.cols)+len(key))
	b.WriteString("UPDATE " + p.qtable + " SET ")
	n := 0
	for _, c := range p.cols {
		if present != nil && !present[c.pos] || !withKey && indexOf(p.at.Key, c.name) >= 0 {
			continue
		}
		if n > 0 {
			b.WriteString(", ")
		}
		n++
		b.WriteString(quoteIdent(c.name) + " = ?")
		v, err := p.encode(c, row[c.pos])
		if err != nil {
			return err
		}
		args = append(args, v)
	}
	if n == 0 { // nothing to set: the row only has to be there
		if safe {
			return nil
		}
		return a.checkKeys(ctx, p, []value.Row{key})
	}
	b.WriteString(" WHERE ")
	args, err := p.whereOne(&b, args, key)
	if err != nil {
		return err
	}
	if len(p.keyPos) == 0 {
		b.WriteString(" LIMIT 1")
	}
	var res interface{ RowsAffected() (int64, error) }
	nonStrict := p.enums && p.hasEnumError(row, present) // outside strict mode, as inserts of such rows
	if nonStrict {
		res, err = a.updateNonStrict(ctx, b.String(), args)
	} else {
		res, err = a.exec(ctx, b.String(), args)
	}
	if err != nil {
		return p.writeError(err, "update")
	}
	if nonStrict {
		if err := a.onlyEnumWarnings(ctx, p, row, present); err != nil {
			return err
		}
	}
	if safe {
		return nil
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return divergence(p.name, "an update found no row with %s", p.showKey(key))
	}
	return nil
}

// delete applies a delete batch.
func (a *applier) delete(ctx context.Context, p *applyPlan, keys []value.Row, safe bool) error {
	if len(p.keyPos) == 0 {
		for _, k := range keys {
			var b strings.Builder
			b.WriteString("DELETE FROM " + p.qtable + " WHERE ")
			args, err := p.whereOne(&b, nil, k)
			if err != nil {
				return err
			}
			b.WriteString(" LIMIT 1")
			res, err := a.exec(ctx, b.String(), args)
			if err != nil {
				return p.writeError(err, "delete")
			}
			if n, err := res.RowsAffected(); !safe && (err != nil || n != 1) {
				return divergence(p.name, "a delete found no row with %s", p.showKey(k))
			}
		}
		return nil
	}
	if safe {
		_, err := a.deleteKeysCount(ctx, p, p.key, keys)
		return err
	}
	if len(keys) > 1 {
		if err := a.checkKeys(ctx, p, keys); err != nil {
			return err
		}
	}
	n, err := a.deleteKeysCount(ctx, p, p.key, keys)
	if err != nil {
		return err
	}
	if n != int64(len(keys)) {
		if len(keys) == 1 {
			return divergence(p.name, "a delete found no row with %s", p.showKey(keys[0]))
		}
		return divergence(p.name, "a delete of %d keys found %d rows", len(keys), n)
	}
	return nil
}

// deleteKeysCount deletes the rows whose columns ks hold one of keys and
// returns how many it deleted.
//
// A DELETE locks every row it reads, matching or not, even under READ
// COMMITTED, and for a small table (or stale statistics) the optimizer
// reads the whole table rather than the key's index: it would wait on
// rows other workers hold, and deadlock with them. So the keys go in a
// derived table joined to the table first (STRAIGHT_JOIN): each key is
// looked up in the index and only its row is locked. Keys of types that
// would not join through the index are deleted one statement per key.
func (a *applier) deleteKeysCount(ctx context.Context, p *applyPlan, ks keySet, keys []value.Row) (int64, error) {
	var total int64
	per := max(1, 65535/len(ks.cols))
	if ks.joined == nil {
		per = 1
	}
	for len(keys) > 0 {
		n := min(len(keys), per, p.maxRows)
		var b strings.Builder
		var args []any
		var err error
		if ks.joined == nil {
			b.WriteString("DELETE FROM " + p.qtable + " WHERE ")
			args, err = p.keyCondition(&b, nil, ks, keys[0])
		} else {
			args, err = p.joinedDelete(&b, ks, keys[:n])
		}
		if err != nil {
			return 0, err
		}
		res, err := a.exec(ctx, b.String(), args)
		if err != nil {
			return 0, p.writeError(err, "delete")
		}
		got, err := res.RowsAffected()
		if err != nil {
			return 0, err
		}
		total += got
		keys = keys[n:]
	}
	return total, nil
}

// joinedDelete writes DELETE db.t FROM (SELECT <key> UNION ALL ...) AS d
// STRAIGHT_JOIN db.t ON db.t.k1 = d.k0 AND ...
//
// The table is named by its qualified name, never an alias: MySQL resolves
// the alias in a multi-table DELETE's target list against the session's
// default database, and the apply connections have none (error 1046).
func (p *applyPlan) joinedDelete(b *strings.Builder, ks keySet, keys []value.Row) ([]any, error) {
	args := make([]any, 0, len(keys)*len(ks.cols))
	b.WriteString("DELETE " + p.qtable + " FROM (")
	for i, key := range keys {
		if i > 0 {
			b.WriteString(" UNION ALL ")
		}
		b.WriteString("SELECT ")
		for j, c := range ks.cols {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString(ks.joined[j])
			if i == 0 {
				b.WriteString(" AS `k" + strconv.Itoa(j) + "`")
			}
			if key[j] == nil {
				return nil, fmt.Errorf("apply %s: a key has NULL for %s", p.name, c.name)
			}
			v, err := c.arg(key[j])
			if err != nil {
				return nil, fmt.Errorf("apply %s: key column %s: %w", p.name, c.name, err)
			}
			args = append(args, v)
		}
	}
	b.WriteString(") AS `_dts_d` STRAIGHT_JOIN " + p.qtable + " ON ")
	for j, c := range ks.cols {
		if j > 0 {
			b.WriteString(" AND ")
		}
		b.WriteString(p.qtable + "." + quoteIdent(c.name) + " = `_dts_d`.`k" + strconv.Itoa(j) + "`")
	}
	return args, nil
}

// checkKeys fails with divergence naming the first of keys that has no
// row. It reads without locking: a locking read waits on every row it
// passes (a small table is scanned whole), rows other workers hold among
// them, and those can wait on this worker; the keys are this worker's
// alone, so what it reads stays true until it changes them.
func (a *applier) checkKeys(ctx context.Context, p *applyPlan, keys []value.Row) error {
	per := max(1, 65535/len(p.key.cols))
	for rest := keys; len(rest) > 0; {
		n := min(len(rest), per, p.maxRows)
		var b strings.Builder
		b.WriteString("SELECT COUNT(*) FROM " + p.qtable + " WHERE ")
		args, err := p.whereKeys(&b, nil, p.key, rest[:n])
		if err != nil {
			return err
		}
		var found int
		if err := a.queryRow(ctx, b.String(), args, &found); err != nil {
			return fmt.Errorf("apply %s: look up rows: %w", p.name, err)
		}
		if found != n {
			return a.missingKey(ctx, p, rest[:n])
		}
		rest = rest[n:]
	}
	return nil
}

// missingKey names the first of keys that has no row.
func (a *applier) missingKey(ctx context.Context, p *applyPlan, keys []value.Row) error {
	for _, k := range keys {
		var b strings.Builder
		b.WriteString("SELECT COUNT(*) FROM " + p.qtable + " WHERE ")
		args, err := p.whereOne(&b, nil, k)
		if err != nil {
			return err
		}
		var found int
		if err := a.queryRow(ctx, b.String(), args, &found); err != nil {
			return fmt.Errorf("apply %s: look up a row: %w", p.name, err)
		}
		if found == 0 {
			return divergence(p.name, "no row with %s", p.showKey(k))
		}
	}
	return divergence(p.name, "fewer rows than keys among %d keys", len(keys))
}

// exec runs a statement prepared once per connection.
func (a *applier) exec(ctx context.Context, q string, args []any) (interface{ RowsAffected() (int64, error) }, error) {
	st, err := a.stmts.get(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (a *applier) queryRow(ctx context.Context, q string, args []any, dst ...any) error {
	st, err := a.stmts.get(ctx, q)
	if err != nil {
		return err
	}
	return st.QueryRowContext(ctx, args...).Scan(dst...)
}

// whereOne writes the condition that identifies one row: its key, or (no
// key) every column compared exactly.
func (p *applyPlan) whereOne(b *strings.Builder, args []any, key value.Row) ([]any, error) {
	if len(p.keyPos) == 0 {
		if len(key) != len(p.at.Columns) {
			return nil, fmt.Errorf("apply %s: an old row has %d values for %d columns", p.name, len(key), len(p.at.Columns))
		}
		for i, m := range p.match {
			if i > 0 {
				b.WriteString(" AND ")
			}
			v := key[m.pos]
			if v == nil {
				b.WriteString(quoteIdent(m.name) + " IS NULL")
				continue
			}
			b.WriteString(m.sql)
			arg, err := m.arg(v)
			if err != nil {
				return nil, fmt.Errorf("apply %s: column %s: %w", p.name, m.name, err)
			}
			args = append(args, arg)
		}
		return args, nil
	}
	return p.keyCondition(b, args, p.key, key)
}

// keyCondition writes k1 = ? AND k2 = ? for one key.
func (p *applyPlan) keyCondition(b *strings.Builder, args []any, ks keySet, key value.Row) ([]any, error) {
	if len(key) != len(ks.cols) {
		return nil, fmt.Errorf("apply %s: a key has %d values for %d key columns", p.name, len(key), len(ks.cols))
	}
	for i, k := range ks.cols {
		if i > 0 {
			b.WriteString(" AND ")
		}
		if key[i] == nil {
			b.WriteString(quoteIdent(k.name) + " IS NULL")
			continue
		}
		b.WriteString(quoteIdent(k.name) + " = " + k.param)
		v, err := k.arg(key[i])
		if err != nil {
			return nil, fmt.Errorf("apply %s: key column %s: %w", p.name, k.name, err)
		}
		args = append(args, v)
	}
	return args, nil
}

// whereKeys writes the condition matching any of keys: k IN (...) for one
// key column, (k1 = ? AND k2 = ?) OR ... for several.
func (p *applyPlan) whereKeys(b *strings.Builder, args []any, ks keySet, keys []value.Row) ([]any, error) {
	if len(ks.cols) == 1 && !hasNullKey(keys) {
		k := ks.cols[0]
		b.WriteString(quoteIdent(k.name) + " IN (")
		for i, key := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(k.param)
			v, err := k.arg(key[0])
			if err != nil {
				return nil, fmt.Errorf("apply %s: key column %s: %w", p.name, k.name, err)
			}
			args = append(args, v)
		}
		b.WriteByte(')')
		return args, nil
	}
	for i, key := range keys {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteByte('(')
		var err error
		if args, err = p.keyCondition(b, args, ks, key); err != nil {
			return nil, err
		}
		b.WriteByte(')')
	}
	return args, nil
}

func hasNullKey(keys []value.Row) bool {
	for _, k := range keys {
		for _, v := range k {
			if v == nil {
				return true
			}
		}
	}
	return false
}

// fill appends the parameters of rows (only present columns when set).
func (p *applyPlan) fill(args []any, rows []value.Row, present []bool) ([]any, error) {
	for _, row := range rows {
		if len(row) != len(p.at.Columns) {
			return nil, fmt.Errorf("apply %s: a row has %d values for %d columns", p.name, len(row), len(p.at.Columns))
		}
		for _, c := range p.cols {
			if present != nil && !present[c.pos] {
				continue
			}
			v, err := p.encode(c, row[c.pos])
			if err != nil {
				return nil, err
			}
			args = append(args, v)
		}
	}
	return args, nil
}

func (p *applyPlan) encode(c applyCol, v []byte) (any, error) {
	if v == nil {
		return nil, nil
	}
	a, err := c.enc(v)
	if err != nil {
		return nil, errs.New(CodeUnsupportedValue, "table %s column %s: %v", p.name, c.name, err).
			WithFix("change the target column's type, or leave the column or table out of the job")
	}
	return a, nil
}

// writeError turns a server error into a coded error where a user can act.
func (p *applyPlan) writeError(err error, what string) error {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		switch {
		case me.Number == erDupEntry:
			return divergence(p.name, "an %s found its key taken: %s", what, me.Message)
		case valueErrors[me.Number]:
			return errs.New(CodeUnsupportedValue, "the target refused a value of table %s: %s", p.name, me.Message).
				WithFix("change the target column's type, or leave the column or table out of the job")
		}
	}
	return fmt.Errorf("apply %s (%s): %w", p.name, what, err)
}

// showKey renders a key for a message: (a, b) = ('x', 1), values cut at 64 bytes.
func (p *applyPlan) showKey(key value.Row) string {
	names := p.at.Key
	if len(names) == 0 {
		names = p.at.Columns
	}
	vals := make([]string, len(key))
	for i, v := range key {
		vals[i] = showValue(v)
	}
	return "(" + strings.Join(names, ", ") + ") = (" + strings.Join(vals, ", ") + ")"
}

func showValue(v []byte) string {
	if v == nil {
		return "NULL"
	}
	if len(v) > 64 {
		v = v[:64]
	}
	if utf8.Valid(v) {
		return strconv.Quote(string(v))
	}
	return fmt.Sprintf("0x%x", v)
}
