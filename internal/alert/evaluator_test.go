package alert

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/job"
)

func kinds(ns []Notice) []string {
	var out []string
	for _, n := range ns {
		out = append(out, n.Kind+":"+n.State)
	}
	return out
}

// TestDelayEpisode drives the delay rule with a fake clock: over the
// threshold for for_seconds fires once, a dip restarts the count, back
// under resolves, and stopping to follow resolves too.
func TestDelayEpisode(t *testing.T) {
	e := NewEvaluator("job-1", "shop", job.Alerts{Delay: job.DelayAlert{ThresholdSeconds: 10, ForSeconds: 60}})
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	over, under := 15*time.Second, 5*time.Second

	require.Empty(t, e.Delay(at(0), over, true))
	require.Empty(t, e.Delay(at(30), over, true))
	require.Empty(t, e.Delay(at(40), under, true), "a dip restarts the count")
	require.Empty(t, e.Delay(at(50), over, true))
	require.Empty(t, e.Delay(at(109), over, true))
	fired := e.Delay(at(110), over, true)
	require.Equal(t, []string{"delay:firing"}, kinds(fired))
	require.Equal(t, at(110), fired[0].Since)
	require.Equal(t, "shop", fired[0].Job)
	require.Equal(t, 15.0, fired[0].Details["delay_seconds"])
	require.Empty(t, e.Delay(at(120), 2*over, true), "once per episode")
	require.Empty(t, e.Delay(at(500), over, true))
	resolved := e.Delay(at(501), 10*time.Second, true)
	require.Equal(t, []string{"delay:resolved"}, kinds(resolved), "at the threshold is not over it")
	require.Equal(t, at(110), resolved[0].Since)
	require.Empty(t, e.Delay(at(502), under, true))

	// A second episode; the job stops following: resolved.
	require.Empty(t, e.Delay(at(600), over, true))
	require.Equal(t, []string{"delay:firing"}, kinds(e.Delay(at(660), over, true)))
	require.Equal(t, []string{"delay:resolved"}, kinds(e.Delay(at(661), 0, false)))
	require.Empty(t, e.Delay(at(662), over, false))
}

// TestDelayWithoutDuration fires at the first observation over the threshold.
func TestDelayWithoutDuration(t *testing.T) {
	e := NewEvaluator("j", "n", job.Alerts{Delay: job.DelayAlert{ThresholdSeconds: 1}})
	now := time.Now()
	require.Equal(t, []string{"delay:firing"}, kinds(e.Delay(now, 2*time.Second, true)))
	off := NewEvaluator("j", "n", job.Alerts{})
	require.Empty(t, off.Delay(now, time.Hour, true), "no threshold: no delay alert")
}

// TestErrorAndMismatchEpisodes: a failure fires once until the job runs
// again; mismatches fire once until rows match again.
func TestErrorAndMismatchEpisodes(t *testing.T) {
	now := time.Now()
	e := NewEvaluator("j", "n", job.Alerts{Error: true})
	require.Empty(t, e.Running(now), "nothing to resolve")
	require.Equal(t, []string{"error:firing"}, kinds(e.Failed(now, "boom", nil)))
	require.Empty(t, e.Failed(now, "boom again", nil))
	require.Equal(t, []string{"error:resolved"}, kinds(e.Running(now)))
	require.Equal(t, []string{"error:firing"}, kinds(e.Failed(now, "boom", nil)))

	require.Equal(t, []string{"compare_mismatch:firing"}, kinds(e.Mismatch(now, "1 row differs", nil)))
	require.Empty(t, e.Mismatch(now, "2 rows differ", nil))
	require.Equal(t, []string{"compare_mismatch:resolved"}, kinds(e.Matched(now, "equal", nil)))
	require.Empty(t, e.Matched(now, "equal", nil))

	quiet := NewEvaluator("j", "n", job.Alerts{})
	require.Empty(t, quiet.Failed(now, "boom", nil), "alerts.error off")
}
