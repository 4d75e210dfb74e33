package compare_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/compare"
	"github.com/dtsorg/dts/internal/connector/engines"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/logging"
	"github.com/dtsorg/dts/internal/runner"
	"github.com/dtsorg/dts/internal/testenv"
)

// TestCompareFollowsRules compares a migration made with every object rule
// in both cross-engine directions: customers is filtered, renamed (with a
// renamed and an excluded column and added columns of every source),
// items is renamed by the rename_rule, and orders of two source schemas
// are merged into one target table, kept apart by an added column.
//
// Right after the load every compare type finds the job's tables equal,
// counting only the rows the filter moves. Then, on the target, a changed
// renamed column is named by its target name, a changed constant column
// is found, a row the filter leaves out is extra, and a row deleted from
// one shard's share of the merged table is missing from that shard; a
// change to the excluded column on the source is not a difference, nor
// are the commit_time and operation columns, which the compare cannot
// recompute (the report says so). The repair makes the target whole, as
// the job would have written it: a new compare finds nothing.
func TestCompareFollowsRules(t *testing.T) {
	t.Parallel()
	for _, d := range []struct {
		name     string
		src, dst func(t testing.TB) *testenv.Server
	}{
		{"mariadb_to_postgresql", testenv.MariaDB, testenv.Postgres},
		{"postgresql_to_mariadb", testenv.Postgres, testenv.MariaDB},
	} {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			spec, src, shard2, out := rulesMigrated(t, d.src(t), d.dst(t))

			for _, typ := range []string{compare.TypeObjects, compare.TypeRows, compare.TypeContent} {
				rep := runCompare(t, spec, testOptions(typ), nil).Report
				requireEqual(t, rep)
				require.Len(t, rep.Tables, 4, "customers, items and both shards' orders")
				require.Equal(t, out.schema+".r_items", tableReport(t, rep, "items").Target, "named by the rename_rule")
				require.Equal(t, out.schema+".clients", tableReport(t, rep, "customers").Target)
				if typ == compare.TypeRows {
					customers := tableReport(t, rep, "customers")
					require.Equal(t, int64(3), *customers.SourceRows, "only the rows the filter moves are counted")
					require.Equal(t, int64(3), *customers.TargetRows)
					for _, s := range []side{src, shard2} {
						orders := tableNamed(t, rep, s.schema+".orders")
						require.Equal(t, int64(2), *orders.SourceRows)
						require.Equal(t, int64(2), *orders.TargetRows, "each shard counts its own rows of the merged table")
					}
				}
				if typ == compare.TypeContent {
					reason := tableReport(t, rep, "customers").Reason
					require.Contains(t, reason, "added columns op (from operation), at (from commit_time) are not compared")
				}
			}

			// A merged table's row that none of its sources' values claim
			// is in no table's share: a warning says so.
			out.exec(t, "INSERT INTO all_orders (id, amount, shard) VALUES (99, 1, 'nobody'), (98, 1, NULL)")
			rep := runCompare(t, spec, testOptions(compare.TypeRows), nil).Report
			requireEqual(t, rep)
			require.Len(t, rep.Warnings, 1)
			require.Contains(t, rep.Warnings[0], "target table "+out.schema+".all_orders holds 2 rows whose added columns (shard) hold the values of none")
			out.exec(t, "DELETE FROM all_orders WHERE id IN (98, 99)")
			require.Empty(t, runCompare(t, spec, testOptions(compare.TypeContent), nil).Report.Warnings)

			src.exec(t, "UPDATE customers SET ssn = 'changed' WHERE id = 3") // excluded: never a difference
			out.exec(t,
				"UPDATE clients SET mail = 'changed@x' WHERE id = 2",
				"UPDATE clients SET tag = 'v2' WHERE id = 4",
				"UPDATE clients SET op = 'update' WHERE id = 3", // not comparable: not a difference
				// Row 5 is on the source but the filter leaves it out.
				"INSERT INTO clients (id, mail, country, note, src_db, src_table, op, tag) VALUES (5, 'e@x', 'FR', 'five', '"+
					src.schema+"', 'customers', 'insert', 'v1')",
				"DELETE FROM all_orders WHERE id = 12",
			)
			rep = runCompare(t, spec, testOptions(compare.TypeContent), nil).Report
			require.Equal(t, compare.StatusDifferent, rep.Status)
			customers := tableReport(t, rep, "customers")
			require.Equal(t, [3]int64{1, 0, 2}, [3]int64{customers.Extra, customers.Missing, customers.Changed}, "%s", showRows(customers.Rows))
			changed := map[string]string{}
			for _, r := range customers.Rows {
				switch r.Kind {
				case compare.RowExtra:
					require.Equal(t, "5", *r.Key[0].Value, "the row the filter leaves out")
				case compare.RowChanged:
					require.Len(t, r.Columns, 1, "%s", showRows(customers.Rows))
					changed[*r.Key[0].Value] = r.Columns[0].Column
				}
			}
			require.Equal(t, map[string]string{"2": "mail", "4": "tag"}, changed, "named by their target columns")
			require.Equal(t, compare.StatusEqual, tableReport(t, rep, "items").Status)
			require.Equal(t, compare.StatusEqual, tableNamed(t, rep, src.schema+".orders").Status, "the other shard's rows are all there")
			orders := tableNamed(t, rep, shard2.schema+".orders")
			require.Equal(t, [3]int64{0, 1, 0}, [3]int64{orders.Extra, orders.Missing, orders.Changed}, "%s", showRows(orders.Rows))
			require.Equal(t, "12", *orders.Rows[0].Key[0].Value)
			require.Equal(t, out.schema+".all_orders", orders.Target)

			opts := testOptions(compare.TypeContent)
			opts.Repair = true
			fixed := runCompare(t, spec, opts, nil).Report
			require.True(t, fixed.Repair.Applied, "repair error: %s", fixed.Repair.Error)
			require.True(t, fixed.Repair.Repaired(), "%+v", fixed.Repair)
			after := runCompare(t, spec, testOptions(compare.TypeContent), nil)
			requireEqual(t, after.Report)
			require.Empty(t, after.Script)

			// The repair wrote the rows as the job writes a change: the
			// re-inserted row in its shard, the updated row marked so.
			require.Equal(t, shard2.schema, queryOne(t, out, "SELECT shard FROM "+out.quote(out.schema)+".all_orders WHERE id = 12"))
			require.Equal(t, "update", queryOne(t, out, "SELECT op FROM "+out.quote(out.schema)+".clients WHERE id = 2"))
			require.NotEqual(t, "∅", queryOne(t, out, "SELECT at FROM "+out.quote(out.schema)+".clients WHERE id = 2"))
		})
	}
}

