package filter

import (
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser"
)

// The token stream handed to the TiDB parser: which words are keywords,
// functions or names, and what is refused on the way.

// emission is the text handed to the TiDB parser and what its placeholders mean.
type emission struct {
	sql      strings.Builder
	offsets  []int              // start of each token's text in sql, for parse errors
	toks     []token            // the token each offset belongs to
	lits     []token            // literal tokens by placeholder number
	patterns map[int][]likeElem // LIKE patterns by placeholder number
	distinct []bool             // per <=> in text order: true for IS DISTINCT FROM (negated)
}

// The words a filter may use as keywords.
var keywords = map[string]bool{"AND": true, "OR": true, "NOT": true, "IN": true, "IS": true, "NULL": true,
	"TRUE": true, "FALSE": true, "LIKE": true, "BETWEEN": true}

// The functions a filter may call, by dialect-independent name.
var functions = map[string]bool{"LOWER": true, "UPPER": true, "LENGTH": true, "CHAR_LENGTH": true,
	"CHARACTER_LENGTH": true, "OCTET_LENGTH": true, "ABS": true, "COALESCE": true, "SUBSTRING": true, "SUBSTR": true}

const allowedFunctions = "ABS, CHAR_LENGTH, CHARACTER_LENGTH, COALESCE, LENGTH, LOWER, OCTET_LENGTH, SUBSTR, SUBSTRING, UPPER"

// Functions refused with a reason of their own.
var nonDeterministic = map[string]bool{"NOW": true, "SYSDATE": true, "CURDATE": true, "CURTIME": true,
	"CURRENT_DATE": true, "CURRENT_TIME": true, "CURRENT_TIMESTAMP": true, "LOCALTIME": true, "LOCALTIMESTAMP": true,
	"UTC_DATE": true, "UTC_TIME": true, "UTC_TIMESTAMP": true, "UNIX_TIMESTAMP": true, "RAND": true, "RANDOM": true,
	"UUID": true, "UUID_SHORT": true, "SYS_GUID": true, "GEN_RANDOM_UUID": true, "UUID_GENERATE_V4": true,
	"CURRENT_USER": true, "CURRENT_ROLE": true, "SESSION_USER": true, "SYSTEM_USER": true, "USER": true,
	"CURRENT_CATALOG": true, "CURRENT_SCHEMA": true, "DATABASE": true, "SCHEMA": true, "CONNECTION_ID": true,
	"LAST_INSERT_ID": true, "FOUND_ROWS": true, "ROW_COUNT": true, "CLOCK_TIMESTAMP": true,
	"STATEMENT_TIMESTAMP": true, "TRANSACTION_TIMESTAMP": true, "TIMEOFDAY": true, "NEXTVAL": true,
	"CURRVAL": true, "SETVAL": true, "LASTVAL": true, "TXID_CURRENT": true, "PG_BACKEND_PID": true, "VERSION": true,
	"INET_CLIENT_ADDR": true, "PG_POSTMASTER_START_TIME": true, "NEXT": true}
var aggregates = map[string]bool{"COUNT": true, "SUM": true, "AVG": true, "MIN": true, "MAX": true,
	"GROUP_CONCAT": true, "STRING_AGG": true, "ARRAY_AGG": true, "BIT_AND": true, "BIT_OR": true, "BIT_XOR": true,
	"STDDEV": true, "VARIANCE": true, "JSON_ARRAYAGG": true, "JSON_OBJECTAGG": true, "ROW_NUMBER": true, "RANK": true}

// Reserved words of PostgreSQL that may not be a bare name.
var pgReserved = toSet("ALL ANALYSE ANALYZE AND ANY ARRAY AS ASC ASYMMETRIC AUTHORIZATION BINARY BOTH CASE CAST CHECK " +
	"COLLATE COLLATION COLUMN CONCURRENTLY CONSTRAINT CREATE CROSS CURRENT_CATALOG CURRENT_DATE CURRENT_ROLE " +
	"CURRENT_SCHEMA CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER DEFAULT DEFERRABLE DESC DISTINCT DO ELSE END EXCEPT " +
	"FALSE FETCH FOR FOREIGN FREEZE FROM FULL GRANT GROUP HAVING ILIKE IN INITIALLY INNER INTERSECT INTO IS ISNULL " +
	"JOIN LATERAL LEADING LEFT LIKE LIMIT LOCALTIME LOCALTIMESTAMP NATURAL NOT NOTNULL NULL OFFSET ON ONLY OR ORDER " +
	"OUTER OVERLAPS PLACING PRIMARY REFERENCES RETURNING RIGHT SELECT SESSION_USER SIMILAR SOME SYMMETRIC SYSTEM_USER " +
	"TABLE TABLESAMPLE THEN TO TRAILING TRUE UNION UNIQUE USER USING VARIADIC VERBOSE WHEN WHERE WINDOW WITH " +
	"BETWEEN EXISTS INTERVAL ROW VALUES")

