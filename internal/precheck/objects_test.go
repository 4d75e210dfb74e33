package precheck_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/precheck"
	"github.com/dtsorg/dts/internal/testenv"
)

// TestSelection: a table named in the job must exist; creating it fixes it.
func TestSelection(t *testing.T) {
	t.Parallel()
	src := newSide(t, testenv.MariaDB(t))
	src.exec(t, "CREATE TABLE a (id INT PRIMARY KEY)")
	dst := newSide(t, testenv.Postgres(t))
	s := spec(src, dst, job.TypeMigration)
	s.Objects[0].Value = job.DatabaseRule{Tables: job.Map[job.TableRule]{{Key: "a"}, {Key: "missing"}}}

	got := items(t, s)
	it := requireItem(t, got, "objects.selection", precheck.Failed)
	require.Contains(t, it.Message, "the source has no table "+src.table("missing"))
	// What needs the selection says so instead of passing.
	it = requireItem(t, got, "objects.types", precheck.Failed)
	require.Contains(t, it.Message, "not checked")
	require.Contains(t, it.Fix, "objects.selection")

	src.exec(t, "CREATE TABLE missing (id INT PRIMARY KEY)")
	got = items(t, s)
	it = requireItem(t, got, "objects.selection", precheck.Passed)
	require.Contains(t, it.Message, "2 tables in 1 database/schema")
	requireItem(t, got, "objects.types", precheck.Passed)
}

// TestFilters: a row filter is parsed against its table's real columns: one
// naming a column the table lacks, or comparing a number with a string,
// fails with the offending part named; the corrected filter passes.
func TestFilters(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		src  *testenv.Server
		dst  *testenv.Server
	}{
		{"mariadb", testenv.MariaDB(t), testenv.Postgres(t)},
		{"postgresql", testenv.Postgres(t), testenv.MariaDB(t)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := newSide(t, tc.src)
			src.exec(t, "CREATE TABLE a (id INT PRIMARY KEY, country VARCHAR(2))", "CREATE TABLE b (id INT PRIMARY KEY)")
			s := spec(src, newSide(t, tc.dst), job.TypeMigration)
			setFilter := func(f string) {
				s.Objects[0].Value.Tables = job.Map[job.TableRule]{{Key: "a", Value: job.TableRule{Filter: f}}}
			}
			setFilter("id > 100 AND cuntry = 'DE'")
			it := requireItem(t, items(t, s), "objects.filters", precheck.Failed)
			require.Contains(t, it.Message, "objects."+src.schema+".tables.a.filter")
			require.Contains(t, it.Message, "cuntry")
			setFilter("id > '100'")
			it = requireItem(t, items(t, s), "objects.filters", precheck.Failed)
			require.Contains(t, it.Message, "'100'")

			setFilter("id > 100 AND country = 'DE'")
			it = requireItem(t, items(t, s), "objects.filters", precheck.Passed)
			require.Equal(t, "1 row filters apply to their tables' columns", it.Message)
			s.Objects[0].Value.Tables = nil
			requireItem(t, items(t, s), "objects.filters", precheck.Passed)
		})
	}
}

