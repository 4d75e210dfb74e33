package mysql

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"

	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
)

// createTable adds a CREATE TABLE statement's table to the history (CREATE
// TABLE ... LIKE copies the source table's structure).
func (h *schemaHistory) createTable(n *ast.CreateTableStmt, db string) (ddlOutcome, error) {
	var out ddlOutcome
	k := h.tableOf(n.Table, db)
	if n.TemporaryKeyword != ast.TemporaryNone || !h.followsDB(k.schema) {
		return out, nil
	}
	if n.IfNotExists && h.tables[k] != nil {
		return out, nil
	}
	name := n.Table.Name.O
	schemaName := n.Table.Schema.O
	if schemaName == "" {
		schemaName = db
	}
	var t *schema.Table
	switch {
	case n.ReferTable != nil:
		src := h.tables[h.tableOf(n.ReferTable, db)]
		if src == nil {
			out.reread, out.kind, out.why = []tableKey{k}, job.DDLCreateTable, "CREATE TABLE … LIKE a table that is not followed"
			return out, nil
		}
		t = cloneTable(src)
		t.Schema, t.Name, t.ForeignKeys = schemaName, name, nil
	case n.Select != nil:
		out.reread, out.kind, out.why = []tableKey{k}, job.DDLCreateTable, "CREATE TABLE … SELECT"
		return out, nil
	default:
		t = &schema.Table{Schema: schemaName, Name: name}
		t.Collation = h.tableCollation(schemaName, n.Options, "")
		for _, o := range n.Options {
			if o.Tp == ast.TableOptionComment {
				t.Comment = o.StrValue
			}
		}
		for _, def := range n.Cols {
			col, err := h.columnFromDef(def, t.Collation)
			if err != nil {
				out.reread, out.kind, out.why = []tableKey{k}, job.DDLCreateTable, err.Error()
				return out, nil
			}
			t.Columns = append(t.Columns, col)
		}
		for _, def := range n.Cols {
			if err := h.columnConstraints(t, def); err != nil {
				return out, err
			}
		}
		for _, c := range n.Constraints {
			if err := h.addConstraint(t, c); err != nil {
				return out, err
			}
		}
		t.Partitioned = n.Partition != nil
		h.addFKIndexes(t)
	}
	h.put(t)
	out.effects = append(out.effects, ddlEffect{kind: job.DDLCreateTable, table: t})
	return out, nil
}

// columnConstraints adds the keys a column definition declares inline.
func (h *schemaHistory) columnConstraints(t *schema.Table, def *ast.ColumnDef) error {
	part := []*ast.IndexPartSpecification{{Column: def.Name}}
	for _, o := range def.Options {
		var c *ast.Constraint
		switch o.Tp {
		case ast.ColumnOptionPrimaryKey:
			c = &ast.Constraint{Tp: ast.ConstraintPrimaryKey, Keys: part}
		case ast.ColumnOptionUniqKey:
			c = &ast.Constraint{Tp: ast.ConstraintUniq, Keys: part}
		case ast.ColumnOptionCheck:
			c = &ast.Constraint{Tp: ast.ConstraintCheck, Name: o.ConstraintName, Expr: o.Expr}
		}
		if c != nil {
			if err := h.addConstraint(t, c); err != nil {
				return err
			}
		}
	}
	return nil
}

