package runner_test

import (
	"context"
	"slices"
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

// Every object rule through structure, full load and incremental sync, in
// both cross-engine directions: a row filter (with updates moving rows into
// and out of it), a column rename and an exclusion (whose index is dropped),
// added columns of every source, a table rename, and a dml list without
// delete. A PostgreSQL source sends key-only old rows (REPLICA IDENTITY
// DEFAULT), a MariaDB one full rows: both ways of deciding an update's fate.
func TestObjectRulesEveryPhase(t *testing.T) {
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
			textType := "TEXT"
			if !src.mysql() {
				textType = "text"
			}
			src.exec(t,
				"CREATE TABLE customers (id INT PRIMARY KEY, email VARCHAR(100), ssn VARCHAR(20), country CHAR(2) NOT NULL, note "+textType+")",
				"CREATE INDEX ix_ssn ON customers (ssn)",
				"CREATE TABLE events (id INT PRIMARY KEY, v INT)",
				"INSERT INTO customers VALUES (1, 'a@x', '111', 'DE', 'one'), (2, 'b@x', '222', 'DE', 'two'), (3, 'c@x', '333', 'DE', 'three'),"+
					" (4, 'd@x', '444', 'DE', 'four'), (5, 'e@x', '555', 'FR', 'five')",
				"INSERT INTO events VALUES (1, 10), (2, 20)",
			)
			target, at := "dw", "timestamptz(6)"
			if dst.mysql() {
				target, at = dst.schema, "datetime(6)"
			}
			spec := rulesSyncSpec("rules-"+d.name[:4], src, dst, job.Objects{{Key: src.schema, Value: job.DatabaseRule{Name: target, Tables: job.Map[job.TableRule]{
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
				{Key: "events", Value: job.TableRule{DML: []string{job.DMLInsert, job.DMLUpdate}}},
			}}}})
			out := side{dst.srv, dst.database, target}
			j := startJob(t, "job-rules-"+d.name, spec)
			rulesEventually(t, j, func() string {
				if j.progress.Phase() != runner.PhaseIncremental {
					return "phase " + j.progress.Phase()
				}
				return ""
			})

			// Structure and full load: renamed and added columns, no ssn
			// (nor its index), only the rows the filter selects.
			require.Equal(t, []string{"id", "mail", "country", "note", "src_db", "src_table", "op", "at", "tag"}, columnsOf(t, out, "clients"))
			require.Contains(t, strings.Join(j.progress.Warnings(), "\n"), "ix_ssn")
			cols := []string{"id", "mail", "country", "note", "src_db", "src_table", "op", "tag"}
			full := func(id, mail, country, note, op string) string {
				return strings.Join([]string{id, mail, country, note, src.schema, "customers", op, "v1"}, "|")
			}
			require.Equal(t, []string{full("2", "b@x", "DE", "two", "insert"), full("3", "c@x", "DE", "three", "insert"), full("4", "d@x", "DE", "four", "insert")},
				rowsOf(t, out, "clients", cols...))
			require.NotContains(t, rowsOf(t, out, "clients", "at"), "∅")

			// Incremental: inserts inside and outside the filter, updates
			// moving rows in and out, an update inside, deletes inside and
			// outside; events keeps its deleted row.
			src.exec(t,
				"INSERT INTO customers VALUES (10, 'j@x', '000', 'DE', 'ten'), (11, 'k@x', '000', 'FR', 'eleven')",
				"UPDATE customers SET country = 'DE' WHERE id = 5",
				"UPDATE customers SET country = 'FR' WHERE id = 2",
				"UPDATE customers SET email = 'C@x', ssn = '999' WHERE id = 3",
				"DELETE FROM customers WHERE id = 4",
				"DELETE FROM customers WHERE id = 11",
				"UPDATE customers SET note = 'still out' WHERE id = 1",
				"INSERT INTO events VALUES (3, 30)",
				"UPDATE events SET v = 21 WHERE id = 2",
				"DELETE FROM events WHERE id = 1",
				"INSERT INTO events VALUES (99, 0)",
			)
			rulesEventually(t, j, func() string {
				if msg := same("events", rowsOf(t, out, "events", "id", "v"), []string{"1|10", "2|21", "3|30", "99|0"}); msg != "" {
					return msg
				}
				return same("clients", rowsOf(t, out, "clients", cols...), []string{
					full("10", "j@x", "DE", "ten", "insert"), full("3", "C@x", "DE", "three", "update"), full("5", "e@x", "DE", "five", "update"),
				})
			})
			require.NotContains(t, rowsOf(t, out, "clients", "at"), "∅")

			// A schema change recompiles the plan for the table's new
			// version: the new column moves, the rules still hold.
			src.exec(t, "ALTER TABLE customers ADD COLUMN extra INT",
				"INSERT INTO customers VALUES (12, 'l@x', '0', 'DE', 'twelve', 7), (13, 'm@x', '0', 'FR', 'thirteen', 8)")
			rulesEventually(t, j, func() string {
				if !slices.Contains(columnsOf(t, out, "clients"), "extra") {
					return "no column extra yet"
				}
				return same("clients", rowsOf(t, out, "clients", "id", "mail", "extra", "op", "tag"),
					[]string{"10|j@x|∅|insert|v1", "12|l@x|7|insert|v1", "3|C@x|∅|update|v1", "5|e@x|∅|update|v1"})
			})
			j.stop(t)

			// Compare follows the same plan: the filtered source rows
			// against the target, renamed columns paired, the excluded one
			// left out, the added ones of known value compared.
			for _, typ := range []string{job.CompareObjects, job.CompareRows, job.CompareContent} {
				c := &compare.Compare{Spec: spec, Options: compare.Options{Type: typ, Tables: []string{"customers"}, Rechecks: -1},
					Engines: engines.Engines{}, Log: logging.Discard()}
				res, err := c.Run(context.Background())
				require.NoError(t, err)
				require.Len(t, res.Report.Tables, 1)
				tr := res.Report.Tables[0]
				require.Equal(t, compare.StatusEqual, tr.Status, "%s: %s %+v %+v", typ, tr.Reason, tr.Objects, tr.Rows)
			}
			// events keeps the row the source deleted (dml without
			// delete): the compare reports it, and says why it may.
			c := &compare.Compare{Spec: spec, Options: compare.Options{Type: job.CompareContent, Tables: []string{"events"}, Rechecks: -1},
				Engines: engines.Engines{}, Log: logging.Discard()}
			res, err := c.Run(context.Background())
			require.NoError(t, err)
			tr := res.Report.Tables[0]
			require.Equal(t, [3]int64{1, 0, 0}, [3]int64{tr.Extra, tr.Missing, tr.Changed}, "%+v", tr.Rows)
			require.Contains(t, tr.Reason, "without delete, rows deleted on the source are extra")
		})
	}
}