// TestRules: the object rules are compiled against the source's tables as
// the runner compiles them; each failing rule names its job file field,
// rules that apply pass, and tables merged into one target table must
// agree on its structure.
func TestRules(t *testing.T) {
	t.Parallel()
	src := newSide(t, testenv.MariaDB(t))
	src.exec(t, "CREATE TABLE a (id INT PRIMARY KEY, ssn TEXT, g GEOMETRY)", "CREATE TABLE b (id INT PRIMARY KEY, v INT)", "CREATE TABLE c (id INT PRIMARY KEY, v TEXT)")
	dst := newSide(t, testenv.Postgres(t))
	s := spec(src, dst, job.TypeMigration)
	s.Objects[0].Value.Tables = job.Map[job.TableRule]{{Key: "a", Value: job.TableRule{
		Filter:  "nope > 100",
		Columns: job.Map[job.ColumnRule]{{Key: "id", Value: job.ColumnRule{Exclude: true}}},
	}}}
	got := items(t, s)
	it := requireItem(t, got, "objects.filters", precheck.Failed)
	require.Contains(t, it.Message, "objects."+src.schema+".tables.a.filter: column nope is not a column of")
	it = requireItem(t, got, "objects.column_rules", precheck.Failed)
	require.Contains(t, it.Message, "objects."+src.schema+".tables.a.columns.id: id is a column of the key")

	// Rules that apply pass; an excluded column's type no longer matters.
	s.Objects[0].Value.Tables = job.Map[job.TableRule]{
		{Key: "a", Value: job.TableRule{Filter: "id > 100", Columns: job.Map[job.ColumnRule]{{Key: "ssn", Value: job.ColumnRule{Exclude: true}}, {Key: "g", Value: job.ColumnRule{Exclude: true}}}}},
		{Key: "b", Value: job.TableRule{Name: "bc"}},
		{Key: "c", Value: job.TableRule{Name: "bc"}},
	}
	got = items(t, s)
	requireItem(t, got, "objects.filters", precheck.Passed)
	requireItem(t, got, "objects.column_rules", precheck.Passed)
	requireItem(t, got, "objects.types", precheck.Passed)
	// b and c are merged into bc, but v is an integer in one and text in the other.
	it = requireItem(t, got, "objects.merge", precheck.Failed)
	require.Contains(t, it.Message, "are merged into "+dst.schema+".bc but their structures differ: column v is")

	s.Objects[0].Value.Tables = job.Map[job.TableRule]{{Key: "b", Value: job.TableRule{Name: "bc"}}, {Key: "c", Value: job.TableRule{Name: "bc", Columns: job.Map[job.ColumnRule]{{Key: "v", Value: job.ColumnRule{Name: "w"}}}}}}
	src.exec(t, "ALTER TABLE c MODIFY v INT")
	it = requireItem(t, items(t, s), "objects.merge", precheck.Failed)
	require.Contains(t, it.Message, "column 2 is v in one and w in the other")
	s.Objects[0].Value.Tables[1].Value.Columns = nil
	it = requireItem(t, items(t, s), "objects.merge", precheck.Warning)
	require.Contains(t, it.Message, "1 merged target tables cannot tell their sources' rows apart")
}

// TestPrimaryKeys: a keyless table warns in a migration; in a sync from
// PostgreSQL it fails until it has a replica identity (the printed SQL).
func TestPrimaryKeys(t *testing.T) {
	t.Parallel()
	src := newSide(t, testenv.Postgres(t))
	src.exec(t, "CREATE TABLE keyed (id INT PRIMARY KEY)", "CREATE TABLE keyless (v INT)")
	dst := newSide(t, testenv.MariaDB(t))

	it := requireItem(t, items(t, spec(src, dst, job.TypeMigration)), "objects.primary_keys", precheck.Warning)
	require.Contains(t, it.Message, "app.keyless")

	s := spec(src, dst, job.TypeSync)
	it = requireItem(t, items(t, s), "objects.primary_keys", precheck.Failed)
	require.Equal(t, []string{"ALTER TABLE app.keyless REPLICA IDENTITY FULL;"}, it.FixSQL)
	applyFix(t, src, it)
	it = requireItem(t, items(t, s), "objects.primary_keys", precheck.Warning) // safe, slower
	require.Contains(t, it.Message, "REPLICA IDENTITY FULL")

	src.exec(t, "ALTER TABLE keyless ADD PRIMARY KEY (v)")
	requireItem(t, items(t, s), "objects.primary_keys", precheck.Passed)

	// A partitioned table's partitions each have their own identity.
	src.exec(t, "CREATE TABLE parted (id INT, v INT) PARTITION BY RANGE (id)",
		"CREATE TABLE parted_1 PARTITION OF parted FOR VALUES FROM (0) TO (10)")
	it = requireItem(t, items(t, s), "objects.primary_keys", precheck.Failed)
	require.Equal(t, []string{"ALTER TABLE app.parted_1 REPLICA IDENTITY FULL;"}, it.FixSQL)
	applyFix(t, src, it)
	requireItem(t, items(t, s), "objects.primary_keys", precheck.Warning)
}

