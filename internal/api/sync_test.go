package api_test

import (
	"database/sql"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector/engines"
	"github.com/dtsorg/dts/internal/logging"
	"github.com/dtsorg/dts/internal/runner"
	"github.com/dtsorg/dts/internal/testenv"
)

// Sync jobs through the API, on real servers: their lifecycle, the status
// GET /v1/jobs/{id} shows while they follow the source, the cleanup of a
// PostgreSQL source on reset and delete, and a pause at a schema change
// the target cannot take.

// withSyncRunner registers the runner's actions, publishing status often.
func (e *env) withSyncRunner() {
	log, err := logging.New(e.logs, "json", "debug")
	require.NoError(e.t, err)
	m := runner.NewManager(e.svc, engines.Engines{}, log)
	m.StatusEvery = 100 * time.Millisecond
	e.t.Cleanup(m.Close)
}

// waitJob polls GET /v1/jobs/{id} until cond holds and returns the job.
func (e *env) waitJob(id, what string, cond func(job map[string]any) bool) map[string]any {
	e.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		status, body, _ := e.call("GET", "/v1/jobs/"+id, nil)
		require.Equal(e.t, http.StatusOK, status, "%v", body)
		if cond(body) {
			return body
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("job never %s: %v", what, body)
		}
		time.Sleep(50 * time.Millisecond) // poll interval under the deadline above
	}
}

// incremental returns the job's incremental status, nil before it follows.
func incremental(job map[string]any) map[string]any {
	st, _ := job["status"].(map[string]any)
	inc, _ := st["incremental"].(map[string]any)
	if st == nil || st["phase"] != "incremental" {
		return nil
	}
	return inc
}

func following(job map[string]any) bool {
	if job["state"] == "failed" {
		panic("the job failed: " + job["state_reason"].(string))
	}
	return job["state"] == "running" && incremental(job) != nil
}

func endpointJSON(s *testenv.Server, database string) map[string]any {
	return map[string]any{"engine": string(s.Engine), "host": s.Host, "port": s.Port, "user": s.User, "password": s.Password,
		"database": database, "tls": map[string]any{"mode": "disable"}}
}

func count(t *testing.T, db *sql.DB, q string, args ...any) int {
	t.Helper()
	var n int
	require.NoError(t, db.QueryRow(q, args...).Scan(&n))
	return n
}

// waitCount polls a count query until it answers want (errors, such as a
// column the job has not created yet, count as not yet).
func waitCount(t *testing.T, db *sql.DB, want int, q string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		var n int
		err := db.QueryRow(q, args...).Scan(&n)
		if err == nil && n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never answered %d (now %d, %v)", q, want, n, err)
		}
		time.Sleep(50 * time.Millisecond) // poll interval under the deadline above
	}
}

