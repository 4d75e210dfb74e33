package apply

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
)

func lsnPos(n uint64) change.Position { return change.Position{Engine: "postgresql", LSN: n} }

// delayAt is the delay d after the newest heartbeat came.
func delayAt(s *Stats, d time.Duration) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.delay(s.clockRecv.Add(d))
}

func newTestTracker(s *Stats, workers int) *tracker {
	resume := make([]connector.Checkpoint, workers)
	for i := range resume {
		resume[i] = connector.Checkpoint{Pos: lsnPos(1), Complete: true, Ack: lsnPos(1)}
	}
	return newTracker(resume, s, change.Position{}, func() {})
}

// Delay is measured with the source's clock: the age of the oldest
// transaction delivered and not applied everywhere, against the source's
// time (the newest heartbeat's, advanced by the time since it came), however
// far dts's clock is off.
func TestDelayBySourceClock(t *testing.T) {
	s := NewStats()
	tr := newTestTracker(s, 2)
	src := time.Now().Add(time.Hour) // the source's clock runs an hour ahead of ours

	tr.noteBegin(src.Add(-30 * time.Second))
	tr.noteCommit(lsnPos(10), src.Add(-30*time.Second))
	tr.noteBegin(src.Add(-10 * time.Second))
	tr.noteCommit(lsnPos(20), src.Add(-10*time.Second))
	s.sawHeartbeat(src, lsnPos(20))
	d, ok := delayAt(s, 2*time.Second)
	require.True(t, ok)
	assert.Equal(t, 32*time.Second, d, "the oldest waiting transaction is 30 s old at the heartbeat")
	assert.False(t, s.Snapshot().CaughtUp)

	// Both workers apply the first transaction: the second is the oldest.
	require.NoError(t, tr.done(0, end(lsnPos(10)), 5))
	require.NoError(t, tr.done(1, end(lsnPos(10)), 0))
	d, _ = delayAt(s, 2*time.Second)
	assert.Equal(t, 12*time.Second, d)

	// Everything applied: caught up as of the heartbeat, whose age is the delay.
	require.NoError(t, tr.done(0, end(lsnPos(20)), 1))
	require.NoError(t, tr.done(1, end(lsnPos(20)), 1))
	snap := s.Snapshot()
	assert.True(t, snap.CaughtUp)
	assert.Equal(t, lsnPos(20), snap.Position)
	assert.EqualValues(t, 7, snap.AppliedRows)
	d, _ = delayAt(s, 300*time.Millisecond)
	assert.Equal(t, 300*time.Millisecond, d)
	assert.Less(t, snap.Delay, time.Minute, "dts's clock, an hour behind, does not count")
}

// A restarted run reports no delay until it learns something, never 0;
// then the age of its backlog, even before any of it is applied.
func TestDelayAfterRestart(t *testing.T) {
	s := NewStats()
	tr := newTestTracker(s, 1)
	snap := s.Snapshot()
	assert.False(t, snap.DelayKnown)
	assert.False(t, snap.CaughtUp)

	tr.noteBegin(time.Now().Add(-time.Hour)) // a backlog from an hour ago streams in
	snap = s.Snapshot()
	require.True(t, snap.DelayKnown)
	assert.Greater(t, snap.Delay, 59*time.Minute)
}

// The delay never goes negative: a source clock ahead of ours without a
// heartbeat to say so makes commit times look like the future.
func TestDelayNeverNegative(t *testing.T) {
	s := NewStats()
	tr := newTestTracker(s, 1)
	tr.noteBegin(time.Now().Add(time.Hour))
	snap := s.Snapshot()
	require.True(t, snap.DelayKnown)
	assert.Zero(t, snap.Delay)
}

// A commit the workers acknowledged before it was noted (one worker, a
// barrier it committed itself) is applied, not waiting forever.
func TestCommitNotedAfterItsAck(t *testing.T) {
	s := NewStats()
	tr := newTestTracker(s, 1)
	require.NoError(t, tr.done(0, end(lsnPos(10)), 0))
	at := time.Now().Add(-time.Minute)
	tr.noteCommit(lsnPos(10), at)
	s.sawHeartbeat(time.Now(), lsnPos(10))
	snap := s.Snapshot()
	assert.True(t, snap.CaughtUp)
	assert.Equal(t, at, snap.LastCommitTime)
	assert.Less(t, snap.Delay, time.Minute)
}

// Rows applied within moments of the phase's start (a burst the source
// had waiting) show as a rate, not as 0 rows/s.
func TestRateOfABurstRightAfterStart(t *testing.T) {
	s := NewStats()
	s.advance(0, lsnPos(1), time.Time{}) // the phase starts
	for i := range 200 {
		s.advance(1, lsnPos(uint64(2+i)), time.Now())
	}
	snap := s.Snapshot()
	require.Equal(t, int64(200), snap.AppliedRows)
	require.Positive(t, snap.RowsPerSecond)
}

