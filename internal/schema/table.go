// Package schema is dts's engine-neutral model of tables: columns with
// logical types, keys, indexes, foreign keys. Connectors read a source's
// catalog into it and render it as DDL in a target's dialect; the type
// mapping between engines is explicit tables in this package (mapping.go,
// documented in docs/type-mapping.md).
//
// The package imports no database driver.
package schema

import (
	"slices"
	"strings"
)

// Table is one table.
type Table struct {
	// Schema is the MySQL database or the PostgreSQL schema.
	Schema string
	Name   string
	// Columns in ordinal order.
	Columns []Column
	// PrimaryKey lists the primary key's column names in key order; empty
	// when the table has none.
	PrimaryKey []string
	// Indexes are the secondary indexes, unique ones included (not the primary key).
	Indexes     []Index
	ForeignKeys []ForeignKey
	// Checks are CHECK constraints in the source's dialect (same-engine copies only).
	Checks  []Check
	Comment string
	// Collation is the MySQL table's default collation (MySQL only).
	Collation string
	// Partitioned says the source table is partitioned (PostgreSQL parent or
	// MySQL partitions); the target gets a plain table.
	Partitioned bool
}

// Column is one column.
type Column struct {
	Name     string
	Type     Type
	Nullable bool
	// Default is nil when the column has none.
	Default *Default
	// AutoIncrement is MySQL AUTO_INCREMENT or a PostgreSQL identity/serial column.
	AutoIncrement bool
	// Identity is a PostgreSQL identity column's kind, ALWAYS or BY DEFAULT
	// (with AutoIncrement); "" for serial columns and MySQL AUTO_INCREMENT.
	Identity string
	// Generated is set for generated (computed) columns.
	Generated *Generated
	// OnUpdateCurrentTimestamp is MySQL's ON UPDATE CURRENT_TIMESTAMP.
	OnUpdateCurrentTimestamp bool
	Comment                  string
	// Charset and Collation of a MySQL text column; Collation of a PostgreSQL one.
	Charset   string
	Collation string
}

// Default is a column default.
type Default struct {
	// Kind says how to read Value.
	Kind DefaultKind
	// Value is the literal in canonical text form (DefaultLiteral) or the
	// expression in the source's dialect (DefaultExpression).
	Value string
	// FSP is the precision of CURRENT_TIMESTAMP(n).
	FSP int
}

// DefaultKind classifies a default so it can be rendered in another dialect.
type DefaultKind int

const (
	DefaultLiteral          DefaultKind = iota // a constant
	DefaultNull                                // DEFAULT NULL
	DefaultCurrentTimestamp                    // CURRENT_TIMESTAMP / now()
	DefaultCurrentDate                         // CURRENT_DATE
	DefaultExpression                          // anything else: kept for same-engine copies only
)

// Generated describes a generated column.
type Generated struct {
	// Expr is the expression in the source's dialect.
	Expr   string
	Stored bool
}

// Index is a secondary index.
type Index struct {
	Name    string
	Unique  bool
	Columns []IndexColumn
	// Kind is BTREE (default), HASH, FULLTEXT, SPATIAL, GIN, GIST... as the source names it.
	Kind string
	// Where is a PostgreSQL partial index predicate (same-engine copies only).
	Where string
}

// OnColumns reports whether the index is exactly the whole columns cols, in
// any order (no expression part, no prefix).
func (ix Index) OnColumns(cols []string) bool {
	if len(ix.Columns) != len(cols) {
		return false
	}
	for _, p := range ix.Columns {
		if p.Expr != "" || p.Length > 0 || !slices.Contains(cols, p.Name) {
			return false
		}
	}
	return true
}

// IndexColumn is one part of an index.
type IndexColumn struct {
	// Name is the column; Expr is set instead for an expression part.
	Name string
	Expr string
	Desc bool
	// Length is a MySQL prefix length in characters (0: whole column).
	Length int
	// Opclass is a PostgreSQL operator class that is not the column type's
	// default (text_pattern_ops, gin_trgm_ops...), as SQL (same-engine copies only).
	Opclass string
}

// ForeignKey is a foreign key constraint.
type ForeignKey struct {
	Name       string
	Columns    []string
	RefSchema  string
	RefTable   string
	RefColumns []string
	OnDelete   string // NO ACTION, RESTRICT, CASCADE, SET NULL, SET DEFAULT
	OnUpdate   string
}

// Check is a CHECK constraint.
type Check struct {
	Name string
	Expr string
}

// Column returns the column named name.
func (t *Table) Column(name string) (*Column, bool) {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return &t.Columns[i], true
		}
	}
	return nil, false
}

// ColumnIndex returns the ordinal (0-based) of the column named name, or -1.
func (t *Table) ColumnIndex(name string) int {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return i
		}
	}
	return -1
}

// ChunkKey returns the columns rows can be ordered and chunked by: the
// primary key, else the first unique index whose columns are all NOT NULL,
// else nil (the table is copied in one stream).
func (t *Table) ChunkKey() []string {
	if len(t.PrimaryKey) > 0 {
		return t.PrimaryKey
	}
	for _, ix := range t.Indexes {
		if !ix.Unique || ix.Where != "" {
			continue
		}
		ok := true
		var cols []string
		for _, c := range ix.Columns {
			col, found := t.Column(c.Name)
			if c.Expr != "" || c.Length > 0 || !found || col.Nullable {
				ok = false
				break
			}
			cols = append(cols, c.Name)
		}
		if ok {
			return cols
		}
	}
	return nil
}

// QualifiedName is schema.name, for messages (never for SQL: quote per dialect).
func (t *Table) QualifiedName() string { return t.Schema + "." + t.Name }

// String is the qualified name.
func (t *Table) String() string { return t.QualifiedName() }

// HasGenerated reports whether any column is generated.
func (t *Table) HasGenerated() bool {
	for _, c := range t.Columns {
		if c.Generated != nil {
			return true
		}
	}
	return false
}

// Names returns the column names.
func (t *Table) Names() []string {
	out := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		out[i] = c.Name
	}
	return out
}

// EqualFold reports whether two identifiers are equal ignoring case, as
// MySQL compares column names.
func EqualFold(a, b string) bool { return strings.EqualFold(a, b) }