// rulesMigrated fills a fresh source (a second schema on it holds the
// other shard) and runs the rules' migration to a fresh target. It
// returns the job, both source shards and the target schema.
func rulesMigrated(t *testing.T, srcSrv, dstSrv *testenv.Server) (*job.Spec, side, side, side) {
	t.Helper()
	src, dst := newSide(t, srcSrv), newSide(t, dstSrv)
	shard2 := newSide(t, srcSrv)
	if !src.mysql() {
		src.exec(t, "CREATE SCHEMA app2")
		shard2 = side{src.srv, src.database, "app2"}
	}
	text := "TEXT"
	if !src.mysql() {
		text = "text"
	}
	src.exec(t,
		"CREATE TABLE customers (id INT PRIMARY KEY, email VARCHAR(100), ssn VARCHAR(20), country CHAR(2) NOT NULL, note "+text+")",
		"INSERT INTO customers VALUES (1, 'a@x', '111', 'DE', 'one'), (2, 'b@x', '222', 'DE', 'two'), (3, 'c@x', '333', 'DE', 'three'),"+
			" (4, 'd@x', '444', 'DE', 'four'), (5, 'e@x', '555', 'FR', 'five'), (6, 'f@x', '666', 'FR', 'six')",
		"CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20))",
		"INSERT INTO items VALUES (1, 'pen'), (2, 'ink')",
		"CREATE TABLE orders (id INT PRIMARY KEY, amount DECIMAL(10,2))",
		"INSERT INTO orders VALUES (1, 1.50), (2, 2.00)",
	)
	shard2.exec(t, "CREATE TABLE orders (id INT PRIMARY KEY, amount DECIMAL(10,2))", "INSERT INTO orders VALUES (11, 11.00), (12, 12.25)")
	target, at := "dw", "timestamptz(6)"
	if dst.mysql() {
		target, at = dst.schema, "datetime(6)"
	}
	merged := job.TableRule{Name: "all_orders", AddColumns: []job.AddColumn{{Name: "shard", Type: "varchar(64)", From: job.FromDatabase}}}
	spec := &job.Spec{
		Name: dst.database[max(0, len(dst.database)-63):], Type: job.TypeMigration, Source: src.endpoint(), Target: dst.endpoint(),
		Objects: job.Objects{
			{Key: src.schema, Value: job.DatabaseRule{Name: target, Tables: job.Map[job.TableRule]{
				{Key: "customers", Value: job.TableRule{
					Name:    "clients",
					Filter:  "country = 'DE' AND id > 1",
					Columns: job.Map[job.ColumnRule]{{Key: "email", Value: job.ColumnRule{Name: "mail"}}, {Key: "ssn", Value: job.ColumnRule{Exclude: true}}},
					AddColumns: []job.AddColumn{
						{Name: "src_db", Type: "varchar(64)", From: job.FromDatabase},
						{Name: "src_table", Type: "varchar(64)", From: job.FromTable},
						{Name: "op", Type: "varchar(10)", From: job.FromOperation},
						{Name: "at", Type: at, From: job.FromCommitTime},
						{Name: "tag", Type: "varchar(8)", From: job.FromConstant, Value: "v1"},
					},
				}},
				{Key: "items"},
				{Key: "orders", Value: merged},
			}}},
			{Key: shard2.schema, Value: job.DatabaseRule{Name: target, Tables: job.Map[job.TableRule]{{Key: "orders", Value: merged}}}},
		},
		RenameRule:  job.RenameRule{Prefix: "r_"},
		Parallelism: job.Parallelism{Min: 1, Max: 3},
	}
	spec.Normalize()
	require.NoError(t, spec.Validate())
	r := runner.New(engines.Engines{}, logging.Discard())
	require.NoError(t, r.Run(context.Background(), "job-"+dst.database, spec, runner.NewProgress()))
	return spec, src, shard2, side{dst.srv, dst.database, target}
}

