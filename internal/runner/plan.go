package runner

import (
	"context"
	"fmt"
	"strings"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/phase/fullload"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/transform"
)

// CodeUnsupportedType is the code of a job stopped before any row moved
// because the target cannot hold some source values exactly.
const CodeUnsupportedType = "OperationDenied.UnsupportedType"

// planTables selects the job's tables, reads their structure and maps them
// onto the target. Values the target cannot hold stop the job here, before
// any row moves.
func planTables(ctx context.Context, spec *job.Spec, src connector.Source, sink connector.Sink, progress *Progress) ([]*fullload.Table, error) {
	refs, err := src.ListTables(ctx)
	if err != nil {
		return nil, fmt.Errorf("list source tables: %w", err)
	}
	selected, err := transform.Select(spec, refs)
	if err != nil {
		return nil, err
	}
	sources := make([]connector.TableRef, len(selected))
	for i, s := range selected {
		sources[i] = s.Source
	}
	read, err := src.ReadTables(ctx, sources)
	if err != nil {
		return nil, fmt.Errorf("read source tables: %w", err)
	}
	targetOf := map[string]connector.TableRef{}
	for _, s := range selected {
		targetOf[s.Source.String()] = s.Target
	}
	var fatal []string
	var tables []*fullload.Table
	for _, st := range read {
		named := renamed(st, targetOf, progress)
		target, problems := sink.MapTable(named, string(spec.Source.Engine))
		for _, p := range problems {
			msg := fmt.Sprintf("%s.%s (%s): %s", st.QualifiedName(), p.Column, p.Type, p.Reason)
			if p.Fatal {
				fatal = append(fatal, msg)
			} else {
				progress.warn(msg)
			}
		}
		tables = append(tables, &fullload.Table{Source: st, Target: target, SourceColumns: st.Names(), TargetColumns: target.Names()})
	}
	if len(fatal) > 0 {
		return nil, errs.New(CodeUnsupportedType, "the target cannot hold these source values exactly; nothing was copied:\n  %s", strings.Join(fatal, "\n  ")).
			WithFix("leave these tables or columns out of the job, or change their types on the source")
	}
	return tables, nil
}

// renamed returns a copy of a source table under its target names, foreign
// keys pointing at the target names of the tables they reference. Keys to
// tables the job does not move are left out, with a warning.
func renamed(st *schema.Table, targetOf map[string]connector.TableRef, progress *Progress) *schema.Table {
	t := *st
	to := targetOf[st.QualifiedName()]
	t.Schema, t.Name = to.Schema, to.Name
	t.ForeignKeys = nil
	for _, fk := range st.ForeignKeys {
		ref, ok := targetOf[fk.RefSchema+"."+fk.RefTable]
		if !ok {
			progress.warn(fmt.Sprintf("%s: foreign key %s references %s.%s, which the job does not move; the key is not created", st.QualifiedName(), fk.Name, fk.RefSchema, fk.RefTable))
			continue
		}
		fk.RefSchema, fk.RefTable = ref.Schema, ref.Name
		t.ForeignKeys = append(t.ForeignKeys, fk)
	}
	return &t
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
	for _, t := range tables {
		if t.State.Created {
			continue
		}
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
		t.State.Created = true
		if err := sink.SaveTableState(ctx, jobID, t.State); err != nil {
			return fmt.Errorf("record %s created: %w", t.Target, err)
		}
	}
	return nil
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
