package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/schema"
)

// The schema history of a binlog stream: the structure of every followed
// table at the stream's position (docs/design/incremental.md). It starts
// from the tables Follow gets (their structure as of the start position)
// and changes with each DDL statement of the binlog, in binlog order, so
// that every row event is decoded with the structure it was written under.
// A table's structure is never changed in place: a DDL makes a new
// *schema.Table, so items already emitted keep the version they carry.

// tableKey names a table; with lower_case_table_names ≠ 0 both parts are
// lower-case.
type tableKey struct{ schema, name string }

func (k tableKey) String() string { return k.schema + "." + k.name }

// schemaHistory holds the followed tables' structures.
type schemaHistory struct {
	tables map[tableKey]*schema.Table
	// dbs are the followed databases (those of the selected tables): a table
	// created in one is followed from its creation.
	dbs map[string]bool
	// fold says the server compares table names case-insensitively.
	fold bool
	srv  server
	// Character sets and collations, from the server (static): which
	// charset a collation belongs to, a charset's default collation, each
	// database's default collation.
	charsetOf      map[string]string
	defaultOf      map[string]string
	dbCollation    map[string]string
	serverDefaults string // collation_server
	// fkIndexes are the foreign keys of the statement being applied.
	fkIndexes []fkIndex
}

// newSchemaHistory starts a history from tables.
func newSchemaHistory(tables []*schema.Table, srv server, fold bool) *schemaHistory {
	h := &schemaHistory{tables: map[tableKey]*schema.Table{}, dbs: map[string]bool{}, fold: fold, srv: srv,
		charsetOf: map[string]string{}, defaultOf: map[string]string{}, dbCollation: map[string]string{}}
	for _, t := range tables {
		h.tables[h.key(t.Schema, t.Name)] = t
		h.dbs[h.dbKey(t.Schema)] = true
	}
	return h
}

func (h *schemaHistory) key(schemaName, name string) tableKey {
	if h.fold {
		return tableKey{strings.ToLower(schemaName), strings.ToLower(name)}
	}
	return tableKey{schemaName, name}
}

func (h *schemaHistory) dbKey(name string) string {
	if h.fold {
		return strings.ToLower(name)
	}
	return name
}

// get returns a followed table's structure.
func (h *schemaHistory) get(schemaName, name string) *schema.Table {
	return h.tables[h.key(schemaName, name)]
}

// followsDB reports whether tables created in db are followed.
func (h *schemaHistory) followsDB(db string) bool { return h.dbs[h.dbKey(db)] }

// put records t as the structure of its table from now on.
func (h *schemaHistory) put(t *schema.Table) {
	// Lists in catalog.go's order (by name), empty ones nil.
	byName := func(a, b string) int {
		if c := strings.Compare(strings.ToLower(a), strings.ToLower(b)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	}
	slices.SortStableFunc(t.Indexes, func(a, b schema.Index) int { return byName(a.Name, b.Name) })
	slices.SortStableFunc(t.ForeignKeys, func(a, b schema.ForeignKey) int { return byName(a.Name, b.Name) })
	slices.SortStableFunc(t.Checks, func(a, b schema.Check) int { return byName(a.Name, b.Name) })
	if len(t.PrimaryKey) == 0 {
		t.PrimaryKey = nil
	}
	if len(t.Indexes) == 0 {
		t.Indexes = nil
	}
	if len(t.ForeignKeys) == 0 {
		t.ForeignKeys = nil
	}
	if len(t.Checks) == 0 {
		t.Checks = nil
	}
	h.tables[h.key(t.Schema, t.Name)] = t
}

// remove stops following a table.
func (h *schemaHistory) remove(k tableKey) { delete(h.tables, k) }

// list returns the followed tables, by name.
func (h *schemaHistory) list() []*schema.Table {
	out := make([]*schema.Table, 0, len(h.tables))
	for _, t := range h.tables {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *schema.Table) int { return strings.Compare(a.QualifiedName(), b.QualifiedName()) })
	return out
}

