package filter

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/errs"
)

// hostile is the bad-input corpus of RELIABILITY.md ("Filter strings") and
// more: every string must be refused at validation with an InvalidParameter
// error whose message names the offending part, in every dialect listed.
var hostile = []struct {
	src  string
	want string    // a part of the message
	only []Dialect // nil: both dialects
}{
	// RELIABILITY.md, in its order.
	{src: "1=1; DROP TABLE t", want: "only one condition: ';' ends the statement"},
	{src: "id > 0 UNION SELECT password FROM mysql.user", want: "UNION is not allowed"},
	{src: "id = 1 -- ", want: "comments are not allowed ('--')"},
	{src: "id = 1 /* */ OR 1=1", want: "comments are not allowed ('/*')"},
	{src: "/*!50000 SLEEP(10) */", want: "MySQL runs the text of versioned comments"},
	{src: "/*M!100000 SLEEP(10) */", want: "versioned comments"},
	{src: "SLEEP(10)", want: "function SLEEP is not allowed in a filter"},
	{src: "BENCHMARK(1e9, MD5(1))", want: "function BENCHMARK is not allowed"},
	{src: "pg_sleep(10)", want: "function PG_SLEEP is not allowed"},
	{src: "(SELECT 1 FROM pg_read_file('/etc/passwd'))", want: "subqueries are not allowed"},
	{src: "LOAD_FILE('/etc/passwd')", want: "function LOAD_FILE is not allowed"},
	{src: "id = 1 INTO OUTFILE '/tmp/x'", want: "INTO is not allowed"},
	{src: "@@version", want: "variables are not allowed (@@version)"},
	{src: "@x := 1", want: "variables are not allowed (@x)"},
	{src: `\' OR 1=1 --`, want: "a backslash outside a string"},
	{src: `name = '\' OR 1=1 --'`, want: "comments are not allowed", only: []Dialect{PostgreSQL}},
	{src: `name = '\' OR 1=1 --`, want: "a string is not closed", only: []Dialect{MySQL}},
	{src: `"id" = 1`, want: "double quotes mean a string or a name", only: []Dialect{MySQL}},
	{src: "\u2018x\u2019 = name", want: "U+2018): it looks like a quote but is not one"},
	{src: "name = \u201cx\u201d", want: "U+201C): it looks like a quote"},
	{src: "name = \uff07x\uff07", want: "U+FF07"},
	{src: "id = 1\x00", want: "NUL byte"},
	{src: "id = 1 OR name = 'a\x00'", want: "NUL byte"},
	{src: strings.Repeat("(", 10000) + "id = 1" + strings.Repeat(")", 10000), want: "the limit is 16384"},
	{src: strings.Repeat("(", 1000) + "id = 1" + strings.Repeat(")", 1000), want: "nested more than 64 levels"},
	{src: strings.Repeat("(", 65) + "id = 1" + strings.Repeat(")", 65), want: "nested more than 64 levels"},
	{src: "id = 1 OR " + strings.Repeat("id = 2 OR ", 1<<17) + "id = 3", want: "bytes; the limit is 16384"},
	{src: "secret = 1", want: "column secret is not a column of crm.customers"},
	{src: "other.id = 1", want: "table other is not crm.customers"},
	{src: "mysql.customers.id = 1", want: "table mysql.customers is not crm.customers"},
	{src: "NOW() > created_at", want: "function NOW is not allowed in a filter: it is not deterministic"},
	{src: "RAND() < 0.5", want: "function RAND is not allowed in a filter: it is not deterministic"},
	{src: "random() < 0.5", want: "function RANDOM is not allowed in a filter: it is not deterministic"},
	{src: "created_at < CURRENT_TIMESTAMP", want: "CURRENT_TIMESTAMP is not allowed in a filter: it is not deterministic"},
	{src: "born < current_date", want: "CURRENT_DATE is not allowed in a filter: it is not deterministic"},
	{src: "name = user", want: "USER is not allowed in a filter: it is not deterministic", only: []Dialect{PostgreSQL}},
	{src: "name = USER()", want: "USER is not allowed in a filter: it is not deterministic"},
	{src: "id = UUID_SHORT()", want: "not deterministic"},
	{src: "id = nextval('s')", want: "NEXTVAL is not allowed in a filter: it is not deterministic"},

	// Lexical forms.
	{src: "id = ?", want: "placeholders ('?')"},
	{src: "id = $1", want: "'$'"},
	{src: "name = $$x$$", want: "'$'"},
	{src: "id = :x", want: "':'"},
	{src: "id::text = '1'", want: "casts ('::') are not allowed"},
	{src: "name || 'x' = 'y'", want: "'||' concatenates strings in PostgreSQL", only: []Dialect{PostgreSQL}},
	{src: "id = 1 && id = 2", want: "'&&' is not AND in PostgreSQL", only: []Dialect{PostgreSQL}},
	{src: `name = E'\x41'`, want: `may only use \\`, only: []Dialect{PostgreSQL}},
	{src: `name = E'x'`, want: "escape strings (E'...') are not allowed", only: []Dialect{MySQL}},
	{src: "name = N'x'", want: "national strings"},
	{src: "name = X'41'", want: "hexadecimal and bit literals"},
	{src: "id = 0x41", want: "hexadecimal and bit literals (0x41)"},
	{src: "id = B'01'", want: "hexadecimal and bit literals"},
	{src: "name = _latin1'x'", want: "character set introducers (_latin1'...')"},
	{src: "name = _latin1 'x'", want: "expected an operator between _latin1 and 'x'"},
	{src: "name = _utf8mb4 'x'", want: "_utf8mb4) are only allowed before X'hex'", only: []Dialect{MySQL}},
	{src: "name = _utf8mb4 X'C0'", want: "must hold UTF-8 text", only: []Dialect{MySQL}},
	{src: "name = _utf8mb4 X'6100'", want: "NUL characters", only: []Dialect{MySQL}},
	{src: `name = 'a\0'`, want: `NUL characters (\0)`, only: []Dialect{MySQL}},
	{src: "name = U&'x'", want: "Unicode escape strings"},
	{src: "born = {d '2024-01-01'}", want: "ODBC escapes"},
	{src: "born = DATE '2024-01-01'", want: "typed literals (DATE '...')"},
	{src: "created_at > TIMESTAMP '2024-01-01'", want: "typed literals"},
	{src: "created_at > created_at - INTERVAL '1 day'", want: "INTERVAL is not allowed"},
	{src: "name = 'a' 'b'", want: "expected an operator between 'a' and 'b'"},
	{src: "id = 1 2", want: "expected an operator between 1 and 2"},
	{src: "1abc = 1", want: "neither a number nor a name"},
	{src: "id = 1_000", want: "neither a number nor a name"},
	{src: "id = 1e999", want: "number 1e999 is out of range"},
	{src: "id = " + strings.Repeat("9", 70), want: "has more than 65 digits"},
	{src: "id = 1\u00a0", want: "unexpected character U+00A0"},
	{src: "id = 1 \u202e", want: "unexpected character U+202E"},
	{src: "id = 1 OR name = 'x' \xff", want: "not valid UTF-8"},
	{src: "`` = 1", want: "an empty quoted name", only: []Dialect{MySQL}},
	{src: `"" = 1`, want: "an empty quoted name", only: []Dialect{PostgreSQL}},
	{src: "`id` = 1", want: "backquotes quote names only in MySQL", only: []Dialect{PostgreSQL}},
	{src: "name = 'abc", want: "a string is not closed"},
	{src: "`abc = 1", want: "a quoted name is not closed", only: []Dialect{MySQL}},
	{src: "", want: "the filter is empty"},
	{src: " \n\t", want: "the filter is empty"},

	// Grammar.
	{src: "id = 1)", want: "')' has no matching '('"},
	{src: "(id = 1", want: "a '(' is not closed"},
	{src: "id =", want: "the condition is incomplete after ="},
	{src: "id = 1 AND", want: "the condition is incomplete after AND"},
	{src: "AND id = 1", want: "syntax error at AND"},
	{src: "id = = 1", want: "syntax error at ="},
	{src: "name SOUNDS LIKE 'x'", want: "syntax error", only: []Dialect{MySQL}},
	{src: "CASE WHEN id > 1 THEN 1 ELSE 0 END = 1", want: "CASE is not allowed"},
	{src: "CAST(id AS CHAR) = '1'", want: "CAST is not allowed"},
	{src: "CONVERT(name USING latin1) = 'x'", want: "CONVERT is not allowed"},
	{src: "EXISTS (SELECT 1)", want: "subqueries are not allowed"},
	{src: "id IN (SELECT id FROM t)", want: "subqueries are not allowed (SELECT)"},
	{src: "id IN (1, code)", want: "IN takes a list of literals"},
	{src: "COUNT(*) > 1", want: "aggregate and window functions (COUNT)"},
	{src: "doc->>'$.a' = 'x'", want: "JSON operators"},
	{src: "id = 1 FOR UPDATE", want: "FOR is not allowed"},
	{src: "id = 1 LIMIT 1", want: "LIMIT is not allowed"},
	{src: "id = 1 ORDER BY id", want: "ORDER is a reserved word: write"},
	{src: "id = 1 WHERE id = 1", want: "WHERE is not allowed: a filter is one condition"},
	{src: "id = 1 GROUP BY id", want: "GROUP is not allowed"},
	{src: "id = 1 HAVING id = 1", want: "HAVING is not allowed"},
	{src: "(id, name) = (1, 'x')", want: "row values"},
	{src: "name REGEXP 'x'", want: "REGEXP is not allowed", only: []Dialect{MySQL}},
	{src: "name RLIKE 'x'", want: "RLIKE is not allowed", only: []Dialect{MySQL}},
	{src: "name ILIKE 'x'", want: "ILIKE is not allowed"},
	{src: "name SIMILAR TO 'x'", want: "SIMILAR is not allowed", only: []Dialect{PostgreSQL}},
	{src: "name ~ 'x'", want: "'~'"},
	{src: "MATCH(name) AGAINST('x')", want: "function MATCH is not allowed"},
	{src: "name COLLATE utf8mb4_bin = 'x'", want: "COLLATE is not allowed"},
	{src: `"name" COLLATE "de_DE" = 'x'`, want: "COLLATE is not allowed", only: []Dialect{PostgreSQL}},
	{src: `"name" = 'x' COLLATE "C"`, want: `COLLATE "C" applies to a column or a function of one`, only: []Dialect{PostgreSQL}},
	{src: `id COLLATE "C" = 1`, want: `COLLATE "C" applies to strings`, only: []Dialect{PostgreSQL}},
	{src: "BINARY name = 'x'", want: "BINARY is not allowed"},
	{src: "DEFAULT(name) = 'x'", want: "DEFAULT"},
	{src: "id = 1 XOR id = 2", want: "XOR is not allowed", only: []Dialect{MySQL}},
	{src: "!(id = 1)", want: "'!' is not allowed"},
	{src: "id & 1 = 1", want: "bitwise operator '&'"},
	{src: "id | 1 = 1", want: "bitwise operator '|'", only: []Dialect{PostgreSQL}},
	{src: "id ^ 1 = 1", want: "bitwise operator '^'"},
	{src: "id < 1 << 2", want: "operator '<<' is not allowed"},
	{src: "id DIV 2 = 1", want: "DIV is not allowed", only: []Dialect{MySQL}},
	{src: "id MOD 2 = 1", want: "MOD is not allowed", only: []Dialect{MySQL}},
	{src: "id / 2 > 1", want: "division ('/') is not allowed"},
	{src: "id IS DISTINCT FROM 1", want: "DISTINCT is not allowed", only: []Dialect{MySQL}},
	{src: "id <=> 1", want: "'<=>' is MySQL's", only: []Dialect{PostgreSQL}},
	{src: "id IS DISTINCT 1", want: "write IS DISTINCT FROM", only: []Dialect{PostgreSQL}},
	{src: `id IS "distinct" FROM 1`, want: "FROM is not allowed", only: []Dialect{PostgreSQL}},
	{src: "NOT NOT " + strings.Repeat("NOT ", 70) + "id = 1", want: "nested more than 64 levels"},
	{src: "id" + strings.Repeat(" + 1", 70) + " > 0", want: "nested more than 64 levels"},
	{src: "id IN (" + strings.Repeat("1,", 4100) + "1)", want: "more than 4096 parts"},

	// names.
	{src: "order = 'x'", want: "order is a reserved word: write `order` for the column of that name", only: []Dialect{MySQL}},
	{src: "ORDER = 'x'", want: `ORDER is a reserved word: write "order" for the column of that name`, only: []Dialect{PostgreSQL}},
	{src: "key = 1", want: "key is a reserved word: quote it if it is a column's name", only: []Dialect{MySQL}},
	{src: "only = 1", want: "only is a reserved word: quote it if it is a column's name", only: []Dialect{PostgreSQL}},
	{src: `"mixed" = 'x'`, want: "column mixed is not a column of crm.customers", only: []Dialect{PostgreSQL}},
	{src: "Mixed = 'x'", want: "column mixed is not a column of crm.customers", only: []Dialect{PostgreSQL}},
	{src: "MIXED = 'x'", want: "column mixed is not a column of crm.customers", only: []Dialect{PostgreSQL}},

	// Types.
	{src: "id", want: `"id" is a number, not a condition: write "id" <> 0`},
	{src: "id + 1", want: `("id" + 1) is a number, not a condition`},
	{src: "name", want: "is a string, not a condition"},
	{src: "NOT id", want: "is a number, not a condition"},
	{src: "id AND id = 1", want: "is a number, not a condition"},
	{src: "id = 1 = 1", want: "compares a condition"},
	{src: "id BETWEEN 1 AND 'x'", want: "compares a number with a string"},
	{src: "name = 5", want: "compares a number with a string"},
	{src: "id = '5'", want: "compares a number with a string"},
	{src: "id = NULL", want: "is never true: to test for NULL write x IS NULL"},
	{src: "id <> NULL", want: "is never true"},
	{src: "id IN (1, NULL)", want: "NULL in an IN list never matches"},
	{src: "NULL IS NULL", want: "tests a constant"},
	{src: "'a' = 'a'", want: "compares two constants"},
	{src: "'a' LIKE 'a'", want: "tests a constant"},
	{src: "LOWER('ABC') = name", want: "is a constant: write its value"},
	{src: "COALESCE(NULL, NULL) IS NULL", want: "is a constant"},
	{src: "COALESCE(id, name) = 1", want: "mixes a number and a string"},
	{src: "COALESCE(born, created_at) > '2024-01-01'", want: "mixes a date and a datetime"},
	{src: "ABS(name) = 1", want: "is a string, not a number"},
	{src: "-name = 'x'", want: "unary minus applies only to numbers"},
	{src: "-id = 1", want: "unary minus applies only to numbers"},
	{src: "LOWER(id) = 'x'", want: "takes a string, not a number"},
	{src: "LOWER(name, code) = 'x'", want: "LOWER takes 1 arguments, not 2"},
	{src: "SUBSTRING(name) = 'x'", want: "syntax error"},
	{src: "SUBSTRING(name, id) = 'x'", want: "the position and length of SUBSTRING are integer literals"},
	{src: "SUBSTRING(name, 1, 1.5) = 'x'", want: "integer literals"},
	{src: "SUBSTRING(name, 1, -1) = ''", want: "PostgreSQL refuses a negative SUBSTRING length", only: []Dialect{PostgreSQL}},
	{src: "id % 0 = 1", want: "the divisor of % must be a non-zero number"},
	{src: "id % small = 1", want: "the divisor of % must be a non-zero number"},
	{src: "amount % 2 = 1", want: "MySQL's % on DECIMALs can return a negative zero", only: []Dialect{MySQL}},
	{src: "id % 0.5 = 0", want: "MySQL's % on DECIMALs", only: []Dialect{MySQL}},
	{src: "COALESCE(created_at, '1970-01-01') > '2024-01-01'", want: "MySQL makes COALESCE of a datetime and a string a string", only: []Dialect{MySQL}},
	{src: "name = 'x' OR '1' = '1'", want: "compares two constants"},
	{src: "score % 2 = 1", want: "PostgreSQL has no % for floating-point numbers", only: []Dialect{PostgreSQL}},
	{src: "name LIKE code", want: "LIKE takes a string literal as its pattern"},
	{src: "name LIKE ('x')", want: "LIKE takes a string literal as its pattern"},
	{src: "id LIKE '1%'", want: "LIKE applies to strings, not to a number"},
	{src: "name LIKE 'a' ESCAPE ''", want: "ESCAPE takes exactly one character"},
	{src: "name LIKE 'a' ESCAPE 'ab'", want: "ESCAPE takes exactly one character"},
	{src: "name LIKE 'a!' ESCAPE '!'", want: "ends with the escape character"},
	{src: `name LIKE 'a\'`, want: "ends with the escape character", only: []Dialect{PostgreSQL}},
	{src: "created_at > '2024-13-01'", want: "is not a datetime literal"},
	{src: "created_at > '2024-02-30'", want: "is not a datetime literal"},
	{src: "created_at > '2024-01-01T10:00:00'", want: "is not a datetime literal"},
	{src: "seen > '2024-01-01 10:00:00+02'", want: "is not a timestamp literal"},
	{src: "born = '2024-01-01 10:00:00'", want: "is not a date literal: write 'YYYY-MM-DD'"},
	{src: "born > 20240101", want: "compares a date with a number"},
	{src: "born > created_at + 1", want: "is a datetime, not a number"},
	{src: "opens > '25:00:00'", want: "is not a time literal", only: []Dialect{PostgreSQL}},
	{src: "opens > '-01:00:00'", want: "is not a time literal", only: []Dialect{PostgreSQL}},
	{src: "opens > '839:00:00'", want: "is not a time literal", only: []Dialect{MySQL}},
	{src: "opens > born", want: "compares a time with a date"},
	{src: "doc = 'x'", want: "column doc has type json, which filters do not support"},
	{src: "password IS NULL", want: "column password has type blob, which filters do not support"},
	{src: "legacy = 'Ā'", want: "latin1 cannot hold the character 'Ā'", only: []Dialect{MySQL}},
	{src: "legacy LIKE '%€Ā%'", want: "latin1 cannot hold the character 'Ā' of the pattern", only: []Dialect{MySQL}},
	{src: "m8 = 'x'", want: "column m8 has collation utf8mb4_0900_ai_ci, which filters do not support", only: []Dialect{MySQL}},
	{src: "name = code", want: "mixes the collations utf8mb4_unicode_ci and utf8mb4_bin", only: []Dialect{MySQL}},
	{src: "custom = 'x'", want: `user-defined collation "public"."ci"`, only: []Dialect{PostgreSQL}},
	{src: "since = 24", want: "a YEAR is 0 or 1901-2155", only: []Dialect{MySQL}},
	{src: "since = id", want: "a YEAR column compares only with YEAR columns", only: []Dialect{MySQL}},
	{src: "since + 1 > 2000", want: "is a YEAR: filters only compare YEARs", only: []Dialect{MySQL}},
	{src: "tag < 'vip'", want: "orders an enum", only: []Dialect{PostgreSQL}},
	{src: "tag = 'nope'", want: "'nope' is not a label of the enum (new, vip, gone)", only: []Dialect{PostgreSQL}},
	{src: "tag LIKE 'v%'", want: "LIKE applies to strings", only: []Dialect{PostgreSQL}},
	{src: "LOWER(tag) = 'vip'", want: "PostgreSQL applies no string function to an enum", only: []Dialect{PostgreSQL}},
	{src: "active = 1", want: "compares a boolean with a number", only: []Dialect{PostgreSQL}},
	{src: "active > FALSE", want: "orders booleans", only: []Dialect{PostgreSQL}},
	{src: "amount * amount * amount * amount * amount * amount > 1", want: "may exceed MySQL's DECIMAL(65,30)", only: []Dialect{MySQL}},
}

