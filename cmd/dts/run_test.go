package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/testenv"
)

const crashRows = 60_000

// crashJob prepares a sysbench-shaped source table in MariaDB and a job file
// copying it to target; it returns the file and the target's database.
func crashJob(t *testing.T, name string, target *testenv.Server) (file string, src *sql.DB, dst *sql.DB, dstSchema string) {
	t.Helper()
	my := testenv.MariaDB(t)
	srcDB := my.NewDatabase(t)
	my.Exec(t, srcDB,
		"CREATE TABLE sbtest1 (id INT NOT NULL PRIMARY KEY, k INT NOT NULL, c CHAR(120) NOT NULL, pad CHAR(60) NOT NULL, KEY k_1 (k))",
		fmt.Sprintf("INSERT INTO sbtest1 SELECT seq, CRC32(seq) %% 100000, REPEAT(MD5(seq), 3), LPAD(seq, 60, 'p') FROM seq_1_to_%d", crashRows))
	dstDB := target.NewDatabase(t)
	dstSchema = dstDB
	tgtDatabase := ""
	if !target.Engine.IsMySQL() {
		dstSchema, tgtDatabase = srcDB, dstDB
	} else {
		dstSchema = dstDB
	}
	e := target.Endpoint(tgtDatabase)
	file = writeFile(t, "job.yaml", fmt.Sprintf(`
name: %s
type: migration
source: {engine: mariadb, host: %s, port: %d, user: dts, password: "${env:PW}"}
target: {engine: %s, host: %s, port: %d, user: dts, password: "${env:PW}", database: "%s"}
objects: {%s: {all: true, name: %s}}
parallelism: {max: 2}
`, name, my.Host, my.Port, target.Engine, e.Host, e.Port, tgtDatabase, srcDB, dstSchema))
	return file, my.DB(t, srcDB), target.DB(t, dstDB), dstSchema
}

// copiedRows reads how many rows the job's committed chunks hold, from its
// bookkeeping on the target (0 before the first chunk).
func copiedRows(dst *sql.DB, mysqlTarget bool, jobID string) int64 {
	q := `SELECT SUM("rows") FROM dts_meta.partitions WHERE job_id = $1`
	if mysqlTarget {
		q = "SELECT SUM(`rows`) FROM dts_meta.partitions WHERE job_id = ?"
	}
	var n sql.NullInt64
	_ = dst.QueryRow(q, jobID).Scan(&n) // dts_meta does not exist before the job's first step
	return n.Int64
}

// requireEqualTables compares every row of sbtest1 on both sides.
func requireEqualTables(t *testing.T, src, dst *sql.DB, dstTable string) {
	t.Helper()
	read := func(db *sql.DB, table string) []string {
		rows, err := db.Query("SELECT id, k, c, pad FROM " + table + " ORDER BY id")
		require.NoError(t, err)
		defer rows.Close()
		var out []string
		for rows.Next() {
			var id, k int64
			var c, pad string
			require.NoError(t, rows.Scan(&id, &k, &c, &pad))
			out = append(out, fmt.Sprintf("%d|%d|%s|%s", id, k, c, pad))
		}
		require.NoError(t, rows.Err())
		return out
	}
	want, got := read(src, "sbtest1"), read(dst, dstTable)
	require.Equal(t, len(want), len(got), "row count")
	for i := range want {
		require.Equal(t, want[i], got[i], "row %d", i)
	}
}

