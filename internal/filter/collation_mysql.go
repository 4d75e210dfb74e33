package filter

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"
)

// MySQL/MariaDB collations, evaluated in-process exactly as MariaDB 10.11
// evaluates them.
//
// A collation compares strings by the sequence of the primary weights of
// their characters (ignorable characters weigh nothing, some weigh several
// units: ß is "ss" under unicode_ci). PAD SPACE collations compare as if the
// shorter string were padded with spaces; NO PAD collations do not. LIKE
// compares one character with one character: two characters match when their
// weight sequences are equal, so ß = 'ss' but ß NOT LIKE 'ss'.
//
// The per-character weights and case maps are not written by hand: they are
// read from a MariaDB server by TestGenerateCollationData (see
// collation_gen_test.go) into mysql_collations.bin, which is embedded. The
// same test re-checks every collation listed here against the server, so a
// collation is only listed when the server agrees with the table it names.

//go:embed mysql_collations.bin
var mysqlCollationData []byte

// mysqlCollation says how one MySQL collation compares and converts case.
type mysqlCollation struct {
	name    string
	charset string // utf8mb4, utf8mb3, latin1, ascii
	pad     bool   // PAD SPACE (false: NO PAD)
	// weights names the weight table; "" compares code points (the _bin
	// collations of Unicode charsets) or bytes (8-bit charsets).
	weights string
	// cases names the LOWER/UPPER tables (casesLower+cases, casesUpper+cases).
	cases string
}

// Case tables in the data file are named with these prefixes.
const (
	casesLower = "lower:"
	casesUpper = "upper:"
)

// The supported collations. Names are matched case-insensitively; utf8_ is
// MySQL 5.7's (and MariaDB's old) name for utf8mb3_.
var mysqlCollationList = []mysqlCollation{
	{"utf8mb4_general_ci", "utf8mb4", true, "general", "general"},
	{"utf8mb4_general_nopad_ci", "utf8mb4", false, "general", "general"},
	{"utf8mb4_bin", "utf8mb4", true, "", "general"},
	{"utf8mb4_nopad_bin", "utf8mb4", false, "", "general"},
	{"utf8mb4_unicode_ci", "utf8mb4", true, "uca400", "general"},
	{"utf8mb4_unicode_nopad_ci", "utf8mb4", false, "uca400", "general"},
	{"utf8mb4_unicode_520_ci", "utf8mb4", true, "uca520", "uca520"},
	{"utf8mb4_unicode_520_nopad_ci", "utf8mb4", false, "uca520", "uca520"},
	{"utf8mb3_general_ci", "utf8mb3", true, "general", "general"},
	{"utf8mb3_general_nopad_ci", "utf8mb3", false, "general", "general"},
	{"utf8mb3_bin", "utf8mb3", true, "", "general"},
	{"utf8mb3_nopad_bin", "utf8mb3", false, "", "general"},
	{"utf8mb3_unicode_ci", "utf8mb3", true, "uca400", "general"},
	{"utf8mb3_unicode_nopad_ci", "utf8mb3", false, "uca400", "general"},
	{"utf8mb3_unicode_520_ci", "utf8mb3", true, "uca520", "uca520"},
	{"utf8mb3_unicode_520_nopad_ci", "utf8mb3", false, "uca520", "uca520"},
	{"latin1_swedish_ci", "latin1", true, "latin1_swedish_ci", "latin1"},
	{"latin1_swedish_nopad_ci", "latin1", false, "latin1_swedish_ci", "latin1"},
	{"latin1_general_ci", "latin1", true, "latin1_general_ci", "latin1"},
	{"latin1_bin", "latin1", true, "", "latin1"},
	{"latin1_nopad_bin", "latin1", false, "", "latin1"},
	{"ascii_general_ci", "ascii", true, "ascii_general_ci", "ascii"},
	{"ascii_general_nopad_ci", "ascii", false, "ascii_general_ci", "ascii"},
	{"ascii_bin", "ascii", true, "", "ascii"},
	{"ascii_nopad_bin", "ascii", false, "", "ascii"},
}

