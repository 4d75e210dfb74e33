package postgres

import (
	"context"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// The statements of an apply batch (connector.ApplyBatch), all pipelined:
//
//	insert          INSERT INTO t (...) VALUES (...),(...)        a taken key: 23505 → divergence
//	insert, safe    ... ON CONFLICT (key) DO UPDATE; with other unique keys, the rows holding any
//	                of the new rows' unique values are deleted first
//	update, full    INSERT ... ON CONFLICT (key) DO UPDATE ... RETURNING xmax = 0: a row the
//	                upsert inserted had no old row → divergence (the transaction never commits)
//	update, partial UPDATE t SET <present columns> WHERE <key> = ...  per row, 1 row each
//	  or key moved
//	delete          DELETE FROM t WHERE <key> IN (...) RETURNING <key>::text: every key must come back
//	no key          per row: ... WHERE ctid = (SELECT ctid FROM t WHERE <every column> IS NOT
//	                DISTINCT FROM ... LIMIT 1)
//
// Values go as text parameters whose type the server infers from the
// column, read by the type's input function: the same text COPY would
// carry. A multi-row statement holds a power of two rows (or the table's
// most), so few statement shapes exist per table and each is prepared once
// per connection. PostgreSQL refuses an upsert that touches a row twice:
// the coordinator never puts a key twice into one batch.

// applyPlan is how one ApplyTable's rows are written.
type applyPlan struct {
	at     *connector.ApplyTable
	name   string
	qtable string
	cols   []applyCol // written (not generated) columns
	keyPos []int      // positions in at.Columns of the key, in key order
	keySQL []string   // the key's quoted names
	match  []applyMatch
	// uniques are the other unique keys' column positions (plain columns
	// only): a safe insert removes rows holding the same values first.
	uniques [][]int
	maxRows int

	// conflict is "" when the key is no unique key of the table (a merged
	// table's key with the columns telling its sources apart): no upserts.
	insertPrefix string // INSERT INTO t (...) VALUES
	conflict     string // ON CONFLICT (key) DO UPDATE SET ... | DO NOTHING
	returnKey    string // k1::text, k2::text
	stage        string // the staging table of bulk updates (apply_bulk.go), once made
}

type applyCol struct {
	pos  int
	name string
	enc  encoder
}

// applyMatch compares a column with a value exactly (tables without key).
type applyMatch struct {
	pos  int
	expr string // the column's side of IS NOT DISTINCT FROM
	cast string // appended to the parameter
	enc  encoder
}

func (a *applier) plan(ctx context.Context, at *connector.ApplyTable) (*applyPlan, error) {
	if p, ok := a.plans[at]; ok {
		return p, nil
	}
	if err := a.newVersion(ctx, at); err != nil {
		return nil, err
	}
	t := at.Table
	if len(at.SourceTypes) != len(at.Columns) {
		return nil, fmt.Errorf("apply %s: %d source types for %d columns", t, len(at.SourceTypes), len(at.Columns))
	}
	p := &applyPlan{at: at, name: t.String(), qtable: quoteQualified(t.Schema, t.Name)}
	var names []string
	for i, name := range at.Columns {
		c, ok := t.Column(name)
		if !ok {
			return nil, fmt.Errorf("apply %s: the table has no column %s", t, name)
		}
		if c.Generated != nil {
			continue
		}
		p.cols = append(p.cols, applyCol{pos: i, name: name, enc: encoderFor(at.SourceTypes[i], c.Type)})
		names = append(names, name)
		if len(at.Key) == 0 {
			p.match = append(p.match, matchFor(i, c, at.SourceTypes[i]))
		}
	}
	if len(p.cols) == 0 {
		return nil, fmt.Errorf("apply %s: no column to write", t)
	}
	var casts []string
	for _, k := range at.Key {
		i := indexOf(at.Columns, k)
		if i < 0 {
			return nil, fmt.Errorf("apply %s: key column %s is not among the written columns", t, k)
		}
		p.keyPos = append(p.keyPos, i)
		p.keySQL = append(p.keySQL, quoteIdent(k))
		casts = append(casts, quoteIdent(k)+"::text")
	}
	p.returnKey = strings.Join(casts, ", ")
	uniques := t.Indexes
	if len(t.PrimaryKey) > 0 {
		pk := schema.Index{Unique: true}
		for _, c := range t.PrimaryKey {
			pk.Columns = append(pk.Columns, schema.IndexColumn{Name: c})
		}
		uniques = append([]schema.Index{pk}, uniques...)
	}
	keyUnique := false
	for _, ix := range uniques {
		if !ix.Unique || ix.Where != "" || ix.OnColumns(at.Key) {
			keyUnique = keyUnique || ix.Unique && ix.Where == "" && ix.OnColumns(at.Key)
			continue
		}
		var pos []int
		for _, c := range ix.Columns {
			if i := indexOf(at.Columns, c.Name); c.Expr == "" && i >= 0 {
				pos = append(pos, i)
			} else {
				pos = nil
				break
			}
		}
		if pos != nil {
			p.uniques = append(p.uniques, pos)
		}
	}
	p.insertPrefix = "INSERT INTO " + p.qtable + " (" + quoteIdentList(names) + ") VALUES "
	for _, c := range t.Columns {
		if c.Identity == "ALWAYS" && indexOf(names, c.Name) >= 0 { // the source's values, not the sequence's
			p.insertPrefix = "INSERT INTO " + p.qtable + " (" + quoteIdentList(names) + ") OVERRIDING SYSTEM VALUE VALUES "
		}
	}
	p.maxRows = max(1, min(1024, 65535/len(p.cols)))
	var set []string
	for _, c := range p.cols {
		if indexOf(at.Key, c.name) < 0 {
			set = append(set, quoteIdent(c.name)+" = EXCLUDED."+quoteIdent(c.name))
		}
	}
	if len(at.Key) > 0 && keyUnique {
		p.conflict = " ON CONFLICT (" + strings.Join(p.keySQL, ", ") + ") DO NOTHING"
		if len(set) > 0 {
			p.conflict = " ON CONFLICT (" + strings.Join(p.keySQL, ", ") + ") DO UPDATE SET " + strings.Join(set, ", ")
		}
	}
	if len(a.plans) >= maxApplyPlans {
		clear(a.plans)
	}
	a.plans[at] = p
	return p, nil
}

// newVersion forgets the connection's prepared statements when at is a new
// version of a table the applier wrote before (a schema change came
// between). A statement prepared for the old version keeps the parameter
// types the server inferred then: the same INSERT text would still send an
// int4 parameter to a column now numeric, and refuse values only the new
// type holds. Schema changes are rare; every statement is prepared again.
func (a *applier) newVersion(ctx context.Context, at *connector.ApplyTable) error {
	name := at.Table.Schema + "\x00" + at.Table.Name
	prev, seen := a.versions[name]
	if seen && prev == at {
		return nil
	}
	forget := seen
	if len(a.versions) >= maxApplyPlans*4 { // the versions of tables no longer written: drop them all, and what they prepared
		clear(a.versions)
		forget = true
	}
	a.versions[name] = at
	if !forget {
		return nil
	}
	// Nothing is in flight: statements queued but not sent are prepared
	// when they go out. pgx forgets its statement cache before it tells the
	// server, so the DEALLOCATE must not be cut short by the job stopping
	// (the connection would go back to the pool with statements the cache
	// no longer knows, and the next PREPARE of one fails with 42P05); when
	// it fails anyway the connection is closed, never reused.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := a.conn.Conn().DeallocateAll(dctx); err != nil {
		_ = a.conn.Conn().Close(dctx)
		return wrapErr(err, "apply worker %d: forget the statements prepared for %s", a.worker, at.Table)
	}
	return nil
}

