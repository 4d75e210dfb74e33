package runner_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/alert"
	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/catalog/sqlite"
	"github.com/dtsorg/dts/internal/compare"
	"github.com/dtsorg/dts/internal/connector/engines"
	"github.com/dtsorg/dts/internal/control"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/logging"
	"github.com/dtsorg/dts/internal/runner"
	"github.com/dtsorg/dts/internal/secret"
	"github.com/dtsorg/dts/internal/testenv"
)

// server is a control plane with its catalog and job manager, as dts
// server wires them.
type server struct {
	store catalog.Store
	svc   *control.Service
	mgr   *runner.Manager
}

func newServer(t *testing.T) *server {
	t.Helper()
	box, err := secret.NewBox(make([]byte, 32))
	require.NoError(t, err)
	store, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "catalog.db"), box, logging.Discard())
	require.NoError(t, err)
	svc := control.New(store, logging.Discard())
	mgr := runner.NewManager(svc, engines.Engines{}, logging.Discard())
	mgr.StatusEvery, mgr.AlertEvery = 100*time.Millisecond, 50*time.Millisecond
	mgr.Runner().VerifyEvery = 100 * time.Millisecond
	t.Cleanup(func() { mgr.Close(); svc.Close(); store.Close() })
	return &server{store: store, svc: svc, mgr: mgr}
}

// start creates a job and starts it (its precheck first).
func (s *server) start(t *testing.T, spec *job.Spec) string {
	t.Helper()
	require.NoError(t, spec.Validate())
	j, err := s.svc.CreateJob(context.Background(), spec)
	require.NoError(t, err)
	out, err := s.svc.Act(context.Background(), j.ID, string(job.ActionStart), nil)
	require.NoError(t, err)
	if out.Operation != nil {
		eventually(t, func() bool {
			op, err := s.svc.GetOperation(context.Background(), out.Operation.ID)
			require.NoError(t, err)
			require.Nil(t, op.Error, "start: %+v", op.Error)
			return op.Status != catalog.OpRunning
		})
	}
	return j.ID
}

func (s *server) state(t *testing.T, id string) job.State {
	j, err := s.store.GetJob(context.Background(), id)
	require.NoError(t, err)
	return j.State
}

func (s *server) events(t *testing.T, id string) []catalog.Event {
	ev, err := s.store.ListEvents(context.Background(), id, 0, 0)
	require.NoError(t, err)
	return ev
}

func eventually(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "timed out")
		time.Sleep(20 * time.Millisecond)
	}
}

// webhook receives alert notices.
type webhook struct {
	*httptest.Server
	mu  sync.Mutex
	got []alert.Notice
	raw []string
}

func newWebhook(t *testing.T) *webhook {
	w := &webhook{}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var n alert.Notice
		require.NoError(t, json.Unmarshal(b, &n))
		w.mu.Lock()
		w.got, w.raw = append(w.got, n), append(w.raw, string(b))
		w.mu.Unlock()
	}))
	t.Cleanup(w.Close)
	return w
}

