package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/api"
	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/catalog/sqlite"
	"github.com/dtsorg/dts/internal/control"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/logging"
	"github.com/dtsorg/dts/internal/secret"
	"github.com/dtsorg/dts/internal/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

const testPassword = "hunter2-S3cret!"

// env is one API under test with its catalog and captured logs.
type env struct {
	t      *testing.T
	srv    *httptest.Server
	svc    *control.Service
	dbPath string
	logs   *syncBuffer
	token  string
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func setup(t *testing.T, token string) *env {
	t.Helper()
	logs := &syncBuffer{}
	log, err := logging.New(logs, "json", "debug")
	require.NoError(t, err)
	box, err := secret.NewBox(bytes.Repeat([]byte{7}, 32))
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "catalog.db")
	store, err := sqlite.Open(context.Background(), path, box, log)
	require.NoError(t, err)
	svc := control.New(store, log)
	srv := httptest.NewServer(api.New(svc, api.Options{Token: token, Version: "test", Logger: log}))
	t.Cleanup(func() {
		srv.Close()
		svc.Close()
		require.NoError(t, store.Close())
	})
	return &env{t: t, srv: srv, svc: svc, dbPath: path, logs: logs, token: token}
}

// call sends a request and decodes the JSON answer into a map.
func (e *env) call(method, path string, body any) (int, map[string]any, http.Header) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	require.NoError(e.t, err)
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	require.NotContains(e.t, string(data), testPassword, "a password leaked into an API answer")
	var out map[string]any
	if len(data) > 0 {
		require.NoError(e.t, json.Unmarshal(data, &out), "%s", data)
	}
	return resp.StatusCode, out, resp.Header
}

func specJSON(name string) map[string]any {
	return map[string]any{
		"name": name, "type": "migration",
		"source":  map[string]any{"engine": "mariadb", "host": "127.0.0.1", "port": 1, "user": "dts", "password": testPassword},
		"target":  map[string]any{"engine": "postgresql", "host": "127.0.0.1", "port": 2, "user": "dts", "password": testPassword, "database": "wh"},
		"objects": map[string]any{"shop": map[string]any{"all": true}},
	}
}

func (e *env) createJob(name string) string {
	e.t.Helper()
	status, body, hdr := e.call("POST", "/v1/jobs", specJSON(name))
	require.Equal(e.t, http.StatusCreated, status, "%v", body)
	require.Equal(e.t, "/v1/jobs/"+body["id"].(string), hdr.Get("Location"))
	return body["id"].(string)
}

func requireError(t *testing.T, status int, body map[string]any, wantStatus int, wantCode string) {
	t.Helper()
	require.Equal(t, wantStatus, status, "%v", body)
	require.Equal(t, wantCode, body["code"], "%v", body)
	require.NotEmpty(t, body["message"])
	require.NotEmpty(t, body["request_id"])
}

func TestJobCRUD(t *testing.T) {
	t.Parallel()
	e := setup(t, "")
	id := e.createJob("crud")

	status, body, _ := e.call("GET", "/v1/jobs/"+id, nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "created", body["state"])
	spec := body["spec"].(map[string]any)
	src := spec["source"].(map[string]any)
	require.Equal(t, true, src["password_set"])
	require.NotContains(t, src, "password")
	require.Equal(t, map[string]any{"structure": true, "full": true, "incremental": false}, spec["phases"], "defaults are explicit")

	status, body, _ = e.call("GET", "/v1/jobs/crud", nil)
	require.Equal(t, http.StatusOK, status, "a job is found by name too")
	require.Equal(t, id, body["id"])

	e.createJob("second")
	status, body, _ = e.call("GET", "/v1/jobs", nil)
	require.Equal(t, http.StatusOK, status)
	require.Len(t, body["jobs"], 2)

	updated := specJSON("crud")
	updated["parallelism"] = map[string]any{"min": 2, "max": 8}
	delete(updated["source"].(map[string]any), "password")
	status, body, _ = e.call("PUT", "/v1/jobs/"+id, updated)
	require.Equal(t, http.StatusOK, status, "%v", body)
	require.Equal(t, float64(8), body["spec"].(map[string]any)["parallelism"].(map[string]any)["max"])
	stored, err := e.svc.GetJob(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, testPassword, stored.Spec.Source.Password.Reveal(), "an omitted password keeps the stored one")

	status, _, _ = e.call("DELETE", "/v1/jobs/"+id, nil)
	require.Equal(t, http.StatusNoContent, status)
	status, body, _ = e.call("GET", "/v1/jobs/"+id, nil)
	requireError(t, status, body, http.StatusNotFound, "JobNotFound")
}

