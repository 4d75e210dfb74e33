package transform

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/filter"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// Mapper maps a source table, already under its target names, onto the
// target's types (connector.Sink.MapTable).
type Mapper interface {
	MapTable(src *schema.Table, sourceEngine string) (*schema.Table, []connector.TypeProblem)
}

// DML says which source operations a table carries (its dml list).
type DML struct{ Insert, Update, Delete bool }

// Plan is one source table version compiled with the job's rules: where it
// goes, which columns under which names, which rows, what is added. The
// structure phase creates Target, the full load reads SourceColumns of the
// rows Filter selects and writes them to TargetColumns with the added
// values, incremental sync does the same to every change, compare compares
// the same columns of the same rows. A plan is immutable.
type Plan struct {
	Selected
	// Source is the source table version the plan was compiled for.
	Source *schema.Table
	// Target is the target table: renamed columns, excluded ones left out
	// (with the indexes, keys and checks that used them), added columns
	// last, types in the target's dialect.
	Target *schema.Table
	// SourceColumns are the source columns that move, in source order;
	// TargetColumns are their target names followed by the added columns,
	// and SourceTypes the types of the values rows carry, in that order.
	SourceColumns []string
	TargetColumns []string
	SourceTypes   []schema.Type
	Added         []Added
	// Filter selects the rows that move (nil: every row).
	Filter *filter.Filter
	DML    DML
	// Merge lists every source table that lands on Target when several do
	// (shard merge), sorted; nil otherwise.
	Merge []string
	// Problems are the target's type problems (Sink.MapTable); Warnings
	// say what the rules left out of the target's structure.
	Problems []connector.TypeProblem
	Warnings []string
}

// Path is the job file path of the table's entry, for messages.
func (p *Plan) Path() string { return entryPath(p.ObjectKey, p.TableKey) }

// Carries reports whether the table's dml list carries op.
func (p *Plan) Carries(op change.Op) bool {
	switch op {
	case change.OpInsert:
		return p.DML.Insert
	case change.OpUpdate:
		return p.DML.Update
	case change.OpDelete:
		return p.DML.Delete
	}
	return false
}

// Copied reports whether the plan moves every source column under its own
// name and adds none: rows need no projection.
func (p *Plan) Copied() bool {
	return len(p.Added) == 0 && len(p.SourceColumns) == len(p.Source.Columns) && sameStrings(p.SourceColumns, p.TargetColumns)
}

// AppendAdded appends the added columns' values for a change of op
// committed at at (a full load: insert at the snapshot's time) to row.
func (p *Plan) AppendAdded(row value.Row, op change.Op, at time.Time) value.Row {
	return appendAdded(row, p.Added, p.Source, op, at)
}

// TargetColumn returns the target name of a source column; false when the
// column does not move.
func (p *Plan) TargetColumn(source string) (string, bool) {
	for i, c := range p.SourceColumns {
		if c == source {
			return p.TargetColumns[i], true
		}
	}
	return "", false
}

// Compiler compiles the plans of one job's tables. Make it with the
// selection (Select) and the sink's MapTable; it is safe for concurrent use.
type Compiler struct {
	spec     *job.Spec
	mapper   Mapper
	bySource map[string]Selected
	merges   map[string][]string // target table → its sources, where several
}

// NewCompiler returns the compiler of a job whose selection is selected.
func NewCompiler(spec *job.Spec, selected []Selected, mapper Mapper) *Compiler {
	c := &Compiler{spec: spec, mapper: mapper, bySource: map[string]Selected{}, merges: map[string][]string{}}
	groups := map[string][]string{}
	for _, s := range selected {
		c.bySource[s.Source.String()] = s
		groups[s.Target.String()] = append(groups[s.Target.String()], s.Source.String())
	}
	for target, sources := range groups {
		if len(sources) > 1 {
			sort.Strings(sources)
			c.merges[target] = sources
		}
	}
	return c
}

// selected returns how the job selects a source table: from the selection,
// else by the job's rules (a table created while the job follows its source).
func (c *Compiler) selected(ref connector.TableRef) (Selected, bool) {
	if s, ok := c.bySource[ref.String()]; ok {
		return s, true
	}
	return selectOne(c.spec, ref)
}

// Compile compiles the plan of one source table version; nil, nil when the
// job does not move the table. Errors are errs.InvalidParameter naming the
// job file fields at fault.
func (c *Compiler) Compile(src *schema.Table) (*Plan, error) {
	sel, ok := c.selected(connector.TableRef{Schema: src.Schema, Name: src.Name})
	if !ok {
		return nil, nil
	}
	p, problems := c.compile(src, sel)
	if len(problems) > 0 {
		return nil, errs.Invalid(problems)
	}
	return p, nil
}

// Problems are what compiling a job's tables found wrong, by rule.
type Problems struct {
	Filters []errs.FieldError // row filters (objects...filter)
	Columns []errs.FieldError // column rules and added columns
	Merges  []errs.FieldError // tables merged into one target table that disagree
}

func (p Problems) all() []errs.FieldError {
	return dedupe(append(append(append([]errs.FieldError(nil), p.Filters...), p.Columns...), p.Merges...))
}

// CompileAll compiles the plans of the selected tables and checks what
// involves several of them: the tables merged into one target table must
// agree on its structure, and a column rule of a glob entry must name a
// column of at least one table it selects. Every problem is reported.
func (c *Compiler) CompileAll(tables []*schema.Table) ([]*Plan, error) {
	plans, problems := c.Check(tables)
	if all := problems.all(); len(all) > 0 {
		return nil, errs.Invalid(all)
	}
	return plans, nil
}

