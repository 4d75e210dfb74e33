package transform

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
)

// colMap is a source column that moves and its target name.
type colMap struct {
	source, target string
	index          int // ordinal in the source table
}

// findColumn finds a column by the name a rule gives: exactly, or (MySQL,
// whose column names are case-insensitive) ignoring case.
func findColumn(t *schema.Table, name string, mysql bool) (int, bool) {
	if i := t.ColumnIndex(name); i >= 0 {
		return i, true
	}
	if mysql {
		for i := range t.Columns {
			if schema.EqualFold(t.Columns[i].Name, name) {
				return i, true
			}
		}
	}
	return -1, false
}

// columnRule returns the rule a table's entry gives a source column.
func columnRule(rule job.TableRule, col string, mysql bool) (string, job.ColumnRule, bool) {
	if r, ok := rule.Columns.Get(col); ok {
		return col, r, true
	}
	if mysql {
		for _, e := range rule.Columns {
			if schema.EqualFold(e.Key, col) {
				return e.Key, e.Value, true
			}
		}
	}
	return "", job.ColumnRule{}, false
}

// columns applies the column rules of a table: which source columns move,
// under which names. A rule for a column the table lacks (from an entry
// that names the table, not a glob), an excluded key column and two
// columns landing on one target name are problems.
func (c *Compiler) columns(src *schema.Table, sel Selected, path string) ([]colMap, []errs.FieldError) {
	mysql := c.sourceMySQL()
	var problems []errs.FieldError
	rulePath := func(key string) string { return joinPath(path+".columns", key) }
	if !isGlob(sel.ObjectKey) && !isGlob(sel.TableKey) {
		for _, r := range sel.Rule.Columns {
			if _, ok := findColumn(src, r.Key, mysql); !ok {
				problems = append(problems, errs.FieldError{Path: rulePath(r.Key), Message: fmt.Sprintf("the source table %s has no column %s", src, r.Key)})
			}
		}
	}
	key := slices.Clone(src.PrimaryKey)
	for _, k := range src.ChunkKey() {
		if !slices.Contains(key, k) {
			key = append(key, k)
		}
	}
	var out []colMap
	byTarget := map[string]string{} // lower-cased target name → source column
	for i, col := range src.Columns {
		k, r, ok := columnRule(sel.Rule, col.Name, mysql)
		target := col.Name
		switch {
		case ok && r.Exclude:
			if slices.Contains(key, col.Name) {
				problems = append(problems, errs.FieldError{Path: rulePath(k), Message: fmt.Sprintf(
					"%s is a column of the key of %s (%s): a key column cannot be excluded, because incremental sync and compare find rows by it; rename it instead, or remove the rule",
					col.Name, src, strings.Join(key, ", "))})
			}
			continue
		case ok && r.Name != "":
			target = r.Name
		}
		out = append(out, colMap{source: col.Name, target: target, index: i})
	}
	// A clash is reported on the rule that caused it: a renamed column.
	for _, cm := range out {
		low := strings.ToLower(cm.target)
		if prev, dup := byTarget[low]; dup {
			at := cm.source
			if cm.source == cm.target { // the other one was renamed onto this name
				at = prev
			}
			k, r, _ := columnRule(sel.Rule, at, mysql)
			other := prev
			if at == prev {
				other = cm.source
			}
			problems = append(problems, errs.FieldError{Path: rulePath(k) + ".name",
				Message: fmt.Sprintf("%q is also the target name of column %s of %s: two columns cannot land on one name", r.Name, other, src)})
			continue
		}
		byTarget[low] = cm.source
	}
	return out, problems
}

