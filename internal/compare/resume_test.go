package compare_test

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/compare"
	"github.com/dtsorg/dts/internal/connector/engines"
	"github.com/dtsorg/dts/internal/logging"
	"github.com/dtsorg/dts/internal/testenv"
)

// countingJournal counts the chunk records saved and cancels the compare
// after cancelAfter of them (0: never).
type countingJournal struct {
	compare.Journal
	chunks      atomic.Int64
	cancelAfter int64
	cancel      context.CancelFunc
}

func (j *countingJournal) Save(ctx context.Context, r catalog.CompareRecord) error {
	if err := j.Journal.Save(ctx, r); err != nil {
		return err
	}
	if r.Chunk >= 0 && j.chunks.Add(1) == j.cancelAfter {
		j.cancel()
	}
	return nil
}

// TestResumeAfterStop stops a compare after a few chunks and runs it again
// with the same journal: it checks only the chunks not yet checked, and
// finds the same differences.
func TestResumeAfterStop(t *testing.T) {
	t.Parallel()
	spec, _, dst := migrated(t, testenv.MariaDB(t), testenv.Postgres(t))
	dst.exec(t, "UPDATE big SET c = 'changed' WHERE id = 2500", "DELETE FROM big WHERE id = 10")
	opts := testOptions(compare.TypeContent)
	opts.Tables, opts.Workers, opts.ChunkRows = []string{"big"}, 1, 100
	file := &compare.FileJournal{Path: filepath.Join(t.TempDir(), "state.jsonl")}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := &countingJournal{Journal: file, cancelAfter: 5, cancel: cancel}
	c := &compare.Compare{Spec: spec, Options: opts, Journal: first, Engines: engines.Engines{}, Log: logging.Discard()}
	_, err := c.Run(ctx)
	require.ErrorIs(t, err, context.Canceled)
	recs, err := file.Load(context.Background())
	require.NoError(t, err)
	done := 0
	for _, r := range recs {
		if r.Chunk >= 0 {
			done++
		}
	}
	require.GreaterOrEqual(t, done, 5)

	second := &countingJournal{Journal: file}
	res := runCompare(t, spec, opts, second)
	big := tableReport(t, res.Report, "big")
	require.Equal(t, big.Chunks, big.ChunksCompared)
	require.Equal(t, int64(big.Chunks-done), second.chunks.Load(), "only the chunks not checked before")
	require.Equal(t, [3]int64{0, 1, 1}, [3]int64{big.Extra, big.Missing, big.Changed}, "%s", showRows(big.Rows))
	require.Equal(t, int64(compare.BigRows-1), *big.TargetRows)

	// A finished table is taken from the journal as it is.
	third := &countingJournal{Journal: file}
	again := runCompare(t, spec, opts, third)
	require.Zero(t, third.chunks.Load())
	require.Equal(t, big, tableReport(t, again.Report, "big"))
}

// TestConvergesWhileWriting compares while a writer updates random rows on
// both sides in step (as a sync would apply them a moment later): rows
// caught between the two writes converge by the re-check and no
// difference is reported.
func TestConvergesWhileWriting(t *testing.T) {
	t.Parallel()
	spec, src, dst := migrated(t, testenv.MariaDB(t), testenv.Postgres(t))
	srcDB, dstDB := src.srv.DB(t, src.database), dst.srv.DB(t, dst.database)
	stop := make(chan struct{})
	var updates atomic.Int64
	var wg sync.WaitGroup
	var writeErr error
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			id := 1 + rand.IntN(compare.BigRows)
			// MySQL assigns left to right (c sees the new k), PostgreSQL from the old row.
			if _, err := srcDB.Exec("UPDATE big SET k = k + 1, c = CONCAT('w', k) WHERE id = ?", id); err != nil {
				writeErr = err
				return
			}
			if _, err := dstDB.Exec(`UPDATE copy.big SET k = k + 1, c = 'w' || (k + 1) WHERE id = $1`, id); err != nil {
				writeErr = err
				return
			}
			updates.Add(1)
		}
	})
	opts := testOptions(compare.TypeContent)
	opts.Tables, opts.ChunkRows, opts.RecheckDelay, opts.Rechecks = []string{"big"}, 100, 100*time.Millisecond, 2
	var res *compare.Result
	for i := range 3 { // each compare runs while the writer writes
		if i == 2 {
			opts.MaxRepairRows = 1 // rows beyond the budget are re-checked with their chunk
		}
		before := updates.Load()
		res = runCompare(t, spec, opts, nil)
		require.Greater(t, updates.Load(), before, "the writer wrote during the compare")
		requireEqual(t, res.Report)
		t.Logf("%d updates; %d of %d chunks differed when checked", updates.Load()-before,
			tableReport(t, res.Report, "big").ChunksDifferent, tableReport(t, res.Report, "big").Chunks)
	}
	close(stop)
	wg.Wait()
	require.NoError(t, writeErr)
}

