package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector/engines"
	"github.com/dtsorg/dts/internal/logging"
	"github.com/dtsorg/dts/internal/runner"
	"github.com/dtsorg/dts/internal/testenv"
)

// withRunner registers the runner's actions (start, stop...) on the env's service.
func (e *env) withRunner() {
	log, err := logging.New(e.logs, "json", "debug")
	require.NoError(e.t, err)
	m := runner.NewManager(e.svc, engines.Engines{}, log)
	e.t.Cleanup(m.Close)
}

// waitOp polls an operation until it is done and returns it.
func (e *env) waitOp(id string) map[string]any {
	e.t.Helper()
	var op map[string]any
	require.Eventually(e.t, func() bool {
		_, op, _ = e.call("GET", "/v1/operations/"+id, nil)
		return op["status"] != "running"
	}, 60*time.Second, 20*time.Millisecond)
	return op
}

// act applies an action and, for a long one, waits for its operation.
func (e *env) act(id, action string, params map[string]any) (int, map[string]any) {
	e.t.Helper()
	body := map[string]any{"action": action}
	if params != nil {
		body["params"] = params
	}
	status, resp, _ := e.call("POST", "/v1/jobs/"+id+"/action", body)
	if status == http.StatusAccepted {
		return status, e.waitOp(resp["operation"].(map[string]any)["id"].(string))
	}
	return status, resp
}

// realJob is a migration between the harness's servers: MariaDB table a
// (two rows) to a PostgreSQL schema.
func realJob(t *testing.T, name string) map[string]any {
	my, pg := testenv.MariaDB(t), testenv.Postgres(t)
	src, dst := my.NewDatabase(t), pg.NewDatabase(t)
	my.Exec(t, src, "CREATE TABLE a (id INT PRIMARY KEY, email TEXT)", "INSERT INTO a VALUES (1, 'x@example.com'), (2, NULL)")
	return map[string]any{
		"name": name, "type": "migration",
		"source":  map[string]any{"engine": "mariadb", "host": my.Host, "port": my.Port, "user": my.User, "password": my.Password, "tls": map[string]any{"mode": "disable"}},
		"target":  map[string]any{"engine": "postgresql", "host": pg.Host, "port": pg.Port, "user": pg.User, "password": pg.Password, "database": dst, "tls": map[string]any{"mode": "disable"}},
		"objects": map[string]any{src: map[string]any{"all": true, "name": "copy"}},
	}
}

// TestPrecheckAction: precheck runs in an operation, moves the job to
// precheck_passed and leaves its items at GET /v1/jobs/{id}/precheck.
func TestPrecheckAction(t *testing.T) {
	t.Parallel()
	e := setup(t, "")
	status, body, _ := e.call("POST", "/v1/jobs", realJob(t, "checked"))
	require.Equal(t, http.StatusCreated, status, "%v", body)
	id := body["id"].(string)

	status, body, _ = e.call("GET", "/v1/jobs/"+id+"/precheck", nil)
	requireError(t, status, body, http.StatusNotFound, "PrecheckNotFound")

	status, op := e.act(id, "precheck", nil)
	require.Equal(t, http.StatusAccepted, status)
	require.Equal(t, "succeeded", op["status"], "%v", op)
	result := op["result"].(map[string]any)
	require.Equal(t, "passed", result["status"], "%v", result)
	_, body, _ = e.call("GET", "/v1/jobs/"+id, nil)
	require.Equal(t, "precheck_passed", body["state"])

	status, body, _ = e.call("GET", "/v1/jobs/checked/precheck", nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, true, body["current"])
	require.Equal(t, "passed", body["status"])
	items := body["items"].([]any)
	require.NotEmpty(t, items)
	first := items[0].(map[string]any)
	require.Equal(t, "source.connection", first["id"])
	require.Equal(t, "passed", first["status"])

	// A new configuration makes the result stale.
	updated := realJob(t, "checked")
	status, body, _ = e.call("PUT", "/v1/jobs/"+id, updated)
	require.Equal(t, http.StatusOK, status, "%v", body)
	_, body, _ = e.call("GET", "/v1/jobs/"+id+"/precheck", nil)
	require.Equal(t, false, body["current"])
}

