package apply_test

import (
	"fmt"
	"sort"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/apply"
	"github.com/dtsorg/dts/internal/change"
)

// A job routes changes by the scheme it started with, for its life: a new
// job stores its scheme with its checkpoints (1: blocks, as the runner
// asks for MySQL targets), a job whose checkpoints say 0 (written before
// the scheme existed, or into PostgreSQL) keeps hashing keys one by one
// though blocks are asked for, and checkpoints that disagree stop the job.
func TestJobKeepsItsRouting(t *testing.T) {
	forEngines(t, func(t *testing.T, h *harness) {
		tab := basic(h, "routed")
		meta := pick(h.engine == "mariadb", "`dts_meta`.`checkpoints`", "dts_meta.checkpoints")
		ph := pick(h.engine == "mariadb", "?", "$1")
		routings := func() []int {
			rows, err := h.sql.Query("SELECT routing FROM "+meta+" WHERE job_id = "+ph+" ORDER BY worker", h.jobID)
			require.NoError(t, err)
			defer rows.Close()
			var out []int
			for rows.Next() {
				var r int
				require.NoError(t, rows.Scan(&r))
				out = append(out, r)
			}
			return out
		}

		s := newScript()
		var rows []*change.Row
		for i := 1; i <= 600; i++ {
			rows = append(rows, ins(tab, row(i, fmt.Sprintf("v%d", i), i)))
		}
		s.txn(rows...)
		opts := h.options(4)
		opts.BlockRouting = true
		require.NoError(t, h.apply(s, opts))
		require.Equal(t, []int{1, 1, 1, 1}, routings(), "a new job routes integer keys by blocks")

		_, err := h.sql.Exec("UPDATE "+meta+" SET routing = 0 WHERE job_id = "+ph, h.jobID)
		require.NoError(t, err)
		rows = nil
		for i := 1; i <= 600; i++ {
			rows = append(rows, upd(tab, row(i, fmt.Sprintf("v%d", i), i), row(i, fmt.Sprintf("w%d", i), nil)))
		}
		s.txn(rows...)
		require.NoError(t, h.apply(s, opts))
		require.Equal(t, []int{0, 0, 0, 0}, routings(), "a job of the first scheme keeps it")
		var want []string
		for i := 1; i <= 600; i++ {
			want = append(want, fmt.Sprintf("%d|w%d|NULL", i, i))
		}
		sort.Strings(want)
		require.Equal(t, want, h.dump("routed", "id", "v", "n"))

		_, err = h.sql.Exec("UPDATE "+meta+" SET routing = 1 WHERE job_id = "+ph+" AND worker = 0", h.jobID)
		require.NoError(t, err)
		_, err = apply.New(testCtx(t), opts)
		require.ErrorContains(t, err, "inconsistent")

		// A new job without blocks asked for stores scheme 0.
		_, err = h.sql.Exec("DELETE FROM "+meta+" WHERE job_id = "+ph, h.jobID)
		require.NoError(t, err)
		perKey := h.options(2)
		perKey.BlockRouting = false
		require.NoError(t, h.apply(newScript(), perKey))
		require.Equal(t, []int{0, 0}, routings())
	})
}
