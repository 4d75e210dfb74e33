package postgres

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// PostgreSQL sends no DDL. pgoutput describes a table in a RELATION
// message before the first change to it in a walsender session, and again
// before the first change after anything invalidated it (DDL, but also
// VACUUM or ANALYZE updating pg_class). The message has the columns as of
// that change (names, type oids and modifiers, replica identity key); dts
// compares it with the structure it knows and reports a difference as a
// DDL item; columns whose names changed are matched by attnum
// (logical_attnum.go), never by position. Everything else (nullability, defaults, indexes, the primary
// key under REPLICA IDENTITY FULL) comes from the catalog as it is now:
// right when nothing changed the table again since that change. When it
// did, the columns still follow the message and only the attributes of
// columns the catalog still has unchanged are taken from it.

// relation is how the stream decodes one table's tuples.
type relation struct {
	oid      uint32
	fp       string // the RELATION message's fingerprint
	table    *schema.Table
	identity byte // d default, n nothing, f full, i index
	cols     []relColumn
	key      []int // table column indexes of the replica identity key
}

// relColumn is one column of a RELATION message.
type relColumn struct {
	idx int // in table.Columns
	dec columnDecoder
}

// fingerprint identifies a RELATION message's content.
func fingerprint(m *pglogrepl.RelationMessage) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d\x00%s\x00%s\x00%c", m.RelationID, m.Namespace, m.RelationName, m.ReplicaIdentity)
	for _, c := range m.Columns {
		fmt.Fprintf(&b, "\x00%s\x00%d\x00%d\x00%d", c.Name, c.DataType, c.TypeModifier, c.Flags)
	}
	return b.String()
}

// newRelation prepares the decoding of m's tuples into table's columns.
func newRelation(m *pglogrepl.RelationMessage, fp string, table *schema.Table, moneyScale int) (*relation, error) {
	r := &relation{oid: m.RelationID, fp: fp, table: table, identity: m.ReplicaIdentity, cols: make([]relColumn, len(m.Columns))}
	for i, c := range m.Columns {
		idx := table.ColumnIndex(c.Name)
		if idx < 0 {
			return nil, fmt.Errorf("relation message of %s has column %s, the table does not", table, c.Name)
		}
		r.cols[i] = relColumn{idx: idx, dec: logicalDecoderFor(table.Columns[idx].Type, moneyScale)}
		if c.Flags&1 != 0 {
			r.key = append(r.key, idx)
		}
	}
	return r, nil
}

// sameShape reports whether t has m's columns (generated columns aside:
// pgoutput does not send them) with the same types, and, under the
// default identity, m's key as its primary key.
func sameShape(t *schema.Table, m *pglogrepl.RelationMessage, types []schema.Type) bool {
	i := 0
	for _, c := range t.Columns {
		if c.Generated != nil {
			continue
		}
		if i == len(m.Columns) || c.Name != m.Columns[i].Name || !sameType(c.Type, types[i]) {
			return false
		}
		i++
	}
	if i != len(m.Columns) {
		return false
	}
	if m.ReplicaIdentity == 'd' {
		var key []string
		for _, c := range m.Columns {
			if c.Flags&1 != 0 {
				key = append(key, c.Name)
			}
		}
		pk := slices.Clone(t.PrimaryKey)
		slices.Sort(key)
		slices.Sort(pk)
		return slices.Equal(key, pk)
	}
	return true
}

// sameType compares what a type means for values (not array dimensions,
// not enum labels).
func sameType(a, b schema.Type) bool {
	return a.Kind == b.Kind && a.Raw == b.Raw && a.UserType == b.UserType
}

// messageTypes resolves the types of m's columns.
func (d *logicalDecoder) messageTypes(ctx context.Context, m *pglogrepl.RelationMessage) ([]schema.Type, error) {
	types := make([]schema.Type, len(m.Columns))
	for i, c := range m.Columns {
		t, err := d.types.resolve(ctx, c.DataType, c.TypeModifier)
		if err != nil {
			return nil, fmt.Errorf("column %s of %s.%s: %w", c.Name, m.Namespace, m.RelationName, err)
		}
		types[i] = t
	}
	return types, nil
}

// structureFor returns the table m describes, read from the catalog (see
// the top of the file). One fingerprint always gives the same structure, so
// a transaction replayed after a reconnect decodes as the first time.
func (d *logicalDecoder) structureFor(ctx context.Context, m *pglogrepl.RelationMessage, fp string, types []schema.Type) (*schema.Table, error) {
	if t, ok := d.built[fp]; ok {
		return t, nil
	}
	cat, err := d.src.tableByOID(ctx, m.RelationID)
	if err != nil {
		return nil, err
	}
	var t *schema.Table
	if cat != nil && sameShape(cat, m, types) {
		t = cat
	} else {
		t = mergeStructure(cat, m, types)
	}
	t.Schema, t.Name = m.Namespace, m.RelationName
	d.built[fp] = t
	return t, nil
}

