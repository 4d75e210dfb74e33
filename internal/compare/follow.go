package compare

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/job"
)

// Follower tells a compare how far a sync job that applies the compared
// tables' changes has got, so that a row found different is judged only
// once the job has applied what the source held when the row was read
// (settle.go).
type Follower interface {
	// Applied returns the source position up to which every change is
	// applied (committed) on the target, and whether the job is applying
	// changes now. A job that is not running has nothing in flight: its
	// target differs from the source for good.
	Applied(ctx context.Context) (pos change.Position, running bool, err error)
}

// FollowerFunc adapts a function to Follower.
type FollowerFunc func(ctx context.Context) (change.Position, bool, error)

// Applied implements Follower.
func (f FollowerFunc) Applied(ctx context.Context) (change.Position, bool, error) { return f(ctx) }

// CheckpointFollower follows a job from its apply checkpoints on the target
// (dts_meta): what a compare outside the process running the job (dts
// compare beside dts run) can see. Every worker commits its checkpoint
// with its changes and, when idle, on the source's heartbeats (about once
// a second), so checkpoints that stopped moving for Quiet mean the job is
// not running.
type CheckpointFollower struct {
	sink  connector.ApplySink
	jobID string
	// Quiet is how long unchanged checkpoints mean a stopped job (default 15 s).
	Quiet time.Duration

	mu      sync.Mutex
	last    []connector.WorkerCheckpoint
	changed time.Time
}

// NewCheckpointFollower opens the target to follow job jobID's
// checkpoints; nil when the target keeps none (not a database).
func NewCheckpointFollower(ctx context.Context, engines Engines, target job.Endpoint, jobID string, log *slog.Logger) (*CheckpointFollower, func(), error) {
	sink, err := engines.OpenSink(ctx, target, log)
	if err != nil {
		return nil, nil, fmt.Errorf("connect to the target: %w", err)
	}
	as, ok := sink.(connector.ApplySink)
	if !ok {
		sink.Close()
		return nil, func() {}, nil
	}
	return &CheckpointFollower{sink: as, jobID: jobID, Quiet: 15 * time.Second}, func() { sink.Close() }, nil
}

// Applied implements Follower.
func (f *CheckpointFollower) Applied(ctx context.Context) (change.Position, bool, error) {
	cps, err := f.sink.LoadCheckpoints(ctx, f.jobID)
	if err != nil {
		return change.Position{}, false, fmt.Errorf("read the job's apply checkpoints: %w", err)
	}
	if len(cps) == 0 {
		return change.Position{}, false, nil
	}
	// A worker checkpoint (complete at E, or inside the transaction that
	// begins at E) says every transaction that ended at or before E is
	// applied: the smallest E over the workers holds for all of them.
	pos, newest := cps[0].Pos, cps[0].UpdatedAt
	for _, cp := range cps[1:] {
		if change.Compare(cp.Pos, pos) < 0 {
			pos = cp.Pos
		}
		if cp.UpdatedAt.After(newest) {
			newest = cp.UpdatedAt
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	switch {
	case f.last == nil:
		// First look: trust the checkpoints' own time (the target's clock).
		f.changed = newest
	case !sameCheckpoints(f.last, cps):
		f.changed = now
	}
	f.last = cps
	return pos, now.Sub(f.changed) < f.Quiet, nil
}

func sameCheckpoints(a, b []connector.WorkerCheckpoint) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if connector.CompareCheckpoints(a[i].Checkpoint, b[i].Checkpoint) != 0 || !a[i].UpdatedAt.Equal(b[i].UpdatedAt) {
			return false
		}
	}
	return true
}

// waitApplied waits until the follower's job has applied everything up to
// pos, or is not running. It returns false when maxWait ran out first.
func waitApplied(ctx context.Context, f Follower, pos change.Position, maxWait, poll time.Duration) (bool, error) {
	deadline := time.Now().Add(maxWait)
	for {
		at, running, err := f.Applied(ctx)
		if err != nil {
			return false, err
		}
		if !running || change.Compare(at, pos) >= 0 {
			return true, nil
		}
		if time.Now().After(deadline) {
			return false, nil
		}
		if err := sleep(ctx, poll); err != nil {
			return false, err
		}
	}
}

// positioner reads a server's current log position: where a change
// committed now would end at the latest.
type positioner interface {
	position(ctx context.Context) (change.Position, error)
}

func logPosition(ctx context.Context, c conn) (change.Position, error) {
	p, ok := c.(positioner)
	if !ok {
		return change.Position{}, fmt.Errorf("this engine has no log position")
	}
	return p.position(ctx)
}
