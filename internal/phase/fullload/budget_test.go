package fullload

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBudgetBoundsBytesInFlight(t *testing.T) {
	t.Parallel()
	b := newBudget(100)
	ctx := context.Background()
	require.Equal(t, int64(60), b.acquire(ctx, 60))
	got := make(chan int64)
	go func() { got <- b.acquire(ctx, 60) }()
	select {
	case <-got:
		t.Fatal("a second 60 bytes fit in a budget of 100 with 60 in flight")
	case <-time.After(50 * time.Millisecond):
	}
	b.release(60)
	require.Equal(t, int64(60), <-got)
	b.release(60)

	require.Equal(t, int64(500), b.acquire(ctx, 500), "a batch larger than the budget goes through alone")
	cancelled, cancel := context.WithCancel(ctx)
	go func() { got <- b.acquire(cancelled, 1) }()
	cancel()
	require.Equal(t, int64(0), <-got, "a cancelled wait holds nothing")
	b.release(500)
	require.Equal(t, int64(0), b.used)
}
