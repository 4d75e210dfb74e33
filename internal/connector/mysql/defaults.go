package mysql

import (
	"database/sql"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"

	"github.com/dtsorg/dts/internal/schema"
)

// Column defaults as information_schema.COLUMNS.COLUMN_DEFAULT spells them.
//
// MariaDB 10.2.7+ prints them as SQL: string literals quoted ('it''s'), NULL
// for DEFAULT NULL, current_timestamp(6), curdate(), b'101', numbers bare,
// other expressions as written. MySQL prints literals unquoted (it's),
// SQL NULL for DEFAULT NULL, CURRENT_TIMESTAMP(6), binary strings in hex
// (0x6162), and marks expressions with DEFAULT_GENERATED in EXTRA (8.0.13+),
// their quotes backslash-escaped.

var (
	currentTimestampRe = regexp.MustCompile(`(?i)^(current_timestamp|now|localtime|localtimestamp)(\(\s*([0-6]?)\s*\))?$`)
	currentDateRe      = regexp.MustCompile(`(?i)^(curdate\(\)|current_date(\(\))?)$`)
	numberRe           = regexp.MustCompile(`^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$`)
	bitLiteralRe       = regexp.MustCompile(`^[bB]'([01]*)'$`)
)

// columnDefault classifies a column's default. nullable columns without a
// default have DEFAULT NULL in MySQL; NOT NULL ones get nil.
func columnDefault(srv server, raw sql.NullString, extra string, c *schema.Column) *schema.Default {
	if c.Generated != nil || c.AutoIncrement {
		return nil
	}
	if !raw.Valid {
		if c.Nullable {
			return &schema.Default{Kind: schema.DefaultNull}
		}
		return nil
	}
	s := raw.String
	if srv.mariadb {
		return mariadbDefault(s, c)
	}
	return mysqlDefault(s, strings.Contains(strings.ToUpper(extra), "DEFAULT_GENERATED"), c)
}

func mariadbDefault(s string, c *schema.Column) *schema.Default {
	switch {
	case s == "NULL":
		return &schema.Default{Kind: schema.DefaultNull}
	case strings.HasPrefix(s, "'"):
		if v, rest, ok := unquoteString(s); ok && rest == "" {
			return literal(v, c.Type)
		}
	case numberRe.MatchString(s):
		return literal(s, c.Type)
	case bitLiteralRe.MatchString(s):
		return literal(bitLiteralRe.FindStringSubmatch(s)[1], c.Type)
	}
	return special(s)
}

func mysqlDefault(s string, generated bool, c *schema.Column) *schema.Default {
	if d := special(s); d.Kind != schema.DefaultExpression {
		return d
	}
	if generated { // an expression: MySQL escapes its quotes in information_schema
		return &schema.Default{Kind: schema.DefaultExpression, Value: unescapeExpr(s)}
	}
	switch {
	case c.Type.Kind == schema.KindBit && bitLiteralRe.MatchString(s):
		return literal(bitLiteralRe.FindStringSubmatch(s)[1], c.Type)
	case c.Type.IsBinary() && strings.HasPrefix(s, "0x"):
		if b, err := hex.DecodeString(s[2:]); err == nil {
			return literal(string(b), c.Type)
		}
	}
	return literal(s, c.Type)
}

// special recognises CURRENT_TIMESTAMP(n) and CURRENT_DATE; anything else
// is an expression.
func special(s string) *schema.Default {
	if m := currentTimestampRe.FindStringSubmatch(s); m != nil {
		fsp, _ := strconv.Atoi(m[3])
		return &schema.Default{Kind: schema.DefaultCurrentTimestamp, FSP: fsp}
	}
	if currentDateRe.MatchString(s) {
		return &schema.Default{Kind: schema.DefaultCurrentDate}
	}
	return &schema.Default{Kind: schema.DefaultExpression, Value: s}
}

// literal returns a literal default in canonical form for t.
func literal(v string, t schema.Type) *schema.Default {
	switch t.Kind {
	case schema.KindFloat32, schema.KindFloat64:
		bits := 64
		if t.Kind == schema.KindFloat32 {
			bits = 32
		}
		if f, err := strconv.ParseFloat(v, bits); err == nil {
			v = strconv.FormatFloat(f, 'g', -1, bits)
		}
	case schema.KindTime, schema.KindDateTime, schema.KindTimestamp:
		v = string(trimFraction([]byte(v)))
	case schema.KindBit:
		if len(v) < t.Length {
			v = strings.Repeat("0", t.Length-len(v)) + v
		}
	}
	return &schema.Default{Kind: schema.DefaultLiteral, Value: v}
}

// unescapeExpr undoes the backslash escaping MySQL 8 applies to quotes in
// the expressions information_schema shows (defaults, generated columns).
func unescapeExpr(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '\'' || s[i+1] == '\\') {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
