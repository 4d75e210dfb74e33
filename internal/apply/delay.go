package apply

import (
	"time"

	"github.com/dtsorg/dts/internal/change"
)

// Delay: how long the oldest change the target lacks has waited, by the
// source's clock, so that a skewed dts clock fakes no lag.
//
//	delay = source now − source time of the oldest transaction delivered and
//	        not yet applied by every worker (its commit time; its Begin's
//	        while it streams)
//	      = source now − max(newest applied commit time, newest heartbeat
//	        time) when nothing delivered waits: a heartbeat says the source
//	        had nothing newer then
//
// clamped at 0. "Source now" is the newest heartbeat's time advanced by the
// time since it came, measured on our monotonic clock; before any
// heartbeat, our own clock. A run that has learnt nothing yet (just
// restarted, its backlog not delivered) reports no delay rather than 0.
// MariaDB's commit times are whole seconds: its delay reads up to one second
// high; the heartbeat period (about a second) bounds it on an idle source.

// sourceNow is the source's time at our time now.
func (s *Stats) sourceNow(now time.Time) time.Time {
	if s.clockRecv.IsZero() {
		return now
	}
	return s.clockAt.Add(now.Sub(s.clockRecv))
}

// delay computes the delay at our time now; ok false when unknown.
func (s *Stats) delay(now time.Time) (time.Duration, bool) {
	ref := s.oldest
	if ref.IsZero() {
		ref = s.lastApplied
		if s.hbAt.After(ref) {
			ref = s.hbAt
		}
	}
	if ref.IsZero() {
		return 0, false
	}
	return max(0, s.sourceNow(now).Sub(ref)), true
}

// nowAtSource returns the source's time now, as far as the stats know it.
func (s *Stats) nowAtSource() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sourceNow(time.Now())
}

// sawHeartbeat records a heartbeat at pos: the stream delivered
// everything the source had at its time at (zero: the source sent no time).
func (s *Stats) sawHeartbeat(at time.Time, pos change.Position) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case change.Compare(s.position, pos) >= 0:
		s.reached, s.hbPending = true, change.Position{}
	case s.hbPending.IsZero():
		s.hbPending = pos
	}
	if at.IsZero() {
		return
	}
	s.clockAt, s.clockRecv = at, time.Now()
	if at.After(s.hbAt) {
		s.hbAt = at
	}
}

// setOldest records the source time of the oldest transaction not applied
// everywhere (zero: none waits).
func (s *Stats) setOldest(at time.Time) {
	s.mu.Lock()
	s.oldest = at
	s.mu.Unlock()
}