// Check is CompileAll returning the plans it could compile and the
// problems by rule (prechecks report them as separate items).
func (c *Compiler) Check(tables []*schema.Table) ([]*Plan, Problems) {
	var plans []*Plan
	var problems Problems
	add := func(list []errs.FieldError) {
		for _, f := range list {
			if strings.HasSuffix(f.Path, ".filter") {
				problems.Filters = append(problems.Filters, f)
			} else {
				problems.Columns = append(problems.Columns, f)
			}
		}
	}
	seen := map[string]bool{} // "entry path\x00column key" of glob rules that matched a column
	for _, t := range tables {
		sel, ok := c.selected(connector.TableRef{Schema: t.Schema, Name: t.Name})
		if !ok {
			continue
		}
		p, pr := c.compile(t, sel)
		add(pr)
		if p == nil {
			continue
		}
		plans = append(plans, p)
		if isGlob(sel.ObjectKey) || isGlob(sel.TableKey) {
			for _, r := range sel.Rule.Columns {
				if _, ok := findColumn(t, r.Key, c.sourceMySQL()); ok {
					seen[p.Path()+"\x00"+r.Key] = true
				}
			}
		}
	}
	globs := map[string]bool{}
	for _, p := range plans {
		if !isGlob(p.ObjectKey) && !isGlob(p.TableKey) {
			continue
		}
		for _, r := range p.Rule.Columns {
			k := p.Path() + "\x00" + r.Key
			if !seen[k] && !globs[k] {
				globs[k] = true
				problems.Columns = append(problems.Columns, errs.FieldError{Path: joinPath(p.Path()+".columns", r.Key),
					Message: fmt.Sprintf("no table this entry selects has a column %s", r.Key)})
			}
		}
	}
	problems.Merges = checkMerges(plans, c.spec.EffectivePhases().Incremental)
	return plans, problems
}

func (c *Compiler) sourceMySQL() bool { return c.spec.Source.Engine.IsMySQL() }

// compile builds one plan; problems name job file fields.
func (c *Compiler) compile(src *schema.Table, sel Selected) (*Plan, []errs.FieldError) {
	path := entryPath(sel.ObjectKey, sel.TableKey)
	p := &Plan{Selected: sel, Source: src, DML: dmlOf(sel.Rule.DML), Merge: c.merges[sel.Target.String()]}
	cols, problems := c.columns(src, sel, path)
	added, addProblems := compileAdded(sel.Rule, c.spec.Target.Engine.IsMySQL(), src, path)
	problems = append(problems, addProblems...)
	for _, a := range added {
		for _, cm := range cols {
			if strings.EqualFold(cm.target, a.Name) {
				problems = append(problems, errs.FieldError{Path: path + ".add_columns",
					Message: fmt.Sprintf("%q is already the name of column %s on the target: name the added column differently", a.Name, cm.source)})
			}
		}
	}
	if sel.Rule.Filter != "" {
		f, err := filter.Parse(string(c.spec.Source.Engine), sel.Rule.Filter, src)
		if err != nil {
			problems = append(problems, errs.FieldError{Path: path + ".filter", Message: message(err)})
		}
		p.Filter = f
	}
	if len(src.ChunkKey()) == 0 && c.spec.EffectivePhases().Incremental {
		for _, a := range added {
			if !a.Deterministic() {
				problems = append(problems, errs.FieldError{Path: path + ".add_columns",
					Message: fmt.Sprintf("table %s has no primary or unique key, so incremental sync finds its rows on the target by all their values; "+
						"a column filled from %s differs between changes of one row: add a key to the table, or fill the column from database, table or a constant", src, a.From)})
			}
		}
	}
	if len(problems) > 0 {
		return nil, problems
	}
	shaped := c.shape(src, sel, cols, p)
	target, typeProblems := c.mapper.MapTable(shaped, string(c.spec.Source.Engine))
	p.Problems = typeProblems
	for _, a := range added {
		target.Columns = append(target.Columns, schema.Column{Name: a.Name, Type: a.Type, Nullable: true})
	}
	p.Target = target
	p.Added = added
	for _, cm := range cols {
		p.SourceColumns = append(p.SourceColumns, cm.source)
		p.TargetColumns = append(p.TargetColumns, cm.target)
		p.SourceTypes = append(p.SourceTypes, src.Columns[cm.index].Type)
	}
	for _, a := range added {
		p.TargetColumns = append(p.TargetColumns, a.Name)
		p.SourceTypes = append(p.SourceTypes, a.Type)
	}
	return p, nil
}

func dmlOf(kinds []string) DML {
	if kinds == nil {
		return DML{true, true, true}
	}
	var d DML
	for _, k := range kinds {
		switch k {
		case job.DMLInsert:
			d.Insert = true
		case job.DMLUpdate:
			d.Update = true
		case job.DMLDelete:
			d.Delete = true
		}
	}
	return d
}

// message is an error's text without its code, for a field problem.
func message(err error) string {
	if e, ok := errs.As(err); ok {
		return e.Message
	}
	return err.Error()
}

// entryPath is the job file path of an objects entry.
func entryPath(objectKey, tableKey string) string {
	p := joinPath("objects", objectKey)
	if tableKey != "" {
		p = joinPath(p+".tables", tableKey)
	}
	return p
}

// joinPath is job's field path syntax: keys with dots, spaces, quotes or
// brackets are quoted.
func joinPath(path, key string) string {
	if key == "" || strings.ContainsAny(key, ". \"[]") {
		key = strconv.Quote(key)
	}
	return path + "." + key
}

func dedupe(in []errs.FieldError) []errs.FieldError {
	seen := map[errs.FieldError]bool{}
	var out []errs.FieldError
	for _, f := range in {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
