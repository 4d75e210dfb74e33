package mysql

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dtsorg/dts/internal/schema"
)

// Key bounds of chunk queries. A bound is a row-value comparison
// (k1,k2) > (a1,a2), written out as
//
//	k1 >= a1 AND (k1 > a1 OR (k1 = a1 AND k2 > a2))
//
// because MariaDB does not use an index range for row constructors (it
// scans the table), while both engines do for this form. The leading
// conjunct is implied by the rest; it gives the optimizer a plain range.
//
// Each bound value is bound as a parameter of the Go type that makes the
// server compare it the way it orders the column, never as DOUBLE:
// integers as int64/uint64, DECIMAL through CAST(? AS DECIMAL(p,s)), text
// converted to the column's charset and collation, ENUM as its index and
// SET as its bit mask (ORDER BY sorts them by number), bytes as bytes.

// keyColumn is one key column with the way its bound values are bound.
type keyColumn struct {
	name  string
	param string // the parameter expression: "?" or CAST(? AS ...)
	arg   func(canonical []byte) (any, error)
}

func keyColumns(t *schema.Table, key []string) ([]keyColumn, error) {
	out := make([]keyColumn, len(key))
	for i, name := range key {
		c, ok := t.Column(name)
		if !ok {
			return nil, fmt.Errorf("table %s has no key column %s", t, name)
		}
		out[i] = keyColumn{name: name, param: "?", arg: keyArg(c.Type)}
		switch {
		case c.Type.Kind == schema.KindDecimal:
			out[i].param = fmt.Sprintf("CAST(? AS DECIMAL(%d,%d))", max(c.Type.Precision, 1), c.Type.Scale)
		case (c.Type.Kind == schema.KindChar || c.Type.Kind == schema.KindVarChar || c.Type.Kind == schema.KindText) &&
			!c.Type.Binary && isPlainName(c.Charset) && isPlainName(c.Collation):
			out[i].param = "CONVERT(? USING " + c.Charset + ") COLLATE " + c.Collation
		}
	}
	return out, nil
}

// keyArg returns the conversion of a canonical value of t to a parameter.
func keyArg(t schema.Type) func([]byte) (any, error) {
	switch {
	case t.IsInteger() && t.Unsigned:
		return func(b []byte) (any, error) { return strconv.ParseUint(string(b), 10, 64) }
	case t.IsInteger():
		return func(b []byte) (any, error) { return strconv.ParseInt(string(b), 10, 64) }
	case t.Kind == schema.KindFloat32 || t.Kind == schema.KindFloat64:
		bits := 64
		if t.Kind == schema.KindFloat32 {
			bits = 32
		}
		return func(b []byte) (any, error) { return strconv.ParseFloat(string(b), bits) }
	case t.Kind == schema.KindEnum:
		labels := t.Values
		return func(b []byte) (any, error) { return int64(enumIndex(labels, string(b))), nil }
	case t.Kind == schema.KindSet:
		labels := t.Values
		return func(b []byte) (any, error) { return setMask(labels, string(b)) }
	case t.Kind == schema.KindBit:
		return func(b []byte) (any, error) { return parseBits(b) }
	case t.IsBinary() || t.Binary || t.Kind == schema.KindUnknown:
		return func(b []byte) (any, error) { return b, nil }
	}
	return func(b []byte) (any, error) { return string(b), nil }
}

// enumIndex is the 1-based index of label; 0 is the error value ”.
func enumIndex(labels []string, label string) int {
	for i, l := range labels {
		if l == label {
			return i + 1
		}
	}
	return 0
}

// setMask returns the bit mask of a SET value.
func setMask(labels []string, v string) (uint64, error) {
	if v == "" {
		return 0, nil
	}
	var mask uint64
	for _, m := range strings.Split(v, ",") {
		i := enumIndex(labels, m)
		if i == 0 {
			return 0, fmt.Errorf("%q is not a member of the SET", m)
		}
		mask |= 1 << (i - 1)
	}
	return mask, nil
}

// parseBits reads a canonical bit string ("0101") as a number.
func parseBits(b []byte) (uint64, error) {
	if len(b) > 64 {
		return 0, fmt.Errorf("bit string of %d bits: MySQL BIT holds at most 64", len(b))
	}
	var n uint64
	for _, c := range b {
		switch c {
		case '0':
			n <<= 1
		case '1':
			n = n<<1 | 1
		default:
			return 0, fmt.Errorf("%q is not a bit string", b)
		}
	}
	return n, nil
}

// boundSQL writes the condition key > vals (after) or key <= vals (!after).
func boundSQL(b *strings.Builder, args []any, cols []keyColumn, vals [][]byte, after bool) ([]any, error) {
	if len(vals) != len(cols) {
		return nil, fmt.Errorf("key bound has %d values for %d key columns", len(vals), len(cols))
	}
	params := make([]any, len(cols))
	for i, c := range cols {
		if vals[i] == nil {
			return nil, fmt.Errorf("key bound has NULL for %s", c.name)
		}
		p, err := c.arg(vals[i])
		if err != nil {
			return nil, fmt.Errorf("key bound for %s: %w", c.name, err)
		}
		params[i] = p
	}
	strict, last, lead := " > ", " > ", " >= "
	if !after {
		strict, last, lead = " < ", " <= ", " <= "
	}
	if len(cols) == 1 {
		b.WriteString(quoteIdent(cols[0].name) + last + cols[0].param)
		return append(args, params[0]), nil
	}
	b.WriteString(quoteIdent(cols[0].name) + lead + cols[0].param + " AND (")
	args = append(args, params[0])
	for i := range cols {
		if i > 0 {
			b.WriteString(" OR ")
		}
		b.WriteByte('(')
		for j := 0; j < i; j++ {
			b.WriteString(quoteIdent(cols[j].name) + " = " + cols[j].param + " AND ")
			args = append(args, params[j])
		}
		op := strict
		if i == len(cols)-1 {
			op = last
		}
		b.WriteString(quoteIdent(cols[i].name) + op + cols[i].param + ")")
		args = append(args, params[i])
	}
	b.WriteByte(')')
	return args, nil
}