// Reserved words of MySQL (as the TiDB parser knows them).
var mysqlReserved = func() map[string]bool {
	m := map[string]bool{}
	for _, k := range parser.Keywords {
		if k.Reserved {
			m[k.Word] = true
		}
	}
	return m
}()

func toSet(words string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(words) {
		m[w] = true
	}
	return m
}

// wordError explains why a reserved word or a function is refused.
func wordError(t token, upper string, call bool) error {
	switch {
	case nonDeterministic[upper]:
		return invalidAt(t.pos, "function %s is not allowed in a filter: it is not deterministic, so the snapshot and the change stream would disagree", upper)
	case upper == "SELECT" || upper == "EXISTS" || upper == "WITH" || upper == "VALUES" || upper == "TABLE":
		return invalidAt(t.pos, "subqueries are not allowed (%s)", t.raw)
	case aggregates[upper]:
		return invalidAt(t.pos, "aggregate and window functions (%s) are not allowed in a filter", upper)
	case upper == "CAST" || upper == "CONVERT" || upper == "BINARY" || upper == "COLLATE":
		return invalidAt(t.pos, "%s is not allowed: compare with a literal of the column's type", upper)
	case upper == "CASE" || upper == "IF" || upper == "IFNULL" || upper == "NULLIF" || upper == "INTERVAL" ||
		upper == "XOR" || upper == "DIV" || upper == "MOD" || upper == "REGEXP" || upper == "RLIKE" ||
		upper == "ILIKE" || upper == "SIMILAR" || upper == "ESCAPE" || upper == "DISTINCT":
		return invalidAt(t.pos, "%s is not allowed in a filter", upper)
	case call:
		return invalidAt(t.pos, "function %s is not allowed in a filter; allowed: %s", upper, allowedFunctions)
	case upper == "UNION" || upper == "INTO" || upper == "FROM" || upper == "WHERE" || upper == "GROUP" ||
		upper == "ORDER" || upper == "LIMIT" || upper == "HAVING" || upper == "FOR" || upper == "OUTFILE" ||
		upper == "LOCK" || upper == "WINDOW" || upper == "OFFSET" || upper == "FETCH" || upper == "INTERSECT" ||
		upper == "EXCEPT" || upper == "PROCEDURE" || upper == "RETURNING" || upper == "JOIN" || upper == "ON" || upper == "USING":
		return invalidAt(t.pos, "%s is not allowed: a filter is one condition on the table's columns", upper)
	}
	return invalidAt(t.pos, "%s is a reserved word: quote it if it is a column's name", t.raw)
}

