package transform

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
)

func refs(names ...string) []connector.TableRef {
	var out []connector.TableRef
	for i := 0; i+1 < len(names); i += 2 {
		out = append(out, connector.TableRef{Schema: names[i], Name: names[i+1]})
	}
	return out
}

func TestSelectResolvesExactKeysGlobsAndRenames(t *testing.T) {
	t.Parallel()
	spec := &job.Spec{
		RenameRule: job.RenameRule{Prefix: "p_", Suffix: "_s"},
		Objects: job.Objects{
			{Key: "crm_*", Value: job.DatabaseRule{Name: "crm", Tables: job.Map[job.TableRule]{{Key: "cust*", Value: job.TableRule{}}}}},
			{Key: "shop", Value: job.DatabaseRule{All: true, Tables: job.Map[job.TableRule]{{Key: "orders", Value: job.TableRule{Name: "Orders2"}}}}},
			{Key: "crm_eu", Value: job.DatabaseRule{Tables: job.Map[job.TableRule]{{Key: "leads", Value: job.TableRule{}}}}},
		},
	}
	got, err := Select(spec, refs("shop", "orders", "shop", "items", "crm_us", "customers", "crm_us", "notes", "crm_eu", "leads", "crm_eu", "customers", "other", "x", "dts_meta", "progress"))
	require.NoError(t, err)
	var pairs []string
	for _, s := range got {
		pairs = append(pairs, s.Source.String()+" -> "+s.Target.String())
	}
	require.Equal(t, []string{
		"crm_eu.leads -> p_crm_eu_s.p_leads_s", // the exact key wins over the earlier glob
		"crm_us.customers -> crm.p_customers_s",
		"shop.items -> p_shop_s.p_items_s",
		"shop.orders -> p_shop_s.Orders2",
	}, pairs)
}

func TestSelectReportsMissingTablesClashesAndEmptySelections(t *testing.T) {
	t.Parallel()
	spec := &job.Spec{Objects: job.Objects{
		{Key: "a", Value: job.DatabaseRule{All: true}},
		{Key: "b", Value: job.DatabaseRule{Name: "a", Tables: job.Map[job.TableRule]{{Key: "x"}, {Key: "ghost"}}}},
	}}
	_, err := Select(spec, refs("a", "x", "b", "x"))
	require.Equal(t, errs.InvalidParameter, errs.CodeOf(err))
	e, _ := errs.As(err)
	require.Len(t, e.Fields, 2)
	require.Equal(t, "objects.b.tables.ghost: the source has no table b.ghost", e.Fields[0].Error())
	require.Contains(t, e.Fields[1].Message, "a.x, b.x all map onto the target table a.x, but a.x keeps its own name")

	_, err = Select(&job.Spec{Objects: job.Objects{{Key: "nope*", Value: job.DatabaseRule{All: true}}}}, refs("a", "x"))
	require.ErrorContains(t, err, "selects no table of the source")
}

// Tables that each get the same target name by the user's naming are a
// declared shard merge, whether one glob or several entries name them.
func TestSelectAllowsDeclaredMerges(t *testing.T) {
	t.Parallel()
	spec := &job.Spec{Objects: job.Objects{
		{Key: "shard_*", Value: job.DatabaseRule{Name: "all", All: true}},
		{Key: "x", Value: job.DatabaseRule{Tables: job.Map[job.TableRule]{{Key: "t", Value: job.TableRule{Name: "merged"}}}}},
		{Key: "y", Value: job.DatabaseRule{Name: "x", Tables: job.Map[job.TableRule]{{Key: "u", Value: job.TableRule{Name: "merged"}}}}},
	}}
	got, err := Select(spec, refs("shard_1", "t", "shard_2", "t", "x", "t", "y", "u"))
	require.NoError(t, err)
	var pairs []string
	for _, s := range got {
		pairs = append(pairs, s.Source.String()+" -> "+s.Target.String())
	}
	require.Equal(t, []string{"shard_1.t -> all.t", "shard_2.t -> all.t", "x.t -> x.merged", "y.u -> x.merged"}, pairs)
}

func TestTargetMatchesSelect(t *testing.T) {
	t.Parallel()
	spec := &job.Spec{
		RenameRule: job.RenameRule{Suffix: "_x"},
		Objects: job.Objects{
			{Key: "shop", Value: job.DatabaseRule{All: true, Tables: job.Map[job.TableRule]{{Key: "orders", Value: job.TableRule{Name: "o"}}}}},
			{Key: "crm", Value: job.DatabaseRule{Tables: job.Map[job.TableRule]{{Key: "leads"}}}},
		},
	}
	all := refs("shop", "orders", "shop", "new_table", "crm", "leads", "crm", "other", "dts_meta", "x")
	sel, err := Select(spec, all)
	require.NoError(t, err)
	want := map[connector.TableRef]connector.TableRef{}
	for _, s := range sel {
		want[s.Source] = s.Target
	}
	for _, r := range all {
		got, ok := Target(spec, r)
		w, selected := want[r]
		require.Equal(t, selected, ok, r.String())
		require.Equal(t, w, got, r.String())
	}
}
