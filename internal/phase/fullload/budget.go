package fullload

import (
	"context"
	"sync"
)

// budget bounds the bytes of rows read but not yet written, across all
// workers: without it, each worker's queue holds batches of its own, and
// big rows (16 MB blobs) multiply into gigabytes. A batch larger than the
// whole budget is let through alone so that any row can be copied.
type budget struct {
	mu    sync.Mutex
	cond  *sync.Cond
	limit int64
	used  int64
}

func newBudget(limit int64) *budget {
	b := &budget{limit: limit}
	b.cond = sync.NewCond(&b.mu)
	return b
}

// acquire waits until n bytes fit (or nothing else is in flight) and
// returns the amount to release later; 0 when ctx ended first.
func (b *budget) acquire(ctx context.Context, n int64) int64 {
	stop := context.AfterFunc(ctx, func() {
		b.mu.Lock()
		b.cond.Broadcast()
		b.mu.Unlock()
	})
	defer stop()
	b.mu.Lock()
	defer b.mu.Unlock()
	for b.used > 0 && b.used+n > b.limit {
		if ctx.Err() != nil {
			return 0
		}
		b.cond.Wait()
	}
	if ctx.Err() != nil {
		return 0
	}
	b.used += n
	return n
}

func (b *budget) release(n int64) {
	if n == 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	b.cond.Broadcast()
	b.mu.Unlock()
}