// matchFor compares column c exactly: in its own type where equality is
// identity, as text where the type's equality is looser ('1 day' = '24
// hours', 1.0 = 1.00) or missing (json), with collation "C" for text.
func matchFor(pos int, c *schema.Column, src schema.Type) applyMatch {
	m := applyMatch{pos: pos, expr: quoteIdent(c.Name), enc: encoderFor(src, c.Type)}
	switch c.Type.Kind {
	case schema.KindJSON, schema.KindXML, schema.KindUnknown, schema.KindArray, schema.KindInterval,
		schema.KindTimeTZ, schema.KindDecimal:
		if !c.Type.JSONB {
			m.expr += `::text COLLATE "C"`
			m.cast = "::text"
		}
	case schema.KindChar, schema.KindVarChar, schema.KindText, schema.KindEnum:
		if c.Type.Kind != schema.KindEnum {
			m.expr += ` COLLATE "C"`
		}
	}
	return m
}

// Apply queues one batch's statements (see the table at the top of the file).
func (a *applier) Apply(ctx context.Context, b *connector.ApplyBatch) error {
	if err := a.begin(ctx); err != nil {
		return err
	}
	p, err := a.plan(ctx, b.Table)
	if err != nil {
		return a.fail(err)
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

// chunks splits n rows into statement sizes: the table's most, then powers
// of two.
func chunks(n, most int) []int {
	var out []int
	for n >= most {
		out = append(out, most)
		n -= most
	}
	for n > 0 {
		k := 1 << (bits.Len(uint(n)) - 1)
		out = append(out, k)
		n -= k
	}
	return out
}

func (a *applier) insert(ctx context.Context, p *applyPlan, rows []value.Row, safe bool) error {
	if !safe && len(rows) >= copyMinRows {
		return a.copyRows(ctx, p, rows, p.qtable)
	}
	if safe && len(p.uniques) > 0 {
		if err := a.deleteUniques(ctx, p, rows); err != nil {
			return err
		}
	}
	if safe && len(p.keyPos) > 0 && p.conflict == "" { // no upsert on this key: the rows with it go first
		keys := make([]value.Row, len(rows))
		for i, r := range rows {
			keys[i] = p.keyOf(r)
		}
		if err := a.deleteWhere(ctx, p, p.keyPos, keys, false); err != nil {
			return err
		}
		return a.upsert(ctx, p, rows, false, false)
	}
	return a.upsert(ctx, p, rows, safe && len(p.keyPos) > 0, false)
}

// copyMinRows: a plain insert of this many rows goes as COPY, the full
// load's way (write.go): the server reads one stream instead of statements
// with a parameter per value, and a burst of inserts (a bulk load on the
// source) is applied about twice as fast. A key already taken fails the
// COPY, and the transaction, as it fails an INSERT.
const copyMinRows = 256

// copyRows writes rows with COPY into table into (quoted: p's table, or
// its staging table), after the statements queued before them.
func (a *applier) copyRows(ctx context.Context, p *applyPlan, rows []value.Row, into string) error {
	if err := a.flush(ctx); err != nil {
		return err
	}
	sent := false
	w := connector.ChunkWrite{Table: p.at.Table, Columns: p.at.Columns, SourceTypes: p.at.SourceTypes}
	src, _, err := newCopySource(w, func() ([]value.Row, error) {
		if sent {
			return nil, nil
		}
		sent = true
		return rows, nil
	})
	if err != nil {
		return err
	}
	names := make([]string, len(p.cols))
	for i, c := range p.cols {
		names[i] = c.name
	}
	_, err = a.tx.Conn().PgConn().CopyFrom(ctx, src, "COPY "+into+" ("+quoteIdentList(names)+") FROM STDIN")
	_, srcErr := src.stop()
	switch {
	case srcErr != nil:
		return srcErr // a value PostgreSQL cannot hold
	case err != nil:
		return a.explain(err, p.name)
	}
	return nil
}

// keyOf returns the key values of a row.
func (p *applyPlan) keyOf(row value.Row) value.Row {
	k := make(value.Row, len(p.keyPos))
	for i, pos := range p.keyPos {
		k[i] = row[pos]
	}
	return k
}

// upsert writes rows with multi-row INSERTs; onConflict makes them upserts;
// strict (an update's upsert) fails when one of them inserted a new row.
func (a *applier) upsert(ctx context.Context, p *applyPlan, rows []value.Row, onConflict, strict bool) error {
	for _, n := range chunks(len(rows), p.maxRows) {
		part := rows[:n]
		rows = rows[n:]
		var b strings.Builder
		b.Grow(len(p.insertPrefix) + n*len(p.cols)*7 + len(p.conflict) + 64)
		b.WriteString(p.insertPrefix)
		args := make([]any, 0, n*len(p.cols))
		bytes := 0
		param := 0
		for i, row := range part {
			if len(row) != len(p.at.Columns) {
				return fmt.Errorf("apply %s: a row has %d values for %d columns", p.name, len(row), len(p.at.Columns))
			}
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('(')
			for j, c := range p.cols {
				if j > 0 {
					b.WriteByte(',')
				}
				param++
				b.WriteByte('$')
				b.WriteString(strconv.Itoa(param))
				v, err := p.text(c.enc, c.name, row[c.pos])
				if err != nil {
					return err
				}
				args = append(args, v)
				bytes += len(row[c.pos])
			}
			b.WriteByte(')')
		}
		if onConflict {
			b.WriteString(p.conflict)
		}
		check := func(br pgx.BatchResults) error {
			_, err := br.Exec()
			return err
		}
		if strict {
			b.WriteString(" RETURNING xmax = 0, " + p.returnKey)
			check = func(br pgx.BatchResults) error { return p.checkUpserts(br) }
		}
		if err := a.enqueue(ctx, p.name, b.String(), args, n, bytes, check); err != nil {
			return err
		}
	}
	return nil
}

// checkUpserts reads an update's upsert: a row inserted (xmax = 0) had no
// old row.
func (p *applyPlan) checkUpserts(br pgx.BatchResults) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return err
		}
		if inserted, _ := vals[0].(bool); inserted {
			var key []string
			for _, v := range vals[1:] {
				key = append(key, showText(v))
			}
			return divergence(p.name, "an update found no row with (%s) = (%s)", strings.Join(p.at.Key, ", "), strings.Join(key, ", "))
		}
	}
	return rows.Err()
}