// mergeStructure builds the table of m when the catalog (cat, nil if the
// table is gone) has moved on: m's columns, with the catalog's attributes
// for the columns it still has with the same type.
func mergeStructure(cat *schema.Table, m *pglogrepl.RelationMessage, types []schema.Type) *schema.Table {
	t := &schema.Table{Schema: m.Namespace, Name: m.RelationName}
	if cat == nil {
		cat = &schema.Table{}
	}
	t.Comment, t.Partitioned, t.Collation = cat.Comment, cat.Partitioned, cat.Collation
	has := map[string]bool{}
	for i, c := range m.Columns {
		col := schema.Column{Name: c.Name, Type: types[i], Nullable: true}
		if cc, ok := cat.Column(c.Name); ok && cc.Generated == nil && sameType(cc.Type, types[i]) {
			col = *cc
		}
		t.Columns = append(t.Columns, col)
		has[c.Name] = true
	}
	all := func(names []string) bool {
		for _, n := range names {
			if !has[n] {
				return false
			}
		}
		return len(names) > 0
	}
	if all(cat.PrimaryKey) {
		t.PrimaryKey = cat.PrimaryKey
	} else if m.ReplicaIdentity == 'd' {
		for _, c := range m.Columns {
			if c.Flags&1 != 0 {
				t.PrimaryKey = append(t.PrimaryKey, c.Name)
			}
		}
	}
	for _, ix := range cat.Indexes {
		var cols []string
		for _, c := range ix.Columns {
			if c.Expr == "" {
				cols = append(cols, c.Name)
			}
		}
		if all(cols) {
			t.Indexes = append(t.Indexes, ix)
		}
	}
	for _, fk := range cat.ForeignKeys {
		if all(fk.Columns) {
			t.ForeignKeys = append(t.ForeignKeys, fk)
		}
	}
	return t
}

// tableByOID reads a table's structure by oid, nil if it no longer exists.
func (s *Source) tableByOID(ctx context.Context, oid uint32) (*schema.Table, error) {
	tx, err := s.pool.BeginTx(ctx, pgxTxReadOnly)
	if err != nil {
		return nil, wrapErr(err, "read table %d", oid)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var ref connector.TableRef
	err = tx.QueryRow(ctx, `SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE c.oid = $1`, oid).Scan(&ref.Schema, &ref.Name)
	if err == pgx.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, wrapErr(err, "read table %d", oid)
	}
	tables, err := readTables(ctx, tx, []connector.TableRef{ref})
	if err != nil {
		return nil, err
	}
	return tables[0], nil
}

// ddlBetween describes how a table changed from old to new, nil if it did
// not: rename_table when its name changed (its columns may have changed
// too: Table is the whole new structure), else alter_table. renames are the
// columns renamed (logical_attnum.go); a column of old missing from new and
// not renamed was dropped.
func ddlBetween(old, new *schema.Table, renames map[string]string) *change.DDL {
	renamed := old.Schema != new.Schema || old.Name != new.Name
	altered := colsDiffer(old, new)
	var parts []string
	if renamed {
		parts = append(parts, "rename to "+new.String())
	}
	if altered {
		parts = append(parts, describeChange(old, new, renames))
	}
	if len(renames) == 0 {
		renames = nil
	}
	switch {
	case renamed:
		return &change.DDL{Kind: job.DDLRenameTable, Schema: new.Schema, Old: old, Table: new, Renames: renames,
			Statement: "alter table " + old.String() + ": " + strings.Join(parts, ", ") + " (from a relation message)"}
	case altered:
		return &change.DDL{Kind: job.DDLAlterTable, Schema: new.Schema, Old: old, Table: new, Renames: renames,
			Statement: "alter table " + new.String() + ": " + strings.Join(parts, ", ") + " (from a relation message)"}
	}
	return nil
}

// colsDiffer reports a difference in columns or primary key.
func colsDiffer(a, b *schema.Table) bool {
	if len(a.Columns) != len(b.Columns) || !slices.Equal(a.PrimaryKey, b.PrimaryKey) {
		return true
	}
	for i := range a.Columns {
		if a.Columns[i].Name != b.Columns[i].Name || !sameType(a.Columns[i].Type, b.Columns[i].Type) ||
			(a.Columns[i].Generated == nil) != (b.Columns[i].Generated == nil) {
			return true
		}
	}
	return false
}

