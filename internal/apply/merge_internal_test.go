package apply

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/transform"
	"github.com/dtsorg/dts/internal/value"
)

// mergedPlans are the apply plans of s1.t and s2.t, merged into one target
// table when merged is true (else each into its own), kept apart by an
// added column shard (from: database).
func mergedPlans(t *testing.T, merged bool) (*tablePlan, *tablePlan) {
	t.Helper()
	mk := func(s string) *schema.Table {
		return &schema.Table{Schema: s, Name: "t", PrimaryKey: []string{"id"}, Columns: []schema.Column{
			{Name: "id", Type: schema.Type{Kind: schema.KindInt32, Raw: "integer"}},
			{Name: "v", Type: schema.Type{Kind: schema.KindText, Raw: "text"}, Nullable: true},
		}}
	}
	rule := job.TableRule{AddColumns: []job.AddColumn{{Name: "shard", Type: "varchar(10)", From: job.FromDatabase}}}
	name := func(s string) string {
		if merged {
			return "all"
		}
		return s + "_copy"
	}
	spec := &job.Spec{Type: job.TypeSync, Source: job.Endpoint{Engine: job.EnginePostgreSQL}, Target: job.Endpoint{Engine: job.EnginePostgreSQL},
		Objects: job.Objects{
			{Key: "s1", Value: job.DatabaseRule{Name: name("s1"), Tables: job.Map[job.TableRule]{{Key: "t", Value: rule}}}},
			{Key: "s2", Value: job.DatabaseRule{Name: name("s2"), Tables: job.Map[job.TableRule]{{Key: "t", Value: rule}}}},
		}}
	spec.Normalize()
	sel, err := transform.Select(spec, []connector.TableRef{{Schema: "s1", Name: "t"}, {Schema: "s2", Name: "t"}})
	require.NoError(t, err)
	comp := transform.NewCompiler(spec, sel, asIs{})
	plan := func(src *schema.Table) *tablePlan {
		p, err := comp.Compile(src)
		require.NoError(t, err)
		tp, err := newTablePlan(src, &TablePlan{Target: p.Target, Rules: p}, "postgresql", routingBlocks)
		require.NoError(t, err)
		return tp
	}
	return plan(mk("s1")), plan(mk("s2"))
}

// The tables merged into one target table route a key to one worker
// whichever of them the change comes from: a delete of the key in one and
// an insert of it in another stay in source order. Tables not merged keep
// routing by their own name (spreading alike keys of different tables).
func TestMergedTablesRouteByTargetKey(t *testing.T) {
	t.Parallel()
	c := &Coordinator{n: 4}
	a, b := mergedPlans(t, true)
	for i := range 64 {
		k := value.Row{[]byte(fmt.Sprint(i))}
		require.Equal(t, c.workerOf(a, k, nil), c.workerOf(b, k, nil), "key %d", i)
	}

	a, b = mergedPlans(t, false)
	differ := 0
	for i := range 64 {
		k := value.Row{[]byte(fmt.Sprint(i))}
		if c.workerOf(a, k, nil) != c.workerOf(b, k, nil) {
			differ++
		}
	}
	require.Positive(t, differ, "tables not merged route by their own names")
}

// A merged table's updates and deletes identify the row by its key and
// the added columns that tell the sources apart; its inserts carry them as
// values. Tables not merged keep their own key.
func TestMergedTablesGuardTheirKey(t *testing.T) {
	t.Parallel()
	a, b := mergedPlans(t, true)
	require.Equal(t, []string{"id", "shard"}, a.at.Key)
	require.Equal(t, value.Row{[]byte("1"), []byte("s1")}, a.guarded(value.Row{[]byte("1")}))
	require.Equal(t, value.Row{[]byte("1"), []byte("s2")}, b.guarded(value.Row{[]byte("1")}))
	a, _ = mergedPlans(t, false)
	require.Equal(t, []string{"id"}, a.at.Key)
	require.Equal(t, value.Row{[]byte("1")}, a.guarded(value.Row{[]byte("1")}))
}