// queryOne returns the one value a query returns (∅ for NULL).
func queryOne(t *testing.T, s side, q string) string {
	t.Helper()
	var v sql.NullString
	require.NoError(t, s.srv.DB(t, s.database).QueryRowContext(context.Background(), q).Scan(&v), q)
	if !v.Valid {
		return "∅"
	}
	return strings.TrimRight(v.String, " ")
}

// tableNamed returns the report of the source table schema.name.
func tableNamed(t *testing.T, r *compare.Report, name string) compare.TableReport {
	t.Helper()
	for _, tr := range r.Tables {
		if tr.Table == name {
			return tr
		}
	}
	t.Fatalf("no table %s in the report", name)
	return compare.TableReport{}
}

// TestCompareAddedColumns: added columns holding a known value are
// compared like any column, in every content mode (a keyed table and one
// without a key, whose rows are bucketed by all their fields), with a
// constant that needs quoting in both dialects; those filled from the
// source's log are not. The repair writes every added column as the job
// does: the known values, and for a change it makes "insert" or
// "update" with its own time.
func TestCompareAddedColumns(t *testing.T) {
	t.Parallel()
	for _, d := range []struct {
		name     string
		src, dst func(t testing.TB) *testenv.Server
	}{
		{"mariadb_to_postgresql", testenv.MariaDB, testenv.Postgres},
		{"postgresql_to_mariadb", testenv.Postgres, testenv.MariaDB},
	} {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			src, dst := newSide(t, d.src(t)), newSide(t, d.dst(t))
			src.exec(t,
				"CREATE TABLE k (id INT PRIMARY KEY, v VARCHAR(10))",
				"INSERT INTO k VALUES (1, 'a'), (2, 'b'), (3, NULL)",
				// d: a MySQL target's DECIMAL matched by its text when
				// a row without a key is deleted.
				"CREATE TABLE nk (x INT, v VARCHAR(10), d DECIMAL(6,2))",
				"INSERT INTO nk VALUES (1, 'a', 1.00), (1, 'a', 1.00), (2, NULL, 2.50)",
			)
			target, at := "dw", "timestamptz(3)"
			if dst.mysql() {
				target, at = dst.schema, "datetime(3)"
			}
			const constant = `it's \ "ü" 😀 %_`
			rule := job.TableRule{AddColumns: []job.AddColumn{
				{Name: "c", Type: "varchar(40)", From: job.FromConstant, Value: constant},
				{Name: "n", Type: "decimal(6,2)", From: job.FromConstant, Value: "7.5"},
				{Name: "db", Type: "varchar(64)", From: job.FromDatabase},
				{Name: "tb", Type: "char(8)", From: job.FromTable},
				{Name: "op", Type: "varchar(10)", From: job.FromOperation},
				{Name: "at", Type: at, From: job.FromCommitTime},
			}}
			spec := &job.Spec{
				Name: dst.database[max(0, len(dst.database)-63):], Type: job.TypeMigration, Source: src.endpoint(), Target: dst.endpoint(),
				Objects: job.Objects{{Key: src.schema, Value: job.DatabaseRule{Name: target, Tables: job.Map[job.TableRule]{
					{Key: "k", Value: rule}, {Key: "nk", Value: rule}}}}},
				Parallelism: job.Parallelism{Min: 1, Max: 2},
			}
			spec.Normalize()
			require.NoError(t, spec.Validate())
			require.NoError(t, runner.New(engines.Engines{}, logging.Discard()).Run(context.Background(), "job-"+dst.database, spec, runner.NewProgress()))
			out := side{dst.srv, dst.database, target}

			rep := runCompare(t, spec, testOptions(compare.TypeContent), nil).Report
			requireEqual(t, rep)
			require.Equal(t, "range", tableReport(t, rep, "k").Mode)
			require.Equal(t, "rows", tableReport(t, rep, "nk").Mode)

			out.exec(t,
				"UPDATE k SET c = 'other' WHERE id = 1",
				"UPDATE k SET n = NULL, db = 'elsewhere' WHERE id = 2",
				"UPDATE k SET op = 'update', at = NULL WHERE id = 3", // from the log: not compared
				"DELETE FROM k WHERE id = 3",
				"UPDATE nk SET tb = 'x' WHERE x = 2",
			)
			rep = runCompare(t, spec, testOptions(compare.TypeContent), nil).Report
			k := tableReport(t, rep, "k")
			require.Equal(t, [3]int64{0, 1, 2}, [3]int64{k.Extra, k.Missing, k.Changed}, "%s", showRows(k.Rows))
			var named []string
			for _, r := range k.Rows {
				for _, c := range r.Columns {
					named = append(named, *r.Key[0].Value+":"+c.Column)
					require.Empty(t, c.SourceColumn, "an added column has no source column")
				}
			}
			require.ElementsMatch(t, []string{"1:c", "2:n", "2:db"}, named)
			nk := tableReport(t, rep, "nk")
			require.Equal(t, [3]int64{1, 1, 0}, [3]int64{nk.Extra, nk.Missing, nk.Changed}, "%s", showRows(nk.Rows))

			opts := testOptions(compare.TypeContent)
			opts.Repair = true
			fixed := runCompare(t, spec, opts, nil).Report
			requireEqual(t, runCompare(t, spec, testOptions(compare.TypeContent), nil).Report)
			require.True(t, fixed.Repair.Repaired(), "%+v", fixed.Repair)
			q := func(query string) string { return queryOne(t, out, query) }
			k3 := "FROM " + out.quote(target) + ".k WHERE id = 3"
			require.Equal(t, constant, q("SELECT c "+k3))
			require.Equal(t, "insert", q("SELECT op "+k3), "re-inserted as the job inserts")
			require.NotEqual(t, "∅", q("SELECT at "+k3))
			require.Equal(t, "update", q("SELECT op FROM "+out.quote(target)+".k WHERE id = 1"))
			require.Equal(t, "k", q("SELECT tb "+k3))
			require.Equal(t, "1", q("SELECT count(*) FROM "+out.quote(target)+".nk WHERE x = 2 AND tb = 'nk' AND op = 'insert'"))
		})
	}
}