// lookupMySQLCollation returns the collation named name.
func lookupMySQLCollation(name string) (*mysqlCollation, bool) {
	n := strings.ToLower(name)
	if rest, ok := strings.CutPrefix(n, "utf8_"); ok {
		n = "utf8mb3_" + rest
	}
	for i := range mysqlCollationList {
		if mysqlCollationList[i].name == n {
			return &mysqlCollationList[i], true
		}
	}
	return nil, false
}

// supportedMySQLCollations lists the collation names for messages.
func supportedMySQLCollations() string {
	names := make([]string, 0, len(mysqlCollationList))
	for _, c := range mysqlCollationList {
		names = append(names, c.name)
	}
	return strings.Join(names, ", ")
}

// eightBit reports whether the charset stores one byte per character.
func (c *mysqlCollation) eightBit() bool { return c.charset == "latin1" || c.charset == "ascii" }

// representable reports whether the column's charset can hold r. A literal
// holding anything else fails in MariaDB ("Illegal mix of collations"), so
// validation refuses it.
func (c *mysqlCollation) representable(r rune) bool {
	switch c.charset {
	case "utf8mb3":
		return r <= 0xFFFF
	case "ascii":
		return r < 0x80
	case "latin1":
		_, ok := c.toByte(r)
		return ok
	}
	return true
}

// octets returns the bytes s takes in the column's charset (MySQL LENGTH).
func (c *mysqlCollation) octets(s string) int {
	if c.eightBit() {
		return utf8.RuneCountInString(s)
	}
	return len(s)
}

// appendWeights appends the primary weights of r.
func (c *mysqlCollation) appendWeights(dst []uint32, r rune) []uint32 {
	d := collationData()
	if c.eightBit() {
		b, ok := c.toByte(r)
		if !ok {
			b = '?' // what MariaDB stores for a character the charset lacks
		}
		if c.weights == "" {
			return append(dst, uint32(b))
		}
		return append(dst, uint32(d.byteWeights[c.weights][b]))
	}
	if c.weights == "" {
		return append(dst, uint32(r))
	}
	return d.tables[c.weights].appendWeights(dst, r)
}

// key returns the weights of s.
func (c *mysqlCollation) key(s string) []uint32 {
	out := make([]uint32, 0, len(s))
	for _, r := range s {
		out = c.appendWeights(out, r)
	}
	return out
}

// compare compares a and b as the collation does: -1, 0 or 1.
func (c *mysqlCollation) compare(a, b string) int {
	if c.weights == "" && !c.eightBit() && !c.pad {
		return strings.Compare(a, b) // UTF-8 byte order is code point order
	}
	ka, kb := c.key(a), c.key(b)
	n := min(len(ka), len(kb))
	for i := 0; i < n; i++ {
		if ka[i] != kb[i] {
			return cmp3(ka[i], kb[i])
		}
	}
	if !c.pad {
		return cmp3(len(ka), len(kb))
	}
	space := c.appendWeights(nil, ' ')[0]
	sign := 1
	rest := ka[n:]
	if len(kb) > n {
		rest, sign = kb[n:], -1
	}
	for _, w := range rest {
		if w != space {
			return sign * cmp3(w, space)
		}
	}
	return 0
}

// sameChar reports whether LIKE matches character a with character b.
func (c *mysqlCollation) sameChar(a, b rune) bool {
	if a == b {
		return true
	}
	if c.weights == "uca400" && (a > 0xFFFF || b > 0xFFFF) {
		// UCA 4.0.0 has no weights beyond the BMP: comparison gives them all
		// U+FFFD's, but LIKE compares such characters by code point.
		return false
	}
	var wa, wb [8]uint32
	ka, kb := c.appendWeights(wa[:0], a), c.appendWeights(wb[:0], b)
	if len(ka) != len(kb) {
		return false
	}
	for i := range ka {
		if ka[i] != kb[i] {
			return false
		}
	}
	return true
}

