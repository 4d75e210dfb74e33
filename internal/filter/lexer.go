package filter

import (
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The lexer is the only code that reads a user's filter text. It knows both
// dialects' lexical rules, refuses everything outside the allowed subset
// (comments, statement separators, variables, placeholders, casts, escape
// strings...) with a message that names it, and hands the TiDB parser a
// normalised token stream instead of the text: identifiers in backquotes,
// every literal replaced by a placeholder that points back into the token
// list. So the parser never sees a user's comment, quote or escape sequence,
// and the literal values are interpreted here, by the filter's own dialect.

type tokKind uint8

const (
	tkWord   tokKind = iota // unquoted word: keyword, function name or identifier
	tkIdent                 // quoted identifier
	tkString                // string literal (val is the value)
	tkNumber                // numeric literal (val is the text)
	tkOp                    // operator or punctuation (val is canonical)
)

type token struct {
	kind tokKind
	val  string
	raw  string // the source text, for messages
	pos  int    // byte offset in the source
}

// lexer state.
type lexer struct {
	d    Dialect
	src  string
	pos  int
	toks []token
}

// lex splits src into tokens, refusing what no filter may contain.
func lex(d Dialect, src string) ([]token, error) {
	if len(src) > MaxBytes {
		return nil, invalid("the filter is %d bytes; the limit is %d", len(src), MaxBytes)
	}
	if !utf8.ValidString(src) {
		return nil, invalid("the filter is not valid UTF-8")
	}
	if i := strings.IndexByte(src, 0); i >= 0 {
		return nil, invalidAt(i, "the filter contains a NUL byte")
	}
	if strings.TrimSpace(src) == "" {
		return nil, invalid("the filter is empty: write a condition such as id > 100")
	}
	l := &lexer{d: d, src: src}
	depth := 0
	for {
		l.skipSpace()
		if l.pos >= len(src) {
			break
		}
		if len(l.toks) >= maxTokens {
			return nil, invalid("the filter has more than %d tokens", maxTokens)
		}
		t, err := l.next()
		if err != nil {
			return nil, err
		}
		switch t.val {
		case "(":
			if t.kind == tkOp {
				depth++
				if depth > MaxDepth {
					return nil, invalidAt(t.pos, "parentheses are nested more than %d levels deep", MaxDepth)
				}
			}
		case ")":
			if t.kind == tkOp {
				depth--
				if depth < 0 {
					return nil, invalidAt(t.pos, "')' has no matching '('")
				}
			}
		}
		l.toks = append(l.toks, t)
	}
	if depth > 0 {
		return nil, invalid("a '(' is not closed")
	}
	return l.toks, nil
}

func (l *lexer) skipSpace() {
	for l.pos < len(l.src) {
		switch l.src[l.pos] {
		case ' ', '\t', '\n', '\r':
			l.pos++
		default:
			return
		}
	}
}

func (l *lexer) peekByte(off int) byte {
	if l.pos+off < len(l.src) {
		return l.src[l.pos+off]
	}
	return 0
}

// next reads one token at l.pos (not white space).
func (l *lexer) next() (token, error) {
	start := l.pos
	c := l.src[start]
	switch {
	case c == '\'':
		return l.quotedString(start)
	case c == '`':
		if l.d != MySQL {
			return token{}, invalidAt(start, "backquotes quote names only in MySQL: write \"name\" in PostgreSQL")
		}
		return l.quotedIdent(start, '`')
	case c == '"':
		if l.d == MySQL {
			return token{}, invalidAt(start, "double quotes mean a string or a name depending on the server's ANSI_QUOTES mode: "+
				"write 'text' for strings and `name` for names")
		}
		return l.quotedIdent(start, '"')
	case c >= '0' && c <= '9' || c == '.' && isDigit(l.peekByte(1)):
		return l.number(start)
	case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80:
		return l.word(start)
	}
	return l.operator(start)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// Look-alikes of quotes that some editors substitute; named in the message.
var lookalikeQuotes = map[rune]string{
	'\u2018': "‘", '\u2019': "’", '\u201A': "‚", '\u201B': "‛", '\u201C': "“", '\u201D': "”",
	'\u201E': "„", '\u201F': "‟", '\u2032': "′", '\u2033': "″", '\u00B4': "´", '\u02BC': "ʼ",
	'\uFF07': "＇", '\uFF02': "＂", '\u00AB': "«", '\u00BB': "»", '\u2039': "‹", '\u203A': "›",
}

func (l *lexer) operator(start int) (token, error) {
	s := l.src[start:]
	op := func(n int, val string) (token, error) {
		l.pos += n
		return token{kind: tkOp, val: val, raw: s[:n], pos: start}, nil
	}
	switch {
	case strings.HasPrefix(s, "--"):
		return token{}, invalidAt(start, "comments are not allowed ('--')")
	case strings.HasPrefix(s, "/*!") || strings.HasPrefix(s, "/*M!"):
		return token{}, invalidAt(start, "comments are not allowed ('/*!...*/': MySQL runs the text of versioned comments as SQL)")
	case strings.HasPrefix(s, "/*"):
		return token{}, invalidAt(start, "comments are not allowed ('/*')")
	case s[0] == '#':
		return token{}, invalidAt(start, "comments are not allowed ('#')")
	case s[0] == ';':
		return token{}, invalidAt(start, "only one condition: ';' ends the statement")
	case strings.HasPrefix(s, "<=>"):
		if l.d != MySQL {
			return token{}, invalidAt(start, "'<=>' is MySQL's: write a IS NOT DISTINCT FROM b in PostgreSQL")
		}
		return op(3, "<=>")
	case strings.HasPrefix(s, "<>"), strings.HasPrefix(s, "!="):
		return op(2, "<>")
	case strings.HasPrefix(s, "<="):
		return op(2, "<=")
	case strings.HasPrefix(s, ">="):
		return op(2, ">=")
	case strings.HasPrefix(s, "&&"):
		if l.d != MySQL {
			return token{}, invalidAt(start, "'&&' is not AND in PostgreSQL: write AND")
		}
		return op(2, "AND")
	case strings.HasPrefix(s, "||"):
		if l.d != MySQL {
			return token{}, invalidAt(start, "'||' concatenates strings in PostgreSQL, which filters do not support; for OR write OR")
		}
		return op(2, "OR")
	case strings.HasPrefix(s, "::"):
		return token{}, invalidAt(start, "casts ('::') are not allowed: compare with a literal of the column's type, e.g. created_at >= '2024-01-01'")
	case strings.HasPrefix(s, "<<"), strings.HasPrefix(s, ">>"):
		return token{}, invalidAt(start, "operator '%s' is not allowed in a filter", s[:2])
	case strings.HasPrefix(s, ":="):
		return token{}, invalidAt(start, "assignments (':=') are not allowed")
	case strings.HasPrefix(s, "->"):
		return token{}, invalidAt(start, "JSON operators ('->') are not allowed in a filter")
	}
	switch s[0] {
	case '=', '<', '>', '+', '-', '*', '%', '(', ')', ',', '.':
		return op(1, s[:1])
	case '/':
		return token{}, invalidAt(start, "division ('/') is not allowed: MySQL and PostgreSQL round quotients differently; multiply instead (a > 2 * b)")
	case '@':
		end := start + 1
		for end < len(l.src) && (l.src[end] == '@' || l.src[end] == '.' || l.src[end] == '_' || isAlnum(l.src[end])) {
			end++
		}
		return token{}, invalidAt(start, "variables are not allowed (%s)", clip(l.src[start:end]))
	case '?':
		return token{}, invalidAt(start, "placeholders ('?') are not allowed: write the value")
	case '$':
		return token{}, invalidAt(start, "'$' (a placeholder or dollar-quoted string) is not allowed")
	case ':':
		return token{}, invalidAt(start, "':' is not allowed in a filter")
	case '\\':
		return token{}, invalidAt(start, "a backslash outside a string is not allowed")
	case '!':
		return token{}, invalidAt(start, "'!' is not allowed: write NOT (or <> for not equal)")
	case '&', '|', '^', '~':
		return token{}, invalidAt(start, "bitwise operator '%c' is not allowed in a filter", s[0])
	case '[', ']':
		return token{}, invalidAt(start, "array subscripts ('[') are not allowed in a filter")
	case '{', '}':
		return token{}, invalidAt(start, "ODBC escapes ('{') are not allowed in a filter")
	}
	r, _ := utf8.DecodeRuneInString(s)
	return token{}, invalidAt(start, "unexpected character %s", describeRune(r))
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func describeRune(r rune) string {
	if q, ok := lookalikeQuotes[r]; ok {
		return fmt.Sprintf("%s (%U): it looks like a quote but is not one; use ' for strings", q, r)
	}
	if unicode.IsPrint(r) && r != ' ' {
		return fmt.Sprintf("%q (%U)", r, r)
	}
	return fmt.Sprintf("%U", r)
}

// quotedString reads '...'. MySQL: a doubled quote and backslash escapes
// (the default sql_mode). PostgreSQL: standard strings, a doubled quote only.
func (l *lexer) quotedString(start int) (token, error) {
	var b strings.Builder
	i := start + 1
	for {
		if i >= len(l.src) {
			return token{}, invalidAt(start, "a string is not closed: %s", clip(l.src[start:]))
		}
		c := l.src[i]
		switch {
		case c == '\'':
			if i+1 < len(l.src) && l.src[i+1] == '\'' {
				b.WriteByte('\'')
				i += 2
				continue
			}
			l.pos = i + 1
			t := token{kind: tkString, val: b.String(), raw: l.src[start:l.pos], pos: start}
			return t, l.noAdjacentString(t)
		case c == '\\' && l.d == MySQL:
			if i+1 >= len(l.src) {
				return token{}, invalidAt(start, "a string is not closed: %s", clip(l.src[start:]))
			}
			e := l.src[i+1]
			switch e {
			case '0':
				return token{}, invalidAt(i, "NUL characters (\\0) are not allowed in a filter")
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'b':
				b.WriteByte('\b')
			case 'Z':
				b.WriteByte(0x1A)
			case '%', '_':
				b.WriteByte('\\') // MySQL keeps \% and \_ for LIKE
				b.WriteByte(e)
			default:
				r, size := utf8.DecodeRuneInString(l.src[i+1:])
				b.WriteRune(r)
				i += size - 1
			}
			i += 2
		default:
			b.WriteByte(c)
			i++
		}
	}
}

// noAdjacentString refuses a string right after another literal: SQL joins
// adjacent strings, and PostgreSQL only across a line break.
func (l *lexer) noAdjacentString(t token) error {
	if n := len(l.toks); n > 0 && (l.toks[n-1].kind == tkString || l.toks[n-1].kind == tkNumber) {
		return invalidAt(t.pos, "expected an operator between %s and %s", clip(l.toks[n-1].raw), clip(t.raw))
	}
	return nil
}

// quotedIdent reads `name` (MySQL) or "name" (PostgreSQL); the quote is doubled inside.
func (l *lexer) quotedIdent(start int, q byte) (token, error) {
	var b strings.Builder
	i := start + 1
	for {
		if i >= len(l.src) {
			return token{}, invalidAt(start, "a quoted name is not closed: %s", clip(l.src[start:]))
		}
		if l.src[i] == q {
			if i+1 < len(l.src) && l.src[i+1] == q {
				b.WriteByte(q)
				i += 2
				continue
			}
			break
		}
		b.WriteByte(l.src[i])
		i++
	}
	l.pos = i + 1
	if b.Len() == 0 {
		return token{}, invalidAt(start, "an empty quoted name (%s) is not a column", l.src[start:l.pos])
	}
	return token{kind: tkIdent, val: b.String(), raw: l.src[start:l.pos], pos: start}, nil
}

// number reads 12, 1.5, .5, 1., 1e3, 1.5E-3. Anything glued to it (0x1F,
// 1abc, 1_000) is refused.
func (l *lexer) number(start int) (token, error) {
	i := start
	digits := func() int {
		n := 0
		for i < len(l.src) && isDigit(l.src[i]) {
			i++
			n++
		}
		return n
	}
	n := digits()
	if i < len(l.src) && l.src[i] == '.' {
		i++
		n += digits()
	}
	if n == 0 {
		return token{}, invalidAt(start, "unexpected '.'")
	}
	if i < len(l.src) && (l.src[i] == 'e' || l.src[i] == 'E') {
		j := i + 1
		if j < len(l.src) && (l.src[j] == '+' || l.src[j] == '-') {
			j++
		}
		if j < len(l.src) && isDigit(l.src[j]) {
			i = j
			digits()
		}
	}
	end := i
	for end < len(l.src) {
		r, size := utf8.DecodeRuneInString(l.src[end:])
		if !(r == '_' || r == '$' || unicode.IsLetter(r) || unicode.IsDigit(r)) {
			break
		}
		end += size
	}
	if end > i {
		text := l.src[start:end]
		if strings.HasPrefix(strings.ToLower(text), "0x") || strings.HasPrefix(strings.ToLower(text), "0b") {
			return token{}, invalidAt(start, "hexadecimal and bit literals (%s) are not allowed: they are binary strings", clip(text))
		}
		return token{}, invalidAt(start, "%s is neither a number nor a name: quote names that start with a digit", clip(text))
	}
	l.pos = i
	t := token{kind: tkNumber, val: l.src[start:i], raw: l.src[start:i], pos: start}
	if n := len(l.toks); n > 0 && (l.toks[n-1].kind == tkString || l.toks[n-1].kind == tkNumber) {
		return token{}, invalidAt(start, "expected an operator between %s and %s", clip(l.toks[n-1].raw), clip(t.raw))
	}
	return t, nil
}

// word reads an unquoted word. Prefixed strings (X'..', N'..', E'..',
// B'..', U&'..', _charset'..') are recognised here and refused, except
// MySQL's _utf8mb4 X'hex', which is how the renderer writes strings that
// are not plain ASCII.
func (l *lexer) word(start int) (token, error) {
	i := start
	for i < len(l.src) {
		r, size := utf8.DecodeRuneInString(l.src[i:])
		if r == '_' || r == '$' && i > start || r < 0x80 && isAlnum(byte(r)) ||
			r >= 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r)) {
			i += size
			continue
		}
		if r >= 0x80 && i == start {
			return token{}, invalidAt(start, "unexpected character %s", describeRune(r))
		}
		break
	}
	w := l.src[start:i]
	lw := strings.ToLower(w)
	if i < len(l.src) && (l.src[i] == '\'' || l.src[i] == '&' && strings.HasPrefix(l.src[i:], "&'")) {
		switch {
		case lw == "x" || lw == "b":
			return token{}, invalidAt(start, "hexadecimal and bit literals (%s'...') are not allowed: they are binary strings", w)
		case lw == "e" && l.d == PostgreSQL:
			return l.escapeString(start, i)
		case lw == "e":
			return token{}, invalidAt(start, "escape strings (E'...') are not allowed: write '...'")
		case lw == "n":
			return token{}, invalidAt(start, "national strings (N'...') are not allowed: write '...'")
		case lw == "u":
			return token{}, invalidAt(start, "Unicode escape strings (U&'...') are not allowed: write the characters in '...'")
		case strings.HasPrefix(lw, "_"):
			return token{}, invalidAt(start, "character set introducers (%s'...') are not allowed: write '...'", w)
		default:
			return token{}, invalidAt(start, "typed literals (%s '...') are not allowed: write the string alone, e.g. d >= '2024-01-01'", w)
		}
	}
	l.pos = i
	if lw == "_utf8mb4" && l.d == MySQL {
		return l.introducedHex(start)
	}
	return token{kind: tkWord, val: w, raw: w, pos: start}, nil
}

// escapeString reads PostgreSQL's E'...' (the quote at q), admitting only
// a doubled backslash (what the renderer writes for one) and a doubled quote.
func (l *lexer) escapeString(start, q int) (token, error) {
	var b strings.Builder
	i := q + 1
	for {
		if i >= len(l.src) {
			return token{}, invalidAt(start, "a string is not closed: %s", clip(l.src[start:]))
		}
		switch c := l.src[i]; {
		case c == '\\':
			if i+1 >= len(l.src) || l.src[i+1] != '\\' {
				return token{}, invalidAt(i, "escape strings (E'...') may only use \\\\ (a backslash): write other characters as they are")
			}
			b.WriteByte('\\')
			i += 2
		case c == '\'' && i+1 < len(l.src) && l.src[i+1] == '\'':
			b.WriteByte('\'')
			i += 2
		case c == '\'':
			l.pos = i + 1
			t := token{kind: tkString, val: b.String(), raw: l.src[start:l.pos], pos: start}
			return t, l.noAdjacentString(t)
		default:
			b.WriteByte(c)
			i++
		}
	}
}

// introducedHex reads the rest of _utf8mb4 X'hex': a UTF-8 string.
func (l *lexer) introducedHex(start int) (token, error) {
	l.skipSpace()
	s := l.src[l.pos:]
	if len(s) < 3 || (s[0] != 'X' && s[0] != 'x') || s[1] != '\'' {
		return token{}, invalidAt(start, "character set introducers (_utf8mb4) are only allowed before X'hex'")
	}
	end := strings.IndexByte(s[2:], '\'')
	if end < 0 {
		return token{}, invalidAt(start, "a string is not closed: %s", clip(l.src[start:]))
	}
	b, err := hex.DecodeString(s[2 : 2+end])
	if err != nil || !utf8.Valid(b) {
		return token{}, invalidAt(start, "_utf8mb4 X'...' must hold UTF-8 text in hexadecimal digits")
	}
	if strings.IndexByte(string(b), 0) >= 0 {
		return token{}, invalidAt(start, "NUL characters are not allowed in a filter")
	}
	l.pos += 2 + end + 1
	t := token{kind: tkString, val: string(b), raw: l.src[start:l.pos], pos: start}
	return t, l.noAdjacentString(t)
}

func clip(s string) string {
	const n = 40
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
