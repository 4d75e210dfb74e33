package postgres

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/jackc/pglogrepl"

	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// pgoutput sends each column as the text of its type's output function —
// what COPY ... TO STDOUT prints before its escaping — so the COPY
// reader's conversions (canonical.go) apply unchanged: the replication
// session has the readers' settings (replicationParams). money is the one
// exception: readers cast it to numeric, pgoutput prints it.

// columnDecoder converts one value pgoutput sent to canonical form. src
// belongs to the caller's message and is not reused: the result may share it.
type columnDecoder func(src []byte) ([]byte, error)

// logicalDecoderFor returns the conversion of t's values, nil when the text
// is canonical as is. moneyScale is the fraction digits of money in the
// readers' sessions (their lc_monetary).
func logicalDecoderFor(t schema.Type, moneyScale int) columnDecoder {
	switch {
	case t.Kind == schema.KindMoney:
		return func(src []byte) ([]byte, error) { return moneyNumeric(src, moneyScale) }
	case t.Kind == schema.KindArray && t.Elem != nil && t.Elem.Kind == schema.KindMoney:
		return func(src []byte) ([]byte, error) {
			return mapArrayElements(src, func(e []byte) ([]byte, error) { return moneyNumeric(e, moneyScale) })
		}
	}
	d := decoderFor(t)
	if d == nil {
		return nil
	}
	return func(src []byte) ([]byte, error) {
		out, _, err := d(nil, src)
		return out, err
	}
}

// moneyNumeric converts money printed under lc_monetary=C ("-$1,234.50":
// always two fraction digits, so the digits are the stored integer) to
// what money::numeric prints in a session whose lc_monetary has scale
// fraction digits: the integer divided by 10^scale, with scale digits.
func moneyNumeric(src []byte, scale int) ([]byte, error) {
	neg := false
	digits := make([]byte, 0, len(src))
	for _, c := range src {
		switch {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		case c == '-' || c == '(':
			neg = true
		case c == '$' || c == ',' || c == '.' || c == ')' || c == ' ':
		default:
			return nil, fmt.Errorf("money %q is not in lc_monetary C's format", src)
		}
	}
	body := bytes.TrimSuffix(src, []byte(")"))
	if len(digits) < 3 || len(body) < 3 || body[len(body)-3] != '.' || bytes.Count(src, []byte(".")) != 1 {
		return nil, fmt.Errorf("money %q is not in lc_monetary C's format", src)
	}
	digits = bytes.TrimLeft(digits, "0")
	zero := len(digits) == 0
	for len(digits) < scale+1 {
		digits = append([]byte{'0'}, digits...)
	}
	var out []byte
	if neg && !zero {
		out = append(out, '-')
	}
	out = append(out, digits[:len(digits)-scale]...)
	if scale > 0 {
		out = append(append(out, '.'), digits[len(digits)-scale:]...)
	}
	return out, nil
}

// mapArrayElements rewrites the non-NULL elements of an array literal
// with conv, which must return text that needs no quoting (a number).
// Dimension decorations ("[0:1]={...}") and the braces are kept.
func mapArrayElements(src []byte, conv func([]byte) ([]byte, error)) ([]byte, error) {
	out := make([]byte, 0, len(src))
	i := 0
	if len(src) > 0 && src[0] == '[' { // dimension decoration
		j := bytes.IndexByte(src, '=')
		if j < 0 {
			return nil, fmt.Errorf("array %.40q: bad dimensions", src)
		}
		out = append(out, src[:j+1]...)
		i = j + 1
	}
	for i < len(src) {
		switch c := src[i]; c {
		case '{', '}', ',':
			out = append(out, c)
			i++
			continue
		case '"':
			var elem []byte
			i++
			for ; i < len(src) && src[i] != '"'; i++ {
				if src[i] == '\\' && i+1 < len(src) {
					i++
				}
				elem = append(elem, src[i])
			}
			if i == len(src) {
				return nil, fmt.Errorf("array %.40q: unterminated quote", src)
			}
			i++
			v, err := conv(elem)
			if err != nil {
				return nil, err
			}
			out = append(out, v...)
			continue
		}
		j := i
		for j < len(src) && src[j] != ',' && src[j] != '}' {
			j++
		}
		elem := src[i:j]
		if string(elem) == "NULL" {
			out = append(out, elem...)
		} else {
			v, err := conv(elem)
			if err != nil {
				return nil, err
			}
			out = append(out, v...)
		}
		i = j
	}
	return out, nil
}

// tupleValues decodes a tuple of rel into a row of rel.table's columns.
// present[i] says column i was sent with a value or as NULL; a column
// that was not (an unchanged TOASTed value, 'u', or a generated column
// pgoutput never sends) is nil and not present.
func (r *relation) tupleValues(t *pglogrepl.TupleData) (row value.Row, present []bool, err error) {
	if t == nil || len(t.Columns) != len(r.cols) {
		n := 0
		if t != nil {
			n = len(t.Columns)
		}
		return nil, nil, fmt.Errorf("tuple of %s has %d columns, its relation message %d", r.table, n, len(r.cols))
	}
	row = make(value.Row, len(r.table.Columns))
	present = make([]bool, len(r.table.Columns))
	for i, c := range t.Columns {
		rc := r.cols[i]
		switch c.DataType {
		case pglogrepl.TupleDataTypeNull:
			present[rc.idx] = true
		case pglogrepl.TupleDataTypeToast:
		case pglogrepl.TupleDataTypeText:
			v := c.Data
			if v == nil {
				v = value.Empty
			}
			if rc.dec != nil {
				if v, err = rc.dec(v); err != nil {
					return nil, nil, fmt.Errorf("column %s of %s: %w", r.table.Columns[rc.idx].Name, r.table, err)
				}
			}
			row[rc.idx], present[rc.idx] = v, true
		default:
			return nil, nil, fmt.Errorf("column %s of %s: tuple data kind %q (dts asks for text)", r.table.Columns[rc.idx].Name, r.table, c.DataType)
		}
	}
	return row, present, nil
}

// describeColumns lists a relation message's columns, for messages.
func describeColumns(m *pglogrepl.RelationMessage) string {
	names := make([]string, len(m.Columns))
	for i, c := range m.Columns {
		names[i] = c.Name
	}
	return strings.Join(names, ", ")
}