// Caught up once the applied position passes a heartbeat that came after
// the newest transaction delivered. A heartbeat whose position is not
// applied yet is not enough (a PostgreSQL keepalive can come while the
// server still decodes a backlog beyond which its WAL end lies); once one
// is passed, later heartbeats ahead of the checkpoints (the WAL end moves
// with other writes on the server) do not undo it.
func TestCaughtUpOnceAHeartbeatIsApplied(t *testing.T) {
	s := NewStats()
	tr := newTestTracker(s, 2)
	now := time.Now()
	tr.noteBegin(now)
	tr.noteCommit(lsnPos(10), now)
	require.NoError(t, tr.done(0, end(lsnPos(10)), 1))
	require.NoError(t, tr.done(1, end(lsnPos(10)), 0))
	assert.False(t, s.Snapshot().CaughtUp, "no heartbeat yet")

	s.sawHeartbeat(now, lsnPos(20))
	assert.False(t, s.Snapshot().CaughtUp, "the heartbeat's position is not applied: a backlog may still come before it")
	require.NoError(t, tr.done(0, end(lsnPos(20)), 0))
	assert.False(t, s.Snapshot().CaughtUp, "worker 1 has not committed at the heartbeat")
	require.NoError(t, tr.done(1, end(lsnPos(20)), 0))
	assert.True(t, s.Snapshot().CaughtUp)

	s.sawHeartbeat(now, lsnPos(30)) // the WAL moved on before the workers committed at 30
	assert.True(t, s.Snapshot().CaughtUp, "heartbeats ahead of the checkpoints, one after another")
	assert.Equal(t, lsnPos(20), s.Snapshot().Position, "the position stays what every worker committed")

	// A transaction delivered after the heartbeat: caught up again once a
	// heartbeat after it is applied.
	tr.noteBegin(now)
	assert.False(t, s.Snapshot().CaughtUp, "a transaction is being delivered")
	tr.noteCommit(lsnPos(50), now)
	require.NoError(t, tr.done(0, end(lsnPos(50)), 1))
	require.NoError(t, tr.done(1, end(lsnPos(50)), 0))
	assert.False(t, s.Snapshot().CaughtUp, "no heartbeat since the transaction")
	s.sawHeartbeat(now, lsnPos(50))
	assert.True(t, s.Snapshot().CaughtUp, "a heartbeat at the applied position")
}

// After a transient failure the phase follows again with the same stats:
// it is not caught up on the word of the failed attempt's heartbeat - the
// source may have moved on meanwhile - until a heartbeat of its own.
func TestCaughtUpOnlyOnTheCurrentAttemptsHeartbeat(t *testing.T) {
	s := NewStats()
	tr := newTestTracker(s, 1)
	s.sawHeartbeat(time.Now(), lsnPos(10))
	require.NoError(t, tr.done(0, end(lsnPos(10)), 0))
	require.True(t, s.Snapshot().CaughtUp)

	s.Retried(errors.New("connection lost"))
	assert.False(t, s.Snapshot().CaughtUp, "between attempts")
	newTestTracker(s, 1) // the next attempt
	assert.False(t, s.Snapshot().CaughtUp, "nothing heard from the source yet")
	s.sawHeartbeat(time.Now(), lsnPos(10))
	assert.True(t, s.Snapshot().CaughtUp)
}

// A worker holding nothing uncommitted does not hold back the position the
// stats show (the target shows everything up to it), but the stream is
// acknowledged only up to the checkpoints every worker committed.
func TestIdleWorkerDoesNotHoldBackThePosition(t *testing.T) {
	s := NewStats()
	tr := newTestTracker(s, 2)
	st := &ackRecorder{}
	tr.stream = st
	src := time.Now()
	tr.noteBegin(src.Add(-5 * time.Second))
	tr.noteCommit(lsnPos(10), src.Add(-5*time.Second))
	require.NoError(t, tr.done(0, end(lsnPos(10)), 3))
	assert.Equal(t, lsnPos(1), s.Snapshot().Position, "worker 1 may still hold changes before 10")

	tr.idle(1, end(lsnPos(10)))
	assert.Equal(t, lsnPos(10), s.Snapshot().Position)
	assert.Empty(t, st.acks, "nothing acknowledged before worker 1 commits its checkpoint")

	require.NoError(t, tr.done(1, end(lsnPos(10)), 0))
	assert.Equal(t, []change.Position{lsnPos(10)}, st.acks)
	tr.idle(1, end(lsnPos(5)))
	assert.Equal(t, lsnPos(10), s.Snapshot().Position, "never backwards")
}

type ackRecorder struct {
	connector.ChangeStream
	acks []change.Position
}

func (a *ackRecorder) Ack(pos change.Position) error {
	a.acks = append(a.acks, pos)
	return nil
}
