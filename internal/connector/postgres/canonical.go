package postgres

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"math"
	"strconv"

	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// PostgreSQL text output → canonical form (internal/value).
//
// Readers run with TimeZone=UTC, DateStyle=ISO, IntervalStyle=postgres,
// extra_float_digits=1 and bytea_output=hex, so most types print their
// canonical form already. The rest is converted here:
//
//	boolean      t/f → 1/0
//	bytea        \x<hex> → the bytes
//	timestamptz  "… +00" → UTC without the suffix ("… BC" kept)
//	real/double  shortest round-trip text as Go prints it (1.234567e+06), NaN, ±Infinity
//	money        read as numeric (the SELECT casts it)

// decoder converts one non-NULL value: it returns src or a part of it, or
// appends the result to dst (scratch space) and returns that part of dst.
// It never writes to src.
type decoder func(dst, src []byte) (out, newDst []byte, err error)

// decoderFor returns the conversion for values of t, nil when PostgreSQL's
// text is canonical as is.
func decoderFor(t schema.Type) decoder {
	switch t.Kind {
	case schema.KindBool:
		return decodeBool
	case schema.KindBinary, schema.KindVarBinary, schema.KindBlob:
		return decodeBytea
	case schema.KindTimestamp:
		return decodeTimestamptz
	case schema.KindFloat32:
		return decodeFloat(32)
	case schema.KindFloat64:
		return decodeFloat(64)
	}
	return nil
}

// canonicalText converts one value of t (a default's literal, say).
func canonicalText(src []byte, t schema.Type) ([]byte, error) {
	d := decoderFor(t)
	if d == nil {
		return src, nil
	}
	out, _, err := d(nil, src)
	return out, err
}

func decodeBool(dst, src []byte) ([]byte, []byte, error) {
	switch string(src) {
	case "t", "true":
		return one, dst, nil
	case "f", "false":
		return zero, dst, nil
	}
	return nil, dst, fmt.Errorf("boolean %q", src)
}

var one, zero = []byte("1"), []byte("0")

// decodeBytea decodes \x<hex>.
func decodeBytea(dst, src []byte) ([]byte, []byte, error) {
	if len(src) < 2 || src[0] != '\\' || src[1] != 'x' {
		return nil, dst, fmt.Errorf("bytea not in hex format (bytea_output): %.20q", src)
	}
	start := len(dst)
	dst, err := hex.AppendDecode(dst, src[2:])
	if err != nil {
		return nil, dst, fmt.Errorf("bytea: %w", err)
	}
	if start == len(dst) {
		return value.Empty, dst, nil
	}
	return dst[start:len(dst):len(dst)], dst, nil
}

var utcSuffix = []byte("+00")

// decodeTimestamptz drops the "+00" that TimeZone=UTC prints.
func decodeTimestamptz(dst, src []byte) ([]byte, []byte, error) {
	i := bytes.Index(src, utcSuffix)
	switch {
	case i < 0:
		if bytes.HasSuffix(src, []byte("infinity")) {
			return src, dst, nil
		}
		return nil, dst, fmt.Errorf("timestamptz not in UTC: %q", src)
	case i+3 == len(src):
		return src[:i], dst, nil
	}
	// "2000-01-01 00:00:00+00 BC": the era follows the offset.
	start := len(dst)
	dst = append(append(dst, src[:i]...), src[i+3:]...)
	return dst[start:len(dst):len(dst)], dst, nil
}

func decodeFloat(bits int) decoder {
	return func(dst, src []byte) ([]byte, []byte, error) {
		switch string(src) {
		case "NaN", "Infinity", "-Infinity":
			return src, dst, nil
		}
		f, err := strconv.ParseFloat(string(src), bits)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return nil, dst, fmt.Errorf("float %q", src)
		}
		start := len(dst)
		dst = strconv.AppendFloat(dst, f, 'g', -1, bits)
		return dst[start:len(dst):len(dst)], dst, nil
	}
}
