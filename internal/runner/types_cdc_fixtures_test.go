package runner_test

import (
	"strings"
	"testing"
)

// The source tables of TestSyncCarriesEveryType: every type of SPEC §5 and
// of PostgreSQL with edge values, as base rows the full load carries. The
// sync then copies these rows inside the source, so the changes carry the
// very same stored values, and the target must hold them exactly as the
// full load wrote the base rows.
//
// Every table has a key id and a small column note that the updates
// touch while leaving the large values alone (PostgreSQL then sends them
// as unchanged TOAST). Values the other engine cannot hold are in a table
// of their own, only when the sync stays on the same engine.

// cdcTable is a source table: its columns but id, its base rows, and the
// session setting its statements need ("" for none).
type cdcTable struct {
	name  string
	cols  []string
	base  []int
	setup string
}

// doomed is a base row the sync deletes: a full-loaded row's delete.
const doomed = 90

func mysqlTypeTables(t *testing.T, s side, sameEngine bool) []cdcTable {
	s.exec(t,
		"CREATE TABLE types (id INT NOT NULL PRIMARY KEY, note VARCHAR(10) NOT NULL DEFAULT 'base',"+
			" ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED, mi MEDIUMINT, miu MEDIUMINT UNSIGNED,"+
			" i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED, b1 TINYINT(1),"+
			" dec65 DECIMAL(65,30), dec0 DECIMAL(65,0), dec10 DECIMAL(10,2) UNSIGNED, f FLOAT, d DOUBLE,"+
			" c CHAR(10), vc VARCHAR(200), lat VARCHAR(20) CHARACTER SET latin1, tx TEXT, lt LONGTEXT,"+
			" bn BINARY(16), vb VARBINARY(300), bl BLOB, lb LONGBLOB,"+
			" dt DATE, tm TIME(6), tm0 TIME, dtm DATETIME(6), dtm0 DATETIME, ts TIMESTAMP(6) NULL DEFAULT NULL,"+
			" ts0 TIMESTAMP NULL DEFAULT NULL, yr YEAR, js JSON, en ENUM('a','b,c','d''e','ü','😀'), st SET('x','y','z','ß','𝄞'),"+
			" bt1 BIT(1), bt BIT(8), bt13 BIT(13), bt64 BIT(64), u UUID, ip INET6, ip4 INET4) CHARACTER SET utf8mb4",
		// minimum values; the TIMESTAMP limits are UTC's
		"SET time_zone = '+00:00'",
		"INSERT INTO types VALUES (1, 'base', -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0, -128,"+
			" '-99999999999999999999999999999999999.999999999999999999999999999999', '-"+strings.Repeat("9", 65)+"', 0.00,"+
			" -3.40282e38, -1.7976931348623157e308, '', '', '', '', '', x'00000000000000000000000000000000', '', '', '',"+
			" '1000-01-01', '-838:59:59.999999', '-838:59:59', '1000-01-01 00:00:00', '1000-01-01 00:00:00', '1970-01-01 00:00:01',"+
			" '1970-01-01 00:00:01', 1901, '{}', 'a', '', b'0', b'0', b'0', b'0', '00000000-0000-0000-0000-000000000000', '::', '0.0.0.0')",
		// maximum values; long text and blobs
		"INSERT INTO types VALUES (2, 'base', 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, 9223372036854775807,"+
			" 18446744073709551615, 127, '99999999999999999999999999999999999.999999999999999999999999999999', '"+strings.Repeat("9", 65)+"',"+
			" 99999999.99, 3.40282e38, 1.7976931348623157e308, 'abcdefghij', REPEAT('😀', 200), 'ÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿÿ', REPEAT('t', 65535),"+
			" REPEAT('L😀', 100000), x'ffffffffffffffffffffffffffffffff', "+allBytes()+", "+allBytes()+", REPEAT("+allBytes()+", 1000),"+
			" '9999-12-31', '838:59:59.999999', '838:59:59', '9999-12-31 23:59:59.999999', '9999-12-31 23:59:59', '2038-01-19 03:14:07.999999',"+
			" '2038-01-19 03:14:07', 2155,"+
			` '{"a": [1, 2, {"b": null}], "a": "dup", "big": 12345678901234567890, "f": 1.5e300, "s": "\\u00e9\\"q😀"}',`+
			" '😀', 'x,y,z,ß,𝄞', b'1', b'11111111', b'1111111111111', b'1111111111111111111111111111111111111111111111111111111111111111',"+
			" 'ffffffff-ffff-ffff-ffff-ffffffffffff', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', '255.255.255.255')",
		"INSERT INTO types (id) VALUES (3)",
		// texture, and TIMESTAMP instants written from sessions far east and
		// far west of UTC
		"SET time_zone = '+13:00'",
		"INSERT INTO types VALUES (4, 'base', 1, 1, 1, 1, -1, 1, -1, 1, -1, 9223372036854775808, 1,"+
			" '0.000000000000000000000000000001', '-1', 12.30, 1.17549435e-38, -216237.00000035967,"+
			" 'ab', 'trailing  ', 'Zürich ß', '😀 héllo e\u0301 東京 \u202eRTL 𝄞', 'line1\nline2\ttab\\back\r', x'0102', x'00ff00', x'00', x'000000',"+
			" '2024-02-29', '-00:00:00.000001', '100:00:00', '2024-02-29 23:59:59.999999', '2024-02-29 12:34:56', '2024-03-10 02:30:00.123456',"+
			" '2024-01-01 00:00:00', 2024, '[1, \"two\", 3.0, false, \"😀\"]', 'b,c', 'y,ß', b'1', b'101', b'1010101010101', b'1',"+
			" '123e4567-e89b-12d3-a456-426614174000', '::ffff:192.168.0.1', '192.168.0.1')",
		"SET time_zone = '-12:00'",
		"INSERT INTO types (id, ts, ts0, tm, tm0, dtm, d, f) VALUES (5, '2024-11-03 01:30:00.5', '2000-01-01 00:00:00', '-12:34:56.789', '-00:00:01',"+
			" '2000-01-01 00:00:00.000001', 0.30000000000000004, 1.4e-45)",
		"SET time_zone = DEFAULT",
		// zero and empty, not NULL
		"INSERT INTO types VALUES (6, '', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, '', '', '', '', '', '', '', '', '',"+
			" '1970-01-01', '00:00:00', '00:00:00', '1970-01-01 00:00:00', '1970-01-01 00:00:00', NULL, NULL, 2000, '\"\"', 'a', '',"+
			" b'0', b'0', b'0', b'0', '00000000-0000-0000-0000-000000000001', '::1', '127.0.0.1')",
	)
	cols := []string{"note", "ti", "tiu", "si", "siu", "mi", "miu", "i", "iu", "bi", "biu", "b1", "dec65", "dec0", "dec10", "f", "d",
		"c", "vc", "lat", "tx", "lt", "bn", "vb", "bl", "lb", "dt", "tm", "tm0", "dtm", "dtm0", "ts", "ts0", "yr", "js", "en", "st",
		"bt1", "bt", "bt13", "bt64", "u", "ip", "ip4"}
	types := cdcTable{name: "types", cols: cols, base: []int{1, 2, 3, 4, 5, 6}}
	s.exec(t, copyRows(s, types, doomed, 2))
	tables := []cdcTable{types}
	if sameEngine {
		zero := cdcTable{name: "zero", cols: []string{"note", "d", "dt", "ts", "e", "yr"}, base: []int{1, 2, 3}, setup: "SET SESSION sql_mode = ''"}
		s.exec(t, zero.setup,
			"CREATE TABLE zero (id INT PRIMARY KEY, note VARCHAR(10) NOT NULL DEFAULT 'base', d DATE, dt DATETIME(6), ts TIMESTAMP(6) NULL DEFAULT NULL,"+
				" e ENUM('a','b'), yr YEAR)",
			"INSERT INTO zero VALUES (1, 'base', '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '', 0),"+
				" (2, 'base', '2024-00-10', '2024-01-00 10:00:00.5', NULL, 'a', NULL), (3, 'base', '0000-01-01', '2024-02-30 00:00:00', NULL, 'b', 1901)")
		tables = append(tables, zero)
	}
	return tables
}

