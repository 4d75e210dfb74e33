package filter

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// valid lists filters that parse, with their rendering for both dialects.
// Each filter is parsed in its dialect against customers(dialect).
var valid = []struct {
	d         Dialect
	src       string
	mysql, pg string
}{
	{MySQL, `country = 'DE' AND id > 100`,
		"((`country` = 'DE') AND (`id` > 100))",
		`(("country" = 'DE') AND ("id" > 100))`},
	{PostgreSQL, `country = 'DE' AND id > 100`,
		"((`country` = 'DE') AND (`id` > 100))",
		`(("country" = 'DE') AND ("id" > 100))`},
	{MySQL, `id = 1 OR id = 2 OR (id = 3 AND amount >= 12.50)`,
		"((`id` = 1) OR (`id` = 2) OR ((`id` = 3) AND (`amount` >= 12.50)))",
		`(("id" = 1) OR ("id" = 2) OR (("id" = 3) AND ("amount" >= 12.50)))`},
	{PostgreSQL, `id = 1 OR id = 2 OR (id = 3 AND amount >= 12.50)`,
		"((`id` = 1) OR (`id` = 2) OR ((`id` = 3) AND (`amount` >= 12.50)))",
		`(("id" = 1) OR ("id" = 2) OR (("id" = 3) AND ("amount" >= 12.50)))`},
	{MySQL, `name LIKE 'A%'`,
		"(`name` LIKE 'A%' ESCAPE '!')",
		`("name" LIKE 'A%' ESCAPE '!')`},
	{PostgreSQL, `name LIKE 'A%'`,
		"(`name` LIKE 'A%' ESCAPE '!')",
		`("name" LIKE 'A%' ESCAPE '!')`},
	{MySQL, `name NOT LIKE 'a!%b_c%' ESCAPE '!'`,
		"(`name` NOT LIKE 'a!%b_c%' ESCAPE '!')",
		`("name" NOT LIKE 'a!%b_c%' ESCAPE '!')`},
	{PostgreSQL, `name NOT LIKE 'a!%b_c%' ESCAPE '!'`,
		"(`name` NOT LIKE 'a!%b_c%' ESCAPE '!')",
		`("name" NOT LIKE 'a!%b_c%' ESCAPE '!')`},
	{MySQL, `name LIKE '100\%'`,
		"(`name` LIKE '100!%' ESCAPE '!')",
		`("name" LIKE '100!%' ESCAPE '!')`},
	{PostgreSQL, `name LIKE '100\%'`,
		"(`name` LIKE '100!%' ESCAPE '!')",
		`("name" LIKE '100!%' ESCAPE '!')`},
	{MySQL, `country IN ('DE', 'AT')`,
		"(`country` IN ('DE', 'AT'))",
		`("country" IN ('DE', 'AT'))`},
	{PostgreSQL, `country IN ('DE', 'AT')`,
		"(`country` IN ('DE', 'AT'))",
		`("country" IN ('DE', 'AT'))`},
	{MySQL, `id NOT IN (1, 2, -3)`,
		"(`id` NOT IN (1, 2, (-3)))",
		`("id" NOT IN (1, 2, (-3)))`},
	{PostgreSQL, `id NOT IN (1, 2, -3)`,
		"(`id` NOT IN (1, 2, (-3)))",
		`("id" NOT IN (1, 2, (-3)))`},
	{MySQL, `id BETWEEN -5 AND 10`,
		"(`id` BETWEEN (-5) AND 10)",
		`("id" BETWEEN (-5) AND 10)`},
	{PostgreSQL, `id BETWEEN -5 AND 10`,
		"(`id` BETWEEN (-5) AND 10)",
		`("id" BETWEEN (-5) AND 10)`},
	{MySQL, `NOT (id NOT BETWEEN 1 AND 2)`,
		"(NOT (`id` NOT BETWEEN 1 AND 2))",
		`(NOT ("id" NOT BETWEEN 1 AND 2))`},
	{PostgreSQL, `NOT (id NOT BETWEEN 1 AND 2)`,
		"(NOT (`id` NOT BETWEEN 1 AND 2))",
		`(NOT ("id" NOT BETWEEN 1 AND 2))`},
	{MySQL, `name IS NULL OR amount IS NOT NULL`,
		"((`name` IS NULL) OR (`amount` IS NOT NULL))",
		`(("name" IS NULL) OR ("amount" IS NOT NULL))`},
	{PostgreSQL, `name IS NULL OR amount IS NOT NULL`,
		"((`name` IS NULL) OR (`amount` IS NOT NULL))",
		`(("name" IS NULL) OR ("amount" IS NOT NULL))`},
	{MySQL, `(id > 1) IS NOT TRUE`,
		"((`id` > 1) IS NOT TRUE)",
		`(("id" > 1) IS NOT TRUE)`},
	{PostgreSQL, `(id > 1) IS NOT TRUE`,
		"((`id` > 1) IS NOT TRUE)",
		`(("id" > 1) IS NOT TRUE)`},
	{MySQL, `LOWER(name) = 'müller'`,
		"(LOWER(`name`) = _utf8mb4 X'6DC3BC6C6C6572')",
		`(LOWER("name" COLLATE "C") = 'müller')`},
	{PostgreSQL, `LOWER(name) = 'müller'`,
		"(LOWER(`name`) = _utf8mb4 X'6DC3BC6C6C6572')",
		`(LOWER("name" COLLATE "C") = 'müller')`},
	{MySQL, `UPPER(code) <> 'X'`,
		"(UPPER(`code`) <> 'X')",
		`(UPPER("code" COLLATE "C") <> 'X')`},
	{PostgreSQL, `UPPER(code) <> 'X'`,
		"(UPPER(`code`) <> 'X')",
		`(UPPER("code" COLLATE "C") <> 'X')`},
	{MySQL, `CHAR_LENGTH(name) > 3 AND CHARACTER_LENGTH(code) < 10`,
		"((CHAR_LENGTH(`name`) > 3) AND (CHAR_LENGTH(`code`) < 10))",
		`((CHAR_LENGTH("name") > 3) AND (CHAR_LENGTH("code") < 10))`},
	{PostgreSQL, `CHAR_LENGTH(name) > 3 AND CHARACTER_LENGTH(code) < 10`,
		"((CHAR_LENGTH(`name`) > 3) AND (CHAR_LENGTH(`code`) < 10))",
		`((CHAR_LENGTH("name") > 3) AND (CHAR_LENGTH("code") < 10))`},
	{MySQL, `OCTET_LENGTH(name) = 6`,
		"(LENGTH(`name`) = 6)",
		`(OCTET_LENGTH("name") = 6)`},
	{PostgreSQL, `OCTET_LENGTH(name) = 6`,
		"(LENGTH(`name`) = 6)",
		`(OCTET_LENGTH("name") = 6)`},
	{MySQL, `LENGTH(name) = 6`,
		"(LENGTH(`name`) = 6)",
		`(OCTET_LENGTH("name") = 6)`},
	{PostgreSQL, `LENGTH(name) = 6`,
		"(CHAR_LENGTH(`name`) = 6)",
		`(CHAR_LENGTH("name") = 6)`},
	{MySQL, `ABS(amount - 10) < 0.5`,
		"(ABS((`amount` - 10)) < 0.5)",
		`(ABS(("amount" - 10)) < 0.5)`},
	{PostgreSQL, `ABS(amount - 10) < 0.5`,
		"(ABS((`amount` - 10)) < 0.5)",
		`(ABS(("amount" - 10)) < 0.5)`},
	{MySQL, `COALESCE(name, 'none') = 'x'`,
		"(COALESCE(`name`, 'none') = 'x')",
		`(COALESCE("name", 'none') = 'x')`},
	{PostgreSQL, `COALESCE(name, 'none') = 'x'`,
		"(COALESCE(`name`, 'none') = 'x')",
		`(COALESCE("name", 'none') = 'x')`},
	{MySQL, `SUBSTRING(code, 2, 3) = 'abc' AND SUBSTR(code, -2) = 'yz'`,
		"((SUBSTRING(`code`, 2, 3) = 'abc') AND (SUBSTRING(`code`, (-2)) = 'yz'))",
		`((SUBSTRING("code", 2, 3) = 'abc') AND (SUBSTRING("code", (-2)) = 'yz'))`},
	{PostgreSQL, `SUBSTRING(code, 2, 3) = 'abc' AND SUBSTR(code, -2) = 'yz'`,
		"((SUBSTRING(`code`, 2, 3) = 'abc') AND (SUBSTRING(`code`, (-2)) = 'yz'))",
		`((SUBSTRING("code", 2, 3) = 'abc') AND (SUBSTRING("code", (-2)) = 'yz'))`},
	{MySQL, `SUBSTRING(code FROM 2 FOR 3) = 'abc'`,
		"(SUBSTRING(`code`, 2, 3) = 'abc')",
		`(SUBSTRING("code", 2, 3) = 'abc')`},
	{PostgreSQL, `SUBSTRING(code FROM 2 FOR 3) = 'abc'`,
		"(SUBSTRING(`code`, 2, 3) = 'abc')",
		`(SUBSTRING("code", 2, 3) = 'abc')`},
	{MySQL, `id % 4 = 1`,
		"((`id` % 4) = 1)",
		`(("id" % 4) = 1)`},
	{PostgreSQL, `id % 4 = 1`,
		"((`id` % 4) = 1)",
		`(("id" % 4) = 1)`},
	{MySQL, `id * 2 + small - 1 > 0`,
		"((((`id` * 2) + `small`) - 1) > 0)",
		`(((("id" * 2) + "small") - 1) > 0)`},
	{PostgreSQL, `id * 2 + small - 1 > 0`,
		"((((`id` * 2) + `small`) - 1) > 0)",
		`(((("id" * 2) + "small") - 1) > 0)`},
	{MySQL, `id - -1 > 0`,
		"((`id` - (-1)) > 0)",
		`(("id" - (-1)) > 0)`},
	{PostgreSQL, `id - -1 > 0`,
		"((`id` - (-1)) > 0)",
		`(("id" - (-1)) > 0)`},
	{MySQL, `created_at >= '2024-01-01' AND created_at < '2024-02-01 00:00:00.5'`,
		"((`created_at` >= '2024-01-01') AND (`created_at` < '2024-02-01 00:00:00.5'))",
		`(("created_at" >= '2024-01-01') AND ("created_at" < '2024-02-01 00:00:00.5'))`},
	{PostgreSQL, `created_at >= '2024-01-01' AND created_at < '2024-02-01 00:00:00.5'`,
		"((`created_at` >= '2024-01-01') AND (`created_at` < '2024-02-01 00:00:00.5'))",
		`(("created_at" >= '2024-01-01') AND ("created_at" < '2024-02-01 00:00:00.5'))`},
	{MySQL, `born BETWEEN '2000-01-01' AND '2009-12-31'`,
		"(`born` BETWEEN '2000-01-01' AND '2009-12-31')",
		`("born" BETWEEN '2000-01-01' AND '2009-12-31')`},
	{PostgreSQL, `born BETWEEN '2000-01-01' AND '2009-12-31'`,
		"(`born` BETWEEN '2000-01-01' AND '2009-12-31')",
		`("born" BETWEEN '2000-01-01' AND '2009-12-31')`},
	{MySQL, `opens < '09:30:00'`,
		"(`opens` < '09:30:00')",
		`("opens" < '09:30:00')`},
	{PostgreSQL, `opens < '09:30:00'`,
		"(`opens` < '09:30:00')",
		`("opens" < '09:30:00')`},
	{MySQL, `seen > '2024-01-01 12:00:00'`,
		"(`seen` > '2024-01-01 12:00:00')",
		`("seen" > '2024-01-01 12:00:00')`},
	{PostgreSQL, `seen > '2024-01-01 12:00:00'`,
		"(`seen` > '2024-01-01 12:00:00')",
		`("seen" > '2024-01-01 12:00:00')`},
	{PostgreSQL, `COALESCE(created_at, '1970-01-01') > '2024-01-01'`,
		"(COALESCE(`created_at`, '1970-01-01') > '2024-01-01')",
		`(COALESCE("created_at", '1970-01-01') > '2024-01-01')`},
	{MySQL, `score > 1e3`,
		"(`score` > 1e3)",
		`("score" > 1e3)`},
	{PostgreSQL, `score > 1e3`,
		"(`score` > 1e3)",
		`("score" > 1e3)`},
	{MySQL, `ratio = 0.5`,
		"(`ratio` = 0.5)",
		`("ratio" = 0.5)`},
	{PostgreSQL, `ratio = 0.5`,
		"(`ratio` = 0.5)",
		`("ratio" = 0.5)`},
	{MySQL, `name = 'it''s'`,
		"(`name` = _utf8mb4 X'69742773')",
		`("name" = 'it''s')`},
	{PostgreSQL, `name = 'it''s'`,
		"(`name` = _utf8mb4 X'69742773')",
		`("name" = 'it''s')`},
	{MySQL, `code = '😀'`,
		"(`code` = _utf8mb4 X'F09F9880')",
		`("code" = '😀')`},
	{PostgreSQL, `code = '😀'`,
		"(`code` = _utf8mb4 X'F09F9880')",
		`("code" = '😀')`},
	{MySQL, `customers.id = 1 AND crm.customers.id = 1`,
		"((`id` = 1) AND (`id` = 1))",
		`(("id" = 1) AND ("id" = 1))`},
	{PostgreSQL, `customers.id = 1 AND crm.customers.id = 1`,
		"((`id` = 1) AND (`id` = 1))",
		`(("id" = 1) AND ("id" = 1))`},
	{MySQL, `TRUE`,
		`(TRUE)`,
		`(TRUE)`},
	{PostgreSQL, `TRUE`,
		`(TRUE)`,
		`(TRUE)`},
	{MySQL, `id > 1 AND FALSE`,
		"((`id` > 1) AND FALSE)",
		`(("id" > 1) AND FALSE)`},
	{PostgreSQL, `id > 1 AND FALSE`,
		"((`id` > 1) AND FALSE)",
		`(("id" > 1) AND FALSE)`},
	{MySQL, `name < 'M' OR 'M' <= name`,
		"((`name` < 'M') OR ('M' <= `name`))",
		`(("name" COLLATE "C" < 'M') OR ('M' <= "name" COLLATE "C"))`},
	{PostgreSQL, `name < 'M' OR 'M' <= name`,
		"((`name` < 'M') OR ('M' <= `name`))",
		`(("name" COLLATE "C" < 'M') OR ('M' <= "name" COLLATE "C"))`},
	{MySQL, "`Mixed` = 'x' AND mixed = 'y' AND MIXED = 'z'",
		"((`Mixed` = 'x') AND (`Mixed` = 'y') AND (`Mixed` = 'z'))",
		`(("Mixed" = 'x') AND ("Mixed" = 'y') AND ("Mixed" = 'z'))`},
	{MySQL, "`order` = 'x' AND `a``b\"c` = 'y'",
		"((`order` = 'x') AND (`a``b\"c` = 'y'))",
		"((\"order\" = 'x') AND (\"a`b\"\"c\" = 'y'))"},
	{MySQL, `id = 1 && id = 2 || id = 3`,
		"(((`id` = 1) AND (`id` = 2)) OR (`id` = 3))",
		`((("id" = 1) AND ("id" = 2)) OR ("id" = 3))`},
	{MySQL, `id <=> NULL OR id <=> 5 OR id != 5`,
		"((`id` <=> NULL) OR (`id` <=> 5) OR (`id` <> 5))",
		`(("id" IS NOT DISTINCT FROM NULL) OR ("id" IS NOT DISTINCT FROM 5) OR ("id" <> 5))`},
	{MySQL, `big = 18446744073709551615`,
		"(`big` = 18446744073709551615)",
		`("big" = 18446744073709551615)`},
	{MySQL, `since = 2024`,
		"(`since` = 2024)",
		`("since" = 2024)`},
	{MySQL, `tag = 'vip' AND tag < 'z'`,
		"((`tag` = 'vip') AND (`tag` < 'z'))",
		`(("tag" = 'vip') AND ("tag" COLLATE "C" < 'z'))`},
	{MySQL, `name = _utf8mb4 X'C3A9'`,
		"(`name` = _utf8mb4 X'C3A9')",
		`("name" = 'é')`},
	{MySQL, `legacy = 'é'`,
		"(`legacy` = _utf8mb4 X'C3A9')",
		`("legacy" = 'é')`},
	{MySQL, `name = 'a\\b' OR name = 'a\'b' OR name = 'tab\there'`,
		"((`name` = _utf8mb4 X'615C62') OR (`name` = _utf8mb4 X'612762') OR (`name` = _utf8mb4 X'7461620968657265'))",
		`(("name" = E'a\\b') OR ("name" = 'a''b') OR ("name" = 'tab	here'))`},
	{PostgreSQL, `"Mixed" = 'x'`,
		"(`Mixed` = 'x')",
		`("Mixed" = 'x')`},
	{PostgreSQL, "\"order\" = 'x' AND \"a`b\"\"c\" = 'y'",
		"((`order` = 'x') AND (`a``b\"c` = 'y'))",
		"((\"order\" = 'x') AND (\"a`b\"\"c\" = 'y'))"},
	{PostgreSQL, `id IS DISTINCT FROM 5 AND (amount IS NOT DISTINCT FROM 1 OR small IS DISTINCT FROM id)`,
		"((NOT (`id` <=> 5)) AND ((`amount` <=> 1) OR (NOT (`small` <=> `id`))))",
		`((NOT ("id" IS NOT DISTINCT FROM 5)) AND (("amount" IS NOT DISTINCT FROM 1) OR (NOT ("small" IS NOT DISTINCT FROM "id"))))`},
	{PostgreSQL, `id IS NOT DISTINCT FROM 5 OR id IS DISTINCT FROM NULL`,
		"((`id` <=> 5) OR (NOT (`id` <=> NULL)))",
		`(("id" IS NOT DISTINCT FROM 5) OR (NOT ("id" IS NOT DISTINCT FROM NULL)))`},
	{PostgreSQL, `name = E'a\\b' OR name = 'a\b'`,
		"((`name` = _utf8mb4 X'615C62') OR (`name` = _utf8mb4 X'615C62'))",
		`(("name" = E'a\\b') OR ("name" = E'a\\b'))`},
	{PostgreSQL, `tag IN ('new', 'vip')`,
		"(`tag` IN ('new', 'vip'))",
		`("tag" IN ('new', 'vip'))`},
	{PostgreSQL, `born = 'infinity' OR seen < '-infinity'`,
		"((`born` = 'infinity') OR (`seen` < '-infinity'))",
		`(("born" = 'infinity') OR ("seen" < '-infinity'))`},
	{PostgreSQL, `i32 + 1 > 0`,
		"((`i32` + 1) > 0)",
		`(("i32" + 1) > 0)`},
	{PostgreSQL, `active AND NOT active OR active = TRUE OR active IS NOT FALSE`,
		"((`active` AND (NOT `active`)) OR (`active` = TRUE) OR (`active` IS NOT FALSE))",
		`(("active" AND (NOT "active")) OR ("active" = TRUE) OR ("active" IS NOT FALSE))`},
	{PostgreSQL, `name COLLATE "C" < 'x'`,
		"(`name` < 'x')",
		`("name" COLLATE "C" < 'x')`},
}

