// Package fullload copies the rows of a job's tables from a source snapshot
// to a sink: tables split into key-range partitions, partitions copied in
// chunks in key order by parallel workers, each chunk committed on the target
// with its progress in one transaction. A run that stops for any reason,
// kill -9 included, is resumed by running it again: it continues after the
// last committed chunk of every partition.
//
// See docs/design/full-load.md.
package fullload

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/filter"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/transform"
)

// Table is one table to copy.
type Table struct {
	Source *schema.Table
	Target *schema.Table
	// SourceColumns are read in this order and written to TargetColumns.
	SourceColumns []string
	TargetColumns []string
	// State is the table's bookkeeping on the target; the loader updates it.
	State *connector.TableState
	// Plan is the table's compiled object rules (nil: none): the filter
	// selects the rows read, the added columns are filled after the copied
	// ones (TargetColumns lists them last), a merged table is copied in
	// one transaction per source table (see mergedCopy).
	Plan *transform.Plan

	key         []string      // chunk key (source columns); nil: one stream
	keyIdx      []int         // positions of key in SourceColumns
	sourceTypes []schema.Type // types of SourceColumns
}

// init derives what every chunk of the table needs.
func (t *Table) init() error {
	t.key = t.Source.ChunkKey()
	t.keyIdx = make([]int, len(t.key))
	for i, k := range t.key {
		if t.keyIdx[i] = indexOf(t.SourceColumns, k); t.keyIdx[i] < 0 {
			return fmt.Errorf("table %s: its key column %s is not copied", t.Source, k)
		}
	}
	if t.Plan != nil {
		t.sourceTypes = t.Plan.SourceTypes
		if len(t.sourceTypes) != len(t.TargetColumns) {
			return fmt.Errorf("table %s: %d value types for %d target columns", t.Source, len(t.sourceTypes), len(t.TargetColumns))
		}
		return nil
	}
	t.sourceTypes = make([]schema.Type, len(t.SourceColumns))
	for i, name := range t.SourceColumns {
		c, ok := t.Source.Column(name)
		if !ok {
			return fmt.Errorf("table %s has no column %s", t.Source, name)
		}
		t.sourceTypes[i] = c.Type
	}
	return nil
}

// Options tune a load.
type Options struct {
	JobID string
	// Workers is the number of parallel readers/writers (parallelism.max).
	Workers int
	// ChunkRows is the number of rows per committed chunk.
	ChunkRows int
	// BatchRows and BatchBytes bound one batch between reader and writer.
	BatchRows  int
	BatchBytes int
	// PartitionRows is the estimated rows per partition when splitting a table.
	PartitionRows int64
	// InFlightBytes bounds the row bytes read but not yet written, over all
	// workers together.
	InFlightBytes int64
	Logger        *slog.Logger
	// Stats receives progress; may be nil.
	Stats *Stats
	// OpenSnapshot opens the snapshot a run copies from; nil: the source's
	// OpenSnapshot. Incremental jobs pass the source's OpenLogSnapshot, so
	// following the log from the snapshot's position leaves no gap.
	OpenSnapshot func(ctx context.Context, readers int) (connector.Snapshot, error)

	budget *budget
	// snapshotAt is when the run's snapshot was taken (dts's clock): the
	// commit_time of added columns in a full load.
	snapshotAt time.Time
}

func (o *Options) defaults() {
	if o.Workers < 1 {
		o.Workers = 1
	}
	if o.ChunkRows == 0 {
		o.ChunkRows = 20_000
	}
	if o.BatchRows == 0 {
		o.BatchRows = 1_000
	}
	if o.BatchBytes == 0 {
		o.BatchBytes = 4 << 20
	}
	if o.PartitionRows == 0 {
		o.PartitionRows = 200_000
	}
	if o.InFlightBytes == 0 {
		o.InFlightBytes = 32 << 20
	}
	if o.Stats == nil {
		o.Stats = NewStats()
	}
}

// Run copies every table whose State is not Loaded, then finishes every
// table (indexes, sequences, then foreign keys). It returns the position of
// the job's first snapshot: where incremental sync starts.
func Run(ctx context.Context, src connector.Source, sink connector.Sink, tables []*Table, opts Options) (change.Position, error) {
	opts.defaults()
	log := opts.Logger
	st, err := sink.LoadState(ctx, opts.JobID)
	if err != nil {
		return change.Position{}, fmt.Errorf("read load progress: %w", err)
	}
	var pending []*Table
	for _, t := range tables {
		if err := t.init(); err != nil {
			return change.Position{}, err
		}
		opts.Stats.add(t)
		if !t.State.Loaded {
			pending = append(pending, t)
		}
	}
	runs := st.Runs
	if len(pending) > 0 {
		pos, err := load(ctx, src, sink, pending, len(st.Runs)+1, opts)
		if err != nil {
			return change.Position{}, err
		}
		if len(runs) == 0 {
			runs = []change.Position{pos}
		}
		log.InfoContext(ctx, "rows copied", "tables", len(pending), "snapshot", pos.String())
	}
	if err := finish(ctx, sink, tables, opts); err != nil {
		return change.Position{}, err
	}
	if len(runs) == 0 {
		return change.Position{}, errors.New("full load: no snapshot was recorded")
	}
	return runs[0], nil
}

