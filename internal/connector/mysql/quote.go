package mysql

import (
	"strings"
)

// Identifiers and literals in SQL text. Every identifier dts sends is quoted
// with backticks (a backtick doubled inside); user text becomes a literal only
// where MySQL takes no parameter (DDL: defaults, comments, ENUM labels), and
// then through quoteString. dts sessions never run with ANSI_QUOTES or
// NO_BACKSLASH_ESCAPES (see session.go), so these forms are the ones the
// server reads.

// quoteIdent quotes an identifier: `a“b`.
func quoteIdent(s string) string {
	return "`" + strings.ReplaceAll(s, "`", "``") + "`"
}

// quoteTable quotes schema.name.
func quoteTable(schemaName, name string) string {
	return quoteIdent(schemaName) + "." + quoteIdent(name)
}

// quoteIdents quotes names and joins them with commas.
func quoteIdents(names []string) string {
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(quoteIdent(n))
	}
	return b.String()
}

// quoteString returns s as a string literal for a session without
// NO_BACKSLASH_ESCAPES: quote doubled, backslash and NUL escaped.
func quoteString(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\'':
			b.WriteString("''")
		case '\\':
			b.WriteString(`\\`)
		case 0:
			b.WriteString(`\0`)
		case '\x1a':
			b.WriteString(`\Z`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// hexLiteral returns bytes as X'..', a binary string literal.
func hexLiteral(b []byte) string {
	const digits = "0123456789ABCDEF"
	out := make([]byte, 0, 3+2*len(b))
	out = append(out, "X'"...)
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(append(out, '\''))
}

// unquoteString parses a single-quoted SQL string literal at the start of s
// (quotes doubled or backslash-escaped, as information_schema and SHOW CREATE
// TABLE print them) and returns its value and the rest of s.
func unquoteString(s string) (val, rest string, ok bool) {
	if len(s) == 0 || s[0] != '\'' {
		return "", s, false
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\'' && i+1 < len(s) && s[i+1] == '\'':
			b.WriteByte('\'')
			i++
		case c == '\'':
			return b.String(), s[i+1:], true
		case c == '\\' && i+1 < len(s):
			i++
			switch e := s[i]; e {
			case '0':
				b.WriteByte(0)
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case 'b':
				b.WriteByte('\b')
			case 'Z':
				b.WriteByte('\x1a')
			case '%', '_': // kept with their backslash, as MySQL does
				b.WriteByte('\\')
				b.WriteByte(e)
			default:
				b.WriteByte(e)
			}
		default:
			b.WriteByte(c)
		}
	}
	return "", s, false
}

// isPlainName reports whether s is a charset or collation name that can be
// pasted into SQL (they cannot be quoted as identifiers everywhere).
func isPlainName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