// describeChange lists renamed, added, retyped and dropped columns and a
// changed key.
func describeChange(old, new *schema.Table, renames map[string]string) string {
	var parts []string
	from := map[string]string{} // new name -> old name of renamed columns
	for _, c := range old.Columns {
		if to, ok := renames[c.Name]; ok {
			parts = append(parts, "rename column "+c.Name+" to "+to)
			from[to] = c.Name
		}
	}
	for _, c := range new.Columns {
		was, ok := from[c.Name]
		if !ok {
			if _, away := renames[c.Name]; !away {
				was = c.Name
			}
		}
		oc, existed := old.Column(was)
		switch {
		case was == "" || !existed:
			parts = append(parts, "add column "+c.Name+" "+c.Type.Raw)
		case !sameType(oc.Type, c.Type):
			parts = append(parts, "alter column "+c.Name+" type "+c.Type.Raw+" (was "+oc.Type.Raw+")")
		}
	}
	for _, c := range old.Columns {
		if _, ok := renames[c.Name]; ok {
			continue
		}
		if _, kept := new.Column(c.Name); !kept || from[c.Name] != "" {
			parts = append(parts, "drop column "+c.Name)
		}
	}
	if !slices.Equal(old.PrimaryKey, new.PrimaryKey) {
		parts = append(parts, "primary key ("+strings.Join(new.PrimaryKey, ", ")+") (was ("+strings.Join(old.PrimaryKey, ", ")+"))")
	}
	if len(parts) == 0 {
		parts = append(parts, "columns reordered")
	}
	return strings.Join(parts, ", ")
}

// rowOf decodes an INSERT, UPDATE or DELETE into a row change.
func (r *relation) rowOf(msg pglogrepl.Message) (*change.Row, error) {
	switch m := msg.(type) {
	case *pglogrepl.InsertMessage:
		after, present, err := r.tupleValues(m.Tuple)
		if err != nil {
			return nil, err
		}
		return &change.Row{Op: change.OpInsert, Table: r.table, After: after, Missing: missingOf(present)}, nil
	case *pglogrepl.UpdateMessage:
		after, present, err := r.tupleValues(m.NewTuple)
		if err != nil {
			return nil, err
		}
		row := &change.Row{Op: change.OpUpdate, Table: r.table, After: after}
		if err := r.oldRow(row, m.OldTupleType, m.OldTuple, after); err != nil {
			return nil, err
		}
		// An unchanged TOASTed value ('u') is never NULL and never a
		// placeholder: it is Missing, unless the old tuple (REPLICA
		// IDENTITY FULL, or the key) carries it.
		if row.Before != nil {
			fill := r.key
			if !row.BeforeKeyOnly {
				fill = nil
				for i := range r.table.Columns {
					fill = append(fill, i)
				}
			}
			for _, i := range fill {
				if !present[i] && row.Before[i] != nil {
					after[i], present[i] = row.Before[i], true
				}
			}
		}
		row.Missing = missingOf(present)
		return row, nil
	case *pglogrepl.DeleteMessage:
		row := &change.Row{Op: change.OpDelete, Table: r.table}
		if err := r.oldRow(row, m.OldTupleType, m.OldTuple, nil); err != nil {
			return nil, err
		}
		return row, nil
	}
	return nil, fmt.Errorf("not a row change: %T", msg)
}

// oldRow sets row.Before from an old tuple: 'O' the whole old row
// (REPLICA IDENTITY FULL), 'K' its key (other columns nil); none (an
// update that kept the key) the key taken from after.
func (r *relation) oldRow(row *change.Row, kind uint8, old *pglogrepl.TupleData, after value.Row) error {
	switch kind {
	case pglogrepl.UpdateMessageTupleTypeOld:
		before, _, err := r.tupleValues(old)
		row.Before = before
		return err
	case pglogrepl.UpdateMessageTupleTypeKey:
		before, _, err := r.tupleValues(old)
		if err != nil {
			return err
		}
		row.Before, row.BeforeKeyOnly = make(value.Row, len(before)), true
		for _, i := range r.key {
			row.Before[i] = before[i]
		}
		return nil
	case 0:
		if after == nil || len(r.key) == 0 {
			return nil
		}
		row.Before, row.BeforeKeyOnly = make(value.Row, len(after)), true
		for _, i := range r.key {
			row.Before[i] = after[i]
		}
		return nil
	}
	return fmt.Errorf("old tuple kind %q", kind)
}

// missingOf marks the columns not present; nil when all are.
func missingOf(present []bool) []bool {
	var out []bool
	for i, p := range present {
		if !p {
			if out == nil {
				out = make([]bool, len(present))
			}
			out[i] = true
		}
	}
	return out
}

// xidString names a transaction in messages.
func xidString(xid uint32) string { return strconv.FormatUint(uint64(xid), 10) }
