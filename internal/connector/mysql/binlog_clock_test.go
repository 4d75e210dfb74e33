package mysql

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The source's clock is read as an instant, whatever the session's time
// zone: on this machine, source and dts share a clock.
func TestClockOffset(t *testing.T) {
	e := newEnv(t)
	src := e.source()
	off, err := src.clockOffset(e.ctx)
	require.NoError(t, err)
	require.Less(t, off.Abs(), 5*time.Second, "offset %s", off)
}
