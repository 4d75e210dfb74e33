package mysql

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/schema"
)

// MapTable returns the MySQL table for a source table. From MySQL or
// MariaDB every type, charset, collation, default and generated expression
// is kept verbatim (the few MariaDB-only types become their text form on a
// MySQL target); from PostgreSQL the types are spelled per
// docs/design/full-load.md ("PostgreSQL → MySQL") with the problems listed.
func (s *Sink) MapTable(src *schema.Table, sourceEngine string) (*schema.Table, []connector.TypeProblem) {
	t := copyTable(src)
	switch sourceEngine {
	case "mysql", "mariadb":
		s.mapSameEngine(t)
		return t, nil
	}
	m := &pgMapper{srv: s.srv, t: t}
	m.mapTable()
	return t, m.problems
}

// mapSameEngine adapts the types one flavor has and the other lacks.
func (s *Sink) mapSameEngine(t *schema.Table) {
	if s.srv.mariadb {
		return
	}
	for i := range t.Columns {
		c := &t.Columns[i]
		switch c.Type.Kind {
		case schema.KindJSON: // MariaDB's JSON is a LONGTEXT; MySQL has the type
			c.Type.Raw, c.Charset, c.Collation = "json", "", ""
		case schema.KindUUID:
			c.Type = schema.Type{Kind: schema.KindChar, Length: 36, Raw: "char(36)"}
			c.Charset, c.Collation = "ascii", "ascii_general_ci"
		case schema.KindInet:
			c.Type = schema.Type{Kind: schema.KindVarChar, Length: 45, Raw: "varchar(45)"}
			c.Charset, c.Collation = "ascii", "ascii_general_ci"
		}
	}
}

// copyTable returns a deep copy of t (nil slices stay nil).
func copyTable(src *schema.Table) *schema.Table {
	t := *src
	t.Columns = clone(src.Columns)
	for i := range t.Columns {
		c := &t.Columns[i]
		if c.Default != nil {
			d := *c.Default
			c.Default = &d
		}
		if c.Generated != nil {
			g := *c.Generated
			c.Generated = &g
		}
		c.Type.Values = clone(c.Type.Values)
	}
	t.PrimaryKey = clone(src.PrimaryKey)
	t.Indexes = clone(src.Indexes)
	for i := range t.Indexes {
		t.Indexes[i].Columns = clone(t.Indexes[i].Columns)
	}
	t.ForeignKeys = clone(src.ForeignKeys)
	for i := range t.ForeignKeys {
		t.ForeignKeys[i].Columns = clone(t.ForeignKeys[i].Columns)
		t.ForeignKeys[i].RefColumns = clone(t.ForeignKeys[i].RefColumns)
	}
	t.Checks = clone(src.Checks)
	return &t
}

func clone[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append(make([]T, 0, len(s)), s...)
}

// maxIdent is MySQL's identifier length limit, in characters.
const maxIdent = 64

// shortName returns name if MySQL takes it, else a deterministic name of
// 64 characters: a prefix and a hash of the whole name.
func shortName(name string) string {
	if utf8.RuneCountInString(name) <= maxIdent {
		return name
	}
	sum := sha256.Sum256([]byte(name))
	suffix := "_" + hex.EncodeToString(sum[:4])
	runes := []rune(name)
	return string(runes[:maxIdent-len(suffix)]) + suffix
}

// binaryCollation is the utf8mb4 collation that compares text as
// PostgreSQL's deterministic collations do for equality: by code point,
// trailing spaces significant.
func binaryCollation(srv server) string {
	switch {
	case srv.mariadb && srv.atLeast(10, 2, 0):
		return "utf8mb4_nopad_bin"
	case !srv.mariadb && srv.atLeast(8, 0, 17):
		return "utf8mb4_0900_bin"
	}
	return "utf8mb4_bin"
}

// isKeyword reports whether two index names collide in MySQL (case-insensitive).
func sameName(a, b string) bool { return strings.EqualFold(a, b) }
