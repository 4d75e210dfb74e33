package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/testenv"
)

// A schema change the target cannot take pauses the job with the statement
// and its position in the job's error and events. Resume retries it (after
// a fix by hand, the target's catalog shows what is done); skip_ddl, with
// the position shown, records it as applied without running it and goes on.
func TestSchemaChangeTheTargetCannotTakePauses(t *testing.T) {
	t.Parallel()
	e := setup(t, "")
	e.withSyncRunner()
	my := testenv.MariaDB(t)
	srcDB, dstDB := my.NewDatabase(t), my.NewDatabase(t)
	my.Exec(t, srcDB, "CREATE TABLE t (id INT PRIMARY KEY, a INT, c INT)", "INSERT INTO t VALUES (1, 10, 100)")
	src, dst := my.DB(t, srcDB), my.DB(t, dstDB)
	status, body, _ := e.call("POST", "/v1/jobs", map[string]any{
		"name": "ddl-pause", "type": "sync", "source": endpointJSON(my, ""), "target": endpointJSON(my, ""),
		"objects": map[string]any{srcDB: map[string]any{"all": true, "name": dstDB}},
	})
	require.Equal(t, http.StatusCreated, status, "%v", body)
	id := body["id"].(string)
	_, op := e.act(id, "start", nil)
	require.Equal(t, "succeeded", op["status"], "%v", op)
	e.waitJob(id, "followed its source", following)

	status, body = e.act(id, "skip_ddl", nil)
	requireError(t, status, body, http.StatusConflict, "OperationDenied.JobState")

	// Someone added b on the target by hand: renaming a to b cannot be carried.
	my.Exec(t, dstDB, "ALTER TABLE t ADD COLUMN b INT")
	my.Exec(t, srcDB, "ALTER TABLE t RENAME COLUMN a TO b")
	job := e.waitJob(id, "paused at the rename", func(j map[string]any) bool { return j["state"] == "paused" })
	jobErr := job["error"].(map[string]any)
	require.Equal(t, "Apply.UnsupportedDDL", jobErr["code"])
	require.Contains(t, jobErr["message"], "RENAME COLUMN a TO b")
	pos := jobErr["details"].(map[string]any)["position"].(string)
	require.Contains(t, jobErr["message"], pos)
	require.Contains(t, jobErr["fix"], "skip_ddl")
	_, events, _ := e.call("GET", "/v1/jobs/"+id+"/events", nil)
	var paused map[string]any
	for _, raw := range events["events"].([]any) {
		if ev := raw.(map[string]any); ev["type"] == "ddl_paused" {
			paused = ev
		}
	}
	require.NotNil(t, paused, "%v", events)
	require.Equal(t, pos, paused["details"].(map[string]any)["position"])

	status, body = e.act(id, "skip_ddl", map[string]any{"position": "binlog:nope.000001:4"})
	requireError(t, status, body, http.StatusBadRequest, "InvalidParameter")
	require.Equal(t, "params.position", body["fields"].([]any)[0].(map[string]any)["path"])
	_, job, _ = e.call("GET", "/v1/jobs/"+id, nil)
	require.Equal(t, "paused", job["state"], "a refused skip changes nothing")

	// Fixed by hand: the retry renames the column.
	my.Exec(t, dstDB, "ALTER TABLE t DROP COLUMN b")
	_, op = e.act(id, "resume", nil)
	require.Equal(t, "succeeded", op["status"], "%v", op)
	_, err := src.Exec("INSERT INTO t (id, b, c) VALUES (2, 20, 200)")
	require.NoError(t, err)
	waitCount(t, dst, 1, "SELECT count(*) FROM t WHERE id = 2 AND b = 20 AND c = 200")
	waitCount(t, dst, 0, "SELECT count(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 't' AND COLUMN_NAME = 'a'")

	// Skipped: the target keeps c beside the d added by hand, the checkpoint
	// moves past the rename, and rows go on to d.
	my.Exec(t, dstDB, "ALTER TABLE t ADD COLUMN d INT")
	my.Exec(t, srcDB, "ALTER TABLE t RENAME COLUMN c TO d")
	job = e.waitJob(id, "paused at the second rename", func(j map[string]any) bool { return j["state"] == "paused" })
	pos2 := job["error"].(map[string]any)["details"].(map[string]any)["position"].(string)
	require.NotEqual(t, pos, pos2)
	status, op = e.act(id, "skip_ddl", map[string]any{"position": pos2})
	require.Equal(t, http.StatusAccepted, status)
	require.Equal(t, "succeeded", op["status"], "%v", op)
	e.waitJob(id, "followed its source after the skip", following)
	_, err = src.Exec("INSERT INTO t (id, b, d) VALUES (3, 30, 300)")
	require.NoError(t, err)
	waitCount(t, dst, 1, "SELECT count(*) FROM t WHERE id = 3 AND b = 30 AND d = 300 AND c IS NULL")

	// Paused by the user, not at a schema change: nothing to skip.
	_, op = e.act(id, "stop", nil)
	require.Equal(t, "succeeded", op["status"], "%v", op)
	status, body = e.act(id, "skip_ddl", nil)
	requireError(t, status, body, http.StatusConflict, "OperationDenied.NoPendingDDL")
}