func TestValidFiltersRender(t *testing.T) {
	t.Parallel()
	for _, tc := range valid {
		f, err := Parse(string(tc.d), tc.src, customers(tc.d))
		require.NoError(t, err, "%s: %s", tc.d, tc.src)
		assert.Equal(t, tc.mysql, f.SQL(MySQL), "%s: %s", tc.d, tc.src)
		assert.Equal(t, tc.pg, f.SQL(PostgreSQL), "%s: %s", tc.d, tc.src)
	}
}

// TestRoundTrip: a rendered filter parses back to the same tree, in its own
// dialect and, where the other dialect's table admits it, in the other.
func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range valid {
		f, err := Parse(string(tc.d), tc.src, customers(tc.d))
		require.NoError(t, err)
		for _, d := range dialects() {
			g, err := Parse(string(d), f.SQL(d), customers(d))
			if d != tc.d && err != nil {
				continue // e.g. a MySQL YEAR column has no PostgreSQL counterpart
			}
			if assert.NoError(t, err, "%s rendered for %s: %s", tc.src, d, f.SQL(d)) {
				assert.Equal(t, f.String(), g.String(), "%s rendered for %s: %s", tc.src, d, f.SQL(d))
			}
		}
	}
}

func TestColumns(t *testing.T) {
	t.Parallel()
	f, err := Parse("mysql", "LOWER(name) = 'x' AND id > 1 OR COALESCE(amount, id) > 0 AND MIXED IS NULL", customers(MySQL))
	require.NoError(t, err)
	assert.Equal(t, []string{"id", "name", "Mixed", "amount"}, f.Columns())
	assert.Equal(t, []int{0, 2, 3, 5}, f.ColumnIndexes())
	assert.Equal(t, MySQL, f.Dialect())
	f, err = Parse("postgresql", "TRUE", customers(PostgreSQL))
	require.NoError(t, err)
	assert.Empty(t, f.Columns())
}

func TestParseDialect(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Dialect{"mysql": MySQL, "MariaDB": MySQL, "postgresql": PostgreSQL, "postgres": PostgreSQL} {
		d, ok := ParseDialect(in)
		assert.True(t, ok, in)
		assert.Equal(t, want, d, in)
	}
	_, ok := ParseDialect("sqlite")
	assert.False(t, ok)
	f, err := Parse("mariadb", "id = 1", customers(MySQL))
	require.NoError(t, err)
	assert.Panics(t, func() { f.SQL("oracle") })
}
