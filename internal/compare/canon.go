package compare

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"math"
	"strconv"

	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// Comparing values across engines.
//
// Both databases turn every compared column into the same text: the value's
// canonical form (internal/value), normalized where the two columns may
// spell one value differently ("compare form"):
//
//	char(n)                trailing spaces dropped (PostgreSQL pads, MySQL does not)
//	decimal                trailing fraction zeros dropped when the two scales differ
//	                       (numeric → DECIMAL(65,30) reads back 1.500…0)
//	binary                 lowercase hex in the hash (PostgreSQL text cannot hold bytes)
//
// A row's hash is taken over its columns' fields joined by '#', where a
// field is "N" for NULL, else the compare form, prefixed with its length in
// bytes and '#' for text-like values (so no value can mimic a separator or
// a NULL: the length says where the value ends); numbers and times never
// hold '#' and go as they are. The row's last field, when it is never
// NULL, goes without its length: every field before it ends where its
// length or its first '#' says, so the last one is the rest of the string
// (a length costs MySQL a function call per row). hashrows.go says which hash; a chunk's
// checksum is the row count and the sum of the row hashes, computed by
// each database (mysql.go, postgres.go) or here. Sums, unlike XOR, never
// cancel duplicate rows.
//
// Floating-point columns compared across engines are the exception: MySQL
// prints doubles in its own shortest format and has no function for their
// bits, so no SQL gives both engines one text. Those columns are fetched
// raw (the exact IEEE value: MySQL's binary protocol, PostgreSQL's
// float8send), printed in Go as their canonical shortest form, and hashed
// in Go per row together with the database's hash of the rest of the row.
// Between two MySQL or two PostgreSQL servers floats are hashed in SQL
// (MySQL: the shortest text of the value as a double; PostgreSQL: the hex
// of float8send).

// fieldClass says how a column's compare form becomes a hash field.
type fieldClass int

const (
	classPlain fieldClass = iota // numbers, times, hex: never hold '#' or equal "N"
	classText                    // length-prefixed text
	classBytes                   // bytes: lowercase hex, or length-prefixed bytes between MySQL servers
)

func newCol(s, t *schema.Column, sameEngine bool) *col {
	c := &col{name: s.Name, tname: t.Name, c: [2]*schema.Column{s, t}}
	switch {
	case isBytes(s.Type) || isBytes(t.Type):
		c.class = classBytes
	case plainKind(s.Type.Kind) && plainKind(t.Type.Kind):
		c.class = classPlain
	default:
		c.class = classText
	}
	if isFloat(s.Type.Kind) || isFloat(t.Type.Kind) {
		c.goHashed = !sameEngine
		c.class = classPlain
	}
	c.normDecimal = decimalScaleDiffers(s.Type, t.Type)
	return c
}

func isBytes(t schema.Type) bool { return t.IsBinary() || t.Binary }

func isFloat(k schema.Kind) bool { return k == schema.KindFloat32 || k == schema.KindFloat64 }

// plainKind reports whether every canonical text of a kind is free of '#'
// and differs from "N".
func plainKind(k schema.Kind) bool {
	switch k {
	case schema.KindBool, schema.KindInt8, schema.KindInt16, schema.KindInt24, schema.KindInt32, schema.KindInt64,
		schema.KindYear, schema.KindDecimal, schema.KindMoney, schema.KindDate, schema.KindTime, schema.KindDateTime,
		schema.KindTimestamp, schema.KindBit, schema.KindUUID:
		return true
	}
	return false
}

// scale returns the decimal scale of a type's canonical text, false when
// it varies from value to value (PostgreSQL's unconstrained numeric).
func scale(t schema.Type) (int, bool) {
	switch {
	case t.IsInteger():
		return 0, true
	case t.Kind == schema.KindMoney:
		return 2, true
	case t.Kind == schema.KindDecimal && t.Precision > 0:
		return t.Scale, true
	}
	return 0, false
}

func decimalScaleDiffers(s, t schema.Type) bool {
	isDec := func(t schema.Type) bool { return t.Kind == schema.KindDecimal || t.Kind == schema.KindMoney }
	if !isDec(s) && !isDec(t) {
		return false
	}
	a, okA := scale(s)
	b, okB := scale(t)
	return !okA || !okB || a != b
}

// compareForm turns a canonical value of column k's side (0 source, 1
// target) into its compare form: what the SQL of canon*.go returns for it.
func compareForm(k *col, side int, v []byte) []byte {
	if v == nil {
		return nil
	}
	t := k.c[side].Type
	switch {
	case t.Kind == schema.KindChar && !t.Binary:
		v = bytes.TrimRight(v, " ")
	case k.normDecimal && bytes.IndexByte(v, '.') >= 0:
		v = bytes.TrimRight(bytes.TrimRight(v, "0"), ".")
	}
	if v == nil {
		return value.Empty
	}
	return v
}

// appendField appends a value's hash field (see the package comment);
// last: the row's last field, never NULL.
func appendField(dst []byte, class fieldClass, sameMySQL, last bool, v []byte) []byte {
	switch {
	case v == nil:
		return append(dst, 'N')
	case class == classBytes && !sameMySQL:
		return hex.AppendEncode(dst, v)
	case class == classPlain, last:
		return append(dst, v...)
	}
	dst = strconv.AppendInt(dst, int64(len(v)), 10)
	dst = append(dst, '#')
	return append(dst, v...)
}

// floatText is the canonical form of IEEE bits (big-endian, 4 or 8 bytes).
func floatText(b []byte) []byte {
	var f float64
	bits := 64
	switch len(b) {
	case 4:
		f, bits = float64(math.Float32frombits(binary.BigEndian.Uint32(b))), 32
	case 8:
		f = math.Float64frombits(binary.BigEndian.Uint64(b))
	default:
		return b
	}
	switch {
	case math.IsNaN(f):
		return []byte("NaN")
	case math.IsInf(f, 1):
		return []byte("Infinity")
	case math.IsInf(f, -1):
		return []byte("-Infinity")
	}
	return strconv.AppendFloat(nil, f, 'g', -1, bits)
}

// goHash hashes a row's Go-hashed values with the database's hash of the
// rest of the row, so that each value stays tied to its row.
func goHash(dbHash []byte, vals [][]byte) uint64 {
	h := fnv.New64a()
	h.Write(dbHash)
	for _, v := range vals {
		if v == nil {
			h.Write([]byte{0})
			continue
		}
		h.Write([]byte{1})
		h.Write(strconv.AppendInt(nil, int64(len(v)), 10))
		h.Write([]byte{':'})
		h.Write(v)
	}
	return h.Sum64()
}

// keyString makes map keys of key values (compare forms).
func keyString(vals [][]byte) string {
	var b []byte
	for _, v := range vals {
		if v == nil {
			b = append(b, 'N')
			continue
		}
		b = strconv.AppendInt(b, int64(len(v)), 10)
		b = append(b, ':')
		b = append(b, v...)
	}
	return string(b)
}

// display shows a compare-form value to people.
func display(k *col, v []byte) *string {
	if v == nil {
		return nil
	}
	var s string
	if k.class == classBytes {
		n := min(len(v), 100)
		s = "0x" + hex.EncodeToString(v[:n])
		if n < len(v) {
			s += "…"
		}
	} else {
		s = string(v)
		if r := []rune(s); len(r) > 200 {
			s = string(r[:200]) + "…"
		}
	}
	return &s
}

func errUnexpectedHash(b []byte) error { return fmt.Errorf("unexpected row hash %q", b) }
