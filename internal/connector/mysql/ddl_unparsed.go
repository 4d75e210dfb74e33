package mysql

import (
	"regexp"
	"slices"
	"strings"

	"github.com/dtsorg/dts/internal/job"
)

// Statements the parser cannot read.

var createTableRe = regexp.MustCompile("(?is)^\\s*create\\s+(?:or\\s+replace\\s+)?(temporary\\s+)?table\\s+(?:if\\s+not\\s+exists\\s+)?" +
	"(`(?:[^`]|``)+`|[\\w$\\x{80}-\\x{10FFFF}]+)(?:\\s*\\.\\s*(`(?:[^`]|``)+`|[\\w$\\x{80}-\\x{10FFFF}]+))?")

// unparsed finds the followed tables an unparseable statement may touch:
// every followed table whose name appears in it as an identifier, and the
// table a CREATE TABLE in a followed database makes. A statement reaches
// a table of another database than its default one only by naming that
// database: a same-named table of an unfollowed database (another tenant's
// copy of the schema) does not hold a followed one, whose structure read
// later could then differ from the binlog's and stop the job.
func (h *schemaHistory) unparsed(sql, db string, perr error) ddlOutcome {
	out := ddlOutcome{kind: ddlKindOf(sql), why: "the TiDB parser cannot read it (" + firstLine(perr.Error()) + ")"}
	idents := map[string]bool{}
	for _, id := range identifiers(sql) {
		idents[strings.ToLower(id)] = true
	}
	for k, t := range h.tables {
		inReach := strings.EqualFold(t.Schema, db) || idents[strings.ToLower(t.Schema)]
		if idents[strings.ToLower(t.Name)] && inReach {
			out.reread = append(out.reread, k)
		}
	}
	if m := createTableRe.FindStringSubmatch(sql); m != nil && m[1] == "" {
		s, name := db, unquoteIdent(m[2])
		if m[3] != "" {
			s, name = name, unquoteIdent(m[3])
		}
		if k := h.key(s, name); h.followsDB(s) && !slices.Contains(out.reread, k) {
			out.reread = append(out.reread, k)
		}
	}
	if len(out.reread) == 0 {
		out.kind = ""
	}
	slices.SortFunc(out.reread, func(a, b tableKey) int { return strings.Compare(a.String(), b.String()) })
	return out
}

func unquoteIdent(s string) string {
	if strings.HasPrefix(s, "`") && strings.HasSuffix(s, "`") && len(s) >= 2 {
		return strings.ReplaceAll(s[1:len(s)-1], "``", "`")
	}
	return s
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// ddlKindOf guesses a statement's DDL kind from its first words.
func ddlKindOf(sql string) string {
	words := strings.Fields(strings.ToLower(stripComments(sql)))
	has := func(w string) bool { return slices.Contains(words[:min(len(words), 6)], w) }
	switch {
	case len(words) == 0:
		return job.DDLAlterTable
	case words[0] == "create" && has("index"):
		return job.DDLCreateIndex
	case words[0] == "create":
		return job.DDLCreateTable
	case words[0] == "rename":
		return job.DDLRenameTable
	case words[0] == "drop" && has("index"):
		return job.DDLDropIndex
	case words[0] == "drop":
		return job.DDLDropTable
	case words[0] == "truncate":
		return job.DDLTruncateTable
	}
	return job.DDLAlterTable
}

// stripComments removes leading /* */ and -- comments.
func stripComments(s string) string {
	for {
		s = strings.TrimSpace(s)
		switch {
		case strings.HasPrefix(s, "/*"):
			end := strings.Index(s, "*/")
			if end < 0 {
				return ""
			}
			s = s[end+2:]
		case strings.HasPrefix(s, "--") || strings.HasPrefix(s, "#"):
			end := strings.IndexByte(s, '\n')
			if end < 0 {
				return ""
			}
			s = s[end+1:]
		default:
			return s
		}
	}
}

// identifiers returns the words and quoted identifiers of a statement
// (string literals and comments skipped).
func identifiers(sql string) []string {
	var out []string
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '`' || c == '"':
			var b strings.Builder
			j := i + 1
			for j < len(sql) {
				if sql[j] == c {
					if j+1 < len(sql) && sql[j+1] == c {
						b.WriteByte(c)
						j += 2
						continue
					}
					break
				}
				b.WriteByte(sql[j])
				j++
			}
			out = append(out, b.String())
			i = j + 1
		case c == '\'':
			j := i + 1
			for j < len(sql) && sql[j] != '\'' {
				if sql[j] == '\\' {
					j++
				}
				j++
			}
			i = j + 1
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				return out
			}
			i += end + 4
		case isIdentByte(c):
			j := i
			for j < len(sql) && isIdentByte(sql[j]) {
				j++
			}
			out = append(out, sql[i:j])
			i = j
		default:
			i++
		}
	}
	return out
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}
