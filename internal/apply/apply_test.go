package apply_test

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/apply"
	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// basic is t(id int PK, v varchar(20), n int NULL).
func basic(h *harness, name string) *schema.Table {
	t := h.table(name, []tcol{{name: "id", kind: schema.KindInt32}, {name: "v", kind: schema.KindVarChar, n: 20, null: true},
		{name: "n", kind: schema.KindInt32, null: true}}, []string{"id"})
	h.create(t)
	return t
}

// Inserts, updates (several in one statement), deletes, a key change on one
// worker and across workers, over four workers: the target ends equal to
// the source, every worker has its checkpoint, and the stream is
// acknowledged up to its end and never beyond.
func TestInsertUpdateDelete(t *testing.T) {
	forEngines(t, func(t *testing.T, h *harness) {
		tab := basic(h, "t")
		s := newScript()
		var rows []*change.Row
		for i := 1; i <= 50; i++ {
			rows = append(rows, ins(tab, row(i, fmt.Sprintf("v%d", i), i)))
		}
		s.txn(rows...)
		rows = nil
		for i := 1; i <= 50; i += 2 {
			rows = append(rows, upd(tab, row(i, fmt.Sprintf("v%d", i), i), row(i, fmt.Sprintf("w%d", i), nil)))
		}
		s.txn(rows...)
		s.txn(del(tab, row(2, "v2", 2)), del(tab, row(4, "v4", 4)), del(tab, row(6, "v6", 6)))
		s.txn(upd(tab, row(8, "v8", 8), row(108, "moved", 8))) // a key change
		for i := 10; i < 20; i++ {                             // single-row transactions
			s.txn(upd(tab, row(i, nil, nil), row(i, "single", i*10)))
		}
		opts := withStop(h.options(4), s)
		st := s.follow(lsn(1))
		c, err := apply.New(testCtx(t), opts)
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.Run(testCtx(t), st))

		want := map[int]string{}
		for i := 1; i <= 50; i++ {
			want[i] = fmt.Sprintf("%d|v%d|%d", i, i, i)
			if i%2 == 1 {
				want[i] = fmt.Sprintf("%d|w%d|NULL", i, i)
			}
		}
		delete(want, 2)
		delete(want, 4)
		delete(want, 6)
		delete(want, 8)
		want[108] = "108|moved|8"
		for i := 10; i < 20; i++ {
			want[i] = fmt.Sprintf("%d|single|%d", i, i*10)
		}
		assert.Equal(t, sorted(want), h.dump("t", "id", "v", "n"))

		cps, err := h.sink.LoadCheckpoints(testCtx(t), h.jobID)
		require.NoError(t, err)
		require.Len(t, cps, 4)
		for _, cp := range cps {
			assert.Equal(t, 4, cp.Workers)
			assert.True(t, cp.Complete)
			assert.Equal(t, s.end(), cp.Pos, "worker %d", cp.Worker)
		}
		require.NotEmpty(t, st.acks)
		assert.Equal(t, s.end(), st.acks[len(st.acks)-1])
		snap := opts.Stats.Snapshot()
		assert.Equal(t, s.end(), snap.Position)
		assert.True(t, snap.CaughtUp)
		assert.True(t, snap.DelayKnown)
		assert.Less(t, snap.Delay, time.Minute, "caught up: the delay is the heartbeat's age")
		assert.EqualValues(t, 50+25+3+1+10, snap.AppliedRows)
	})
}

func withStop(o apply.Options, s *script) apply.Options {
	o.StopAt = s.end()
	if o.Stats == nil {
		o.Stats = apply.NewStats()
	}
	return o
}

func sorted(m map[int]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return sortStrings(out)
}

// model is the expected content of a keyed table: key → "id|v|n".
type model map[int][3]any

func (m model) rows() []string {
	out := map[int]string{}
	for k, r := range m {
		out[k] = fmt.Sprintf("%v|%v|%v", r[0], nullStr(r[1]), nullStr(r[2]))
	}
	return sorted(out)
}

func nullStr(v any) string {
	if v == nil {
		return "NULL"
	}
	return fmt.Sprint(v)
}

func (m model) row(k int) value.Row {
	r := m[k]
	return row(r[0], r[1], r[2])
}

