package runner

import (
	"context"
	"fmt"
	"strings"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/phase/fullload"
	"github.com/dtsorg/dts/internal/transform"
)

// CodeUnsupportedType is the code of a job stopped before any row moved
// because the target cannot hold some source values exactly.
const CodeUnsupportedType = "OperationDenied.UnsupportedType"

// planTables selects the job's tables, reads their structure and compiles
// their plans (transform: renames, column rules, filters, added columns,
// merges), the one plan every phase uses. A rule the job cannot apply and
// values the target cannot hold stop the job here, before any row moves.
func planTables(ctx context.Context, spec *job.Spec, src connector.Source, sink connector.Sink, progress *Progress) ([]*fullload.Table, *transform.Compiler, error) {
	refs, err := src.ListTables(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("list source tables: %w", err)
	}
	selected, err := transform.Select(spec, refs)
	if err != nil {
		return nil, nil, err
	}
	sources := make([]connector.TableRef, len(selected))
	for i, s := range selected {
		sources[i] = s.Source
	}
	read, err := src.ReadTables(ctx, sources)
	if err != nil {
		return nil, nil, fmt.Errorf("read source tables: %w", err)
	}
	comp := transform.NewCompiler(spec, selected, sink)
	plans, err := comp.CompileAll(read)
	if err != nil {
		return nil, nil, err
	}
	var fatal []string
	var tables []*fullload.Table
	for _, p := range plans {
		for _, w := range p.Warnings {
			progress.warn(w)
		}
		for _, pr := range p.Problems {
			msg := fmt.Sprintf("%s.%s (%s): %s", p.Source.QualifiedName(), pr.Column, pr.Type, pr.Reason)
			if pr.Fatal {
				fatal = append(fatal, msg)
			} else {
				progress.warn(msg)
			}
		}
		tables = append(tables, &fullload.Table{Source: p.Source, Target: p.Target, SourceColumns: p.SourceColumns, TargetColumns: p.TargetColumns, Plan: p})
	}
	if len(fatal) > 0 {
		return nil, nil, errs.New(CodeUnsupportedType, "the target cannot hold these source values exactly; nothing was copied:\n  %s", strings.Join(fatal, "\n  ")).
			WithFix("leave these tables or columns out of the job, or change their types on the source")
	}
	return tables, comp, nil
}

// createTables creates the target tables the job has not created yet.
//
// A table that does not exist is first marked Creating on the target, then
// created, then marked Created: a run that dies in between finds a table
// marked Creating but not Created, which can only be its own and empty (rows
// are copied after Created), and recreates it instead of refusing it as a
// stranger's.
func createTables(ctx context.Context, jobID string, spec *job.Spec, sink connector.Sink, tables []*fullload.Table) error {
	policy := spec.Target.Options.ExistingTables
	if policy == "" {
		policy = job.ExistingFail
	}
	for _, group := range byTarget(tables) {
		t := group[0]
		created := false
		for _, m := range group {
			created = created || m.State.Created
		}
		if !created {
			tablePolicy := policy
			if t.State.Creating {
				tablePolicy = job.ExistingRecreate
			} else {
				exists, _, err := sink.TableInfo(ctx, t.Target.Schema, t.Target.Name)
				if err != nil {
					return fmt.Errorf("look up %s on the target: %w", t.Target, err)
				}
				if !exists {
					t.State.Creating = true
					if err := sink.SaveTableState(ctx, jobID, t.State); err != nil {
						return fmt.Errorf("record %s creating: %w", t.Target, err)
					}
				}
			}
			if err := sink.PrepareTable(ctx, t.Target, tablePolicy); err != nil {
				return fmt.Errorf("create %s: %w", t.Target, err)
			}
		}
		// The members of a merge share the table the first one created.
		for _, m := range group {
			if m.State.Created {
				continue
			}
			m.State.Created = true
			if err := sink.SaveTableState(ctx, jobID, m.State); err != nil {
				return fmt.Errorf("record %s created: %w", m.Target, err)
			}
		}
		if len(group) > 1 {
			// A merged table needs its keys before the data: a key two
			// sources hold must be refused, not copied twice (PostgreSQL
			// targets otherwise add the primary key after the load).
			// FinishTable is idempotent; the load runs it again at the end.
			if err := sink.FinishTable(ctx, t.Target); err != nil {
				return fmt.Errorf("create the keys of merged table %s: %w", t.Target, err)
			}
		}
	}
	return nil
}

// byTarget groups tables by target table, in the tables' order.
func byTarget(tables []*fullload.Table) [][]*fullload.Table {
	var out [][]*fullload.Table
	at := map[string]int{}
	for _, t := range tables {
		k := t.Target.QualifiedName()
		if i, ok := at[k]; ok {
			out[i] = append(out[i], t)
			continue
		}
		at[k] = len(out)
		out = append(out, []*fullload.Table{t})
	}
	return out
}

// finishStructure adds indexes and foreign keys when no full load does it.
func finishStructure(ctx context.Context, jobID string, sink connector.Sink, tables []*fullload.Table) error {
	for _, t := range tables {
		if t.State.Finished {
			continue
		}
		if err := sink.FinishTable(ctx, t.Target); err != nil {
			return fmt.Errorf("create indexes of %s: %w", t.Target, err)
		}
		t.State.Finished = true
		if err := sink.SaveTableState(ctx, jobID, t.State); err != nil {
			return err
		}
	}
	for _, t := range tables {
		if err := sink.AddForeignKeys(ctx, t.Target); err != nil {
			return fmt.Errorf("create foreign keys of %s: %w", t.Target, err)
		}
	}
	return nil
}
