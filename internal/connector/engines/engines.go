// Package engines opens the connector of an endpoint's engine. It is the one
// place that knows every engine; phases and the runner only see the
// connector contracts.
package engines

import (
	"context"
	"log/slog"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/connector/mysql"
	"github.com/dtsorg/dts/internal/connector/postgres"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
)

// Engines opens connectors; it satisfies runner.Engines.
type Engines struct{}

// OpenSource opens the endpoint as a source.
func (Engines) OpenSource(ctx context.Context, e job.Endpoint, log *slog.Logger) (connector.Source, error) {
	switch {
	case e.Engine.IsMySQL():
		return mysql.OpenSource(ctx, e, log)
	case e.Engine == job.EnginePostgreSQL:
		return postgres.OpenSource(ctx, e, log)
	}
	return nil, errs.New(errs.NotAvailable, "%s sources are not available in this version", e.Engine)
}

// OpenSink opens the endpoint as a target.
func (Engines) OpenSink(ctx context.Context, e job.Endpoint, log *slog.Logger) (connector.Sink, error) {
	switch {
	case e.Engine.IsMySQL():
		return mysql.OpenSink(ctx, e, log)
	case e.Engine == job.EnginePostgreSQL:
		return postgres.OpenSink(ctx, e, log)
	}
	return nil, errs.New(errs.NotAvailable, "%s targets are not available in this version", e.Engine)
}

// LogObjects says what following the endpoint's log leaves on it for the
// job (lj): the SQL that drops it, "" when nothing is left (MySQL binlogs
// need nothing on the source).
func (Engines) LogObjects(e job.Endpoint, lj connector.LogJob) string {
	if e.Engine == job.EnginePostgreSQL {
		return postgres.LogObjectsSQL(lj)
	}
	return ""
}
