package runner_test

import (
	"testing"

	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/runner"
)

// A dml list without insert ([update, delete]) in incremental sync: the
// target holds the rows it had; updates and deletes apply to them, and a
// row inserted on the source later is never inserted: not by its insert,
// not by an update of it (the row is missing on the target), not by an
// update moving it into the row filter. Its update and delete are no
// divergence either: the row is missing by the job's own rule.
func TestDMLWithoutInsert(t *testing.T) {
	t.Parallel()
	for _, d := range crossDirections {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			src, dst := newSide(t, d.src(t)), newSide(t, d.dst(t))
			src.exec(t,
				"CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))",
				"CREATE TABLE f (id INT PRIMARY KEY, country CHAR(2), v VARCHAR(20))",
				"CREATE TABLE marker (id INT PRIMARY KEY)",
				"INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, 'three')",
				"INSERT INTO f VALUES (1, 'DE', 'in'), (2, 'DE', 'leaves'), (3, 'FR', 'enters'), (4, 'FR', 'out')",
			)
			target := "dw"
			if dst.mysql() {
				target = dst.schema
			}
			out := side{dst.srv, dst.database, target}
			noInsert := []string{job.DMLUpdate, job.DMLDelete}
			spec := rulesSyncSpec("dml-"+d.name[:4], src, dst, job.Objects{{Key: src.schema, Value: job.DatabaseRule{Name: target, Tables: job.Map[job.TableRule]{
				{Key: "t", Value: job.TableRule{DML: noInsert}},
				{Key: "f", Value: job.TableRule{DML: noInsert, Filter: "country = 'DE'"}},
				{Key: "marker"},
			}}}})
			// One worker: the marker, changed last, arrives last.
			spec.Parallelism = job.Parallelism{Min: 1, Max: 1}
			j := startJob(t, "job-dml-"+d.name, spec)
			rulesEventually(t, j, func() string {
				if j.progress.Phase() != runner.PhaseIncremental {
					return "phase " + j.progress.Phase()
				}
				return same("f", rowsOf(t, out, "f", "id", "country", "v"), []string{"1|DE|in", "2|DE|leaves"})
			})
			src.exec(t,
				"INSERT INTO t VALUES (10, 'ten'), (11, 'eleven')",
				"UPDATE t SET v = 'TEN' WHERE id = 10",
				"DELETE FROM t WHERE id = 11",
				"UPDATE t SET v = 'ONE' WHERE id = 1",
				"DELETE FROM t WHERE id = 2",
				"UPDATE t SET id = 30 WHERE id = 3",
				"UPDATE t SET id = 12 WHERE id = 10",
				"INSERT INTO f VALUES (5, 'DE', 'new')",
				"UPDATE f SET v = 'IN' WHERE id = 1",
				"UPDATE f SET country = 'FR' WHERE id = 2",
				"UPDATE f SET country = 'DE' WHERE id = 3",
				"UPDATE f SET v = 'NEW' WHERE id = 5",
				"INSERT INTO marker VALUES (1)",
			)
			rulesEventually(t, j, func() string { return same("marker", rowsOf(t, out, "marker", "id"), []string{"1"}) })
			rulesEventually(t, j, func() string {
				if msg := same("t", rowsOf(t, out, "t", "id", "v"), []string{"1|ONE", "30|three"}); msg != "" {
					return msg
				}
				return same("f", rowsOf(t, out, "f", "id", "country", "v"), []string{"1|DE|IN"})
			})
			j.stop(t)
		})
	}
}

// A dml list without delete ([insert, update]): the target keeps the rows
// the source deletes, and a key that comes back on the source - inserted
// again, or taken by an update of another row's key - replaces the row the
// target kept instead of stopping the job as a divergence.
func TestDMLWithoutDelete(t *testing.T) {
	t.Parallel()
	for _, d := range crossDirections {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			src, dst := newSide(t, d.src(t)), newSide(t, d.dst(t))
			src.exec(t,
				"CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))",
				"CREATE TABLE marker (id INT PRIMARY KEY)",
				"INSERT INTO t VALUES (1, 'one'), (2, 'two'), (3, 'three')",
			)
			target := "dw"
			if dst.mysql() {
				target = dst.schema
			}
			out := side{dst.srv, dst.database, target}
			spec := rulesSyncSpec("nodel-"+d.name[:4], src, dst, job.Objects{{Key: src.schema, Value: job.DatabaseRule{Name: target, Tables: job.Map[job.TableRule]{
				{Key: "t", Value: job.TableRule{DML: []string{job.DMLInsert, job.DMLUpdate}}},
				{Key: "marker"},
			}}}})
			spec.Parallelism = job.Parallelism{Min: 1, Max: 1} // the marker, changed last, arrives last
			j := startJob(t, "job-nodel-"+d.name, spec)
			rulesEventually(t, j, func() string {
				if j.progress.Phase() != runner.PhaseIncremental {
					return "phase " + j.progress.Phase()
				}
				return same("t", rowsOf(t, out, "t", "id", "v"), []string{"1|one", "2|two", "3|three"})
			})
			src.exec(t,
				"DELETE FROM t WHERE id = 1",
				"DELETE FROM t WHERE id = 2",
				"INSERT INTO t VALUES (2, 'again')",
				"DELETE FROM t WHERE id = 3",
				"INSERT INTO t VALUES (4, 'four')",
				"UPDATE t SET id = 3 WHERE id = 4",
				"INSERT INTO marker VALUES (1)",
			)
			rulesEventually(t, j, func() string { return same("marker", rowsOf(t, out, "marker", "id"), []string{"1"}) })
			rulesEventually(t, j, func() string {
				return same("t", rowsOf(t, out, "t", "id", "v"), []string{"1|one", "2|again", "3|four"})
			})
			j.stop(t)
		})
	}
}