// TestForeignKeys: a key to a table left out of the job is not created.
func TestForeignKeys(t *testing.T) {
	t.Parallel()
	src := newSide(t, testenv.MariaDB(t))
	src.exec(t, "CREATE TABLE parent (id INT PRIMARY KEY)",
		"CREATE TABLE child (id INT PRIMARY KEY, p INT, CONSTRAINT child_parent FOREIGN KEY (p) REFERENCES parent (id))")
	dst := newSide(t, testenv.Postgres(t))
	s := spec(src, dst, job.TypeMigration)
	s.Objects[0].Value = job.DatabaseRule{Tables: job.Map[job.TableRule]{{Key: "child"}}}
	it := requireItem(t, items(t, s), "objects.foreign_keys", precheck.Warning)
	require.Contains(t, it.Message, src.table("child")+".child_parent → "+src.table("parent"))

	s.Objects[0].Value.Tables = append(s.Objects[0].Value.Tables, job.Entry[job.TableRule]{Key: "parent"})
	requireItem(t, items(t, s), "objects.foreign_keys", precheck.Passed)
}

// TestTypes: a column PostgreSQL cannot hold is named with why; leaving it
// out (here: dropping it) passes.
func TestTypes(t *testing.T) {
	t.Parallel()
	src := newSide(t, testenv.MariaDB(t))
	src.exec(t, "CREATE TABLE places (id INT PRIMARY KEY, pos POINT, n BIGINT UNSIGNED)")
	dst := newSide(t, testenv.Postgres(t))
	s := spec(src, dst, job.TypeMigration)
	it := requireItem(t, items(t, s), "objects.types", precheck.Failed)
	require.Contains(t, it.Message, src.table("places")+".pos (point)")

	src.exec(t, "ALTER TABLE places DROP COLUMN pos", "ALTER TABLE places MODIFY n BIGINT UNSIGNED NOT NULL", "CREATE INDEX places_n ON places (n)")
	got := items(t, s)
	requireItem(t, got, "objects.types", precheck.Passed)
}

// TestCharsets: a PostgreSQL target database in LATIN1 cannot hold what a
// utf8mb4 source sends; a UTF8 database (the printed SQL) can.
func TestCharsets(t *testing.T) {
	t.Parallel()
	src := newSide(t, testenv.MariaDB(t))
	src.exec(t, "CREATE TABLE notes (id INT PRIMARY KEY, body TEXT CHARACTER SET utf8mb4)")
	pg := testenv.Postgres(t)
	latin := pg.NewDatabase(t)
	pg.Exec(t, "", "DROP DATABASE "+latin, "CREATE DATABASE "+latin+" ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0")
	dst := side{srv: pg, database: latin, schema: "app"}
	s := spec(src, dst, job.TypeMigration)

	it := requireItem(t, items(t, s), "objects.charsets", precheck.Failed)
	require.Contains(t, it.Message, src.table("notes")+".body")
	applyFix(t, dst, it)
	utf8 := latin + "_utf8"
	t.Cleanup(func() { pg.Exec(t, "", "DROP DATABASE IF EXISTS "+utf8+" WITH (FORCE)") })
	s.Target.Database = utf8
	requireItem(t, items(t, s), "objects.charsets", precheck.Passed)
}

// TestNameConflicts: names distinct on the source that become one on the
// target (MySQL ignores the case of column names; PostgreSQL cuts names at
// 63 bytes); distinct target names fix them.
func TestNameConflicts(t *testing.T) {
	t.Parallel()
	pgSrc := newSide(t, testenv.Postgres(t))
	pgSrc.exec(t, `CREATE TABLE t (id INT PRIMARY KEY, "Name" TEXT, name TEXT)`)
	myDst := newSide(t, testenv.MariaDB(t))
	s := spec(pgSrc, myDst, job.TypeMigration)
	it := requireItem(t, items(t, s), "target.name_conflicts", precheck.Failed)
	require.Contains(t, it.Message, `columns "Name", "name" become one column`)
	pgSrc.exec(t, `ALTER TABLE t RENAME COLUMN "Name" TO name2`)
	requireItem(t, items(t, s), "target.name_conflicts", precheck.Passed)

	long := strings.Repeat("x", 63)
	mySrc := newSide(t, testenv.MariaDB(t))
	mySrc.exec(t, "CREATE TABLE "+long+"a (id INT PRIMARY KEY)", "CREATE TABLE "+long+"b (id INT PRIMARY KEY)")
	pgDst := newSide(t, testenv.Postgres(t))
	s = spec(mySrc, pgDst, job.TypeMigration)
	got := items(t, s)
	it = requireItem(t, got, "target.name_conflicts", precheck.Failed)
	require.Contains(t, it.Message, "become one table")
	requireItem(t, got, "objects.types", precheck.Failed) // the sink refuses names it would cut
	s.Objects[0].Value.Tables = job.Map[job.TableRule]{{Key: long + "a", Value: job.TableRule{Name: "short_a"}}, {Key: long + "b", Value: job.TableRule{Name: "short_b"}}}
	got = items(t, s)
	requireItem(t, got, "target.name_conflicts", precheck.Passed)
	requireItem(t, got, "objects.types", precheck.Passed)
}