// A TRUNCATE of one table of a shard merge pauses the job like a schema
// change the target cannot take (carried, it would empty the other
// shard's rows too); skip_ddl at its position passes it: the target keeps
// every row and the job follows both shards again.
func TestMergedTruncatePausesAndSkips(t *testing.T) {
	t.Parallel()
	e := setup(t, "")
	e.withSyncRunner()
	my := testenv.MariaDB(t)
	a, b, dstDB := my.NewDatabase(t), my.NewDatabase(t), my.NewDatabase(t)
	for _, db := range []string{a, b} {
		my.Exec(t, db, "CREATE TABLE t (id INT PRIMARY KEY, v INT)")
	}
	my.Exec(t, a, "INSERT INTO t VALUES (1, 1)")
	my.Exec(t, b, "INSERT INTO t VALUES (2, 2)")
	rule := map[string]any{"name": dstDB, "tables": map[string]any{"t": map[string]any{
		"add_columns": []any{map[string]any{"name": "shard", "type": "varchar(64)", "from": "database"}}}}}
	status, body, _ := e.call("POST", "/v1/jobs", map[string]any{
		"name": "merge-truncate", "type": "sync", "source": endpointJSON(my, ""), "target": endpointJSON(my, ""),
		"objects": map[string]any{a: rule, b: rule},
	})
	require.Equal(t, http.StatusCreated, status, "%v", body)
	id := body["id"].(string)
	_, op := e.act(id, "start", nil)
	require.Equal(t, "succeeded", op["status"], "%v", op)
	e.waitJob(id, "followed its source", following)
	dst := my.DB(t, dstDB)
	waitCount(t, dst, 2, "SELECT count(*) FROM t")

	my.Exec(t, a, "TRUNCATE TABLE t")
	job := e.waitJob(id, "paused at the truncate", func(j map[string]any) bool { return j["state"] == "paused" })
	jobErr := job["error"].(map[string]any)
	require.Equal(t, "Apply.UnsupportedDDL", jobErr["code"])
	require.Contains(t, jobErr["message"], "TRUNCATE "+a+".t")
	pos := jobErr["details"].(map[string]any)["position"].(string)
	require.Equal(t, 2, count(t, dst, "SELECT count(*) FROM t"), "nothing truncated")

	status, op = e.act(id, "skip_ddl", map[string]any{"position": pos})
	require.Equal(t, http.StatusAccepted, status)
	require.Equal(t, "succeeded", op["status"], "%v", op)
	e.waitJob(id, "followed its source after the skip", following)
	my.Exec(t, a, "INSERT INTO t VALUES (3, 3)")
	my.Exec(t, b, "INSERT INTO t VALUES (4, 4)")
	waitCount(t, dst, 4, "SELECT count(*) FROM t")
	require.Equal(t, 1, count(t, dst, "SELECT count(*) FROM t WHERE id = 1 AND shard = ?", a), "the skipped truncate ran nowhere")
}
