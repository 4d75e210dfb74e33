package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
)

// Schema changes on a PostgreSQL target run in the worker's open
// transaction, so they commit with the checkpoint that records them. Each
// operation is still checked against the catalog first (a column to add
// that exists is left alone), so a target the user already changed by hand
// is brought to the same structure instead of failing.

// ApplySchemaChange carries ddl (target structures) to the target, in the
// open transaction.
func (a *applier) ApplySchemaChange(ctx context.Context, ddl *change.DDL) error {
	if err := a.begin(ctx); err != nil {
		return err
	}
	if err := a.flush(ctx); err != nil {
		return err
	}
	err := a.schemaChange(ctx, ddl)
	var coded *errs.Error
	if err != nil && !errors.As(err, &coded) {
		err = fmt.Errorf("apply %s (%s): %w", ddl.Kind, ddlWhat(ddl), err)
	}
	return a.fail(err)
}

func ddlWhat(ddl *change.DDL) string {
	switch {
	case ddl.Statement != "":
		return ddl.Statement
	case ddl.Table != nil:
		return ddl.Table.String()
	case ddl.Old != nil:
		return ddl.Old.String()
	}
	return "?"
}

func unsupportedDDL(ddl *change.DDL, why string) error {
	return errs.New(connector.CodeUnsupportedDDL, "cannot carry the schema change %q (%s) to the target: %s", ddlWhat(ddl), ddl.Kind, why).
		WithFix("apply the change to the target by hand, then resume the job; or leave the table out of the job")
}

func (a *applier) exists(ctx context.Context, t *schema.Table) (bool, error) {
	var ok bool
	err := a.tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, quoteQualified(t.Schema, t.Name)).Scan(&ok)
	return ok, err
}

func (a *applier) run(ctx context.Context, q string) error {
	if _, err := a.tx.Exec(ctx, q); err != nil {
		return fmt.Errorf("%s: %w", q, err)
	}
	return nil
}

func (a *applier) schemaChange(ctx context.Context, ddl *change.DDL) error {
	old, t := ddl.Old, ddl.Table
	switch {
	case ddl.Kind == job.DDLCreateTable || old == nil && t != nil:
		if t == nil {
			return unsupportedDDL(ddl, "it names no table")
		}
		return a.createTable(ctx, t)
	case ddl.Kind == job.DDLDropTable || t == nil:
		if old == nil {
			return unsupportedDDL(ddl, "it names no table")
		}
		ok, err := a.exists(ctx, old)
		if err != nil || !ok {
			return err
		}
		return a.s.dropTable(ctx, a.tx, old)
	case ddl.Kind == job.DDLTruncateTable:
		return a.run(ctx, "TRUNCATE TABLE "+quoteQualified(t.Schema, t.Name))
	}
	if old.Schema != t.Schema || old.Name != t.Name {
		if err := a.renameTable(ctx, old, t); err != nil {
			return err
		}
	}
	return a.alterTable(ctx, ddl, old, t)
}

// createTable creates t whole (it is empty: keys and indexes right away).
func (a *applier) createTable(ctx context.Context, t *schema.Table) error {
	if err := a.run(ctx, "CREATE SCHEMA IF NOT EXISTS "+quoteIdent(t.Schema)); err != nil {
		return err
	}
	ok, err := a.exists(ctx, t)
	if err != nil {
		return err
	}
	if !ok {
		if err := createTable(ctx, a.tx, t); err != nil {
			return err
		}
	}
	if err := a.primaryKey(ctx, t); err != nil {
		return err
	}
	for i := range t.Indexes {
		if err := a.run(ctx, createIndexSQL(t, &t.Indexes[i])); err != nil {
			return err
		}
	}
	return nil
}

// primaryKey gives t the primary key it should have (none, or its columns).
func (a *applier) primaryKey(ctx context.Context, t *schema.Table) error {
	name := quoteQualified(t.Schema, t.Name)
	var conname *string
	var cols []string
	err := a.tx.QueryRow(ctx, `SELECT con.conname, array_agg(att.attname ORDER BY k.n)
		FROM pg_constraint con, unnest(con.conkey) WITH ORDINALITY k(attnum, n), pg_attribute att
		WHERE con.conrelid = $1::regclass AND con.contype = 'p' AND att.attrelid = con.conrelid AND att.attnum = k.attnum
		GROUP BY con.conname`, name).Scan(&conname, &cols)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	if slices.Equal(cols, t.PrimaryKey) {
		return nil
	}
	if conname != nil {
		if err := a.run(ctx, "ALTER TABLE "+name+" DROP CONSTRAINT "+quoteIdent(*conname)); err != nil {
			return err
		}
	}
	if len(t.PrimaryKey) == 0 {
		return nil
	}
	return a.run(ctx, "ALTER TABLE "+name+" ADD PRIMARY KEY ("+quoteIdentList(t.PrimaryKey)+")")
}

