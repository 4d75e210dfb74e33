package postgres

import (
	"fmt"
	"slices"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
)

// maxColumns is PostgreSQL's limit of columns per table.
const maxColumns = 1600

// mapTable returns the PostgreSQL table for src. From PostgreSQL, types,
// defaults, identity and generated expressions are kept verbatim (enum
// types move to the target schema, domains become their base types); from
// MySQL or MariaDB, types follow docs/design/full-load.md.
func mapTable(src *schema.Table, sourceEngine string) (*schema.Table, []connector.TypeProblem) {
	t := cloneTable(src)
	m := &mapper{t: t}
	m.names()
	if sourceEngine == string(job.EnginePostgreSQL) {
		m.samePostgres()
	} else {
		m.fromMySQL()
	}
	return t, m.problems
}

type mapper struct {
	t        *schema.Table
	problems []connector.TypeProblem
}

func (m *mapper) warn(column, typ, format string, args ...any) {
	m.problems = append(m.problems, connector.TypeProblem{Column: column, Type: typ, Reason: fmt.Sprintf(format, args...)})
}

func (m *mapper) fatal(column, typ, format string, args ...any) {
	m.problems = append(m.problems, connector.TypeProblem{Column: column, Type: typ, Reason: fmt.Sprintf(format, args...), Fatal: true})
}

// names refuses names PostgreSQL would cut, and tables it cannot hold.
func (m *mapper) names() {
	long := func(kind, name string) {
		if len(name) > maxIdent {
			m.fatal(name, kind, "the %s name is %d bytes long; PostgreSQL cuts names at %d bytes, which could merge distinct names: rename it with the job's rename rules", kind, len(name), maxIdent)
		}
	}
	long("schema", m.t.Schema)
	long("table", m.t.Name)
	for _, c := range m.t.Columns {
		long("column", c.Name)
	}
	if n := len(m.t.Columns); n > maxColumns {
		m.fatal("", "table", "the table has %d columns; PostgreSQL allows %d", n, maxColumns)
	}
}

// samePostgres keeps everything verbatim but for user types: an enum type
// is created in the target schema under its name, a domain is replaced by
// its base type (already in Raw).
func (m *mapper) samePostgres() {
	for i := range m.t.Columns {
		c := &m.t.Columns[i]
		retypeUserTypes(&c.Type, m.t.Schema, c.Name, m)
	}
}

func retypeUserTypes(t *schema.Type, targetSchema, column string, m *mapper) {
	if t.UserType != "" && t.Kind != schema.KindEnum {
		m.warn(column, t.UserType, "the column gets the domain's base type %s; the domain's constraints and default are not copied", t.Raw)
		t.UserType = ""
	}
	switch {
	case t.Kind == schema.KindArray && t.Elem != nil:
		retypeUserTypes(t.Elem, targetSchema, column, m)
		t.Raw = t.Elem.Raw + "[]"
	case t.Kind == schema.KindEnum && t.UserType != "":
		_, name, ok := splitQualified(t.UserType)
		if !ok {
			m.fatal(column, t.Raw, "cannot read the enum type's name %q", t.UserType)
			return
		}
		t.UserType = sqlName(targetSchema) + "." + sqlName(name)
		t.Raw = quoteQualified(targetSchema, name)
	}
}

func cloneTable(src *schema.Table) *schema.Table {
	t := *src
	t.Columns = slices.Clone(src.Columns)
	for i := range t.Columns {
		c := &t.Columns[i]
		c.Type = cloneType(c.Type)
		if c.Default != nil {
			d := *c.Default
			c.Default = &d
		}
		if c.Generated != nil {
			g := *c.Generated
			c.Generated = &g
		}
	}
	t.PrimaryKey = slices.Clone(src.PrimaryKey)
	t.Indexes = slices.Clone(src.Indexes)
	for i := range t.Indexes {
		t.Indexes[i].Columns = slices.Clone(t.Indexes[i].Columns)
	}
	t.ForeignKeys = slices.Clone(src.ForeignKeys)
	for i := range t.ForeignKeys {
		fk := &t.ForeignKeys[i]
		fk.Columns, fk.RefColumns = slices.Clone(fk.Columns), slices.Clone(fk.RefColumns)
	}
	t.Checks = slices.Clone(src.Checks)
	return &t
}

func cloneType(t schema.Type) schema.Type {
	t.Values = slices.Clone(t.Values)
	if t.Elem != nil {
		e := cloneType(*t.Elem)
		t.Elem = &e
	}
	return t
}