// lower and upper convert case as the collation's LOWER and UPPER do.
func (c *mysqlCollation) lower(s string) string { return c.mapCase(s, casesLower) }
func (c *mysqlCollation) upper(s string) string { return c.mapCase(s, casesUpper) }

func (c *mysqlCollation) mapCase(s, prefix string) string {
	d := collationData()
	var b strings.Builder
	b.Grow(len(s))
	if c.eightBit() {
		m := d.byteCases[prefix+c.cases]
		for _, r := range s {
			if by, ok := c.toByte(r); ok {
				r = c.fromByte(m[by])
			}
			b.WriteRune(r)
		}
		return b.String()
	}
	m := d.runeCases[prefix+c.cases]
	for _, r := range s {
		if t, ok := m[r]; ok {
			r = t
		}
		b.WriteRune(r)
	}
	return b.String()
}

// toByte and fromByte convert between characters and an 8-bit charset.
func (c *mysqlCollation) toByte(r rune) (byte, bool) {
	if c.charset == "ascii" {
		return byte(r), r >= 0 && r < 0x80
	}
	b, ok := collationData().latin1Byte[r]
	return b, ok
}

func (c *mysqlCollation) fromByte(b byte) rune {
	if c.charset == "ascii" {
		return rune(b)
	}
	return collationData().latin1Rune[b]
}

