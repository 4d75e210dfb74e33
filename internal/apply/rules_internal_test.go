package apply

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/transform"
	"github.com/dtsorg/dts/internal/value"
)

type asIs struct{}

func (asIs) MapTable(src *schema.Table, _ string) (*schema.Table, []connector.TypeProblem) {
	t := *src
	return &t, nil
}

// rulesPlan is the apply plan of t(id PK, country, doc) from PostgreSQL
// with filter country = 'DE' and the given dml list.
func rulesPlan(t *testing.T, dml []string) (*tablePlan, *schema.Table) {
	t.Helper()
	src := &schema.Table{Schema: "s", Name: "t", PrimaryKey: []string{"id"}, Columns: []schema.Column{
		{Name: "id", Type: schema.Type{Kind: schema.KindInt32, Raw: "integer"}},
		{Name: "country", Type: schema.Type{Kind: schema.KindText, Raw: "text"}, Nullable: true},
		{Name: "doc", Type: schema.Type{Kind: schema.KindText, Raw: "text"}, Nullable: true},
	}}
	spec := &job.Spec{Source: job.Endpoint{Engine: job.EnginePostgreSQL}, Target: job.Endpoint{Engine: job.EnginePostgreSQL},
		Objects: job.Objects{{Key: "s", Value: job.DatabaseRule{Tables: job.Map[job.TableRule]{{Key: "t", Value: job.TableRule{Filter: "country = 'DE'", DML: dml}}}}}}}
	sel, err := transform.Select(spec, []connector.TableRef{{Schema: "s", Name: "t"}})
	require.NoError(t, err)
	p, err := transform.NewCompiler(spec, sel, asIs{}).Compile(src)
	require.NoError(t, err)
	tp, err := newTablePlan(src, &TablePlan{Target: p.Target, Rules: p}, "postgresql", routingBlocks)
	require.NoError(t, err)
	return tp, src
}

func row(vals ...string) value.Row {
	r := make(value.Row, len(vals))
	for i, v := range vals {
		if v != "∅" {
			r[i] = []byte(v)
		}
	}
	return r
}

// What a change becomes under a row filter, for each kind of old image.
func TestApplyRulesFilter(t *testing.T) {
	t.Parallel()
	tp, src := rulesPlan(t, nil)
	keyOnly := func(id string) value.Row { return row(id, "∅", "∅") }
	type want struct {
		op       change.Op
		tolerant bool
	}
	for _, c := range []struct {
		name string
		r    change.Row
		want []want
		code string
	}{
		{"insert in", change.Row{Op: change.OpInsert, After: row("1", "DE", "x")}, []want{{change.OpInsert, false}}, ""},
		{"insert out", change.Row{Op: change.OpInsert, After: row("1", "FR", "x")}, nil, ""},
		{"insert NULL is not selected", change.Row{Op: change.OpInsert, After: row("1", "∅", "x")}, nil, ""},
		{"update in to in", change.Row{Op: change.OpUpdate, Before: row("1", "DE", "x"), After: row("1", "DE", "y")}, []want{{change.OpUpdate, false}}, ""},
		{"update moves in", change.Row{Op: change.OpUpdate, Before: row("1", "FR", "x"), After: row("1", "DE", "x")}, []want{{change.OpInsert, false}}, ""},
		{"update moves out", change.Row{Op: change.OpUpdate, Before: row("1", "DE", "x"), After: row("1", "FR", "x")}, []want{{change.OpDelete, false}}, ""},
		{"update out to out", change.Row{Op: change.OpUpdate, Before: row("1", "FR", "x"), After: row("1", "IT", "x")}, nil, ""},
		{"key-only old, new in", change.Row{Op: change.OpUpdate, Before: keyOnly("1"), BeforeKeyOnly: true, After: row("2", "DE", "x")},
			[]want{{change.OpDelete, true}, {change.OpInsert, false}}, ""},
		{"no old row, new out", change.Row{Op: change.OpUpdate, After: row("1", "FR", "x")}, []want{{change.OpDelete, true}}, ""},
		{"delete in", change.Row{Op: change.OpDelete, Before: row("1", "DE", "x")}, []want{{change.OpDelete, false}}, ""},
		{"delete out", change.Row{Op: change.OpDelete, Before: row("1", "FR", "x")}, nil, ""},
		{"delete key-only", change.Row{Op: change.OpDelete, Before: keyOnly("1"), BeforeKeyOnly: true}, []want{{change.OpDelete, true}}, ""},
		{"unchanged TOAST filled from a full old row", change.Row{Op: change.OpUpdate, Before: row("1", "DE", "big"),
			After: row("1", "∅", "y"), Missing: []bool{false, true, false}}, []want{{change.OpUpdate, false}}, ""},
		{"unchanged TOAST in the filter, key-only old", change.Row{Op: change.OpUpdate, Before: keyOnly("1"), BeforeKeyOnly: true,
			After: row("1", "∅", "y"), Missing: []bool{false, true, false}}, nil, CodeFilterUnknown},
		{"moves in without all new values", change.Row{Op: change.OpUpdate, After: row("1", "DE", "∅"), Missing: []bool{false, false, true}},
			nil, CodeFilterUnknown},
	} {
		c.r.Table = src
		got, err := tp.applyRules(&c.r)
		if c.code != "" {
			require.Equal(t, c.code, errs.CodeOf(err), "%s: %v", c.name, err)
			continue
		}
		require.NoError(t, err, c.name)
		var ops []want
		for _, d := range got {
			ops = append(ops, want{d.row.Op, d.tolerant})
		}
		require.Equal(t, c.want, ops, c.name)
	}
}