// shape returns the source table under its target names with the column
// rules applied, for the sink's MapTable: columns renamed or left out;
// indexes, foreign keys and checks that use a left-out column dropped (with
// a warning); generated columns whose expression names a renamed or
// left-out column made plain columns holding the copied values.
func (c *Compiler) shape(src *schema.Table, sel Selected, cols []colMap, p *Plan) *schema.Table {
	mysql := c.sourceMySQL()
	t := *src
	t.Schema, t.Name = sel.Target.Schema, sel.Target.Name
	rename := map[string]string{}
	var changed []string // source names whose name or presence changed
	for _, cm := range cols {
		rename[cm.source] = cm.target
		if cm.source != cm.target {
			changed = append(changed, cm.source)
		}
	}
	for _, col := range src.Columns {
		if _, ok := rename[col.Name]; !ok {
			changed = append(changed, col.Name)
		}
	}
	warn := func(format string, args ...any) {
		p.Warnings = append(p.Warnings, fmt.Sprintf("%s: ", src)+fmt.Sprintf(format, args...))
	}
	t.Columns = nil
	for _, cm := range cols {
		col := src.Columns[cm.index]
		col.Name = cm.target
		if col.Generated != nil && mentions(col.Generated.Expr, changed) {
			warn("column %s is generated from a column the job renames or leaves out; the target gets a plain column holding the copied values", cm.source)
			col.Generated = nil
		}
		t.Columns = append(t.Columns, col)
	}
	t.PrimaryKey = renameAll(src.PrimaryKey, rename)
	t.Indexes = nil
	for _, ix := range src.Indexes {
		ok := !mentions(ix.Where, changed)
		var parts []schema.IndexColumn
		for _, part := range ix.Columns {
			if part.Expr != "" {
				ok = ok && !mentions(part.Expr, changed)
			} else if n, moved := rename[part.Name]; moved {
				part.Name = n
			} else {
				ok = false
			}
			parts = append(parts, part)
		}
		if !ok {
			warn("index %s uses a column the job leaves out or renames in an expression; it is not created", ix.Name)
			continue
		}
		ix.Columns = parts
		t.Indexes = append(t.Indexes, ix)
	}
	t.Checks = nil
	for _, ck := range src.Checks {
		if mentions(ck.Expr, changed) {
			warn("check %s uses a column the job renames or leaves out; it is not created", ck.Name)
			continue
		}
		t.Checks = append(t.Checks, ck)
	}
	t.ForeignKeys = nil
	for _, fk := range src.ForeignKeys {
		ref, ok := c.selected(connector.TableRef{Schema: fk.RefSchema, Name: fk.RefTable})
		if !ok {
			warn("foreign key %s references %s.%s, which the job does not move; the key is not created", fk.Name, fk.RefSchema, fk.RefTable)
			continue
		}
		cols, okCols := renameSome(fk.Columns, rename)
		var refCols []string
		okRef := true
		for _, rc := range fk.RefColumns {
			_, r, has := columnRule(ref.Rule, rc, mysql)
			switch {
			case has && r.Exclude:
				okRef = false
			case has && r.Name != "":
				refCols = append(refCols, r.Name)
			default:
				refCols = append(refCols, rc)
			}
		}
		if !okCols || !okRef {
			warn("foreign key %s uses a column the job leaves out; the key is not created", fk.Name)
			continue
		}
		fk.Columns, fk.RefColumns = cols, refCols
		fk.RefSchema, fk.RefTable = ref.Target.Schema, ref.Target.Name
		t.ForeignKeys = append(t.ForeignKeys, fk)
	}
	return &t
}

// mentions reports whether an expression may use one of the columns: by
// name, ignoring case and quotes (a false alarm only drops an object, with
// a warning).
func mentions(expr string, cols []string) bool {
	if expr == "" {
		return false
	}
	low := strings.ToLower(expr)
	for _, c := range cols {
		if strings.Contains(low, strings.ToLower(c)) {
			return true
		}
	}
	return false
}

func renameAll(names []string, rename map[string]string) []string {
	out, _ := renameSome(names, rename)
	return out
}

// renameSome renames names; false when one of them does not move.
func renameSome(names []string, rename map[string]string) ([]string, bool) {
	if names == nil {
		return nil, true
	}
	out := make([]string, 0, len(names))
	ok := true
	for _, n := range names {
		if r, moved := rename[n]; moved {
			out = append(out, r)
		} else {
			ok = false
		}
	}
	return out, ok
}
