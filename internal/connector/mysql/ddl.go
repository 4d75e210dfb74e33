package mysql

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/dtsorg/dts/internal/schema"
)

// Rendering the table model as MySQL DDL. Types are Type.Raw (the target's
// spelling, set by MapTable); every identifier is quoted, every piece of
// user text a literal.

// createTableSQL renders CREATE TABLE with the columns, the primary key, the
// index an AUTO_INCREMENT column needs, CHECK constraints and the table
// options. Other indexes come with FinishTable, foreign keys with
// AddForeignKeys.
func (s *Sink) createTableSQL(t *schema.Table) (string, error) {
	var b strings.Builder
	b.WriteString("CREATE TABLE ")
	b.WriteString(quoteTable(t.Schema, t.Name))
	b.WriteString(" (\n")
	for i, c := range t.Columns {
		if i > 0 {
			b.WriteString(",\n")
		}
		def, err := s.columnSQL(c)
		if err != nil {
			return "", fmt.Errorf("column %s: %w", c.Name, err)
		}
		b.WriteString("  ")
		b.WriteString(def)
	}
	if len(t.PrimaryKey) > 0 {
		b.WriteString(",\n  PRIMARY KEY (" + quoteIdents(t.PrimaryKey) + ")")
	}
	for _, ix := range autoIncrementIndexes(t) {
		b.WriteString(",\n  " + indexSQL(ix))
	}
	for _, ck := range t.Checks {
		b.WriteString(",\n  CONSTRAINT " + quoteIdent(ck.Name) + " CHECK (" + ck.Expr + ")")
	}
	b.WriteString("\n) ENGINE=InnoDB")
	switch {
	case isPlainName(t.Collation):
		b.WriteString(" DEFAULT COLLATE=" + t.Collation)
	case t.Collation == "":
		b.WriteString(" DEFAULT CHARSET=utf8mb4")
	default:
		return "", fmt.Errorf("collation %q is not a collation name", t.Collation)
	}
	if t.Comment != "" {
		b.WriteString(" COMMENT=" + quoteString(t.Comment))
	}
	return b.String(), nil
}

// autoIncrementIndexes returns the index each AUTO_INCREMENT column that
// does not lead the primary key needs at CREATE TABLE (MySQL refuses an
// unindexed one).
func autoIncrementIndexes(t *schema.Table) []schema.Index {
	var out []schema.Index
	for _, c := range t.Columns {
		if !c.AutoIncrement || len(t.PrimaryKey) > 0 && t.PrimaryKey[0] == c.Name {
			continue
		}
		for _, ix := range t.Indexes {
			if len(ix.Columns) > 0 && ix.Columns[0].Name == c.Name && ix.Columns[0].Expr == "" {
				out = append(out, ix)
				break
			}
		}
	}
	return out
}

// columnSQL renders a column definition.
func (s *Sink) columnSQL(c schema.Column) (string, error) {
	var b strings.Builder
	b.WriteString(quoteIdent(c.Name))
	b.WriteByte(' ')
	if c.Type.Raw == "" {
		return "", fmt.Errorf("no MySQL type")
	}
	b.WriteString(c.Type.Raw)
	if takesCharset(c.Type) {
		if c.Charset != "" {
			if !isPlainName(c.Charset) {
				return "", fmt.Errorf("%q is not a charset name", c.Charset)
			}
			b.WriteString(" CHARACTER SET " + c.Charset)
		}
		if c.Collation != "" {
			if !isPlainName(c.Collation) {
				return "", fmt.Errorf("%q is not a collation name", c.Collation)
			}
			b.WriteString(" COLLATE " + c.Collation)
		}
	}
	if g := c.Generated; g != nil {
		b.WriteString(" GENERATED ALWAYS AS (" + g.Expr + ")")
		if g.Stored {
			b.WriteString(" STORED")
		} else {
			b.WriteString(" VIRTUAL")
		}
	}
	switch {
	case c.Generated != nil && s.srv.mariadb: // MariaDB takes no NULL/NOT NULL on generated columns
	case c.Nullable:
		b.WriteString(" NULL")
	default:
		b.WriteString(" NOT NULL")
	}
	if c.Default != nil && c.Generated == nil {
		d, err := s.defaultSQL(c)
		if err != nil {
			return "", err
		}
		if d != "" {
			b.WriteString(" DEFAULT " + d)
		}
	}
	if c.OnUpdateCurrentTimestamp {
		b.WriteString(" ON UPDATE " + currentTimestamp(c.Type.FSP))
	}
	if c.AutoIncrement {
		b.WriteString(" AUTO_INCREMENT")
	}
	if c.Comment != "" {
		b.WriteString(" COMMENT " + quoteString(c.Comment))
	}
	if c.Type.Kind == schema.KindJSON && !strings.EqualFold(c.Type.Raw, "json") {
		// MariaDB's JSON: a LONGTEXT whose check makes it JSON.
		b.WriteString(" CHECK (json_valid(" + quoteIdent(c.Name) + "))")
	}
	return b.String(), nil
}

