package precheck

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/transform"
)

// What the job selects, and the structure of what it selects: read once
// through the same code the runner uses (Source.ListTables, transform.Select,
// Source.ReadTables, Sink.MapTable).

// errSelection is the error of facts that need a selection the job does not have.
var errSelection = errs.New("Precheck.Selection", "the job's selection has problems (see objects.selection)").
	WithFix("fix the item objects.selection first")

type selected = transform.Selected

// selection returns the selected tables, sorted by source name.
func (e *env) selected(ctx context.Context) ([]selected, error) {
	return e.selection.get(ctx, e, func(ctx context.Context) ([]selected, error) {
		src, err := e.openSource(ctx)
		if err != nil {
			return nil, err
		}
		refs, err := src.ListTables(ctx)
		if err != nil {
			return nil, fmt.Errorf("list the source's tables: %w", err)
		}
		return transform.Select(e.spec, refs)
	})
}

// selectedOK is selected for checks that need a usable selection.
func (e *env) selectedOK(ctx context.Context) ([]selected, error) {
	sel, err := e.selected(ctx)
	if errs.CodeOf(err) == errs.InvalidParameter {
		return nil, errSelection
	}
	return sel, err
}

// tableFacts is one selected table: its source structure and, once mapped,
// its target table with the mapping's problems.
type tableFacts struct {
	sel      selected
	src      *schema.Table
	target   *schema.Table
	problems []connector.TypeProblem
}

// tables reads the structure of every selected table and maps it onto the
// target (the target side needs the sink; without it, target stays nil and
// mapErr says why).
func (e *env) tables(ctx context.Context) ([]*tableFacts, error) {
	return e.structure.get(ctx, e, func(ctx context.Context) ([]*tableFacts, error) {
		sel, err := e.selectedOK(ctx)
		if err != nil {
			return nil, err
		}
		src, err := e.openSource(ctx)
		if err != nil {
			return nil, err
		}
		refs := make([]connector.TableRef, len(sel))
		for i, s := range sel {
			refs[i] = s.Source
		}
		read, err := src.ReadTables(ctx, refs)
		if err != nil {
			return nil, fmt.Errorf("read the structure of the selected tables: %w", err)
		}
		out := make([]*tableFacts, len(read))
		for i, t := range read {
			out[i] = &tableFacts{sel: sel[i], src: t}
		}
		return out, nil
	})
}

// mapped returns the tables with their target structure, as the runner maps them.
func (e *env) mapped(ctx context.Context) ([]*tableFacts, error) {
	tables, err := e.tables(ctx)
	if err != nil {
		return nil, err
	}
	sink, err := e.openSink(ctx)
	if err != nil {
		return nil, err
	}
	rf, _ := e.ruleFacts(ctx) // the runner's plans: excluded columns are not mapped
	e.mapOnce.Do(func() {
		targetOf := map[string]connector.TableRef{}
		for _, t := range tables {
			targetOf[t.sel.Source.String()] = t.sel.Target
		}
		for _, t := range tables {
			if rf != nil {
				if p, ok := rf.plans[t.src.QualifiedName()]; ok {
					t.target, t.problems = p.Target, p.Problems
					continue
				}
			}
			t.target, t.problems = sink.MapTable(renamed(t.src, targetOf), string(e.spec.Source.Engine))
		}
	})
	return tables, nil
}

// renamed is runner.renamed without the warnings: the source table under its
// target names, foreign keys to tables the job does not move left out.
func renamed(st *schema.Table, targetOf map[string]connector.TableRef) *schema.Table {
	t := *st
	to := targetOf[st.QualifiedName()]
	t.Schema, t.Name = to.Schema, to.Name
	t.ForeignKeys = nil
	for _, fk := range st.ForeignKeys {
		if ref, ok := targetOf[fk.RefSchema+"."+fk.RefTable]; ok {
			fk.RefSchema, fk.RefTable = ref.Schema, ref.Name
			t.ForeignKeys = append(t.ForeignKeys, fk)
		}
	}
	return &t
}

func checkSelection(ctx context.Context, e *env) Outcome {
	sel, err := e.selected(ctx)
	if ce, ok := errs.As(err); ok && ce.Code == errs.InvalidParameter {
		var problems []string
		for _, f := range ce.Fields {
			problems = append(problems, f.Error())
		}
		return failed("%s", strings.Join(problems, "; ")).with("problems", problems).
			fix("correct the objects of the job: names are case-sensitive, and a table key that is not a glob must exist on the source; " +
				"the source user sees only the databases and tables it holds a privilege on, so grant it SELECT on them (see source.privileges.select)")
	}
	if err != nil {
		return notChecked(err)
	}
	perDB := map[string]int{}
	for _, s := range sel {
		perDB[s.Source.Schema]++
	}
	return passed("%d tables in %d databases/schemas selected", len(sel), len(perDB)).
		with("tables", len(sel)).with("per_database", perDB)
}

