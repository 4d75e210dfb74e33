package postgres

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/dtsorg/dts/internal/schema"
)

// Canonical form → PostgreSQL text input. PostgreSQL reads almost every
// canonical form as is (booleans 1/0, NaN and ±Infinity, BC dates, MySQL's
// TIME as an interval); what differs:
//
//	bytes into bytea       \x<hex>
//	instant into timestamptz  "+00" added (the canonical form is UTC without a zone)
//	NUL in anything but bytea  refused: no PostgreSQL text value holds it
//	MySQL zero dates        refused: PostgreSQL has no year 0, month 0 or day 0

// encoder writes the values of one column.
type encoder struct {
	bytea     bool // the target is bytea: write the bytes as hex
	utc       bool // an instant into timestamptz: add +00
	zeroDates bool // the value is a date: refuse MySQL's zero dates
}

func encoderFor(src, target schema.Type) encoder {
	return encoder{
		bytea:     target.IsBinary(),
		utc:       src.Kind == schema.KindTimestamp && target.Kind == schema.KindTimestamp,
		zeroDates: src.Kind == schema.KindDate || src.Kind == schema.KindDateTime || src.Kind == schema.KindTimestamp,
	}
}

// valueError says why a value cannot be written; the caller adds where.
type valueError struct{ reason string }

func (e *valueError) Error() string { return e.reason }

var errZeroDate = &valueError{"PostgreSQL cannot hold MySQL's zero dates (year, month or day 0)"}

// appendCopy appends v as a COPY text field.
func (e encoder) appendCopy(dst, v []byte) ([]byte, error) {
	if e.bytea {
		return appendCopyBytea(dst, v), nil
	}
	if e.zeroDates && zeroDate(v) {
		return dst, errZeroDate
	}
	if e.utc {
		return appendUTC(dst, v)
	}
	out, err := appendCopyText(dst, v)
	if errors.Is(err, errNUL) {
		return dst, &valueError{"PostgreSQL text cannot hold NUL (0x00) characters"}
	}
	return out, err
}

// appendText appends v as PostgreSQL input text (for a literal).
func (e encoder) appendText(dst, v []byte) ([]byte, error) {
	switch {
	case e.bytea:
		dst = append(dst, '\\', 'x')
		for _, c := range v {
			dst = append(dst, hexDigits[c>>4], hexDigits[c&15])
		}
		return dst, nil
	case bytes.IndexByte(v, 0) >= 0:
		return dst, &valueError{"PostgreSQL text cannot hold NUL (0x00) characters"}
	case e.zeroDates && zeroDate(v):
		return dst, errZeroDate
	case e.utc:
		return appendUTC(dst, v)
	}
	return append(dst, v...), nil
}

// appendUTC writes an instant with "+00", before the era of a BC value.
// Canonical instants hold nothing that COPY escapes.
func appendUTC(dst, v []byte) ([]byte, error) {
	if bytes.HasSuffix(v, []byte("infinity")) {
		return append(dst, v...), nil
	}
	if len(v) < 10 || bytes.IndexByte(v, '+') >= 0 || bytes.IndexByte(v[10:], '-') >= 0 {
		return dst, fmt.Errorf("timestamp %q is not in canonical form", v)
	}
	body, era := v, []byte(nil)
	if bytes.HasSuffix(v, []byte(" BC")) {
		body, era = v[:len(v)-3], v[len(v)-3:]
	}
	dst = append(dst, body...)
	dst = append(dst, '+', '0', '0')
	return append(dst, era...), nil
}

// zeroDate reports whether a canonical date or date-time has year, month
// or day 0 (MySQL's "0000-00-00" and zero-in-date values).
func zeroDate(v []byte) bool {
	if len(v) < 10 || v[4] != '-' || v[7] != '-' {
		return false
	}
	return string(v[:4]) == "0000" || string(v[5:7]) == "00" || string(v[8:10]) == "00"
}

// literal renders v as a constant of type t for SQL text: quoted, with a
// cast to t's spelling.
func literal(v []byte, t schema.Type) (string, error) {
	if v == nil {
		return "NULL::" + t.Raw, nil
	}
	text, err := encoderFor(t, t).appendText(nil, v)
	if err != nil {
		return "", err
	}
	return quoteLiteral(string(text)) + "::" + t.Raw, nil
}