// takesCharset reports whether a type has a character set.
func takesCharset(t schema.Type) bool {
	switch t.Kind {
	case schema.KindChar, schema.KindVarChar, schema.KindText, schema.KindEnum, schema.KindSet:
		return true
	case schema.KindJSON:
		return !strings.EqualFold(t.Raw, "json")
	}
	return false
}

func currentTimestamp(fsp int) string {
	if fsp > 0 {
		return "CURRENT_TIMESTAMP(" + strconv.Itoa(fsp) + ")"
	}
	return "CURRENT_TIMESTAMP"
}

// defaultSQL renders a column's default ("" for none).
func (s *Sink) defaultSQL(c schema.Column) (string, error) {
	d := c.Default
	switch d.Kind {
	case schema.DefaultNull:
		if !c.Nullable {
			return "", nil
		}
		return "NULL", nil
	case schema.DefaultCurrentTimestamp:
		return currentTimestamp(d.FSP), nil
	case schema.DefaultCurrentDate:
		return "(CURRENT_DATE)", nil
	case schema.DefaultExpression:
		return "(" + d.Value + ")", nil
	}
	v := d.Value
	t := c.Type
	switch {
	case t.IsInteger() || t.Kind == schema.KindDecimal || t.Kind == schema.KindFloat32 || t.Kind == schema.KindFloat64 || t.Kind == schema.KindBool:
		if !numberRe.MatchString(v) {
			return "", fmt.Errorf("default %q is not a number", v)
		}
		return v, nil
	case t.Kind == schema.KindBit:
		if _, err := parseBits([]byte(v)); err != nil {
			return "", fmt.Errorf("default: %w", err)
		}
		return "b'" + v + "'", nil
	case t.IsBinary() || t.Binary || t.Kind == schema.KindUnknown:
		return hexLiteral([]byte(v)), nil
	case (t.Kind == schema.KindText || t.Kind == schema.KindJSON) && !s.srv.mariadb:
		return "(" + quoteString(v) + ")", nil // MySQL 8 takes TEXT/JSON defaults as expressions only
	}
	return quoteString(v), nil
}

// indexSQL renders an index definition (for CREATE TABLE and ALTER TABLE ADD).
func indexSQL(ix schema.Index) string {
	var b strings.Builder
	switch kind := strings.ToUpper(ix.Kind); {
	case kind == "FULLTEXT" || kind == "SPATIAL":
		b.WriteString(kind + " ")
	case ix.Unique:
		b.WriteString("UNIQUE ")
	}
	b.WriteString("INDEX " + quoteIdent(ix.Name) + " (")
	for i, p := range ix.Columns {
		if i > 0 {
			b.WriteByte(',')
		}
		if p.Expr != "" {
			b.WriteString("(" + p.Expr + ")")
		} else {
			b.WriteString(quoteIdent(p.Name))
			if p.Length > 0 {
				b.WriteString("(" + strconv.Itoa(p.Length) + ")")
			}
		}
		if p.Desc {
			b.WriteString(" DESC")
		}
	}
	b.WriteByte(')')
	if strings.EqualFold(ix.Kind, "HASH") {
		b.WriteString(" USING HASH")
	}
	return b.String()
}

// fkActions are the referential actions MySQL spells.
var fkActions = map[string]string{"RESTRICT": "RESTRICT", "CASCADE": "CASCADE", "SET NULL": "SET NULL",
	"NO ACTION": "NO ACTION", "SET DEFAULT": "SET DEFAULT"}

// foreignKeySQL renders a foreign key for ALTER TABLE ADD.
func foreignKeySQL(fk schema.ForeignKey, name string) (string, error) {
	var b strings.Builder
	b.WriteString("CONSTRAINT " + quoteIdent(name) + " FOREIGN KEY (" + quoteIdents(fk.Columns) + ") REFERENCES " +
		quoteTable(fk.RefSchema, fk.RefTable) + " (" + quoteIdents(fk.RefColumns) + ")")
	for _, a := range []struct{ clause, action string }{{" ON DELETE ", fk.OnDelete}, {" ON UPDATE ", fk.OnUpdate}} {
		if a.action == "" {
			continue
		}
		spelled, ok := fkActions[strings.ToUpper(a.action)]
		if !ok {
			return "", fmt.Errorf("foreign key %s: unknown action %q", fk.Name, a.action)
		}
		b.WriteString(a.clause + spelled)
	}
	return b.String(), nil
}
