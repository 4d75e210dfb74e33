package transform

import (
	"fmt"
	"sort"
	"strings"

	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/schema"
)

// checkMerges checks the tables merged into one target table (shard merge)
// before anything moves: their target structures (after the rules) must
// agree column for column, in name, type and nullability, and in the
// primary key, or rows of one would not fit the table the other creates.
//
// In a job with incremental sync, each merged table must carry inserts:
// without them the merged table holds only the rows copied at the start
// while the others' grow, which no merge means.
func checkMerges(plans []*Plan, incremental bool) []errs.FieldError {
	groups := map[string][]*Plan{}
	for _, p := range plans {
		if len(p.Merge) > 1 {
			groups[p.Target.QualifiedName()] = append(groups[p.Target.QualifiedName()], p)
		}
	}
	var out []errs.FieldError
	for target, group := range groups {
		sort.Slice(group, func(i, j int) bool { return group[i].Source.QualifiedName() < group[j].Source.QualifiedName() })
		for _, p := range group {
			if incremental && !p.DML.Insert {
				out = append(out, errs.FieldError{Path: p.Path() + ".dml", Message: fmt.Sprintf(
					"%s is merged into %s with %s but its dml list leaves out insert: the merged table would hold only the rows copied at the start; carry insert, or do not merge it",
					p.Source, target, strings.Join(others(p.Merge, p.Source.QualifiedName()), ", "))})
			}
		}
		first := group[0]
		for _, p := range group[1:] {
			if d := structureDiff(first.Target, p.Target); d != "" {
				out = append(out, errs.FieldError{Path: p.Path(), Message: fmt.Sprintf(
					"%s and %s are merged into %s but their structures differ: %s; make them agree on the source, or leave the column out with a column rule",
					first.Source, p.Source, target, d)})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path+out[i].Message < out[j].Path+out[j].Message })
	return out
}

// structureDiff describes the first difference between two target tables
// that matters to a merge; "" when they agree.
func structureDiff(a, b *schema.Table) string {
	if len(a.Columns) != len(b.Columns) {
		return fmt.Sprintf("%d columns against %d (%s / %s)", len(a.Columns), len(b.Columns), strings.Join(a.Names(), ", "), strings.Join(b.Names(), ", "))
	}
	for i := range a.Columns {
		x, y := &a.Columns[i], &b.Columns[i]
		switch {
		case x.Name != y.Name:
			return fmt.Sprintf("column %d is %s in one and %s in the other", i+1, x.Name, y.Name)
		case !strings.EqualFold(x.Type.Raw, y.Type.Raw) || x.Type.Kind != y.Type.Kind:
			return fmt.Sprintf("column %s is %s in one and %s in the other", x.Name, x.Type, y.Type)
		case x.Nullable != y.Nullable:
			return fmt.Sprintf("column %s is nullable in only one of them", x.Name)
		}
	}
	if strings.Join(a.PrimaryKey, "\x00") != strings.Join(b.PrimaryKey, "\x00") {
		return fmt.Sprintf("primary key (%s) against (%s)", strings.Join(a.PrimaryKey, ", "), strings.Join(b.PrimaryKey, ", "))
	}
	return ""
}

// others returns list without name.
func others(list []string, name string) []string {
	var out []string
	for _, s := range list {
		if s != name {
			out = append(out, s)
		}
	}
	return out
}
