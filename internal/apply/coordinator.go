package apply

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/schema"
)

// Coordinator applies one job's change stream to its target with N
// workers. Make it with New, follow the stream from StartPosition, Run it,
// Close it. It is used once: a resumed job makes a new one.
type Coordinator struct {
	opts    Options
	log     *slog.Logger
	n       int
	routing int                    // the routing scheme (plan.go): the job's for its life
	resume  []connector.Checkpoint // the workers' checkpoints when the run began
	workers []*worker
	tracker *tracker
	plans   map[*schema.Table]*tablePlan
	ran     bool
	// merged holds, per target table of a shard merge, its sources (for
	// messages); workers read it.
	merged sync.Map // target table (schema.name) → its sources

	// Stream state, owned by Run's goroutine.
	lastEnd   change.Position // end of the newest item (commit, DDL, truncate, heartbeat)
	txn       *change.Txn     // the open source transaction
	seq       int             // its newest row's Seq
	touched   []bool          // workers that got rows of txn
	touchList []int
	broadcast time.Time // last boundary sent to every worker
	replaying bool      // some worker's checkpoint may still cover what comes
	resumeMax connector.Checkpoint
}

// inbox is the capacity of a worker's queue of messages.
const inbox = 1024

// broadcastEvery is how often idle workers learn the newest boundary.
const broadcastEvery = 10 * time.Millisecond

var errStopped = errors.New("apply: StopAt reached")

// New loads the job's checkpoints and opens the workers' appliers. A job
// without checkpoints gets one per worker at opts.Start.
func New(ctx context.Context, opts Options) (*Coordinator, error) {
	opts.defaults()
	if opts.Sink == nil || opts.Plan == nil || opts.JobID == "" {
		return nil, errors.New("apply: Options need a JobID, a Sink and a Plan")
	}
	stored, err := opts.Sink.LoadCheckpoints(ctx, opts.JobID)
	if err != nil {
		return nil, fmt.Errorf("read the apply checkpoints: %w", err)
	}
	c := &Coordinator{opts: opts, log: opts.Logger.With("component", "apply"), n: opts.Workers, plans: map[*schema.Table]*tablePlan{}}
	if opts.BlockRouting {
		c.routing = routingBlocks
	}
	if len(stored) > 0 {
		// A job routes as it started: a change routed otherwise after a
		// crash could meet a worker whose checkpoint covers it though the
		// worker that had it had not applied it.
		c.n, c.routing = stored[0].Workers, stored[0].Routing
		for _, cp := range stored {
			if cp.Workers != c.n || cp.Worker < 0 || cp.Worker >= c.n || cp.Routing != c.routing {
				return nil, fmt.Errorf("apply: dts_meta.checkpoints of job %s is inconsistent: worker %d of %d (routing %d) beside %d workers (routing %d)",
					opts.JobID, cp.Worker, cp.Workers, cp.Routing, c.n, c.routing)
			}
		}
		if c.n != opts.Workers {
			c.log.InfoContext(ctx, "applying with the worker count the job started with", "workers", c.n, "configured", opts.Workers)
		}
	}
	c.resume = make([]connector.Checkpoint, c.n)
	have := make([]bool, c.n)
	for _, cp := range stored {
		c.resume[cp.Worker], have[cp.Worker] = cp.Checkpoint, true
	}
	for w := range c.resume {
		if !have[w] {
			if opts.Start.IsZero() {
				return nil, fmt.Errorf("apply: job %s has no checkpoint for worker %d and no start position", opts.JobID, w)
			}
			c.resume[w] = connector.Checkpoint{Pos: opts.Start, Complete: true, Ack: opts.Start}
		}
	}
	c.tracker = newTracker(c.resume, opts.Stats, opts.StopAt, func() {})
	opts.Stats.advance(0, c.tracker.acked, time.Time{})
	c.resumeMax = c.resume[0]
	for _, cp := range c.resume[1:] {
		if connector.CompareCheckpoints(cp, c.resumeMax) > 0 {
			c.resumeMax = cp
		}
	}
	c.replaying = true
	c.touched = make([]bool, c.n)
	for w := 0; w < c.n; w++ {
		app, err := opts.Sink.OpenApplier(ctx, opts.JobID, w, c.n, c.routing)
		if err != nil {
			c.Close()
			return nil, err
		}
		wk := &worker{id: w, c: c, app: app, in: make(chan msg, inbox), opts: &c.opts,
			committed: c.resume[w], boundary: c.resume[w], last: time.Now()}
		c.workers = append(c.workers, wk)
		if !have[w] { // the job's first run: every worker gets its row now
			if err := app.Commit(ctx, c.resume[w]); err != nil {
				c.Close()
				return nil, fmt.Errorf("record the apply checkpoint of worker %d: %w", w, err)
			}
		}
	}
	return c, nil
}

