package compare

import (
	"fmt"
	"strings"
)

// The tables of the runner's type matrix (internal/runner/fixtures_test.go),
// as statement lists: the compare's tests copy them in every direction.
//
// The source tables every direction copies: a type matrix with edge values,
// awkward identifiers, composite and missing keys, foreign keys, generated
// columns, and a table big enough for several partitions and chunks.
// Values the other engine cannot hold are only inserted when the copy stays
// on the same engine (sameEngine); those are tested for a loud failure
// elsewhere.

// BigRows is the row count of table big.
const BigRows = 3000

// MySQLFixtures returns the statements that create the MySQL source tables.
func MySQLFixtures(sameEngine bool) []string {
	stmts := []string{
		"CREATE TABLE types (" +
			"id INT NOT NULL PRIMARY KEY," +
			"ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED, mi MEDIUMINT, miu MEDIUMINT UNSIGNED," +
			"i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED, b1 TINYINT(1)," +
			"dec65 DECIMAL(65,30), dec10 DECIMAL(10,2) UNSIGNED, f FLOAT, d DOUBLE," +
			"c CHAR(10), vc VARCHAR(200), tx TEXT, lt LONGTEXT, bn BINARY(16), vb VARBINARY(300), bl BLOB," +
			"dt DATE, tm TIME(6), dtm DATETIME(6), ts TIMESTAMP(6) NULL DEFAULT NULL, yr YEAR," +
			"js JSON, en ENUM('a','b,c','d''e','ü'), st SET('x','y','z'), bt BIT(8), bt64 BIT(64), u UUID, ip INET6" +
			") CHARACTER SET utf8mb4",
		// minimum values
		"INSERT INTO types VALUES (1, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0, 0," +
			"'-99999999999999999999999999999999999.999999999999999999999999999999', 0.00, -3.40282e38, -1.7976931348623157e308," +
			"'', '', '', '', x'00000000000000000000000000000000', '', ''," +
			"'1000-01-01', '-838:59:59', '1000-01-01 00:00:00', '1970-01-01 00:00:01', 1901," +
			"'{}', 'a', '', b'0', b'0', '00000000-0000-0000-0000-000000000000', '::')",
		// maximum values
		"INSERT INTO types VALUES (2, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, 9223372036854775807, 18446744073709551615, 127," +
			"'99999999999999999999999999999999999.999999999999999999999999999999', 99999999.99, 3.40282e38, 1.7976931348623157e308," +
			"'abcdefghij', REPEAT('x', 200), REPEAT('t', 65535), REPEAT('L', 300000), x'ffffffffffffffffffffffffffffffff', " + allBytes() + ", " + allBytes() + "," +
			"'9999-12-31', '838:59:59', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999', 2155," +
			`'{"a": [1, 2, {"b": null}], "big": 12345678901234567890, "f": 1.5e300, "s": "\\u00e9\\"q"}', 'd''e', 'x,y,z', b'11111111',` +
			"b'1111111111111111111111111111111111111111111111111111111111111111', 'ffffffff-ffff-ffff-ffff-ffffffffffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')",
		// NULL everywhere but the key
		"INSERT INTO types (id) VALUES (3)",
		// texture: emoji, combining marks, RTL, trailing spaces, 17-digit doubles, zero bytes
		"INSERT INTO types VALUES (4, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1," +
			"'0.000000000000000000000000000001', 12.30, 0.1, -216237.00000035967," +
			"'ab', 'trailing  ', '😀 héllo e\u0301 Zürich 東京 \u202eRTL', 'line1\nline2\ttab\\back\r', x'0102', x'00ff00', x'00'," +
			"'2024-02-29', '12:00:00.000001', '2024-02-29 12:34:56.5', '2024-03-10 02:30:00.123456', 2024," +
			`'[1, "two", 3.0, false]', 'b,c', 'y', b'101', b'1', '123e4567-e89b-12d3-a456-426614174000', '::ffff:192.168.0.1')`,
		"INSERT INTO types (id, f, d, vc, tx) VALUES (5, 1.4e-45, 4.9e-324, ' lead', '')",
		"INSERT INTO types (id, d, ts) VALUES (6, 0.30000000000000004, '2024-11-03 01:30:00')",

		"CREATE TABLE `Order` (`select` INT NOT NULL, `Group` VARCHAR(50), `ünï cödé` TEXT, `a``b` INT, PRIMARY KEY (`select`))",
		"INSERT INTO `Order` VALUES (1, 'g1', 'v1', 1), (2, NULL, 'ü', NULL), (3, 'x\"y''z', '', 3)",

		"CREATE TABLE composite (a INT NOT NULL, b VARCHAR(20) NOT NULL, c DATETIME(3), note VARCHAR(30)," +
			" PRIMARY KEY (a, b), UNIQUE KEY uq_note (note), KEY ix_c (c DESC))",
		"INSERT INTO composite VALUES (1, 'a', '2020-01-01 00:00:00.001', 'n1'), (1, 'B', NULL, 'n2'), (2, 'a', NULL, NULL), (2, 'b ', NULL, NULL)",

		"CREATE TABLE nokey (x INT, y VARCHAR(10))",
		"INSERT INTO nokey VALUES (1, 'dup'), (1, 'dup'), (2, NULL), (NULL, NULL)",

		"CREATE TABLE parent (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(20) NOT NULL DEFAULT 'anon')",
		"CREATE TABLE child (id INT AUTO_INCREMENT PRIMARY KEY, parent_id INT NOT NULL," +
			" CONSTRAINT fk_parent FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE)",
		"INSERT INTO parent (id, name) VALUES (1, 'p1'), (7, 'p7')",
		"INSERT INTO child (id, parent_id) VALUES (1, 1), (2, 7), (40, 7)",

		"CREATE TABLE gen (id INT PRIMARY KEY, a INT, g INT AS (a * 2) STORED)",
		"INSERT INTO gen (id, a) VALUES (1, 21), (2, NULL)",

		"CREATE TABLE big (id BIGINT PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL, KEY k_1 (k))",
		fmt.Sprintf("INSERT INTO big SELECT seq, seq %% 97, REPEAT(CHAR(65 + seq %% 26), 120), LPAD(seq, 60, '0') FROM seq_1_to_%d", BigRows),
	}
	if sameEngine {
		stmts = append(stmts,
			"SET SESSION sql_mode = ''",
			"CREATE TABLE zero (id INT PRIMARY KEY, d DATE, dt DATETIME, e ENUM('a','b'))",
			"INSERT INTO zero VALUES (1, '0000-00-00', '0000-00-00 00:00:00', ''), (2, '2024-00-10', '2024-01-00 10:00:00', 'a')",
		)
	}
	return stmts
}

