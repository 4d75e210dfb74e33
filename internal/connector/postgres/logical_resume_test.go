package postgres

import (
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/value"
)

// A resumed job whose slot is gone fails loudly instead of creating a new
// slot that starts after the changes it still needs; a job without a run
// replaces the slot an unrecorded run left behind.
func TestLogicalResumedSlotLost(t *testing.T) {
	t.Parallel()
	v := newLogEnv(t, []string{"t"}, `CREATE TABLE t (id integer PRIMARY KEY)`)
	first := v.openLog(t, 1).Position()

	// No run recorded for it: the slot is dropped and created afresh.
	v.exec(t, `INSERT INTO t VALUES (1)`)
	fresh := v.openLog(t, 1).Position()
	assert.Greater(t, fresh.LSN, first.LSN)
	assert.Equal(t, fresh.LSN, v.slot(t).confirmed(), "a new slot at the new snapshot")

	require.NoError(t, v.src.dropSlot(t.Context(), SlotName(v.lj)))
	resumed := v.lj
	resumed.Resumed = true
	_, err := v.src.OpenLogSnapshot(t.Context(), resumed, 1)
	require.Equal(t, CodeSlotLost, errs.CodeOf(err), "%v", err)
	assert.Nil(t, v.slot(t), "no slot was created")
}

// A resumed full load's snapshot position is past the commit of every
// transaction its readers see, under a concurrent writer: replaying from
// the first run's position, each transaction the snapshot saw lies inside
// the replay window (before the position), so its replay never looks like
// divergence.
func TestLogicalResumedSnapshotBoundsWhatItSees(t *testing.T) {
	t.Parallel()
	v := newLogEnv(t, []string{"t"}, `CREATE TABLE t (id bigint PRIMARY KEY)`)
	first := v.openLog(t, 1).Position()
	tab := v.tables(t)[0]
	v.lj.Resumed = true

	const rowsToWrite = 4000
	writer := v.conn(t)
	var wg sync.WaitGroup
	wg.Add(1)
	done := make(chan struct{})
	var written int64
	go func() { // one row per transaction, as fast as it goes
		defer wg.Done()
		defer close(done)
		for written < rowsToWrite {
			if _, err := writer.Exec(t.Context(), `INSERT INTO t VALUES ($1)`, written+1); err != nil {
				t.Errorf("insert: %v", err)
				return
			}
			written++
		}
	}()
	type seen struct {
		pos   change.Position
		maxID int64
	}
	var snaps []seen
	for writing := true; writing; {
		select {
		case <-done:
			writing = false
		default:
		}
		snap, err := v.src.OpenLogSnapshot(t.Context(), v.lj, 1)
		require.NoError(t, err)
		var maxID int64
		err = snap.Readers()[0].Read(t.Context(), connector.ReadRequest{Table: tab, Columns: []string{"id"}}, func(r value.Row) error {
			n, err := strconv.ParseInt(string(r[0]), 10, 64)
			maxID = max(maxID, n)
			return err
		})
		require.NoError(t, err)
		snaps = append(snaps, seen{snap.Position(), maxID})
		require.NoError(t, snap.Close())
	}
	wg.Wait()
	t.Logf("%d snapshots during %d commits", len(snaps), written)

	// Where each row's transaction begins in the stream from the first run.
	txnOf := map[int64]change.Position{}
	st := v.follow(t, first)
	for int64(len(txnOf)) < written {
		it := next(t, st)
		if it.Kind == change.ItemRow {
			txnOf[id(t, col(it.Row, "id"))] = it.Txn.Pos
		}
	}
	for i, s := range snaps {
		if s.maxID == 0 {
			continue
		}
		pos, ok := txnOf[s.maxID]
		require.True(t, ok, "row %d was streamed", s.maxID)
		require.Negative(t, change.Compare(pos, s.pos), "snapshot %d sees row %d, whose transaction at %s is not before the snapshot's position %s",
			i, s.maxID, pos, s.pos)
	}
}
