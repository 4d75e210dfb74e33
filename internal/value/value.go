// Package value defines how dts carries row values between engines.
//
// A value travels as its canonical text form for its logical kind
// (schema.Kind), as bytes: a nil slice is SQL NULL; an empty non-nil slice is
// the empty string (or empty bytes). Source connectors turn what their driver
// returns into these forms; sink connectors turn them into what their
// engine accepts. Because each side only knows its own engine and this page,
// every pair of engines works, and one value is spelled the same whichever
// path (snapshot or change stream) it took.
//
// Canonical forms:
//
//	bool                 1 or 0
//	int8..int64, year    base 10, optional leading -, no leading zeros
//	decimal              plain notation, no exponent, digits after the point as the column's scale
//	                     keeps them ("12.340"); NaN, Infinity, -Infinity (PostgreSQL numeric only)
//	float32, float64     shortest text that parses back to the same value at the column's width
//	                     (Go strconv.FormatFloat(f, 'g', -1, bits)); NaN, Infinity, -Infinity; -0 for negative zero
//	char, varchar, text  the characters, UTF-8
//	enum                 the label (never the index)
//	set                  the member labels joined by "," in definition order
//	binary, varbinary,   the bytes as stored (MySQL BINARY(n) keeps its trailing zero bytes)
//	blob
//	date                 YYYY-MM-DD; "0000-00-00" for MySQL's zero date; years before 1 as
//	                     "YYYY-MM-DD BC"; infinity, -infinity (PostgreSQL)
//	time                 [-]HH:MM:SS[.ffffff], hours at least two digits and unbounded (MySQL TIME spans ±838:59:59);
//	                     the fraction without trailing zeros, no point when it is zero
//	timetz               HH:MM:SS[.ffffff]+HH[:MM]
//	datetime             YYYY-MM-DD HH:MM:SS[.ffffff], wall clock, fraction as for time
//	timestamp            YYYY-MM-DD HH:MM:SS[.ffffff] in UTC (an instant), fraction as for time;
//	                     infinity, -infinity (PostgreSQL)
//	interval             PostgreSQL's output with IntervalStyle=postgres ("1 year 2 mons 3 days 04:05:06.5")
//	json                 the document's text as the source holds it
//	bit                  one '0' or '1' character per bit, as many as the column's length
//	uuid                 lowercase 8-4-4-4-12 hex
//	inet, cidr, macaddr  PostgreSQL's output
//	array                PostgreSQL's array literal ({1,2,NULL})
//	money                as decimal
//	xml                  the text
//	unknown              the source engine's own text output (same-engine copies only)
package value

// Row is one row's values in column order, each in canonical form; nil is NULL.
type Row [][]byte

// Empty is a non-NULL empty value.
var Empty = []byte{}

// Clone returns a deep copy of the row: drivers reuse their buffers between rows.
func (r Row) Clone() Row {
	n := 0
	for _, v := range r {
		n += len(v)
	}
	buf := make([]byte, 0, n)
	out := make(Row, len(r))
	for i, v := range r {
		if v == nil {
			continue
		}
		start := len(buf)
		buf = append(buf, v...)
		out[i] = buf[start:len(buf):len(buf)]
	}
	return out
}

// Size returns the bytes the row's values hold.
func (r Row) Size() int {
	n := 0
	for _, v := range r {
		n += len(v)
	}
	return n
}