func showText(v any) string {
	if s, ok := v.(string); ok {
		return showValue([]byte(s))
	}
	return fmt.Sprint(v)
}

// text returns a value as a text parameter (nil for NULL).
func (p *applyPlan) text(enc encoder, column string, v []byte) (any, error) {
	if v == nil {
		return nil, nil
	}
	out, err := enc.appendText(nil, v)
	if err != nil {
		return nil, errs.New(CodeUnsupportedValue, "table %s column %s: %v", p.name, column, err).
			WithFix("change the value on the source, or leave the column out of the job")
	}
	return string(out), nil
}

// deleteUniques deletes the rows that hold a unique value (of a key other
// than the row key) of one of rows: a safe insert's way of replacing them.
func (a *applier) deleteUniques(ctx context.Context, p *applyPlan, rows []value.Row) error {
	for _, pos := range p.uniques {
		var keys []value.Row
		for _, row := range rows {
			k := make(value.Row, len(pos))
			null := false
			for i, at := range pos {
				k[i] = row[at]
				null = null || k[i] == nil
			}
			if !null { // NULLs never collide
				keys = append(keys, k)
			}
		}
		if err := a.deleteWhere(ctx, p, pos, keys, false); err != nil {
			return err
		}
	}
	return nil
}

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
	var old []value.Row
	for i, row := range b.Rows {
		if moved[i] = !p.sameKey(b.Keys[i], row); moved[i] {
			old = append(old, b.Keys[i])
		}
	}
	if b.Present == nil && b.Safe {
		if len(old) > 0 {
			if err := a.deleteWhere(ctx, p, p.keyPos, old, false); err != nil {
				return err
			}
		}
		return a.insert(ctx, p, b.Rows, true)
	}
	if b.Present == nil && len(old) == 0 && p.conflict != "" {
		if len(b.Rows) >= bulkUpdateMinRows && p.bulkUpdatable() && a.canStage(ctx) {
			return a.bulkUpdate(ctx, p, b.Rows)
		}
		return a.upsert(ctx, p, b.Rows, true, true)
	}
	for i := range b.Rows {
		if err := a.updateOne(ctx, p, b.Keys[i], b.Rows[i], b.Present, moved[i], b.Safe); err != nil {
			return err
		}
	}
	return nil
}

