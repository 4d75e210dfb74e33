package catalogtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/errs"
)

// compareTests are the suite's tests of catalog.CompareStore.
var compareTests = []struct {
	name string
	fn   func(t *testing.T, h Harness)
}{
	{"Compares", testCompares},
	{"UpdateCompare", testUpdateCompare},
	{"ListComparesNewestFirst", testListCompares},
	{"CompareRecords", testCompareRecords},
	{"ComparesGoWithTheirJob", testComparesCascade},
}

func newCompare(id, jobID string) *catalog.Compare {
	return &catalog.Compare{
		ID: id, JobID: jobID, Type: "content", Status: catalog.CompareScheduled,
		Params:  json.RawMessage(`{"type":"content","tables":["shop.orders"],"sample_percent":12.5}`),
		StartAt: time.Date(2031, 2, 3, 4, 5, 6, 789123456, time.FixedZone("X", 3600)),
	}
}

func requireSameCompare(t *testing.T, want, got *catalog.Compare) {
	t.Helper()
	require.NotNil(t, got)
	require.Equal(t, want.ID, got.ID)
	require.Equal(t, want.JobID, got.JobID)
	require.Equal(t, want.Type, got.Type)
	require.Equal(t, want.Status, got.Status)
	requireSameJSON(t, want.Params, got.Params)
	requireSameJSON(t, want.Report, got.Report)
	require.Equal(t, want.Error, got.Error)
	for _, p := range [][2]time.Time{{want.StartAt, got.StartAt}, {want.StartedAt, got.StartedAt}, {want.FinishedAt, got.FinishedAt}} {
		if p[0].IsZero() {
			require.True(t, p[1].IsZero(), "a zero time stays zero: %s", p[1])
			continue
		}
		requireTime(t, p[0].UTC().Truncate(time.Microsecond), p[1])
	}
	requireTime(t, want.CreatedAt, got.CreatedAt)
	requireTime(t, want.UpdatedAt, got.UpdatedAt)
}

func testCompares(t *testing.T, h Harness) {
	ctx, s := t.Context(), h.Store
	createJob(t, s, "job-1", "orders")
	c := newCompare("cmp-1", "job-1")
	before := time.Now()
	require.NoError(t, s.CreateCompare(ctx, c))
	requireStoreTime(t, before, c.CreatedAt)
	got, err := s.GetCompare(ctx, "cmp-1")
	require.NoError(t, err)
	requireSameCompare(t, c, got)

	bare := &catalog.Compare{ID: "cmp-2", JobID: "job-1", Type: "rows", Status: catalog.CompareRunning}
	require.NoError(t, s.CreateCompare(ctx, bare))
	got, err = s.GetCompare(ctx, "cmp-2")
	require.NoError(t, err)
	requireSameCompare(t, bare, got)

	_, err = s.GetCompare(ctx, "cmp-nope")
	requireCode(t, catalog.CompareNotFound, err)
	requireCode(t, errs.JobNotFound, s.CreateCompare(ctx, newCompare("cmp-3", "job-nope")))
}