// TestStartRefusedUntilSkipped: start runs the precheck; a failed item
// refuses the start with the item's id; skip_precheck with a reason lets
// the job start (without running the precheck again) and says so in the
// job's events; the skipped item shows as skipped. Skipping never makes a
// rule silently ignored: the job itself refuses the rule it cannot apply.
func TestStartRefusedUntilSkipped(t *testing.T) {
	t.Parallel()
	e := setup(t, "")
	e.withRunner()
	spec := realJob(t, "renamed")
	for _, rule := range spec["objects"].(map[string]any) {
		rule.(map[string]any)["tables"] = map[string]any{"a": map[string]any{"columns": map[string]any{"id": map[string]any{"exclude": true}}}}
	}
	status, body, _ := e.call("POST", "/v1/jobs", spec)
	require.Equal(t, http.StatusCreated, status, "%v", body)
	id := body["id"].(string)

	status, op := e.act(id, "start", nil)
	require.Equal(t, http.StatusAccepted, status)
	require.Equal(t, "failed", op["status"], "%v", op)
	opErr := op["error"].(map[string]any)
	require.Equal(t, "OperationDenied.PrecheckFailed", opErr["code"])
	require.Contains(t, opErr["message"], "objects.column_rules")
	require.Contains(t, opErr["fix"], "skip_precheck")
	_, body, _ = e.call("GET", "/v1/jobs/"+id, nil)
	require.Equal(t, "precheck_failed", body["state"])

	_, pc, _ := e.call("GET", "/v1/jobs/"+id+"/precheck", nil)
	require.Equal(t, "failed", pc["status"])
	require.Equal(t, []any{"objects.column_rules"}, pc["failing"])
	startedAt := pc["started_at"]

	// start is refused in precheck_failed; skip_precheck checks what it is given.
	status, body = e.act(id, "start", nil)
	requireError(t, status, body, http.StatusConflict, "OperationDenied.JobState")
	for _, bad := range []struct {
		params map[string]any
		path   string
	}{
		{map[string]any{"items": []string{"objects.column_rules"}}, "params.reason"},
		{map[string]any{"items": []string{"objects.column_rules"}, "reason": "  "}, "params.reason"},
		{map[string]any{"reason": "why not"}, "params.items"},
		{map[string]any{"items": []string{"no.such.item"}, "reason": "why not"}, "params.items[0]"},
		{map[string]any{"items": []string{"source.connection"}, "reason": "it passed"}, "params.items[0]"},
	} {
		status, body = e.act(id, "skip_precheck", bad.params)
		requireError(t, status, body, http.StatusBadRequest, "InvalidParameter")
		require.Equal(t, bad.path, body["fields"].([]any)[0].(map[string]any)["path"], "%v", body)
	}

	status, body = e.act(id, "skip_precheck", map[string]any{"items": []string{"objects.column_rules"}, "reason": "the id stays on the target anyway"})
	require.Equal(t, http.StatusOK, status, "%v", body)
	result := body["result"].(map[string]any)
	require.Equal(t, "precheck_passed", result["state"])
	require.Equal(t, []any{"objects.column_rules"}, result["skipped"])

	_, pc, _ = e.call("GET", "/v1/jobs/"+id+"/precheck", nil)
	require.NotEqual(t, "failed", pc["status"])
	for _, raw := range pc["items"].([]any) {
		it := raw.(map[string]any)
		if it["id"] == "objects.column_rules" {
			require.Equal(t, "skipped", it["status"], "a skipped item shows as skipped, not passed")
			skip := it["skipped"].(map[string]any)
			require.Equal(t, "failed", skip["status"])
			require.Contains(t, skip["reason"], "stays on the target")
		}
	}
	_, events, _ := e.call("GET", "/v1/jobs/"+id+"/events", nil)
	var skipped map[string]any
	for _, raw := range events["events"].([]any) {
		if ev := raw.(map[string]any); ev["type"] == "precheck_skipped" {
			skipped = ev
		}
	}
	require.NotNil(t, skipped, "%v", events)
	require.Equal(t, "warning", skipped["level"])
	require.Contains(t, skipped["message"], "stays on the target")

	status, op = e.act(id, "start", nil)
	require.Equal(t, http.StatusAccepted, status)
	require.Equal(t, "succeeded", op["status"], "%v", op)
	_, pc, _ = e.call("GET", "/v1/jobs/"+id+"/precheck", nil)
	require.Equal(t, startedAt, pc["started_at"], "passed for this configuration: start did not run it again")
	var jobErr map[string]any
	require.Eventually(t, func() bool {
		_, body, _ := e.call("GET", "/v1/jobs/"+id, nil)
		require.NotEqual(t, "completed", body["state"], "an excluded key column must not be ignored")
		jobErr, _ = body["error"].(map[string]any)
		return body["state"] == "failed"
	}, 60*time.Second, 50*time.Millisecond)
	require.Equal(t, "InvalidParameter", jobErr["code"], "%v", jobErr)
	require.Contains(t, jobErr["message"], "a key column cannot be excluded")

	// After a reset the job is created again: start prechecks anew (the
	// skip made for this configuration still holds).
	_, op = e.act(id, "reset", nil)
	require.Equal(t, "succeeded", op["status"], "%v", op)
	_, op = e.act(id, "start", nil)
	require.Equal(t, "succeeded", op["status"], "%v", op)
	_, pc, _ = e.call("GET", "/v1/jobs/"+id+"/precheck", nil)
	require.NotEqual(t, startedAt, pc["started_at"], "start from created ran the precheck")
	require.Equal(t, float64(1), pc["skipped"])
}

// TestSkipNeedsCurrentResult: skips belong to the configuration that was
// checked; after a change the precheck must run again.
func TestSkipNeedsCurrentResult(t *testing.T) {
	t.Parallel()
	e := setup(t, "")
	spec := realJob(t, "stale")
	for _, rule := range spec["objects"].(map[string]any) {
		rule.(map[string]any)["tables"] = map[string]any{"a": map[string]any{"filter": "nope > 1"}}
	}
	status, body, _ := e.call("POST", "/v1/jobs", spec)
	require.Equal(t, http.StatusCreated, status, "%v", body)
	id := body["id"].(string)

	status, body = e.act(id, "skip_precheck", map[string]any{"items": []string{"objects.filters"}, "reason": "r"})
	requireError(t, status, body, http.StatusNotFound, "PrecheckNotFound")

	_, op := e.act(id, "precheck", nil)
	require.Equal(t, "succeeded", op["status"], "%v", op)
	require.Equal(t, "failed", op["result"].(map[string]any)["status"])
	_, body, _ = e.call("GET", "/v1/jobs/"+id, nil)
	require.Equal(t, "precheck_failed", body["state"])

	spec["parallelism"] = map[string]any{"max": 2}
	status, body, _ = e.call("PUT", "/v1/jobs/"+id, spec)
	require.Equal(t, http.StatusOK, status, "%v", body)
	status, body = e.act(id, "skip_precheck", map[string]any{"items": []string{"objects.filters"}, "reason": "r"})
	requireError(t, status, body, http.StatusConflict, "OperationDenied")
	require.Contains(t, body["fix"], "run the precheck again")
}
