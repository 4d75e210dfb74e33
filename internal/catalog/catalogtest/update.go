package catalogtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
)

func testUpdate(t *testing.T, h Harness) {
	ctx, s := t.Context(), h.Store
	orig := createJob(t, s, "job-1", "orders")

	before := time.Now()
	got, err := s.UpdateJob(ctx, "job-1", func(j *catalog.Job) error {
		requireSameJob(t, orig, j)
		j.State, j.StateReason = job.StatePrechecking, "precheck requested"
		j.Status = json.RawMessage(`{"phase":"precheck","n":1}`)
		j.Error = &catalog.ErrorInfo{Code: "X", Message: "m"}
		j.Spec.Source.Password = "rotated-pw"
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, int64(2), got.Version)
	requireTime(t, orig.CreatedAt, got.CreatedAt)
	requireStoreTime(t, before, got.UpdatedAt)
	stored, err := s.GetJob(ctx, "job-1")
	require.NoError(t, err)
	requireSameJob(t, got, stored)
	require.Equal(t, "rotated-pw", stored.Spec.Source.Password.Reveal())
	firstChange := got.UpdatedAt

	// No state change, no history entry; the version still moves.
	got, err = s.UpdateJob(ctx, "job-1", func(j *catalog.Job) error { j.Status = json.RawMessage(`{"n":2}`); return nil })
	require.NoError(t, err)
	require.Equal(t, int64(3), got.Version)

	got, err = s.UpdateJob(ctx, "job-1", func(j *catalog.Job) error {
		j.State, j.StateReason, j.Error = job.StatePrecheckFailed, "precheck failed: 2 items", nil
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, int64(4), got.Version)
	require.Nil(t, got.Error)

	history, err := s.History(ctx, "job-1")
	require.NoError(t, err)
	require.Len(t, history, 2)
	require.Equal(t, catalog.StateChange{From: job.StateCreated, To: job.StatePrechecking, Reason: "precheck requested", At: history[0].At}, history[0])
	require.Equal(t, catalog.StateChange{From: job.StatePrechecking, To: job.StatePrecheckFailed, Reason: "precheck failed: 2 items", At: history[1].At}, history[1])
	requireTime(t, firstChange, history[0].At)
	requireTime(t, got.UpdatedAt, history[1].At)
}

func testUpdateKeepsIdentity(t *testing.T, h Harness) {
	ctx, s := t.Context(), h.Store
	orig := createJob(t, s, "job-1", "orders")
	got, err := s.UpdateJob(ctx, "job-1", func(j *catalog.Job) error {
		j.ID, j.Version, j.CreatedAt, j.UpdatedAt = "job-2", 100, time.Time{}, time.Time{}
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, "job-1", got.ID)
	require.Equal(t, int64(2), got.Version)
	requireTime(t, orig.CreatedAt, got.CreatedAt)
	require.False(t, got.UpdatedAt.Before(orig.UpdatedAt))
	_, err = s.GetJob(ctx, "job-2")
	requireCode(t, errs.JobNotFound, err)
}

func testUpdateFnError(t *testing.T, h Harness) {
	ctx, s := t.Context(), h.Store
	orig := createJob(t, s, "job-1", "orders")
	refused := errors.New("refused by fn")
	got, err := s.UpdateJob(ctx, "job-1", func(j *catalog.Job) error {
		j.State, j.Spec.Name = job.StateRunning, "renamed"
		return refused
	})
	require.Nil(t, got)
	require.Equal(t, refused, err, "fn's error comes back as is")

	stored, err := s.GetJob(ctx, "job-1")
	require.NoError(t, err)
	requireSameJob(t, orig, stored)
	history, err := s.History(ctx, "job-1")
	require.NoError(t, err)
	require.Empty(t, history)
}

// testUpdateSerialises runs read-modify-write updates at once: a store that
// let two of them read the same version would lose an increment.
func testUpdateSerialises(t *testing.T, h Harness) {
	ctx, s := t.Context(), h.Store
	createJob(t, s, "job-1", "orders")
	const n = 20
	var wg sync.WaitGroup
	errc := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := s.UpdateJob(ctx, "job-1", func(j *catalog.Job) error {
				var st struct{ N int }
				if err := json.Unmarshal(j.Status, &st); err != nil {
					return err
				}
				j.Status = fmt.Appendf(nil, `{"n":%d}`, st.N+1)
				return nil
			})
			errc <- err
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		require.NoError(t, err)
	}
	got, err := s.GetJob(ctx, "job-1")
	require.NoError(t, err)
	require.JSONEq(t, fmt.Sprintf(`{"n":%d}`, n), string(got.Status))
	require.Equal(t, int64(n+1), got.Version)
}

func testUpdateRename(t *testing.T, h Harness) {
	ctx, s := t.Context(), h.Store
	createJob(t, s, "job-1", "orders")
	b := createJob(t, s, "job-2", "invoices")

	_, err := s.UpdateJob(ctx, "job-2", func(j *catalog.Job) error { j.Spec.Name = "orders"; return nil })
	requireCode(t, errs.JobAlreadyExists, err)
	stored, err := s.GetJob(ctx, "job-2")
	require.NoError(t, err)
	requireSameJob(t, b, stored)

	_, err = s.UpdateJob(ctx, "job-2", func(j *catalog.Job) error { j.Spec.Name = "bills"; return nil })
	require.NoError(t, err)
	got, err := s.GetJobByName(ctx, "bills")
	require.NoError(t, err)
	require.Equal(t, "job-2", got.ID)
	_, err = s.GetJobByName(ctx, "invoices")
	requireCode(t, errs.JobNotFound, err)
}
