package catalogtest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
)

// testCancelled: a call with an ended context fails with the context's error
// (so callers can tell it from a broken store) and writes nothing.
func testCancelled(t *testing.T, h Harness) {
	s := h.Store
	orig := createJob(t, s, "job-1", "orders")
	require.NoError(t, s.CreateOperation(t.Context(), newOp("op-1", "job-1")))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()

	noJob := func(*catalog.Job) error { return nil }
	noOp := func(*catalog.Operation) error { return nil }
	calls := map[string]func() error{
		"CreateJob":    func() error { return s.CreateJob(ctx, newJob(t, "job-2", "invoices")) },
		"GetJob":       func() error { _, err := s.GetJob(ctx, "job-1"); return err },
		"GetJobByName": func() error { _, err := s.GetJobByName(ctx, "orders"); return err },
		"ListJobs":     func() error { _, err := s.ListJobs(ctx); return err },
		"UpdateJob":    func() error { _, err := s.UpdateJob(ctx, "job-1", noJob); return err },
		"DeleteJob":    func() error { return s.DeleteJob(ctx, "job-1") },
		"History":      func() error { _, err := s.History(ctx, "job-1"); return err },
		"AppendEvent": func() error {
			return s.AppendEvent(ctx, &catalog.Event{JobID: "job-1", Level: catalog.LevelInfo, Type: "x"})
		},
		"ListEvents":      func() error { _, err := s.ListEvents(ctx, "job-1", 0, 0); return err },
		"CreateOperation": func() error { return s.CreateOperation(ctx, newOp("op-2", "job-1")) },
		"GetOperation":    func() error { _, err := s.GetOperation(ctx, "op-1"); return err },
		"UpdateOperation": func() error { _, err := s.UpdateOperation(ctx, "op-1", noOp); return err },
		"ListOperations":  func() error { _, err := s.ListOperations(ctx, "job-1"); return err },
	}
	for name, call := range calls {
		require.ErrorIs(t, call(), context.Canceled, name)
	}

	ctx = t.Context()
	got, err := s.GetJob(ctx, "job-1")
	require.NoError(t, err)
	requireSameJob(t, orig, got)
	_, err = s.GetJob(ctx, "job-2")
	requireCode(t, errs.JobNotFound, err)
	events, err := s.ListEvents(ctx, "job-1", 0, 0)
	require.NoError(t, err)
	require.Empty(t, events)
	_, err = s.GetOperation(ctx, "op-2")
	requireCode(t, errs.OperationNotFound, err)
}

// testCancelledDuringUpdate: a context that ends while fn runs aborts the
// update; nothing fn did is written.
func testCancelledDuringUpdate(t *testing.T, h Harness) {
	s := h.Store
	orig := createJob(t, s, "job-1", "orders")
	ctx, cancel := context.WithCancel(t.Context())
	_, err := s.UpdateJob(ctx, "job-1", func(j *catalog.Job) error {
		j.State, j.StateReason = job.StateRunning, "started"
		cancel()
		return nil
	})
	require.ErrorIs(t, err, context.Canceled)

	got, err := s.GetJob(t.Context(), "job-1")
	require.NoError(t, err)
	requireSameJob(t, orig, got)
	history, err := s.History(t.Context(), "job-1")
	require.NoError(t, err)
	require.Empty(t, history)
}
