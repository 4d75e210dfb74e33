package compare_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/catalog/sqlite"
	"github.com/dtsorg/dts/internal/compare"
	"github.com/dtsorg/dts/internal/connector/engines"
	"github.com/dtsorg/dts/internal/control"
	"github.com/dtsorg/dts/internal/errs"
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

func newServer(t *testing.T, path string) *server {
	t.Helper()
	box, err := secret.NewBox(make([]byte, 32))
	require.NoError(t, err)
	store, err := sqlite.Open(context.Background(), path, box, logging.Discard())
	require.NoError(t, err)
	svc := control.New(store, logging.Discard())
	mgr := runner.NewManager(svc, engines.Engines{}, logging.Discard())
	s := &server{store: store, svc: svc, mgr: mgr}
	t.Cleanup(s.close)
	return s
}

func (s *server) close() {
	if s.mgr != nil {
		s.mgr.Close()
		s.svc.Close()
		s.store.Close()
		s.mgr = nil
	}
}

// act applies an action and returns its outcome's result or operation result.
func (s *server) act(t *testing.T, jobID, action string, params any) (json.RawMessage, error) {
	t.Helper()
	raw, err := json.Marshal(params)
	require.NoError(t, err)
	out, err := s.svc.Act(context.Background(), jobID, action, raw)
	if err != nil {
		return nil, err
	}
	if out.Operation == nil {
		return json.Marshal(out.Result)
	}
	var op *catalog.Operation
	waitFor(t, func() bool {
		op, err = s.svc.GetOperation(context.Background(), out.Operation.ID)
		require.NoError(t, err)
		return op.Status != catalog.OpRunning
	})
	if op.Error != nil {
		return nil, &errs.Error{Code: op.Error.Code, Message: op.Error.Message}
	}
	return op.Result, nil
}

// waitFor polls cond until it holds, for up to a minute.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		require.True(t, time.Now().Before(deadline), "timed out")
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *server) ended(t *testing.T, id string) *catalog.Compare {
	t.Helper()
	var c *catalog.Compare
	waitFor(t, func() bool {
		var err error
		c, err = s.store.GetCompare(context.Background(), id)
		require.NoError(t, err)
		return c.Ended()
	})
	return c
}

func createCompare(t *testing.T, s *server, jobID string, params map[string]any) compare.CreateResult {
	t.Helper()
	res, err := s.act(t, jobID, "create_compare", params)
	require.NoError(t, err)
	var cr compare.CreateResult
	require.NoError(t, json.Unmarshal(res, &cr))
	return cr
}

func report(t *testing.T, c *catalog.Compare) *compare.Report {
	t.Helper()
	require.Equal(t, catalog.CompareDone, c.Status, "%+v", c.Error)
	var r compare.Report
	require.NoError(t, json.Unmarshal(c.Report, &r))
	return &r
}

// TestServerCompares runs compares through the create_compare and
// cancel_compare actions: at once and scheduled, with a repair, and across
// a server restart.
func TestServerCompares(t *testing.T) {
	t.Parallel()
	spec, _, dst := migrated(t, testenv.MariaDB(t), testenv.Postgres(t))
	path := filepath.Join(t.TempDir(), "catalog.db")
	s := newServer(t, path)
	j, err := s.svc.CreateJob(context.Background(), spec.Clone())
	require.NoError(t, err)

	cr := createCompare(t, s, j.ID, map[string]any{"type": "content", "tables": []string{"big", "types"}})
	require.Equal(t, catalog.CompareRunning, cr.Status)
	r := report(t, s.ended(t, cr.CompareID))
	requireEqual(t, r)
	require.Len(t, r.Tables, 2)

	dst.exec(t, "DELETE FROM big WHERE id = 7", "UPDATE types SET vc = 'changed' WHERE id = 2")
	cr = createCompare(t, s, j.ID, map[string]any{"type": "content", "tables": []string{"big", "types"}, "repair": true})
	r = report(t, s.ended(t, cr.CompareID))
	require.Equal(t, compare.StatusDifferent, r.Status)
	require.True(t, r.Repair.Applied, r.Repair.Error)
	require.Equal(t, compare.RepairPath(j.ID, cr.CompareID), r.Repair.File)
	script, err := compare.RepairScript(context.Background(), s.store, cr.CompareID, spec.Target.Engine)
	require.NoError(t, err)
	require.Len(t, script, 5+2, "session settings and two rows")
	cr = createCompare(t, s, j.ID, map[string]any{"type": "rows"})
	requireEqual(t, report(t, s.ended(t, cr.CompareID)))

	_, err = s.act(t, j.ID, "create_compare", map[string]any{"type": "bogus", "max_hours": -1})
	require.Equal(t, errs.InvalidParameter, errs.CodeOf(err))

	// Scheduled, cancelled.
	later := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	cr = createCompare(t, s, j.ID, map[string]any{"type": "objects", "start_at": later})
	require.Equal(t, catalog.CompareScheduled, cr.Status)
	res, err := s.act(t, j.ID, "cancel_compare", map[string]any{"compare_id": cr.CompareID})
	require.NoError(t, err)
	require.JSONEq(t, `{"cancelled":["`+cr.CompareID+`"]}`, string(res))
	require.Equal(t, catalog.CompareCancelled, s.ended(t, cr.CompareID).Status)

	// A scheduled compare survives a restart of the server.
	cr = createCompare(t, s, j.ID, map[string]any{"type": "objects", "start_at": later})
	s.close()
	c, err := func() (*catalog.Compare, error) {
		s2 := newServer(t, path)
		defer s2.close()
		require.NoError(t, s2.mgr.Recover(context.Background()))
		res, err := s2.act(t, j.ID, "cancel_compare", nil)
		require.NoError(t, err)
		require.JSONEq(t, `{"cancelled":["`+cr.CompareID+`"]}`, string(res))
		return s2.store.GetCompare(context.Background(), cr.CompareID)
	}()
	require.NoError(t, err)
	require.Equal(t, catalog.CompareCancelled, c.Status)
}

// TestCheckJob runs a check job's compare: check.full, moving no data.
func TestCheckJob(t *testing.T) {
	t.Parallel()
	spec, _, dst := migrated(t, testenv.Postgres(t), testenv.MariaDB(t))
	check := spec.Clone()
	check.Name, check.Type, check.Phases = check.Name[:min(len(check.Name), 50)]+"-check", job.TypeCheck, nil
	check.Check.Full = job.FullCheck{Mode: job.CompareContent}
	check.Normalize()
	require.NoError(t, check.Validate())
	s := newServer(t, filepath.Join(t.TempDir(), "catalog.db"))
	j, err := s.svc.CreateJob(context.Background(), check)
	require.NoError(t, err)
	dst.exec(t, "DELETE FROM big WHERE id = 3")

	svc := compare.NewService(s.svc, engines.Engines{}, logging.Discard())
	defer svc.Close()
	require.NoError(t, svc.RunCheck(context.Background(), j.ID, j.Spec))
	list, err := s.store.ListCompares(context.Background(), j.ID)
	require.NoError(t, err)
	require.Len(t, list, 1)
	r := report(t, list[0])
	require.Equal(t, compare.StatusDifferent, r.Status)
	require.Equal(t, int64(1), tableReport(t, r, "big").Missing)
	events, err := s.store.ListEvents(context.Background(), j.ID, 0, 0)
	require.NoError(t, err)
	require.Equal(t, "compare_finished", events[len(events)-1].Type)
	require.Equal(t, catalog.LevelWarning, events[len(events)-1].Level)
}
