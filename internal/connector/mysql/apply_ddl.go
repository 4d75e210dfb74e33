package mysql

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
)

// Schema changes on a MySQL target. MySQL runs DDL outside transactions, so
// a crash can leave a DDL applied without the checkpoint that records it;
// the replay then finds the change on the target's catalog and does only
// what is missing: every operation is checked against the catalog first
// (a column to add that exists, one to drop that is gone, a rename already
// done, an index already there), and MODIFY COLUMN is idempotent itself.

var errPending = errors.New("apply: a schema change needs the worker's changes committed first (MySQL DDL commits by itself)")

// ApplySchemaChange carries ddl (target structures) to the target.
func (a *applier) ApplySchemaChange(ctx context.Context, ddl *change.DDL) error {
	if a.broken {
		return errors.New("apply: the transaction failed earlier: roll it back first")
	}
	if a.inTx {
		return errPending
	}
	err := a.schemaChange(ctx, ddl)
	var coded *errs.Error
	if err != nil && !errors.As(err, &coded) {
		err = fmt.Errorf("apply %s (%s): %w", ddl.Kind, ddlWhat(ddl), err)
	}
	return err
}

func ddlWhat(ddl *change.DDL) string {
	if ddl.Statement != "" {
		return ddl.Statement
	}
	if ddl.Table != nil {
		return ddl.Table.String()
	}
	if ddl.Old != nil {
		return ddl.Old.String()
	}
	return "?"
}

func (a *applier) schemaChange(ctx context.Context, ddl *change.DDL) error {
	old, t := ddl.Old, ddl.Table
	switch {
	case ddl.Kind == job.DDLCreateTable || old == nil && t != nil:
		if t == nil {
			return unsupportedDDL(ddl, "it names no table")
		}
		if err := a.s.PrepareTable(ctx, t, job.ExistingAppend); err != nil {
			return err
		}
		return a.s.FinishTable(ctx, t)
	case ddl.Kind == job.DDLDropTable || t == nil:
		if old == nil {
			return unsupportedDDL(ddl, "it names no table")
		}
		return a.run(ctx, "DROP TABLE IF EXISTS "+quoteTable(old.Schema, old.Name))
	case ddl.Kind == job.DDLTruncateTable:
		return a.run(ctx, "TRUNCATE TABLE "+quoteTable(t.Schema, t.Name))
	}
	if old.Schema != t.Schema || old.Name != t.Name {
		if err := a.renameTable(ctx, old, t); err != nil {
			return err
		}
	}
	return a.alterTable(ctx, ddl, old, t)
}

func unsupportedDDL(ddl *change.DDL, why string) error {
	return errs.New(connector.CodeUnsupportedDDL, "cannot carry the schema change %q (%s) to the target: %s", ddlWhat(ddl), ddl.Kind, why).
		WithFix("apply the change to the target by hand, then resume the job; or leave the table out of the job")
}

// run executes a DDL statement on the worker's connection.
func (a *applier) run(ctx context.Context, q string) error {
	if _, err := a.conn.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("%s: %w", q, err)
	}
	return nil
}

// renameTable renames old to t unless that happened already.
func (a *applier) renameTable(ctx context.Context, old, t *schema.Table) error {
	oldExists, err := a.s.tableExists(ctx, old.Schema, old.Name)
	if err != nil {
		return err
	}
	if !oldExists {
		if ok, err := a.s.tableExists(ctx, t.Schema, t.Name); err != nil || ok {
			return err // renamed already
		}
		return fmt.Errorf("neither %s nor %s exists on the target", old, t)
	}
	if err := a.run(ctx, "CREATE DATABASE IF NOT EXISTS "+quoteIdent(t.Schema)+" DEFAULT CHARACTER SET utf8mb4"); err != nil {
		return err
	}
	return a.run(ctx, "RENAME TABLE "+quoteTable(old.Schema, old.Name)+" TO "+quoteTable(t.Schema, t.Name))
}

// targetShape is what the target's catalog says a table has now.
type targetShape struct {
	columns map[string]bool // lower-case names (MySQL column names are case-insensitive)
	indexes map[string]bool
	primary []string
}