// load opens a snapshot, plans partitions, and copies them. runNo is the
// number the run's snapshot gets among the job's runs.
func load(ctx context.Context, src connector.Source, sink connector.Sink, tables []*Table, runNo int, opts Options) (change.Position, error) {
	open := opts.OpenSnapshot
	if open == nil {
		open = src.OpenSnapshot
	}
	snap, err := open(ctx, opts.Workers)
	if err != nil {
		return change.Position{}, fmt.Errorf("open source snapshot: %w", err)
	}
	defer snap.Close()
	pos := snap.Position()
	opts.snapshotAt = time.Now().UTC()
	// Checkpoint: the run's position is durable before any row of it is.
	if err := sink.AddRun(ctx, opts.JobID, pos); err != nil {
		return change.Position{}, fmt.Errorf("record snapshot position: %w", err)
	}
	readers := snap.Readers()
	opts.budget = newBudget(opts.InFlightBytes)
	var work []*task
	for _, t := range tables {
		if err := recordRun(ctx, sink, t, runNo, opts); err != nil {
			return change.Position{}, err
		}
		est, err := readers[0].EstimateRows(ctx, t.Source, t.filter())
		if err != nil {
			return change.Position{}, fmt.Errorf("estimate rows of %s: %w", t.Source, err)
		}
		opts.Stats.setEstimate(t, est)
		if len(t.State.Partitions) == 0 {
			if err := plan(ctx, readers[0], sink, t, est, opts); err != nil {
				return change.Position{}, err
			}
		}
		undone := 0
		for i := range t.State.Partitions {
			if !t.State.Partitions[i].Done {
				work = append(work, &task{table: t, part: &t.State.Partitions[i]})
				undone++
			}
		}
		if undone == 0 { // a crash between the last chunk and the loaded mark
			if err := markLoaded(ctx, sink, t, opts); err != nil {
				return change.Position{}, err
			}
		}
	}
	// Largest tables first, so the last workers do not start a big one alone.
	sort.SliceStable(work, func(i, j int) bool {
		return opts.Stats.estimate(work[i].table) > opts.Stats.estimate(work[j].table)
	})
	return pos, runWorkers(ctx, readers, sink, work, opts)
}

// recordRun records that this run may copy rows of t, before it copies any
// (TableState.FirstRun, LastRun: the snapshots t's rows may come from). A
// merged table whose single transaction never committed holds no row yet:
// its rows will all come from this run.
func recordRun(ctx context.Context, sink connector.Sink, t *Table, runNo int, opts Options) error {
	if len(t.State.Partitions) > 0 && !slices.ContainsFunc(t.State.Partitions, func(p connector.Partition) bool { return !p.Done }) {
		return nil // copied; only its loaded mark is missing
	}
	first := t.State.FirstRun
	if first == 0 || t.merged() && !t.copiedAny() {
		first = runNo
	}
	if first == t.State.FirstRun && t.State.LastRun == runNo {
		return nil
	}
	t.State.FirstRun, t.State.LastRun = first, runNo
	if err := sink.SaveTableState(ctx, opts.JobID, t.State); err != nil {
		return fmt.Errorf("record the run copying %s: %w", t.Source, err)
	}
	return nil
}

// merged reports whether several source tables land on t's target: each
// of them is copied in one transaction (see copyPartition).
func (t *Table) merged() bool { return t.Plan != nil && len(t.Plan.Merge) > 1 }

// copiedAny reports whether a chunk of t committed.
func (t *Table) copiedAny() bool {
	for _, p := range t.State.Partitions {
		if p.Done || p.Last != nil || p.Rows > 0 {
			return true
		}
	}
	return false
}

func (t *Table) filter() *filter.Filter {
	if t.Plan == nil {
		return nil
	}
	return t.Plan.Filter
}

type task struct {
	table *Table
	part  *connector.Partition
}

// runWorkers copies tasks with one worker per reader; the first error stops all.
func runWorkers(ctx context.Context, readers []connector.Reader, sink connector.Sink, work []*task, opts Options) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	queue := make(chan *task)
	var wg sync.WaitGroup
	remaining := map[*Table]int{}
	for _, w := range work {
		remaining[w.table]++
	}
	var mu sync.Mutex
	for _, r := range readers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for w := range queue {
				if err := copyPartition(ctx, r, sink, w.table, w.part, opts); err != nil {
					cancel(err)
					return
				}
				mu.Lock()
				remaining[w.table]--
				last := remaining[w.table] == 0
				mu.Unlock()
				if last {
					if err := markLoaded(ctx, sink, w.table, opts); err != nil {
						cancel(err)
						return
					}
				}
			}
		}()
	}
feed:
	for _, w := range work {
		select {
		case queue <- w:
		case <-ctx.Done():
			break feed
		}
	}
	close(queue)
	wg.Wait()
	return context.Cause(ctx)
}

func markLoaded(ctx context.Context, sink connector.Sink, t *Table, opts Options) error {
	t.State.Loaded = true
	if err := sink.SaveTableState(ctx, opts.JobID, t.State); err != nil {
		return fmt.Errorf("record %s loaded: %w", t.Source, err)
	}
	opts.Stats.done(t)
	return nil
}

// finish builds indexes and sequences of every table, then foreign keys.
func finish(ctx context.Context, sink connector.Sink, tables []*Table, opts Options) error {
	for _, t := range tables {
		if t.State.Finished {
			continue
		}
		if err := sink.FinishTable(ctx, t.Target); err != nil {
			return fmt.Errorf("create indexes of %s: %w", t.Target, err)
		}
		t.State.Finished = true
		if err := sink.SaveTableState(ctx, opts.JobID, t.State); err != nil {
			return fmt.Errorf("record %s finished: %w", t.Source, err)
		}
	}
	for _, t := range tables {
		if err := sink.AddForeignKeys(ctx, t.Target); err != nil {
			return fmt.Errorf("create foreign keys of %s: %w", t.Target, err)
		}
	}
	return nil
}
