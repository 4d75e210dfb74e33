package mysql

import (
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	tmysql "github.com/pingcap/tidb/pkg/parser/mysql"
	_ "github.com/pingcap/tidb/pkg/parser/test_driver" // literal values in parsed statements

	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
)

// DDL statements of the binlog, parsed with the TiDB parser and applied to
// the schema history. A statement that touches no followed table changes
// nothing; one that does either applies (ddlEffects) or, when the parser
// cannot read it (MariaDB syntax: CREATE OR REPLACE, INVISIBLE, UUID/INET6
// columns, uca1400 collations...) or dts cannot apply what it says, names
// the tables whose new structure must be read from the server (the stream
// then confirms that what it reads is the structure at this position).

// ddlEffect is what a statement did to one followed table.
type ddlEffect struct {
	kind     string // job.DDLCreateTable...
	truncate bool   // TRUNCATE TABLE (a Truncate item, not a DDL)
	old      *schema.Table
	table    *schema.Table     // nil when dropped
	renames  map[string]string // columns renamed by the statement (ddl_renames.go)
}

// ddlOutcome is the result of one statement.
type ddlOutcome struct {
	effects []ddlEffect
	// reread lists tables whose structure after the statement must come from
	// the server; kind is the statement's DDL kind and why says why.
	reread []tableKey
	kind   string
	why    string
	// dml lists followed tables a statement-based DML statement changes.
	dml []tableKey
}

// errDataDDL marks a statement that changes rows without row events.
var errDataDDL = errors.New("changes rows without row events")

// ddlParser parses statements with the session's sql_mode.
type ddlParser struct {
	p *parser.Parser
}

func newDDLParser() *ddlParser { return &ddlParser{p: parser.New()} }

// parseModes are the sql_mode bits that change how statements parse.
const parseModes = tmysql.ModeANSIQuotes | tmysql.ModePipesAsConcat | tmysql.ModeIgnoreSpace |
	tmysql.ModeNoBackslashEscapes | tmysql.ModeHighNotPrecedence

func (d *ddlParser) parse(sql string, mode uint64) (stmts []ast.StmtNode, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the parser failed: %v", r)
		}
	}()
	d.p.SetSQLMode(tmysql.SQLMode(mode) & parseModes)
	stmts, _, err = d.p.Parse(sql, "", "")
	return stmts, err
}

// applyStatement applies one binlog statement (run in database db) to the
// history.
func (h *schemaHistory) applyStatement(d *ddlParser, sql, db string, mode uint64) (ddlOutcome, error) {
	h.fkIndexes = nil
	stmts, err := d.parse(sql, mode)
	if err != nil {
		return h.unparsed(sql, db, err), nil
	}
	var out ddlOutcome
	for _, st := range stmts {
		o, err := h.applyNode(st, db)
		if err != nil {
			return out, err
		}
		out.effects = append(out.effects, o.effects...)
		out.dml = append(out.dml, o.dml...)
		if len(o.reread) > 0 {
			out.reread = append(out.reread, o.reread...)
			out.kind, out.why = o.kind, o.why
		}
	}
	return out, nil
}

func (h *schemaHistory) tableOf(tn *ast.TableName, db string) tableKey {
	s := tn.Schema.O
	if s == "" {
		s = db
	}
	return h.key(s, tn.Name.O)
}

