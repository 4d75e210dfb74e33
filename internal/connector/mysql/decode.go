package mysql

import (
	"bytes"
	"database/sql"

	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// Turning what go-sql-driver returns into canonical values (internal/value).
//
// Chunk queries run over the binary protocol with parseTime off, scanned
// into sql.RawBytes, so the driver hands over:
//   - integers, YEAR: base-10 text (database/sql formats the int64/uint64);
//   - FLOAT, DOUBLE: the shortest text that reads back to the same float32 /
//     float64 (database/sql formats them with strconv at their width): the
//     binary protocol carries the IEEE bits, no text rounding on the way;
//   - DECIMAL: the server's text, as many fraction digits as the scale;
//   - DATE, DATETIME, TIMESTAMP, TIME: text with as many fraction digits as
//     the column's precision ("…00.500000"), zero dates as "0000-00-00…";
//     TIMESTAMP in UTC because every session's time_zone is +00:00;
//   - BIT: the bytes, big-endian;
//   - strings, ENUM and SET labels, JSON: the text in utf8mb4; bytes as stored.
//
// decode fixes what differs from the canonical forms: trailing fraction
// zeros, BIT as '0'/'1' characters, UUID case.

// decoder converts one non-NULL value; scratch is the column's own buffer,
// reused from row to row.
type decoder func(raw []byte, scratch *[]byte) []byte

// decoderFor returns the conversion for a column of type t (nil: the
// driver's bytes are canonical already).
func decoderFor(t schema.Type) decoder {
	switch t.Kind {
	case schema.KindTime, schema.KindDateTime, schema.KindTimestamp:
		return func(raw []byte, _ *[]byte) []byte { return trimFraction(raw) }
	case schema.KindBit:
		n := t.Length
		return func(raw []byte, scratch *[]byte) []byte {
			*scratch = appendBits((*scratch)[:0], raw, n)
			return *scratch
		}
	case schema.KindUUID:
		return func(raw []byte, scratch *[]byte) []byte {
			if bytes.IndexFunc(raw, func(r rune) bool { return r >= 'A' && r <= 'F' }) < 0 {
				return raw
			}
			*scratch = append((*scratch)[:0], bytes.ToLower(raw)...)
			return *scratch
		}
	}
	return nil
}

// decodeRow turns a scanned row into canonical values in out.
func decodeRow(out value.Row, raw []sql.RawBytes, decs []decoder, scratch [][]byte) {
	for i := range raw {
		v := raw[i]
		switch {
		case v == nil:
			out[i] = nil
		case len(v) == 0:
			out[i] = value.Empty
		case decs[i] != nil:
			out[i] = decs[i](v, &scratch[i])
		default:
			out[i] = v
		}
	}
}

// trimFraction drops trailing zeros of a time's fraction, and the point
// when nothing is left of it: "12:00:00.500000" → "12:00:00.5".
func trimFraction(b []byte) []byte {
	dot := bytes.LastIndexByte(b, '.')
	if dot < 0 || bytes.IndexByte(b[dot:], ':') >= 0 {
		return b
	}
	end := len(b)
	for end > dot+1 && b[end-1] == '0' {
		end--
	}
	if end == dot+1 {
		end = dot
	}
	return b[:end]
}

// appendBits appends the low n bits of the big-endian bytes b as '0'/'1'
// characters, most significant first.
func appendBits(dst, b []byte, n int) []byte {
	total := len(b) * 8
	for i := total - n; i < total; i++ {
		if i < 0 {
			dst = append(dst, '0')
			continue
		}
		if b[i/8]&(0x80>>(i%8)) != 0 {
			dst = append(dst, '1')
		} else {
			dst = append(dst, '0')
		}
	}
	return dst
}
