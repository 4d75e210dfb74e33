package filter

import (
	"encoding/hex"
	"strings"
)

// Rendering: the only text of a filter that reaches a database.
//
// Every operation is parenthesised, so precedence never depends on the
// engine. Identifiers are quoted (backquotes or double quotes, doubled
// inside). Literals are written so that no session setting changes them:
//
//   - MySQL strings of printable ASCII without ' and \ are written '...',
//     which means the same under every sql_mode; every other string is
//     written _utf8mb4 X'hex': no quote, no backslash, no character of the
//     value in the SQL, so NO_BACKSLASH_ESCAPES, ANSI_QUOTES and the
//     connection's charset do not matter. The introducer keeps it a
//     character string (a bare X'..' would be binary and compare bytes).
//   - PostgreSQL strings are standard strings with quotes doubled; one holding a
//     backslash is written E'...' with the backslash doubled, which reads
//     the same whatever standard_conforming_strings says (a plain '\' would
//     end the string early if it were off).
//   - Negative numbers are parenthesised, so "a - -1" can never become the
//     comment "a--1".
//   - LIKE patterns are written with ESCAPE '!' and their own escaping, not
//     the user's text.
type renderer struct {
	d Dialect
	b strings.Builder
}

// cond writes the whole filter, in parentheses.
func (r *renderer) cond(n node) {
	switch n.(type) {
	case *column, *literal:
		r.b.WriteByte('(')
		r.expr(n)
		r.b.WriteByte(')')
	default:
		r.expr(n) // parenthesised already
	}
}

func (r *renderer) ident(name string) {
	q := "`"
	if r.d == PostgreSQL {
		q = `"`
	}
	r.b.WriteString(q + strings.ReplaceAll(name, q, q+q) + q)
}

func (r *renderer) str(s string) {
	if r.d == PostgreSQL {
		if strings.ContainsRune(s, '\\') {
			r.b.WriteString("E'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'")
			return
		}
		r.b.WriteString("'" + strings.ReplaceAll(s, "'", "''") + "'")
		return
	}
	if plainASCII(s) {
		r.b.WriteString("'" + s + "'")
		return
	}
	r.b.WriteString("_utf8mb4 X'" + strings.ToUpper(hex.EncodeToString([]byte(s))) + "'")
}

// plainASCII reports whether s is printable ASCII without ' and \.
func plainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7E || c == '\'' || c == '\\' {
			return false
		}
	}
	return true
}

func (r *renderer) expr(n node) {
	switch n := n.(type) {
	case *column:
		r.ident(n.name)
	case *literal:
		r.literal(n)
	case *logical:
		r.b.WriteByte('(')
		for i, a := range n.args {
			if i > 0 {
				r.b.WriteString([]string{" AND ", " OR "}[n.op])
			}
			r.expr(a)
		}
		r.b.WriteByte(')')
	case *not:
		r.b.WriteString("(NOT ")
		r.expr(n.x)
		r.b.WriteByte(')')
	case *compare:
		r.compare(n)
	case *inList:
		r.b.WriteByte('(')
		r.expr(n.x)
		r.b.WriteString(neg(n.neg) + " IN (")
		for i, a := range n.list {
			if i > 0 {
				r.b.WriteString(", ")
			}
			r.expr(a)
		}
		r.b.WriteString("))")
	case *between:
		r.b.WriteByte('(')
		r.collated(n.x, r.orderC(n.cLo))
		r.b.WriteString(neg(n.neg) + " BETWEEN ")
		r.expr(n.lo)
		r.b.WriteString(" AND ")
		r.expr(n.hi)
		r.b.WriteByte(')')
	case *like:
		r.b.WriteByte('(')
		r.expr(n.x)
		r.b.WriteString(neg(n.neg) + " LIKE ")
		r.str(patternString(n.pattern, '!'))
		r.b.WriteString(" ESCAPE '!')")
	case *isNull:
		r.b.WriteByte('(')
		r.expr(n.x)
		r.b.WriteString(" IS" + neg(n.neg) + " NULL)")
	case *isBool:
		r.b.WriteByte('(')
		r.expr(n.x)
		r.b.WriteString(" IS" + neg(n.neg) + " " + map[bool]string{true: "TRUE", false: "FALSE"}[n.val] + ")")
	case *arith:
		r.b.WriteByte('(')
		r.expr(n.l)
		r.b.WriteString(" " + arithNames[n.op] + " ")
		r.expr(n.r)
		r.b.WriteByte(')')
	case *call:
		r.call(n)
	}
}

func (r *renderer) literal(n *literal) {
	switch n.kind {
	case litNull:
		r.b.WriteString("NULL")
	case litBool:
		r.b.WriteString(map[bool]string{true: "TRUE", false: "FALSE"}[n.b])
	case litNumber:
		if strings.HasPrefix(n.text, "-") {
			r.b.WriteString("(" + n.text + ")")
		} else {
			r.b.WriteString(n.text)
		}
	case litString:
		r.str(n.text)
	}
}

// orderC says whether a string comparison is rendered with COLLATE "C":
// PostgreSQL orders strings in the C collation, as Eval does.
func (r *renderer) orderC(c comparator) bool { return r.d == PostgreSQL && c.k == ckString }

// collated writes n, with COLLATE "C" when c says so.
func (r *renderer) collated(n node, c bool) {
	r.expr(n)
	if c {
		r.b.WriteString(` COLLATE "C"`)
	}
}

func (r *renderer) compare(n *compare) {
	ordering := n.op != cmpEQ && n.op != cmpNE && n.op != cmpNullEQ
	c := ordering && r.orderC(n.c)
	_, litLeft := n.l.(*literal)
	r.b.WriteByte('(')
	r.collated(n.l, c && !litLeft)
	switch {
	case n.op == cmpNullEQ && r.d == PostgreSQL:
		r.b.WriteString(" IS NOT DISTINCT FROM ")
	default:
		r.b.WriteString(" " + cmpNames[n.op] + " ")
	}
	r.collated(n.r, c && litLeft)
	r.b.WriteByte(')')
}

func (r *renderer) call(n *call) {
	name := fnNames[n.fn]
	if n.fn == fnOctetLength && r.d == MySQL {
		name = "LENGTH"
	}
	r.b.WriteString(name + "(")
	for i, a := range n.args {
		if i > 0 {
			r.b.WriteString(", ")
		}
		// PostgreSQL's LOWER/UPPER map case by the collation: C maps ASCII only, as Eval.
		r.collated(a, r.d == PostgreSQL && (n.fn == fnLower || n.fn == fnUpper))
	}
	r.b.WriteByte(')')
}