func (p *applyPlan) sameKey(key, row value.Row) bool {
	for i, pos := range p.keyPos {
		if (key[i] == nil) != (row[pos] == nil) || string(key[i]) != string(row[pos]) {
			return false
		}
	}
	return true
}

// updateOne updates the row key identifies; withKey also sets the key
// columns. Strict: exactly one row must match.
func (a *applier) updateOne(ctx context.Context, p *applyPlan, key, row value.Row, present []bool, withKey, safe bool) error {
	var b strings.Builder
	args := make([]any, 0, len(p.cols)+len(key))
	b.WriteString("UPDATE " + p.qtable + " SET ")
	n, bytes := 0, 0
	for _, c := range p.cols {
		if present != nil && !present[c.pos] || !withKey && indexOf(p.at.Key, c.name) >= 0 {
			continue
		}
		if n > 0 {
			b.WriteString(", ")
		}
		n++
		v, err := p.text(c.enc, c.name, row[c.pos])
		if err != nil {
			return err
		}
		args = append(args, v)
		bytes += len(row[c.pos])
		b.WriteString(quoteIdent(c.name) + " = $" + strconv.Itoa(len(args)))
	}
	if n == 0 { // nothing to set: the row only has to be there
		b.Reset()
		b.WriteString("SELECT 1 FROM " + p.qtable)
		args = args[:0]
	}
	where, args, err := p.whereOne(args, key)
	if err != nil {
		return err
	}
	b.WriteString(" WHERE " + where)
	// The closure runs after Apply returned: it keeps key (the row's own
	// values), never the caller's slices.
	return a.enqueue(ctx, p.name, b.String(), args, 1, bytes, func(br pgx.BatchResults) error {
		ct, err := br.Exec()
		if err != nil {
			return err
		}
		if !safe && ct.RowsAffected() != 1 {
			return divergence(p.name, "an update found no row with %s", p.showKey(key))
		}
		return nil
	})
}

