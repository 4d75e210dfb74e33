package mysql

import (
	"fmt"
	"strings"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/schema"
)

// pgMapper spells a table read from another engine (PostgreSQL) in MySQL:
// types by logical kind, defaults translated, names made valid, and the
// problems listed: Fatal for values MySQL cannot hold at all, warnings for
// what may fail or change at runtime.
type pgMapper struct {
	srv      server
	t        *schema.Table
	problems []connector.TypeProblem
}

func (m *pgMapper) problem(col, typ string, fatal bool, format string, args ...any) {
	m.problems = append(m.problems, connector.TypeProblem{Column: col, Type: typ, Reason: fmt.Sprintf(format, args...), Fatal: fatal})
}

func (m *pgMapper) mapTable() {
	t := m.t
	t.Collation = binaryCollation(m.srv)
	for i := range t.Columns {
		m.column(&t.Columns[i])
	}
	m.keyColumns()
	m.indexes()
	m.foreignKeys()
	for _, ck := range t.Checks {
		m.problem(ck.Name, "CHECK", false, "check constraint %s is not created on MySQL: its expression is in the source's dialect", ck.Name)
	}
	t.Checks = nil
	m.autoIncrement()
	m.rowSize()
}

// column maps one column's type, default and generated expression.
func (m *pgMapper) column(c *schema.Column) {
	src := c.Type
	srcName := src.String()
	typ, fatal, reason := m.mapType(src)
	if reason != "" {
		m.problem(c.Name, srcName, fatal, "%s", reason)
	}
	c.Type = typ
	c.Charset, c.Collation = "", ""
	c.OnUpdateCurrentTimestamp = false
	c.Identity = ""
	if c.Generated != nil {
		m.problem(c.Name, srcName, false, "generated column %s becomes a plain column holding the copied values: "+
			"generation expressions differ between dialects", c.Name)
		c.Generated = nil
	}
	if c.AutoIncrement {
		c.Default = nil
	}
	m.translateDefault(c, srcName)
}

// translateDefault keeps literals, NULL, CURRENT_TIMESTAMP and CURRENT_DATE
// where the MySQL column takes them and drops the rest with a warning.
func (m *pgMapper) translateDefault(c *schema.Column, srcType string) {
	d := c.Default
	if d == nil {
		return
	}
	drop := func(why string) {
		m.problem(c.Name, srcType, false, "the default of %s is not created on MySQL: %s", c.Name, why)
		c.Default = nil
	}
	k := c.Type.Kind
	switch d.Kind {
	case schema.DefaultNull:
		if !c.Nullable {
			c.Default = nil
		}
	case schema.DefaultCurrentTimestamp:
		switch k {
		case schema.KindDateTime, schema.KindTimestamp:
			d.FSP = c.Type.FSP
		case schema.KindDate:
			d.Kind = schema.DefaultCurrentDate
		default:
			drop("MySQL has no current-time default for " + c.Type.Raw)
		}
	case schema.DefaultCurrentDate:
		if k != schema.KindDate {
			drop("MySQL has no current-date default for " + c.Type.Raw)
		}
	case schema.DefaultLiteral:
		if k == schema.KindBit && len(d.Value) != c.Type.Length {
			drop("the literal does not fit " + c.Type.Raw)
		}
	default:
		drop(fmt.Sprintf("%s is an expression in the source's dialect", d.Value))
	}
}

// keyColumns gives text and byte columns that are in the primary key, a
// unique index or a foreign key a length MySQL can index: it indexes at
// most 3,072 bytes of a key, so a LONGTEXT/LONGBLOB key column becomes a
// VARCHAR/VARBINARY sharing that.
func (m *pgMapper) keyColumns() {
	t := m.t
	keys := [][]string{t.PrimaryKey}
	for _, ix := range t.Indexes {
		if ix.Unique {
			var cols []string
			for _, p := range ix.Columns {
				cols = append(cols, p.Name)
			}
			keys = append(keys, cols)
		}
	}
	for _, fk := range t.ForeignKeys {
		keys = append(keys, fk.Columns)
	}
	limit := map[string]int{}
	for _, key := range keys {
		per := perLongColumn(t, key)
		for _, name := range key {
			if c, ok := t.Column(name); ok && (c.Type.Kind == schema.KindText || c.Type.Kind == schema.KindBlob) {
				if l, ok := limit[name]; !ok || per < l {
					limit[name] = per
				}
			}
		}
	}
	for name, n := range limit {
		c, _ := t.Column(name)
		if c.Type.Kind == schema.KindBlob {
			c.Type = schema.Type{Kind: schema.KindVarBinary, Length: n * 4, Raw: fmt.Sprintf("varbinary(%d)", n*4)}
			m.problem(name, c.Type.String(), false, "a key column becomes VARBINARY(%d) (MySQL indexes at most 3,072 bytes): longer values fail loudly", n*4)
			continue
		}
		c.Type = schema.Type{Kind: schema.KindVarChar, Length: n, Raw: fmt.Sprintf("varchar(%d)", n)}
		m.problem(name, "text", false, "a key column becomes VARCHAR(%d) (MySQL indexes at most 3,072 bytes): longer values fail loudly", n)
	}
}

// maxKeyBytes is the most bytes of a key InnoDB indexes.
const maxKeyBytes = 3072

// perLongColumn returns the characters each TEXT/BLOB column of key gets
// (as a VARCHAR length or a prefix) so that the key fits maxKeyBytes with
// its other columns.
func perLongColumn(t *schema.Table, key []string) int {
	budget, long := maxKeyBytes, 0
	for _, name := range key {
		c, ok := t.Column(name)
		if !ok {
			continue
		}
		switch c.Type.Kind {
		case schema.KindText, schema.KindBlob:
			long++
		case schema.KindChar, schema.KindVarChar:
			budget -= 4 * c.Type.Length
		case schema.KindBinary, schema.KindVarBinary:
			budget -= c.Type.Length
		case schema.KindDecimal:
			budget -= 32
		default:
			budget -= 16
		}
	}
	if long == 0 {
		return 0
	}
	return max(budget/4/long, 1)
}