func (a *applier) renameTable(ctx context.Context, old, t *schema.Table) error {
	ok, err := a.exists(ctx, old)
	if err != nil {
		return err
	}
	if !ok {
		if ok, err := a.exists(ctx, t); err != nil || ok {
			return err // renamed already
		}
		return fmt.Errorf("neither %s nor %s exists on the target", old, t)
	}
	name := quoteQualified(old.Schema, old.Name)
	if old.Schema != t.Schema {
		if err := a.run(ctx, "CREATE SCHEMA IF NOT EXISTS "+quoteIdent(t.Schema)); err != nil {
			return err
		}
		if err := a.run(ctx, "ALTER TABLE "+name+" SET SCHEMA "+quoteIdent(t.Schema)); err != nil {
			return err
		}
		name = quoteQualified(t.Schema, old.Name)
	}
	if old.Name != t.Name {
		return a.run(ctx, "ALTER TABLE "+name+" RENAME TO "+quoteIdent(t.Name))
	}
	return nil
}

// statedRenames returns the column renames of ddl (old name → new name,
// as the source stated them), each checked against the two structures. A
// column of old missing from t and not renamed was dropped: renames are
// never guessed from positions, where a dropped column and one added in its
// place look alike.
func statedRenames(ddl *change.DDL, old, t *schema.Table) (map[string]string, error) {
	for o, n := range ddl.Renames {
		if old.ColumnIndex(o) < 0 || t.ColumnIndex(n) < 0 {
			return nil, unsupportedDDL(ddl, fmt.Sprintf("it renames column %s to %s, but the table had no %s or has no %s after it", o, n, o, n))
		}
	}
	return ddl.Renames, nil
}

// renameColumns renames the target's columns, in an order that frees each
// new name before it is taken (RENAME b TO c before RENAME a TO b); names
// that trade places go through a temporary name. cols is the target's
// column set, kept up to date. A rename whose new name is there and old
// name gone was done already (by hand).
func (a *applier) renameColumns(ctx context.Context, ddl *change.DDL, name string, renames map[string]string, cols map[string]bool) error {
	pending := maps.Clone(renames)
	for tmp := 0; len(pending) > 0; {
		progress := false
		for _, o := range slices.Sorted(maps.Keys(pending)) {
			n := pending[o]
			switch {
			case cols[o] && !cols[n]:
				if err := a.run(ctx, "ALTER TABLE "+name+" RENAME COLUMN "+quoteIdent(o)+" TO "+quoteIdent(n)); err != nil {
					return err
				}
				cols[n], cols[o] = true, false
			case cols[n] && !cols[o]: // done already
			case cols[o] && cols[n] && pending[n] != "": // n is renamed away too: after that
				continue
			default:
				return unsupportedDDL(ddl, fmt.Sprintf("cannot rename column %s to %s: the target table has both or neither", o, n))
			}
			delete(pending, o)
			progress = true
		}
		if progress {
			continue
		}
		// Every rename left waits for another: a cycle (a ↔ b). Move one
		// column aside.
		o := slices.Sorted(maps.Keys(pending))[0]
		aside := ""
		for aside == "" || cols[aside] {
			tmp++
			aside = fmt.Sprintf("_dts_rename_%d", tmp)
		}
		if err := a.run(ctx, "ALTER TABLE "+name+" RENAME COLUMN "+quoteIdent(o)+" TO "+quoteIdent(aside)); err != nil {
			return err
		}
		cols[aside], cols[o] = true, false
		pending[aside] = pending[o]
		delete(pending, o)
	}
	return nil
}

