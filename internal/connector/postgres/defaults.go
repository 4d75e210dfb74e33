package postgres

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/dtsorg/dts/internal/schema"
)

var (
	// castSuffix is a chain of casts after a literal: ::text, ::character varying(20),
	// ::timestamp with time zone, ::"bit", ::public.mood, ::integer[].
	castSuffix = regexp.MustCompile(`^(::[\pL_"][\pL\pN_ ."$,()\[\]]*)*$`)
	numberRe   = regexp.MustCompile(`^-?[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?$`)
	currentTS  = regexp.MustCompile(`^(?i:now\(\)|transaction_timestamp\(\)|CURRENT_TIMESTAMP(?:\(([0-6])\))?)$`)
)

// classifyDefault turns pg_get_expr's text of a column default into the
// model. Literals come back in canonical form for the column's type; the
// rest keeps the expression's text (same-engine copies only).
func classifyDefault(expr string, t schema.Type) *schema.Default {
	e := stripParens(strings.TrimSpace(expr))
	if lit, ok := literalOf(e); ok {
		canon, err := canonicalText([]byte(lit), t)
		if err == nil {
			return &schema.Default{Kind: schema.DefaultLiteral, Value: string(canon)}
		}
	}
	if strings.EqualFold(e, "NULL") || strings.HasPrefix(strings.ToUpper(e), "NULL::") {
		return &schema.Default{Kind: schema.DefaultNull}
	}
	if m := currentTS.FindStringSubmatch(e); m != nil {
		fsp := 0
		if m[1] != "" {
			fsp, _ = strconv.Atoi(m[1])
		}
		return &schema.Default{Kind: schema.DefaultCurrentTimestamp, Value: expr, FSP: fsp}
	}
	if strings.EqualFold(e, "CURRENT_DATE") {
		return &schema.Default{Kind: schema.DefaultCurrentDate, Value: expr}
	}
	return &schema.Default{Kind: schema.DefaultExpression, Value: expr}
}

// literalOf returns the text of a constant: 'text'::cast..., a bare number,
// true or false. Escape strings (E-prefixed) and anything else are not literals here.
func literalOf(e string) (string, bool) {
	switch {
	case e == "true" || e == "false":
		return e, true
	case numberRe.MatchString(e):
		return e, true
	case strings.HasPrefix(e, "("): // (1)::bigint
		if k := closingParen(e); k > 0 && k+1 < len(e) && castSuffix.MatchString(e[k+1:]) {
			return literalOf(stripParens(e[:k+1]))
		}
		return "", false
	case !strings.HasPrefix(e, "'"):
		return "", false
	}
	var b strings.Builder
	for i := 1; i < len(e); i++ {
		if e[i] != '\'' {
			b.WriteByte(e[i])
			continue
		}
		if i+1 < len(e) && e[i+1] == '\'' {
			b.WriteByte('\'')
			i++
			continue
		}
		if castSuffix.MatchString(e[i+1:]) {
			return b.String(), true
		}
		return "", false
	}
	return "", false
}

// stripParens removes parentheses around the whole expression.
func stripParens(e string) string {
	for len(e) >= 2 && e[0] == '(' && e[len(e)-1] == ')' && enclosed(e) {
		e = strings.TrimSpace(e[1 : len(e)-1])
	}
	return e
}

// enclosed reports whether e's first parenthesis closes at its last byte.
func enclosed(e string) bool { return closingParen(e) == len(e)-1 }

// closingParen returns the index of the parenthesis that closes e's first
// byte, an opening one; -1 if there is none. Quoted text is skipped.
func closingParen(e string) int {
	depth, quoted := 0, false
	for i := 0; i < len(e); i++ {
		switch c := e[i]; {
		case c == '\'':
			quoted = !quoted
		case quoted:
		case c == '(':
			depth++
		case c == ')':
			depth--
			if depth == 0 {
				return i
			}
		}
	}
	return -1
}
