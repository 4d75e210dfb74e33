package catalogtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/catalog"
)

func newOp(id, jobID string) *catalog.Operation {
	return &catalog.Operation{
		ID: id, JobID: jobID, Action: "precheck", Status: catalog.OpRunning,
		Params: json.RawMessage(`{"skip":["binlog_format"]}`),
	}
}

func requireSameOp(t *testing.T, want, got *catalog.Operation) {
	t.Helper()
	require.NotNil(t, got)
	require.Equal(t, want.ID, got.ID)
	require.Equal(t, want.JobID, got.JobID)
	require.Equal(t, want.Action, got.Action)
	require.Equal(t, want.Status, got.Status)
	requireSameJSON(t, want.Params, got.Params)
	requireSameJSON(t, want.Result, got.Result)
	require.Equal(t, want.Error, got.Error)
	requireTime(t, want.CreatedAt, got.CreatedAt)
	requireTime(t, want.UpdatedAt, got.UpdatedAt)
}

func testOperations(t *testing.T, h Harness) {
	ctx, s := t.Context(), h.Store
	createJob(t, s, "job-1", "orders")
	op := newOp("op-1", "job-1")
	before := time.Now()
	require.NoError(t, s.CreateOperation(ctx, op))
	requireStoreTime(t, before, op.CreatedAt)
	requireTime(t, op.CreatedAt, op.UpdatedAt)

	got, err := s.GetOperation(ctx, "op-1")
	require.NoError(t, err)
	requireSameOp(t, op, got)

	bare := &catalog.Operation{ID: "op-2", JobID: "job-1", Action: "start", Status: catalog.OpRunning}
	require.NoError(t, s.CreateOperation(ctx, bare))
	got, err = s.GetOperation(ctx, "op-2")
	require.NoError(t, err)
	requireSameOp(t, bare, got)
}

func testUpdateOperation(t *testing.T, h Harness) {
	ctx, s := t.Context(), h.Store
	createJob(t, s, "job-1", "orders")
	createJob(t, s, "job-2", "invoices")
	op := newOp("op-1", "job-1")
	require.NoError(t, s.CreateOperation(ctx, op))

	refused := errors.New("refused by fn")
	_, err := s.UpdateOperation(ctx, "op-1", func(o *catalog.Operation) error { o.Status = catalog.OpFailed; return refused })
	require.Equal(t, refused, err, "fn's error comes back as is")
	got, err := s.GetOperation(ctx, "op-1")
	require.NoError(t, err)
	requireSameOp(t, op, got)

	before := time.Now()
	updated, err := s.UpdateOperation(ctx, "op-1", func(o *catalog.Operation) error {
		requireSameOp(t, op, o)
		o.Status = catalog.OpFailed
		o.Result = json.RawMessage(`{"passed":3,"failed":[{"item":"binlog_format"}]}`)
		o.Error = &catalog.ErrorInfo{Code: "PrecheckFailed", Message: "1 item failed", Fix: "set binlog_format=ROW"}
		o.ID, o.JobID, o.CreatedAt = "op-other", "job-2", time.Time{} // the store's, ignored
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, "op-1", updated.ID)
	require.Equal(t, "job-1", updated.JobID)
	requireTime(t, op.CreatedAt, updated.CreatedAt)
	requireStoreTime(t, before, updated.UpdatedAt)
	got, err = s.GetOperation(ctx, "op-1")
	require.NoError(t, err)
	requireSameOp(t, updated, got)

	ops, err := s.ListOperations(ctx, "job-2")
	require.NoError(t, err)
	require.Empty(t, ops)
}

func testListOperations(t *testing.T, h Harness) {
	ctx, s := t.Context(), h.Store
	createJob(t, s, "job-1", "orders")
	createJob(t, s, "job-2", "invoices")
	ops, err := s.ListOperations(ctx, "job-1")
	require.NoError(t, err)
	require.Empty(t, ops)

	// Ids that do not sort in creation order; another job's in between.
	var want []*catalog.Operation
	for i, id := range []string{"op-c", "op-a", "op-b"} {
		op := newOp(id, "job-1")
		require.NoError(t, s.CreateOperation(ctx, op))
		want = append([]*catalog.Operation{op}, want...)
		require.NoError(t, s.CreateOperation(ctx, newOp(fmt.Sprintf("other-%d", i), "job-2")))
	}
	ops, err = s.ListOperations(ctx, "job-1")
	require.NoError(t, err)
	require.Len(t, ops, len(want))
	for i := range want {
		requireSameOp(t, want[i], ops[i])
	}
}
