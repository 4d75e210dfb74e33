package compare

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// dialect is an engine's SQL for compares (mysql.go, postgres.go). Every
// identifier is quoted; bound values are parameters, never text in SQL.
type dialect interface {
	quote(name string) string
	from(t *schema.Table) string
	// value is column c's compare form as fetched (NULL for NULL); float
	// columns are fetched raw (see canon.go).
	value(c *schema.Column, k *col) string
	// field is the compare form as hashed: never NULL, see canon.go.
	field(c *schema.Column, k *col, nullable bool) string
	// rowHash is the 60-bit unsigned integer of a row's fields.
	rowHash(fields []string) string
	// bucket is a 32-bit hash of fields modulo m; fromHash the row hash modulo m.
	bucket(fields []string, m int64) string
	// placeholder is the n-th (1-based) parameter as an expression
	// comparable with column c; arg is the parameter for a compare-form value.
	placeholder(c *schema.Column, n int) string
	arg(c *schema.Column, v []byte) (any, error)
	// aggregate is the select list of a checksum: row count and hash sum, as text.
	aggregate(hash string) string
	// text is a text literal (UTF-8, no NUL) whatever the session's settings.
	text(v []byte) string
	// asText casts an expression to text where the driver would otherwise
	// return a binary number.
	asText(expr string) string
	// limitAll ends a fetch so that it runs as a prepared statement where
	// that matters (MySQL's binary protocol prints floats exactly).
	limitAll() (string, any)
	// decode turns a fetched value into its compare form (PostgreSQL float bits).
	decode(c *schema.Column, k *col, v []byte) []byte
}

// conn runs a side's queries.
type conn interface {
	// query streams rows as raw column values (nil for NULL); fn must not
	// keep them after it returns.
	query(ctx context.Context, q string, args []any, fn func([][]byte) error) error
	exec(ctx context.Context, q string) error
	// script runs statements in order on one session, stopping at the first error.
	script(ctx context.Context, stmts []string) error
	// estimate returns the engine's estimate of a table's rows.
	estimate(ctx context.Context, t *schema.Table) (int64, error)
	close()
}

// tableSQL is a pair's SQL on one side.
type tableSQL struct {
	d        dialect
	side     int
	t        *schema.Table
	cols     []*col
	key      []int
	from     string
	values   []string // fetch list, in cols order
	hash     string   // the row hash over the SQL-hashed columns
	fields   []string // their hash fields
	keyFlds  []string // hash fields of the key columns
	fallback []int    // positions in cols of Go-hashed columns
	orderBy  string
	// filter is the job's row filter on the source side: the parsed filter
	// rendered for the source's dialect (transform.Plan.Filter.SQL), never
	// the job file's text; "" for none. Every query here honours it.
	filter string
	// fixed selects, on the target side of a merged table, the rows of
	// this source (column = value, bound as parameters).
	fixed []fixedCond
}

type fixedCond struct {
	c   *schema.Column
	val []byte
}

func newTableSQL(d dialect, p *pair, side int) *tableSQL {
	ts := &tableSQL{d: d, side: side, t: p.src, cols: p.cols, key: p.key}
	if side == 1 {
		ts.t = p.dst
	}
	ts.from = d.from(ts.t)
	if side == 0 {
		ts.filter = p.filter
	} else {
		for _, f := range p.fixed {
			if c, ok := p.dst.Column(f.name); ok {
				ts.fixed = append(ts.fixed, fixedCond{c, f.val})
			}
		}
	}
	var fields []string
	for i, k := range p.cols {
		c := k.c[side]
		if side == 0 && k.added {
			// The value every source row gets: its field is known here.
			ts.values = append(ts.values, d.text(k.lit))
			fields = append(fields, d.text(appendField(nil, k.class, false, false, k.lit)))
			continue
		}
		ts.values = append(ts.values, d.value(c, k))
		if k.goHashed {
			ts.fallback = append(ts.fallback, i)
			continue
		}
		fields = append(fields, d.field(c, k, c.Nullable))
	}
	if len(fields) == 0 {
		fields = []string{"'-'"}
	}
	ts.hash, ts.fields = d.rowHash(fields), fields
	var order []string
	qualified := d.quote(ts.t.Schema) + "." + d.quote(ts.t.Name) + "."
	for _, i := range p.key {
		k := p.cols[i]
		ts.keyFlds = append(ts.keyFlds, d.field(k.c[side], k, k.c[side].Nullable))
		// Qualified: PostgreSQL would order a bare name by the select
		// list's column of that name (the key's text), not the key.
		order = append(order, qualified+d.quote(k.c[side].Name))
	}
	ts.orderBy = strings.Join(order, ", ")
	return ts
}

// pred selects the rows of a chunk.
type pred struct {
	after, upto value.Row // key range (after, upto]; nil: open
	m           int64     // buckets of the hash and rows modes
	buckets     []int64   // the chosen buckets
	keys        []value.Row
}