func (h *schemaHistory) applyNode(st ast.StmtNode, db string) (ddlOutcome, error) {
	var out ddlOutcome
	switch n := st.(type) {
	case *ast.CreateTableStmt:
		return h.createTable(n, db)
	case *ast.AlterTableStmt:
		return h.alterTable(n, db)
	case *ast.RenameTableStmt:
		for _, tt := range n.TableToTables {
			from, to := h.tableOf(tt.OldTable, db), h.tableOf(tt.NewTable, db)
			old := h.tables[from]
			if old == nil {
				if h.followsDB(to.schema) { // a table moves into a followed database
					out.reread, out.kind, out.why = append(out.reread, to), job.DDLRenameTable,
						"the table renamed into a followed database was not followed before"
				}
				continue
			}
			t := cloneTable(old)
			t.Schema, t.Name = tt.NewTable.Schema.O, tt.NewTable.Name.O
			if t.Schema == "" {
				t.Schema = db
			}
			h.remove(from)
			h.put(t)
			out.effects = append(out.effects, ddlEffect{kind: job.DDLRenameTable, old: old, table: t})
		}
	case *ast.DropTableStmt:
		if n.IsView || n.TemporaryKeyword != ast.TemporaryNone {
			return out, nil
		}
		for _, tn := range n.Tables {
			k := h.tableOf(tn, db)
			if old := h.tables[k]; old != nil {
				h.remove(k)
				out.effects = append(out.effects, ddlEffect{kind: job.DDLDropTable, old: old})
			}
		}
	case *ast.TruncateTableStmt:
		if t := h.tables[h.tableOf(n.Table, db)]; t != nil {
			out.effects = append(out.effects, ddlEffect{truncate: true, old: t, table: t})
		}
	case *ast.CreateIndexStmt:
		k := h.tableOf(n.Table, db)
		old := h.tables[k]
		if old == nil {
			return out, nil
		}
		t := cloneTable(old)
		c := &ast.Constraint{Tp: ast.ConstraintIndex, Name: n.IndexName, Keys: n.IndexPartSpecifications, IfNotExists: n.IfNotExists}
		switch n.KeyType {
		case ast.IndexKeyTypeUnique:
			c.Tp = ast.ConstraintUniq
		case ast.IndexKeyTypeFulltext:
			c.Tp = ast.ConstraintFulltext
		case ast.IndexKeyTypeSpatial:
			c.Tp = ast.ConstraintIndex
		}
		if err := h.addConstraint(t, c); err != nil {
			return out, err
		}
		if n.KeyType == ast.IndexKeyTypeSpatial && len(t.Indexes) > 0 {
			t.Indexes[len(t.Indexes)-1].Kind = "SPATIAL"
		}
		h.put(t)
		out.effects = append(out.effects, ddlEffect{kind: job.DDLCreateIndex, old: old, table: t})
	case *ast.DropIndexStmt:
		k := h.tableOf(n.Table, db)
		old := h.tables[k]
		if old == nil {
			return out, nil
		}
		t := cloneTable(old)
		if strings.EqualFold(n.IndexName, "PRIMARY") {
			t.PrimaryKey = nil
		} else {
			dropIndex(t, n.IndexName)
		}
		h.put(t)
		out.effects = append(out.effects, ddlEffect{kind: job.DDLDropIndex, old: old, table: t})
	case *ast.DropDatabaseStmt:
		for _, t := range h.list() {
			if h.dbKey(t.Schema) == h.dbKey(n.Name.O) {
				h.remove(h.key(t.Schema, t.Name))
				out.effects = append(out.effects, ddlEffect{kind: job.DDLDropTable, old: t})
			}
		}
	case *ast.CreateDatabaseStmt:
		h.setDBCollation(n.Name.O, n.Options)
	case *ast.AlterDatabaseStmt:
		name := n.Name.O
		if n.AlterDefaultDatabase || name == "" {
			name = db
		}
		h.setDBCollation(name, n.Options)
	case *ast.InsertStmt, *ast.UpdateStmt, *ast.DeleteStmt, *ast.LoadDataStmt:
		// The tables the statement may change (a multi-table UPDATE or
		// DELETE: any table it joins).
		var target ast.Node = st
		switch n := st.(type) {
		case *ast.InsertStmt:
			target = n.Table
		case *ast.LoadDataStmt:
			target = n.Table
		}
		for _, k := range h.tablesIn(target, db) {
			if h.tables[k] != nil {
				out.dml = append(out.dml, k)
			}
		}
	}
	return out, nil
}

func (h *schemaHistory) setDBCollation(db string, opts []*ast.DatabaseOption) {
	for _, o := range opts {
		switch o.Tp {
		case ast.DatabaseOptionCharset:
			if _, ok := h.dbCollation[h.dbKey(db)]; !ok || !strings.HasPrefix(h.dbCollation[h.dbKey(db)], normalizeCharset(o.Value)+"_") {
				h.dbCollation[h.dbKey(db)] = h.defaultCollation(o.Value)
			}
		case ast.DatabaseOptionCollate:
			h.dbCollation[h.dbKey(db)] = h.collationName(o.Value)
		}
	}
}

// tablesIn lists the tables a statement names.
func (h *schemaHistory) tablesIn(st ast.Node, db string) []tableKey {
	v := &tableCollector{h: h, db: db}
	st.Accept(v)
	return v.keys
}

type tableCollector struct {
	h    *schemaHistory
	db   string
	keys []tableKey
}

func (v *tableCollector) Enter(n ast.Node) (ast.Node, bool) {
	if tn, ok := n.(*ast.TableName); ok {
		v.keys = append(v.keys, v.h.tableOf(tn, v.db))
	}
	return n, false
}

func (v *tableCollector) Leave(n ast.Node) (ast.Node, bool) { return n, true }

// tableCollation returns the default collation of a new table in db with options.
func (h *schemaHistory) tableCollation(db string, opts []*ast.TableOption, current string) string {
	coll := current
	for _, o := range opts {
		switch o.Tp {
		case ast.TableOptionCharset:
			if coll == "" || h.charsetOfCollation(coll) != normalizeCharset(o.StrValue) {
				coll = h.defaultCollation(o.StrValue)
			}
		case ast.TableOptionCollate:
			coll = h.collationName(o.StrValue)
		}
	}
	if coll == "" {
		coll = h.dbCollation[h.dbKey(db)]
	}
	if coll == "" {
		coll = h.serverDefaults
	}
	return coll
}

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