func TestCreateRejectsBadInputWithFieldPaths(t *testing.T) {
	t.Parallel()
	e := setup(t, "")
	bad := specJSON("Bad Name")
	bad["objects"] = map[string]any{"crm_*": map[string]any{"tables": map[string]any{"customers": map[string]any{"filter": " ", "colums": 1}}}}
	status, body, _ := e.call("POST", "/v1/jobs", bad)
	requireError(t, status, body, http.StatusBadRequest, "InvalidParameter")
	require.Equal(t, []any{map[string]any{"path": "objects.crm_*.tables.customers.colums", "message": "unknown field; allowed here: add_columns, columns, dml, filter, name"}}, body["fields"])

	delete(bad["objects"].(map[string]any)["crm_*"].(map[string]any)["tables"].(map[string]any)["customers"].(map[string]any), "colums")
	status, body, _ = e.call("POST", "/v1/jobs", bad)
	requireError(t, status, body, http.StatusBadRequest, "InvalidParameter")
	var paths []string
	for _, f := range body["fields"].([]any) {
		paths = append(paths, f.(map[string]any)["path"].(string))
	}
	require.Equal(t, []string{"name", "objects.crm_*.tables.customers.filter"}, paths)

	for name, doc := range map[string]string{
		"not json":      "name: x",
		"duplicate key": `{"name": "a", "name": "b"}`,
		"env reference": `{"name": "a", "source": {"port": "${env:HOME}"}}`,
		"huge":          `{"name": "` + strings.Repeat("x", job.MaxDocumentBytes) + `"}`,
	} {
		status, body, _ := e.call("POST", "/v1/jobs", doc)
		require.GreaterOrEqual(t, status, 400, name)
		require.Less(t, status, 500, name)
		require.NotEmpty(t, body["code"], name)
	}

	e.createJob("dup")
	status, body, _ = e.call("POST", "/v1/jobs", specJSON("dup"))
	requireError(t, status, body, http.StatusConflict, "JobAlreadyExists")
	status, body, _ = e.call("GET", "/v1/nope", nil)
	requireError(t, status, body, http.StatusNotFound, "NotFound")
}

func TestActionsFollowTheLifecycle(t *testing.T) {
	t.Parallel()
	e := setup(t, "")
	id := e.createJob("life")

	status, body, _ := e.call("POST", "/v1/jobs/"+id+"/action", map[string]any{"action": "stop"})
	requireError(t, status, body, http.StatusConflict, "OperationDenied.JobState")
	require.Contains(t, body["message"], "while the job is created")
	require.Equal(t, "created", body["details"].(map[string]any)["state"])

	status, body, _ = e.call("POST", "/v1/jobs/"+id+"/action", map[string]any{"action": "launch"})
	requireError(t, status, body, http.StatusBadRequest, "InvalidParameter")

	status, body, _ = e.call("POST", "/v1/jobs/"+id+"/action", map[string]any{"action": "start"}) // no runner here
	requireError(t, status, body, http.StatusNotImplemented, "OperationDenied.NotAvailable")
	status, body, _ = e.call("GET", "/v1/jobs/"+id, nil)
	require.Equal(t, "created", body["state"], "a refused action changes nothing")

	status, body, _ = e.call("POST", "/v1/jobs/"+id+"/action", map[string]any{"action": "test_connection", "params": map[string]any{"endpoint": "sideways"}})
	requireError(t, status, body, http.StatusBadRequest, "InvalidParameter")
	require.Equal(t, "params.endpoint", body["fields"].([]any)[0].(map[string]any)["path"])

	status, body, _ = e.call("POST", "/v1/jobs/missing/action", map[string]any{"action": "start"})
	requireError(t, status, body, http.StatusNotFound, "JobNotFound")
}

