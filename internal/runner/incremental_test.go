package runner_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/testenv"
)

// Column changes on a MySQL source reach both targets faithfully, with the
// target endpoint naming no database (as jobs do): a column dropped and
// another added in its place starts empty (not a rename), a column renamed
// and moved keeps its values, a column widened to BIGINT UNSIGNED takes
// its largest value on every apply worker, multi-row deletes apply.
func TestIncrementalColumnChanges(t *testing.T) {
	t.Parallel()
	for _, d := range []struct {
		name string
		dst  func(testing.TB) *testenv.Server
	}{{"to_mariadb", testenv.MariaDB}, {"to_postgresql", testenv.Postgres}} {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			src, dst := newSide(t, testenv.MariaDB(t)), newSide(t, d.dst(t))
			src.exec(t, "CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(10), b INT, n INT)",
				"INSERT INTO t SELECT seq, CONCAT('a', seq), seq, seq FROM seq_1_to_60")
			h := startRun(t, nil, "cols-"+src.database, syncSpec("cols-"+d.name[3:], src, dst))
			src.exec(t,
				"UPDATE t SET n = n + 1000 WHERE id <= 40",
				// One-row statements on every worker, before and after the
				// retype, write the same statement text.
				"UPDATE t SET n = 1 WHERE id = 41", "UPDATE t SET n = 1 WHERE id = 42", "UPDATE t SET n = 1 WHERE id = 43",
				"UPDATE t SET n = 1 WHERE id = 44", "UPDATE t SET n = 1 WHERE id = 45", "UPDATE t SET n = 1 WHERE id = 46",
				"ALTER TABLE t DROP COLUMN b, ADD COLUMN x INT AFTER a",
				"INSERT INTO t (id, a, x, n) VALUES (100, 'new', 7, 1)",
				"ALTER TABLE t CHANGE a a2 VARCHAR(20) AFTER n",
				"ALTER TABLE t MODIFY n BIGINT UNSIGNED",
				"UPDATE t SET n = 18446744073709551615 WHERE id = 41", "UPDATE t SET n = 18446744073709551615 WHERE id = 42",
				"UPDATE t SET n = 18446744073709551615 WHERE id = 43", "UPDATE t SET n = 18446744073709551615 WHERE id = 44",
				"UPDATE t SET n = 18446744073709551615 WHERE id = 45", "UPDATE t SET n = 18446744073709551615 WHERE id = 46",
				"UPDATE t SET n = 18446744073709551615 - id WHERE id > 46",
				"INSERT INTO t (id, a2, x, n) SELECT seq, 'max', seq, 18446744073709551615 FROM seq_200_to_240",
				"DELETE FROM t WHERE id BETWEEN 10 AND 30",
			)
			waitSame(t, h, src, dst, "t", "t")
			// Idle and caught up: the delay is known and small (the heartbeat's age).
			waitFor(t, h, "caught up", func() bool { a := h.p.Apply.Snapshot(); return a.CaughtUp && a.DelayKnown })
			require.Less(t, h.p.Apply.Snapshot().Delay, time.Minute)
		})
	}
}
