package api_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/testenv"
)

// add_objects extends a running sync job: the added table is copied and
// then followed, the job keeps running; a request that would change what
// the job already moves is refused at the field, and a job that has not
// started cannot be extended (it is configured with PUT).
func TestAddObjectsToRunningSyncJob(t *testing.T) {
	t.Parallel()
	e := setup(t, "")
	e.withRunner()
	my, pg := testenv.MariaDB(t), testenv.Postgres(t)
	src, dst := my.NewDatabase(t), pg.NewDatabase(t)
	my.Exec(t, src, "CREATE TABLE a (id INT PRIMARY KEY)", "CREATE TABLE b (id INT PRIMARY KEY)", "INSERT INTO a VALUES (1)", "INSERT INTO b VALUES (1), (2)")
	spec := map[string]any{
		"name": "extended", "type": "sync",
		"source":  map[string]any{"engine": "mariadb", "host": my.Host, "port": my.Port, "user": my.User, "password": my.Password, "tls": map[string]any{"mode": "disable"}},
		"target":  map[string]any{"engine": "postgresql", "host": pg.Host, "port": pg.Port, "user": pg.User, "password": pg.Password, "database": dst, "tls": map[string]any{"mode": "disable"}},
		"objects": map[string]any{src: map[string]any{"name": "copy", "tables": map[string]any{"a": map[string]any{}}}},
	}
	status, body, _ := e.call("POST", "/v1/jobs", spec)
	require.Equal(t, http.StatusCreated, status, "%v", body)
	id := body["id"].(string)

	add := map[string]any{"objects": map[string]any{src: map[string]any{"tables": map[string]any{"b": map[string]any{}}}}}
	status, body = e.act(id, "add_objects", add)
	requireError(t, status, body, http.StatusConflict, "OperationDenied.JobState")

	_, op := e.act(id, "start", nil)
	require.Equal(t, "succeeded", op["status"], "%v", op)
	target := pg.DB(t, dst)
	count := func(table string) int {
		var n int
		if err := target.QueryRow(`SELECT count(*) FROM copy.` + table).Scan(&n); err != nil {
			return -1
		}
		return n
	}
	require.Eventually(t, func() bool { return count("a") == 1 }, time.Minute, 50*time.Millisecond)

	status, body = e.act(id, "add_objects", map[string]any{"objects": map[string]any{src: map[string]any{"tables": map[string]any{"a": map[string]any{"filter": "id > 1"}}}}})
	requireError(t, status, body, http.StatusBadRequest, "InvalidParameter")
	require.Equal(t, "params.objects."+src+".tables.a", body["fields"].([]any)[0].(map[string]any)["path"])

	status, body = e.act(id, "add_objects", add)
	require.Equal(t, http.StatusOK, status, "%v", body)
	require.Equal(t, "running", body["result"].(map[string]any)["state"])
	my.Exec(t, src, "INSERT INTO b VALUES (3)", "INSERT INTO a VALUES (2)")
	require.Eventually(t, func() bool { return count("b") == 3 && count("a") == 2 }, time.Minute, 50*time.Millisecond)
	_, body, _ = e.call("GET", "/v1/jobs/"+id, nil)
	require.Equal(t, "running", body["state"], "%v", body["error"])
	require.Contains(t, body["spec"].(map[string]any)["objects"].(map[string]any)[src].(map[string]any)["tables"], "b")
}
