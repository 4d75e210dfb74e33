package catalogtest

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/errs"
)

func newPrecheck(jobID, hash string) *catalog.Precheck {
	at := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.FixedZone("X", 3600))
	return &catalog.Precheck{
		JobID: jobID, SpecHash: hash, StartedAt: at, FinishedAt: at.Add(1500 * time.Millisecond),
		Items: []catalog.PrecheckItem{
			{ID: "source.binlog.format", Title: "binlog_format is ROW", Status: "failed", Message: "binlog_format is STATEMENT ✗",
				Fix: "set it", FixSQL: []string{"SET GLOBAL binlog_format = 'ROW';"}, Details: map[string]any{"value": "STATEMENT", "n": 2.0}, DurationMS: 1.5},
			{ID: "source.connection", Title: "connect", Status: "passed", Message: "ok"},
		},
	}
}

func requireSamePrecheck(t *testing.T, want, got *catalog.Precheck) {
	t.Helper()
	require.NotNil(t, got)
	require.Equal(t, want.JobID, got.JobID)
	require.Equal(t, want.SpecHash, got.SpecHash)
	requireTime(t, want.StartedAt, got.StartedAt)
	requireTime(t, want.FinishedAt, got.FinishedAt)
	require.Equal(t, want.Items, got.Items)
	require.Len(t, got.Skips, len(want.Skips))
	for i := range want.Skips {
		require.Equal(t, want.Skips[i].Item, got.Skips[i].Item)
		require.Equal(t, want.Skips[i].Reason, got.Skips[i].Reason)
		requireTime(t, want.Skips[i].At, got.Skips[i].At)
	}
}

func testPrecheckSaveAndGet(t *testing.T, h Harness) {
	ctx, s := t.Context(), h.Store
	createJob(t, s, "job-1", "orders")
	_, err := s.GetPrecheck(ctx, "job-1")
	requireCode(t, catalog.CodePrecheckNotFound, err)

	p := newPrecheck("job-1", "hash-a")
	require.NoError(t, s.SavePrecheck(ctx, p))
	requireTime(t, time.Date(2026, 1, 2, 2, 4, 5, 123456000, time.UTC), p.StartedAt) // UTC microseconds
	require.Empty(t, p.Skips)
	got, err := s.GetPrecheck(ctx, "job-1")
	require.NoError(t, err)
	requireSamePrecheck(t, p, got)

	// A later result replaces the earlier one.
	p2 := newPrecheck("job-1", "hash-b")
	p2.Items = p2.Items[1:]
	require.NoError(t, s.SavePrecheck(ctx, p2))
	got, err = s.GetPrecheck(ctx, "job-1")
	require.NoError(t, err)
	requireSamePrecheck(t, p2, got)
}

func testPrecheckSkips(t *testing.T, h Harness) {
	ctx, s := t.Context(), h.Store
	createJob(t, s, "job-1", "orders")
	_, err := s.UpdatePrecheck(ctx, "job-1", func(*catalog.Precheck) error { return nil })
	requireCode(t, catalog.CodePrecheckNotFound, err)

	require.NoError(t, s.SavePrecheck(ctx, newPrecheck("job-1", "hash-a")))
	at := time.Date(2026, 2, 3, 4, 5, 6, 789789789, time.FixedZone("Y", -7200))
	p, err := s.UpdatePrecheck(ctx, "job-1", func(p *catalog.Precheck) error {
		require.Len(t, p.Items, 2)
		p.Skips = append(p.Skips, catalog.PrecheckSkip{Item: "source.binlog.format", Reason: "statement is fine here ✓", At: at})
		return nil
	})
	require.NoError(t, err)
	require.Len(t, p.Skips, 1)
	requireTime(t, at.Truncate(time.Microsecond), p.Skips[0].At)
	got, err := s.GetPrecheck(ctx, "job-1")
	require.NoError(t, err)
	requireSamePrecheck(t, p, got)

	// An error from fn writes nothing.
	boom := errors.New("boom")
	_, err = s.UpdatePrecheck(ctx, "job-1", func(p *catalog.Precheck) error {
		p.Skips = nil
		return boom
	})
	require.ErrorIs(t, err, boom)
	got, err = s.GetPrecheck(ctx, "job-1")
	require.NoError(t, err)
	require.Len(t, got.Skips, 1)

	// A new result of the same configuration keeps the skips...
	again := newPrecheck("job-1", "hash-a")
	require.NoError(t, s.SavePrecheck(ctx, again))
	require.Len(t, again.Skips, 1)
	got, err = s.GetPrecheck(ctx, "job-1")
	require.NoError(t, err)
	require.Len(t, got.Skips, 1)
	require.Equal(t, "statement is fine here ✓", got.Skips[0].Reason)

	// ...a result of another configuration drops them.
	other := newPrecheck("job-1", "hash-b")
	require.NoError(t, s.SavePrecheck(ctx, other))
	require.Empty(t, other.Skips)
	got, err = s.GetPrecheck(ctx, "job-1")
	require.NoError(t, err)
	require.Empty(t, got.Skips)
}

func testPrecheckJobs(t *testing.T, h Harness) {
	ctx, s := t.Context(), h.Store
	requireCode(t, errs.JobNotFound, s.SavePrecheck(ctx, newPrecheck("nope", "h")))
	_, err := s.GetPrecheck(ctx, "nope")
	requireCode(t, errs.JobNotFound, err)
	_, err = s.UpdatePrecheck(ctx, "nope", func(*catalog.Precheck) error { return nil })
	requireCode(t, errs.JobNotFound, err)

	// Results belong to their job and go with it.
	createJob(t, s, "job-1", "orders")
	createJob(t, s, "job-2", "invoices")
	require.NoError(t, s.SavePrecheck(ctx, newPrecheck("job-1", "h1")))
	_, err = s.GetPrecheck(ctx, "job-2")
	requireCode(t, catalog.CodePrecheckNotFound, err)
	require.NoError(t, s.DeleteJob(ctx, "job-1"))
	_, err = s.GetPrecheck(ctx, "job-1")
	requireCode(t, errs.JobNotFound, err)
}
