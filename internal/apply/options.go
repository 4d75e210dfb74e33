package apply

import (
	"log/slog"
	"time"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/transform"
)

// TablePlan says where one source table's changes go: the job's plan for
// the table (target names and types, which columns, which rows).
type TablePlan struct {
	// Target is the target table (mapped: target names and types).
	Target *schema.Table
	// SourceColumns are the source columns whose values are written, to
	// TargetColumns at the same index. nil: every source column, to the
	// target column of the same name. Ignored when Rules is set.
	SourceColumns []string
	TargetColumns []string
	// Rules are the table's compiled object rules (transform.Plan, the
	// one every phase uses): columns and their names, the row filter
	// evaluated on every change, the dml list, the added columns.
	Rules *transform.Plan
	// Window, when set, replaces the job's replay window for this table
	// (Options.SafeUntil): its full load's snapshots, as the runner
	// recorded them per table.
	Window *Window
}

// Window says how a table's changes meet its copied rows.
type Window struct {
	// From: changes at or before this end position are in every copied
	// row of the table: they are skipped. Zero: none are.
	From change.Position
	// SafeUntil: transactions that began before it may be in some copied
	// rows: they are applied idempotently. Zero: every change not skipped
	// is applied strictly.
	SafeUntil change.Position
}

// Planner returns the plan of a source table version (the structure a row
// or DDL carries); nil, nil when the table is not in the job (its changes
// are ignored). It is called once per table version.
type Planner func(src *schema.Table) (*TablePlan, error)

// Options configure a Coordinator.
type Options struct {
	JobID string
	Sink  connector.ApplySink
	Plan  Planner
	// Workers is the job's parallelism (parallelism.max). A job keeps the
	// count it first applied with: the count stored with its checkpoints
	// wins over this one.
	Workers int
	// Start is where a job without checkpoints follows the stream from
	// (the full load's first snapshot position, or the resolved
	// start_position).
	Start change.Position
	// SafeUntil ends the replay window (connector.ReplayWindowEnd):
	// transactions that began before it are applied idempotently, without
	// divergence checks. Zero: no window.
	SafeUntil change.Position
	// SourceEngine is mysql, mariadb or postgresql: how the source compares
	// key text (routing).
	SourceEngine string
	// BlockRouting: a new job routes integer keys by blocks of neighbouring
	// values (plan.go), for a target that stores rows in key order (InnoDB:
	// workers then fill pages of their own). A job keeps the scheme it
	// started with.
	BlockRouting bool
	// CarryDDL says whether a DDL kind is carried to the target (the job's
	// ddl list); nil carries every kind. A DDL not carried still updates
	// the schema history.
	CarryDDL func(kind string) bool
	// SkipDDL is the end position of a DDL item the user chose to skip
	// (the skip_ddl action, after the target could not take it): it is
	// recorded like a DDL not carried (schema history, checkpoint), nothing
	// runs on the target. Zero: none.
	SkipDDL change.Position

	// BatchRows: a worker commits once its open transaction holds this many
	// changes (at a source transaction boundary). Default 5,000.
	BatchRows int
	// StatementRows bounds the rows of one multi-row statement. Default 1,000.
	StatementRows int
	// FlushInterval: a worker commits changes at most this old. Default 100 ms.
	FlushInterval time.Duration
	// IdleInterval: a worker with nothing to apply advances its checkpoint
	// at most this often. Default 1 s.
	IdleInterval time.Duration

	// StopAt makes Run return nil once every worker has applied everything
	// up to this end position (tests, benchmarks, a planned cut-over). Zero:
	// run until ctx is cancelled or an error.
	StopAt change.Position

	Logger *slog.Logger
	// Stats receives progress; may be nil.
	Stats *Stats
}

func (o *Options) defaults() {
	if o.Workers < 1 {
		o.Workers = 1
	}
	if o.BatchRows <= 0 {
		o.BatchRows = 5000
	}
	if o.StatementRows <= 0 {
		o.StatementRows = 1000
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = 100 * time.Millisecond
	}
	if o.IdleInterval <= 0 {
		o.IdleInterval = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Stats == nil {
		o.Stats = NewStats()
	}
	if o.CarryDDL == nil {
		o.CarryDDL = func(string) bool { return true }
	}
}

// SinkPlanner returns the Planner of a job whose tables map by name: a
// source table goes to the target table targetOf names (false: not in the
// job), with its types mapped by sink.MapTable and every column to the
// column of the same name. Foreign keys are left to the structure phase.
func SinkPlanner(sink connector.Sink, sourceEngine string, targetOf func(connector.TableRef) (connector.TableRef, bool)) Planner {
	return func(src *schema.Table) (*TablePlan, error) {
		to, ok := targetOf(connector.TableRef{Schema: src.Schema, Name: src.Name})
		if !ok {
			return nil, nil
		}
		named := *src
		named.Schema, named.Name = to.Schema, to.Name
		named.ForeignKeys = nil
		target, problems := sink.MapTable(&named, sourceEngine)
		for _, p := range problems {
			if p.Fatal {
				return nil, fatalType(src, p)
			}
		}
		return &TablePlan{Target: target}, nil
	}
}
