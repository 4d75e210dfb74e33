package postgres

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/change"
)

// T16: a transaction of 100,000 rows of 1 KB (100 MB) streams through with
// bounded memory: larger than logical_decoding_work_mem, the server
// streams it while it runs, dts keeps it on disk until it commits and then
// holds a few thousand rows at most. Not parallel: it measures this
// process's heap.
func TestLogicalLargeTransaction(t *testing.T) {
	v := newLogEnv(t, []string{"big"}, `CREATE TABLE big (id integer PRIMARY KEY, pad text)`)
	v.exec(t, `ALTER DATABASE `+quoteIdent(v.db)+` SET logical_decoding_work_mem = '64MB'`) // the default
	st := v.follow(t, v.openLog(t, 1).Position())
	const n = 100_000
	v.exec(t, fmt.Sprintf(`INSERT INTO big SELECT g, repeat(md5(g::text), 32) FROM generate_series(1, %d) g`, n))

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			var m runtime.MemStats
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
		}
	})
	seq := 0
	for {
		it := next(t, st)
		if it.Kind == change.ItemCommit {
			require.NoError(t, st.Ack(it.Pos))
			break
		}
		if it.Kind == change.ItemRow {
			require.Equal(t, seq, it.Row.Seq)
			require.Len(t, it.Row.After[1], 1024)
			seq++
		}
	}
	close(stop)
	wg.Wait()
	assert.Equal(t, n, seq)
	assert.EqualValues(t, 1, st.streamedTxns.Load(), "the transaction was streamed")
	grew := int64(peak.Load()) - int64(base.HeapInuse)
	t.Logf("heap in use grew by %d MiB at most while 100 MB streamed", grew>>20)
	assert.Less(t, grew, int64(64<<20), "memory stays bounded")
}