// ruleFacts are the job's object rules compiled against the source's
// tables, as the runner compiles them (transform.Compiler): the plans of
// the tables that compile, by source table, and the problems by rule.
type ruleFacts struct {
	plans    map[string]*transform.Plan
	problems transform.Problems
}

func (e *env) ruleFacts(ctx context.Context) (*ruleFacts, error) {
	return e.rules.get(ctx, e, func(ctx context.Context) (*ruleFacts, error) {
		tables, err := e.tables(ctx)
		if err != nil {
			return nil, err
		}
		sel, err := e.selectedOK(ctx)
		if err != nil {
			return nil, err
		}
		sink, err := e.openSink(ctx)
		if err != nil {
			return nil, err
		}
		srcs := make([]*schema.Table, len(tables))
		for i, t := range tables {
			srcs[i] = t.src
		}
		plans, problems := transform.NewCompiler(e.spec, sel, sink).Check(srcs)
		rf := &ruleFacts{plans: map[string]*transform.Plan{}, problems: problems}
		for _, p := range plans {
			rf.plans[p.Source.QualifiedName()] = p
		}
		return rf, nil
	})
}

// ruleOutcome reports a rule's problems, each with its job file field.
func ruleOutcome(problems []errs.FieldError, none, ok string, fix string) Outcome {
	if len(problems) == 0 {
		if none != "" {
			return passed("%s", none)
		}
		return passed("%s", ok)
	}
	var msgs []string
	for _, p := range problems {
		msgs = append(msgs, p.Error())
	}
	return failed("%s", strings.Join(msgs, "; ")).with("problems", msgs).fix("%s", fix)
}

// checkFilters: every row filter parses against its table's columns and
// types, in the source's dialect (the job file's check covered grammar
// and allow-list without the tables).
func checkFilters(ctx context.Context, e *env) Outcome {
	n := 0
	for _, db := range e.spec.Objects {
		for _, t := range db.Value.Tables {
			if t.Value.Filter != "" {
				n++
			}
		}
	}
	if n == 0 {
		return passed("no row filters")
	}
	rf, err := e.ruleFacts(ctx)
	if err != nil {
		return notChecked(err)
	}
	return ruleOutcome(rf.problems.Filters, "", fmt.Sprintf("%d row filters apply to their tables' columns", n),
		"correct the filter: it may use only the table's columns, literals of their types and the operators and functions the README lists")
}

// checkColumnRules: column renames and exclusions name columns of their
// tables, leave the key alone and clash with no other name; added columns
// have types that hold their values.
func checkColumnRules(ctx context.Context, e *env) Outcome {
	n := 0
	for _, db := range e.spec.Objects {
		for _, t := range db.Value.Tables {
			n += len(t.Value.Columns) + len(t.Value.AddColumns)
		}
	}
	if n == 0 {
		return passed("no column rules")
	}
	rf, err := e.ruleFacts(ctx)
	if err != nil {
		return notChecked(err)
	}
	return ruleOutcome(rf.problems.Columns, "", fmt.Sprintf("%d column rules apply", n),
		"correct the column rules at the fields named: a key column cannot be excluded, and no two columns may end up with one name")
}

// checkMerge: tables merged into one target table (shard merge) agree on
// its structure after their rules.
func checkMerge(ctx context.Context, e *env) Outcome {
	rf, err := e.ruleFacts(ctx)
	if err != nil {
		return notChecked(err)
	}
	groups := map[string]bool{}
	for _, p := range rf.plans {
		if len(p.Merge) > 1 {
			groups[p.Target.QualifiedName()] = true
		}
	}
	if len(groups) == 0 && len(rf.problems.Merges) == 0 {
		return passed("no shard merges")
	}
	o := ruleOutcome(rf.problems.Merges, "", fmt.Sprintf("%d merged target tables: their sources agree on the structure", len(groups)),
		"make the merged tables' structures agree on the source, or leave the differing columns out with column rules")
	if o.Status != Passed {
		return o
	}
	keyOnly, apart := mergeCollisions(rf)
	if len(keyOnly) > 0 {
		return warning("%d merged target tables cannot tell their sources' rows apart: %s; a key two sources hold stops the job (Apply.Divergence), "+
			"and an update or delete of one source's row could reach another's", len(keyOnly), limit(keyOnly, 10)).
			with("tables", keyOnly).
			fix("add a column that tells the sources apart to each merged table (add_columns from: database or table, or a constant of its own), and keep keys unique across them")
	}
	return warning("%d merged target tables: their sources agree on the structure, but their keys hold no column telling the sources apart: %s; "+
		"a key two sources hold stops the job (Apply.Divergence), never overwriting; updates and deletes touch only their own source's rows",
		len(apart), limit(apart, 10)).with("tables", apart).
		fix("keep the keys unique across the merged tables on the source (e.g. distinct id ranges per shard)")
}

// limit caps a list for messages; details carry the whole list.
func limit(names []string, n int) string {
	if len(names) <= n {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(names[:n], ", "), len(names)-n)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
