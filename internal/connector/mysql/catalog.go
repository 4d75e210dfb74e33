package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/schema"
)

// Reading table structure from information_schema.

// systemSchemas are never listed; dts_meta is dts's own bookkeeping.
var systemSchemas = []string{"mysql", "information_schema", "performance_schema", "sys", metaDB}

// catalog reads the structure of one server's tables.
type catalog struct {
	db       *sql.DB
	srv      server
	features features
}

// features are the information_schema columns a server version has.
type features struct {
	checks     bool // CHECK_CONSTRAINTS exists (MySQL 8.0.16+, MariaDB 10.2+)
	checkTable bool // CHECK_CONSTRAINTS.TABLE_NAME (MariaDB)
	exprIndex  bool // STATISTICS.EXPRESSION (MySQL 8.0.13+)
}

func readFeatures(ctx context.Context, db *sql.DB) (features, error) {
	rows, err := db.QueryContext(ctx, `SELECT TABLE_NAME, COLUMN_NAME FROM information_schema.COLUMNS
		WHERE TABLE_SCHEMA = 'information_schema' AND TABLE_NAME IN ('CHECK_CONSTRAINTS', 'STATISTICS')`)
	if err != nil {
		return features{}, fmt.Errorf("read information_schema layout: %w", err)
	}
	defer rows.Close()
	var f features
	for rows.Next() {
		var table, column string
		if err := rows.Scan(&table, &column); err != nil {
			return f, err
		}
		switch strings.ToUpper(table) + "." + strings.ToUpper(column) {
		case "CHECK_CONSTRAINTS.CHECK_CLAUSE":
			f.checks = true
		case "CHECK_CONSTRAINTS.TABLE_NAME":
			f.checkTable = true
		case "STATISTICS.EXPRESSION":
			f.exprIndex = true
		}
	}
	return f, rows.Err()
}