// TestRunSurvivesKill9 kills `dts run` for real in the middle of the copy,
// runs it again, and checks the target equals the source: no row lost, none
// doubled, and every committed chunk counted once.
func TestRunSurvivesKill9(t *testing.T) {
	t.Parallel()
	for _, target := range []func(testing.TB) *testenv.Server{testenv.MariaDB, testenv.Postgres} {
		srv := target(t)
		t.Run(string(srv.Engine), func(t *testing.T) {
			t.Parallel()
			name := "crash-" + string(srv.Engine)
			file, src, dst, schema := crashJob(t, name, srv)
			env := []string{"PW=" + testenv.Password}

			cmd := exec.Command(dtsBin, "run", file, "--chunk-rows", "100")
			cmd.Env = append(os.Environ(), env...)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			require.NoError(t, cmd.Start())
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			deadline := time.Now().Add(60 * time.Second)
			for copiedRows(dst, srv.Engine.IsMySQL(), "run-"+name) < crashRows*37/100 {
				select {
				case err := <-exited:
					t.Fatalf("dts run ended before it could be killed (%v):\n%s", err, out.String())
				default:
				}
				require.True(t, time.Now().Before(deadline), "no progress:\n%s", out.String())
				time.Sleep(2 * time.Millisecond)
			}
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			<-exited
			before := copiedRows(dst, srv.Engine.IsMySQL(), "run-"+name)
			require.Less(t, before, int64(crashRows), "killed before the end")
			t.Logf("killed with %d of %d rows committed", before, crashRows)

			r := dts(t, env, "run", file, "--chunk-rows", "100", "-o", "json")
			require.Equal(t, 0, r.code, r.stderr)
			var summary map[string]any
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &summary), r.stdout)
			require.Equal(t, true, summary["ok"])
			require.Equal(t, float64(crashRows), summary["rows"])

			require.Equal(t, int64(crashRows), copiedRows(dst, srv.Engine.IsMySQL(), "run-"+name), "every chunk counted exactly once")
			table := schema + ".sbtest1"
			if !srv.Engine.IsMySQL() {
				table = `"` + schema + `".sbtest1`
			}
			requireEqualTables(t, src, dst, table)
		})
	}
}

// TestRunStopsCleanlyOnInterrupt sends Ctrl-C (SIGINT) mid-copy: dts run
// stops with a checkpoint and says how to resume; running again finishes.
func TestRunStopsCleanlyOnInterrupt(t *testing.T) {
	t.Parallel()
	pg := testenv.Postgres(t)
	file, src, dst, schema := crashJob(t, "interrupt", pg)
	env := []string{"PW=" + testenv.Password}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, dtsBin, "run", file, "--chunk-rows", "100")
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Start())
	for copiedRows(dst, false, "run-interrupt") < crashRows/5 {
		require.NoError(t, ctx.Err(), stderr.String())
		time.Sleep(2 * time.Millisecond)
	}
	require.NoError(t, cmd.Process.Signal(os.Interrupt))
	err := cmd.Wait()
	require.Error(t, err)
	require.Equal(t, 1, cmd.ProcessState.ExitCode())
	require.Contains(t, stderr.String(), "error: Stopped: stopped before the job finished; progress is saved on the target")
	require.Contains(t, stderr.String(), "fix: run the same command again to resume")
	require.Contains(t, stdout.String(), "incomplete", "the summary shows what is left")

	r := dts(t, env, "run", file)
	require.Equal(t, 0, r.code, r.stderr)
	require.Regexp(t, `60000 rows in 1 tables`, r.stdout)
	requireEqualTables(t, src, dst, `"`+schema+`".sbtest1`)
}

// TestRunMemoryStaysBounded copies rows of 16 MB with four workers and
// checks the process's peak resident memory stays under 256 MiB.
func TestRunMemoryStaysBounded(t *testing.T) {
	t.Parallel()
	my, pg := testenv.MariaDB(t), testenv.Postgres(t)
	srcDB, dstDB := my.NewDatabase(t), pg.NewDatabase(t)
	my.Exec(t, srcDB, "CREATE TABLE b (id INT PRIMARY KEY, payload LONGBLOB, note LONGTEXT)")
	for i := 1; i <= 16; i++ {
		my.Exec(t, srcDB, fmt.Sprintf("INSERT INTO b VALUES (%d, REPEAT(RANDOM_BYTES(1024), 8192), REPEAT('n', 8000000))", i))
	}
	file := writeFile(t, "big.yaml", fmt.Sprintf(`
name: big
type: migration
source: {engine: mariadb, host: %s, port: %d, user: dts, password: "${env:PW}"}
target: {engine: postgresql, host: %s, port: %d, user: dts, password: "${env:PW}", database: %s}
objects: {%s: {all: true}}
parallelism: {max: 4}
`, my.Host, my.Port, pg.Host, pg.Port, dstDB, srcDB))
	cmd := exec.Command(dtsBin, "run", file)
	cmd.Env = append(os.Environ(), "PW="+testenv.Password, "GOMEMLIMIT=")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	peak := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss // KiB on Linux
	t.Logf("peak RSS copying 16 rows of 16 MB with 4 workers: %d MiB", peak/1024)
	require.Less(t, peak, int64(256<<10), "peak RSS %d KiB", peak)
	var n int
	require.NoError(t, pg.DB(t, dstDB).QueryRow(`SELECT count(*) FROM "`+srcDB+`".b WHERE length(payload) = 8388608`).Scan(&n))
	require.Equal(t, 16, n)
}
