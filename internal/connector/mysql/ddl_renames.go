package mysql

import (
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/dtsorg/dts/internal/schema"
)

// Column renames as a statement states them (change.DDL.Renames): CHANGE
// [COLUMN] old new and RENAME COLUMN old TO new. The apply side carries
// exactly these; a column dropped and another added in its place is never
// a rename, whatever their positions.

// columnNames follows one ALTER TABLE's clauses from the table's columns
// before it: which original column each current name is.
type columnNames struct {
	current map[string]string // original name → its name now; dropped columns are gone
}

func newColumnNames(old *schema.Table) *columnNames {
	n := &columnNames{current: make(map[string]string, len(old.Columns))}
	for _, c := range old.Columns {
		n.current[c.Name] = c.Name
	}
	return n
}

// original returns the original column now named name (MySQL compares
// column names case-insensitively).
func (n *columnNames) original(name string) (string, bool) {
	for o, cur := range n.current {
		if strings.EqualFold(cur, name) {
			return o, true
		}
	}
	return "", false
}

// apply follows one clause (after the schema history applied it).
func (n *columnNames) apply(spec *ast.AlterTableSpec) {
	switch spec.Tp {
	case ast.AlterTableChangeColumn:
		if spec.OldColumnName != nil && len(spec.NewColumns) > 0 {
			n.rename(spec.OldColumnName.Name.O, spec.NewColumns[0].Name.Name.O)
		}
	case ast.AlterTableRenameColumn:
		if spec.OldColumnName != nil && spec.NewColumnName != nil {
			n.rename(spec.OldColumnName.Name.O, spec.NewColumnName.Name.O)
		}
	case ast.AlterTableDropColumn:
		if spec.OldColumnName != nil {
			if o, ok := n.original(spec.OldColumnName.Name.O); ok {
				delete(n.current, o)
			}
		}
	}
}

// rename records that the column named from is named to now. A column the
// statement added earlier is not an original one: nothing to record.
func (n *columnNames) rename(from, to string) {
	if o, ok := n.original(from); ok {
		n.current[o] = to
	}
}

// renames returns the original → new names that changed; nil when none.
func (n *columnNames) renames() map[string]string {
	var out map[string]string
	for o, cur := range n.current {
		if o != cur {
			if out == nil {
				out = map[string]string{}
			}
			out[o] = cur
		}
	}
	return out
}

// renamesInText finds the renames of a statement the parser cannot read,
// from its words: CHANGE [COLUMN] [IF EXISTS] old new, RENAME COLUMN old
// TO new, each confirmed by the structures before (old) and after (t): old
// had the old name and not the new one, t has the new name and not the old
// one. A clause that renames an original column but that the structures do
// not confirm (names traded within the statement) makes ok false: the
// caller stops rather than guess.
func renamesInText(sql string, old, t *schema.Table) (renames map[string]string, ok bool) {
	words := identifiers(sql)
	word := func(i int, w string) bool { return i < len(words) && strings.EqualFold(words[i], w) }
	ok = true
	add := func(from, to string) {
		o := columnIndexFold(old, from)
		if o < 0 {
			return // not an original column (added by the statement, or IF EXISTS)
		}
		if old.Columns[o].Name == to {
			return // CHANGE a a …: a new definition, the same name
		}
		n := columnIndexFold(t, to)
		if n < 0 || !strings.EqualFold(from, to) && (columnIndexFold(t, from) >= 0 || columnIndexFold(old, to) >= 0) {
			ok = false
			return
		}
		if renames == nil {
			renames = map[string]string{}
		}
		renames[old.Columns[o].Name] = t.Columns[n].Name
	}
	for i := 0; i < len(words); i++ {
		switch {
		case word(i, "CHANGE"):
			j := i + 1
			if word(j, "COLUMN") {
				j++
			}
			if word(j, "IF") && word(j+1, "EXISTS") {
				j += 2
			}
			if j+1 < len(words) {
				add(words[j], words[j+1])
			}
		case word(i, "RENAME") && word(i+1, "COLUMN") && word(i+3, "TO") && i+4 < len(words):
			add(words[i+2], words[i+4])
		}
	}
	return renames, ok
}
