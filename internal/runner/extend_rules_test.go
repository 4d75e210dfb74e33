package runner_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/runner"
)

// Tables added to a running sync job (add_objects) come with their own
// rules and leave the existing tables' rules as they were: a row filter,
// table and column renames, an excluded column and added columns hold for
// both, in the new table's copy and in the changes that follow, after the
// job's spec went through JSON as the API and the catalog carry it.
func TestAddObjectsKeepsRules(t *testing.T) {
	t.Parallel()
	for _, d := range crossDirections {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			src, dst := newSide(t, d.src(t)), newSide(t, d.dst(t))
			src.exec(t,
				"CREATE TABLE a (id INT PRIMARY KEY, country CHAR(2), v VARCHAR(10), secret VARCHAR(10))",
				"CREATE TABLE b (id INT PRIMARY KEY, k INT, w VARCHAR(10), secret VARCHAR(10))",
				"INSERT INTO a VALUES (1, 'DE', 'a1', 's'), (2, 'FR', 'a2', 's')",
				"INSERT INTO b VALUES (1, 5, 'b1', 's'), (2, 50, 'b2', 's')",
			)
			target := "dw"
			if dst.mysql() {
				target = dst.schema
			}
			out := side{dst.srv, dst.database, target}
			ruleA := job.TableRule{Name: "a_renamed", Filter: "country = 'DE'",
				Columns:    job.Map[job.ColumnRule]{{Key: "v", Value: job.ColumnRule{Name: "val"}}, {Key: "secret", Value: job.ColumnRule{Exclude: true}}},
				AddColumns: []job.AddColumn{{Name: "tag", Type: "varchar(8)", From: job.FromConstant, Value: "A"}}}
			spec := rulesSyncSpec("addrules-"+d.name[:4], src, dst, job.Objects{{Key: src.schema, Value: job.DatabaseRule{Name: target,
				Tables: job.Map[job.TableRule]{{Key: "a", Value: ruleA}}}}})
			jobID := "job-addrules-" + d.name
			j := startJob(t, jobID, spec)
			rulesEventually(t, j, func() string {
				if j.progress.Phase() != runner.PhaseIncremental {
					return "phase " + j.progress.Phase()
				}
				return same("a_renamed", rowsOf(t, out, "a_renamed", "id", "val", "tag"), []string{"1|a1|A"})
			})
			j.stop(t)
			src.exec(t, "INSERT INTO a VALUES (3, 'DE', 'a3', 's'), (4, 'FR', 'a4', 's')", "INSERT INTO b VALUES (3, 7, 'b3', 's')")

			// The objects to add, as the API's params carry them: b with
			// rules of its own, and a again with its rules unchanged.
			add, err := json.Marshal(job.Objects{{Key: src.schema, Value: job.DatabaseRule{Tables: job.Map[job.TableRule]{
				{Key: "a", Value: ruleA},
				{Key: "b", Value: job.TableRule{Name: "b_renamed", Filter: "k < 10",
					Columns:    job.Map[job.ColumnRule]{{Key: "w", Value: job.ColumnRule{Name: "word"}}, {Key: "secret", Value: job.ColumnRule{Exclude: true}}},
					AddColumns: []job.AddColumn{{Name: "src_table", Type: "varchar(64)", From: job.FromTable}}}},
			}}}})
			require.NoError(t, err)
			var objects job.Objects
			require.NoError(t, job.DecodeInto(add, &objects))
			grown, err := spec.AddObjects(objects, "params.objects")
			require.NoError(t, err)
			stored, err := json.Marshal(grown)
			require.NoError(t, err)
			var reread job.Spec
			require.NoError(t, job.DecodeInto(stored, &reread))

			j = startJob(t, jobID, &reread)
			rulesEventually(t, j, func() string {
				if j.progress.Phase() != runner.PhaseIncremental {
					return "phase " + j.progress.Phase()
				}
				if msg := same("a_renamed", rowsOf(t, out, "a_renamed", "id", "val", "tag"), []string{"1|a1|A", "3|a3|A"}); msg != "" {
					return msg
				}
				return same("b_renamed", rowsOf(t, out, "b_renamed", "id", "k", "word", "src_table"), []string{"1|5|b1|b", "3|7|b3|b"})
			})
			require.NotContains(t, columnsOf(t, out, "a_renamed"), "secret")
			require.NotContains(t, columnsOf(t, out, "b_renamed"), "secret")

			src.exec(t,
				"INSERT INTO a VALUES (5, 'DE', 'a5', 's'), (6, 'FR', 'a6', 's')", "UPDATE a SET country = 'FR' WHERE id = 1",
				"INSERT INTO b VALUES (4, 8, 'b4', 's'), (5, 80, 'b5', 's')", "UPDATE b SET k = 1 WHERE id = 2", "UPDATE b SET k = 99 WHERE id = 3")
			rulesEventually(t, j, func() string {
				if msg := same("a_renamed", rowsOf(t, out, "a_renamed", "id", "val", "tag"), []string{"3|a3|A", "5|a5|A"}); msg != "" {
					return msg
				}
				return same("b_renamed", rowsOf(t, out, "b_renamed", "id", "k", "word", "src_table"), []string{"1|5|b1|b", "2|1|b2|b", "4|8|b4|b"})
			})
			j.stop(t)
		})
	}
}
