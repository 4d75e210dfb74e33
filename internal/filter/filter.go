package filter

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// Dialect is the SQL dialect a filter is written in: its source's.
type Dialect string

// Dialects.
const (
	MySQL      Dialect = "mysql" // MySQL and MariaDB
	PostgreSQL Dialect = "postgresql"
)

// ParseDialect returns the dialect of an engine name: mysql, mariadb or postgresql.
func ParseDialect(engine string) (Dialect, bool) {
	switch strings.ToLower(engine) {
	case "mysql", "mariadb":
		return MySQL, true
	case "postgresql", "postgres":
		return PostgreSQL, true
	}
	return "", false
}

// Limits on a filter.
const (
	MaxBytes  = 16 << 10 // text length
	MaxDepth  = 64       // nesting of parentheses and of the expression tree
	MaxNodes  = 4096     // nodes of the expression tree
	maxTokens = MaxBytes
)

// Filter is a parsed, checked row filter for one table. It is immutable and
// safe for concurrent use.
type Filter struct {
	dialect Dialect
	table   *schema.Table
	root    node
	cols    []int // ordinals of the referenced columns, ascending
}

// Parse reads src, a condition in dialect (mysql, mariadb or postgresql) on
// the columns of t. t must stay unchanged while the Filter is used. Every
// error is an errs.InvalidParameter whose message names the problem without
// a field path: callers prefix the job file path.
func Parse(dialect string, src string, t *schema.Table) (*Filter, error) {
	d, ok := ParseDialect(dialect)
	if !ok {
		return nil, fmt.Errorf("filter: unknown dialect %q", dialect)
	}
	root, collated, err := parse(d, src, t)
	if err != nil {
		return nil, err
	}
	if err := check(d, t, root, collated); err != nil {
		return nil, err
	}
	f := &Filter{dialect: d, table: t, root: root}
	walk(root, func(n node) {
		if c, ok := n.(*column); ok && !slices.Contains(f.cols, c.idx) {
			f.cols = append(f.cols, c.idx)
		}
	})
	slices.Sort(f.cols)
	return f, nil
}

// Validate checks src as far as that is possible without the table: the
// lexical rules, the grammar and the allow-list, but not column names and
// types. Job validation, which has no database, calls it; Parse, at
// precheck and at run time, checks the rest. Errors are as Parse's.
func Validate(dialect string, src string) error {
	d, ok := ParseDialect(dialect)
	if !ok {
		return fmt.Errorf("filter: unknown dialect %q", dialect)
	}
	_, _, err := parse(d, src, nil)
	return err
}

// Dialect returns the dialect the filter was written in.
func (f *Filter) Dialect() Dialect { return f.dialect }

// String returns the canonical form of the tree (for logs and messages; not SQL).
func (f *Filter) String() string { return canonical(f.root) }

// Columns returns the names of the columns the filter reads, in table order.
// The change stream uses it to know whether a row image carries them all: a
// key-only old image or an unchanged-TOAST column without its value makes the
// result unknown, and the caller must not call Eval with a made-up value.
func (f *Filter) Columns() []string {
	out := make([]string, len(f.cols))
	for i, c := range f.cols {
		out[i] = f.table.Columns[c].Name
	}
	return out
}

// ColumnIndexes returns the ordinals of the columns the filter reads, ascending.
func (f *Filter) ColumnIndexes() []int { return slices.Clone(f.cols) }

// Result is a filter's three-valued result.
type Result int8

// Results.
const (
	False   Result = iota
	True           // the row is selected
	Unknown        // SQL NULL: the row is not selected
)

func (r Result) String() string { return [...]string{"false", "true", "unknown"}[r] }

// Eval reports whether the filter selects row, a row of the table in
// canonical form (internal/value; nil is NULL) with one value per column.
// Only true selects: unknown does not. An error means the row cannot be
// evaluated as the database would (a value that is not in canonical form, an
// arithmetic overflow the database would also fail on).
func (f *Filter) Eval(row value.Row) (bool, error) {
	r, err := f.Test(row)
	return r == True, err
}

// Test evaluates the filter on row with three-valued logic.
func (f *Filter) Test(row value.Row) (Result, error) {
	if len(row) != len(f.table.Columns) {
		return Unknown, fmt.Errorf("filter on %s: the row has %d values, the table %d columns", f.table, len(row), len(f.table.Columns))
	}
	e := &evaluator{d: f.dialect, row: row}
	v, err := e.where(f.root)
	if err != nil {
		return Unknown, fmt.Errorf("filter on %s: %w", f.table, err)
	}
	switch {
	case v.null:
		return Unknown, nil
	case v.b:
		return True, nil
	}
	return False, nil
}

// SQL renders the filter as a condition for dialect, in parentheses, ready
// to be ANDed into a WHERE clause. Rendered for the filter's own dialect it
// means exactly what Eval computes. Rendered for the other dialect it is the
// same condition, but that engine evaluates it with its own collations and
// typing rules.
func (f *Filter) SQL(dialect Dialect) string {
	d, ok := ParseDialect(string(dialect))
	if !ok {
		panic(fmt.Sprintf("filter: unknown dialect %q", dialect))
	}
	r := &renderer{d: d}
	r.cond(f.root)
	return r.b.String()
}

// invalid returns the error of a filter a user must fix.
func invalid(format string, args ...any) *errs.Error {
	return errs.New(errs.InvalidParameter, format, args...)
}

// invalidAt is invalid with the byte offset of the offending part.
func invalidAt(offset int, format string, args ...any) *errs.Error {
	return invalid(format, args...).WithDetail("offset", offset)
}