// where renders p (and the filter) with parameters.
func (ts *tableSQL) where(p pred) (string, []any, error) {
	var conds []string
	var args []any
	if ts.filter != "" {
		conds = append(conds, ts.filter) // in parentheses already
	}
	add := func(v []byte, c *schema.Column) (string, error) {
		a, err := ts.d.arg(c, v)
		if err != nil {
			return "", fmt.Errorf("key value for %s: %w", c.Name, err)
		}
		args = append(args, a)
		return ts.d.placeholder(c, len(args)), nil
	}
	for _, f := range ts.fixed {
		ph, err := add(f.val, f.c)
		if err != nil {
			return "", nil, err
		}
		conds = append(conds, ts.d.quote(f.c.Name)+" = "+ph)
	}
	for _, b := range []struct {
		row   value.Row
		after bool
	}{{p.after, true}, {p.upto, false}} {
		if b.row == nil {
			continue
		}
		c, err := ts.bound(b.row, b.after, add)
		if err != nil {
			return "", nil, err
		}
		conds = append(conds, c)
	}
	if len(p.buckets) > 0 {
		var b strings.Builder
		for i, n := range p.buckets {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.FormatInt(n, 10))
		}
		conds = append(conds, ts.bucketExpr(p.m)+" IN ("+b.String()+")")
	}
	if len(p.keys) > 0 {
		var ors []string
		for _, key := range p.keys {
			var ands []string
			for j, i := range ts.key {
				c := ts.cols[i].c[ts.side]
				ph, err := add(key[j], c)
				if err != nil {
					return "", nil, err
				}
				ands = append(ands, ts.d.quote(c.Name)+" = "+ph)
			}
			ors = append(ors, "("+strings.Join(ands, " AND ")+")")
		}
		conds = append(conds, "("+strings.Join(ors, " OR ")+")")
	}
	if len(conds) == 0 {
		return "", args, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}

// bound writes key > row (after) or key <= row as
//
//	k1 >= a1 AND (k1 > a1 OR (k1 = a1 AND k2 > a2))
//
// which both engines answer with an index range (MariaDB does not for row
// constructors).
func (ts *tableSQL) bound(row value.Row, after bool, add func([]byte, *schema.Column) (string, error)) (string, error) {
	if len(row) != len(ts.key) {
		return "", fmt.Errorf("key bound has %d values for %d key columns", len(row), len(ts.key))
	}
	strict, last, lead := " > ", " > ", " >= "
	if !after {
		strict, last, lead = " < ", " <= ", " <= "
	}
	col := func(j int) *schema.Column { return ts.cols[ts.key[j]].c[ts.side] }
	if len(row) == 1 {
		ph, err := add(row[0], col(0))
		return ts.d.quote(col(0).Name) + last + ph, err
	}
	ph, err := add(row[0], col(0))
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(ts.d.quote(col(0).Name) + lead + ph + " AND (")
	for i := range row {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteByte('(')
		for j := 0; j < i; j++ {
			ph, err := add(row[j], col(j))
			if err != nil {
				return "", err
			}
			b.WriteString(ts.d.quote(col(j).Name) + " = " + ph + " AND ")
		}
		op := strict
		if i == len(row)-1 {
			op = last
		}
		ph, err := add(row[i], col(i))
		if err != nil {
			return "", err
		}
		b.WriteString(ts.d.quote(col(i).Name) + op + ph + ")")
	}
	b.WriteByte(')')
	return b.String(), nil
}

// bucketExpr is a row's bucket: of its key, or of the whole row without
// one. Both sides compute it in SQL, with the same function whatever the
// row hash scheme.
func (ts *tableSQL) bucketExpr(m int64) string {
	if len(ts.key) == 0 {
		return ts.d.bucket(ts.fields, m)
	}
	return ts.d.bucket(ts.keyFlds, m)
}

// fetchSQL selects the given expressions of the rows p selects.
func (ts *tableSQL) fetchSQL(exprs []string, p pred, order bool) (string, []any, error) {
	where, args, err := ts.where(p)
	if err != nil {
		return "", nil, err
	}
	q := "SELECT " + strings.Join(exprs, ", ") + " FROM " + ts.from + where
	if order && ts.orderBy != "" {
		q += " ORDER BY " + ts.orderBy
	}
	if lim, arg := ts.d.limitAll(); lim != "" {
		q += lim
		args = append(args, arg)
	}
	return q, args, nil
}

// keyValues are the fetch expressions of the key columns.
func (ts *tableSQL) keyValues() []string {
	out := make([]string, len(ts.key))
	for j, i := range ts.key {
		out[j] = ts.values[i]
	}
	return out
}

// fallbackValues are the fetch expressions of the Go-hashed columns.
func (ts *tableSQL) fallbackValues() []string {
	out := make([]string, len(ts.fallback))
	for j, i := range ts.fallback {
		out[j] = ts.values[i]
	}
	return out
}