// Same-key ordering under four workers (RELIABILITY T13): hot keys updated
// over and over, a delete and re-insert of one key in one transaction, a
// primary key swap a↔b through a temporary key, key changes that cross
// workers (barriers) mixed with ordinary changes.
func TestSameKeyOrdering(t *testing.T) {
	forEngines(t, func(t *testing.T, h *harness) {
		tab := basic(h, "hot")
		s := newScript()
		m := model{}
		var rows []*change.Row
		for k := 1; k <= 10; k++ {
			m[k] = [3]any{k, "init", 0}
			rows = append(rows, ins(tab, m.row(k)))
		}
		s.txn(rows...)
		update := func(k int, v string, n int) *change.Row {
			before := m.row(k)
			m[k] = [3]any{k, v, n}
			return upd(tab, before, m.row(k))
		}
		for round := 0; round < 30; round++ {
			rows = nil
			for k := 1; k <= 10; k++ {
				rows = append(rows, update(k, fmt.Sprintf("r%d", round), round*100+k))
			}
			rows = append(rows, update(round%10+1, "again", round)) // the same key twice in one transaction
			s.txn(rows...)
		}
		// Delete and re-insert key 3 in one transaction, then update it.
		before := m.row(3)
		delete(m, 3)
		m[3] = [3]any{3, "reborn", 3}
		s.txn(del(tab, before), ins(tab, m.row(3)), update(3, "reborn2", 33))
		// Swap keys 1 and 2 through 999.
		r1, r2 := m[1], m[2]
		s.txn(
			upd(tab, m.row(1), row(999, r1[1], r1[2])),
			upd(tab, m.row(2), row(1, r2[1], r2[2])),
			upd(tab, row(999, r1[1], r1[2]), row(2, r1[1], r1[2])),
		)
		m[1], m[2] = [3]any{1, r2[1], r2[2]}, [3]any{2, r1[1], r1[2]}
		// Chains of key moves with ordinary updates around them.
		for i := 0; i < 10; i++ {
			k := 4 + i%3
			nk := 100 + i
			r := m[k]
			delete(m, k)
			m[nk] = [3]any{nk, r[1], r[2]}
			moved := m.row(nk)
			s.txn(update(8+i%2, "around", i), upd(tab, row(k, r[1], r[2]), moved), update(7, "after", i))
			r = m[nk]
			delete(m, nk)
			m[k] = [3]any{k, r[1], r[2]}
			s.txn(upd(tab, moved, m.row(k)))
		}
		require.NoError(t, h.apply(s, h.options(4)))
		assert.Equal(t, m.rows(), h.dump("hot", "id", "v", "n"))
	})
}

// A table with a unique key besides its primary key is routed whole: the
// unique-key chain of DM's causality example, and a unique-value swap in
// one transaction, apply without unique violations.
func TestUniqueKeyChain(t *testing.T) {
	forEngines(t, func(t *testing.T, h *harness) {
		tab := h.table("uk", []tcol{{name: "a", kind: schema.KindInt32}, {name: "b", kind: schema.KindInt32}, {name: "c", kind: schema.KindVarChar, n: 10, null: true}},
			[]string{"a"}, []string{"b"})
		h.create(tab)
		s := newScript()
		// DM's example: insert (1,1), insert (2,2), delete (2,2), update b=2 where a=1.
		s.txn(ins(tab, row(1, 1, "x")))
		s.txn(ins(tab, row(2, 2, "y")))
		s.txn(del(tab, row(2, 2, "y")))
		s.txn(upd(tab, row(1, 1, "x"), row(1, 2, "x")))
		// A swap of b between rows 10 and 11 through a temporary value.
		s.txn(ins(tab, row(10, 100, "p")), ins(tab, row(11, 101, "q")))
		s.txn(upd(tab, row(10, 100, "p"), row(10, -1, "p")), upd(tab, row(11, 101, "q"), row(11, 100, "q")), upd(tab, row(10, -1, "p"), row(10, 101, "p")))
		// Many rows, each taking the value the previous one left.
		var rows []*change.Row
		for i := 20; i < 60; i++ {
			rows = append(rows, ins(tab, row(i, 1000+i, nil)))
		}
		s.txn(rows...)
		rows = nil
		for i := 20; i < 60; i++ {
			rows = append(rows, upd(tab, row(i, 1000+i, nil), row(i, 1000+i-1, nil)))
		}
		s.txn(rows...)
		require.NoError(t, h.apply(s, h.options(4)))
		want := []string{"1|2|x", "10|101|p", "11|100|q"}
		for i := 20; i < 60; i++ {
			want = append(want, fmt.Sprintf("%d|%d|NULL", i, 1000+i-1))
		}
		assert.Equal(t, sortStrings(want), h.dump("uk", "a", "b", "c"))
	})
}

