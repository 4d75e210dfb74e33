package compare

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/transform"
)

// objects compares a table's structure: the target table against what the
// sink's MapTable makes of the source table (the table a structure phase
// creates): columns with their mapped types and nullability, the primary
// key, unique and secondary indexes (by columns; names differ across
// engines; expression parts count as expressions), foreign keys.
// Defaults, comments, checks and collations are not compared.
func objects(p *pair, targetMySQL bool) TableReport {
	rep := TableReport{Table: p.name, Target: p.target.String(), Status: StatusEqual}
	add := func(object, kind, expected, actual string) {
		rep.Objects = append(rep.Objects, ObjectDiff{Object: object, Kind: kind, Expected: expected, Actual: actual})
	}
	if p.dst == nil {
		add("table", "missing", p.target.String(), "")
		rep.Status = StatusDifferent
		return rep
	}
	want, got := p.want, p.dst // want: the plan's target (renamed, excluded left out, added last)
	for _, wc := range want.Columns {
		gc := findColumn(got, wc.Name)
		switch {
		case gc == nil:
			add("column "+wc.Name, "missing", wc.Type.String(), "")
		case typeSignature(wc.Type) != typeSignature(gc.Type):
			add("column "+wc.Name, "different", wc.Type.String(), gc.Type.String())
		case wc.Nullable != gc.Nullable:
			add("column "+wc.Name, "different", nullability(wc.Nullable), nullability(gc.Nullable))
		}
	}
	for _, gc := range got.Columns {
		if !slices.ContainsFunc(want.Columns, func(wc schema.Column) bool { return schema.EqualFold(wc.Name, gc.Name) }) {
			add("column "+gc.Name, "extra", "", gc.Type.String())
		}
	}
	if w, g := strings.Join(want.PrimaryKey, ", "), strings.Join(got.PrimaryKey, ", "); !strings.EqualFold(w, g) {
		add("primary key", kindOf(w, g), w, g)
	}
	wantIndexes, gotIndexes := indexSignatures(want), indexSignatures(got)
	if targetMySQL {
		// InnoDB creates an index for a foreign key that has none to use.
		for _, fk := range got.ForeignKeys {
			sig := "index (" + strings.ToLower(strings.Join(fk.Columns, ", ")) + ")"
			if _, ok := wantIndexes[sig]; !ok {
				delete(gotIndexes, sig)
			}
		}
	}
	diffSets(wantIndexes, gotIndexes, add)
	diffSets(fkSignatures(want), fkSignatures(got), add)
	if len(rep.Objects) > 0 {
		rep.Status = StatusDifferent
	}
	return rep
}

func findColumn(t *schema.Table, name string) *schema.Column {
	if c, ok := t.Column(name); ok {
		return c
	}
	for i := range t.Columns {
		if schema.EqualFold(t.Columns[i].Name, name) {
			return &t.Columns[i]
		}
	}
	return nil
}

func nullability(n bool) string {
	if n {
		return "NULL"
	}
	return "NOT NULL"
}

func kindOf(want, got string) string {
	switch {
	case got == "":
		return "missing"
	case want == "":
		return "extra"
	}
	return "different"
}

// typeSignature is what makes two types hold the same values: the kind and
// the parameters that bound its values, whatever each engine calls it.
func typeSignature(t schema.Type) string {
	var b strings.Builder
	b.WriteString(t.Kind.String())
	switch {
	case t.IsInteger():
		if t.Unsigned {
			b.WriteString(" unsigned")
		}
	case t.Kind == schema.KindDecimal:
		fmt.Fprintf(&b, "(%d,%d)", t.Precision, t.Scale)
	case t.Kind == schema.KindChar, t.Kind == schema.KindVarChar, t.Kind == schema.KindBinary, t.Kind == schema.KindVarBinary:
		fmt.Fprintf(&b, "(%d)", t.Length)
	case t.Kind == schema.KindText, t.Kind == schema.KindBlob:
		fmt.Fprintf(&b, " size %d", t.Size)
	case t.Kind == schema.KindTime, t.Kind == schema.KindDateTime, t.Kind == schema.KindTimestamp,
		t.Kind == schema.KindTimeTZ, t.Kind == schema.KindInterval:
		fmt.Fprintf(&b, "(%d)", t.FSP)
	case t.Kind == schema.KindEnum, t.Kind == schema.KindSet:
		b.WriteString(strconv.Quote(strings.Join(t.Values, "\x00")))
	case t.Kind == schema.KindBit:
		fmt.Fprintf(&b, "(%d) varying=%t", t.Length, t.VarBit)
	case t.Kind == schema.KindJSON:
		fmt.Fprintf(&b, " jsonb=%t", t.JSONB)
	case t.Kind == schema.KindArray && t.Elem != nil:
		b.WriteString(" of " + typeSignature(*t.Elem))
	case t.Kind == schema.KindUnknown:
		b.WriteString(" " + strings.ToLower(t.Raw))
	}
	if t.Binary {
		b.WriteString(" binary")
	}
	return b.String()
}

// indexSignatures names each index by uniqueness and columns.
func indexSignatures(t *schema.Table) map[string]string {
	out := map[string]string{}
	for _, ix := range t.Indexes {
		var parts []string
		for _, c := range ix.Columns {
			switch {
			case c.Expr != "":
				parts = append(parts, "(expression)")
			case c.Desc:
				parts = append(parts, strings.ToLower(c.Name)+" DESC")
			default:
				parts = append(parts, strings.ToLower(c.Name))
			}
		}
		kind := "index"
		if ix.Unique {
			kind = "unique index"
		}
		sig := kind + " (" + strings.Join(parts, ", ") + ")"
		out[sig] = ix.Name
	}
	return out
}

// fkSignatures names each foreign key by its columns and what they reference.
func fkSignatures(t *schema.Table) map[string]string {
	out := map[string]string{}
	for _, fk := range t.ForeignKeys {
		sig := fmt.Sprintf("foreign key (%s) → %s.%s (%s)", strings.ToLower(strings.Join(fk.Columns, ", ")),
			fk.RefSchema, fk.RefTable, strings.ToLower(strings.Join(fk.RefColumns, ", ")))
		out[sig] = fk.Name
	}
	return out
}

func diffSets(want, got map[string]string, add func(object, kind, expected, actual string)) {
	keys := make([]string, 0, len(want)+len(got))
	for k := range want {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		w, inWant := want[k]
		g, inGot := got[k]
		switch {
		case inWant && !inGot:
			add(k, "missing", w, "")
		case !inWant && inGot:
			add(k, "extra", "", g)
		}
	}
}

// extraTables lists tables of the target schemas the job's tables land in
// that no source table maps onto.
func extraTables(pairs []*pair, onTarget []connector.TableRef) []string {
	schemas, mapped := map[string]bool{}, map[string]bool{}
	for _, p := range pairs {
		schemas[p.target.Schema] = true
		mapped[p.target.String()] = true
	}
	var out []string
	for _, r := range onTarget {
		if schemas[r.Schema] && !mapped[r.String()] && r.Schema != transform.MetaSchema {
			out = append(out, r.String())
		}
	}
	return out
}
