package fullload

import (
	"context"
	"fmt"
	"strings"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/value"
)

// plan splits a table into partitions and records them on the target before
// any of its rows are copied, so every later run resumes the same plan.
func plan(ctx context.Context, r connector.Reader, sink connector.Sink, t *Table, est int64, opts Options) error {
	parts := []connector.Partition{{No: 0}}
	if n := int(min(est/opts.PartitionRows+1, int64(opts.Workers))); len(t.key) > 0 && n > 1 && !t.merged() {
		splits, err := r.SplitKeys(ctx, t.Source, t.filter(), t.key, n)
		if err != nil {
			return fmt.Errorf("split %s: %w", t.Source, err)
		}
		parts = parts[:0]
		var after value.Row
		for i, k := range splits {
			parts = append(parts, connector.Partition{No: i, After: after, Upto: k})
			after = k
		}
		parts = append(parts, connector.Partition{No: len(splits), After: after})
	}
	t.State.Partitions = parts
	if err := sink.SaveTableState(ctx, opts.JobID, t.State); err != nil {
		return fmt.Errorf("record partitions of %s: %w", t.Source, err)
	}
	return nil
}

// copyPartition copies a partition chunk by chunk until it is done. Each
// chunk's rows and the partition's new position commit in one transaction
// on the target (Sink.WriteChunk): that is the checkpoint.
func copyPartition(ctx context.Context, r connector.Reader, sink connector.Sink, t *Table, p *connector.Partition, opts Options) error {
	limit := opts.ChunkRows
	if len(t.key) == 0 || t.merged() {
		// One stream, one transaction: nothing to resume inside it. A
		// merged table's rows then all come from one snapshot, so
		// incremental sync applies its changes strictly from that
		// snapshot on: an idempotent replay could overwrite a row another
		// source table holds under the same key.
		limit = 0
	}
	for !p.Done {
		after := p.Last
		if after == nil {
			after = p.After
		}
		req := connector.ReadRequest{Table: t.Source, Columns: t.SourceColumns, Key: t.key, After: after, Upto: p.Upto, Limit: limit, Filter: t.filter()}
		last, n, err := copyChunk(ctx, r, sink, t, req, p.No, opts)
		if err != nil {
			return err
		}
		if n > 0 {
			p.Last = last
		}
		p.Rows += n
		p.Done = limit == 0 || n < int64(limit)
		opts.Stats.addRows(t, n)
	}
	return nil
}

// copyChunk streams one chunk from the reader into one WriteChunk. The reader
// runs in its own goroutine and hands over batches through a channel of two,
// which bounds memory and overlaps reading with writing.
func copyChunk(ctx context.Context, r connector.Reader, sink connector.Sink, t *Table, req connector.ReadRequest, part int, opts Options) (value.Row, int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan sized, 1)
	readErr := make(chan error, 1)
	var last value.Row
	var count int64
	go func() {
		defer close(batches)
		var batch []value.Row
		size := 0
		flush := func() bool {
			if len(batch) == 0 {
				return true
			}
			held := opts.budget.acquire(ctx, int64(size))
			select {
			case batches <- sized{batch, held}:
				batch, size = nil, 0
				return true
			case <-ctx.Done():
				opts.budget.release(held)
				return false
			}
		}
		err := r.Read(ctx, req, func(row value.Row) error {
			c := row.Clone()
			if t.Plan != nil && len(t.Plan.Added) > 0 {
				c = t.Plan.AppendAdded(c, change.OpInsert, opts.snapshotAt)
			}
			batch = append(batch, c)
			size += c.Size()
			if len(batch) >= opts.BatchRows || size >= opts.BatchBytes {
				if !flush() {
					return ctx.Err()
				}
			}
			return nil
		})
		if err == nil && !flush() {
			err = ctx.Err()
		}
		readErr <- err
	}()

	var held int64 // budget of the batch WriteChunk is writing: released when it asks for the next
	defer func() { opts.budget.release(held) }()
	next := func() ([]value.Row, error) {
		opts.budget.release(held)
		held = 0
		sb, ok := <-batches
		if !ok {
			if err := <-readErr; err != nil {
				return nil, fmt.Errorf("read %s: %w", t.Source, err)
			}
			return nil, nil
		}
		b := sb.rows
		held = sb.held
		count += int64(len(b))
		if len(t.keyIdx) > 0 {
			lastRow := b[len(b)-1]
			last = make(value.Row, len(t.keyIdx))
			for i, ix := range t.keyIdx {
				last[i] = lastRow[ix]
			}
		}
		return b, nil
	}
	w := connector.ChunkWrite{
		Table:       t.Target,
		Columns:     t.TargetColumns,
		SourceTypes: t.sourceTypes,
		Progress: func() connector.Progress {
			return connector.Progress{JobID: opts.JobID, Table: t.Source.QualifiedName(), Partition: part, Last: last, Rows: count,
				Done: req.Limit == 0 || count < int64(req.Limit)}
		},
	}
	if _, err := sink.WriteChunk(ctx, w, next); err != nil {
		cancel()
		for sb := range batches { // let the reader goroutine end
			opts.budget.release(sb.held)
		}
		if t.merged() {
			return nil, 0, mergeError(t, err)
		}
		return nil, 0, fmt.Errorf("write %s: %w", t.Target, err)
	}
	return last, count, nil
}

// sized is a batch with the budget it holds.
type sized struct {
	rows []value.Row
	held int64
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// mergeError says which source tables a failed write into a merged table
// may collide with: a key two of them hold cannot be merged, and the
// target's key refuses the second row, so it is reported, never overwritten.
func mergeError(t *Table, err error) error {
	var others []string
	for _, s := range t.Plan.Merge {
		if s != t.Source.QualifiedName() {
			others = append(others, s)
		}
	}
	what := fmt.Sprintf("copy %s into %s, which it is merged into with %s", t.Source, t.Target, strings.Join(others, ", "))
	fix := fmt.Sprintf("if the target refused a duplicate key, %s and %s hold rows with the same key: make the keys distinct on the source, or do not merge these tables",
		t.Source, strings.Join(others, " or "))
	if ce, ok := errs.As(err); ok {
		return errs.Wrap(err, ce.Code, "%s: %s", what, ce.Message).WithFix("%s", fix)
	}
	return fmt.Errorf("%s: %w (%s)", what, err, fix)
}
