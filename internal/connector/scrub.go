package connector

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Redacted replaces a secret in text.
const Redacted = "[redacted]"

// Scrub returns msg with every occurrence of each non-empty secret replaced by
// [redacted], including the forms a driver or URL would show it in (URL-escaped,
// Go-quoted, SQL-quoted). Call it on any driver text before it goes into an error
// or a log line. A short secret makes the text hard to read; that is the price.
func Scrub(msg string, secrets ...string) string {
	for _, s := range secrets {
		if s == "" {
			continue
		}
		forms := []string{
			s,
			url.QueryEscape(s),
			url.PathEscape(s),
			url.UserPassword("u", s).String()[2:], // userinfo escaping: "u:" + escaped
			strings.Trim(strconv.Quote(s), `"`),
			strings.ReplaceAll(s, `'`, `''`),
			strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s),
		}
		// Longer forms first, so that a form containing another is replaced whole.
		slices.SortFunc(forms, func(a, b string) int { return len(b) - len(a) })
		for _, f := range forms {
			msg = strings.ReplaceAll(msg, f, Redacted)
		}
	}
	return msg
}
