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
	e.mapOnce.Do(func() {
		targetOf := map[string]connector.TableRef{}
		for _, t := range tables {
			targetOf[t.sel.Source.String()] = t.sel.Target
		}
		for _, t := range tables {
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

// checkColumnRules: column renames, exclusions and added columns come with
// the object-rules feature; until then they would be ignored silently.
func checkColumnRules(_ context.Context, e *env) Outcome {
	var paths []string
	for _, db := range e.spec.Objects {
		for _, t := range db.Value.Tables {
			p := fmt.Sprintf("objects.%s.tables.%s", db.Key, t.Key)
			if len(t.Value.Columns) > 0 {
				paths = append(paths, p+".columns")
			}
			if len(t.Value.AddColumns) > 0 {
				paths = append(paths, p+".add_columns")
			}
		}
	}
	if len(paths) == 0 {
		return passed("no column rules")
	}
	return failed("column rules (rename, exclude, add_columns) are not supported by this version yet: "+
		"every source column would be copied under its own name: %s", strings.Join(paths, ", ")).
		with("rules", paths).
		fix("remove the column rules; to leave a column out, exclude it from a view or copy on the source")
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