func testUpdateCompare(t *testing.T, h Harness) {
	ctx, s := t.Context(), h.Store
	createJob(t, s, "job-1", "orders")
	createJob(t, s, "job-2", "invoices")
	c := newCompare("cmp-1", "job-1")
	require.NoError(t, s.CreateCompare(ctx, c))

	started := time.Now()
	got, err := s.UpdateCompare(ctx, "cmp-1", func(c *catalog.Compare) error {
		c.Status, c.StartedAt = catalog.CompareRunning, started
		c.ID, c.JobID, c.CreatedAt = "other", "job-2", time.Time{} // kept by the store
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, "cmp-1", got.ID)
	require.Equal(t, "job-1", got.JobID)
	requireTime(t, c.CreatedAt, got.CreatedAt)
	require.False(t, got.UpdatedAt.Before(c.UpdatedAt))

	_, err = s.UpdateCompare(ctx, "cmp-1", func(c *catalog.Compare) error {
		c.Status, c.FinishedAt = catalog.CompareDone, started.Add(time.Second)
		c.Report = json.RawMessage(`{"v":1,"status":"different","tables":[{"table":"shop.orders","missing":2}]}`)
		c.Error = &catalog.ErrorInfo{Code: "X", Message: "m", Fix: "f"}
		return nil
	})
	require.NoError(t, err)
	read, err := s.GetCompare(ctx, "cmp-1")
	require.NoError(t, err)
	require.Equal(t, catalog.CompareDone, read.Status)
	require.True(t, read.Ended())
	requireTime(t, started.UTC().Truncate(time.Microsecond), read.StartedAt)
	requireSameJSON(t, json.RawMessage(`{"v":1,"status":"different","tables":[{"table":"shop.orders","missing":2}]}`), read.Report)
	require.Equal(t, &catalog.ErrorInfo{Code: "X", Message: "m", Fix: "f"}, read.Error)

	boom := errors.New("boom")
	_, err = s.UpdateCompare(ctx, "cmp-1", func(c *catalog.Compare) error { c.Status = "x"; return boom })
	require.ErrorIs(t, err, boom)
	again, err := s.GetCompare(ctx, "cmp-1")
	require.NoError(t, err)
	requireSameCompare(t, read, again)

	_, err = s.UpdateCompare(ctx, "cmp-nope", func(*catalog.Compare) error { return nil })
	requireCode(t, catalog.CompareNotFound, err)
}

func testListCompares(t *testing.T, h Harness) {
	ctx, s := t.Context(), h.Store
	createJob(t, s, "job-1", "orders")
	createJob(t, s, "job-2", "invoices")
	list, err := s.ListCompares(ctx, "job-1")
	require.NoError(t, err)
	require.Empty(t, list)
	for i := range 3 {
		require.NoError(t, s.CreateCompare(ctx, newCompare(fmt.Sprintf("cmp-%d", i), "job-1")))
	}
	require.NoError(t, s.CreateCompare(ctx, newCompare("cmp-other", "job-2")))
	list, err = s.ListCompares(ctx, "job-1")
	require.NoError(t, err)
	require.Len(t, list, 3)
	for i, c := range list {
		require.Equal(t, fmt.Sprintf("cmp-%d", 2-i), c.ID)
	}
	_, err = s.ListCompares(ctx, "job-nope")
	requireCode(t, errs.JobNotFound, err)
}

func testCompareRecords(t *testing.T, h Harness) {
	ctx, s := t.Context(), h.Store
	createJob(t, s, "job-1", "orders")
	require.NoError(t, s.CreateCompare(ctx, newCompare("cmp-1", "job-1")))
	require.NoError(t, s.CreateCompare(ctx, newCompare("cmp-2", "job-1")))
	recs, err := s.ListCompareRecords(ctx, "cmp-1")
	require.NoError(t, err)
	require.Empty(t, recs)

	for _, r := range []catalog.CompareRecord{
		{Table: "shop.z", Chunk: 3, Data: json.RawMessage(`{"v":1,"n":"z3"}`)},
		{Table: "shop.a", Chunk: 10, Data: json.RawMessage(`{"v":1,"n":"a10"}`)},
		{Table: "shop.a", Chunk: -1, Data: json.RawMessage(`{"v":1,"plan":["é",null]}`)},
		{Table: "shop.a", Chunk: 2, Data: json.RawMessage(`{"v":1,"n":"first"}`)},
		{Table: "shop.a", Chunk: 2, Data: json.RawMessage(`{"v":1,"n":"replaced"}`)},
	} {
		require.NoError(t, s.SaveCompareRecord(ctx, "cmp-1", r))
	}
	require.NoError(t, s.SaveCompareRecord(ctx, "cmp-2", catalog.CompareRecord{Table: "shop.a", Chunk: 2, Data: json.RawMessage(`{}`)}))
	recs, err = s.ListCompareRecords(ctx, "cmp-1")
	require.NoError(t, err)
	require.Len(t, recs, 4)
	want := []struct {
		table string
		chunk int
		data  string
	}{{"shop.a", -1, `{"v":1,"plan":["é",null]}`}, {"shop.a", 2, `{"v":1,"n":"replaced"}`}, {"shop.a", 10, `{"v":1,"n":"a10"}`}, {"shop.z", 3, `{"v":1,"n":"z3"}`}}
	for i, w := range want {
		require.Equal(t, w.table, recs[i].Table)
		require.Equal(t, w.chunk, recs[i].Chunk)
		require.JSONEq(t, w.data, string(recs[i].Data))
	}
	requireCode(t, catalog.CompareNotFound, s.SaveCompareRecord(ctx, "cmp-nope", catalog.CompareRecord{Table: "t", Data: json.RawMessage(`{}`)}))
	_, err = s.ListCompareRecords(ctx, "cmp-nope")
	requireCode(t, catalog.CompareNotFound, err)
}

func testComparesCascade(t *testing.T, h Harness) {
	ctx, s := t.Context(), h.Store
	createJob(t, s, "doomed", "doomed")
	require.NoError(t, s.CreateCompare(ctx, newCompare("cmp-1", "doomed")))
	require.NoError(t, s.SaveCompareRecord(ctx, "cmp-1", catalog.CompareRecord{Table: "t", Chunk: 1, Data: json.RawMessage(`{}`)}))
	require.NoError(t, s.DeleteJob(ctx, "doomed"))
	_, err := s.GetCompare(ctx, "cmp-1")
	requireCode(t, catalog.CompareNotFound, err)

	createJob(t, s, "doomed", "doomed")
	list, err := s.ListCompares(ctx, "doomed")
	require.NoError(t, err)
	require.Empty(t, list)
	require.NoError(t, s.CreateCompare(ctx, newCompare("cmp-1", "doomed")))
	recs, err := s.ListCompareRecords(ctx, "cmp-1")
	require.NoError(t, err)
	require.Empty(t, recs, "records of a deleted compare do not come back under its id")
}
