package runner_test

import (
	"testing"

	"github.com/dtsorg/dts/internal/testenv"
)

// Tables that came into the job through the log after its full load (a
// CREATE TABLE in an `all: true` database, a RENAME TABLE) belong to the
// log: a restart neither creates them again (the target has them) nor
// copies them again, and their changes keep flowing.
func TestRestartKeepsTablesTheLogBroughtIn(t *testing.T) {
	t.Parallel()
	for _, d := range []struct {
		name string
		dst  func(testing.TB) *testenv.Server
	}{{"to_mariadb", testenv.MariaDB}, {"to_postgresql", testenv.Postgres}} {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			src, dst := newSide(t, testenv.MariaDB(t)), newSide(t, d.dst(t))
			src.exec(t, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))", "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')")
			spec := syncSpec("logowned-"+d.name, src, dst)
			jobID := "logowned-" + src.database
			h := startRun(t, nil, jobID, spec)
			src.exec(t, "CREATE TABLE n (k INT PRIMARY KEY, w VARCHAR(10))", "INSERT INTO n VALUES (1, 'x'), (2, 'y')",
				"RENAME TABLE t TO t2", "INSERT INTO t2 VALUES (4, 'd')")
			waitSame(t, h, src, dst, "n", "n")
			waitSame(t, h, src, dst, "t2", "t2")
			h.stop()

			src.exec(t, "INSERT INTO n VALUES (3, 'z')", "UPDATE t2 SET v = 'B' WHERE id = 2", "DELETE FROM t2 WHERE id = 1")
			h = startRun(t, nil, jobID, spec)
			src.exec(t, "INSERT INTO n VALUES (4, 'after')", "INSERT INTO t2 VALUES (5, 'e')")
			waitSame(t, h, src, dst, "n", "n")
			waitSame(t, h, src, dst, "t2", "t2")
		})
	}
}