// TestCompareRepairKeepsShardsApart: two merged shards hold the same key;
// one's row was left out by the filter, the other's is on the target.
// When the left-out row enters the filter (no job follows the source),
// the compare finds it missing from its own shard, and the repair does
// not overwrite the other shard's row with it: it fails, saying so.
func TestCompareRepairKeepsShardsApart(t *testing.T) {
	t.Parallel()
	for _, d := range []struct {
		name     string
		src, dst func(t testing.TB) *testenv.Server
	}{
		{"mariadb_to_postgresql", testenv.MariaDB, testenv.Postgres},
		{"postgresql_to_mariadb", testenv.Postgres, testenv.MariaDB},
	} {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			a, dst := newSide(t, d.src(t)), newSide(t, d.dst(t))
			b := newSide(t, a.srv)
			if !a.mysql() {
				a.exec(t, "CREATE SCHEMA app2")
				b = side{a.srv, a.database, "app2"}
			}
			a.exec(t, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))", "INSERT INTO t VALUES (1, 'a'), (2, 'hidden')")
			b.exec(t, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))", "INSERT INTO t VALUES (2, 'b'), (3, 'c')")
			target := "dw"
			if dst.mysql() {
				target = dst.schema
			}
			rule := job.TableRule{Filter: "v <> 'hidden'", AddColumns: []job.AddColumn{{Name: "shard", Type: "varchar(64)", From: job.FromDatabase}}}
			spec := &job.Spec{
				Name: dst.database[max(0, len(dst.database)-63):], Type: job.TypeMigration, Source: a.endpoint(), Target: dst.endpoint(),
				Objects: job.Objects{
					{Key: a.schema, Value: job.DatabaseRule{Name: target, Tables: job.Map[job.TableRule]{{Key: "t", Value: rule}}}},
					{Key: b.schema, Value: job.DatabaseRule{Name: target, Tables: job.Map[job.TableRule]{{Key: "t", Value: rule}}}},
				},
				Parallelism: job.Parallelism{Min: 1, Max: 2},
			}
			spec.Normalize()
			require.NoError(t, spec.Validate())
			require.NoError(t, runner.New(engines.Engines{}, logging.Discard()).Run(context.Background(), "job-"+dst.database, spec, runner.NewProgress()))
			out := side{dst.srv, dst.database, target}
			requireEqual(t, runCompare(t, spec, testOptions(compare.TypeContent), nil).Report)

			a.exec(t, "UPDATE t SET v = 'x' WHERE id = 2")
			opts := testOptions(compare.TypeContent)
			opts.Repair = true
			rep := runCompare(t, spec, opts, nil).Report
			ta := tableNamed(t, rep, a.schema+".t")
			require.Equal(t, [3]int64{0, 1, 0}, [3]int64{ta.Extra, ta.Missing, ta.Changed}, "%s", showRows(ta.Rows))
			require.Equal(t, compare.StatusEqual, tableNamed(t, rep, b.schema+".t").Status)
			require.False(t, rep.Repair.Applied, "%+v", rep.Repair)
			require.NotEmpty(t, rep.Repair.Error, "the key is another shard's: the repair says so")
			require.Equal(t, "b|"+b.schema, queryOne(t, out, "SELECT CONCAT(v, '|', shard) FROM "+out.quote(target)+".t WHERE id = 2"),
				"the other shard's row is not overwritten")
		})
	}
}
