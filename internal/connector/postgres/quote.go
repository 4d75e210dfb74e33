package postgres

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
)

// maxIdent is PostgreSQL's identifier limit in bytes (NAMEDATALEN-1); the
// server truncates longer names silently, so dts refuses them instead.
const maxIdent = 63

// quoteIdent quotes an identifier: always in double quotes, quotes doubled.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// quoteQualified quotes schema.name.
func quoteQualified(schemaName, name string) string {
	return quoteIdent(schemaName) + "." + quoteIdent(name)
}

// quoteLiteral quotes a string constant for standard_conforming_strings=on
// (the default since 9.1, and set on dts's sessions): quotes doubled,
// backslashes literal. A string with a NUL byte cannot be a literal; callers
// check for NUL first.
func quoteLiteral(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// quoteIdentList quotes and joins identifiers with ", ".
func quoteIdentList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = quoteIdent(n)
	}
	return strings.Join(q, ", ")
}

// sqlName returns an identifier as PostgreSQL's quote_ident would spell it:
// bare when it is a plain lower-case name, quoted otherwise. It names user
// types in schema.Type.UserType ("public.mood", `"My Schema".mood`), which
// splitQualified reads back.
func sqlName(s string) string {
	plain := s != ""
	for i, r := range s {
		if !(r >= 'a' && r <= 'z' || r == '_' || i > 0 && (r >= '0' && r <= '9' || r == '$')) {
			plain = false
			break
		}
	}
	if plain && !reserved[s] {
		return s
	}
	return quoteIdent(s)
}

// reserved lists the keywords that cannot be bare type or schema names;
// quoting one more word than necessary is harmless.
var reserved = map[string]bool{
	"all": true, "analyse": true, "analyze": true, "and": true, "any": true, "array": true, "as": true, "asc": true,
	"asymmetric": true, "both": true, "case": true, "cast": true, "check": true, "collate": true, "column": true,
	"constraint": true, "create": true, "current_date": true, "current_role": true, "current_time": true,
	"current_timestamp": true, "current_user": true, "default": true, "deferrable": true, "desc": true,
	"distinct": true, "do": true, "else": true, "end": true, "except": true, "false": true, "fetch": true,
	"for": true, "foreign": true, "from": true, "grant": true, "group": true, "having": true, "in": true,
	"initially": true, "intersect": true, "into": true, "lateral": true, "leading": true, "limit": true,
	"localtime": true, "localtimestamp": true, "not": true, "null": true, "offset": true, "on": true, "only": true,
	"or": true, "order": true, "placing": true, "primary": true, "references": true, "returning": true,
	"select": true, "session_user": true, "some": true, "symmetric": true, "table": true, "then": true, "to": true,
	"trailing": true, "true": true, "union": true, "unique": true, "user": true, "using": true, "variadic": true,
	"when": true, "where": true, "window": true, "with": true,
}

// splitQualified splits what sqlName(schema)+"."+sqlName(name) produced.
func splitQualified(s string) (schemaName, name string, ok bool) {
	first, rest, ok := readName(s)
	if !ok || !strings.HasPrefix(rest, ".") {
		return "", "", false
	}
	second, rest, ok := readName(rest[1:])
	if !ok || rest != "" {
		return "", "", false
	}
	return first, second, true
}

// readName reads one bare or quoted identifier from the start of s.
func readName(s string) (name, rest string, ok bool) {
	if !strings.HasPrefix(s, `"`) {
		i := strings.IndexByte(s, '.')
		if i < 0 {
			i = len(s)
		}
		return s[:i], s[i:], i > 0
	}
	var b strings.Builder
	for i := 1; i < len(s); i++ {
		if s[i] != '"' {
			b.WriteByte(s[i])
			continue
		}
		if i+1 < len(s) && s[i+1] == '"' {
			b.WriteByte('"')
			i++
			continue
		}
		return b.String(), s[i+1:], true
	}
	return "", "", false
}

// shortName fits a derived name into maxIdent bytes: a longer one is cut
// (on a UTF-8 boundary) and ends in a hash of the whole name, so distinct
// long names stay distinct and the same name always gives the same result.
func shortName(name string) string {
	if len(name) <= maxIdent {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	suffix := "_" + hex.EncodeToString(sum[:])[:8]
	cut := maxIdent - len(suffix)
	for cut > 0 && !utf8Start(name[cut]) {
		cut--
	}
	return name[:cut] + suffix
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
