package runner

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/job"
)

// logObjectser is implemented by Engines that know what following a
// source's log leaves on it (engines.Engines).
type logObjectser interface {
	LogObjects(e job.Endpoint, lj connector.LogJob) string
}

// DropLog removes what following the source's log left there for the job
// (a PostgreSQL slot, which retains WAL until dropped, and publication):
// reset and delete call it. Jobs without incremental sync, and sources
// that leave nothing (MySQL), are not even connected to. On failure it
// returns, with the error, the SQL that drops the objects by hand.
func DropLog(ctx context.Context, engines Engines, jobID string, spec *job.Spec, log *slog.Logger) (manual string, err error) {
	if !spec.EffectivePhases().Incremental {
		return "", nil
	}
	lj := logJob(jobID, spec, nil)
	if lo, ok := engines.(logObjectser); ok {
		if manual = lo.LogObjects(spec.Source, lj); manual == "" {
			return "", nil
		}
	}
	src, err := engines.OpenSource(ctx, spec.Source, log)
	if err != nil {
		return manual, fmt.Errorf("connect to the source to drop the job's replication slot and publication: %w", err)
	}
	defer src.Close()
	ls, ok := src.(connector.LogSource)
	if !ok {
		return "", nil
	}
	if err := ls.DropLog(ctx, lj); err != nil {
		return manual, fmt.Errorf("drop the job's replication slot and publication on the source: %w", err)
	}
	return "", nil
}
