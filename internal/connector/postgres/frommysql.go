package postgres

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/dtsorg/dts/internal/schema"
)

// fromMySQL maps a MySQL/MariaDB table (docs/design/full-load.md, "MySQL /
// MariaDB → PostgreSQL").
func (m *mapper) fromMySQL() {
	t := m.t
	m.mysqlChecks() // before mysqlColumn adds the checks of ENUM columns
	for i := range t.Columns {
		m.mysqlColumn(&t.Columns[i])
	}
	t.Collation = ""
	m.mysqlIndexes()
	for i := range t.ForeignKeys {
		fk := &t.ForeignKeys[i]
		if fk.Name == "" || len(fk.Name) > maxIdent {
			fk.Name = shortName(t.Name + "_" + strings.Join(fk.Columns, "_") + "_fkey")
		}
		if fk.RefSchema == "" {
			fk.RefSchema = t.Schema
		}
	}
}

func (m *mapper) mysqlColumn(c *schema.Column) {
	src := c.Type
	key := c.AutoIncrement || m.isKey(c.Name)
	target, ok := mysqlType(src, key)
	if !ok {
		m.fatal(c.Name, src.String(), "PostgreSQL has no type that holds MySQL's %s values; leave the column out or change its type on the source", src.String())
		return
	}
	c.Type = target
	c.Charset, c.Collation = "", ""
	if src.Kind == schema.KindInt64 && src.Unsigned && key {
		m.warn(c.Name, src.String(), "BIGINT UNSIGNED key becomes bigint, so that keys, identities and foreign keys match: a value above 9223372036854775807 fails loudly")
	}
	if src.Kind == schema.KindEnum {
		m.t.Checks = append(m.t.Checks, schema.Check{
			Name: shortName(m.t.Name + "_" + c.Name + "_check"),
			Expr: quoteIdent(c.Name) + " IN (" + literalList(src.Values) + ")",
		})
	}
	if c.Generated != nil {
		m.warn(c.Name, src.String(), "generated column (%s): created as a plain column holding the copied values; its expression is MySQL SQL and is not translated", c.Generated.Expr)
		c.Generated = nil
	}
	if c.OnUpdateCurrentTimestamp {
		m.warn(c.Name, src.String(), "ON UPDATE CURRENT_TIMESTAMP needs a trigger in PostgreSQL: the column keeps the copied values but is not updated by later UPDATEs")
		c.OnUpdateCurrentTimestamp = false
	}
	if c.AutoIncrement {
		if target.IsInteger() {
			c.Identity = "BY DEFAULT" // copied explicit ids insert
			c.Default = nil
		} else {
			m.warn(c.Name, src.String(), "AUTO_INCREMENT on a non-integer column: PostgreSQL identity columns are integers, so the column gets no generated values")
			c.AutoIncrement = false
		}
	}
	m.mysqlDefault(c, src)
}

// isKey reports whether a column is AUTO_INCREMENT-like key material: in
// the primary key or a foreign key.
func (m *mapper) isKey(name string) bool {
	if slices.Contains(m.t.PrimaryKey, name) {
		return true
	}
	for _, fk := range m.t.ForeignKeys {
		if slices.Contains(fk.Columns, name) {
			return true
		}
	}
	return false
}

// mysqlType returns the PostgreSQL type for a MySQL type; false when there
// is none. BIGINT UNSIGNED is numeric(20,0), or bigint for a key column
// (key): a numeric primary key could not be an identity, nor match the
// bigint of a foreign key.
func mysqlType(s schema.Type, key bool) (schema.Type, bool) {
	k := schema.Type{}
	set := func(kind schema.Kind, raw string) { k.Kind, k.Raw = kind, raw }
	fspSuffix := func(base string) string { return fmt.Sprintf("%s(%d)", base, min(max(s.FSP, 0), 6)) }
	switch s.Kind {
	case schema.KindBool:
		set(schema.KindBool, "boolean")
	case schema.KindInt8, schema.KindYear:
		set(schema.KindInt16, "smallint")
	case schema.KindInt16:
		if s.Unsigned {
			set(schema.KindInt32, "integer")
		} else {
			set(schema.KindInt16, "smallint")
		}
	case schema.KindInt24:
		set(schema.KindInt32, "integer")
	case schema.KindInt32:
		if s.Unsigned {
			set(schema.KindInt64, "bigint")
		} else {
			set(schema.KindInt32, "integer")
		}
	case schema.KindInt64:
		if s.Unsigned && !key {
			set(schema.KindDecimal, "numeric(20,0)")
			k.Precision = 20
		} else {
			set(schema.KindInt64, "bigint")
		}
	case schema.KindDecimal:
		set(schema.KindDecimal, "numeric")
		if s.Precision > 0 {
			k.Precision, k.Scale = s.Precision, s.Scale
			k.Raw = fmt.Sprintf("numeric(%d,%d)", s.Precision, s.Scale)
		}
	case schema.KindFloat32:
		set(schema.KindFloat32, "real")
	case schema.KindFloat64:
		set(schema.KindFloat64, "double precision")
	case schema.KindChar, schema.KindVarChar:
		if s.Binary {
			set(schema.KindBlob, "bytea")
			break
		}
		k.Length = max(s.Length, 1)
		set(schema.KindVarChar, fmt.Sprintf("character varying(%d)", k.Length))
	case schema.KindText:
		if s.Binary {
			set(schema.KindBlob, "bytea")
		} else {
			set(schema.KindText, "text")
		}
	case schema.KindBinary, schema.KindVarBinary, schema.KindBlob:
		set(schema.KindBlob, "bytea")
	case schema.KindDate:
		set(schema.KindDate, "date")
	case schema.KindTime:
		set(schema.KindInterval, fspSuffix("interval"))
		k.FSP = s.FSP
	case schema.KindTimeTZ:
		set(schema.KindTimeTZ, fspSuffix("time")+" with time zone")
		k.FSP = s.FSP
	case schema.KindDateTime:
		set(schema.KindDateTime, fspSuffix("timestamp")+" without time zone")
		k.FSP = s.FSP
	case schema.KindTimestamp:
		set(schema.KindTimestamp, fspSuffix("timestamp")+" with time zone")
		k.FSP = s.FSP
	case schema.KindInterval:
		set(schema.KindInterval, "interval")
		k.FSP = 6
	case schema.KindJSON:
		set(schema.KindJSON, "json") // json keeps the text exactly; jsonb would reorder keys
	case schema.KindEnum:
		n := 1
		for _, v := range s.Values {
			n = max(n, utf8.RuneCountInString(v))
		}
		k.Length = n
		set(schema.KindVarChar, fmt.Sprintf("character varying(%d)", n))
	case schema.KindSet:
		n := max(len(s.Values)-1, 0)
		for _, v := range s.Values {
			n += utf8.RuneCountInString(v)
		}
		k.Length = max(n, 1)
		set(schema.KindVarChar, fmt.Sprintf("character varying(%d)", k.Length))
	case schema.KindBit:
		k.Length = max(s.Length, 1)
		if s.VarBit {
			k.VarBit = true
			set(schema.KindBit, fmt.Sprintf("bit varying(%d)", k.Length))
		} else {
			set(schema.KindBit, fmt.Sprintf("bit(%d)", k.Length))
		}
	case schema.KindUUID:
		set(schema.KindUUID, "uuid")
	case schema.KindInet:
		set(schema.KindInet, "inet")
	case schema.KindCidr:
		set(schema.KindCidr, "cidr")
	case schema.KindMacAddr:
		set(schema.KindMacAddr, "macaddr")
	case schema.KindMoney:
		set(schema.KindMoney, "money")
	case schema.KindXML:
		set(schema.KindXML, "xml")
	default: // unknown, spatial, arrays
		return s, false
	}
	return k, true
}