func cmp3[T int | uint32](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// weightTable maps characters to primary weights: explicit entries, runs of
// UCA implicit weights, and a fallback for everything else.
type weightTable struct {
	fallback string
	ascii    [128][]uint32
	explicit map[rune][]uint32
	runs     []implicitRun
}

type implicitRun struct {
	lo, hi rune
	base   uint32
}

func (t *weightTable) appendWeights(dst []uint32, r rune) []uint32 {
	if r >= 0 && r < 128 {
		return append(dst, t.ascii[r]...)
	}
	if w, ok := t.explicit[r]; ok {
		return append(dst, w...)
	}
	for _, run := range t.runs {
		if r >= run.lo && r <= run.hi {
			return appendImplicit(dst, run.base, r)
		}
	}
	return appendFallback(dst, t.fallback, r)
}

// appendImplicit appends UCA's computed weights of a character with no
// weights of its own.
func appendImplicit(dst []uint32, base uint32, r rune) []uint32 {
	return append(dst, base+uint32(r>>15), uint32(r&0x7FFF)|0x8000)
}

// Fallbacks of the weight tables: what a character not listed weighs.
const (
	fallbackGeneral = "general" // BMP: the code point; beyond: U+FFFD
	fallbackUCA400  = "uca400"  // BMP: implicit; beyond: U+FFFD
	fallbackUCA520  = "uca520"  // implicit
)

func appendFallback(dst []uint32, fallback string, r rune) []uint32 {
	switch fallback {
	case fallbackGeneral:
		if r > 0xFFFF {
			return append(dst, 0xFFFD)
		}
		return append(dst, uint32(r))
	case fallbackUCA400:
		if r > 0xFFFF {
			return append(dst, 0xFFFD)
		}
		return appendImplicit(dst, 0xFBC0, r)
	default:
		return appendImplicit(dst, 0xFBC0, r)
	}
}

// collationTables is the decoded data file.
type collationTables struct {
	tables      map[string]*weightTable
	runeCases   map[string]map[rune]rune
	latin1Rune  [256]rune           // latin1 byte → character
	latin1Byte  map[rune]byte       // and back
	byteWeights map[string][]uint16 // 8-bit collation → weight per byte
	byteCases   map[string][]byte   // 8-bit case tables
}

var (
	collationOnce   sync.Once
	collationTabs   *collationTables
	collationErrVal error
)

// collationData decodes the embedded data once. The data is part of the
// binary, so a decoding error is a build defect: it panics.
func collationData() *collationTables {
	collationOnce.Do(func() {
		collationTabs, collationErrVal = decodeCollationData(mysqlCollationData)
	})
	if collationErrVal != nil {
		panic(fmt.Sprintf("filter: embedded collation data: %v", collationErrVal))
	}
	return collationTabs
}

// The data file: gzip of
//
//	"DTSCOLL1"
//	then records until EOF, each: kind byte, name (uvarint length + bytes), body
//	  'W' weight table: fallback name; runs: n, then (lo delta, hi-lo, base); explicit:
//	      n, then (code point delta, weight count, weights)
//	  'C' case table: n, then (code point delta, target)
//	  'L' latin1 charset: 256 code points
//	  'B' 8-bit weights: 256 weights
//	  'M' 8-bit case table: 256 bytes
//
// All numbers are uvarints; deltas are from the previous entry's code point.
const collationMagic = "DTSCOLL1"

func decodeCollationData(gz []byte) (*collationTables, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(raw, []byte(collationMagic)) {
		return nil, errors.New("bad magic")
	}
	r := &dataReader{b: raw[len(collationMagic):]}
	d := &collationTables{tables: map[string]*weightTable{}, runeCases: map[string]map[rune]rune{},
		latin1Byte: map[rune]byte{}, byteWeights: map[string][]uint16{}, byteCases: map[string][]byte{}}
	for len(r.b) > 0 && r.err == nil {
		kind := r.byte()
		name := r.str()
		switch kind {
		case 'W':
			t := &weightTable{fallback: r.str(), explicit: map[rune][]uint32{}}
			var cp rune
			for n := r.uv(); n > 0 && r.err == nil; n-- {
				cp += rune(r.uv())
				hi := cp + rune(r.uv())
				t.runs = append(t.runs, implicitRun{lo: cp, hi: hi, base: uint32(r.uv())})
			}
			cp = 0
			for n := r.uv(); n > 0 && r.err == nil; n-- {
				cp += rune(r.uv())
				w := make([]uint32, r.uv())
				for i := range w {
					w[i] = uint32(r.uv())
				}
				t.explicit[cp] = w
			}
			for c := rune(0); c < 128; c++ {
				t.ascii[c] = appendAny(t, c)
			}
			d.tables[name] = t
		case 'C':
			m := map[rune]rune{}
			var cp rune
			for n := r.uv(); n > 0 && r.err == nil; n-- {
				cp += rune(r.uv())
				m[cp] = rune(r.uv())
			}
			d.runeCases[name] = m
		case 'L':
			for i := range d.latin1Rune {
				d.latin1Rune[i] = rune(r.uv())
				d.latin1Byte[d.latin1Rune[i]] = byte(i)
			}
		case 'B':
			w := make([]uint16, 256)
			for i := range w {
				w[i] = uint16(r.uv())
			}
			d.byteWeights[name] = w
		case 'M':
			m := make([]byte, 256)
			for i := range m {
				m[i] = r.byte()
			}
			d.byteCases[name] = m
		default:
			return nil, fmt.Errorf("unknown record kind %q", kind)
		}
	}
	if r.err != nil {
		return nil, r.err
	}
	return d, nil
}

// appendAny looks r up without the ASCII cache (used to fill it).
func appendAny(t *weightTable, r rune) []uint32 {
	if w, ok := t.explicit[r]; ok {
		return append([]uint32(nil), w...)
	}
	for _, run := range t.runs {
		if r >= run.lo && r <= run.hi {
			return appendImplicit(nil, run.base, r)
		}
	}
	return appendFallback(nil, t.fallback, r)
}

type dataReader struct {
	b   []byte
	err error
}

func (r *dataReader) uv() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errors.New("truncated number")
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *dataReader) byte() byte {
	if r.err != nil {
		return 0
	}
	if len(r.b) == 0 {
		r.err = errors.New("truncated")
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *dataReader) str() string {
	n := r.uv()
	if r.err != nil || uint64(len(r.b)) < n {
		r.err = errors.New("truncated string")
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	return s
}
