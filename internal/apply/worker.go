package apply

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/value"
)

// A worker applies the changes routed to it in order, in a target
// transaction it keeps open across source transactions, and commits it
// with its checkpoint at a source transaction boundary: after BatchRows
// changes, after FlushInterval, or when a barrier asks.

type msgKind uint8

const (
	msgRow      msgKind = iota + 1 // a change to apply
	msgBoundary                    // a source transaction (or heartbeat, DDL) ended at cp: may commit there
	msgFlush                       // a barrier: commit what you have at cp, then answer
	msgExec                        // a barrier item: apply it alone, commit at cp, answer
)

type msg struct {
	kind msgKind
	row  change1
	cp   connector.Checkpoint
	exec func(ctx context.Context, app connector.Applier) (rows int, err error)
	done chan error
	// force: a flush commits the checkpoint even with nothing applied.
	force bool
}

// change1 is one row change as a worker applies it: target values.
type change1 struct {
	tp      *tablePlan
	op      connector.ApplyOp
	row     value.Row // new values (insert, update)
	key     value.Row // old identity (update, delete): key values, or the whole old row without key
	present []bool    // update: columns carried (nil: all)
	changed []bool    // update: columns whose value changed (nil: not known)
	safe    bool      // inside the replay window
	moved   bool      // update that changes the key
}

type worker struct {
	id   int
	c    *Coordinator
	app  connector.Applier
	in   chan msg
	opts *Options

	committed connector.Checkpoint // last committed (or loaded) checkpoint
	boundary  connector.Checkpoint // newest point it may commit at
	mid       bool                 // inside a source transaction: no commit but at a barrier
	dirty     bool                 // changes applied or pending since the last commit
	since     time.Time            // when the first of them came
	rows      int                  // changes since the last commit
	last      time.Time            // last commit

	pend pending
}

// pending is the batch being gathered: consecutive changes of one table and
// kind (and replay mode, and set of columns), no key twice.
type pending struct {
	at      *connector.ApplyTable
	op      connector.ApplyOp
	present []bool
	changed []bool // the rows' changed columns, together (nil: not known)
	sig     string
	safe    bool
	rows    []value.Row
	keys    []value.Row
	seen    map[string]struct{}
	bytes   int
}

func (w *worker) run(ctx context.Context) error {
	tick := time.NewTicker(max(w.opts.FlushInterval/2, 5*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m := <-w.in:
			if err := w.handle(ctx, m); err != nil {
				return err
			}
		case now := <-tick.C:
			if err := w.maybeCommit(ctx, now); err != nil {
				return err
			}
		}
	}
}

func (w *worker) handle(ctx context.Context, m msg) error {
	switch m.kind {
	case msgRow:
		w.mid = true
		if !w.dirty {
			w.dirty, w.since = true, time.Now()
		}
		w.rows++
		return w.add(ctx, m.row)
	case msgBoundary:
		w.mid = false
		if connector.CompareCheckpoints(m.cp, w.boundary) > 0 {
			w.boundary = m.cp
		}
		if err := w.maybeCommit(ctx, time.Now()); err != nil {
			return err
		}
		if !w.dirty && !w.mid {
			w.c.tracker.idle(w.id, w.boundary)
		}
		return nil
	case msgFlush:
		var err error
		if w.dirty || m.force && connector.CompareCheckpoints(m.cp, w.committed) > 0 {
			err = w.commit(ctx, m.cp)
		}
		m.done <- err
		return err
	case msgExec:
		err := w.execBarrier(ctx, m)
		m.done <- err
		return err
	}
	return fmt.Errorf("apply worker %d: unknown message %d", w.id, m.kind)
}

// execBarrier applies a barrier item alone and commits it.
func (w *worker) execBarrier(ctx context.Context, m msg) error {
	if w.dirty { // the flush before committed everything
		return fmt.Errorf("apply worker %d: a barrier found uncommitted changes", w.id)
	}
	rows, err := m.exec(ctx, w.app)
	if err != nil {
		return err
	}
	w.rows = rows
	w.dirty = true
	return w.commit(ctx, m.cp)
}

// maybeCommit commits at the newest boundary when the open transaction is
// big or old enough, or advances an idle worker's checkpoint.
func (w *worker) maybeCommit(ctx context.Context, now time.Time) error {
	if w.mid {
		return nil
	}
	switch {
	case w.dirty:
		if w.rows >= w.opts.BatchRows || now.Sub(w.since) >= w.opts.FlushInterval {
			return w.commit(ctx, w.boundary)
		}
	case connector.CompareCheckpoints(w.boundary, w.committed) > 0 && now.Sub(w.last) >= w.opts.IdleInterval:
		return w.commit(ctx, w.boundary)
	}
	return nil
}