// Workers returns the number of workers (the stored count of a resumed job).
func (c *Coordinator) Workers() int { return c.n }

// StartPosition is where the stream must be followed from: the smallest
// checkpoint position over the workers. Items the workers applied already
// are skipped.
func (c *Coordinator) StartPosition() change.Position {
	m := c.resume[0].Pos
	for _, cp := range c.resume[1:] {
		if change.Compare(cp.Pos, m) < 0 {
			m = cp.Pos
		}
	}
	return m
}

// Checkpoints returns the workers' checkpoints when the run began.
func (c *Coordinator) Checkpoints() []connector.Checkpoint {
	return append([]connector.Checkpoint(nil), c.resume...)
}

// Close releases the appliers (rolling back what is not committed).
func (c *Coordinator) Close() error {
	var first error
	for _, w := range c.workers {
		if err := w.app.Close(); err != nil && first == nil {
			first = err
		}
	}
	c.workers = nil
	return first
}

// Run applies stream until ctx is cancelled (it returns ctx's error: a
// pause; open target transactions are rolled back, committed checkpoints
// stay), an error stops it (the first one is returned; the stream's, a
// worker's), or everything up to Options.StopAt is applied (nil).
func (c *Coordinator) Run(ctx context.Context, stream connector.ChangeStream) error {
	if c.ran {
		return errors.New("apply: a Coordinator runs once")
	}
	c.ran = true
	if c.tracker.reached() {
		return nil
	}
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	c.tracker.mu.Lock()
	c.tracker.stream = stream
	c.tracker.stop = func() { cancel(errStopped) }
	c.tracker.mu.Unlock()
	c.lastEnd = c.StartPosition()

	var wg sync.WaitGroup
	for _, w := range c.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.run(runCtx); err != nil {
				cancel(err)
			}
			if err := w.app.Rollback(context.WithoutCancel(runCtx)); err != nil {
				c.log.WarnContext(ctx, "roll back an apply transaction", "worker", w.id, "err", err)
			}
		}()
	}
	err := c.loop(runCtx, stream)
	cancel(err)
	wg.Wait()
	cause := context.Cause(runCtx)
	switch {
	case errors.Is(cause, errStopped):
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	}
	return c.mergeNote(cause)
}

func (c *Coordinator) loop(ctx context.Context, stream connector.ChangeStream) error {
	for {
		it, err := stream.Next(ctx)
		if err != nil {
			return err
		}
		if err := c.item(ctx, it); err != nil {
			return err
		}
	}
}

