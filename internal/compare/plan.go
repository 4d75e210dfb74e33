package compare

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/filter"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/transform"
)

// Engines opens connectors for endpoints (the shape of runner.Engines).
type Engines interface {
	OpenSource(ctx context.Context, e job.Endpoint, log *slog.Logger) (connector.Source, error)
	OpenSink(ctx context.Context, e job.Endpoint, log *slog.Logger) (connector.Sink, error)
}

// pair is a source table and the target table the job maps it onto.
type pair struct {
	name   string // source schema.name: the table's name in reports
	target connector.TableRef
	src    *schema.Table   // as the source has it
	dst    *schema.Table   // as the target has it; nil when missing
	want   *schema.Table   // the target table the job's plan makes of src
	plan   *transform.Plan // the job's rules for the table, as every phase applies them
	// filter is the plan's row filter rendered for the source's dialect
	// ("" for none): the source side compares only the rows that move.
	filter string
	// fixed are target columns whose value tells this source's rows apart
	// in a merged target table (added columns from database, table or a
	// constant): the target side compares only the rows holding them.
	fixed []fixedValue
	cols  []*col // the compared columns
	key   []int  // positions in cols of the chunk key; nil: no key
	mode  string // content: modeRange, modeHash or modeRows
	// skip says why the content cannot be compared ("" when it can).
	skip string
	// notes are column problems that do not stop the compare.
	notes []string
	// fill are the added columns whose values the compare cannot
	// recompute (from operation or commit_time): not compared, and filled
	// by the repair as the job fills them for a change.
	fill []fillCol
}

// fillCol is a target column the job fills and the compare does not compare.
type fillCol struct {
	c     *schema.Column // on the target
	added *transform.Added
}

// fixedValue is a target column and the value every row of one source holds in it.
type fixedValue struct {
	name string
	val  []byte
}

// Content compare modes.
const (
	modeRange = "range" // chunks are key ranges: the key orders alike on both sides
	modeHash  = "hash"  // chunks are hash buckets of the key
	modeRows  = "rows"  // no key: hash buckets of whole rows
)

// col is a compared column: one column on each side.
type col struct {
	name  string            // source name
	tname string            // target name
	c     [2]*schema.Column // source, target
	class fieldClass
	// goHashed columns are fetched raw and hashed in Go (see canon.go).
	goHashed bool
	// normDecimal trims trailing fraction zeros (the scales differ).
	normDecimal bool
	// added: the column is one the job adds (add_columns) with a value it
	// knows for every row of the source table (a constant, the source's
	// database or table name): the source side selects that value, lit
	// (in compare form), as a literal.
	added bool
	lit   []byte
	// bare says a MySQL side's text column is concatenated as it is, not
	// as bytes: every text column of its table has one collation, so no
	// "illegal mix of collations" can arise (and the copy a cast makes is saved).
	bare [2]bool
	// last: the column's hash field ends the row's joined fields and is
	// never NULL, so its value needs no length prefix (canon.go).
	last bool
}

// markLast marks the last SQL-hashed column when it can go without a
// length prefix: NOT NULL on both sides, not an added literal.
func markLast(cols []*col) {
	for i := len(cols) - 1; i >= 0; i-- {
		k := cols[i]
		if k.goHashed {
			continue
		}
		k.last = !k.added && !k.c[0].Nullable && !k.c[1].Nullable
		return
	}
}

