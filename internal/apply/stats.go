package apply

import (
	"sync"
	"time"

	"github.com/dtsorg/dts/internal/change"
)

// Stats is a running apply's progress; safe for concurrent use.
type Stats struct {
	mu sync.Mutex

	applied  int64           // rows committed by the workers
	position change.Position // everything up to it is applied by every worker
	// lastApplied is the source commit time of the newest transaction
	// every worker has applied.
	lastApplied time.Time

	// The delay's inputs (delay.go).
	clockAt, clockRecv time.Time // the source's time, and ours when we learnt it
	oldest             time.Time // source time of the oldest transaction not applied everywhere; zero: none
	hbAt               time.Time // the newest heartbeat's source time
	// Caught up (Snapshot): reached says the position passed a heartbeat
	// that came, in the current attempt, after the newest transaction
	// delivered; hbPending is such a heartbeat's position not passed yet.
	reached   bool
	hbPending change.Position

	samples []rateSample // applied rows over time, for the rate

	retries  int64  // times the phase started over after a transient failure
	retryErr string // the last such failure
}

type rateSample struct {
	at   time.Time
	rows int64
}

// NewStats returns empty stats.
func NewStats() *Stats { return &Stats{} }

// StatsSnapshot is Stats at one instant.
type StatsSnapshot struct {
	AppliedRows   int64
	RowsPerSecond float64 // over the last few seconds
	// LastCommitTime is the source commit time of the newest transaction
	// applied by every worker.
	LastCommitTime time.Time
	// Position: every change up to it is applied on the target.
	Position change.Position
	// CaughtUp says nothing delivered waits and the position passed a
	// heartbeat that came after the newest transaction delivered.
	CaughtUp bool
	// Retries counts the times the incremental phase started over after a
	// transient failure (a lost connection, a restarting target);
	// RetryError is the last such failure.
	Retries    int64
	RetryError string
	// Delay is how far the target is behind the source, by the source's
	// clock (delay.go); DelayKnown is false until the run learnt anything
	// to measure it by (Delay is then 0, and means nothing).
	Delay      time.Duration
	DelayKnown bool
}

// Snapshot returns the current stats.
func (s *Stats) Snapshot() StatsSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	snap := StatsSnapshot{AppliedRows: s.applied, LastCommitTime: s.lastApplied, Position: s.position,
		Retries: s.retries, RetryError: s.retryErr}
	if n := len(s.samples); n > 1 {
		first, last := s.samples[0], s.samples[n-1]
		if d := now.Sub(first.at).Seconds(); d > 0 {
			snap.RowsPerSecond = float64(last.rows-first.rows) / d
		}
	}
	// Caught up: nothing delivered waits, and the applied position passed a
	// heartbeat that came after the newest transaction delivered. A
	// heartbeat alone is not enough: a PostgreSQL keepalive can come while
	// the server still decodes a backlog it has not sent (after a restart,
	// a large transaction), and its WAL end lies past that backlog. Not the
	// newest heartbeat either: a keepalive's WAL end moves on with every
	// write on the server (other databases', the target's own checkpoints
	// when it shares the server), and workers commit at a heartbeat only
	// when idle, at most every IdleInterval, so on an idle job the applied
	// position trails the newest heartbeat for good.
	snap.CaughtUp = s.reached && s.oldest.IsZero()
	snap.Delay, snap.DelayKnown = s.delay(now)
	return snap
}

// Retried records that the phase starts over after err: it is not caught
// up until a heartbeat of the next attempt says so.
func (s *Stats) Retried(err error) {
	s.mu.Lock()
	s.retries++
	s.retryErr = err.Error()
	s.reached, s.hbPending = false, change.Position{}
	s.mu.Unlock()
}

// attempt records that an attempt to follow the source starts: what the
// source said to an earlier one no longer tells whether the job is caught up.
func (s *Stats) attempt() {
	s.mu.Lock()
	s.reached, s.hbPending = false, change.Position{}
	s.mu.Unlock()
}

// delivered records that a transaction is being delivered: caught up again
// once a heartbeat after it is applied.
func (s *Stats) delivered() {
	s.mu.Lock()
	s.reached, s.hbPending = false, change.Position{}
	s.mu.Unlock()
}

// advance records rows committed and the position applied everywhere.
func (s *Stats) advance(rows int64, pos change.Position, commitTime time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.applied += rows
	if !pos.IsZero() {
		s.position = pos
		if !s.hbPending.IsZero() && change.Compare(pos, s.hbPending) >= 0 {
			s.reached, s.hbPending = true, change.Position{}
		}
	}
	if commitTime.After(s.lastApplied) {
		s.lastApplied = commitTime
	}
	now := time.Now()
	// The first sample stays apart as the baseline: rows applied right
	// after the phase started must still show as a rate.
	if n := len(s.samples); n < 2 || now.Sub(s.samples[n-1].at) >= 250*time.Millisecond {
		s.samples = append(s.samples, rateSample{now, s.applied})
		cut := 0
		for cut < len(s.samples)-2 && now.Sub(s.samples[cut].at) > 5*time.Second {
			cut++
		}
		s.samples = append(s.samples[:0], s.samples[cut:]...)
	} else {
		s.samples[n-1].rows = s.applied
	}
}