// Keys with a case-insensitive collation ('a' = 'A') are routed by table:
// a delete of 'a' and an insert of 'A' keep their order.
func TestCaseInsensitiveKey(t *testing.T) {
	forEngines(t, func(t *testing.T, h *harness) {
		if h.engine == "postgresql" {
			h.exec(`CREATE SCHEMA IF NOT EXISTS app`,
				`CREATE COLLATION app.ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false)`)
		}
		tab := h.table("ci", []tcol{{name: "k", kind: schema.KindVarChar, n: 10, ci: true}, {name: "v", kind: schema.KindInt32}}, []string{"k"})
		if h.engine == "postgresql" {
			tab.Columns[0].Collation = `"app"."ci"`
		}
		h.create(tab)
		s := newScript()
		for i := 0; i < 20; i++ {
			lower, upper := fmt.Sprintf("k%d", i), fmt.Sprintf("K%d", i)
			s.txn(ins(tab, row(lower, i)))
			s.txn(del(tab, row(lower, i)))
			s.txn(ins(tab, row(upper, i)))
			s.txn(upd(tab, row(upper, i), row(upper, i+100)))
		}
		require.NoError(t, h.apply(s, h.options(4)))
		var want []string
		for i := 0; i < 20; i++ {
			want = append(want, fmt.Sprintf("K%d|%d", i, i+100))
		}
		assert.Equal(t, sortStrings(want), h.dump("ci", "k", "v"))
	})
}

// A table without key holding two identical rows: a delete removes exactly
// one of them, an update changes exactly one.
func TestKeylessDuplicates(t *testing.T) {
	forEngines(t, func(t *testing.T, h *harness) {
		tab := h.table("nokey", []tcol{{name: "a", kind: schema.KindInt32, null: true}, {name: "b", kind: schema.KindVarChar, n: 10, null: true}}, nil)
		h.create(tab)
		s := newScript()
		s.txn(ins(tab, row(1, "x")), ins(tab, row(1, "x")), ins(tab, row(2, nil)), ins(tab, row(2, nil)), ins(tab, row(3, "X")))
		s.txn(del(tab, row(1, "x")))
		s.txn(upd(tab, row(2, nil), row(2, "changed")))
		s.txn(del(tab, row(3, "X")))
		require.NoError(t, h.apply(s, h.options(4)))
		assert.Equal(t, []string{"1|x", "2|NULL", "2|changed"}, h.dump("nokey", "a", "b"))
	})
}

// Missing (unchanged TOAST) columns keep the target's value.
func TestMissingColumnsKeepValue(t *testing.T) {
	forEngines(t, func(t *testing.T, h *harness) {
		tab := h.table("toast", []tcol{{name: "id", kind: schema.KindInt32}, {name: "small", kind: schema.KindInt32}, {name: "big", kind: schema.KindText, null: true}}, []string{"id"})
		h.create(tab)
		big := make([]byte, 100_000)
		for i := range big {
			big[i] = 'a' + byte(i%26)
		}
		s := newScript()
		var rows []*change.Row
		for i := 1; i <= 5; i++ {
			rows = append(rows, ins(tab, row(i, 0, string(big))))
		}
		s.txn(rows...)
		for n := 1; n <= 20; n++ {
			rows = nil
			for i := 1; i <= 5; i++ {
				r := upd(tab, row(i, nil, nil), row(i, n, nil))
				r.BeforeKeyOnly = true
				r.Missing = []bool{false, false, true}
				rows = append(rows, r)
			}
			s.txn(rows...)
		}
		require.NoError(t, h.apply(s, h.options(2)))
		got := h.dump("toast", "id", "small", "big")
		require.Len(t, got, 5)
		for i, g := range got {
			assert.Equal(t, fmt.Sprintf("%d|20|%s", i+1, big), g)
		}
	})
}

// TRUNCATE is a barrier: what came before it is gone, what comes after stays.
func TestTruncate(t *testing.T) {
	forEngines(t, func(t *testing.T, h *harness) {
		tab := basic(h, "tr")
		s := newScript()
		for i := 1; i <= 20; i++ {
			s.txn(ins(tab, row(i, "before", i)))
		}
		s.truncate(tab)
		s.txn(ins(tab, row(1, "after", 1)), ins(tab, row(2, "after", 2)))
		require.NoError(t, h.apply(s, h.options(4)))
		assert.Equal(t, []string{"1|after|1", "2|after|2"}, h.dump("tr", "id", "v", "n"))
	})
}