// loadCharsets reads the server's collations and the default collation of
// every database.
func (h *schemaHistory) loadCharsets(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, `SELECT COLLATION_NAME, COALESCE(CHARACTER_SET_NAME, ''), COALESCE(IS_DEFAULT, '')
		FROM information_schema.COLLATIONS`)
	if err != nil {
		return fmt.Errorf("read collations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, cs, def string
		if err := rows.Scan(&name, &cs, &def); err != nil {
			return err
		}
		name, cs = strings.ToLower(name), strings.ToLower(cs)
		if cs == "" { // MariaDB 11's uca1400 collations without a charset prefix
			continue
		}
		h.charsetOf[name] = cs
		if strings.EqualFold(def, "yes") {
			h.defaultOf[cs] = name
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read collations: %w", err)
	}
	if err := db.QueryRowContext(ctx, "SELECT @@collation_server").Scan(&h.serverDefaults); err != nil {
		return fmt.Errorf("read collation_server: %w", err)
	}
	rows, err = db.QueryContext(ctx, "SELECT SCHEMA_NAME, DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA")
	if err != nil {
		return fmt.Errorf("read database collations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, coll string
		if err := rows.Scan(&name, &coll); err != nil {
			return err
		}
		h.dbCollation[h.dbKey(name)] = coll
	}
	return rows.Err()
}

// charsetOfCollation returns the character set of a collation name.
func (h *schemaHistory) charsetOfCollation(coll string) string {
	coll = strings.ToLower(coll)
	if cs, ok := h.charsetOf[coll]; ok {
		return cs
	}
	if coll == "binary" {
		return "binary"
	}
	if i := strings.IndexByte(coll, '_'); i > 0 {
		return normalizeCharset(coll[:i])
	}
	return ""
}

// collationName spells a collation as the server reports it (utf8_bin is
// utf8mb3_bin on MariaDB 10.6+ and MySQL 8.0.30+).
func (h *schemaHistory) collationName(coll string) string {
	coll = strings.ToLower(coll)
	if _, ok := h.charsetOf[coll]; ok || !strings.HasPrefix(coll, "utf8_") {
		return coll
	}
	if alt := "utf8mb3_" + coll[len("utf8_"):]; h.charsetOf[alt] != "" {
		return alt
	}
	return coll
}

// defaultCollation returns a character set's default collation.
func (h *schemaHistory) defaultCollation(cs string) string {
	cs = normalizeCharset(cs)
	if c, ok := h.defaultOf[cs]; ok {
		return c
	}
	if cs == "binary" {
		return "binary"
	}
	return cs + "_general_ci"
}

// normalizeCharset spells a character set as information_schema does.
func normalizeCharset(cs string) string {
	cs = strings.ToLower(cs)
	if cs == "utf8" {
		return "utf8mb3"
	}
	return cs
}

// cloneTable returns a deep copy of t that a DDL may change.
func cloneTable(t *schema.Table) *schema.Table {
	c := *t
	c.Columns = slices.Clone(t.Columns)
	for i := range c.Columns {
		col := &c.Columns[i]
		col.Type.Values = slices.Clone(col.Type.Values)
		if col.Default != nil {
			d := *col.Default
			col.Default = &d
		}
		if col.Generated != nil {
			g := *col.Generated
			col.Generated = &g
		}
	}
	c.PrimaryKey = slices.Clone(t.PrimaryKey)
	c.Indexes = slices.Clone(t.Indexes)
	for i := range c.Indexes {
		c.Indexes[i].Columns = slices.Clone(c.Indexes[i].Columns)
	}
	c.ForeignKeys = slices.Clone(t.ForeignKeys)
	for i := range c.ForeignKeys {
		c.ForeignKeys[i].Columns = slices.Clone(c.ForeignKeys[i].Columns)
		c.ForeignKeys[i].RefColumns = slices.Clone(c.ForeignKeys[i].RefColumns)
	}
	c.Checks = slices.Clone(t.Checks)
	return &c
}

// readLive reads tables' structure from the server now; a table that does
// not exist is nil.
func readLive(ctx context.Context, cat *catalog, refs []tableKey) (map[tableKey]*schema.Table, error) {
	bySchema := map[string]map[string]*schema.Table{}
	for _, r := range refs {
		if bySchema[r.schema] == nil {
			bySchema[r.schema] = map[string]*schema.Table{}
		}
		bySchema[r.schema][r.name] = nil
	}
	out := map[tableKey]*schema.Table{}
	for db, tables := range bySchema {
		if err := cat.readSchema(ctx, db, tables); err != nil {
			return nil, fmt.Errorf("read the structure of database %s: %w", db, err)
		}
		for name, t := range tables {
			out[tableKey{db, name}] = t
		}
	}
	return out, nil
}

// sameLayout reports whether two structures decode row events alike:
// column names, order and types (kind, signedness, sizes, labels,
// character set).
func sameLayout(a, b *schema.Table) bool {
	if a == nil || b == nil || len(a.Columns) != len(b.Columns) {
		return false
	}
	for i := range a.Columns {
		x, y := &a.Columns[i], &b.Columns[i]
		if !strings.EqualFold(x.Name, y.Name) || !sameDecoding(x, y) {
			return false
		}
	}
	return true
}

// sameDecoding reports whether two columns' values decode alike.
func sameDecoding(x, y *schema.Column) bool {
	tx, ty := x.Type, y.Type
	return tx.Kind == ty.Kind && tx.Unsigned == ty.Unsigned && tx.Length == ty.Length && tx.Precision == ty.Precision &&
		tx.Scale == ty.Scale && tx.FSP == ty.FSP && tx.Size == ty.Size && tx.Binary == ty.Binary &&
		slices.Equal(tx.Values, ty.Values) && (!tx.IsText() && tx.Kind != schema.KindJSON ||
		strings.EqualFold(normalizeCharset(x.Charset), normalizeCharset(y.Charset)))
}

// refsOf lists the connector references of keys (for messages).
func refsOf(keys []tableKey) []connector.TableRef {
	out := make([]connector.TableRef, len(keys))
	for i, k := range keys {
		out[i] = connector.TableRef{Schema: k.schema, Name: k.name}
	}
	return out
}