// pgTypeTables gives the source database settings that change how values
// print (pgoutput prints with the walsender's settings; dts must set its
// own) and keeps text and bytea out of line uncompressed, so every large
// value is TOASTed.
func pgTypeTables(t *testing.T, s side, sameEngine bool) []cdcTable {
	for _, set := range []string{"DateStyle = 'SQL, DMY'", "IntervalStyle = 'sql_standard'", "TimeZone = 'Asia/Kathmandu'",
		"extra_float_digits = 0", "bytea_output = 'escape'"} {
		s.srv.Exec(t, s.database, `ALTER DATABASE "`+s.database+`" SET `+set)
	}
	hex := strings.TrimSuffix(strings.TrimPrefix(allBytes(), "x'"), "'")
	s.exec(t,
		"CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy', '😀')",
		"CREATE TABLE types (id int PRIMARY KEY, note varchar(10) NOT NULL DEFAULT 'base', si smallint, i integer, bi bigint,"+
			" n numeric(30,10), nu numeric, n65 numeric(65,30), r real, d double precision, b boolean, c char(5), vc varchar(200),"+
			" tx text, by bytea, dt date, tm time(6), ttz timetz, ts timestamp(6), tstz timestamptz(6), tstz0 timestamptz(0),"+
			" iv interval, js json, jb jsonb, u uuid, ip inet, cd cidr, mac macaddr, bt bit(8), vbt varbit(16), bt64 bit(64),"+
			" ia int[], ta text[], tsa timestamptz[], na numeric[], m mood, mn money)",
		"ALTER TABLE types ALTER COLUMN tx SET STORAGE EXTERNAL, ALTER COLUMN by SET STORAGE EXTERNAL",
		"INSERT INTO types VALUES (1, 'base', -32768, -2147483648, -9223372036854775808, '-99999999999999999999.9999999999',"+
			" '-99999999999999999999999999999999999.999999999999999999999999999999', '-99999999999999999999999999999999999.999999999999999999999999999999',"+
			" -3.40282e38, -1.7976931348623157e308, false, '', '', '', '', '1000-01-01', '00:00:00', '00:00:00+15:59',"+
			" '1000-01-01 00:00:00', '1000-01-01 00:00:00+00', '1000-01-01 00:00:00+00', '-178000000 years', '{}', '{}',"+
			" '00000000-0000-0000-0000-000000000000', '0.0.0.0', '0.0.0.0/0', '00:00:00:00:00:00', B'00000000', B'', B'"+strings.Repeat("0", 64)+"',"+
			" '{}', '{}', '{}', '{}', 'sad', '-92233720368547758.08')",
		"INSERT INTO types VALUES (2, 'base', 32767, 2147483647, 9223372036854775807, '99999999999999999999.9999999999',"+
			" '99999999999999999999999999999999999.999999999999999999999999999999', '99999999999999999999999999999999999.999999999999999999999999999999',"+
			" 3.40282e38, 1.7976931348623157e308, true, 'abcde', repeat('😀', 200), repeat('t😀', 100000), decode(repeat('"+hex+"', 1000), 'hex'),"+
			" '9999-12-31', '24:00:00', '23:59:59.999999-15:59', '9999-12-31 23:59:59.999999', '9999-12-31 23:59:59.999999+00',"+
			" '9999-12-31 23:59:59+00', '178000000 years 11 mons 30 days 23:59:59.999999',"+
			` '{"a": [1, 2, {"b": null}], "a": "dup",  "s": "\u00e9\"q😀"}', '{"z": 1, "a": [true, null, 1.50], "e": "😀"}',`+
			" 'ffffffff-ffff-ffff-ffff-ffffffffffff', '2001:db8::ff00:42:8329/128', '2001:db8::/32', 'ff:ff:ff:ff:ff:ff', B'11111111',"+
			" B'1111111111111111', B'"+strings.Repeat("1", 64)+"', '{{1,2},{3,NULL}}', '{\"a b\",\"c,d\",NULL,\"e\\\"f\",\"😀\",\"\"}',"+
			" '{\"2024-03-10 02:30:00.123456-08\",infinity,NULL}', '{1.50,NaN,-0.000,1e-20}', '😀', '92233720368547758.07')",
		"INSERT INTO types (id) VALUES (3)",
		"INSERT INTO types VALUES (4, 'base', 1, 1, 1, '12.3000000000', '0.000000000000000000000000000001', '-1.5', 0.1, -216237.00000035967,"+
			" true, 'ab', 'trailing  ', E'😀 héllo e\u0301 東京 \u202eRTL 𝄞 line1\\nline2\\ttab\\\\back\\r', '\\x00ff00',"+
			" '2024-02-29', '12:00:00.000001', '12:00:00.5+05:45', '2024-02-29 12:34:56.5', '2024-03-10 02:30:00.123456-08',"+
			" '2024-11-03 01:30:00 America/Los_Angeles', '-1 days +02:00:00.000001', '[1, \"two\", 3.0]', '[1, \"two\", 3.0]',"+
			" '123e4567-e89b-12d3-a456-426614174000', '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03', B'00000101', B'1',"+
			" B'"+strings.Repeat("10", 32)+"', '{-1,0,1}', '{}', '{\"1999-12-31 23:59:59.999999+14\"}', '{}', 'ok', '0.01')",
		"INSERT INTO types (id, r, d, vc, tx, by) VALUES (5, 1.4e-45, 4.9e-324, ' lead', '', '')",
		"INSERT INTO types (id, note, si, i, bi, n, nu, n65, r, d, b, vc, tx, by, tm, iv, js, jb, ia, ta, mn)"+
			" VALUES (6, '', 0, 0, 0, 0, 0, 0, 0, 0, false, '', '', '\\x00', '00:00:00', '0 seconds', '\"\"', '\"\"', '{0}', '{\"\"}', 0)",
	)
	cols := []string{"note", "si", "i", "bi", "n", "nu", "n65", "r", "d", "b", "c", "vc", "tx", "by", "dt", "tm", "ttz", "ts", "tstz",
		"tstz0", "iv", "js", "jb", "u", "ip", "cd", "mac", "bt", "vbt", "bt64", "ia", "ta", "tsa", "na", "m", "mn"}
	types := cdcTable{name: "types", cols: cols, base: []int{1, 2, 3, 4, 5, 6}}
	s.exec(t, copyRows(s, types, doomed, 2))
	tables := []cdcTable{types}
	if sameEngine {
		only := cdcTable{name: "pgonly", cols: []string{"note", "n", "r", "d", "dt", "ts", "tx"}, base: []int{1, 2, 3}}
		s.exec(t,
			"CREATE TABLE pgonly (id int PRIMARY KEY, note varchar(10) NOT NULL DEFAULT 'base', n numeric, r real, d double precision,"+
				" dt date, ts timestamptz, tx text)",
			"ALTER TABLE pgonly ALTER COLUMN tx SET STORAGE EXTERNAL",
			"INSERT INTO pgonly VALUES (1, 'base', 'NaN', 'NaN', 'Infinity', '4713-01-01 BC', 'infinity', E'nul\\x01'),"+
				" (2, 'base', '1e-1000', '-Infinity', '-Infinity', '5874897-12-31', '-infinity', repeat('x', 100000)),"+
				" (3, 'base', (repeat('9', 1000) || '.' || repeat('1', 1000))::numeric, '-0', '-0', 'infinity', '0001-01-01 00:00:00+00', NULL)",
		)
		tables = append(tables, only)
	}
	return tables
}