// A TRUNCATE the job's ddl list leaves out is not carried: the rows before
// it stay on the target, the changes after it apply, and every worker's
// checkpoint passes it, so a restart does not meet it again.
func TestTruncateNotCarried(t *testing.T) {
	forEngines(t, func(t *testing.T, h *harness) {
		tab := basic(h, "tn")
		s := newScript()
		for i := 1; i <= 10; i++ {
			s.txn(ins(tab, row(i, "before", i)))
		}
		s.truncate(tab)
		afterTruncate := s.end()
		s.txn(ins(tab, row(11, "after", 11)), upd(tab, row(1, "before", 1), row(1, "after", 1)))
		opts := h.options(3)
		opts.CarryDDL = func(kind string) bool { return kind != job.DDLTruncateTable }
		st := s.follow(lsn(1))
		var truncated bool
		sink := &truncateWatch{ApplySink: h.sink, called: &truncated}
		opts.Sink = sink
		opts = withStop(opts, s)
		c, err := apply.New(testCtx(t), opts)
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.Run(testCtx(t), st))
		assert.False(t, truncated, "the applier was asked to truncate")
		want := []string{"1|after|1"}
		for i := 2; i <= 10; i++ {
			want = append(want, fmt.Sprintf("%d|before|%d", i, i))
		}
		want = append(want, "11|after|11")
		assert.Equal(t, sortStrings(want), h.dump("tn", "id", "v", "n"))
		cps, err := h.sink.LoadCheckpoints(testCtx(t), h.jobID)
		require.NoError(t, err)
		require.Len(t, cps, 3)
		for _, cp := range cps {
			assert.True(t, connector.CompareCheckpoints(cp.Checkpoint, connector.Checkpoint{Pos: afterTruncate, Complete: true}) > 0,
				"worker %d stands at %s, not past the truncate", cp.Worker, cp.Checkpoint)
		}
		require.NotEmpty(t, st.acks)
		assert.Equal(t, s.end(), st.acks[len(st.acks)-1])
	})
}

// truncateWatch records whether an applier was asked to truncate.
type truncateWatch struct {
	connector.ApplySink
	called *bool
}

func (w *truncateWatch) OpenApplier(ctx context.Context, jobID string, worker, workers, routing int) (connector.Applier, error) {
	a, err := w.ApplySink.OpenApplier(ctx, jobID, worker, workers, routing)
	return &truncateWatchApplier{Applier: a, called: w.called}, err
}

type truncateWatchApplier struct {
	connector.Applier
	called *bool
}

func (a *truncateWatchApplier) Truncate(ctx context.Context, tables []*schema.Table) error {
	*a.called = true
	return a.Applier.Truncate(ctx, tables)
}

