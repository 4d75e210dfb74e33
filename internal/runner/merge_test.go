package runner_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/connector/engines"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/logging"
	"github.com/dtsorg/dts/internal/runner"
	"github.com/dtsorg/dts/internal/testenv"
)

// crossDirections are the two cross-engine directions rule tests run in.
var crossDirections = []struct {
	name     string
	src, dst func(t testing.TB) *testenv.Server
}{
	{"mariadb_to_postgresql", testenv.MariaDB, testenv.Postgres},
	{"postgresql_to_mariadb", testenv.Postgres, testenv.MariaDB},
}

// shardPair is two source tables t, in two databases (MariaDB) or two
// schemas of one database (PostgreSQL), merged into one target table t
// told apart by an added column shard (from: database), with rule's other
// rules on both.
type shardPair struct {
	a, b, out side
	spec      *job.Spec
}

func newShardPair(t *testing.T, name string, srcSrv, dstSrv *testenv.Server, rule job.TableRule, create string) shardPair {
	t.Helper()
	a := newSide(t, srcSrv)
	b := newSide(t, srcSrv)
	if !a.mysql() { // one PostgreSQL database, two schemas
		a.exec(t, "CREATE SCHEMA shard2")
		b = side{a.srv, a.database, "shard2"}
	}
	dst := newSide(t, dstSrv)
	target := "merged"
	if dst.mysql() {
		target = dst.schema
	}
	rule.AddColumns = append(rule.AddColumns, job.AddColumn{Name: "shard", Type: "varchar(64)", From: job.FromDatabase})
	objects := job.Objects{
		{Key: a.schema, Value: job.DatabaseRule{Name: target, Tables: job.Map[job.TableRule]{{Key: "t", Value: rule}}}},
		{Key: b.schema, Value: job.DatabaseRule{Name: target, Tables: job.Map[job.TableRule]{{Key: "t", Value: rule}}}},
	}
	for _, s := range []side{a, b} {
		s.exec(t, create)
	}
	spec := rulesSyncSpec(name, a, dst, objects)
	return shardPair{a: a, b: b, out: side{dst.srv, dst.database, target}, spec: spec}
}

// A TRUNCATE of one merged source table is not carried: on the merged
// target table it would empty the other shard's rows too. The job stops
// at it as a schema change the target cannot take (Apply.UnsupportedDDL
// with its position, the pause skip_ddl acts on), nothing of it applied;
// skipped, the job goes on after it and the other shard keeps its rows.
func TestShardMergeTruncateStops(t *testing.T) {
	t.Parallel()
	for _, d := range crossDirections {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			sp := newShardPair(t, "merge-trunc-"+d.name[:4], d.src(t), d.dst(t), job.TableRule{}, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))")
			sp.a.exec(t, "INSERT INTO t VALUES (1, 'a'), (2, 'b')")
			sp.b.exec(t, "INSERT INTO t VALUES (3, 'c')")
			jobID := "job-merge-trunc-" + d.name
			j := startJob(t, jobID, sp.spec)
			want := []string{"1|a|" + sp.a.schema, "2|b|" + sp.a.schema, "3|c|" + sp.b.schema}
			rulesEventually(t, j, func() string {
				if j.progress.Phase() != runner.PhaseIncremental {
					return "phase " + j.progress.Phase()
				}
				return same("merged t", rowsOf(t, sp.out, "t", "id", "v", "shard"), want)
			})

			sp.a.exec(t, "TRUNCATE TABLE t")
			err := j.failed(t)
			e, ok := errs.As(err)
			require.True(t, ok, "%v", err)
			require.Equal(t, connector.CodeUnsupportedDDL, e.Code, "%v", err)
			require.ErrorContains(t, err, sp.a.schema+".t")
			require.ErrorContains(t, err, sp.b.schema+".t")
			pos, _ := e.Details["position"].(string)
			require.NotEmpty(t, pos, "the position skip_ddl needs")
			require.Equal(t, want, rowsOf(t, sp.out, "t", "id", "v", "shard"), "nothing truncated")

			sp.a.exec(t, "INSERT INTO t VALUES (5, 'e')")
			sp.b.exec(t, "INSERT INTO t VALUES (6, 'f')")
			skip, err := change.ParsePosition(pos)
			require.NoError(t, err)
			j = startJobWith(t, jobID, sp.spec, runner.RunOptions{SkipDDL: skip})
			want = []string{"1|a|" + sp.a.schema, "2|b|" + sp.a.schema, "3|c|" + sp.b.schema, "5|e|" + sp.a.schema, "6|f|" + sp.b.schema}
			rulesEventually(t, j, func() string { return same("merged t", rowsOf(t, sp.out, "t", "id", "v", "shard"), want) })
			j.stop(t)

			// A run without the skip does not meet the truncate again.
			sp.b.exec(t, "INSERT INTO t VALUES (7, 'g')")
			j = startJob(t, jobID, sp.spec)
			want = append(want, "7|g|"+sp.b.schema)
			rulesEventually(t, j, func() string { return same("merged t", rowsOf(t, sp.out, "t", "id", "v", "shard"), want) })
			j.stop(t)
		})
	}
}

