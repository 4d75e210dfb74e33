package catalogtest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
)

func testCreateAndGet(t *testing.T, h Harness) {
	ctx, s := t.Context(), h.Store
	j := newJob(t, "job-1", "orders")
	j.Error = &catalog.ErrorInfo{Code: "Precheck", Message: "2 items failed", Fix: "grant REPLICATION"}
	before := time.Now()
	require.NoError(t, s.CreateJob(ctx, j))
	require.Equal(t, int64(1), j.Version)
	requireStoreTime(t, before, j.CreatedAt)
	requireTime(t, j.CreatedAt, j.UpdatedAt)

	got, err := s.GetJob(ctx, "job-1")
	require.NoError(t, err)
	requireSameJob(t, j, got)
	got, err = s.GetJobByName(ctx, "orders")
	require.NoError(t, err)
	requireSameJob(t, j, got)

	// The store keeps no reference to the caller's record.
	j.Spec.Name, j.Status = "changed", nil
	got, err = s.GetJob(ctx, "job-1")
	require.NoError(t, err)
	require.Equal(t, "orders", got.Spec.Name)
	require.NotNil(t, got.Status)

	// A job without status or error keeps them empty.
	bare := &catalog.Job{ID: "job-2", Spec: newSpec(t, "bare"), State: job.StateCreated}
	require.NoError(t, s.CreateJob(ctx, bare))
	got, err = s.GetJob(ctx, "job-2")
	require.NoError(t, err)
	requireSameJob(t, bare, got)
}

func testListJobs(t *testing.T, h Harness) {
	ctx, s := t.Context(), h.Store
	jobs, err := s.ListJobs(ctx)
	require.NoError(t, err)
	require.Empty(t, jobs)

	// Neither ids nor names sort in creation order.
	want := []*catalog.Job{createJob(t, s, "c", "zz"), createJob(t, s, "a", "mm"), createJob(t, s, "b", "aa")}
	jobs, err = s.ListJobs(ctx)
	require.NoError(t, err)
	require.Len(t, jobs, len(want))
	for i := range want {
		requireSameJob(t, want[i], jobs[i])
	}
}

func testDuplicateJob(t *testing.T, h Harness) {
	ctx, s := t.Context(), h.Store
	orig := createJob(t, s, "job-1", "orders")

	requireCode(t, errs.JobAlreadyExists, s.CreateJob(ctx, newJob(t, "job-1", "other")))
	requireCode(t, errs.JobAlreadyExists, s.CreateJob(ctx, newJob(t, "job-2", "orders")))

	jobs, err := s.ListJobs(ctx)
	require.NoError(t, err)
	require.Len(t, jobs, 1)
	requireSameJob(t, orig, jobs[0])
	_, err = s.GetJobByName(ctx, "other")
	requireCode(t, errs.JobNotFound, err)
}

func testNotFound(t *testing.T, h Harness) {
	ctx, s := t.Context(), h.Store
	createJob(t, s, "job-1", "orders") // a catalog that is not empty

	_, err := s.GetJob(ctx, "nope")
	requireCode(t, errs.JobNotFound, err)
	_, err = s.GetJobByName(ctx, "nope")
	requireCode(t, errs.JobNotFound, err)
	_, err = s.UpdateJob(ctx, "nope", func(*catalog.Job) error { t.Error("fn called for a missing job"); return nil })
	requireCode(t, errs.JobNotFound, err)
	requireCode(t, errs.JobNotFound, s.DeleteJob(ctx, "nope"))
	_, err = s.History(ctx, "nope")
	requireCode(t, errs.JobNotFound, err)
	requireCode(t, errs.JobNotFound, s.AppendEvent(ctx, &catalog.Event{JobID: "nope", Level: catalog.LevelInfo, Type: "x"}))
	_, err = s.ListEvents(ctx, "nope", 0, 0)
	requireCode(t, errs.JobNotFound, err)
	requireCode(t, errs.JobNotFound, s.CreateOperation(ctx, &catalog.Operation{ID: "op-1", JobID: "nope", Action: "start", Status: catalog.OpRunning}))
	_, err = s.ListOperations(ctx, "nope")
	requireCode(t, errs.JobNotFound, err)

	_, err = s.GetOperation(ctx, "nope")
	requireCode(t, errs.OperationNotFound, err)
	_, err = s.UpdateOperation(ctx, "nope", func(*catalog.Operation) error { t.Error("fn called for a missing operation"); return nil })
	requireCode(t, errs.OperationNotFound, err)
}

func testDeleteCascades(t *testing.T, h Harness) {
	ctx, s := t.Context(), h.Store
	fill := func(id string) {
		_, err := s.UpdateJob(ctx, id, func(j *catalog.Job) error { j.State = job.StatePrechecking; return nil })
		require.NoError(t, err)
		require.NoError(t, s.AppendEvent(ctx, &catalog.Event{JobID: id, Level: catalog.LevelInfo, Type: "state_changed"}))
		require.NoError(t, s.CreateOperation(ctx, &catalog.Operation{ID: "op-" + id, JobID: id, Action: "precheck", Status: catalog.OpRunning}))
	}
	createJob(t, s, "doomed", "doomed")
	createJob(t, s, "kept", "kept")
	fill("doomed")
	fill("kept")

	require.NoError(t, s.DeleteJob(ctx, "doomed"))
	_, err := s.GetJob(ctx, "doomed")
	requireCode(t, errs.JobNotFound, err)
	requireCode(t, errs.JobNotFound, s.DeleteJob(ctx, "doomed"))
	_, err = s.GetOperation(ctx, "op-doomed")
	requireCode(t, errs.OperationNotFound, err)

	// A new job under the same id and name starts with nothing of the old one.
	createJob(t, s, "doomed", "doomed")
	history, err := s.History(ctx, "doomed")
	require.NoError(t, err)
	require.Empty(t, history)
	events, err := s.ListEvents(ctx, "doomed", 0, 0)
	require.NoError(t, err)
	require.Empty(t, events)
	ops, err := s.ListOperations(ctx, "doomed")
	require.NoError(t, err)
	require.Empty(t, ops)

	// The other job lost nothing.
	history, err = s.History(ctx, "kept")
	require.NoError(t, err)
	require.Len(t, history, 1)
	events, err = s.ListEvents(ctx, "kept", 0, 0)
	require.NoError(t, err)
	require.Len(t, events, 1)
	ops, err = s.ListOperations(ctx, "kept")
	require.NoError(t, err)
	require.Len(t, ops, 1)
}
