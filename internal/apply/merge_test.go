package apply_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/apply"
	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/transform"
)

// merge is two source tables s1.t and s2.t merged into one target table t
// (shard merge), told apart by an added column shard (from: database).
type merge struct {
	h    *harness
	a, b *schema.Table
	plan apply.Planner
}

func newMerge(t *testing.T, h *harness) *merge {
	t.Helper()
	mk := func(s string) *schema.Table {
		tb := h.table("t", []tcol{{name: "id", kind: schema.KindInt32}, {name: "v", kind: schema.KindVarChar, n: 20, null: true}}, []string{"id"})
		tb.Schema = s
		return tb
	}
	m := &merge{h: h, a: mk("s1"), b: mk("s2")}
	engine := job.Engine(h.engine)
	rule := job.TableRule{AddColumns: []job.AddColumn{{Name: "shard", Type: "varchar(10)", From: job.FromDatabase}}}
	spec := &job.Spec{Type: job.TypeSync, Source: job.Endpoint{Engine: engine}, Target: job.Endpoint{Engine: engine},
		Objects: job.Objects{
			{Key: "s1", Value: job.DatabaseRule{Name: h.schema, Tables: job.Map[job.TableRule]{{Key: "t", Value: rule}}}},
			{Key: "s2", Value: job.DatabaseRule{Name: h.schema, Tables: job.Map[job.TableRule]{{Key: "t", Value: rule}}}},
		}}
	spec.Normalize()
	sel, err := transform.Select(spec, []connector.TableRef{{Schema: "s1", Name: "t"}, {Schema: "s2", Name: "t"}})
	require.NoError(t, err)
	comp := transform.NewCompiler(spec, sel, h.sink)
	plans, err := comp.CompileAll([]*schema.Table{m.a, m.b})
	require.NoError(t, err)
	ctx := testCtx(t)
	require.NoError(t, h.sink.PrepareTable(ctx, plans[0].Target, job.ExistingFail))
	require.NoError(t, h.sink.FinishTable(ctx, plans[0].Target))
	m.plan = func(src *schema.Table) (*apply.TablePlan, error) {
		p, err := comp.Compile(src)
		if p == nil || err != nil {
			return nil, err
		}
		return &apply.TablePlan{Target: p.Target, Rules: p}, nil
	}
	return m
}

func (m *merge) options(workers int) apply.Options {
	o := m.h.options(workers)
	o.Plan = m.plan
	return o
}

// A change of one merged table never touches another's row with the same
// key: an update or delete of a key only the other holds on the target is
// a divergence (strict), or nothing (idempotent, inside the replay
// window); it is never applied to the other's row.
func TestMergedTableKeepsShardsApart(t *testing.T) {
	t.Parallel()
	for _, e := range engines {
		t.Run(e, func(t *testing.T) {
			t.Parallel()
			for _, c := range []struct {
				name string
				op   func(m *merge) *change.Row
			}{
				{"update", func(m *merge) *change.Row { return upd(m.a, row(2, "a2"), row(2, "overwritten")) }},
				{"delete", func(m *merge) *change.Row { return del(m.a, row(2, "a2")) }},
			} {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					m := newMerge(t, newHarness(t, e))
					s := newScript()
					s.txn(ins(m.a, row(1, "a1")), ins(m.b, row(2, "b2")))
					s.txn(upd(m.a, row(1, "a1"), row(1, "A1")))
					require.NoError(t, m.h.apply(s, m.options(2)))
					s.txn(c.op(m))
					err := m.h.apply(s, m.options(2))
					require.Error(t, err)
					assert.Equal(t, connector.CodeDivergence, errs.CodeOf(err), "%v", err)
					assert.ErrorContains(t, err, "s1.t, s2.t")
					assert.Equal(t, []string{"1|A1|s1", "2|b2|s2"}, m.h.dump("t", "id", "v", "shard"), "s2's row is untouched")
				})
			}
			t.Run("replay_window", func(t *testing.T) {
				t.Parallel()
				m := newMerge(t, newHarness(t, e))
				s := newScript()
				s.txn(ins(m.a, row(1, "a1")), ins(m.b, row(2, "b2")))
				safeFrom := s.end()
				s.txn(upd(m.a, row(1, "a1"), row(1, "A1")), del(m.a, row(2, "a2")))
				o := m.options(2)
				o.SafeUntil = s.end()
				require.Less(t, change.Compare(safeFrom, o.SafeUntil), 0)
				require.NoError(t, m.h.apply(s, o))
				assert.Equal(t, []string{"1|A1|s1", "2|b2|s2"}, m.h.dump("t", "id", "v", "shard"),
					"s1's own row updated, s2's row with s1's deleted key kept")

				// Inside the window too, an insert or update is never an
				// upsert that could replace s2's row: the taken key stops it.
				s.txn(ins(m.a, row(2, "a2")))
				o.SafeUntil = s.end()
				err := m.h.apply(s, o)
				assert.Equal(t, connector.CodeDivergence, errs.CodeOf(err), "%v", err)
				assert.Equal(t, []string{"1|A1|s1", "2|b2|s2"}, m.h.dump("t", "id", "v", "shard"), "s2's row is not replaced")
			})
		})
	}
}

// A TRUNCATE of one merged table would empty the others' rows too: it
// stops the run as a schema change the target cannot take (position and
// statement in the error, where skip_ddl starts), nothing applied. Skipped,
// the run goes on past it and the checkpoints pass it.
func TestMergedTableTruncateStops(t *testing.T) {
	forEngines(t, func(t *testing.T, h *harness) {
		m := newMerge(t, h)
		s := newScript()
		s.txn(ins(m.a, row(1, "a1")), ins(m.b, row(2, "b2")))
		require.NoError(t, h.apply(s, m.options(2)))
		s.truncate(m.a)
		at := s.end()
		s.txn(ins(m.a, row(3, "a3")))
		err := h.apply(s, m.options(2))
		require.Error(t, err)
		e, ok := errs.As(err)
		require.True(t, ok, "%v", err)
		assert.Equal(t, connector.CodeUnsupportedDDL, e.Code, "%v", err)
		assert.Equal(t, at.String(), e.Details["position"])
		assert.Contains(t, e.Details["statement"], "TRUNCATE s1.t")
		assert.Equal(t, []string{"1|a1|s1", "2|b2|s2"}, h.dump("t", "id", "v", "shard"), "nothing truncated")

		o := m.options(2)
		o.SkipDDL = at
		require.NoError(t, h.apply(s, o))
		assert.Equal(t, []string{"1|a1|s1", "2|b2|s2", "3|a3|s1"}, h.dump("t", "id", "v", "shard"))
		cps, err := h.sink.LoadCheckpoints(testCtx(t), h.jobID)
		require.NoError(t, err)
		for _, cp := range cps {
			assert.True(t, connector.CompareCheckpoints(cp.Checkpoint, connector.Checkpoint{Pos: at, Complete: true}) >= 0,
				"worker %d stands at %s, before the skipped truncate", cp.Worker, cp.Checkpoint)
		}
		require.NoError(t, h.apply(s, m.options(2)), "a run without the skip does not meet the truncate again")
	})
}