// A PostgreSQL-source sync job owns a replication slot and a publication
// on the source: reset drops them (and the next start creates a fresh
// slot that works), delete drops them, so no slot retains WAL after the
// job is gone.
func TestSyncJobDropsItsSlotOnResetAndDelete(t *testing.T) {
	t.Parallel()
	e := setup(t, "")
	e.withSyncRunner()
	pg := testenv.Postgres(t)
	srcDB, dstDB := pg.NewDatabase(t), pg.NewDatabase(t)
	pg.Exec(t, srcDB, "CREATE TABLE a (id int PRIMARY KEY, v text)", "INSERT INTO a VALUES (1, 'one')")
	src, dst := pg.DB(t, srcDB), pg.DB(t, dstDB)
	slots := func() int {
		return count(t, src, `SELECT count(*) FROM pg_replication_slots WHERE database = current_database()`)
	}
	publications := func() int { return count(t, src, `SELECT count(*) FROM pg_publication`) }
	target := endpointJSON(pg, dstDB)
	target["options"] = map[string]any{"existing_tables": "truncate"} // a start after reset meets the tables of the first
	status, body, _ := e.call("POST", "/v1/jobs", map[string]any{
		"name": "pg-slot", "type": "sync", "source": endpointJSON(pg, srcDB), "target": target,
		"objects": map[string]any{"public": map[string]any{"all": true}},
	})
	require.Equal(t, http.StatusCreated, status, "%v", body)
	id := body["id"].(string)

	_, op := e.act(id, "start", nil)
	require.Equal(t, "succeeded", op["status"], "%v", op)
	e.waitJob(id, "followed its source", following)
	require.Equal(t, 1, slots())
	require.Equal(t, 1, publications())
	var firstSlot string
	require.NoError(t, src.QueryRow(`SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE database = current_database()`).Scan(&firstSlot))

	_, op = e.act(id, "stop", nil)
	require.Equal(t, "succeeded", op["status"], "%v", op)
	_, op = e.act(id, "reset", nil)
	require.Equal(t, "succeeded", op["status"], "%v", op)
	require.Zero(t, slots(), "reset drops the slot")
	require.Zero(t, publications(), "reset drops the publication")

	_, err := src.Exec(`INSERT INTO a VALUES (2, 'between')`)
	require.NoError(t, err)
	var resetAt string
	require.NoError(t, src.QueryRow(`SELECT pg_current_wal_lsn()::text`).Scan(&resetAt))
	_, op = e.act(id, "start", nil)
	require.Equal(t, "succeeded", op["status"], "%v", op)
	e.waitJob(id, "followed its source after the reset", following)
	require.Equal(t, 1, slots())
	var fresh bool
	require.NoError(t, src.QueryRow(`SELECT confirmed_flush_lsn >= $1::pg_lsn FROM pg_replication_slots WHERE database = current_database()`, resetAt).Scan(&fresh))
	require.True(t, fresh, "the slot after the reset is a new one (the first was at %s)", firstSlot)
	_, err = src.Exec(`INSERT INTO a VALUES (3, 'after')`)
	require.NoError(t, err)
	waitCount(t, dst, 3, `SELECT count(*) FROM public.a`)

	status, body, _ = e.call("DELETE", "/v1/jobs/"+id+"?force=true", nil)
	require.Equal(t, http.StatusNoContent, status, "%v", body)
	require.Zero(t, slots(), "delete drops the slot")
	require.Zero(t, publications(), "delete drops the publication")
}

// A source that cannot be reached blocks the delete of a PostgreSQL-source
// sync job (its slot would retain WAL unseen) unless forced; forced, the
// server's log says what to drop by hand.
func TestDeleteWithUnreachableSourceNeedsForce(t *testing.T) {
	t.Parallel()
	e := setup(t, "")
	e.withSyncRunner()
	pg := testenv.Postgres(t)
	dstDB := pg.NewDatabase(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	source := endpointJSON(pg, "gone")
	source["port"] = closed
	status, body, _ := e.call("POST", "/v1/jobs", map[string]any{
		"name": "unreachable", "type": "sync", "source": source, "target": endpointJSON(pg, dstDB),
		"objects": map[string]any{"public": map[string]any{"all": true}},
	})
	require.Equal(t, http.StatusCreated, status, "%v", body)
	id := body["id"].(string)

	status, body, _ = e.call("DELETE", "/v1/jobs/"+id, nil)
	requireError(t, status, body, http.StatusConflict, "OperationDenied")
	require.Contains(t, body["fix"], "pg_drop_replication_slot(")
	status, _, _ = e.call("GET", "/v1/jobs/"+id, nil)
	require.Equal(t, http.StatusOK, status, "the job is still there")

	status, body, _ = e.call("DELETE", "/v1/jobs/"+id+"?force=true", nil)
	require.Equal(t, http.StatusNoContent, status, "%v", body)
	require.Contains(t, e.logs.String(), "deleting job without dropping its replication slot and publication")
	require.Contains(t, e.logs.String(), `DROP PUBLICATION IF EXISTS \"dts_unreachable_`)
}