func TestHostileFiltersAreRejected(t *testing.T) {
	t.Parallel()
	for _, tc := range hostile {
		ds := tc.only
		if ds == nil {
			ds = dialects()
		}
		for _, d := range ds {
			name := string(d) + "/" + clip(tc.src)
			start := time.Now()
			f, err := Parse(string(d), tc.src, customers(d))
			if !assert.Error(t, err, "%s: accepted as %v", name, f) {
				continue
			}
			assert.Equal(t, errs.InvalidParameter, errs.CodeOf(err), name)
			e, _ := errs.As(err)
			require.NotNil(t, e, name)
			assert.Contains(t, e.Message, tc.want, name)
			assert.Less(t, time.Since(start), time.Second, name)
		}
	}
}

// TestValidateWithoutTheTable: everything the corpus refuses before names
// and types are checked, Validate refuses too, with the same message; and
// it accepts every valid filter.
func TestValidateWithoutTheTable(t *testing.T) {
	t.Parallel()
	for _, tc := range hostile {
		ds := tc.only
		if ds == nil {
			ds = dialects()
		}
		for _, d := range ds {
			_, _, syntaxErr := parse(d, tc.src, customers(d))
			err := Validate(string(d), tc.src)
			if syntaxErr == nil || strings.Contains(syntaxErr.Error(), "column") || strings.Contains(syntaxErr.Error(), "table") {
				continue // a name or type problem: only Parse can tell
			}
			if assert.Error(t, err, "%s: %s", d, tc.src) {
				assert.Equal(t, syntaxErr.Error(), err.Error(), "%s: %s", d, tc.src)
			}
		}
	}
	for _, tc := range valid {
		assert.NoError(t, Validate(string(tc.d), tc.src), tc.src)
	}
	assert.Error(t, Validate("db2", "id = 1"))
}

// TestErrorsCarryTheOffset: lexical errors say where the offending part starts.
func TestErrorsCarryTheOffset(t *testing.T) {
	t.Parallel()
	_, err := Parse("mysql", "id = 1 -- x", customers(MySQL))
	e, ok := errs.As(err)
	require.True(t, ok)
	assert.Equal(t, 7, e.Details["offset"])
	_, err = Parse("postgresql", "id = 1 AND SLEEP(1)", customers(PostgreSQL))
	e, _ = errs.As(err)
	assert.Equal(t, 11, e.Details["offset"])
}

func TestUnknownDialect(t *testing.T) {
	t.Parallel()
	_, err := Parse("oracle", "id = 1", customers(MySQL))
	assert.ErrorContains(t, err, `unknown dialect "oracle"`)
}