// emit builds the parser's input from the tokens, refusing what the lexer
// could not judge alone (reserved words, functions, misplaced keywords).
func emit(d Dialect, toks []token, isColumn func(Dialect, string) bool) (*emission, error) {
	e := &emission{}
	e.sql.WriteString("SELECT 1 FROM t WHERE ")
	// substr[i] says whether the i-th open parenthesis is a SUBSTRING call's.
	var substr []bool
	out := func(t token, s string) {
		e.offsets = append(e.offsets, e.sql.Len())
		e.toks = append(e.toks, t)
		e.sql.WriteString(s)
		if !strings.HasSuffix(s, "(") {
			e.sql.WriteByte(' ')
		}
	}
	quote := func(t token, name string) {
		out(t, "`"+strings.ReplaceAll(name, "`", "``")+"`")
	}
	for i := 0; i < len(toks); i++ {
		t := toks[i]
		var next *token
		if i+1 < len(toks) {
			next = &toks[i+1]
		}
		switch t.kind {
		case tkString, tkNumber:
			ph := strconv.Itoa(len(e.lits))
			e.lits = append(e.lits, t)
			if t.kind == tkString {
				ph = "'" + ph + "'"
			}
			out(t, ph)
			continue
		case tkOp:
			switch t.val {
			case "(":
				substr = append(substr, false) // a function's "(" is read with its name below
			case ")":
				substr = substr[:len(substr)-1]
			}
			out(t, t.val)
			continue
		case tkIdent:
			if next != nil && (next.kind == tkString || next.kind == tkNumber) {
				return nil, invalidAt(next.pos, "expected an operator between %s and %s", clip(t.raw), clip(next.raw))
			}
			quote(t, t.val)
			continue
		}
		// An unquoted word.
		upper := strings.ToUpper(t.val)
		call := next != nil && next.kind == tkOp && next.val == "("
		reserved := mysqlReserved[upper]
		if d == PostgreSQL {
			reserved = pgReserved[upper]
		}
		switch {
		case upper == "LIKE":
			n, err := e.like(toks, i)
			if err != nil {
				return nil, err
			}
			out(t, "LIKE '"+strconv.Itoa(len(e.lits)-1)+"'")
			i += n
		case upper == "IS" && d == PostgreSQL && isWord(toks, i+1, "DISTINCT"):
			if !isWord(toks, i+2, "FROM") {
				return nil, invalidAt(t.pos, "write IS DISTINCT FROM")
			}
			e.distinct = append(e.distinct, true)
			out(t, "<=>")
			i += 2
		case upper == "IS" && d == PostgreSQL && isWord(toks, i+1, "NOT") && isWord(toks, i+2, "DISTINCT"):
			if !isWord(toks, i+3, "FROM") {
				return nil, invalidAt(t.pos, "write IS NOT DISTINCT FROM")
			}
			e.distinct = append(e.distinct, false)
			out(t, "<=>")
			i += 3
		case upper == "COLLATE" && d == PostgreSQL && next != nil && next.kind == tkIdent && next.val == "C":
			// The renderer's own COLLATE "C" (see render.go): a no-op here.
			out(t, "COLLATE utf8mb4_bin")
			i++
		case (upper == "FROM" || upper == "FOR") && len(substr) > 0 && substr[len(substr)-1]:
			out(t, upper)
		case keywords[upper]:
			out(t, upper)
		case call && functions[upper]:
			out(t, upper+"(") // glued: MySQL reads "COALESCE (" as a name
			i++
			substr = append(substr, upper == "SUBSTRING" || upper == "SUBSTR")
		case reserved && !call && isColumn(d, t.val):
			q := "`" + t.val + "`"
			if d == PostgreSQL {
				q = `"` + foldASCII(t.val) + `"`
			}
			return nil, invalidAt(t.pos, "%s is a reserved word: write %s for the column of that name", t.raw, q)
		case call || reserved:
			return nil, wordError(t, upper, call)
		default:
			if next != nil && (next.kind == tkString || next.kind == tkNumber) {
				if upper == "DATE" || upper == "TIME" || upper == "TIMESTAMP" || upper == "INTERVAL" || upper == "TIMESTAMPTZ" {
					return nil, invalidAt(t.pos, "typed literals (%s '...') are not allowed: write the string alone, e.g. d >= '2024-01-01'", upper)
				}
				return nil, invalidAt(next.pos, "expected an operator between %s and %s", clip(t.raw), clip(next.raw))
			}
			name := t.val
			if d == PostgreSQL {
				name = foldASCII(name)
			}
			quote(t, name)
		}
	}
	return e, nil
}

// isWord reports whether toks[i] is the unquoted word w.
func isWord(toks []token, i int, w string) bool {
	return i < len(toks) && toks[i].kind == tkWord && strings.EqualFold(toks[i].val, w)
}

// like reads the pattern (and escape) after the LIKE token at i, parses it
// and stores it as a literal; it returns how many tokens it consumed.
func (e *emission) like(toks []token, i int) (int, error) {
	if i+1 >= len(toks) || toks[i+1].kind != tkString {
		return 0, invalidAt(toks[i].pos, "LIKE takes a string literal as its pattern, e.g. name LIKE 'A%%'")
	}
	pat := toks[i+1]
	esc, n := '\\', 1
	if isWord(toks, i+2, "ESCAPE") {
		if i+3 >= len(toks) || toks[i+3].kind != tkString {
			return 0, invalidAt(toks[i+2].pos, "ESCAPE takes a string of one character, e.g. ESCAPE '!'")
		}
		s := toks[i+3].val
		r, size := decodeRune(s)
		if size == 0 || size != len(s) {
			return 0, invalidAt(toks[i+3].pos, "ESCAPE takes exactly one character, not %s", clip(toks[i+3].raw))
		}
		esc, n = r, 3
	}
	p, err := parsePattern(pat.val, esc)
	if err != nil {
		return 0, invalidAt(pat.pos, "LIKE pattern %s: %v", clip(pat.raw), err)
	}
	if e.patterns == nil {
		e.patterns = map[int][]likeElem{}
	}
	e.patterns[len(e.lits)] = p
	e.lits = append(e.lits, pat)
	return n, nil
}

// foldASCII lower-cases A-Z, as PostgreSQL folds unquoted names.
func foldASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
