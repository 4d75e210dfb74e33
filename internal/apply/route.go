package apply

import (
	"context"
	"fmt"
	"strings"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// Routing and barriers. A change goes to worker hash(table, key) mod N
// (into MySQL, integer keys by blocks: plan.go), or table mod N for a
// table routed whole; a change that moves a row to a key of another
// worker, a DDL and a TRUNCATE are barriers: every worker commits what it
// has at the point just before, worker 0 applies the item alone and
// commits it, then routing resumes. Both decisions are functions of the
// item, the table's structure and the job's routing scheme only, so a
// replay makes them again identically and each worker skips exactly what
// it applied before.

// owner is the worker that applies barrier items.
const owner = 0

// row routes one row change, after the table's rules (rules.go) and its
// own window: a change its copy already holds is skipped.
func (c *Coordinator) row(ctx context.Context, r *change.Row) error {
	tp, err := c.plan(r.Table)
	if err != nil || tp == skipped {
		return err
	}
	pos := c.txn.Pos
	if tp.covers(pos, r.Seq) {
		return nil
	}
	safe := c.safe(tp, pos)
	if tp.rules == nil {
		return c.route(ctx, tp, r, r.Op, safe, false)
	}
	derived, err := tp.applyRules(r)
	if err != nil {
		return err
	}
	for _, d := range derived {
		if err := c.route(ctx, tp, d.row, r.Op, safe || d.tolerant, d.existing); err != nil {
			return err
		}
	}
	return nil
}

// route sends one row change to its worker. srcOp is the source's
// operation (an update may arrive here as an insert or delete: added
// columns still say update). existing: an update writes only a row that
// is there (every column present: no upsert).
func (c *Coordinator) route(ctx context.Context, tp *tablePlan, r *change.Row, srcOp change.Op, safe, existing bool) error {
	pos, seq := c.txn.Pos, r.Seq
	at := c.txn.CommitTime
	if tp.merges() && r.Op != change.OpDelete {
		// Never an upsert on a merged table: replacing the row that holds
		// a key could replace another source's row. (Its deletes are kept
		// to its own rows by the guard, replayed or not.)
		safe = false
	}
	ch := change1{tp: tp, safe: safe}
	var routeKey string
	switch r.Op {
	case change.OpInsert:
		if r.After == nil {
			return unidentified(r.Table, "an insert without its new row")
		}
		ch.op, ch.row = connector.ApplyInsert, tp.targetRow(r.After, srcOp, at)
		if tp.keySrc != nil {
			k := tp.key(r.After, nil)
			if k == nil {
				return unidentified(r.Table, "an inserted row has no value for its key")
			}
			routeKey = keyString(k)
		}
	case change.OpUpdate, change.OpDelete:
		ch.op = connector.ApplyDelete
		if r.Op == change.OpUpdate {
			if r.After == nil {
				return unidentified(r.Table, "an update without its new row")
			}
			ch.op, ch.row, ch.present = connector.ApplyUpdate, tp.targetRow(r.After, srcOp, at), tp.present(r.Missing)
			if existing && ch.present == nil {
				ch.present = allPresent(len(tp.at.Columns))
			}
			if ch.present == nil && r.Before != nil && !r.BeforeKeyOnly {
				ch.changed = tp.changed(r.Before, r.After)
			}
		}
		if tp.keySrc == nil {
			if r.Before == nil || r.BeforeKeyOnly {
				return unidentified(r.Table, fmt.Sprintf("an %s of a table without key carries no full old row", r.Op))
			}
			ch.key = tp.targetRow(r.Before, srcOp, at) // added columns of a keyless table never change (transform refuses others)
			break
		}
		old := tp.key(r.Before, nil)
		if r.Before == nil && r.Op == change.OpUpdate { // the key did not change (PostgreSQL sends no old key then)
			old = tp.key(r.After, r.Missing)
		}
		if old == nil {
			return unidentified(r.Table, fmt.Sprintf("an %s whose old row lacks a value of its key %v", r.Op, tp.at.Key))
		}
		ch.key, routeKey = old, keyString(old)
		if r.Op == change.OpUpdate {
			if nk := tp.key(r.After, r.Missing); nk != nil && keyString(nk) != routeKey {
				ch.moved = true
			}
		}
	default:
		return unidentified(r.Table, fmt.Sprintf("an unknown operation %d", r.Op))
	}
	w := c.workerOf(tp, ch.key, ch.row)
	ch.key = tp.guarded(ch.key)
	if ch.moved && !tp.byTable {
		if c.workerOf(tp, tp.key(r.After, r.Missing), nil) != w {
			return c.rowBarrier(ctx, ch, pos, seq)
		}
	}
	if c.covered(w, pos, seq) {
		return nil
	}
	c.touch(w)
	return c.send(ctx, w, msg{kind: msgRow, row: ch})
}

// workerOf routes a change by its key (by the table when it is routed
// whole or has no key).
func (c *Coordinator) workerOf(tp *tablePlan, key, row value.Row) int {
	if tp.byTable || tp.keySrc == nil {
		return int(tp.seed % uint64(c.n))
	}
	k := key
	if k == nil {
		k = tp.identity(row)
	}
	return int(tp.hash(k) % uint64(c.n))
}

// rowBarrier applies a change that moves a row between workers alone:
// every worker commits up to the change before it (in its transaction),
// worker 0 applies it (an UPDATE of the old key) and commits it.
func (c *Coordinator) rowBarrier(ctx context.Context, ch change1, pos change.Position, seq int) error {
	if c.covered(owner, pos, seq) {
		return nil
	}
	before := connector.Checkpoint{Pos: pos, Seq: seq - 1, Ack: c.lastEnd}
	if err := c.flushAll(ctx, before); err != nil {
		return err
	}
	at := connector.Checkpoint{Pos: pos, Seq: seq, Ack: c.lastEnd}
	c.touch(owner) // it is inside this transaction now: the commit's boundary is its too
	return c.exec(ctx, at, func(ctx context.Context, app connector.Applier) (int, error) {
		return 1, app.Apply(ctx, &connector.ApplyBatch{Table: ch.tp.at, Op: connector.ApplyUpdate,
			Rows: []value.Row{ch.row}, Keys: []value.Row{ch.key}, Present: ch.present, Safe: ch.safe})
	})
}

// flushAll makes every worker commit what it has at cp and waits for them.
func (c *Coordinator) flushAll(ctx context.Context, cp connector.Checkpoint) error {
	return c.commitAll(ctx, cp, false)
}

// commitAll has every worker commit what it holds at cp; force: also a
// worker holding nothing writes its checkpoint at cp.
func (c *Coordinator) commitAll(ctx context.Context, cp connector.Checkpoint, force bool) error {
	dones := make([]chan error, len(c.workers))
	for w := range c.workers {
		dones[w] = make(chan error, 1)
		if err := c.send(ctx, w, msg{kind: msgFlush, cp: cp, done: dones[w], force: force}); err != nil {
			return err
		}
	}
	for _, d := range dones {
		if err := wait(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

// exec has the owner apply a barrier item alone and commit it at cp.
func (c *Coordinator) exec(ctx context.Context, cp connector.Checkpoint, fn func(context.Context, connector.Applier) (int, error)) error {
	done := make(chan error, 1)
	if err := c.send(ctx, owner, msg{kind: msgExec, cp: cp, exec: fn, done: done}); err != nil {
		return err
	}
	return wait(ctx, done)
}

func wait(ctx context.Context, done chan error) error {
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// ddl carries a schema change: a barrier, applied by the owner with the
// structure recorded in the schema history, in the same transaction where
// the target allows.
func (c *Coordinator) ddl(ctx context.Context, it change.Item) error {
	d := it.DDL
	if c.txn != nil || d == nil {
		return c.orderError(it.Pos, "a schema change came inside a transaction")
	}
	if change.Compare(it.Pos, c.lastEnd) <= 0 {
		return c.orderError(it.Pos, "a schema change ends at %s, not after the previous item %s", it.Pos, c.lastEnd)
	}
	var oldP, newP *tablePlan
	var err error
	if d.Old != nil {
		if oldP, err = c.plan(d.Old); err != nil {
			return err
		}
	}
	if d.Table != nil {
		if newP, err = c.plan(d.Table); err != nil {
			return err
		}
	}
	inOld, inNew := oldP != nil && oldP != skipped, newP != nil && newP != skipped
	if !inOld && !inNew {
		c.lastEnd = it.Pos
		return nil
	}
	skip := !c.opts.SkipDDL.IsZero() && change.Compare(it.Pos, c.opts.SkipDDL) == 0
	if d.Old != nil && d.Table != nil && inOld != inNew && !skip {
		what := "out of"
		if inNew {
			what = "into"
		}
		return errs.New(connector.CodeUnsupportedDDL, "schema change %q at %s moves table %s %s the job's selection", d.Statement, it.Pos, d.Old, what).
			WithFix("change the job's selection so that both names are in it or out of it, and reload the table").
			WithDetail("position", it.Pos.String()).WithDetail("statement", d.Statement)
	}
	tddl := &change.DDL{Kind: d.Kind, Schema: d.Schema, Statement: d.Statement}
	if inOld {
		tddl.Old = oldP.at.Table
	}
	if inNew {
		tddl.Table = newP.at.Table
		tddl.Schema = newP.at.Table.Schema
	}
	renames, err := targetRenames(d, oldP, newP, it.Pos)
	if err != nil {
		return err
	}
	tddl.Renames = renames
	// A DDL the table's copy already reflects (it was copied after it) is
	// not carried again; the schema history still records it.
	carry := c.opts.CarryDDL(d.Kind) && !skip && !(inOld && oldP.coversEnd(it.Pos)) && !(inNew && newP.coversEnd(it.Pos))
	if skip {
		c.log.WarnContext(ctx, "schema change skipped as the user asked: recorded as applied, not run on the target", "position", it.Pos.String(), "statement", d.Statement)
	}
	barrier := c.endBarrier
	if skip {
		barrier = c.skipBarrier
	}
	return barrier(ctx, it, func(ctx context.Context, app connector.Applier) (int, error) {
		if carry {
			if err := app.ApplySchemaChange(ctx, tddl); err != nil {
				if e, ok := errs.As(err); ok && e.Code == connector.CodeUnsupportedDDL { // where skip_ddl and a retry start
					e.WithDetail("position", it.Pos.String()).WithDetail("statement", d.Statement)
				}
				return 0, err
			}
		}
		if d.Old != nil && (d.Table == nil || d.Old.QualifiedName() != d.Table.QualifiedName()) {
			if err := app.SaveSchema(ctx, d.Old.QualifiedName(), it.Pos, nil); err != nil {
				return 0, err
			}
		}
		if d.Table != nil {
			if err := app.SaveSchema(ctx, d.Table.QualifiedName(), it.Pos, d.Table); err != nil {
				return 0, err
			}
		}
		return 0, nil
	})
}

// truncate empties the target tables of a Truncate item: a barrier.
func (c *Coordinator) truncate(ctx context.Context, it change.Item) error {
	if c.txn != nil {
		return c.orderError(it.Pos, "a truncate came inside a transaction")
	}
	if change.Compare(it.Pos, c.lastEnd) <= 0 {
		return c.orderError(it.Pos, "a truncate ends at %s, not after the previous item %s", it.Pos, c.lastEnd)
	}
	if !c.opts.CarryDDL(job.DDLTruncateTable) {
		// Not in the job's ddl list: the target keeps its rows. Nothing is
		// applied, so no barrier: the next boundary's checkpoints are past it.
		c.lastEnd = it.Pos
		return nil
	}
	var targets []*schema.Table
	var merged *tablePlan
	for _, t := range it.Tables {
		tp, err := c.plan(t)
		if err != nil {
			return err
		}
		if tp != skipped && !tp.coversEnd(it.Pos) { // a copy taken after the truncate holds the rows that count
			targets = append(targets, tp.at.Table)
			if tp.merges() && merged == nil {
				merged = tp
			}
		}
	}
	if len(targets) == 0 {
		c.lastEnd = it.Pos
		return nil
	}
	if merged != nil {
		return c.mergedTruncate(ctx, it, merged)
	}
	return c.endBarrier(ctx, it, func(ctx context.Context, app connector.Applier) (int, error) {
		return 0, app.Truncate(ctx, targets)
	})
}

// mergedTruncate stops at a TRUNCATE of a table merged with others into
// one target table: carried, it would empty the other tables' rows too.
// It is an unsupported schema change (the job pauses, skip_ddl passes it):
// skipped, the target keeps the truncated table's rows, and nothing of the
// item runs on the target (not even for the other tables it names, which
// the user then truncates by hand if they want).
func (c *Coordinator) mergedTruncate(ctx context.Context, it change.Item, tp *tablePlan) error {
	stmt := "TRUNCATE " + tableList(it.Tables)
	if c.opts.SkipDDL.IsZero() || change.Compare(it.Pos, c.opts.SkipDDL) != 0 {
		return errs.New(connector.CodeUnsupportedDDL, "%s at %s would empty %s, which merges %s: the other tables' rows would go too",
			stmt, it.Pos, tp.at.Table, strings.Join(tp.rules.Merge, ", ")).
			WithFix("delete the truncated table's rows on the target by hand (its added columns tell them apart) and skip the change (skip_ddl)").
			WithDetail("position", it.Pos.String()).WithDetail("statement", stmt).WithDetail("table", tp.at.Table.String())
	}
	c.log.WarnContext(ctx, "truncate of a merged table skipped as the user asked: not run on the target", "position", it.Pos.String(), "statement", stmt)
	return c.skipBarrier(ctx, it, func(context.Context, connector.Applier) (int, error) { return 0, nil })
}

// skipBarrier is the endBarrier of an item the user skipped: then every
// worker commits its checkpoint at the item's end at once, so that a later
// run (without the skip) starts after the item and does not meet it again
// (a worker with nothing to apply would otherwise keep its checkpoint
// before it until its next idle commit).
func (c *Coordinator) skipBarrier(ctx context.Context, it change.Item, fn func(context.Context, connector.Applier) (int, error)) error {
	if err := c.endBarrier(ctx, it, fn); err != nil {
		return err
	}
	return c.commitAll(ctx, end(it.Pos), true)
}

func tableList(tables []*schema.Table) string {
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = t.String()
	}
	return strings.Join(names, ", ")
}

// endBarrier applies an item between transactions alone: every worker
// commits up to the previous item's end, the owner applies it and commits
// at its end, every worker learns the new boundary.
func (c *Coordinator) endBarrier(ctx context.Context, it change.Item, fn func(context.Context, connector.Applier) (int, error)) error {
	at := end(it.Pos)
	if c.coveredEnd(owner, it.Pos) {
		c.lastEnd = it.Pos
		return nil
	}
	if err := c.flushAll(ctx, end(c.lastEnd)); err != nil {
		return err
	}
	when := it.At
	if when.IsZero() {
		when = c.opts.Stats.nowAtSource()
	}
	c.tracker.noteCommit(it.Pos, when) // before the owner's commit can pass it
	if err := c.exec(ctx, at, fn); err != nil {
		return err
	}
	c.lastEnd = it.Pos
	return c.boundaryAll(ctx, at)
}

// targetRenames maps a DDL's column renames (source names) onto the target
// names. A renamed column that a column rule names stops the job: the rule
// is by name, so after the rename the job would silently stop applying it
// (an excluded column would start to move).
func targetRenames(d *change.DDL, oldP, newP *tablePlan, pos change.Position) (map[string]string, error) {
	if len(d.Renames) == 0 || oldP == nil || oldP == skipped || newP == nil || newP == skipped {
		return nil, nil
	}
	out := map[string]string{}
	for from, to := range d.Renames {
		if oldP.rules != nil {
			if _, ok := oldP.rules.Rule.Columns.Get(from); ok {
				return nil, errs.New(connector.CodeUnsupportedDDL, "schema change %q at %s renames column %s of %s, which a column rule of the job names (%s.columns)",
					d.Statement, pos, from, d.Old, oldP.rules.Path()).
					WithFix("change the job's column rule to the new name %s and resume; the rule would otherwise stop applying", to)
			}
		}
		ft, okFrom := oldP.targetColumn(from)
		tt, okTo := newP.targetColumn(to)
		if okFrom && okTo && ft != tt {
			out[ft] = tt
		}
	}
	return out, nil
}

// allPresent marks every column as written: an update that is no upsert.
func allPresent(n int) []bool {
	out := make([]bool, n)
	for i := range out {
		out[i] = true
	}
	return out
}