func TestLongActionsAnswerWithAnOperation(t *testing.T) {
	t.Parallel()
	e := setup(t, "")
	release := make(chan struct{})
	e.svc.Handle(job.ActionPrecheck, control.Handler{Async: true, Run: func(ctx context.Context, j *catalog.Job, _ json.RawMessage) (any, error) {
		<-release
		_, err := e.svc.Transition(ctx, j.ID, job.EventPrecheckPassed, "all items passed", nil)
		return map[string]int{"items": 3}, err
	}})
	id := e.createJob("ops")

	status, body, hdr := e.call("POST", "/v1/jobs/"+id+"/action", map[string]any{"action": "precheck"})
	require.Equal(t, http.StatusAccepted, status, "%v", body)
	op := body["operation"].(map[string]any)
	require.Equal(t, "running", op["status"])
	require.Equal(t, "prechecking", body["state"])
	require.Equal(t, "/v1/operations/"+op["id"].(string), hdr.Get("Location"))

	status, body, _ = e.call("POST", "/v1/jobs/"+id+"/action", map[string]any{"action": "precheck"})
	requireError(t, status, body, http.StatusConflict, "OperationDenied.JobState")
	status, body, _ = e.call("DELETE", "/v1/jobs/"+id, nil)
	requireError(t, status, body, http.StatusConflict, "OperationDenied.JobState")
	require.Contains(t, body["fix"], "force")

	close(release)
	require.Eventually(t, func() bool {
		_, body, _ := e.call("GET", "/v1/operations/"+op["id"].(string), nil)
		return body["status"] == "succeeded"
	}, 10*time.Second, 20*time.Millisecond)
	_, body, _ = e.call("GET", "/v1/operations/"+op["id"].(string), nil)
	require.Equal(t, map[string]any{"items": float64(3)}, body["result"])
	_, body, _ = e.call("GET", "/v1/jobs/"+id, nil)
	require.Equal(t, "precheck_passed", body["state"])

	status, body, _ = e.call("GET", "/v1/jobs/"+id+"/events", nil)
	require.Equal(t, http.StatusOK, status)
	var types []string
	for _, ev := range body["events"].([]any) {
		types = append(types, ev.(map[string]any)["type"].(string))
	}
	require.Equal(t, []string{"job_created", "state_changed", "state_changed"}, types)
	after := int64(body["next_after"].(float64))
	_, body, _ = e.call("GET", "/v1/jobs/"+id+"/events?after="+itoa(after), nil)
	require.Empty(t, body["events"])
	status, body, _ = e.call("GET", "/v1/jobs/"+id+"/events?limit=0", nil)
	requireError(t, status, body, http.StatusBadRequest, "InvalidParameter")

	status, body, _ = e.call("GET", "/v1/operations/op-missing", nil)
	requireError(t, status, body, http.StatusNotFound, "OperationNotFound")
}

func TestUpdateRefusedOnceStarted(t *testing.T) {
	t.Parallel()
	e := setup(t, "")
	id := e.createJob("started")
	_, err := e.svc.Store().UpdateJob(context.Background(), id, func(j *catalog.Job) error {
		j.State = job.StateRunning
		return nil
	})
	require.NoError(t, err)
	status, body, _ := e.call("PUT", "/v1/jobs/"+id, specJSON("started"))
	requireError(t, status, body, http.StatusConflict, "OperationDenied.JobState")
	require.Contains(t, body["message"], "while the job is running")

	status, body, _ = e.call("DELETE", "/v1/jobs/"+id, nil)
	requireError(t, status, body, http.StatusConflict, "OperationDenied.JobState")
	status, _, _ = e.call("DELETE", "/v1/jobs/"+id+"?force=true", nil)
	require.Equal(t, http.StatusNoContent, status)
}