// addConstraint adds a key, foreign key or check to t.
func (h *schemaHistory) addConstraint(t *schema.Table, c *ast.Constraint) error {
	cols := func() []schema.IndexColumn {
		var out []schema.IndexColumn
		for _, k := range c.Keys {
			ic := schema.IndexColumn{Length: max(k.Length, 0), Desc: k.Desc}
			if k.Column != nil {
				ic.Name = columnName(t, k.Column.Name.O)
			} else if k.Expr != nil {
				ic.Expr = restoreExpr(k.Expr)
			}
			out = append(out, ic)
		}
		return out
	}
	switch c.Tp {
	case ast.ConstraintPrimaryKey:
		t.PrimaryKey = nil
		for _, ic := range cols() {
			t.PrimaryKey = append(t.PrimaryKey, ic.Name)
			if col, ok := t.Column(ic.Name); ok {
				col.Nullable = false
				if col.Default != nil && col.Default.Kind == schema.DefaultNull {
					col.Default = nil
				}
			}
		}
	case ast.ConstraintKey, ast.ConstraintIndex, ast.ConstraintUniq, ast.ConstraintUniqKey, ast.ConstraintUniqIndex, ast.ConstraintFulltext:
		ix := schema.Index{Name: c.Name, Columns: cols(), Kind: "BTREE",
			Unique: c.Tp == ast.ConstraintUniq || c.Tp == ast.ConstraintUniqKey || c.Tp == ast.ConstraintUniqIndex}
		if c.Tp == ast.ConstraintFulltext {
			ix.Kind = "FULLTEXT"
		}
		if c.Option != nil && c.Option.Tp == ast.IndexTypeHash {
			ix.Kind = "HASH"
		}
		if ix.Name == "" {
			ix.Name = indexName(t, ix.Columns)
		}
		if c.IfNotExists && slices.ContainsFunc(t.Indexes, func(x schema.Index) bool { return strings.EqualFold(x.Name, ix.Name) }) {
			return nil
		}
		t.Indexes = append(t.Indexes, ix)
	case ast.ConstraintForeignKey:
		fk := schema.ForeignKey{Name: c.Name, OnDelete: "RESTRICT", OnUpdate: "RESTRICT"}
		for _, ic := range cols() {
			fk.Columns = append(fk.Columns, ic.Name)
		}
		if r := c.Refer; r != nil {
			fk.RefSchema, fk.RefTable = r.Table.Schema.O, r.Table.Name.O
			if fk.RefSchema == "" {
				fk.RefSchema = t.Schema
			}
			for _, p := range r.IndexPartSpecifications {
				if p.Column != nil {
					fk.RefColumns = append(fk.RefColumns, p.Column.Name.O)
				}
			}
			if r.OnDelete != nil && r.OnDelete.ReferOpt != ast.ReferOptionNoOption {
				fk.OnDelete = fkAction(r.OnDelete.ReferOpt.String())
			}
			if r.OnUpdate != nil && r.OnUpdate.ReferOpt != ast.ReferOptionNoOption {
				fk.OnUpdate = fkAction(r.OnUpdate.ReferOpt.String())
			}
		}
		if fk.Name == "" {
			fk.Name = fmt.Sprintf("%s_ibfk_%d", t.Name, len(t.ForeignKeys)+1)
		}
		t.ForeignKeys = append(t.ForeignKeys, fk)
		h.fkIndexes = append(h.fkIndexes, fkIndex{name: c.Name, cols: fk.Columns})
	case ast.ConstraintCheck:
		name := c.Name
		if name == "" {
			name = fmt.Sprintf("CONSTRAINT_%d", len(t.Checks)+1)
		}
		t.Checks = append(t.Checks, schema.Check{Name: name, Expr: restoreExpr(c.Expr)})
	}
	return nil
}

// fkIndex is a foreign key added by the statement being applied: InnoDB
// gives it an index of its own unless one starts with its columns.
type fkIndex struct {
	name string // the constraint's name as written ("" when unnamed)
	cols []string
}

// addFKIndexes adds the indexes InnoDB creates for the statement's foreign
// keys (after the statement's own indexes, which may serve them).
func (h *schemaHistory) addFKIndexes(t *schema.Table) {
	for _, fk := range h.fkIndexes {
		if hasIndexOn(t, fk.cols) {
			continue
		}
		ix := schema.Index{Name: fk.name, Kind: "BTREE"}
		for _, n := range fk.cols {
			ix.Columns = append(ix.Columns, schema.IndexColumn{Name: n})
		}
		if ix.Name == "" {
			ix.Name = indexName(t, ix.Columns)
		}
		t.Indexes = append(t.Indexes, ix)
	}
	h.fkIndexes = nil
}

// columnName returns t's spelling of a column name (names compare case-insensitively).
func columnName(t *schema.Table, name string) string {
	for _, c := range t.Columns {
		if strings.EqualFold(c.Name, name) {
			return c.Name
		}
	}
	return name
}

// indexName names an unnamed index after its first column, as MySQL does
// (col, col_2, col_3...).
func indexName(t *schema.Table, cols []schema.IndexColumn) string {
	base := "idx"
	if len(cols) > 0 && cols[0].Name != "" {
		base = cols[0].Name
	}
	taken := func(n string) bool {
		return strings.EqualFold(n, "PRIMARY") || slices.ContainsFunc(t.Indexes, func(x schema.Index) bool { return strings.EqualFold(x.Name, n) })
	}
	name := base
	for i := 2; taken(name); i++ {
		name = fmt.Sprintf("%s_%d", base, i)
	}
	return name
}

func hasIndexOn(t *schema.Table, cols []string) bool {
	starts := func(ic []schema.IndexColumn) bool {
		if len(ic) < len(cols) {
			return false
		}
		for i, c := range cols {
			if !strings.EqualFold(ic[i].Name, c) {
				return false
			}
		}
		return true
	}
	if len(t.PrimaryKey) >= len(cols) {
		pk := make([]schema.IndexColumn, len(t.PrimaryKey))
		for i, n := range t.PrimaryKey {
			pk[i].Name = n
		}
		if starts(pk) {
			return true
		}
	}
	return slices.ContainsFunc(t.Indexes, func(ix schema.Index) bool { return starts(ix.Columns) })
}

func dropIndex(t *schema.Table, name string) {
	t.Indexes = slices.DeleteFunc(t.Indexes, func(ix schema.Index) bool { return strings.EqualFold(ix.Name, name) })
}