// Two merged shards hold the same key; one's row is left out by the row
// filter, the other's is on the target. Deleting or updating the left-out
// row on its source never touches the other shard's row, also when the
// source does not say whether the old row was in the filter (PostgreSQL's
// default replica identity: the old row carries only the key, and the
// target is asked to delete the key where it may not be).
func TestShardMergeSameKeyKeepsShardsApart(t *testing.T) {
	t.Parallel()
	for _, d := range crossDirections {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			sp := newShardPair(t, "merge-key-"+d.name[:4], d.src(t), d.dst(t), job.TableRule{Filter: "v <> 'hidden'"},
				"CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))")
			sp.a.exec(t, "INSERT INTO t VALUES (1, 'a'), (2, 'hidden'), (3, 'hidden')")
			sp.b.exec(t, "INSERT INTO t VALUES (2, 'b'), (3, 'c')")
			j := startJob(t, "job-merge-key-"+d.name, sp.spec)
			want := []string{"1|a|" + sp.a.schema, "2|b|" + sp.b.schema, "3|c|" + sp.b.schema}
			rulesEventually(t, j, func() string {
				if j.progress.Phase() != runner.PhaseIncremental {
					return "phase " + j.progress.Phase()
				}
				return same("merged t", rowsOf(t, sp.out, "t", "id", "v", "shard"), want)
			})
			sp.a.exec(t, "DELETE FROM t WHERE id = 2", "UPDATE t SET v = 'hidden' WHERE id = 3", "UPDATE t SET v = 'A' WHERE id = 1")
			want = []string{"1|A|" + sp.a.schema, "2|b|" + sp.b.schema, "3|c|" + sp.b.schema}
			rulesEventually(t, j, func() string { return same("merged t", rowsOf(t, sp.out, "t", "id", "v", "shard"), want) })
			// The changes are applied in source order on the key's worker:
			// the marker's arrival means the delete and update were applied.
			sp.a.exec(t, "INSERT INTO t VALUES (9, 'marker')")
			want = append(want, "9|marker|"+sp.a.schema)
			rulesEventually(t, j, func() string { return same("merged t", rowsOf(t, sp.out, "t", "id", "v", "shard"), want) })
			j.stop(t)
		})
	}
}

// startJobWith is startJob with run options (a skip_ddl run).
func startJobWith(t *testing.T, jobID string, spec *job.Spec, ro runner.RunOptions) *rulesRun {
	t.Helper()
	require.NoError(t, spec.Validate())
	ctx, cancel := context.WithCancel(context.Background())
	r := runner.New(engines.Engines{}, logging.Discard())
	r.ChunkRows = 50
	j := &rulesRun{cancel: cancel, done: make(chan error, 1), progress: runner.NewProgress()}
	go func() { j.done <- r.RunWith(ctx, jobID, spec, j.progress, ro) }()
	t.Cleanup(func() { j.stop(t) })
	return j
}
