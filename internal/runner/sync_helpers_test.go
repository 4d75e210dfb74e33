package runner_test

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector/engines"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/logging"
	"github.com/dtsorg/dts/internal/runner"
)

// rulesSyncSpec is a sync job from src to dst with the given objects.
func rulesSyncSpec(name string, src, dst side, objects job.Objects) *job.Spec {
	spec := &job.Spec{
		Name: name, Type: job.TypeSync, Source: src.endpoint(), Target: dst.endpoint(),
		Objects: objects, Parallelism: job.Parallelism{Min: 1, Max: 2},
	}
	spec.Normalize()
	return spec
}

// rulesRun is a job rulesRun in the background.
type rulesRun struct {
	cancel   context.CancelFunc
	done     chan error
	progress *runner.Progress
}

// startJob runs a job until stop is called or it fails; the test fails if
// it is still rulesRun at cleanup.
func startJob(t *testing.T, jobID string, spec *job.Spec) *rulesRun {
	t.Helper()
	require.NoError(t, spec.Validate())
	ctx, cancel := context.WithCancel(context.Background())
	r := runner.New(engines.Engines{}, logging.Discard())
	r.ChunkRows = 50
	j := &rulesRun{cancel: cancel, done: make(chan error, 1), progress: runner.NewProgress()}
	go func() { j.done <- r.Run(ctx, jobID, spec, j.progress) }()
	t.Cleanup(func() { j.stop(t) })
	return j
}

// stop pauses the job (cancels it) and waits for it to return.
func (j *rulesRun) stop(t *testing.T) {
	t.Helper()
	j.cancel()
	select {
	case err, ok := <-j.done:
		if ok {
			close(j.done)
			require.True(t, err == nil || errors.Is(err, context.Canceled), "the job stopped with %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("the job did not stop within a minute")
	}
}

// failed waits for the job to stop by itself and returns its error.
func (j *rulesRun) failed(t *testing.T) error {
	t.Helper()
	select {
	case err := <-j.done:
		close(j.done)
		return err
	case <-time.After(2 * time.Minute):
		t.Fatal("the job did not stop")
	}
	return nil
}

// rowsOf reads a table and returns its rows as "v1|v2|..." of the named
// columns (NULL as ∅), sorted.
func rowsOf(t *testing.T, s side, table string, cols ...string) []string {
	t.Helper()
	names, rows := readTable(t, s, table)
	idx := make([]int, len(cols))
	for i, c := range cols {
		idx[i] = -1
		for j, n := range names {
			if n == c {
				idx[i] = j
			}
		}
		require.GreaterOrEqual(t, idx[i], 0, "table %s has no column %s: %v", table, c, names)
	}
	var out []string
	for _, r := range rows {
		var parts []string
		for _, i := range idx {
			if r[i] == nil {
				parts = append(parts, "∅")
			} else {
				parts = append(parts, strings.TrimRight(string(r[i]), " "))
			}
		}
		out = append(out, strings.Join(parts, "|"))
	}
	sort.Strings(out)
	return out
}

// columnsOf returns a table's column names.
func columnsOf(t *testing.T, s side, table string) []string {
	t.Helper()
	names, _ := readTable(t, s, table)
	return names
}

// rulesEventually polls check until it returns "" or the deadline passes, then
// fails with its last answer. A rulesRun job's error ends the wait early.
func rulesEventually(t *testing.T, j *rulesRun, check func() string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	last := ""
	for time.Now().Before(deadline) {
		if last = check(); last == "" {
			return
		}
		if j != nil {
			select {
			case err := <-j.done:
				close(j.done)
				t.Fatalf("the job stopped with %v while waiting for: %s", err, last)
			default:
			}
		}
		<-tick.C
	}
	t.Fatalf("not reached within 90s: %s", last)
}

// same returns "" when got equals want, else a description.
func same(what string, got, want []string) string {
	if strings.Join(got, "\n") == strings.Join(want, "\n") {
		return ""
	}
	return fmt.Sprintf("%s: got %q, want %q", what, got, want)
}
