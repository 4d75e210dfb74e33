package runner_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/value"

	"github.com/dtsorg/dts/internal/connector/engines"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/logging"
	"github.com/dtsorg/dts/internal/runner"
)

// syncSpec is a sync job (structure, full, incremental) of src's tables
// into dst, carrying every DDL kind but drop_table; its MySQL target names
// no database, as jobs' endpoints do.
func syncSpec(name string, src, dst side) *job.Spec {
	spec := migration(name, src, dst, dst.schema)
	spec.Type = job.TypeSync
	spec.Phases = nil
	spec.DDL = nil
	spec.Normalize()
	return spec
}

// running is a job run in the background.
type running struct {
	cancel context.CancelFunc
	done   chan error
	p      *runner.Progress
}

// startRun runs a job in the background and waits until it follows the
// source; it stops the run when the test ends.
func startRun(t *testing.T, r *runner.Runner, jobID string, spec *job.Spec) *running {
	t.Helper()
	if r == nil {
		r = runner.New(engines.Engines{}, logging.Discard())
	}
	r.ChunkRows = 50
	ctx, cancel := context.WithCancel(context.Background())
	h := &running{cancel: cancel, done: make(chan error, 1), p: runner.NewProgress()}
	go func() { h.done <- r.Run(ctx, jobID, spec, h.p) }()
	t.Cleanup(h.stop)
	deadline := time.Now().Add(90 * time.Second)
	for h.p.Phase() != runner.PhaseIncremental {
		select {
		case err := <-h.done:
			h.done <- err
			t.Fatalf("the run ended before following the source: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run never followed the source; phase %s", h.p.Phase())
		}
	}
	return h
}

// stop cancels the run and returns how it ended (nil if it ended already and was stopped before).
func (h *running) stop() {
	h.cancel()
	select {
	case err := <-h.done:
		h.done <- err
	case <-time.After(60 * time.Second):
		panic("a run did not stop within a minute of its cancel")
	}
}

// waitSame polls until table on the source and targetTable on the target
// hold the same rows (columns matched by name where the target's order
// differs); the run must keep running meanwhile.
func waitSame(t *testing.T, h *running, src, dst side, table, targetTable string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		select {
		case err := <-h.done:
			h.done <- err
			t.Fatalf("the run ended: %v", err)
		default:
		}
		wantCols, want := readTable(t, src, table)
		var gotCols []string
		var got []value.Row
		if tryTable(t, dst, targetTable) {
			gotCols, got = byColumns(readTable(t, dst, targetTable))(wantCols)
			if fmt.Sprint(wantCols, want) == fmt.Sprint(gotCols, got) {
				return
			}
		}
		if time.Now().After(deadline) {
			require.Equal(t, fmt.Sprint(wantCols, showRows(want)), fmt.Sprint(gotCols, showRows(got)), "table %s; status %s", table, h.p.Status())
		}
		time.Sleep(50 * time.Millisecond) // poll interval under the deadline above
	}
}

// tryTable tells whether a table exists yet.
func tryTable(t *testing.T, s side, table string) bool {
	t.Helper()
	src, err := engines.Engines{}.OpenSource(context.Background(), s.endpoint(), logging.Discard())
	require.NoError(t, err)
	refs, err := src.ListTables(context.Background())
	src.Close()
	require.NoError(t, err)
	return slices.Contains(refs, connector.TableRef{Schema: s.schema, Name: table})
}

// byColumns returns a function that puts rows of cols in the order of
// want's columns, where it can (PostgreSQL cannot move a column: after
// MySQL's AFTER/FIRST the target's order differs), sorted again.
func byColumns(cols []string, rows []value.Row) func(want []string) ([]string, []value.Row) {
	return func(want []string) ([]string, []value.Row) {
		idx := make([]int, len(want))
		for i, w := range want {
			idx[i] = slices.Index(cols, w)
			if idx[i] < 0 || len(want) != len(cols) {
				return cols, rows
			}
		}
		out := make([]value.Row, len(rows))
		for r, row := range rows {
			out[r] = make(value.Row, len(idx))
			for i, j := range idx {
				out[r][i] = row[j]
			}
		}
		sort.Slice(out, func(i, j int) bool { return compareRows(out[i], out[j]) < 0 })
		return want, out
	}
}

func showRows[R ~[][]byte](rows []R) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		for j, v := range r {
			if j > 0 {
				out[i] += "|"
			}
			out[i] += show(v)
		}
	}
	return out
}