var bitLiteral = regexp.MustCompile(`^[bB]'([01]*)'$`)

// mysqlDefault translates a default: literals, NULL, CURRENT_TIMESTAMP and
// CURRENT_DATE; other expressions are MySQL SQL and are dropped.
func (m *mapper) mysqlDefault(c *schema.Column, src schema.Type) {
	d := c.Default
	if d == nil {
		return
	}
	switch d.Kind {
	case schema.DefaultLiteral:
		v := d.Value
		if src.Kind == schema.KindBit {
			if sub := bitLiteral.FindStringSubmatch(v); sub != nil {
				v = sub[1]
			}
			if len(v) < c.Type.Length {
				v = strings.Repeat("0", c.Type.Length-len(v)) + v
			}
		}
		if _, err := encoderFor(src, c.Type).appendText(nil, []byte(v)); err != nil {
			m.warn(c.Name, src.String(), "the default %q cannot be held (%v): the column gets no default", d.Value, err)
			c.Default = nil
			return
		}
		d.Value = v
	case schema.DefaultNull, schema.DefaultCurrentDate:
		d.Value = ""
	case schema.DefaultCurrentTimestamp:
		d.Value = ""
		d.FSP = min(max(d.FSP, 0), 6)
	default:
		m.warn(c.Name, src.String(), "the default expression %s is MySQL SQL and is not translated: the column gets no default", d.Value)
		c.Default = nil
	}
}

// mysqlIndexes names indexes uniquely per schema (table_index, as MySQL
// names them per table) and turns prefix parts into expressions.
func (m *mapper) mysqlIndexes() {
	t := m.t
	var out []schema.Index
	for _, ix := range t.Indexes {
		switch strings.ToUpper(ix.Kind) {
		case "FULLTEXT", "SPATIAL":
			m.warn(ix.Name, ix.Kind+" index", "PostgreSQL has no %s indexes: the index is not created", ix.Kind)
			continue
		}
		ok := true
		for i := range ix.Columns {
			p := &ix.Columns[i]
			c, found := t.Column(p.Name)
			switch {
			case p.Expr != "" || !found:
				ok = false
			case p.Length > 0 && c.Type.IsBinary():
				p.Name, p.Length, p.Expr = "", 0, fmt.Sprintf("substring(%s from 1 for %d)", quoteIdent(p.Name), p.Length)
			case p.Length > 0:
				p.Name, p.Length, p.Expr = "", 0, fmt.Sprintf("left(%s, %d)", quoteIdent(p.Name), p.Length)
			}
		}
		if !ok {
			m.warn(ix.Name, "index", "the index has an expression part (MySQL SQL, not translated): the index is not created")
			continue
		}
		ix.Name = shortName(t.Name + "_" + ix.Name)
		ix.Kind, ix.Where = "", ""
		out = append(out, ix)
	}
	t.Indexes = out
}

// mysqlChecks drops MySQL CHECK constraints: they are MySQL SQL. MariaDB's
// json_valid checks of JSON columns go silently: the json type validates.
func (m *mapper) mysqlChecks() {
	for _, ck := range m.t.Checks {
		if !strings.HasPrefix(strings.ToLower(strings.TrimLeft(ck.Expr, "( ")), "json_valid(") {
			m.warn(ck.Name, "CHECK", "CHECK (%s) is MySQL SQL and is not translated: the constraint is not created", ck.Expr)
		}
	}
	m.t.Checks = nil
}

// literalList renders labels as a list of string constants.
func literalList(values []string) string {
	q := make([]string, len(values))
	for i, v := range values {
		q[i] = quoteLiteral(v)
	}
	return strings.Join(q, ", ")
}
