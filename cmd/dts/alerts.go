package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/dtsorg/dts/internal/alert"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/runner"
)

// runAlerts is the alerting of a foreground run: notices go to the job's
// webhooks and, as events, to the log.
type runAlerts struct {
	job    *alert.Job
	sender *alert.Sender
	stop   context.CancelFunc
	done   chan struct{}
	log    *slog.Logger
}

func startAlerts(ctx context.Context, jobID string, spec *job.Spec, p *runner.Progress, log *slog.Logger) *runAlerts {
	record := func(_ context.Context, _, level, typ, msg string, details map[string]any) {
		lvl := slog.LevelInfo
		switch level {
		case "warning":
			lvl = slog.LevelWarn
		case "error":
			lvl = slog.LevelError
		}
		log.Log(context.Background(), lvl, msg, "event", typ)
	}
	a := &runAlerts{sender: alert.NewSender(log, record), done: make(chan struct{}), log: log}
	a.job = alert.NewJob(jobID, spec, a.sender, record)
	wctx, stop := context.WithCancel(ctx)
	a.stop = stop
	go func() {
		defer close(a.done)
		a.job.Watch(wctx, time.Second, func() (time.Duration, bool) {
			if p.Phase() != runner.PhaseIncremental {
				return 0, false
			}
			return p.Apply.Snapshot().Delay, true
		})
	}()
	return a
}

func (a *runAlerts) failed(err error) {
	e, _ := errs.As(err)
	details := map[string]any{}
	msg := err.Error()
	if e != nil {
		details["code"] = e.Code
		msg = e.Message
	}
	a.job.Failed(msg, details)
}

func (a *runAlerts) verified(_ string, res runner.VerifyResult) {
	if !res.Failing {
		a.job.Matched("continuous verification found the differing rows equal again", nil)
		return
	}
	n := 0
	for _, d := range res.Diffs {
		n += len(d)
	}
	a.job.Mismatch("continuous verification found changed rows that differ on the target", map[string]any{"rows": n, "checked": res.Checked})
}

// close stops watching and waits a little for notices still on their way.
func (a *runAlerts) close() {
	a.stop()
	<-a.done
	a.sender.Close(10 * time.Second)
}