// whereOne returns the condition identifying one row.
func (p *applyPlan) whereOne(args []any, key value.Row) (string, []any, error) {
	var b strings.Builder
	if len(p.keyPos) == 0 {
		if len(key) != len(p.at.Columns) {
			return "", nil, fmt.Errorf("apply %s: an old row has %d values for %d columns", p.name, len(key), len(p.at.Columns))
		}
		b.WriteString("ctid = (SELECT ctid FROM " + p.qtable + " WHERE ")
		for i, m := range p.match {
			if i > 0 {
				b.WriteString(" AND ")
			}
			v := key[m.pos]
			if v == nil {
				b.WriteString(m.expr + " IS NULL")
				continue
			}
			t, err := p.text(m.enc, p.at.Columns[m.pos], v)
			if err != nil {
				return "", nil, err
			}
			args = append(args, t)
			b.WriteString(m.expr + " IS NOT DISTINCT FROM $" + strconv.Itoa(len(args)) + m.cast)
		}
		b.WriteString(" LIMIT 1)")
		return b.String(), args, nil
	}
	if len(key) != len(p.keyPos) {
		return "", nil, fmt.Errorf("apply %s: a key has %d values for %d key columns", p.name, len(key), len(p.keyPos))
	}
	for i, k := range p.keySQL {
		if i > 0 {
			b.WriteString(" AND ")
		}
		c := p.colAt(p.keyPos[i])
		t, err := p.text(c.enc, c.name, key[i])
		if err != nil {
			return "", nil, err
		}
		args = append(args, t)
		b.WriteString(k + " = $" + strconv.Itoa(len(args)))
	}
	return b.String(), args, nil
}

// colAt returns the written column at position pos of the rows.
func (p *applyPlan) colAt(pos int) applyCol {
	for _, c := range p.cols {
		if c.pos == pos {
			return c
		}
	}
	return applyCol{pos: pos, name: p.at.Columns[pos], enc: encoder{}}
}