// commit flushes the pending batch and commits at cp.
func (w *worker) commit(ctx context.Context, cp connector.Checkpoint) error {
	if connector.CompareCheckpoints(cp, w.committed) < 0 {
		return fmt.Errorf("apply worker %d: checkpoint %s is behind the committed %s", w.id, cp, w.committed)
	}
	if err := w.flush(ctx); err != nil {
		return err
	}
	if err := w.app.Commit(ctx, cp); err != nil {
		return err
	}
	rows := w.rows
	w.committed, w.last = cp, time.Now()
	if connector.CompareCheckpoints(cp, w.boundary) > 0 {
		w.boundary = cp
	}
	w.dirty, w.rows = false, 0
	return w.c.tracker.done(w.id, cp, rows)
}

// add puts a change into the pending batch, flushing it first when the
// change does not belong to it (another table, kind, column set, mode, or
// a key it holds already).
func (w *worker) add(ctx context.Context, ch change1) error {
	p := &w.pend
	sig := ""
	if ch.present != nil {
		b := make([]byte, len(ch.present))
		for i, ok := range ch.present {
			if ok {
				b[i] = 1
			}
		}
		sig = string(b)
	}
	ident := ch.key
	if ch.op == connector.ApplyInsert {
		ident = ch.tp.identity(ch.row)
	}
	var k string
	if ch.tp.keySrc != nil {
		k = keyString(ident)
	}
	same := p.at == ch.tp.at && p.op == ch.op && p.safe == ch.safe && p.sig == sig && !ch.moved
	if same && k != "" {
		_, same = p.seen[k]
		same = !same
	}
	if !same {
		if err := w.flush(ctx); err != nil {
			return err
		}
		p.at, p.op, p.safe, p.sig, p.present = ch.tp.at, ch.op, ch.safe, sig, ch.present
	}
	if ch.op == connector.ApplyUpdate {
		p.noteChanged(ch.changed)
	}
	if ch.op != connector.ApplyDelete {
		p.rows = append(p.rows, ch.row)
		p.bytes += ch.row.Size()
	}
	if ch.op != connector.ApplyInsert {
		p.keys = append(p.keys, ch.key)
		p.bytes += ch.key.Size()
	}
	if k != "" {
		if p.seen == nil {
			p.seen = map[string]struct{}{}
		}
		p.seen[k] = struct{}{}
	}
	n := max(len(p.rows), len(p.keys))
	if ch.moved || n >= w.opts.StatementRows || p.bytes >= 2<<20 {
		return w.flush(ctx)
	}
	return nil
}

// flush applies the pending batch.
func (w *worker) flush(ctx context.Context) error {
	p := &w.pend
	if len(p.rows) == 0 && len(p.keys) == 0 {
		return nil
	}
	b := &connector.ApplyBatch{Table: p.at, Op: p.op, Present: p.present, Changed: p.changed, Safe: p.safe}
	if p.op != connector.ApplyDelete {
		b.Rows = p.rows
	}
	if p.op != connector.ApplyInsert {
		b.Keys = p.keys
	}
	err := w.app.Apply(ctx, b)
	clear(p.rows)
	clear(p.keys)
	p.rows, p.keys, p.bytes = p.rows[:0], p.keys[:0], 0
	clear(p.seen)
	p.at, p.changed = nil, nil
	return err
}

// noteChanged adds an update's changed columns to the batch's: a row
// whose are not known makes the batch's unknown.
func (p *pending) noteChanged(changed []bool) {
	switch {
	case len(p.rows) == 0:
		p.changed = slices.Clone(changed)
	case p.changed == nil:
	case changed == nil:
		p.changed = nil
	default:
		for i, c := range changed {
			p.changed[i] = p.changed[i] || c
		}
	}
}

// identity returns the key values of a target row (nil: no key).
func (tp *tablePlan) identity(row value.Row) value.Row {
	if tp.keySrc == nil {
		return nil
	}
	k := make(value.Row, len(tp.keyAt))
	for i, j := range tp.keyAt {
		k[i] = row[j]
	}
	return k
}

// keyString is a key's bytes, unambiguously joined.
func keyString(k value.Row) string {
	n := 0
	for _, v := range k {
		n += len(v) + 5
	}
	b := make([]byte, 0, n)
	for _, v := range k {
		if v == nil {
			b = append(b, 0)
			continue
		}
		l := len(v)
		b = append(b, 1, byte(l>>24), byte(l>>16), byte(l>>8), byte(l))
		b = append(b, v...)
	}
	return string(b)
}