// Two source tables merged into one target table (declared by naming the
// same target for both), kept apart by an added column: both copied and
// followed; a key both hold is reported naming both sources, in the full
// load and in incremental sync, never overwritten.
func TestShardMerge(t *testing.T) {
	t.Parallel()
	mdb, pg := testenv.MariaDB(t), testenv.Postgres(t)
	shards := func(t *testing.T) (side, side, side, job.Objects) {
		a, b, dst := newSide(t, mdb), newSide(t, mdb), newSide(t, pg)
		rule := job.TableRule{AddColumns: []job.AddColumn{{Name: "shard", Type: "varchar(64)", From: job.FromDatabase}}}
		objects := job.Objects{
			{Key: a.schema, Value: job.DatabaseRule{Name: "merged", Tables: job.Map[job.TableRule]{{Key: "t", Value: rule}}}},
			{Key: b.schema, Value: job.DatabaseRule{Name: "merged", Tables: job.Map[job.TableRule]{{Key: "t", Value: rule}}}},
		}
		for _, s := range []side{a, b} {
			s.exec(t, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))")
		}
		return a, b, side{dst.srv, dst.database, "merged"}, objects
	}

	t.Run("sync", func(t *testing.T) {
		t.Parallel()
		a, b, out, objects := shards(t)
		a.exec(t, "INSERT INTO t VALUES (1, 'a'), (2, 'b')")
		b.exec(t, "INSERT INTO t VALUES (3, 'c'), (4, 'd')")
		spec := rulesSyncSpec("merge-sync", a, side{out.srv, out.database, out.schema}, objects)
		spec.Source = a.endpoint()
		j := startJob(t, "job-merge-sync", spec)
		want := []string{"1|a|" + a.schema, "2|b|" + a.schema, "3|c|" + b.schema, "4|d|" + b.schema}
		rulesEventually(t, j, func() string {
			if j.progress.Phase() != runner.PhaseIncremental {
				return "phase " + j.progress.Phase()
			}
			return same("merged.t", rowsOf(t, out, "t", "id", "v", "shard"), want)
		})
		b.exec(t, "INSERT INTO t VALUES (5, 'e')")
		a.exec(t, "UPDATE t SET v = 'A' WHERE id = 1")
		want = []string{"1|A|" + a.schema, "2|b|" + a.schema, "3|c|" + b.schema, "4|d|" + b.schema, "5|e|" + b.schema}
		rulesEventually(t, j, func() string { return same("merged.t", rowsOf(t, out, "t", "id", "v", "shard"), want) })
		// Compare tells each shard's rows apart by the added column.
		for _, typ := range []string{job.CompareRows, job.CompareContent} {
			c := &compare.Compare{Spec: spec, Options: compare.Options{Type: typ, Rechecks: -1}, Engines: engines.Engines{}, Log: logging.Discard()}
			res, err := c.Run(context.Background())
			require.NoError(t, err)
			require.Len(t, res.Report.Tables, 2)
			for _, tr := range res.Report.Tables {
				require.Equal(t, compare.StatusEqual, tr.Status, "%s %s: %s %+v", typ, tr.Table, tr.Reason, tr.Rows)
			}
		}

		a.exec(t, "INSERT INTO t VALUES (5, 'clash')")
		err := j.failed(t)
		require.ErrorContains(t, err, "Apply.Divergence")
		require.ErrorContains(t, err, a.schema+".t")
		require.ErrorContains(t, err, b.schema+".t") // sorted by name: _10 before _9
		require.Equal(t, want, rowsOf(t, out, "t", "id", "v", "shard"), "the other shard's row is not overwritten")
	})

	t.Run("full_load", func(t *testing.T) {
		t.Parallel()
		a, b, out, objects := shards(t)
		a.exec(t, "INSERT INTO t VALUES (1, 'a')")
		b.exec(t, "INSERT INTO t VALUES (1, 'b')")
		spec := migration("merge-full", a, side{out.srv, out.database, out.schema}, "")
		spec.Objects = objects
		err := runner.New(engines.Engines{}, logging.Discard()).Run(context.Background(), "job-merge-full", spec, runner.NewProgress())
		require.Error(t, err)
		require.Contains(t, err.Error(), "merged into with")
		require.Contains(t, err.Error(), a.schema+".t")
		require.Contains(t, err.Error(), b.schema+".t")
		rows := rowsOf(t, out, "t", "id", "v", "shard")
		require.Len(t, rows, 1, "one shard's row, not both, not overwritten: %v", rows)
	})
}

