package apply

import (
	"fmt"
	"sync"
	"time"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
)

// tracker holds every worker's committed checkpoint and acknowledges the
// stream up to the smallest: a position is acknowledged only when every
// worker has committed everything routed to it up to there (for
// PostgreSQL, the slot never gets ahead of the target).
type tracker struct {
	mu        sync.Mutex
	committed []connector.Checkpoint
	// visible is, per worker, the newest point up to which everything
	// routed to it is committed: its checkpoint, or a later boundary it
	// learned holding nothing uncommitted. The target shows the source up
	// to the smallest (the stats' position and delay), while the stream is
	// acknowledged only up to the smallest committed checkpoint: a worker
	// with nothing to apply writes its checkpoint at most every
	// IdleInterval, and the position shown must not wait for that.
	visible []connector.Checkpoint
	shown   change.Position
	acked   change.Position
	stream  connector.ChangeStream
	stats   *Stats
	// commits are the (end, commit time) of transactions not yet applied
	// by every worker, oldest first: the stats' last commit time and delay.
	commits []commitMark
	// open is the source time of the transaction the stream is delivering
	// (zero between transactions).
	open    time.Time
	stopAt  change.Position
	stop    func() // called once everything up to stopAt is applied
	stopped bool
}

type commitMark struct {
	end change.Position
	at  time.Time
}

// newTracker starts an attempt to follow the source (one per Coordinator).
func newTracker(resume []connector.Checkpoint, stats *Stats, stopAt change.Position, stop func()) *tracker {
	stats.attempt()
	t := &tracker{committed: append([]connector.Checkpoint(nil), resume...), stats: stats, stopAt: stopAt, stop: stop}
	t.visible = append([]connector.Checkpoint(nil), resume...)
	t.acked = minAck(t.committed)
	t.shown = t.acked
	return t
}

// minAck is the smallest acknowledgeable position over the workers'
// checkpoints.
func minAck(cps []connector.Checkpoint) change.Position {
	m := cps[0].Ack
	for _, cp := range cps[1:] {
		if change.Compare(cp.Ack, m) < 0 {
			m = cp.Ack
		}
	}
	return m
}

// noteBegin records that a transaction of source time at is being
// delivered.
func (t *tracker) noteBegin(at time.Time) {
	t.stats.delivered()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.open = at
	t.publish()
}

// noteCommit records a transaction's (or a barrier item's) end and commit
// time as the stream delivers it.
func (t *tracker) noteCommit(end change.Position, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.open = time.Time{}
	if !t.shown.IsZero() && change.Compare(end, t.shown) <= 0 { // applied everywhere already
		t.stats.advance(0, change.Position{}, at)
	} else {
		t.commits = append(t.commits, commitMark{end, at})
	}
	t.publish()
}

// publish tells the stats the source time of the oldest transaction not
// applied everywhere.
func (t *tracker) publish() {
	oldest := t.open
	if len(t.commits) > 0 {
		oldest = t.commits[0].at
	}
	t.stats.setOldest(oldest)
}

// done records worker w's commit of cp with rows changes, acknowledges the
// stream if the smallest position grew, and stops the run once StopAt is
// reached.
func (t *tracker) done(w int, cp connector.Checkpoint, rows int) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if connector.CompareCheckpoints(cp, t.committed[w]) < 0 {
		return fmt.Errorf("apply worker %d committed checkpoint %s behind its previous one %s", w, cp, t.committed[w])
	}
	t.committed[w] = cp
	if connector.CompareCheckpoints(cp, t.visible[w]) > 0 {
		t.visible[w] = cp
	}
	ack := minAck(t.committed)
	if !ack.IsZero() && change.Compare(ack, t.acked) > 0 {
		if t.stream != nil {
			if err := t.stream.Ack(ack); err != nil {
				return fmt.Errorf("acknowledge %s to the source: %w", ack, err)
			}
		}
		t.acked = ack
	}
	t.show(int64(rows))
	if !t.stopped && !t.stopAt.IsZero() && change.Compare(t.acked, t.stopAt) >= 0 {
		t.stopped = true
		t.stop()
	}
	return nil
}

// idle records that worker w holds nothing uncommitted up to cp (a
// boundary it learned).
func (t *tracker) idle(w int, cp connector.Checkpoint) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if connector.CompareCheckpoints(cp, t.visible[w]) <= 0 {
		return
	}
	t.visible[w] = cp
	t.show(0)
}

// show advances the position the stats show to the smallest visible one,
// with the commit time of the newest transaction it covers.
func (t *tracker) show(rows int64) {
	var at time.Time
	if vis := minAck(t.visible); !vis.IsZero() && change.Compare(vis, t.shown) > 0 {
		t.shown = vis
		n := 0
		for n < len(t.commits) && change.Compare(t.commits[n].end, vis) <= 0 {
			at = t.commits[n].at
			n++
		}
		t.commits = append(t.commits[:0], t.commits[n:]...)
		t.publish()
	}
	t.stats.advance(rows, t.shown, at)
}

// reached reports whether StopAt is applied everywhere already.
func (t *tracker) reached() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return !t.stopAt.IsZero() && change.Compare(t.acked, t.stopAt) >= 0
}
