package filter

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Strings.
//
// MySQL: a string expression has its column's collation (a literal has none:
// it takes the other side's, as MySQL's coercibility rules say), and every
// comparison, LIKE, LOWER and UPPER follows that collation (collation_mysql.go).
//
// PostgreSQL: equality is byte-wise, which is what every deterministic
// collation does; ordering and LOWER/UPPER are rendered with COLLATE "C" and
// evaluated byte-wise and ASCII-only to match. char(n) (bpchar) values carry
// their padding; PostgreSQL ignores trailing spaces when it compares two
// char(n) values (or one with a literal), drops them when it converts char(n)
// to text (LOWER, SUBSTRING, a comparison with a text expression), counts
// them in OCTET_LENGTH and in LIKE.

// pgStr is PostgreSQL's kind of string type.
type pgStr uint8

const (
	pgUnknown pgStr = iota // a literal: takes the other side's type
	pgText                 // text, varchar
	pgBpchar               // char(n)
	pgEnum                 // an enum: equality with labels only
)

// stringSemantics says how two strings compare.
type stringSemantics struct {
	coll         *mysqlCollation // MySQL
	trimL, trimR bool            // PostgreSQL: ignore the trailing spaces of that side
}

func (s stringSemantics) compare(a, b string) int {
	if s.coll != nil {
		return s.coll.compare(a, b)
	}
	if s.trimL {
		a = rtrimSpaces(a)
	}
	if s.trimR {
		b = rtrimSpaces(b)
	}
	return strings.Compare(a, b) // UTF-8 byte order: code point order, PostgreSQL's C collation
}

func rtrimSpaces(s string) string { return strings.TrimRight(s, " ") }

// sameChar says whether LIKE matches two characters.
func (s stringSemantics) sameChar(a, b rune) bool {
	if s.coll != nil {
		return s.coll.sameChar(a, b)
	}
	return a == b
}

// parsePattern reads a LIKE pattern with escape character esc. An escape
// at the end is refused (PostgreSQL rejects it, MySQL matches it literally).
func parsePattern(p string, esc rune) ([]likeElem, error) {
	var out []likeElem
	escaped := false
	for _, r := range p {
		switch {
		case escaped:
			out = append(out, likeElem{r: r})
			escaped = false
		case r == esc:
			escaped = true
		case r == '%':
			if len(out) == 0 || !out[len(out)-1].any { // %% is %
				out = append(out, likeElem{any: true})
			}
		case r == '_':
			out = append(out, likeElem{one: true})
		default:
			out = append(out, likeElem{r: r})
		}
	}
	if escaped {
		return nil, fmt.Errorf("ends with the escape character %q", esc)
	}
	if out == nil {
		out = []likeElem{}
	}
	return out, nil
}

func decodeRune(s string) (rune, int) {
	if s == "" {
		return 0, 0
	}
	return utf8.DecodeRuneInString(s)
}

// matchLike matches s against pattern p: % any run of characters, _ one
// character, others one character equal under s's semantics. It backtracks
// only to the last %, so it takes at most len(s)*len(p) steps.
func matchLike(sem stringSemantics, s string, p []likeElem) bool {
	rs := []rune(s)
	si, pi := 0, 0
	star, mark := -1, 0
	for si < len(rs) {
		switch {
		case pi < len(p) && p[pi].any:
			star, mark = pi, si
			pi++
		case pi < len(p) && (p[pi].one || sem.sameChar(rs[si], p[pi].r)):
			si++
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			si = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi].any {
		pi++
	}
	return pi == len(p)
}

// substring is SUBSTRING(s, pos, n) (n < 0: to the end) in the dialect.
// MySQL: positions count from 1; 0 gives the empty string; a negative
// position counts from the end; a negative length gives the empty string.
// PostgreSQL: the characters from
// pos to pos+n-1 that exist (pos may be 0 or negative).
func substring(d Dialect, s string, pos, n int64, hasLen bool) string {
	rs := []rune(s)
	size := int64(len(rs))
	if d == MySQL {
		if pos == 0 || hasLen && n <= 0 {
			return ""
		}
		start := pos - 1
		if pos < 0 {
			start = size + pos
			if start < 0 {
				return ""
			}
		}
		if start >= size {
			return ""
		}
		end := size
		if hasLen && n < size-start {
			end = start + n
		}
		return string(rs[start:end])
	}
	start, end := max(pos-1, 0), size
	if hasLen {
		end = min(size, pos-1+n) // no overflow: check bounds |pos| and n by 2^31
	}
	if start >= end || start >= size {
		return ""
	}
	return string(rs[start:end])
}

// asciiLower and asciiUpper are PostgreSQL's LOWER/UPPER under COLLATE "C".
func asciiLower(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'A' && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s)
}

func asciiUpper(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, s)
}