func (a *applier) readShape(ctx context.Context, t *schema.Table) (*targetShape, error) {
	sh := &targetShape{columns: map[string]bool{}, indexes: map[string]bool{}}
	rows, err := a.conn.QueryContext(ctx, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?", t.Schema, t.Name)
	if err != nil {
		return nil, fmt.Errorf("read the columns of %s: %w", t, err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		sh.columns[strings.ToLower(n)] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(sh.columns) == 0 {
		return nil, fmt.Errorf("table %s does not exist on the target", t)
	}
	rows, err = a.conn.QueryContext(ctx, "SELECT INDEX_NAME, COLUMN_NAME FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? "+
		"ORDER BY INDEX_NAME, SEQ_IN_INDEX", t.Schema, t.Name)
	if err != nil {
		return nil, fmt.Errorf("read the indexes of %s: %w", t, err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var col *string
		if err := rows.Scan(&name, &col); err != nil {
			return nil, err
		}
		if name == "PRIMARY" && col != nil {
			sh.primary = append(sh.primary, *col)
			continue
		}
		sh.indexes[strings.ToLower(name)] = true
	}
	return sh, rows.Err()
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

// alterTable brings the target from old to t with one ALTER TABLE of the
// operations the target's catalog does not show done yet.
func (a *applier) alterTable(ctx context.Context, ddl *change.DDL, old, t *schema.Table) error {
	sh, err := a.readShape(ctx, t)
	if err != nil {
		return err
	}
	has := func(name string) bool { return sh.columns[strings.ToLower(name)] }
	renames, err := statedRenames(ddl, old, t)
	if err != nil {
		return err
	}
	var ops []string
	for _, c := range old.Columns {
		if _, renamed := renames[c.Name]; renamed || t.ColumnIndex(c.Name) >= 0 || !has(c.Name) {
			continue
		}
		ops = append(ops, "DROP COLUMN "+quoteIdent(c.Name))
	}
	// Predecessors: a column keeps its place unless the one before it changed.
	prevOld := map[string]string{}
	for i, c := range old.Columns {
		name := c.Name
		if n, ok := renames[name]; ok {
			name = n
		}
		prev := ""
		for j := i - 1; j >= 0; j-- {
			p := old.Columns[j].Name
			if n, ok := renames[p]; ok {
				p = n
			}
			if t.ColumnIndex(p) >= 0 { // dropped columns do not count
				prev = p
				break
			}
		}
		prevOld[name] = prev
	}
	for i, c := range t.Columns {
		def, err := a.s.columnSQL(c)
		if err != nil {
			return unsupportedDDL(ddl, fmt.Sprintf("column %s: %v", c.Name, err))
		}
		place := " FIRST"
		prev := ""
		if i > 0 {
			prev = t.Columns[i-1].Name
			place = " AFTER " + quoteIdent(prev)
		}
		from := c.Name
		for o, n := range renames {
			if n == c.Name {
				from = o
			}
		}
		oc, existed := old.Column(from)
		switch {
		case from != c.Name: // a rename
			switch {
			case strings.EqualFold(from, c.Name): // only the case: MySQL finds the column either way
				ops = append(ops, "CHANGE COLUMN "+quoteIdent(from)+" "+def+place)
			case has(from) && !has(c.Name):
				ops = append(ops, "CHANGE COLUMN "+quoteIdent(from)+" "+def+place)
			case has(c.Name) && !has(from): // done already
			default:
				return unsupportedDDL(ddl, fmt.Sprintf("cannot rename column %s to %s: the target table has %s", from, c.Name, presence(has, from, c.Name)))
			}
		case !existed:
			if !has(c.Name) {
				ops = append(ops, "ADD COLUMN "+def+place)
			}
		default:
			oldDef, err := a.s.columnSQL(*oc)
			if err != nil || oldDef != def || prevOld[c.Name] != prev {
				ops = append(ops, "MODIFY COLUMN "+def+place)
			}
		}
	}
	if !equalFold(sh.primary, t.PrimaryKey) {
		if len(sh.primary) > 0 {
			ops = append(ops, "DROP PRIMARY KEY")
		}
		if len(t.PrimaryKey) > 0 {
			ops = append(ops, "ADD PRIMARY KEY ("+quoteIdents(t.PrimaryKey)+")")
		}
	}
	oldIx := map[string]string{}
	for _, ix := range old.Indexes {
		oldIx[strings.ToLower(ix.Name)] = indexSQL(ix)
	}
	newIx := map[string]bool{}
	for _, ix := range t.Indexes {
		key := strings.ToLower(ix.Name)
		newIx[key] = true
		def := indexSQL(ix)
		switch was, ok := oldIx[key]; {
		case !sh.indexes[key]:
			ops = append(ops, "ADD "+def)
		case ok && was != def: // redefined: replaced (again, on a replay: harmless)
			ops = append(ops, "DROP INDEX "+quoteIdent(ix.Name), "ADD "+def)
		}
	}
	for _, ix := range old.Indexes {
		key := strings.ToLower(ix.Name)
		if !newIx[key] && sh.indexes[key] {
			ops = append(ops, "DROP INDEX "+quoteIdent(ix.Name))
		}
	}
	if len(ops) == 0 {
		return nil
	}
	return a.run(ctx, "ALTER TABLE "+quoteTable(t.Schema, t.Name)+" "+strings.Join(ops, ", "))
}

func presence(has func(string) bool, a, b string) string {
	switch {
	case has(a) && has(b):
		return "both"
	case !has(a) && !has(b):
		return "neither"
	}
	return "one of them"
}

// Truncate empties tables (TRUNCATE is DDL in MySQL: it commits by itself;
// replaying it empties a table that nothing has written to since).
func (a *applier) Truncate(ctx context.Context, tables []*schema.Table) error {
	if a.broken {
		return errors.New("apply: the transaction failed earlier: roll it back first")
	}
	if a.inTx {
		return errPending
	}
	for _, t := range tables {
		if err := a.run(ctx, "TRUNCATE TABLE "+quoteTable(t.Schema, t.Name)); err != nil {
			return fmt.Errorf("apply truncate: %w", err)
		}
	}
	return nil
}
