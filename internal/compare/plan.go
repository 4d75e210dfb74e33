package compare

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
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
	src    *schema.Table // as the source has it
	dst    *schema.Table // as the target has it; nil when missing
	want   *schema.Table // what the sink's MapTable makes of src
	rule   job.TableRule
	cols   []*col // the compared columns
	key    []int  // positions in cols of the chunk key; nil: no key
	mode   string // content: modeRange, modeHash or modeRows
	// skip says why the content cannot be compared ("" when it can).
	skip string
	// notes are column problems that do not stop the compare.
	notes []string
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
	// bare says a MySQL side's text column is concatenated as it is, not
	// as bytes: every text column of its table has one collation, so no
	// "illegal mix of collations" can arise (and the copy a cast makes is saved).
	bare [2]bool
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
	if selected, err = restrict(selected, only); err != nil {
		return nil, err
	}
	targetOf := map[string]transform.Selected{}
	var srcRefs []connector.TableRef
	for _, s := range selected {
		targetOf[s.Source.String()] = s
		srcRefs = append(srcRefs, s.Source)
	}
	srcTables, err := src.ReadTables(ctx, srcRefs)
	if err != nil {
		return nil, fmt.Errorf("read source tables: %w", err)
	}
	onTarget, err := tgt.ListTables(ctx)
	if err != nil {
		return nil, fmt.Errorf("list target tables: %w", err)
	}
	var dstRefs []connector.TableRef
	for _, s := range selected {
		if slices.Contains(onTarget, s.Target) {
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
	var out []*pair
	for _, st := range srcTables {
		sel := targetOf[st.QualifiedName()]
		want, _ := sink.MapTable(renamed(st, targetOf), string(spec.Source.Engine))
		p := &pair{name: st.QualifiedName(), target: sel.Target, src: st, dst: dstByName[sel.Target.String()], want: want, rule: sel.Rule}
		p.columns(spec.Source.Engine.IsMySQL() == spec.Target.Engine.IsMySQL())
		for i, e := range []job.Endpoint{spec.Source, spec.Target} {
			if e.Engine.IsMySQL() {
				mysqlBare(p.cols, i)
			}
		}
		out = append(out, p)
	}
	return out, nil
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

// renamed is the source table under its target names, its foreign keys
// pointing at the target names of the tables the job moves (as the runner
// gives it to MapTable).
func renamed(st *schema.Table, targetOf map[string]transform.Selected) *schema.Table {
	t := *st
	to := targetOf[st.QualifiedName()].Target
	t.Schema, t.Name = to.Schema, to.Name
	t.ForeignKeys = nil
	for _, fk := range st.ForeignKeys {
		ref, ok := targetOf[fk.RefSchema+"."+fk.RefTable]
		if !ok {
			continue
		}
		fk.RefSchema, fk.RefTable = ref.Target.Schema, ref.Target.Name
		t.ForeignKeys = append(t.ForeignKeys, fk)
	}
	return &t
}

// columns pairs the source columns with the target's, by the job's column
// rules (excluded columns are not compared), and picks the key and mode.
func (p *pair) columns(sameEngine bool) {
	if p.dst == nil {
		p.skip = "the table is missing on the target"
		return
	}
	for i := range p.src.Columns {
		sc := &p.src.Columns[i]
		tname := sc.Name
		if r, ok := p.rule.Columns.Get(sc.Name); ok {
			if r.Exclude {
				continue
			}
			if r.Name != "" {
				tname = r.Name
			}
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
	if len(p.cols) == 0 {
		p.skip = "no column of the table is on the target"
		return
	}
	p.mode = modeRows
	key := p.src.ChunkKey()
	for _, k := range key {
		i := slices.IndexFunc(p.cols, func(c *col) bool { return c.name == k })
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