// selectPairs resolves the job's tables (and the compare's table list)
// into pairs, reading both sides' structure.
func selectPairs(ctx context.Context, spec *job.Spec, only []string, src, tgt connector.Source, sink connector.Sink) ([]*pair, error) {
	refs, err := src.ListTables(ctx)
	if err != nil {
		return nil, fmt.Errorf("list source tables: %w", err)
	}
	selected, err := transform.Select(spec, refs)
	if err != nil {
		return nil, err
	}
	all := selected // merges are known from the whole selection
	if selected, err = restrict(selected, only); err != nil {
		return nil, err
	}
	var srcRefs []connector.TableRef
	for _, s := range selected {
		srcRefs = append(srcRefs, s.Source)
	}
	srcTables, err := src.ReadTables(ctx, srcRefs)
	if err != nil {
		return nil, fmt.Errorf("read source tables: %w", err)
	}
	comp := transform.NewCompiler(spec, all, sink)
	var plans []*transform.Plan
	for _, t := range srcTables {
		pl, err := comp.Compile(t)
		if err != nil {
			return nil, err
		}
		if pl != nil {
			plans = append(plans, pl)
		}
	}
	onTarget, err := tgt.ListTables(ctx)
	if err != nil {
		return nil, fmt.Errorf("list target tables: %w", err)
	}
	var dstRefs []connector.TableRef
	for _, s := range selected {
		if slices.Contains(onTarget, s.Target) && !slices.Contains(dstRefs, s.Target) {
			dstRefs = append(dstRefs, s.Target)
		}
	}
	dstTables, err := tgt.ReadTables(ctx, dstRefs)
	if err != nil {
		return nil, fmt.Errorf("read target tables: %w", err)
	}
	dstByName := map[string]*schema.Table{}
	for _, t := range dstTables {
		dstByName[t.QualifiedName()] = t
	}
	d, _ := filter.ParseDialect(string(spec.Source.Engine))
	var out []*pair
	for _, pl := range plans {
		p := &pair{name: pl.Source.QualifiedName(), target: pl.Selected.Target, src: pl.Source, dst: dstByName[pl.Selected.Target.String()], want: pl.Target, plan: pl}
		if pl.Filter != nil {
			p.filter = pl.Filter.SQL(d)
		}
		p.merge(plans)
		p.columns(spec.Source.Engine.IsMySQL() == spec.Target.Engine.IsMySQL())
		if spec.EffectivePhases().Incremental {
			p.dmlNote()
		}
		for i, e := range []job.Endpoint{spec.Source, spec.Target} {
			if e.Engine.IsMySQL() {
				mysqlBare(p.cols, i)
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// unmerged says why a merged table's rows cannot be counted on their own
// ("" when they can).
func (p *pair) unmerged() string {
	if p.plan != nil && len(p.plan.Merge) > 1 && p.fixed == nil {
		return p.skip
	}
	return ""
}

// merge finds, for a table merged with others into one target table, the
// added columns whose values tell its rows apart from theirs; without such
// columns its rows cannot be compared on their own.
func (p *pair) merge(plans []*transform.Plan) {
	if len(p.plan.Merge) < 2 {
		return
	}
	var fixed []fixedValue
	for i := range p.plan.Added {
		a := &p.plan.Added[i]
		if a.Deterministic() {
			fixed = append(fixed, fixedValue{a.Name, a.Value(p.src, 0, time.Time{})})
		}
	}
	for _, o := range plans {
		if o == p.plan || o.Target.QualifiedName() != p.plan.Target.QualifiedName() {
			continue
		}
		distinct := false
		for _, f := range fixed {
			for i := range o.Added {
				if o.Added[i].Name == f.name && string(o.Added[i].Value(o.Source, 0, time.Time{})) != string(f.val) {
					distinct = true
				}
			}
		}
		if !distinct {
			p.skip = fmt.Sprintf("the target table merges %s and no added column (from database, table or a constant) tells their rows apart",
				strings.Join(p.plan.Merge, ", "))
			return
		}
	}
	p.fixed = fixed
}

// restrict keeps the selected tables that only names ("schema.table" or
// "table"); every name must match one.
func restrict(sel []transform.Selected, only []string) ([]transform.Selected, error) {
	if len(only) == 0 {
		return sel, nil
	}
	used := make([]bool, len(only))
	var out []transform.Selected
	for _, s := range sel {
		for i, name := range only {
			if name == s.Source.String() || !strings.Contains(name, ".") && name == s.Source.Name {
				used[i] = true
				out = append(out, s)
				break
			}
		}
	}
	var problems []errs.FieldError
	for i, ok := range used {
		if !ok {
			problems = append(problems, errs.FieldError{Path: fmt.Sprintf("params.tables[%d]", i),
				Message: fmt.Sprintf("%q is not a table the job moves", clip(only[i]))})
		}
	}
	if len(problems) > 0 {
		return nil, errs.Invalid(problems)
	}
	return out, nil
}

// columns pairs the source columns with the target's, by the job's column
// rules (excluded columns are not compared), and picks the key and mode.
func (p *pair) columns(sameEngine bool) {
	if p.dst == nil {
		p.skip = "the table is missing on the target"
		return
	}
	if p.skip != "" {
		return
	}
	for i := range p.src.Columns {
		sc := &p.src.Columns[i]
		tname, moves := sc.Name, true
		if p.plan != nil {
			tname, moves = p.plan.TargetColumn(sc.Name)
		}
		if !moves { // excluded: not on the target by design
			continue
		}
		dc, ok := p.dst.Column(tname)
		if !ok {
			for j := range p.dst.Columns { // MySQL column names are case-insensitive
				if schema.EqualFold(p.dst.Columns[j].Name, tname) {
					dc, ok = &p.dst.Columns[j], true
				}
			}
		}
		if !ok {
			p.notes = append(p.notes, fmt.Sprintf("column %s is missing on the target: its values are not compared", tname))
			continue
		}
		p.cols = append(p.cols, newCol(sc, dc, sameEngine))
	}
	p.addedColumns(sameEngine)
	if len(p.cols) == 0 {
		p.skip = "no column of the table is on the target"
		return
	}
	markLast(p.cols)
	p.mode = modeRows
	key := p.src.ChunkKey()
	for _, k := range key {
		i := slices.IndexFunc(p.cols, func(c *col) bool { return !c.added && c.name == k })
		if i < 0 {
			p.key = nil
			p.skip = fmt.Sprintf("the key column %s is not on the target", k)
			return
		}
		p.key = append(p.key, i)
	}
	if len(p.key) == 0 {
		return
	}
	p.mode = modeRange
	for _, i := range p.key {
		if !rangeable(p.cols[i], sameEngine) {
			p.mode = modeHash
		}
	}
}

// keyNames returns the source names of the key columns.
func (p *pair) keyNames() []string {
	out := make([]string, len(p.key))
	for i, k := range p.key {
		out[i] = p.cols[k].name
	}
	return out
}

// rangeable reports whether both sides order a key column alike, so that a
// key range holds the same rows on both: numbers and times everywhere; on
// one engine also text of the same collation and bytes.
func rangeable(c *col, sameEngine bool) bool {
	ordered := func(k schema.Kind) bool {
		switch k {
		case schema.KindInt8, schema.KindInt16, schema.KindInt24, schema.KindInt32, schema.KindInt64, schema.KindYear,
			schema.KindDecimal, schema.KindDate, schema.KindDateTime, schema.KindTimestamp:
			return true
		}
		return false
	}
	s, t := c.c[0], c.c[1]
	if ordered(s.Type.Kind) && ordered(t.Type.Kind) {
		return true
	}
	if !sameEngine || s.Type.Kind != t.Type.Kind {
		return false
	}
	switch {
	case s.Type.IsBinary() || s.Type.Binary:
		return t.Type.IsBinary() || t.Type.Binary
	case s.Type.Kind == schema.KindChar || s.Type.Kind == schema.KindVarChar || s.Type.Kind == schema.KindText:
		return s.Collation != "" && s.Collation == t.Collation && s.Charset == t.Charset
	}
	return false
}