func TestTokenIsRequiredOnEveryRequest(t *testing.T) {
	t.Parallel()
	e := setup(t, "tok-123")
	for _, path := range []string{"/healthz", "/v1/jobs", "/v1/openapi.yaml", "/metrics"} {
		for _, auth := range []string{"", "Bearer wrong", "tok-123", "Basic dG9rLTEyMw=="} {
			req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			var body map[string]any
			require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
			resp.Body.Close()
			requireError(t, resp.StatusCode, body, http.StatusUnauthorized, "Unauthorized")
		}
	}
	status, body, _ := e.call("GET", "/healthz", nil)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "ok", body["status"])
}

func TestRequestIDsAndNoSecretsInLogsOrCatalog(t *testing.T) {
	t.Parallel()
	e := setup(t, "")
	id := e.createJob("secrets")
	req, _ := http.NewRequest("GET", e.srv.URL+"/v1/jobs/"+id, nil)
	req.Header.Set("X-Request-Id", "trace-42")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, "trace-42", resp.Header.Get("X-Request-Id"))
	require.Contains(t, e.logs.String(), `"request_id":"trace-42"`)
	for _, line := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
		if strings.Contains(line, `"msg":"request"`) {
			require.Contains(t, line, `"request_id":"`, "every request's log line carries its id")
		}
	}

	bad := specJSON("secrets2")
	bad["type"] = "nope"
	e.call("POST", "/v1/jobs", bad)
	e.call("POST", "/v1/jobs/"+id+"/action", map[string]any{"action": "test_connection"})
	require.NotContains(t, e.logs.String(), testPassword)

	for _, suffix := range []string{"", "-wal"} {
		data, err := os.ReadFile(e.dbPath + suffix)
		if err == nil {
			require.NotContains(t, string(data), testPassword, "catalog%s holds a plaintext password", suffix)
		}
	}
}

func TestConnectionTests(t *testing.T) {
	t.Parallel()
	e := setup(t, "")
	my, pg := testenv.MariaDB(t), testenv.Postgres(t)
	good := pg.Endpoint(pg.NewDatabase(t))
	status, body, _ := e.call("POST", "/v1/connections/test", good)
	require.Equal(t, http.StatusOK, status, "%v", body)
	require.Equal(t, true, body["reachable"])
	require.Equal(t, true, body["authenticated"])
	require.NotEmpty(t, body["server_version"])
	require.Nil(t, body["error"])

	wrong := my.Endpoint("")
	wrong.Password = testPassword
	status, body, _ = e.call("POST", "/v1/connections/test", wrong)
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, true, body["reachable"])
	require.Equal(t, false, body["authenticated"])
	require.Equal(t, "Connection.AuthFailed", body["error"].(map[string]any)["code"])

	status, body, _ = e.call("POST", "/v1/connections/test", map[string]any{"engine": "mysql", "host": "db", "port": 0})
	requireError(t, status, body, http.StatusBadRequest, "InvalidParameter")

	// Through a job: both ends at once.
	spec := specJSON("conn")
	spec["source"] = my.Endpoint(my.NewDatabase(t))
	target := pg.Endpoint(pg.NewDatabase(t))
	target.Database = "no_such_db"
	spec["target"] = target
	status, body, _ = e.call("POST", "/v1/jobs", spec)
	require.Equal(t, http.StatusCreated, status, "%v", body)
	status, body, _ = e.call("POST", "/v1/jobs/conn/action", map[string]any{"action": "test_connection"})
	require.Equal(t, http.StatusOK, status, "%v", body)
	res := body["result"].(map[string]any)
	require.Equal(t, true, res["source"].(map[string]any)["authenticated"])
	require.Equal(t, "Connection.DatabaseNotFound", res["target"].(map[string]any)["error"].(map[string]any)["code"])
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
