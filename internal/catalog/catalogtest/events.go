package catalogtest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/catalog"
)

func testEvents(t *testing.T, h Harness) {
	ctx, s := t.Context(), h.Store
	createJob(t, s, "job-1", "orders")

	before := time.Now()
	stamped := &catalog.Event{JobID: "job-1", Level: catalog.LevelInfo, Type: "state_changed", Message: "started"}
	require.NoError(t, s.AppendEvent(ctx, stamped))
	require.NotZero(t, stamped.ID)
	requireStoreTime(t, before, stamped.At)

	// A given time is kept, as UTC microseconds.
	at := time.Date(2025, 3, 4, 5, 6, 7, 123456789, time.FixedZone("X", 5*3600+1800))
	given := &catalog.Event{
		JobID: "job-1", At: at, Level: catalog.LevelWarning, Type: "precheck_skipped", Message: "skipped ✓",
		Details: map[string]any{"items": []any{"binlog_format"}, "count": 2.0, "nested": map[string]any{"b": true}},
	}
	require.NoError(t, s.AppendEvent(ctx, given))
	requireTime(t, at.Truncate(time.Microsecond), given.At)
	require.Greater(t, given.ID, stamped.ID)

	events, err := s.ListEvents(ctx, "job-1", 0, 0)
	require.NoError(t, err)
	require.Len(t, events, 2)
	requireSameEvent(t, stamped, events[0])
	requireSameEvent(t, given, events[1])
}

func requireSameEvent(t *testing.T, want *catalog.Event, got catalog.Event) {
	t.Helper()
	require.Equal(t, want.ID, got.ID)
	require.Equal(t, want.JobID, got.JobID)
	requireTime(t, want.At, got.At)
	require.Equal(t, want.Level, got.Level)
	require.Equal(t, want.Type, got.Type)
	require.Equal(t, want.Message, got.Message)
	if want.Details == nil {
		require.Nil(t, got.Details)
		return
	}
	w, err := json.Marshal(want.Details)
	require.NoError(t, err)
	g, err := json.Marshal(got.Details)
	require.NoError(t, err)
	require.JSONEq(t, string(w), string(g))
}

func testEventPaging(t *testing.T, h Harness) {
	ctx, s := t.Context(), h.Store
	createJob(t, s, "job-1", "orders")
	createJob(t, s, "job-2", "invoices")
	var ids []int64
	for i := range 5 {
		e := &catalog.Event{JobID: "job-1", Level: catalog.LevelInfo, Type: "tick", Message: fmt.Sprint(i)}
		require.NoError(t, s.AppendEvent(ctx, e))
		ids = append(ids, e.ID)
		// Another job's events interleave and must not show.
		require.NoError(t, s.AppendEvent(ctx, &catalog.Event{JobID: "job-2", Level: catalog.LevelInfo, Type: "other"}))
	}
	list := func(after int64, limit int) []int64 {
		t.Helper()
		events, err := s.ListEvents(ctx, "job-1", after, limit)
		require.NoError(t, err)
		got := []int64{}
		for _, e := range events {
			require.Equal(t, "job-1", e.JobID)
			got = append(got, e.ID)
		}
		return got
	}
	require.Equal(t, ids, list(0, 0), "limit 0 is no limit")
	require.Equal(t, ids, list(0, 100))
	require.Equal(t, ids[:2], list(0, 2))
	require.Equal(t, ids[2:4], list(ids[1], 2))
	require.Equal(t, ids[3:], list(ids[2], 0))
	require.Empty(t, list(ids[4], 10), "nothing after the newest")
}

// testEventIDsNotReused: a client polling with afterID must never miss an
// event because a new one got an id it had already passed.
func testEventIDsNotReused(t *testing.T, h Harness) {
	ctx, s := t.Context(), h.Store
	createJob(t, s, "kept", "kept")
	createJob(t, s, "doomed", "doomed")
	require.NoError(t, s.AppendEvent(ctx, &catalog.Event{JobID: "kept", Level: catalog.LevelInfo, Type: "a"}))
	newest := &catalog.Event{JobID: "doomed", Level: catalog.LevelInfo, Type: "b"}
	require.NoError(t, s.AppendEvent(ctx, newest))
	require.NoError(t, s.DeleteJob(ctx, "doomed"))

	next := &catalog.Event{JobID: "kept", Level: catalog.LevelInfo, Type: "c"}
	require.NoError(t, s.AppendEvent(ctx, next))
	require.Greater(t, next.ID, newest.ID)
}