// listTables lists base tables outside the system schemas, by schema and name.
func (c *catalog) listTables(ctx context.Context) ([]connector.TableRef, error) {
	q := `SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES
		WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA NOT IN (?, ?, ?, ?, ?)`
	rows, err := c.db.QueryContext(ctx, q, anys(systemSchemas)...)
	if err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	defer rows.Close()
	var refs []connector.TableRef
	for rows.Next() {
		var r connector.TableRef
		if err := rows.Scan(&r.Schema, &r.Name); err != nil {
			return nil, err
		}
		refs = append(refs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tables: %w", err)
	}
	sort.Slice(refs, func(i, j int) bool {
		if refs[i].Schema != refs[j].Schema {
			return refs[i].Schema < refs[j].Schema
		}
		return refs[i].Name < refs[j].Name
	})
	return refs, nil
}

// readTables reads the tables refs names, in refs' order.
func (c *catalog) readTables(ctx context.Context, refs []connector.TableRef) ([]*schema.Table, error) {
	bySchema := map[string]map[string]*schema.Table{}
	for _, r := range refs {
		if bySchema[r.Schema] == nil {
			bySchema[r.Schema] = map[string]*schema.Table{}
		}
		bySchema[r.Schema][r.Name] = nil
	}
	for name, tables := range bySchema {
		if err := c.readSchema(ctx, name, tables); err != nil {
			return nil, fmt.Errorf("read the structure of database %s: %w", name, err)
		}
	}
	out := make([]*schema.Table, 0, len(refs))
	for _, r := range refs {
		t := bySchema[r.Schema][r.Name]
		if t == nil {
			return nil, fmt.Errorf("table %s does not exist on the source (or is not a base table)", r)
		}
		out = append(out, t)
	}
	return out, nil
}

// readSchema fills tables (by name; nil values) with the structure of those
// tables of one database.
func (c *catalog) readSchema(ctx context.Context, db string, tables map[string]*schema.Table) error {
	if err := c.readTableInfo(ctx, db, tables); err != nil {
		return err
	}
	if err := c.readColumns(ctx, db, tables); err != nil {
		return err
	}
	if err := c.readWideLabels(ctx, db, tables); err != nil {
		return err
	}
	if err := c.readIndexes(ctx, db, tables); err != nil {
		return err
	}
	if err := c.readForeignKeys(ctx, db, tables); err != nil {
		return err
	}
	return c.readChecks(ctx, db, tables)
}

func (c *catalog) readTableInfo(ctx context.Context, db string, tables map[string]*schema.Table) error {
	rows, err := c.db.QueryContext(ctx, `SELECT TABLE_NAME, COALESCE(TABLE_COMMENT, ''), COALESCE(TABLE_COLLATION, ''),
		COALESCE(CREATE_OPTIONS, '') FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'`, db)
	if err != nil {
		return fmt.Errorf("read tables: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, comment, collation, options string
		if err := rows.Scan(&name, &comment, &collation, &options); err != nil {
			return err
		}
		if _, wanted := tables[name]; !wanted {
			continue
		}
		tables[name] = &schema.Table{Schema: db, Name: name, Comment: comment, Collation: collation,
			Partitioned: strings.Contains(strings.ToLower(options), "partitioned")}
	}
	return rows.Err()
}

func (c *catalog) readColumns(ctx context.Context, db string, tables map[string]*schema.Table) error {
	rows, err := c.db.QueryContext(ctx, `SELECT TABLE_NAME, COLUMN_NAME, COLUMN_DEFAULT, IS_NULLABLE, DATA_TYPE, COLUMN_TYPE,
		COALESCE(CHARACTER_SET_NAME, ''), COALESCE(COLLATION_NAME, ''), COALESCE(EXTRA, ''), COALESCE(COLUMN_COMMENT, ''),
		COALESCE(GENERATION_EXPRESSION, '')
		FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, ORDINAL_POSITION`, db)
	if err != nil {
		return fmt.Errorf("read columns: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, name, nullable, dataType, colType, charset, collation, extra, comment, genExpr string
		var def sql.NullString
		if err := rows.Scan(&table, &name, &def, &nullable, &dataType, &colType, &charset, &collation, &extra, &comment, &genExpr); err != nil {
			return err
		}
		t := tables[table]
		if t == nil {
			continue
		}
		typ, err := columnType(dataType, colType, charset)
		if err != nil {
			return fmt.Errorf("table %s column %s: %w", t, name, err)
		}
		col := schema.Column{Name: name, Type: typ, Nullable: nullable == "YES", Comment: comment,
			Charset: charset, Collation: collation}
		lextra := strings.ToLower(extra)
		col.AutoIncrement = strings.Contains(lextra, "auto_increment")
		col.OnUpdateCurrentTimestamp = strings.Contains(lextra, "on update")
		if strings.Contains(lextra, "generated") && genExpr != "" && !strings.Contains(lextra, "default_generated") {
			expr := genExpr
			if !c.srv.mariadb {
				expr = unescapeExpr(expr)
			}
			col.Generated = &schema.Generated{Expr: expr, Stored: strings.Contains(lextra, "stored") || strings.Contains(lextra, "persistent")}
		}
		col.Default = columnDefault(c.srv, def, extra, &col)
		t.Columns = append(t.Columns, col)
	}
	return rows.Err()
}

func (c *catalog) readIndexes(ctx context.Context, db string, tables map[string]*schema.Table) error {
	expr := "NULL"
	if c.features.exprIndex {
		expr = "EXPRESSION"
	}
	rows, err := c.db.QueryContext(ctx, `SELECT TABLE_NAME, INDEX_NAME, NON_UNIQUE, COLUMN_NAME, `+expr+`, COALESCE(SUB_PART, 0),
		COALESCE(COLLATION, 'A'), COALESCE(INDEX_TYPE, '')
		FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX`, db)
	if err != nil {
		return fmt.Errorf("read indexes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, name, collation, kind string
		var column, expression sql.NullString
		var nonUnique, subPart int
		if err := rows.Scan(&table, &name, &nonUnique, &column, &expression, &subPart, &collation, &kind); err != nil {
			return err
		}
		t := tables[table]
		if t == nil {
			continue
		}
		if name == "PRIMARY" {
			t.PrimaryKey = append(t.PrimaryKey, column.String)
			continue
		}
		if kind = strings.ToUpper(kind); kind == "SPATIAL" || kind == "FULLTEXT" {
			subPart = 0 // MariaDB reports a length for spatial parts; they take none
		}
		part := schema.IndexColumn{Name: column.String, Desc: collation == "D", Length: subPart}
		if !column.Valid && expression.Valid {
			part.Expr = unescapeExpr(expression.String)
		}
		n := len(t.Indexes)
		if n == 0 || t.Indexes[n-1].Name != name {
			t.Indexes = append(t.Indexes, schema.Index{Name: name, Unique: nonUnique == 0, Kind: kind})
			n++
		}
		t.Indexes[n-1].Columns = append(t.Indexes[n-1].Columns, part)
	}
	return rows.Err()
}

func (c *catalog) readForeignKeys(ctx context.Context, db string, tables map[string]*schema.Table) error {
	rows, err := c.db.QueryContext(ctx, `SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_SCHEMA,
		k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME, r.UPDATE_RULE, r.DELETE_RULE
		FROM information_schema.KEY_COLUMN_USAGE k
		JOIN information_schema.REFERENTIAL_CONSTRAINTS r ON r.CONSTRAINT_SCHEMA = k.CONSTRAINT_SCHEMA
			AND r.CONSTRAINT_NAME = k.CONSTRAINT_NAME AND r.TABLE_NAME = k.TABLE_NAME
		WHERE k.TABLE_SCHEMA = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL
		ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION`, db)
	if err != nil {
		return fmt.Errorf("read foreign keys: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, name, column, refSchema, refTable, refColumn, onUpdate, onDelete string
		if err := rows.Scan(&table, &name, &column, &refSchema, &refTable, &refColumn, &onUpdate, &onDelete); err != nil {
			return err
		}
		t := tables[table]
		if t == nil {
			continue
		}
		n := len(t.ForeignKeys)
		if n == 0 || t.ForeignKeys[n-1].Name != name {
			t.ForeignKeys = append(t.ForeignKeys, schema.ForeignKey{Name: name, RefSchema: refSchema, RefTable: refTable,
				OnDelete: fkAction(onDelete), OnUpdate: fkAction(onUpdate)})
			n++
		}
		fk := &t.ForeignKeys[n-1]
		fk.Columns = append(fk.Columns, column)
		fk.RefColumns = append(fk.RefColumns, refColumn)
	}
	return rows.Err()
}

// fkAction returns a referential action as InnoDB applies it. NO ACTION is
// RESTRICT in InnoDB (checked at once, row by row), and MariaDB reports a
// RESTRICT added by ALTER TABLE as NO ACTION: one spelling keeps copies equal.
func fkAction(a string) string {
	if strings.EqualFold(a, "NO ACTION") {
		return "RESTRICT"
	}
	return a
}

// jsonValidRe matches MariaDB's JSON column check: json_valid(`c`).
var jsonValidRe = regexp.MustCompile("(?i)^\\s*json_valid\\s*\\(\\s*`((?:[^`]|``)+)`\\s*\\)\\s*$")

// readChecks reads CHECK constraints. A MariaDB JSON column is a LONGTEXT
// with the check json_valid(`c`): the column becomes KindJSON and the check
// is left out (the column's type implies it).
func (c *catalog) readChecks(ctx context.Context, db string, tables map[string]*schema.Table) error {
	var q string
	switch {
	case !c.features.checks:
		return nil
	case c.features.checkTable:
		q = `SELECT TABLE_NAME, CONSTRAINT_NAME, CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS
			WHERE CONSTRAINT_SCHEMA = ? ORDER BY TABLE_NAME, CONSTRAINT_NAME`
	default:
		q = `SELECT tc.TABLE_NAME, cc.CONSTRAINT_NAME, cc.CHECK_CLAUSE FROM information_schema.TABLE_CONSTRAINTS tc
			JOIN information_schema.CHECK_CONSTRAINTS cc ON cc.CONSTRAINT_SCHEMA = tc.CONSTRAINT_SCHEMA
				AND cc.CONSTRAINT_NAME = tc.CONSTRAINT_NAME
			WHERE tc.TABLE_SCHEMA = ? AND tc.CONSTRAINT_TYPE = 'CHECK' ORDER BY tc.TABLE_NAME, cc.CONSTRAINT_NAME`
	}
	rows, err := c.db.QueryContext(ctx, q, db)
	if err != nil {
		return fmt.Errorf("read check constraints: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, name, clause string
		if err := rows.Scan(&table, &name, &clause); err != nil {
			return err
		}
		t := tables[table]
		if t == nil {
			continue
		}
		if !c.srv.mariadb {
			clause = unescapeExpr(clause)
		}
		if m := jsonValidRe.FindStringSubmatch(clause); m != nil {
			col, ok := t.Column(strings.ReplaceAll(m[1], "``", "`"))
			if ok && col.Type.Kind == schema.KindText && col.Type.Size == schema.SizeLong {
				col.Type.Kind = schema.KindJSON
				continue
			}
		}
		t.Checks = append(t.Checks, schema.Check{Name: name, Expr: clause})
	}
	return rows.Err()
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}
