package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/catalog"
)

// TestCompareRoutes answers a job's compares, one compare with its report,
// and its repair script, from the catalog.
func TestCompareRoutes(t *testing.T) {
	t.Parallel()
	e := setup(t, "")
	id := e.createJob("cmp")
	other := e.createJob("other")
	ctx := context.Background()
	store := e.svc.Store()
	report := `{"v":1,"type":"content","status":"different","tables":[{"table":"shop.t","target":"shop.t","status":"different","missing":1}],` +
		`"repair":{"dialect":"postgresql","statements":1,"inline":["DELETE FROM \"shop\".\"t\" WHERE \"id\" = '1'::integer"]}}`
	done := &catalog.Compare{ID: "cmp-done", JobID: id, Type: "content", Status: catalog.CompareDone,
		Params: json.RawMessage(`{"type":"content"}`), Report: json.RawMessage(report), FinishedAt: time.Now()}
	require.NoError(t, store.CreateCompare(ctx, done))
	require.NoError(t, store.SaveCompareRecord(ctx, done.ID, catalog.CompareRecord{Table: "shop.t", Chunk: -2,
		Data: json.RawMessage(`{"v":1,"report":{"table":"shop.t"},"repair":["DELETE FROM \"shop\".\"t\" WHERE \"id\" = '1'::integer"]}`)}))
	require.NoError(t, store.CreateCompare(ctx, &catalog.Compare{ID: "cmp-later", JobID: id, Type: "rows", Status: catalog.CompareScheduled,
		StartAt: time.Now().Add(time.Hour)}))
	require.NoError(t, store.CreateCompare(ctx, &catalog.Compare{ID: "cmp-other", JobID: other, Type: "rows", Status: catalog.CompareRunning}))

	status, body, _ := e.call("GET", "/v1/jobs/"+id+"/compares", nil)
	require.Equal(t, http.StatusOK, status, "%v", body)
	list := body["compares"].([]any)
	require.Len(t, list, 2)
	first, second := list[0].(map[string]any), list[1].(map[string]any)
	require.Equal(t, "cmp-later", first["id"])
	require.Equal(t, "scheduled", first["status"])
	require.NotEmpty(t, first["start_at"])
	require.Equal(t, "cmp-done", second["id"])
	require.Equal(t, "different", second["result"])
	require.NotContains(t, second, "report", "lists leave reports out")
	require.Equal(t, "/v1/jobs/"+id+"/compares/cmp-done/repair.sql", second["repair_url"])

	status, body, _ = e.call("GET", "/v1/jobs/cmp/compares/cmp-done", nil)
	require.Equal(t, http.StatusOK, status, "%v", body)
	require.Equal(t, "different", body["report"].(map[string]any)["status"])

	resp, err := http.Get(e.srv.URL + "/v1/jobs/" + id + "/compares/cmp-done/repair.sql")
	require.NoError(t, err)
	sqlText, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "application/sql; charset=utf-8", resp.Header.Get("Content-Type"))
	require.Contains(t, string(sqlText), "SET TimeZone = 'UTC';\n")
	require.Contains(t, string(sqlText), `DELETE FROM "shop"."t" WHERE "id" = '1'::integer;`+"\n")

	status, body, _ = e.call("GET", "/v1/jobs/"+id+"/compares/cmp-other", nil)
	requireError(t, status, body, http.StatusNotFound, catalog.CompareNotFound)
	status, body, _ = e.call("GET", "/v1/jobs/"+id+"/compares/cmp-nope", nil)
	requireError(t, status, body, http.StatusNotFound, catalog.CompareNotFound)
	status, body, _ = e.call("GET", "/v1/jobs/nope/compares", nil)
	requireError(t, status, body, http.StatusNotFound, "JobNotFound")
}
