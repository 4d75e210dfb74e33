package mysql

import (
	"errors"
	"fmt"
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
