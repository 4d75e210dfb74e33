package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"math/big"
	"strings"

	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/schema"
)

// FinishTable adds the secondary and unique indexes the table lacks (one
// ALTER TABLE builds them in one pass; InnoDB builds FULLTEXT indexes one
// at a time) and moves AUTO_INCREMENT past the copied maximum. It is
// idempotent: existing indexes (by name) are kept.
func (s *Sink) FinishTable(ctx context.Context, t *schema.Table) error {
	s.dropPlans(t)
	existing, err := s.indexNames(ctx, t)
	if err != nil {
		return err
	}
	var plain []string
	for _, ix := range t.Indexes {
		if existing[strings.ToLower(ix.Name)] {
			continue
		}
		if strings.EqualFold(ix.Kind, "FULLTEXT") {
			if err := s.ddl(ctx, "ALTER TABLE "+quoteTable(t.Schema, t.Name)+" ADD "+indexSQL(ix), "create index "+ix.Name+" of "+t.String()); err != nil {
				return err
			}
			continue
		}
		plain = append(plain, "ADD "+indexSQL(ix))
	}
	if len(plain) > 0 {
		q := "ALTER TABLE " + quoteTable(t.Schema, t.Name) + " " + strings.Join(plain, ", ")
		if err := s.ddl(ctx, q, "create indexes of "+t.String()); err != nil {
			return err
		}
	}
	return s.advanceAutoIncrement(ctx, t)
}

func (s *Sink) indexNames(ctx context.Context, t *schema.Table) (map[string]bool, error) {
	rows, err := s.db.QueryContext(ctx, "SELECT DISTINCT INDEX_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
		t.Schema, t.Name)
	if err != nil {
		return nil, fmt.Errorf("read indexes of %s: %w", t, err)
	}
	defer rows.Close()
	names := map[string]bool{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		names[strings.ToLower(n)] = true
	}
	return names, rows.Err()
}

// advanceAutoIncrement sets the table's AUTO_INCREMENT to the copied maximum + 1.
func (s *Sink) advanceAutoIncrement(ctx context.Context, t *schema.Table) error {
	for _, c := range t.Columns {
		if !c.AutoIncrement {
			continue
		}
		var maxVal sql.NullString
		q := "SELECT MAX(" + quoteIdent(c.Name) + ") FROM " + quoteTable(t.Schema, t.Name)
		if err := s.db.QueryRowContext(ctx, q).Scan(&maxVal); err != nil {
			return fmt.Errorf("read the largest %s of %s: %w", c.Name, t, err)
		}
		n, ok := new(big.Int).SetString(maxVal.String, 10)
		if !maxVal.Valid || !ok {
			return nil
		}
		n.Add(n, big.NewInt(1))
		if n.Sign() <= 0 || n.BitLen() > 64 {
			return nil
		}
		q = "ALTER TABLE " + quoteTable(t.Schema, t.Name) + " AUTO_INCREMENT = " + n.String()
		return s.ddl(ctx, q, "set AUTO_INCREMENT of "+t.String())
	}
	return nil
}

// AddForeignKeys creates t's foreign keys that do not exist yet. A key
// exists when this table has one of the name or of the same columns and
// reference. MySQL names foreign keys per database: a name another table
// uses gets a suffix of this table's name.
func (s *Sink) AddForeignKeys(ctx context.Context, t *schema.Table) error {
	if len(t.ForeignKeys) == 0 {
		return nil
	}
	existing, err := s.foreignKeys(ctx, t.Schema)
	if err != nil {
		return err
	}
	var adds []string
	for _, fk := range t.ForeignKeys {
		ok, err := s.tableExists(ctx, fk.RefSchema, fk.RefTable)
		if err != nil {
			return err
		}
		if !ok {
			return errs.New(CodeReferenceMissing, "foreign key %s of %s references %s.%s, which does not exist on the target",
				fk.Name, t, fk.RefSchema, fk.RefTable).
				WithFix("include the referenced table in the job, or create it on the target")
		}
		name := fk.Name
		if fkExists(existing, t.Name, fk) {
			continue
		}
		if owner, used := existing.owner[strings.ToLower(name)]; used && owner != t.Name {
			name = shortName(fk.Name + "_" + t.Name)
		}
		q, err := foreignKeySQL(fk, name)
		if err != nil {
			return err
		}
		adds = append(adds, "ADD "+q)
	}
	if len(adds) == 0 {
		return nil
	}
	q := "ALTER TABLE " + quoteTable(t.Schema, t.Name) + " " + strings.Join(adds, ", ")
	return s.ddl(ctx, q, "create foreign keys of "+t.String())
}

// fkSet is the foreign keys of one database.
type fkSet struct {
	owner map[string]string              // lower-case name → table
	keys  map[string][]schema.ForeignKey // table → its keys
}

func fkExists(set fkSet, table string, want schema.ForeignKey) bool {
	for _, fk := range set.keys[table] {
		if strings.EqualFold(fk.Name, want.Name) || strings.EqualFold(fk.Name, shortName(want.Name+"_"+table)) {
			return true
		}
		if equalFold(fk.Columns, want.Columns) && equalFold(fk.RefColumns, want.RefColumns) &&
			fk.RefSchema == want.RefSchema && fk.RefTable == want.RefTable {
			return true
		}
	}
	return false
}

func equalFold(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !strings.EqualFold(a[i], b[i]) {
			return false
		}
	}
	return true
}

func (s *Sink) foreignKeys(ctx context.Context, db string) (fkSet, error) {
	set := fkSet{owner: map[string]string{}, keys: map[string][]schema.ForeignKey{}}
	rows, err := s.db.QueryContext(ctx, `SELECT k.TABLE_NAME, k.CONSTRAINT_NAME, k.COLUMN_NAME, k.REFERENCED_TABLE_SCHEMA,
		k.REFERENCED_TABLE_NAME, k.REFERENCED_COLUMN_NAME
		FROM information_schema.KEY_COLUMN_USAGE k
		WHERE k.TABLE_SCHEMA = ? AND k.REFERENCED_TABLE_NAME IS NOT NULL
		ORDER BY k.TABLE_NAME, k.CONSTRAINT_NAME, k.ORDINAL_POSITION`, db)
	if err != nil {
		return set, fmt.Errorf("read foreign keys of %s: %w", db, err)
	}
	defer rows.Close()
	for rows.Next() {
		var table, name, col, refSchema, refTable, refCol string
		if err := rows.Scan(&table, &name, &col, &refSchema, &refTable, &refCol); err != nil {
			return set, err
		}
		set.owner[strings.ToLower(name)] = table
		keys := set.keys[table]
		if n := len(keys); n == 0 || keys[n-1].Name != name {
			keys = append(keys, schema.ForeignKey{Name: name, RefSchema: refSchema, RefTable: refTable})
		}
		fk := &keys[len(keys)-1]
		fk.Columns = append(fk.Columns, col)
		fk.RefColumns = append(fk.RefColumns, refCol)
		set.keys[table] = keys
	}
	return set, rows.Err()
}