func (c *Coordinator) item(ctx context.Context, it change.Item) error {
	switch it.Kind {
	case change.ItemBegin:
		if it.Txn == nil || c.txn != nil {
			return c.orderError(it.Pos, "a transaction began inside another one")
		}
		if change.Compare(it.Txn.Pos, c.lastEnd) < 0 {
			return c.orderError(it.Txn.Pos, "a transaction begins at %s, before the end of the previous item %s", it.Txn.Pos, c.lastEnd)
		}
		c.txn, c.seq = it.Txn, -1
		c.tracker.noteBegin(c.txnTime(it))
		return nil
	case change.ItemRow:
		if c.txn == nil || it.Row == nil {
			return c.orderError(it.Pos, "a row change came outside a transaction")
		}
		if it.Row.Seq <= c.seq {
			return c.orderError(c.txn.Pos, "row changes of transaction %s came out of order (seq %d after %d)", c.txn.ID, it.Row.Seq, c.seq)
		}
		c.seq = it.Row.Seq
		return c.row(ctx, it.Row)
	case change.ItemCommit:
		return c.commit(ctx, it)
	case change.ItemDDL:
		return c.ddl(ctx, it)
	case change.ItemTruncate:
		return c.truncate(ctx, it)
	case change.ItemHeartbeat:
		if c.txn != nil || it.Pos.IsZero() || change.Compare(it.Pos, c.lastEnd) < 0 {
			return nil
		}
		c.opts.Stats.sawHeartbeat(it.At, it.Pos)
		c.lastEnd = it.Pos
		return c.boundaryAll(ctx, end(it.Pos))
	}
	return c.orderError(it.Pos, "an item of unknown kind %d", it.Kind)
}

// end is the complete checkpoint at an end position.
func end(pos change.Position) connector.Checkpoint {
	return connector.Checkpoint{Pos: pos, Complete: true, Ack: pos}
}

func (c *Coordinator) orderError(pos change.Position, format string, args ...any) error {
	return errs.New(connector.CodePositionOrder, "the change stream is out of order at %s: %s", pos, fmt.Sprintf(format, args...)).
		WithFix("this is a defect of dts's change source: report it with the job's log; nothing after this position was applied")
}

// covered reports whether worker w applied the change at (pos, seq) in an
// earlier run.
func (c *Coordinator) covered(w int, pos change.Position, seq int) bool {
	if !c.replaying {
		return false
	}
	if c.resumeMax.Covers(pos, seq) {
		return c.resume[w].Covers(pos, seq)
	}
	c.replaying = false // nothing from here on is covered
	return false
}

func (c *Coordinator) coveredEnd(w int, pos change.Position) bool {
	return c.replaying && c.resume[w].CoversEnd(pos)
}

func (c *Coordinator) commit(ctx context.Context, it change.Item) error {
	if c.txn == nil {
		return c.orderError(it.Pos, "a commit came outside a transaction")
	}
	if change.Compare(it.Pos, c.txn.Pos) <= 0 {
		return c.orderError(it.Pos, "transaction %s commits at %s, not after its start %s", c.txn.ID, it.Pos, c.txn.Pos)
	}
	// Recorded before any worker may commit past it: the tracker then
	// knows the transaction when the acknowledgement passes it.
	c.tracker.noteCommit(it.Pos, c.txnTime(it))
	cp := end(it.Pos)
	for _, w := range c.touchList {
		if err := c.send(ctx, w, msg{kind: msgBoundary, cp: cp}); err != nil {
			return err
		}
		c.touched[w] = false
	}
	c.touchList = c.touchList[:0]
	if now := time.Now(); now.Sub(c.broadcast) >= broadcastEvery {
		if err := c.boundaryAll(ctx, cp); err != nil {
			return err
		}
	}
	c.lastEnd, c.txn = it.Pos, nil
	return nil
}

// txnTime is the source time of the open transaction as of item it (its
// Begin or Commit): the commit time when known, else the item's time, else
// the source's time now.
func (c *Coordinator) txnTime(it change.Item) time.Time {
	switch {
	case c.txn != nil && !c.txn.CommitTime.IsZero():
		return c.txn.CommitTime
	case !it.At.IsZero():
		return it.At
	}
	return c.opts.Stats.nowAtSource()
}

// boundaryAll tells every worker it may commit at cp.
func (c *Coordinator) boundaryAll(ctx context.Context, cp connector.Checkpoint) error {
	c.broadcast = time.Now()
	for w := range c.workers {
		if err := c.send(ctx, w, msg{kind: msgBoundary, cp: cp}); err != nil {
			return err
		}
	}
	return nil
}

func (c *Coordinator) send(ctx context.Context, w int, m msg) error {
	select {
	case c.workers[w].in <- m:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

func (c *Coordinator) touch(w int) {
	if !c.touched[w] {
		c.touched[w] = true
		c.touchList = append(c.touchList, w)
	}
}