// PGFixtures returns the statements that create the PostgreSQL source tables
// (in the session's search_path).
func PGFixtures(sameEngine bool) []string {
	stmts := []string{
		"CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')",
		"CREATE TABLE types (id int PRIMARY KEY, si smallint, i integer, bi bigint, n numeric(30,10), r real, d double precision," +
			" b boolean, c char(5), vc varchar(200), tx text, by bytea, dt date, tm time(6), ttz timetz, ts timestamp(6)," +
			" tstz timestamptz(6), iv interval, js json, jb jsonb, u uuid, ip inet, cd cidr, mac macaddr, bt bit(8)," +
			" vbt varbit(16), ia int[], ta text[], m mood)",
		"INSERT INTO types VALUES (1, -32768, -2147483648, -9223372036854775808, '-99999999999999999999.9999999999', -3.40282e38," +
			" -1.7976931348623157e308, false, '', '', '', '', '1000-01-01', '00:00:00', '00:00:00+14', '1000-01-01 00:00:00'," +
			" '1970-01-01 00:00:00+00', '-838:59:59', '{}', '{}', '00000000-0000-0000-0000-000000000000', '0.0.0.0', '0.0.0.0/0'," +
			" '00:00:00:00:00:00', B'00000000', B'', '{}', '{}', 'sad')",
		"INSERT INTO types VALUES (2, 32767, 2147483647, 9223372036854775807, '99999999999999999999.9999999999', 3.40282e38," +
			" 1.7976931348623157e308, true, 'abcde', repeat('x', 200), repeat('t', 300000), " + pgAllBytes() + ", '9999-12-31'," +
			" '23:59:59.999999', '23:59:59.999999-12', '9999-12-31 23:59:59.999999', '9999-12-31 23:59:59.999999+00'," +
			` '1 year 2 mons 3 days 04:05:06.789', '{"a": [1, 2, {"b": null}], "a": "dup"}', '{"z": 1, "a": [true, null, 1.50]}',` +
			" 'ffffffff-ffff-ffff-ffff-ffffffffffff', '2001:db8::ff00:42:8329', '2001:db8::/32', 'ff:ff:ff:ff:ff:ff', B'11111111'," +
			` B'1010101010101010', '{{1,2},{3,NULL}}', '{"a b","c,d",NULL,"e\"f"}', 'happy')`,
		"INSERT INTO types (id) VALUES (3)",
		"INSERT INTO types VALUES (4, 1, 1, 1, '12.3000000000', 0.1, -216237.00000035967, true, 'ab', 'trailing  '," +
			" E'😀 héllo e\u0301 Zürich 東京 \u202eRTL line1\\nline2\\ttab\\\\back\\r', '\\x00ff00', '2024-02-29', '12:00:00.000001'," +
			" '12:00:00.5+05:30', '2024-02-29 12:34:56.5', '2024-03-10 02:30:00.123456-08', '-1 days +02:00:00', '[1, \"two\", 3.0]'," +
			" '[1, \"two\", 3.0]', '123e4567-e89b-12d3-a456-426614174000', '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03'," +
			" B'00000101', B'1', '{-1,0,1}', '{}', 'ok')",
		"INSERT INTO types (id, r, d, vc, tx) VALUES (5, 1.4e-45, 4.9e-324, ' lead', '')",
		"INSERT INTO types (id, d, tstz) VALUES (6, 0.30000000000000004, '2024-11-03 01:30:00 America/Los_Angeles')",

		`CREATE TABLE "Order" ("select" int PRIMARY KEY, "Group" varchar(50), "ünï cödé" text, "a""b" int)`,
		`INSERT INTO "Order" VALUES (1, 'g1', 'v1', 1), (2, NULL, 'ü', NULL), (3, 'x"y''z', '', 3)`,

		"CREATE TABLE composite (a int NOT NULL, b varchar(20) NOT NULL, c timestamp(3), note varchar(30), PRIMARY KEY (a, b))",
		"CREATE UNIQUE INDEX uq_note ON composite (note)",
		"CREATE INDEX ix_c ON composite (c DESC)",
		"INSERT INTO composite VALUES (1, 'a', '2020-01-01 00:00:00.001', 'n1'), (1, 'B', NULL, 'n2'), (2, 'a', NULL, NULL), (2, 'b ', NULL, NULL)",

		"CREATE TABLE nokey (x int, y varchar(10))",
		"INSERT INTO nokey VALUES (1, 'dup'), (1, 'dup'), (2, NULL), (NULL, NULL)",

		"CREATE TABLE parent (id int GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name varchar(20) NOT NULL DEFAULT 'anon')",
		"CREATE TABLE child (id serial PRIMARY KEY, parent_id int NOT NULL, CONSTRAINT fk_parent FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE)",
		"INSERT INTO parent (id, name) VALUES (1, 'p1'), (7, 'p7')",
		"INSERT INTO child (id, parent_id) VALUES (1, 1), (2, 7), (40, 7)",

		"CREATE TABLE gen (id int PRIMARY KEY, a int, g int GENERATED ALWAYS AS (a * 2) STORED)",
		"INSERT INTO gen (id, a) VALUES (1, 21), (2, NULL)",

		"CREATE TABLE big (id bigint PRIMARY KEY, k int NOT NULL, c char(120) NOT NULL, pad char(60) NOT NULL)",
		"CREATE INDEX k_1 ON big (k)",
		fmt.Sprintf("INSERT INTO big SELECT g, g %% 97, repeat(chr(65 + g %% 26), 120), lpad(g::text, 60, '0') FROM generate_series(1, %d) g", BigRows),
	}
	if sameEngine {
		stmts = append(stmts,
			"CREATE TABLE pgonly (id int PRIMARY KEY, n numeric, r real, d double precision, dt date, ts timestamptz)",
			"INSERT INTO pgonly VALUES (1, 'NaN', 'NaN', 'Infinity', '4713-01-01 BC', 'infinity'),"+
				" (2, '1e-1000', '-Infinity', '-Infinity', '5874897-12-31', '-infinity'),"+
				" (3, 123456789012345678901234567890.123456789012345678901234567890, '-0', '-0', 'infinity', '0001-01-01 00:00:00+00')",
		)
	}
	return stmts
}

func allBytes() string {
	var b strings.Builder
	b.WriteString("x'")
	for i := range 256 {
		fmt.Fprintf(&b, "%02x", i)
	}
	b.WriteString("'")
	return b.String()
}

func pgAllBytes() string {
	return "'\\x" + strings.TrimSuffix(strings.TrimPrefix(allBytes(), "x'"), "'") + "'"
}