// Outside the replay window an insert of a taken key, an update or a
// delete of a missing row stop the job with Apply.Divergence naming the
// table and key, and nothing of the transaction is committed; inside the
// window the same changes apply idempotently.
func TestDivergence(t *testing.T) {
	forEngines(t, func(t *testing.T, h *harness) {
		cases := []struct {
			name string
			rows func(tab *schema.Table) []*change.Row
			key  string
		}{
			{"insert of a taken key", func(tab *schema.Table) []*change.Row {
				return []*change.Row{ins(tab, row(50, "new", 1)), ins(tab, row(1, "dup", 1))}
			}, "1"},
			{"bulk insert (PostgreSQL: COPY) holding a taken key", func(tab *schema.Table) []*change.Row {
				var rows []*change.Row
				for i := 100; i < 400; i++ {
					rows = append(rows, ins(tab, row(i, "bulk", i)))
				}
				return append(rows, ins(tab, row(2, "dup", 1)))
			}, "2"},
			{"update of a missing row", func(tab *schema.Table) []*change.Row {
				return []*change.Row{upd(tab, row(77, "x", 1), row(77, "y", 1))}
			}, "77"},
			{"updates of several rows, one missing", func(tab *schema.Table) []*change.Row {
				return []*change.Row{upd(tab, row(1, "a", 1), row(1, "b", 1)), upd(tab, row(2, "a", 2), row(2, "b", 2)),
					upd(tab, row(78, "a", 1), row(78, "b", 1)), upd(tab, row(3, "a", 3), row(3, "b", 3))}
			}, "78"},
			{"partial update of a missing row", func(tab *schema.Table) []*change.Row {
				r := upd(tab, row(79, nil, nil), row(79, "y", nil))
				r.Missing = []bool{false, false, true}
				return []*change.Row{r}
			}, "79"},
			{"delete of a missing row", func(tab *schema.Table) []*change.Row {
				return []*change.Row{del(tab, row(80, "x", 1))}
			}, "80"},
			{"deletes of several rows, one missing", func(tab *schema.Table) []*change.Row {
				return []*change.Row{del(tab, row(1, "a", 1)), del(tab, row(81, "a", 1)), del(tab, row(2, "a", 2))}
			}, "81"},
		}
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				name := fmt.Sprintf("d%d", i)
				tab := basic(h, name)
				h.exec(fmt.Sprintf("INSERT INTO %s VALUES (1, 'a', 1), (2, 'a', 2), (3, 'a', 3)", h.qname(name)))
				s := newScript()
				s.txn(tc.rows(tab)...)
				opts := h.options(1) // one worker: the transaction is one target transaction
				opts.JobID = h.jobID + "-strict-" + name
				err := h.apply(s, opts)
				require.Error(t, err)
				assert.Equal(t, connector.CodeDivergence, errs.CodeOf(err), "%v", err)
				assert.Contains(t, err.Error(), name)
				assert.Contains(t, err.Error(), tc.key)
				assert.Equal(t, []string{"1|a|1", "2|a|2", "3|a|3"}, h.dump(name, "id", "v", "n"), "nothing of the transaction stays")

				// Inside the replay window: no error, the changes' effect.
				opts.JobID = h.jobID + "-safe-" + name
				opts.SafeUntil = s.end()
				require.NoError(t, h.apply(s, opts))
			})
		}
	})
}

// Workers keep the count they started with.
func TestStoredWorkerCount(t *testing.T) {
	forEngines(t, func(t *testing.T, h *harness) {
		tab := basic(h, "wc")
		s := newScript()
		s.txn(ins(tab, row(1, "a", 1)))
		require.NoError(t, h.apply(s, h.options(3)))
		c, err := apply.New(testCtx(t), h.options(8))
		require.NoError(t, err)
		defer c.Close()
		assert.Equal(t, 3, c.Workers())
		assert.Equal(t, s.end(), c.StartPosition())
	})
}

func sortStrings(s []string) []string {
	out := append([]string(nil), s...)
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// A statement updating many rows arrives as one batch of full-row updates
// (PostgreSQL: through a staging table, COPY and one UPDATE ... FROM): every
// row gets its new values, and a row missing on the target is still a
// divergence naming its key, with nothing of the transaction kept.
func TestBulkUpdate(t *testing.T) {
	forEngines(t, func(t *testing.T, h *harness) {
		tab := basic(h, "bulk")
		s := newScript()
		var rows []*change.Row
		for i := 1; i <= 400; i++ {
			rows = append(rows, ins(tab, row(i, fmt.Sprintf("v%d", i), i)))
		}
		s.txn(rows...)
		rows = nil
		for i := 1; i <= 400; i++ {
			rows = append(rows, upd(tab, row(i, fmt.Sprintf("v%d", i), i), row(i, fmt.Sprintf("w%d", i), nil)))
		}
		s.txn(rows...)
		opts := h.options(1)
		opts.JobID = h.jobID + "-bulk"
		require.NoError(t, h.apply(s, opts))
		var want []string
		for i := 1; i <= 400; i++ {
			want = append(want, fmt.Sprintf("%d|w%d|NULL", i, i))
		}
		got := h.dump("bulk", "id", "v", "n")
		sort.Strings(want)
		require.Equal(t, want, got)

		s2 := newScript()
		rows = nil
		for i := 1; i <= 300; i++ {
			rows = append(rows, upd(tab, row(i, fmt.Sprintf("w%d", i), nil), row(i, "x", i)))
		}
		rows = append(rows, upd(tab, row(777, "w", nil), row(777, "x", 1)))
		s2.txn(rows...)
		opts.JobID = h.jobID + "-bulk-strict"
		err := h.apply(s2, opts)
		require.Error(t, err)
		assert.Equal(t, connector.CodeDivergence, errs.CodeOf(err), "%v", err)
		assert.Contains(t, err.Error(), "777")
		assert.Equal(t, want, h.dump("bulk", "id", "v", "n"), "nothing of the transaction stays")
	})
}
