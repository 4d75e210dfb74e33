package runner_test

import (
	"context"
	"fmt"
	"slices"
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
// into dst, carrying every DDL kind but drop_table.
func syncSpec(name string, src, dst side) *job.Spec {
	spec := migration(name, src, dst, dst.schema)
	spec.Type = job.TypeSync
	spec.Phases = nil
	spec.Normalize()
	if dst.mysql() {
		spec.Target.Database = dst.database
	}
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

// waitSame polls until the table holds the same rows on both sides.
func waitSame(t *testing.T, h *running, src, dst side, table, targetTable string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		select {
		case err := <-h.done:
			h.done <- err
			t.Fatalf("the run ended: %v", err)
		default:
		}
		_, want := readTable(t, src, table)
		got, there := tryReadTable(t, dst, targetTable)
		if there && fmt.Sprint(want) == fmt.Sprint(got) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never reached the target: source %d rows, target %d; status %s", table, len(want), len(got), h.p.Status())
		}
		time.Sleep(50 * time.Millisecond) // poll interval under the deadline above
	}
}

// tryReadTable is readTable of a table that may not exist yet.
func tryReadTable(t *testing.T, s side, table string) ([]value.Row, bool) {
	t.Helper()
	src, err := engines.Engines{}.OpenSource(context.Background(), s.endpoint(), logging.Discard())
	require.NoError(t, err)
	refs, err := src.ListTables(context.Background())
	src.Close()
	require.NoError(t, err)
	if !slices.Contains(refs, connector.TableRef{Schema: s.schema, Name: table}) {
		return nil, false
	}
	_, rows := readTable(t, s, table)
	return rows, true
}