// Tables added to a rulesRun sync job: the job is stopped, the objects
// grow, and the next run creates the new table, copies it from a snapshot
// of its own and follows it from there, while the other table resumes from
// its checkpoint: every change of both, before, during and after the
// addition, arrives once.
func TestAddTableToRunningJob(t *testing.T) {
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
			src.exec(t, "CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(10))", "CREATE TABLE b (id INT PRIMARY KEY, v VARCHAR(10))",
				"INSERT INTO a VALUES (1, 'a1'), (2, 'a2')", "INSERT INTO b VALUES (1, 'b1'), (2, 'b2')")
			target := "dw"
			if dst.mysql() {
				target = dst.schema
			}
			out := side{dst.srv, dst.database, target}
			spec := rulesSyncSpec("add-"+d.name[:4], src, dst, job.Objects{{Key: src.schema, Value: job.DatabaseRule{Name: target,
				Tables: job.Map[job.TableRule]{{Key: "a"}}}}})
			jobID := "job-add-" + d.name
			j := startJob(t, jobID, spec)
			src.exec(t, "INSERT INTO a VALUES (3, 'a3')", "INSERT INTO b VALUES (3, 'b3')")
			rulesEventually(t, j, func() string {
				if j.progress.Phase() != runner.PhaseIncremental {
					return "phase " + j.progress.Phase()
				}
				return same("a", rowsOf(t, out, "a", "id", "v"), []string{"1|a1", "2|a2", "3|a3"})
			})
			j.stop(t)
			src.exec(t, "INSERT INTO a VALUES (4, 'a4')", "INSERT INTO b VALUES (4, 'b4')", "UPDATE b SET v = 'B1' WHERE id = 1")

			grown, err := spec.AddObjects(job.Objects{{Key: src.schema, Value: job.DatabaseRule{Tables: job.Map[job.TableRule]{{Key: "b"}}}}}, "params.objects")
			require.NoError(t, err)
			j = startJob(t, jobID, grown)
			rulesEventually(t, j, func() string {
				if j.progress.Phase() != runner.PhaseIncremental {
					return "phase " + j.progress.Phase()
				}
				if msg := same("a", rowsOf(t, out, "a", "id", "v"), []string{"1|a1", "2|a2", "3|a3", "4|a4"}); msg != "" {
					return msg
				}
				return same("b", rowsOf(t, out, "b", "id", "v"), []string{"1|B1", "2|b2", "3|b3", "4|b4"})
			})
			src.exec(t, "INSERT INTO b VALUES (5, 'b5')", "UPDATE b SET v = 'B3' WHERE id = 3", "DELETE FROM b WHERE id = 2",
				"INSERT INTO a VALUES (5, 'a5')")
			rulesEventually(t, j, func() string {
				if msg := same("a", rowsOf(t, out, "a", "id", "v"), []string{"1|a1", "2|a2", "3|a3", "4|a4", "5|a5"}); msg != "" {
					return msg
				}
				return same("b", rowsOf(t, out, "b", "id", "v"), []string{"1|B1", "3|B3", "4|b4", "5|b5"})
			})
			j.stop(t)
		})
	}
}