// indexes keeps the indexes MySQL can build: B-tree indexes on columns;
// text and byte columns get a prefix; names are made unique and short.
func (m *pgMapper) indexes() {
	t := m.t
	var out []schema.Index
	for _, ix := range t.Indexes {
		kind := strings.ToUpper(ix.Kind)
		if kind != "" && kind != "BTREE" && kind != "HASH" {
			m.problem(ix.Name, "index using "+ix.Kind, false, "index %s is not created: MySQL has no %s indexes", ix.Name, ix.Kind)
			continue
		}
		if ix.Where != "" && ix.Unique {
			m.problem(ix.Name, "partial unique index", false, "unique index %s is not created: MySQL has no partial indexes "+
				"and the whole-table index would refuse rows the partial one admits", ix.Name)
			continue
		}
		if ix.Where != "" {
			m.problem(ix.Name, "partial index", false, "index %s is created on every row: MySQL has no partial indexes", ix.Name)
		}
		ok := true
		var cols []string
		for _, p := range ix.Columns {
			c, found := t.Column(p.Name)
			switch {
			case p.Expr != "" || !found:
				m.problem(ix.Name, "expression index", false, "index %s is not created: its expressions are in the source's dialect", ix.Name)
				ok = false
			case c.Type.Kind == schema.KindJSON:
				m.problem(ix.Name, "index on json", false, "index %s is not created: MySQL cannot index a JSON column", ix.Name)
				ok = false
			}
			if !ok {
				break
			}
			cols = append(cols, p.Name)
		}
		if !ok {
			continue
		}
		per := perLongColumn(t, cols)
		ix.Kind, ix.Where = "", ""
		parts := make([]schema.IndexColumn, len(ix.Columns))
		for i, p := range ix.Columns {
			c, _ := t.Column(p.Name)
			if c.Type.Kind == schema.KindText || c.Type.Kind == schema.KindBlob {
				p.Length = per
			}
			p.Opclass = ""
			parts[i] = p
		}
		ix.Columns = parts
		ix.Name = shortName(ix.Name)
		if sameName(ix.Name, "PRIMARY") {
			ix.Name += "_"
		}
		out = append(out, ix)
	}
	t.Indexes = out
}

// foreignKeys shortens names and maps actions InnoDB lacks.
func (m *pgMapper) foreignKeys() {
	for i := range m.t.ForeignKeys {
		fk := &m.t.ForeignKeys[i]
		fk.Name = shortName(fk.Name)
		for _, a := range []*string{&fk.OnDelete, &fk.OnUpdate} {
			if strings.EqualFold(*a, "SET DEFAULT") {
				m.problem(fk.Name, "foreign key", false, "foreign key %s: InnoDB has no SET DEFAULT action; NO ACTION is used", fk.Name)
				*a = "NO ACTION"
			}
		}
	}
}

// autoIncrement keeps AUTO_INCREMENT where MySQL takes it: one integer
// column per table, the first column of the primary key or of an index.
func (m *pgMapper) autoIncrement() {
	t := m.t
	seen := false
	for i := range t.Columns {
		c := &t.Columns[i]
		if !c.AutoIncrement {
			continue
		}
		switch {
		case seen:
			m.problem(c.Name, c.Type.Raw, false, "%s is a plain column: MySQL has one AUTO_INCREMENT column per table", c.Name)
			c.AutoIncrement = false
		case !c.Type.IsInteger() || !leadsIndex(t, c.Name):
			m.problem(c.Name, c.Type.Raw, false, "%s is a plain column: MySQL's AUTO_INCREMENT column must be an integer "+
				"that leads the primary key or an index", c.Name)
			c.AutoIncrement = false
		default:
			seen = true
		}
	}
}

// leadsIndex reports whether column leads the primary key or an index.
func leadsIndex(t *schema.Table, column string) bool {
	if len(t.PrimaryKey) > 0 && t.PrimaryKey[0] == column {
		return true
	}
	for _, ix := range t.Indexes {
		if len(ix.Columns) > 0 && ix.Columns[0].Name == column && ix.Columns[0].Expr == "" {
			return true
		}
	}
	return false
}

// rowSize turns the longest VARCHAR columns into TEXT classes while the
// columns together exceed MySQL's row size limit (65,535 bytes).
func (m *pgMapper) rowSize() {
	t := m.t
	const limit = 65535 - 1024 // room for the other columns' bytes
	for {
		total, longest := 0, -1
		for i, c := range t.Columns {
			switch c.Type.Kind {
			case schema.KindVarChar:
				total += c.Type.Length*4 + 2
				if longest < 0 || c.Type.Length > t.Columns[longest].Type.Length {
					if !inKey(t, c.Name) {
						longest = i
					}
				}
			case schema.KindChar:
				total += c.Type.Length * 4
			case schema.KindVarBinary:
				total += c.Type.Length + 2
			}
		}
		if total <= limit || longest < 0 {
			return
		}
		c := &t.Columns[longest]
		c.Type = textFor(c.Type.Length)
	}
}

// inKey reports whether column is part of the primary key or an index.
func inKey(t *schema.Table, column string) bool {
	for _, k := range t.PrimaryKey {
		if k == column {
			return true
		}
	}
	for _, ix := range t.Indexes {
		for _, p := range ix.Columns {
			if p.Name == column {
				return true
			}
		}
	}
	return false
}
