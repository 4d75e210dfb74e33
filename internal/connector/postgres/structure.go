package postgres

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
)

// Codes of structure errors a user fixes on the target or in the job.
const (
	CodeTargetTableExists  = "OperationDenied.TargetTableExists"
	CodeTargetNameTaken    = "OperationDenied.TargetNameTaken"
	CodeReferenceMissing   = "OperationDenied.ReferencedTableMissing"
	CodeUnsupportedValue   = "OperationDenied.UnsupportedValue"
	CodeTargetOwned        = "OperationDenied.TargetOwned"
	CodeUnknownTablePolicy = "InvalidParameter.ExistingTables"
)

// PrepareTable creates t's schema, its enum types and the table with its
// primary key, in one transaction, as policy says when the table exists:
// fail (a coded error), append (keep it), truncate (empty it), recreate
// (drop and create it).
func (s *Sink) PrepareTable(ctx context.Context, t *schema.Table, policy string) error {
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		name := quoteQualified(t.Schema, t.Name)
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+quoteIdent(t.Schema)); err != nil {
			return err
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, name).Scan(&exists); err != nil {
			return err
		}
		if exists {
			switch policy {
			case job.ExistingAppend:
				return nil
			case job.ExistingTruncate:
				_, err := tx.Exec(ctx, `TRUNCATE TABLE `+name)
				return err
			case job.ExistingRecreate:
				if err := s.dropTable(ctx, tx, t); err != nil {
					return err
				}
			case job.ExistingFail, "":
				return errs.New(CodeTargetTableExists, "the target table %s already exists", t).
					WithFix("drop or rename it, or set target.options.existing_tables to append, truncate or recreate")
			default:
				return errs.New(CodeUnknownTablePolicy, "unknown existing-table policy %q", policy).
					WithFix("set target.options.existing_tables to fail, append, truncate or recreate")
			}
		}
		return createTable(ctx, tx, t)
	})
	return wrapErr(err, "prepare %s", t)
}

// dropTable drops t, and first the foreign keys of other tables that
// reference it (DROP ... CASCADE would drop views too).
func (s *Sink) dropTable(ctx context.Context, tx pgx.Tx, t *schema.Table) error {
	name := quoteQualified(t.Schema, t.Name)
	rows, err := tx.Query(ctx, `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname), quote_ident(con.conname)
		FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE con.contype = 'f' AND con.confrelid = $1::regclass AND con.conrelid <> con.confrelid`, name)
	if err != nil {
		return err
	}
	var refs [][2]string
	var table, constraint string
	if _, err := pgx.ForEachRow(rows, []any{&table, &constraint}, func() error {
		refs = append(refs, [2]string{table, constraint})
		return nil
	}); err != nil {
		return err
	}
	for _, r := range refs {
		if _, err := tx.Exec(ctx, `ALTER TABLE `+r[0]+` DROP CONSTRAINT `+r[1]); err != nil {
			return err
		}
		s.log.WarnContext(ctx, "dropped a foreign key referencing a table being recreated", "table", r[0], "constraint", r[1], "references", t.QualifiedName())
	}
	_, err = tx.Exec(ctx, `DROP TABLE `+name)
	return err
}

func createTable(ctx context.Context, tx pgx.Tx, t *schema.Table) error {
	for _, c := range t.Columns {
		if err := ensureEnum(ctx, tx, c.Type); err != nil {
			return fmt.Errorf("column %s: %w", c.Name, err)
		}
	}
	ddl, err := createTableSQL(t)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, ddl); err != nil {
		return err
	}
	name := quoteQualified(t.Schema, t.Name)
	if t.Comment != "" {
		if _, err := tx.Exec(ctx, `COMMENT ON TABLE `+name+` IS `+quoteLiteral(t.Comment)); err != nil {
			return err
		}
	}
	for _, c := range t.Columns {
		if c.Comment == "" {
			continue
		}
		if _, err := tx.Exec(ctx, `COMMENT ON COLUMN `+name+`.`+quoteIdent(c.Name)+` IS `+quoteLiteral(c.Comment)); err != nil {
			return err
		}
	}
	return nil
}

// ensureEnum creates the enum type a column uses (or its array elements
// use), or checks that an existing one has the same labels.
func ensureEnum(ctx context.Context, tx pgx.Tx, t schema.Type) error {
	if t.Kind == schema.KindArray && t.Elem != nil {
		return ensureEnum(ctx, tx, *t.Elem)
	}
	if t.Kind != schema.KindEnum || t.UserType == "" {
		return nil
	}
	nsp, name, ok := splitQualified(t.UserType)
	if !ok {
		return fmt.Errorf("enum type name %q", t.UserType)
	}
	qname := quoteQualified(nsp, name)
	var labels []string
	var exists bool
	err := tx.QueryRow(ctx, `SELECT to_regtype($1) IS NOT NULL,
		COALESCE((SELECT array_agg(enumlabel ORDER BY enumsortorder) FROM pg_enum WHERE enumtypid = to_regtype($1)), '{}')`, qname).
		Scan(&exists, &labels)
	if err != nil {
		return err
	}
	if exists {
		if !slices.Equal(labels, t.Values) {
			return errs.New(CodeTargetNameTaken, "the target has a type %s.%s that is not the enum the source column needs (labels %q, want %q)", nsp, name, labels, t.Values).
				WithFix("drop or rename the target type, or move the table into another schema with the job's rename rules")
		}
		return nil
	}
	if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+quoteIdent(nsp)); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `CREATE TYPE `+qname+` AS ENUM (`+literalList(t.Values)+`)`)
	return err
}