// Statements the parser cannot read.

var createTableRe = regexp.MustCompile("(?is)^\\s*create\\s+(?:or\\s+replace\\s+)?(temporary\\s+)?table\\s+(?:if\\s+not\\s+exists\\s+)?" +
	"(`(?:[^`]|``)+`|[\\w$\\x{80}-\\x{10FFFF}]+)(?:\\s*\\.\\s*(`(?:[^`]|``)+`|[\\w$\\x{80}-\\x{10FFFF}]+))?")

// unparsed finds the followed tables an unparseable statement may touch:
// every followed table whose name appears in it as an identifier, and the
// table a CREATE TABLE in a followed database makes.
func (h *schemaHistory) unparsed(sql, db string, perr error) ddlOutcome {
	out := ddlOutcome{kind: ddlKindOf(sql), why: "the TiDB parser cannot read it (" + firstLine(perr.Error()) + ")"}
	idents := map[string]bool{}
	for _, id := range identifiers(sql) {
		idents[strings.ToLower(id)] = true
	}
	for k, t := range h.tables {
		if idents[strings.ToLower(t.Name)] {
			out.reread = append(out.reread, k)
		}
	}
	if m := createTableRe.FindStringSubmatch(sql); m != nil && m[1] == "" {
		s, name := db, unquoteIdent(m[2])
		if m[3] != "" {
			s, name = name, unquoteIdent(m[3])
		}
		if k := h.key(s, name); h.followsDB(s) && !slices.Contains(out.reread, k) {
			out.reread = append(out.reread, k)
		}
	}
	if len(out.reread) == 0 {
		out.kind = ""
	}
	slices.SortFunc(out.reread, func(a, b tableKey) int { return strings.Compare(a.String(), b.String()) })
	return out
}

func unquoteIdent(s string) string {
	if strings.HasPrefix(s, "`") && strings.HasSuffix(s, "`") && len(s) >= 2 {
		return strings.ReplaceAll(s[1:len(s)-1], "``", "`")
	}
	return s
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// ddlKindOf guesses a statement's DDL kind from its first words.
func ddlKindOf(sql string) string {
	words := strings.Fields(strings.ToLower(stripComments(sql)))
	has := func(w string) bool { return slices.Contains(words[:min(len(words), 6)], w) }
	switch {
	case len(words) == 0:
		return job.DDLAlterTable
	case words[0] == "create" && has("index"):
		return job.DDLCreateIndex
	case words[0] == "create":
		return job.DDLCreateTable
	case words[0] == "rename":
		return job.DDLRenameTable
	case words[0] == "drop" && has("index"):
		return job.DDLDropIndex
	case words[0] == "drop":
		return job.DDLDropTable
	case words[0] == "truncate":
		return job.DDLTruncateTable
	}
	return job.DDLAlterTable
}

// stripComments removes leading /* */ and -- comments.
func stripComments(s string) string {
	for {
		s = strings.TrimSpace(s)
		switch {
		case strings.HasPrefix(s, "/*"):
			end := strings.Index(s, "*/")
			if end < 0 {
				return ""
			}
			s = s[end+2:]
		case strings.HasPrefix(s, "--") || strings.HasPrefix(s, "#"):
			end := strings.IndexByte(s, '\n')
			if end < 0 {
				return ""
			}
			s = s[end+1:]
		default:
			return s
		}
	}
}

// identifiers returns the words and quoted identifiers of a statement
// (string literals and comments skipped).
func identifiers(sql string) []string {
	var out []string
	for i := 0; i < len(sql); {
		c := sql[i]
		switch {
		case c == '`' || c == '"':
			var b strings.Builder
			j := i + 1
			for j < len(sql) {
				if sql[j] == c {
					if j+1 < len(sql) && sql[j+1] == c {
						b.WriteByte(c)
						j += 2
						continue
					}
					break
				}
				b.WriteByte(sql[j])
				j++
			}
			out = append(out, b.String())
			i = j + 1
		case c == '\'':
			j := i + 1
			for j < len(sql) && sql[j] != '\'' {
				if sql[j] == '\\' {
					j++
				}
				j++
			}
			i = j + 1
		case c == '/' && i+1 < len(sql) && sql[i+1] == '*':
			end := strings.Index(sql[i+2:], "*/")
			if end < 0 {
				return out
			}
			i += end + 4
		case isIdentByte(c):
			j := i
			for j < len(sql) && isIdentByte(sql[j]) {
				j++
			}
			out = append(out, sql[i:j])
			i = j
		default:
			i++
		}
	}
	return out
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}