// The dml list drops the kinds it leaves out, before the filter.
func TestApplyRulesDML(t *testing.T) {
	t.Parallel()
	tp, src := rulesPlan(t, []string{job.DMLInsert, job.DMLUpdate})
	got, err := tp.applyRules(&change.Row{Op: change.OpDelete, Table: src, Before: row("1", "DE", "x")})
	require.NoError(t, err)
	require.Empty(t, got)
	got, err = tp.applyRules(&change.Row{Op: change.OpInsert, Table: src, After: row("1", "DE", "x")})
	require.NoError(t, err)
	require.Len(t, got, 1)
}

// A dml list without insert never inserts: an update moving a row into
// the filter is dropped, one whose old row is unknown updates the row
// where it is, and updates and deletes apply only where their row is.
func TestApplyRulesDMLWithoutInsert(t *testing.T) {
	t.Parallel()
	tp, src := rulesPlan(t, []string{job.DMLUpdate, job.DMLDelete})
	type want struct {
		op                 change.Op
		tolerant, existing bool
	}
	for _, c := range []struct {
		name string
		r    change.Row
		want []want
	}{
		{"insert", change.Row{Op: change.OpInsert, After: row("1", "DE", "x")}, nil},
		{"update in to in", change.Row{Op: change.OpUpdate, Before: row("1", "DE", "x"), After: row("1", "DE", "y")}, []want{{change.OpUpdate, true, true}}},
		{"update moves in", change.Row{Op: change.OpUpdate, Before: row("1", "FR", "x"), After: row("1", "DE", "x")}, nil},
		{"update moves out", change.Row{Op: change.OpUpdate, Before: row("1", "DE", "x"), After: row("1", "FR", "x")}, []want{{change.OpDelete, true, true}}},
		{"key-only old, new in", change.Row{Op: change.OpUpdate, Before: row("1", "∅", "∅"), BeforeKeyOnly: true, After: row("2", "DE", "x")},
			[]want{{change.OpUpdate, true, true}}},
		{"delete in", change.Row{Op: change.OpDelete, Before: row("1", "DE", "x")}, []want{{change.OpDelete, true, true}}},
	} {
		c.r.Table = src
		got, err := tp.applyRules(&c.r)
		require.NoError(t, err, c.name)
		var ops []want
		for _, d := range got {
			ops = append(ops, want{d.row.Op, d.tolerant, d.existing})
		}
		require.Equal(t, c.want, ops, c.name)
	}
}
