package mysql

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
)

// alterTable applies an ALTER TABLE statement's clauses, in order, to the
// table's structure in the history.
func (h *schemaHistory) alterTable(n *ast.AlterTableStmt, db string) (ddlOutcome, error) {
	var out ddlOutcome
	k := h.tableOf(n.Table, db)
	old := h.tables[k]
	if old == nil {
		return out, nil
	}
	t := cloneTable(old)
	kind := job.DDLAlterTable
	renamed := false
	// Table options first: new columns take the new default character set.
	specs := slices.Clone(n.Specs)
	slices.SortStableFunc(specs, func(a, b *ast.AlterTableSpec) int {
		return boolInt(b.Tp == ast.AlterTableOption) - boolInt(a.Tp == ast.AlterTableOption)
	})
	names := newColumnNames(old)
	for _, spec := range specs {
		err := h.alterSpec(t, spec, db)
		var reread rereadError
		switch {
		case errors.As(err, &reread):
			out.reread, out.kind, out.why = []tableKey{k}, job.DDLAlterTable, string(reread)
			return out, nil
		case err != nil:
			return out, fmt.Errorf("%s: %w", old, err)
		}
		if spec.Tp == ast.AlterTableRenameTable {
			renamed = true
		}
		names.apply(spec)
	}
	h.addFKIndexes(t)
	if renamed && len(n.Specs) == 1 {
		kind = job.DDLRenameTable
	}
	h.remove(k)
	h.put(t)
	if reflect.DeepEqual(old, t) {
		h.put(old)
		return out, nil // nothing dts models changed (ENGINE=, FORCE, IF NOT EXISTS of what exists...)
	}
	out.effects = append(out.effects, ddlEffect{kind: kind, old: old, table: t, renames: names.renames()})
	return out, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// rereadError says a statement cannot be applied from its text.
type rereadError string

func (e rereadError) Error() string { return string(e) }

// alterSpec applies one ALTER TABLE clause to t.
func (h *schemaHistory) alterSpec(t *schema.Table, spec *ast.AlterTableSpec, db string) error {
	switch spec.Tp {
	case ast.AlterTableOption:
		for _, o := range spec.Options {
			switch o.Tp {
			case ast.TableOptionCharset, ast.TableOptionCollate:
				if o.Tp == ast.TableOptionCharset && o.UintValue == ast.TableOptionCharsetWithConvertTo {
					return rereadError("ALTER TABLE … CONVERT TO CHARACTER SET changes every text column (and may widen TEXT types)")
				}
				t.Collation = h.tableCollation(t.Schema, []*ast.TableOption{o}, t.Collation)
			case ast.TableOptionComment:
				t.Comment = o.StrValue
			}
		}
	case ast.AlterTableAddColumns:
		for _, def := range spec.NewColumns {
			if spec.IfNotExists && t.ColumnIndex(columnName(t, def.Name.Name.O)) >= 0 {
				continue
			}
			col, err := h.columnFromDef(def, t.Collation)
			if err != nil {
				return rereadError(err.Error())
			}
			if t.ColumnIndex(columnName(t, col.Name)) >= 0 {
				return fmt.Errorf("ADD COLUMN %s: the schema history already has that column", col.Name)
			}
			if err := insertColumn(t, col, spec.Position); err != nil {
				return err
			}
			if err := h.columnConstraints(t, def); err != nil {
				return err
			}
		}
		for _, c := range spec.NewConstraints {
			if err := h.addConstraint(t, c); err != nil {
				return err
			}
		}
	case ast.AlterTableDropColumn:
		name := spec.OldColumnName.Name.O
		i := columnIndexFold(t, name)
		if i < 0 {
			if spec.IfExists {
				return nil
			}
			return fmt.Errorf("DROP COLUMN %s: the schema history has no such column", name)
		}
		dropColumn(t, i)
	case ast.AlterTableModifyColumn, ast.AlterTableChangeColumn:
		oldName := ""
		def := spec.NewColumns[0]
		if spec.Tp == ast.AlterTableChangeColumn {
			oldName = spec.OldColumnName.Name.O
		} else {
			oldName = def.Name.Name.O
		}
		i := columnIndexFold(t, oldName)
		if i < 0 {
			if spec.IfExists {
				return nil
			}
			return fmt.Errorf("%s: the schema history has no column %s", map[bool]string{true: "CHANGE", false: "MODIFY"}[spec.Tp == ast.AlterTableChangeColumn], oldName)
		}
		col, err := h.columnFromDef(def, t.Collation)
		if err != nil {
			return rereadError(err.Error())
		}
		oldCol := t.Columns[i].Name
		if spec.Position != nil && spec.Position.Tp != ast.ColumnPositionNone {
			t.Columns = slices.Delete(t.Columns, i, i+1)
			if err := insertColumn(t, col, spec.Position); err != nil {
				return err
			}
		} else {
			t.Columns[i] = col
		}
		renameColumnRefs(t, oldCol, col.Name)
		if err := h.columnConstraints(t, def); err != nil {
			return err
		}
	case ast.AlterTableRenameColumn:
		i := columnIndexFold(t, spec.OldColumnName.Name.O)
		if i < 0 {
			return fmt.Errorf("RENAME COLUMN %s: the schema history has no such column", spec.OldColumnName.Name.O)
		}
		oldCol := t.Columns[i].Name
		t.Columns[i].Name = spec.NewColumnName.Name.O
		renameColumnRefs(t, oldCol, t.Columns[i].Name)
	case ast.AlterTableAlterColumn:
		def := spec.NewColumns[0]
		i := columnIndexFold(t, def.Name.Name.O)
		if i < 0 {
			return fmt.Errorf("ALTER COLUMN %s: the schema history has no such column", def.Name.Name.O)
		}
		c := &t.Columns[i]
		switch {
		case len(def.Options) > 0 && def.Options[0].Expr != nil: // SET DEFAULT
			c.Default = defaultFromExpr(def.Options[0].Expr, c)
		case len(def.Options) > 0: // SET VISIBLE / INVISIBLE
		case c.Nullable: // DROP DEFAULT
			c.Default = &schema.Default{Kind: schema.DefaultNull}
		default:
			c.Default = nil
		}
	case ast.AlterTableAddConstraint:
		return h.addConstraint(t, spec.Constraint)
	case ast.AlterTableDropPrimaryKey:
		t.PrimaryKey = nil
	case ast.AlterTableDropIndex:
		dropIndex(t, spec.Name)
	case ast.AlterTableDropForeignKey:
		t.ForeignKeys = slices.DeleteFunc(t.ForeignKeys, func(fk schema.ForeignKey) bool { return strings.EqualFold(fk.Name, spec.Name) })
	case ast.AlterTableDropCheck:
		name := spec.Name
		if spec.Constraint != nil {
			name = spec.Constraint.Name
		}
		t.Checks = slices.DeleteFunc(t.Checks, func(c schema.Check) bool { return strings.EqualFold(c.Name, name) })
	case ast.AlterTableRenameIndex:
		for i := range t.Indexes {
			if strings.EqualFold(t.Indexes[i].Name, spec.FromKey.O) {
				t.Indexes[i].Name = spec.ToKey.O
			}
		}
	case ast.AlterTableRenameTable:
		t.Name = spec.NewTable.Name.O
		if s := spec.NewTable.Schema.O; s != "" {
			t.Schema = s
		} else {
			t.Schema = db
		}
	case ast.AlterTableTruncatePartition, ast.AlterTableDropPartition, ast.AlterTableExchangePartition,
		ast.AlterTableDropFirstPartition:
		return fmt.Errorf("ALTER TABLE … %s: %w", partitionVerb(spec.Tp), errDataDDL)
	case ast.AlterTableLock, ast.AlterTableAlgorithm, ast.AlterTableForce, ast.AlterTableEnableKeys, ast.AlterTableDisableKeys,
		ast.AlterTableWithValidation, ast.AlterTableWithoutValidation, ast.AlterTableIndexInvisible, ast.AlterTableOrderByColumns,
		ast.AlterTableAddPartitions, ast.AlterTableCoalescePartitions, ast.AlterTableRebuildPartition,
		ast.AlterTableReorganizePartition, ast.AlterTableCheckPartitions, ast.AlterTableOptimizePartition,
		ast.AlterTableRepairPartition, ast.AlterTableAlterCheck, ast.AlterTablePartitionOptions, ast.AlterTablePartitionAttributes:
		// Row layout unchanged.
	case ast.AlterTablePartition, ast.AlterTableRemovePartitioning:
		t.Partitioned = spec.Tp == ast.AlterTablePartition
	default:
		return rereadError(fmt.Sprintf("dts does not apply ALTER TABLE clause %d from the statement", spec.Tp))
	}
	return nil
}

func partitionVerb(tp ast.AlterTableType) string {
	switch tp {
	case ast.AlterTableTruncatePartition:
		return "TRUNCATE PARTITION"
	case ast.AlterTableExchangePartition:
		return "EXCHANGE PARTITION"
	}
	return "DROP PARTITION"
}

func columnIndexFold(t *schema.Table, name string) int {
	for i := range t.Columns {
		if strings.EqualFold(t.Columns[i].Name, name) {
			return i
		}
	}
	return -1
}

// insertColumn places col at pos (the end when pos says nothing).
func insertColumn(t *schema.Table, col schema.Column, pos *ast.ColumnPosition) error {
	at := len(t.Columns)
	if pos != nil {
		switch pos.Tp {
		case ast.ColumnPositionFirst:
			at = 0
		case ast.ColumnPositionAfter:
			i := columnIndexFold(t, pos.RelativeColumn.Name.O)
			if i < 0 {
				return fmt.Errorf("AFTER %s: the schema history has no such column", pos.RelativeColumn.Name.O)
			}
			at = i + 1
		}
	}
	t.Columns = slices.Insert(t.Columns, at, col)
	return nil
}

// dropColumn removes column i and its parts of keys; a key left without
// columns goes too.
func dropColumn(t *schema.Table, i int) {
	name := t.Columns[i].Name
	t.Columns = slices.Delete(t.Columns, i, i+1)
	t.PrimaryKey = slices.DeleteFunc(t.PrimaryKey, func(n string) bool { return strings.EqualFold(n, name) })
	for j := range t.Indexes {
		t.Indexes[j].Columns = slices.DeleteFunc(t.Indexes[j].Columns, func(c schema.IndexColumn) bool {
			return c.Expr == "" && strings.EqualFold(c.Name, name)
		})
	}
	t.Indexes = slices.DeleteFunc(t.Indexes, func(ix schema.Index) bool { return len(ix.Columns) == 0 })
}

// renameColumnRefs renames a column in t's keys.
func renameColumnRefs(t *schema.Table, from, to string) {
	if from == to {
		return
	}
	for i, n := range t.PrimaryKey {
		if strings.EqualFold(n, from) {
			t.PrimaryKey[i] = to
		}
	}
	for i := range t.Indexes {
		for j := range t.Indexes[i].Columns {
			if strings.EqualFold(t.Indexes[i].Columns[j].Name, from) {
				t.Indexes[i].Columns[j].Name = to
			}
		}
	}
	for i := range t.ForeignKeys {
		for j, n := range t.ForeignKeys[i].Columns {
			if strings.EqualFold(n, from) {
				t.ForeignKeys[i].Columns[j] = to
			}
		}
	}
}