// TestNarrowCharsets: existing MySQL target columns the job appends to, in
// utf8mb3 or latin1, cannot hold the 4-byte characters of utf8mb4 source
// columns (MariaDB) or PostgreSQL text; the printed ALTER converts them to
// utf8mb4 and keeps the rest of each column's definition. Tables dts
// creates name their character set, whatever the database's default.
func TestNarrowCharsets(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		src    *testenv.Server
		create string
	}{
		{"mariadb", testenv.MariaDB(t), "CREATE TABLE notes (id INT PRIMARY KEY, body TEXT CHARACTER SET utf8mb4, " +
			"title VARCHAR(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin, code VARCHAR(5) CHARACTER SET ascii)"},
		{"postgresql", testenv.Postgres(t), "CREATE TABLE notes (id INT PRIMARY KEY, body TEXT, title VARCHAR(20), code VARCHAR(5))"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			src := newSide(t, tc.src)
			src.exec(t, tc.create)
			dst := newSide(t, testenv.MariaDB(t))
			dst.exec(t, "ALTER DATABASE `"+dst.database+"` DEFAULT CHARACTER SET latin1")
			s := spec(src, dst, job.TypeMigration)
			s.Target.Options.ExistingTables = job.ExistingAppend
			requireItem(t, items(t, s), "objects.charsets", precheck.Passed) // dts creates notes in utf8mb4

			dst.exec(t, "CREATE TABLE notes (id INT PRIMARY KEY, "+
				"body TEXT CHARACTER SET utf8mb3 COLLATE utf8mb3_unicode_ci NOT NULL DEFAULT 'it''s' COMMENT 'the `body`', "+
				"title VARCHAR(20) CHARACTER SET latin1 COLLATE latin1_bin NULL, code VARCHAR(5))")
			it := requireItem(t, items(t, s), "objects.charsets", precheck.Failed)
			require.Contains(t, it.Message, dst.table("notes")+".body (utf8mb3, from ")
			require.Contains(t, it.Message, dst.table("notes")+".title (latin1, from ")
			if src.mysql() {
				require.NotContains(t, it.Message, ".code", "ascii fits latin1")
			} else {
				require.Contains(t, it.Message, ".code (latin1, from PostgreSQL text)")
			}
			// Recreated tables are dts's own: nothing to check.
			s.Target.Options.ExistingTables = job.ExistingRecreate
			requireItem(t, items(t, s), "objects.charsets", precheck.Passed)
			s.Target.Options.ExistingTables = job.ExistingAppend

			applyFix(t, dst, it)
			requireItem(t, items(t, s), "objects.charsets", precheck.Passed)
			type col struct{ Charset, Collation, Nullable, Comment string }
			got := map[string]col{}
			rows, err := dst.srv.DB(t, "").QueryContext(t.Context(), `SELECT COLUMN_NAME, CHARACTER_SET_NAME, COLLATION_NAME, IS_NULLABLE,
				COLUMN_COMMENT FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'notes' AND COLUMN_NAME <> 'id'`, dst.database)
			require.NoError(t, err)
			for rows.Next() {
				var name string
				var c col
				require.NoError(t, rows.Scan(&name, &c.Charset, &c.Collation, &c.Nullable, &c.Comment))
				got[name] = c
			}
			require.NoError(t, rows.Err())
			require.Equal(t, col{"utf8mb4", "utf8mb4_unicode_ci", "NO", "the `body`"}, got["body"], "the rest of the definition is kept")
			require.Equal(t, col{"utf8mb4", "utf8mb4_bin", "YES", ""}, got["title"])
			dst.exec(t, "INSERT INTO notes (id) VALUES (1)")
			var body string
			require.NoError(t, dst.srv.DB(t, dst.database).QueryRowContext(t.Context(), "SELECT body FROM notes").Scan(&body))
			require.Equal(t, "it's", body, "the default is kept")
		})
	}
}
