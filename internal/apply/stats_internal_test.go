package apply

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/dtsorg/dts/internal/change"
)

func lsnPos(n uint64) change.Position { return change.Position{Engine: "postgresql", LSN: n} }

// Delay is measured with the source's clock: the newest heartbeat's time
// advanced by how long ago it came, minus the newest applied commit time;
// 0 once everything before the newest heartbeat is applied.
func TestStatsDelay(t *testing.T) {
	s := NewStats()
	assert.Zero(t, s.Snapshot().Delay)
	assert.False(t, s.Snapshot().CaughtUp)

	srcNow := time.Now().Add(time.Hour) // the source's clock runs an hour ahead of ours
	s.sawItem(lsnPos(10))
	s.sawItem(lsnPos(20))
	s.advance(5, lsnPos(10), srcNow.Add(-30*time.Second))
	s.sawHeartbeat(srcNow)
	snap := s.Snapshot()
	assert.False(t, snap.CaughtUp, "the transaction ending at 20 is not applied")
	assert.InDelta(t, 30*time.Second, snap.Delay, float64(2*time.Second))
	assert.EqualValues(t, 5, snap.AppliedRows)

	s.advance(3, lsnPos(20), srcNow.Add(-time.Second))
	snap = s.Snapshot()
	assert.True(t, snap.CaughtUp)
	assert.Zero(t, snap.Delay)
	assert.Equal(t, lsnPos(20), snap.Position)

	s.sawItem(lsnPos(30)) // a new transaction since the heartbeat
	assert.False(t, s.Snapshot().CaughtUp)
}