// TestSampled compares a share of the chunks.
func TestSampled(t *testing.T) {
	t.Parallel()
	spec, _, _ := migrated(t, testenv.Postgres(t), testenv.MariaDB(t))
	opts := testOptions(compare.TypeContent)
	opts.Tables, opts.ChunkRows, opts.SamplePercent = []string{"big"}, 100, 20
	res := runCompare(t, spec, opts, nil)
	requireEqual(t, res.Report)
	big := tableReport(t, res.Report, "big")
	require.Greater(t, big.ChunksCompared, 0)
	require.Less(t, big.ChunksCompared, big.Chunks)
	require.InDelta(t, 20, res.Report.SamplePercent, 0.001)
}

// TestStructureAndCountDifferences finds structure differences (a missing
// table, index and column, a changed type, an extra table) and row count
// differences.
func TestStructureAndCountDifferences(t *testing.T) {
	t.Parallel()
	spec, _, dst := migrated(t, testenv.MariaDB(t), testenv.Postgres(t))
	dst.exec(t, "DROP INDEX big_k_1", "ALTER TABLE parent ALTER COLUMN name TYPE varchar(30)", "ALTER TABLE gen DROP COLUMN g",
		"DROP TABLE child", "CREATE TABLE stray (id int)", "DELETE FROM big WHERE id > 2990")
	rep := runCompare(t, spec, testOptions(compare.TypeObjects), nil).Report
	require.Equal(t, compare.StatusDifferent, rep.Status)
	objectsOf := func(name string) []string {
		var out []string
		for _, o := range tableReport(t, rep, name).Objects {
			out = append(out, o.Kind+" "+o.Object)
		}
		return out
	}
	require.Equal(t, []string{"missing index (k)"}, objectsOf("big"))
	require.Equal(t, []string{"different column name"}, objectsOf("parent"))
	require.Equal(t, []string{"missing column g"}, objectsOf("gen"))
	require.Equal(t, []string{"missing table"}, objectsOf("child"))
	require.Equal(t, compare.StatusEqual, tableReport(t, rep, "types").Status)
	require.Contains(t, rep.ExtraTables, "copy.stray")

	rows := runCompare(t, spec, testOptions(compare.TypeRows), nil).Report
	big := tableReport(t, rows, "big")
	require.Equal(t, compare.StatusDifferent, big.Status)
	require.Equal(t, [2]int64{compare.BigRows, compare.BigRows - 10}, [2]int64{*big.SourceRows, *big.TargetRows})
	require.Equal(t, compare.StatusDifferent, tableReport(t, rows, "child").Status)
	require.Equal(t, compare.StatusEqual, tableReport(t, rows, "types").Status)

	content := runCompare(t, spec, testOptions(compare.TypeContent), nil).Report
	require.Equal(t, int64(10), tableReport(t, content, "big").Missing)
	gen := tableReport(t, content, "gen")
	require.Equal(t, compare.StatusEqual, gen.Status, "the other columns are equal")
	require.Contains(t, gen.Reason, "column g is missing on the target")
	require.Contains(t, tableReport(t, content, "child").Reason, "missing on the target")
}
