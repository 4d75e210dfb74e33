package runner

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/phase/fullload"
	"github.com/dtsorg/dts/internal/schema"
)

// CodeSchemaChanged is the code of a job stopped at its first snapshot
// because a table's structure changed between the structure phase reading
// it and the snapshot: the target table and the copy would follow one
// structure, the log another.
const CodeSchemaChanged = "OperationDenied.SchemaChanged"

// snapshotTables is a snapshot that read the structure of the job's tables
// at its position (MySQL's, under FLUSH TABLES WITH READ LOCK).
type snapshotTables interface {
	Tables() []*schema.Table
}

// seedHistory starts the schema history of a job's first follow at its
// first snapshot's position, with the structures the snapshot read at that
// position. The structures the job planned with were read before the
// snapshot, outside its lock: a DDL in between would make the history
// decode the first events with a structure they were not written under.
// Such a DDL stops the job here (CodeSchemaChanged) when it changed
// columns: the target table was created from the earlier structure and the
// copy reads its columns. A source whose snapshot reads no structures
// (PostgreSQL: its stream learns them from RELATION messages) leaves the
// history to follow, which starts it from the planned structures.
func seedHistory(ctx context.Context, jobID string, sink connector.ApplySink, snap connector.Snapshot, planned []*fullload.Table) error {
	st, ok := snap.(snapshotTables)
	if !ok || st.Tables() == nil {
		return nil
	}
	byName := map[string]*schema.Table{}
	for _, t := range planned {
		byName[t.Source.QualifiedName()] = t.Source
	}
	var changed []string
	for _, t := range st.Tables() {
		if p, ok := byName[t.QualifiedName()]; ok && !sameColumns(p, t) {
			changed = append(changed, fmt.Sprintf("%s: columns were %s, at the snapshot %s", t.QualifiedName(), columnList(p), columnList(t)))
		}
	}
	if len(changed) > 0 {
		return errs.New(CodeSchemaChanged, "tables changed on the source while the job started (after their structure was read, before the snapshot):\n  %s",
			strings.Join(changed, "\n  ")).
			WithFix("their target tables were created from the earlier structure: drop them on the target (or set target.options.existing_tables to recreate), " +
				"reset the job and start it again, without schema changes meanwhile")
	}
	if err := sink.SaveSchemas(ctx, jobID, snap.Position(), st.Tables()); err != nil {
		return fmt.Errorf("record the schema history: %w", err)
	}
	return nil
}

func sameColumns(a, b *schema.Table) bool {
	return slices.EqualFunc(a.Columns, b.Columns, func(x, y schema.Column) bool {
		return x.Name == y.Name && x.Type.Raw == y.Type.Raw
	})
}

func columnList(t *schema.Table) string {
	parts := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		parts[i] = c.Name + " " + c.Type.Raw
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// withoutLogOwned returns the tables the structure and full phases handle:
// all of them, but for the tables the change log brought into the job
// after its full load. Such a table (CREATE TABLE in an `all: true`
// database, RENAME TABLE into the selection) was created on the target by
// the apply, which recorded it in the schema history, and its rows arrive
// through the log: created or copied again, it would be refused as an
// existing table or copied twice. It is recognised as a table the job's
// structure phase never recorded (no table state) that the schema history
// holds as of the newest checkpoint. Before the first checkpoint the full
// load is not over and every table is the phases'.
func withoutLogOwned(ctx context.Context, jobID string, sink connector.ApplySink, state *connector.LoadState, tables []*fullload.Table) ([]*fullload.Table, error) {
	cps, err := sink.LoadCheckpoints(ctx, jobID)
	if err != nil {
		return nil, fmt.Errorf("read the apply checkpoints: %w", err)
	}
	if len(cps) == 0 {
		return tables, nil
	}
	newest := cps[0].Pos
	for _, cp := range cps[1:] {
		if change.Compare(cp.Pos, newest) > 0 {
			newest = cp.Pos
		}
	}
	history, err := sink.LoadSchemas(ctx, jobID, newest)
	if err != nil {
		return nil, fmt.Errorf("read the schema history: %w", err)
	}
	owned := map[string]bool{}
	for _, t := range history {
		if _, recorded := state.Tables[t.QualifiedName()]; !recorded {
			owned[t.QualifiedName()] = true
		}
	}
	var out []*fullload.Table
	for _, t := range tables {
		if !owned[t.Source.QualifiedName()] {
			out = append(out, t)
		}
	}
	return out, nil
}