// alterTable brings the target table from old to t.
func (a *applier) alterTable(ctx context.Context, ddl *change.DDL, old, t *schema.Table) error {
	name := quoteQualified(t.Schema, t.Name)
	cols := map[string]bool{}
	rows, err := a.tx.Query(ctx, `SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped`, name)
	if err != nil {
		return err
	}
	var col string
	if _, err := pgx.ForEachRow(rows, []any{&col}, func() error { cols[col] = true; return nil }); err != nil {
		return err
	}
	renames, err := statedRenames(ddl, old, t)
	if err != nil {
		return err
	}
	if err := a.renameColumns(ctx, ddl, name, renames, cols); err != nil {
		return err
	}
	var ops []string
	for _, c := range old.Columns {
		if _, renamed := renames[c.Name]; !renamed && t.ColumnIndex(c.Name) < 0 && cols[c.Name] {
			ops = append(ops, "DROP COLUMN "+quoteIdent(c.Name))
		}
	}
	for i := range t.Columns {
		c := &t.Columns[i]
		if err := ensureEnum(ctx, a.tx, c.Type); err != nil {
			return err
		}
		from := c.Name
		for o, n := range renames {
			if n == c.Name {
				from = o
			}
		}
		oc, existed := old.Column(from)
		if !existed || !cols[c.Name] {
			if !cols[c.Name] {
				def, err := columnSQL(c)
				if err != nil {
					return unsupportedDDL(ddl, fmt.Sprintf("column %s: %v", c.Name, err))
				}
				ops = append(ops, "ADD COLUMN "+def)
			}
			continue
		}
		ops = append(ops, modifyColumn(oc, c)...)
	}
	if len(ops) > 0 {
		if err := a.run(ctx, "ALTER TABLE "+name+" "+strings.Join(ops, ", ")); err != nil {
			return err
		}
	}
	if !slices.Equal(old.PrimaryKey, t.PrimaryKey) {
		if err := a.primaryKey(ctx, t); err != nil {
			return err
		}
	}
	return a.indexes(ctx, old, t)
}

// modifyColumn returns the ALTER COLUMN actions that turn old into c.
func modifyColumn(old, c *schema.Column) []string {
	var ops []string
	col := quoteIdent(c.Name)
	if columnType(old) != columnType(c) || old.Collation != c.Collation {
		op := "ALTER COLUMN " + col + " TYPE " + columnType(c)
		if c.Collation != "" {
			op += " COLLATE " + sqlIdentOrQuoted(c.Collation)
		}
		ops = append(ops, op)
	}
	if old.Nullable != c.Nullable {
		if c.Nullable {
			ops = append(ops, "ALTER COLUMN "+col+" DROP NOT NULL")
		} else {
			ops = append(ops, "ALTER COLUMN "+col+" SET NOT NULL")
		}
	}
	if c.Generated == nil && !c.AutoIncrement {
		was, _ := defaultOf(old)
		now, err := defaultOf(c)
		switch {
		case err != nil || was == now:
		case now == "":
			ops = append(ops, "ALTER COLUMN "+col+" DROP DEFAULT")
		default:
			ops = append(ops, "ALTER COLUMN "+col+" SET DEFAULT "+now)
		}
	}
	return ops
}

func defaultOf(c *schema.Column) (string, error) {
	if c.Default == nil || c.Generated != nil || c.AutoIncrement {
		return "", nil
	}
	return defaultSQL(c)
}

// indexes drops the indexes old has and t lacks (or has differently) and
// creates t's missing ones.
func (a *applier) indexes(ctx context.Context, old, t *schema.Table) error {
	was := map[string]string{}
	for i := range old.Indexes {
		was[old.Indexes[i].Name] = createIndexSQL(t, &old.Indexes[i])
	}
	keep := map[string]bool{}
	for i := range t.Indexes {
		ix := &t.Indexes[i]
		def := createIndexSQL(t, ix)
		if w, ok := was[ix.Name]; ok && w == def {
			keep[ix.Name] = true
		}
	}
	for _, ix := range old.Indexes {
		if !keep[ix.Name] {
			if err := a.run(ctx, "DROP INDEX IF EXISTS "+quoteQualified(t.Schema, ix.Name)); err != nil {
				return err
			}
		}
	}
	for i := range t.Indexes {
		if !keep[t.Indexes[i].Name] {
			if err := a.run(ctx, createIndexSQL(t, &t.Indexes[i])); err != nil {
				return err
			}
		}
	}
	return nil
}

// Truncate empties tables in the open transaction.
func (a *applier) Truncate(ctx context.Context, tables []*schema.Table) error {
	if len(tables) == 0 {
		return nil
	}
	if err := a.begin(ctx); err != nil {
		return err
	}
	if err := a.flush(ctx); err != nil {
		return err
	}
	names := make([]string, len(tables))
	for i, t := range tables {
		names[i] = quoteQualified(t.Schema, t.Name)
	}
	return a.fail(a.run(ctx, "TRUNCATE TABLE "+strings.Join(names, ", ")))
}
