// Package filter parses, validates, renders and evaluates the row filters of
// a job file (objects.<db>.tables.<t>.filter: "country = 'DE' AND id > 100").
//
// A filter is a condition in the source's dialect. Parse reads it into an
// expression tree of this package's own types, admitting only an allow-list
// of constructs, each checked against the table's columns and types; any
// other input is refused with an errs.InvalidParameter error whose message
// names the offending part (Validate runs the checks that need no table, for
// job validation). The user's text never reaches a database: SQL renders the
// tree, with identifiers quoted and literals written so that no session
// setting can change their meaning, and that rendering is ANDed into the
// snapshot query. Eval evaluates the same tree in-process on the rows of the
// change stream, with the source engine's semantics, so that the change
// stream selects a row exactly when the snapshot would.
//
// # How text is read
//
// The package's own lexer (lexer.go) reads the text, in the filter's
// dialect, and refuses up front what no filter may hold: comments of every
// kind (MySQL runs /*!...*/ as code), ';', variables, placeholders, casts
// (::), escape strings, dollar quotes, hexadecimal and bit literals,
// character set introducers, look-alike quotes, NUL, invalid UTF-8, more
// than MaxBytes bytes or MaxDepth levels of parentheses. MySQL's double
// quotes are refused too: they quote a string or a name depending on the
// server's ANSI_QUOTES. The TiDB parser then reads not the text but a
// normalised token stream (names in backquotes, every literal replaced by a
// placeholder) for the grammar only; its AST is converted into the tree.
//
// # The allow-list
//
//   - column references: only columns of the table. MySQL matches names
//     case-insensitively; PostgreSQL folds unquoted names to lower case and
//     matches exactly. A qualifier (t.col, db.t.col) must name the table.
//     Unquoted reserved words are refused ("quote it").
//   - literals: strings, integers, decimals, numbers with an exponent (a
//     DOUBLE in MySQL, an exact numeric in PostgreSQL), TRUE, FALSE, NULL
//     (only as an argument of COALESCE or with <=>: x = NULL is never true).
//     PostgreSQL: standard strings (a quote inside is doubled), and E'...'
//     whose only escape is a doubled backslash; MySQL: '...' with the
//     default sql_mode's backslash escapes, and _utf8mb4 X'hex'.
//   - comparison = <> != < <= > >=; MySQL <=>; PostgreSQL IS [NOT] DISTINCT FROM
//   - AND, OR, NOT (MySQL also && and ||, which is OR there; in PostgreSQL
//     || concatenates and is refused)
//   - x [NOT] IN (literal, ...), x [NOT] BETWEEN a AND b
//   - x [NOT] LIKE 'pattern' [ESCAPE 'c'] (a literal pattern, one-character escape)
//   - x IS [NOT] NULL, cond IS [NOT] TRUE|FALSE
//   - + - * % on numbers (% by a non-zero literal; not on MySQL DECIMALs
//     nor PostgreSQL floats), unary minus on number literals
//   - LOWER, UPPER, CHAR_LENGTH (CHARACTER_LENGTH), LENGTH (bytes in MySQL,
//     characters in PostgreSQL), OCTET_LENGTH, ABS, COALESCE, SUBSTRING
//     (SUBSTR, also FROM ... FOR ...) with literal positions
//
// Everything else is refused: subqueries, other functions (SLEEP, LOAD_FILE,
// and every non-deterministic one such as NOW or RAND: the snapshot and the
// change stream would disagree), casts, CASE, variables, division (the
// engines round quotients differently), bitwise and JSON operators, binary
// strings. MaxNodes bounds the tree.
//
// # Types
//
// Parse checks types as strictly as the stricter engine, so that a filter
// means one thing: a number is compared with a number and a string with a
// string (id = '5' and name = 0 are refused: the engines convert them
// differently; PostgreSQL's 'NaN' and 'Infinity' are numbers for float and
// numeric columns), a condition is never compared, and a string comparison
// needs a column (two constants have no collation). A date/time column is
// compared with a literal in its own format: 'YYYY-MM-DD' for DATE (no time
// part: MySQL and PostgreSQL treat one differently), 'YYYY-MM-DD[
// HH:MM:SS[.ffffff]]' for DATETIME and TIMESTAMP, '[-]HH:MM:SS[.ffffff]'
// for TIME; the date must exist. TIMESTAMP literals are UTC, the time zone
// of every dts session. A MySQL YEAR compares with 0 and 1901-2155 only
// (MySQL reads 24 as 2024). Column types filters do not support (JSON,
// binary strings, bit, UUID, network, arrays, intervals, money...) are
// refused when referenced. Constructs whose type differs between the
// engines in ways Eval cannot follow are refused: MySQL's COALESCE of a
// date/time and a string (MySQL makes it a string, compared as text) and
// MySQL's DECIMAL % (MariaDB returns a negative zero that is less than 0).
//
// # Semantics of Eval
//
// Eval follows the source engine; every rule below is checked against
// MariaDB 10.11 and PostgreSQL 15 by the package's differential tests.
//
//   - Three-valued logic: a comparison with NULL is unknown, AND/OR/NOT
//     follow SQL's truth tables, and the row is selected only when the
//     filter is true (Test returns the three values, Eval whether the row
//     is selected).
//   - Numbers compare exactly (decimals and 64-bit integers, signed and
//     unsigned, never through floats) unless a float is involved, then as
//     doubles, as both engines do. MySQL's IN and BETWEEN compare all
//     operands as doubles when one is a double; PostgreSQL's IN of two or
//     more items compares in the common type, so real IN (0.1, 2) rounds 0.1
//     to a real where real = 0.1 does not. PostgreSQL's NaN equals NaN and
//     is greater than every number.
//   - Arithmetic has the engine's result types (MySQL: BIGINT, BIGINT
//     UNSIGNED, DECIMAL, DOUBLE; PostgreSQL: smallint + smallint is a
//     smallint, real + real a real...) and fails where the engine fails
//     (out of range). A failing operand of AND/OR fails the filter only when
//     no other operand decides it (at the top level a NULL operand decides
//     too, as in both engines' WHERE), because the engines evaluate in an
//     order of their own; where an optimizer reorders more than that, Eval
//     may fail on a row the engine selects or skips: it never returns a
//     different result.
//   - Strings compare under the column's collation. MySQL: every collation
//     in mysqlCollationList (utf8mb4/utf8mb3 general_ci, unicode_ci,
//     unicode_520_ci, _bin and their NO PAD forms; latin1_swedish_ci,
//     latin1_general_ci, latin1_bin; ascii) is evaluated exactly, from
//     per-character weights and case maps read from MariaDB and checked
//     character by character: case- and accent-insensitive as the server,
//     ß = ss under unicode_ci, PAD SPACE compares as if padded with spaces
//     ('a\t' < 'a'), _bin compares code points. Other collations (MySQL 8's
//     utf8mb4_0900_*, language-specific ones) are refused, as are literals
//     a column's charset cannot hold. PostgreSQL: equality is byte-wise
//     (every deterministic collation; user-defined collations, which may be
//     nondeterministic, are refused); ordering (<, >, BETWEEN) and
//     LOWER/UPPER use the C collation and the rendered SQL says COLLATE "C",
//     so the database does the same whatever the column's collation. The
//     caveat: under a locale collation such as en_US, name >= 'M' selects
//     by code point ('a' > 'M'), not in dictionary order. char(n) values
//     keep their padding; comparisons ignore it, LIKE and OCTET_LENGTH see it.
//   - LIKE: % matches any characters, _ one character; \ escapes unless
//     ESCAPE names another character. MySQL compares characters under the
//     collation, one at a time (case-insensitive under _ci; ß NOT LIKE 'ss';
//     no padding), PostgreSQL exactly.
//   - Dates and times compare as points in time, not as text; a DATE is its
//     midnight when compared with a DATETIME/TIMESTAMP. MySQL's zero dates
//     sort first; PostgreSQL's infinities and BC dates are in order.
//
// A Filter rendered for the other engine (SQL(otherDialect)) is the same
// condition in that engine's syntax, evaluated with that engine's rules.
package filter