func (a *applier) delete(ctx context.Context, p *applyPlan, keys []value.Row, safe bool) error {
	if len(p.keyPos) == 0 {
		for _, k := range keys {
			where, args, err := p.whereOne(nil, k)
			if err != nil {
				return err
			}
			err = a.enqueue(ctx, p.name, "DELETE FROM "+p.qtable+" WHERE "+where, args, 1, k.Size(), func(br pgx.BatchResults) error {
				ct, err := br.Exec()
				if err != nil {
					return err
				}
				if !safe && ct.RowsAffected() != 1 {
					return divergence(p.name, "a delete found no row with %s", p.showKey(k))
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	}
	return a.deleteWhere(ctx, p, p.keyPos, keys, !safe)
}

// deleteWhere deletes the rows whose columns at pos hold one of keys;
// strict: every key must have had its row.
func (a *applier) deleteWhere(ctx context.Context, p *applyPlan, pos []int, keys []value.Row, strict bool) error {
	if len(keys) == 0 {
		return nil
	}
	cols := make([]applyCol, len(pos))
	names := make([]string, len(pos))
	for i, at := range pos {
		cols[i] = p.colAt(at)
		names[i] = quoteIdent(cols[i].name)
	}
	most := max(1, min(1024, 65535/len(pos)))
	for _, n := range chunks(len(keys), most) {
		part := keys[:n]
		keys = keys[n:]
		var b strings.Builder
		b.WriteString("DELETE FROM " + p.qtable + " WHERE ")
		if len(pos) > 1 {
			b.WriteString("(" + strings.Join(names, ", ") + ") IN (")
		} else {
			b.WriteString(names[0] + " IN (")
		}
		args := make([]any, 0, n*len(pos))
		want := make(map[string]bool, n)
		bytes := 0
		for i, k := range part {
			if i > 0 {
				b.WriteByte(',')
			}
			if len(pos) > 1 {
				b.WriteByte('(')
			}
			var texts []string
			for j, c := range cols {
				if j > 0 {
					b.WriteByte(',')
				}
				t, err := p.text(c.enc, c.name, k[j])
				if err != nil {
					return err
				}
				args = append(args, t)
				texts = append(texts, fmt.Sprint(t))
				b.WriteString("$" + strconv.Itoa(len(args)))
			}
			if len(pos) > 1 {
				b.WriteByte(')')
			}
			want[strings.Join(texts, "\x00")] = true
			bytes += k.Size()
		}
		b.WriteByte(')')
		check := func(br pgx.BatchResults) error {
			_, err := br.Exec()
			return err
		}
		if strict {
			var ret []string
			for _, nm := range names {
				ret = append(ret, nm+"::text")
			}
			b.WriteString(" RETURNING " + strings.Join(ret, ", "))
			check = func(br pgx.BatchResults) error { return p.checkDeleted(br, n, want) }
		}
		if err := a.enqueue(ctx, p.name, b.String(), args, n, bytes, check); err != nil {
			return err
		}
	}
	return nil
}

// checkDeleted reads a strict delete's RETURNING: every one of the n keys
// (their text forms in want) must be there.
func (p *applyPlan) checkDeleted(br pgx.BatchResults, n int, want map[string]bool) error {
	rows, err := br.Query()
	if err != nil {
		return err
	}
	defer rows.Close()
	got := 0
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return err
		}
		var texts []string
		for _, v := range vals {
			texts = append(texts, fmt.Sprint(v))
		}
		delete(want, strings.Join(texts, "\x00"))
		got++
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if got == n {
		return nil
	}
	for k := range want { // the text forms the server printed may differ from ours: best effort
		if n == 1 {
			return divergence(p.name, "a delete found no row with (%s) = (%s)", strings.Join(p.at.Key, ", "), strings.ReplaceAll(k, "\x00", ", "))
		}
		return divergence(p.name, "a delete of %d keys found %d rows; no row with (%s) = (%s)", n, got,
			strings.Join(p.at.Key, ", "), strings.ReplaceAll(k, "\x00", ", "))
	}
	return divergence(p.name, "a delete of %d keys found %d rows", n, got)
}

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
