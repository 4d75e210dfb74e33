package mysql

import (
	"fmt"
	"math"
	"strconv"

	"github.com/dtsorg/dts/internal/schema"
)

// Turning canonical values into INSERT parameters for a target column.
//
// Most canonical forms are what MySQL itself reads from a string, so they
// go as they are (bytes, sent as a string in utf8mb4, or as bytes into
// binary columns): integers (exact, parsed as integers), DECIMAL (exact),
// text, dates and times (TIMESTAMP read in the session's +00:00), ENUM and
// SET labels, JSON text. The exceptions:
//   - FLOAT/DOUBLE as float64: the exact value, no decimal re-rounding;
//     a float32 value stays exact in a float64. NaN and ±Infinity fail.
//   - BIT as an integer: a string would be stored as its bytes.
//   - YEAR as an integer: the string '0' means 2000, the number 0 means 0000.
//   - DECIMAL from an engine whose scale can exceed the column's: checked,
//     because MySQL rounds extra fraction digits with only a note.
//   - JSON on MySQL as a Go string (MySQL refuses JSON from binary strings).

// encoder converts a non-NULL canonical value.
type encoder func(v []byte) (any, error)

func passBytes(v []byte) (any, error) { return v, nil }

// encoderFor returns the conversion of values of type src into column c.
func encoderFor(c schema.Column, src schema.Type, mariadb bool) encoder {
	t := c.Type
	switch t.Kind {
	case schema.KindYear:
		return func(v []byte) (any, error) { return strconv.ParseInt(string(v), 10, 64) }
	case schema.KindBit:
		return func(v []byte) (any, error) { return parseBits(v) }
	case schema.KindFloat32, schema.KindFloat64:
		bits := 64
		if src.Kind == schema.KindFloat32 {
			bits = 32
		}
		return func(v []byte) (any, error) {
			f, err := strconv.ParseFloat(string(v), bits)
			if err != nil && !isRange(err) {
				return nil, fmt.Errorf("%q is not a number", v)
			}
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return nil, fmt.Errorf("%s cannot be stored: MySQL has no NaN or Infinity", v)
			}
			return f, nil
		}
	case schema.KindDecimal:
		if src.Kind == schema.KindDecimal && src.Precision > 0 && src.Scale <= t.Scale && src.Precision-src.Scale <= t.Precision-t.Scale {
			return passBytes
		}
		return func(v []byte) (any, error) { return v, checkDecimal(v, t.Precision, t.Scale) }
	case schema.KindJSON:
		if !mariadb {
			return func(v []byte) (any, error) { return string(v), nil }
		}
	}
	return passBytes
}

func isRange(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// checkDecimal refuses a canonical decimal DECIMAL(p,s) cannot hold exactly.
func checkDecimal(v []byte, p, s int) error {
	intDigits, fracDigits, seenPoint := 0, 0, false
	start := 0
	if len(v) > 0 && (v[0] == '-' || v[0] == '+') {
		start = 1
	}
	lead := true
	for _, c := range v[start:] {
		switch {
		case c == '.' && !seenPoint:
			seenPoint = true
		case c >= '0' && c <= '9':
			switch {
			case seenPoint:
				fracDigits++
			case lead && c == '0':
			default:
				lead = false
				intDigits++
			}
		default:
			return fmt.Errorf("%s cannot be stored in DECIMAL(%d,%d)", v, p, s)
		}
	}
	if fracDigits > s {
		// Trailing zeros beyond the scale lose nothing.
		end := len(v)
		for end > 0 && v[end-1] == '0' && fracDigits > s {
			end--
			fracDigits--
		}
		if fracDigits > s {
			return fmt.Errorf("%s has more than %d fraction digits: DECIMAL(%d,%d) would round it", v, s, p, s)
		}
	}
	if intDigits > p-s {
		return fmt.Errorf("%s has more than %d integer digits: DECIMAL(%d,%d) cannot hold it", v, p-s, p, s)
	}
	return nil
}

// isEnumError reports whether v is the error value ” of an ENUM column
// that has no ” label: MySQL stores it only outside strict mode.
func isEnumError(t schema.Type, v []byte) bool {
	return t.Kind == schema.KindEnum && v != nil && len(v) == 0 && enumIndex(t.Values, "") == 0
}