// seen lists the notices received as kind:state.
func (w *webhook) seen() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for _, n := range w.got {
		out = append(out, n.Kind+":"+n.State)
	}
	return out
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestServerErrorAlertAndCheckAfterFull: a job that fails posts the error
// alert (without secrets); fixed and resumed, it posts the resolved notice,
// completes, and its check.full compare runs after the full load.
func TestServerErrorAlertAndCheckAfterFull(t *testing.T) {
	t.Parallel()
	src, dst := newSide(t, testenv.MariaDB(t)), newSide(t, testenv.Postgres(t))
	src.exec(t, "SET SESSION sql_mode = ''", "CREATE TABLE events (id INT PRIMARY KEY, d DATE)",
		"INSERT INTO events VALUES (1, '2024-01-01'), (77, '0000-00-00')")
	hook := newWebhook(t)
	spec := migration(dst.database[max(0, len(dst.database)-60):], src, dst, "copy")
	spec.Alerts = job.Alerts{Error: true, Webhooks: []string{hook.URL + "/hook"}}
	spec.Check.Full = job.FullCheck{Mode: job.CompareContent}
	spec.Normalize()
	s := newServer(t)
	id := s.start(t, spec)

	eventually(t, func() bool { return s.state(t, id) == job.StateFailed })
	eventually(t, func() bool { return has(hook.seen(), "error:firing") })
	hook.mu.Lock()
	n, raw := hook.got[0], hook.raw[0]
	hook.mu.Unlock()
	require.Equal(t, id, n.JobID)
	require.Contains(t, n.Message, "zero date")
	require.NotContains(t, raw, testenv.Password)
	require.NotEmpty(t, n.Details["code"])

	src.exec(t, "DELETE FROM events WHERE id = 77")
	_, err := s.svc.Act(context.Background(), id, string(job.ActionResume), nil)
	require.NoError(t, err)
	eventually(t, func() bool { return s.state(t, id) == job.StateCompleted })
	eventually(t, func() bool { return has(hook.seen(), "error:resolved") })

	var cmp *catalog.Compare
	eventually(t, func() bool {
		list, err := s.store.ListCompares(context.Background(), id)
		require.NoError(t, err)
		if len(list) == 1 && list[0].Ended() {
			cmp = list[0]
		}
		return cmp != nil
	})
	require.Equal(t, catalog.CompareDone, cmp.Status, "%+v", cmp.Error)
	var rep compare.Report
	require.NoError(t, json.Unmarshal(cmp.Report, &rep))
	require.Equal(t, compare.StatusEqual, rep.Status)
	require.Equal(t, compare.TypeContent, rep.Type)
	eventually(t, func() bool {
		for _, e := range s.events(t, id) {
			if e.Type == "compare_after_full_load" {
				return true
			}
		}
		return false
	})
}

// TestServerContinuousVerification runs a sync job with check.incremental:
// while the target rewrites what the job applies (a trigger), verification
// finds the changed rows different, records it and posts the mismatch
// alert; once the target is fixed and the rows change again, it finds them
// equal and posts the resolved notice.
func TestServerContinuousVerification(t *testing.T) {
	t.Parallel()
	src, dst := newSide(t, testenv.MariaDB(t)), newSide(t, testenv.Postgres(t))
	src.exec(t, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(50) NOT NULL)",
		"INSERT INTO t SELECT seq, CONCAT('v', seq) FROM seq_1_to_200")
	hook := newWebhook(t)
	spec := migration(dst.database[max(0, len(dst.database)-60):], src, dst, "copy")
	spec.Type, spec.Phases = job.TypeSync, nil
	spec.Check.Incremental.Enabled = true
	spec.Alerts.Webhooks = []string{hook.URL}
	spec.Normalize()
	s := newServer(t)
	id := s.start(t, spec)
	status := func() runner.Status {
		j, err := s.store.GetJob(context.Background(), id)
		require.NoError(t, err)
		var st runner.Status
		if j.Status != nil {
			require.NoError(t, json.Unmarshal(j.Status, &st))
		}
		return st
	}
	eventually(t, func() bool { return status().Phase == runner.PhaseIncremental })

	dst.exec(t, `SET search_path = copy`, `CREATE FUNCTION spoil() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.v := NEW.v || '!'; RETURN NEW; END $$`,
		"CREATE TRIGGER spoil BEFORE UPDATE ON t FOR EACH ROW EXECUTE FUNCTION spoil()",
		"ALTER TABLE t ENABLE ALWAYS TRIGGER spoil") // fires under the apply's session_replication_role too
	db := src.srv.DB(t, src.database)
	eventually(t, func() bool {
		_, err := db.Exec("UPDATE t SET v = CONCAT('v', id, '-', FLOOR(RAND() * 1000000)) WHERE id <= 20")
		require.NoError(t, err)
		return has(hook.seen(), "compare_mismatch:firing")
	})
	var mismatch catalog.Event
	for _, e := range s.events(t, id) {
		if e.Type == "verify_mismatch" {
			mismatch = e
		}
	}
	require.Contains(t, mismatch.Message, "differ on the target")
	require.Equal(t, catalog.LevelWarning, mismatch.Level)

	dst.exec(t, `DROP TRIGGER spoil ON copy.t`)
	eventually(t, func() bool {
		_, err := db.Exec("UPDATE t SET v = CONCAT('fixed', id) WHERE id <= 20")
		require.NoError(t, err)
		return has(hook.seen(), "compare_mismatch:resolved")
	})
	require.Equal(t, 1, strings.Count(strings.Join(hook.seen(), " "), "compare_mismatch:firing"), "once per episode")
}
