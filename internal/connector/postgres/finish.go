package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/schema"
)

// FinishTable adds t's secondary indexes and CHECK constraints and moves
// its sequences (serial and identity) past the copied values, so the
// application can insert right away. It is idempotent: what exists is kept.
func (s *Sink) FinishTable(ctx context.Context, t *schema.Table) error {
	name := quoteQualified(t.Schema, t.Name)
	if err := s.addPrimaryKey(ctx, t); err != nil {
		return err
	}
	for i := range t.Indexes {
		ix := &t.Indexes[i]
		skip, err := s.indexExists(ctx, t, ix)
		if err != nil {
			return err
		}
		if skip {
			continue
		}
		if _, err := s.pool.Exec(ctx, createIndexSQL(t, ix)); err != nil {
			return wrapErr(err, "create index %s on %s", ix.Name, t)
		}
	}
	for _, ck := range t.Checks {
		var exists bool
		err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = $1::regclass AND conname = $2)`, name, ck.Name).Scan(&exists)
		if err != nil {
			return wrapErr(err, "look up constraint %s of %s", ck.Name, t)
		}
		if exists {
			continue
		}
		if _, err := s.pool.Exec(ctx, `ALTER TABLE `+name+` ADD CONSTRAINT `+quoteIdent(ck.Name)+` CHECK (`+ck.Expr+`)`); err != nil {
			return wrapErr(err, "add constraint %s to %s", ck.Name, t)
		}
	}
	for _, c := range t.Columns {
		if c.AutoIncrement {
			if err := s.advanceSequence(ctx, t, c.Name); err != nil {
				return wrapErr(err, "set the sequence of %s.%s", t, c.Name)
			}
		}
	}
	return nil
}

// indexExists reports whether ix exists on t already (an earlier run made
// it). The name taken by another relation of the schema is a coded error:
// CREATE INDEX IF NOT EXISTS would skip the index silently.
func (s *Sink) indexExists(ctx context.Context, t *schema.Table, ix *schema.Index) (bool, error) {
	var onTable, primary bool
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(i.indrelid = $3::regclass, false), COALESCE(i.indisprimary, false)
		FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LEFT JOIN pg_index i ON i.indexrelid = c.oid
		WHERE n.nspname = $1 AND c.relname = $2`, t.Schema, ix.Name, quoteQualified(t.Schema, t.Name)).Scan(&onTable, &primary)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return false, nil
	case err != nil:
		return false, wrapErr(err, "look up index %s", ix.Name)
	case onTable && !primary:
		return true, nil
	}
	return false, errs.New(CodeTargetNameTaken, "cannot create index %s of %s: schema %s has another table, index or sequence of that name", ix.Name, t, t.Schema).
		WithFix("rename or drop that object on the target, or move the table into another schema with the job's rename rules")
}

// advanceSequence moves the sequence of a serial or identity column past
// the column's copied values (below them for a descending sequence); it
// never moves a sequence back.
func (s *Sink) advanceSequence(ctx context.Context, t *schema.Table, column string) error {
	var seq *string
	if err := s.pool.QueryRow(ctx, `SELECT pg_get_serial_sequence($1, $2)`, quoteQualified(t.Schema, t.Name), column).Scan(&seq); err != nil {
		return err
	}
	if seq == nil {
		return nil // append to a table whose column has no sequence
	}
	var (
		increment, minValue, maxValue, last int64
		called                              bool
	)
	err := s.pool.QueryRow(ctx, `SELECT s.seqincrement, s.seqmin, s.seqmax, l.last_value, l.is_called
		FROM pg_sequence s, LATERAL (SELECT last_value, is_called FROM `+*seq+`) l WHERE s.seqrelid = $1::regclass`, *seq).
		Scan(&increment, &minValue, &maxValue, &last, &called)
	if err != nil {
		return err
	}
	agg := "max"
	if increment < 0 {
		agg = "min"
	}
	var extreme *int64
	col := quoteIdent(column)
	if err := s.pool.QueryRow(ctx, `SELECT `+agg+`(`+col+`)::bigint FROM `+quoteQualified(t.Schema, t.Name)).Scan(&extreme); err != nil {
		return err
	}
	if extreme == nil || *extreme < minValue || *extreme > maxValue {
		return nil // nothing copied, or values the sequence never gives
	}
	ahead := called && (increment > 0 && last >= *extreme || increment < 0 && last <= *extreme)
	if ahead {
		return nil
	}
	_, err = s.pool.Exec(ctx, `SELECT setval($1::regclass, $2, true)`, *seq, *extreme)
	return err
}

// AddForeignKeys creates t's foreign keys that do not exist yet. A key
// whose referenced table is not on the target is a coded error.
func (s *Sink) AddForeignKeys(ctx context.Context, t *schema.Table) error {
	name := quoteQualified(t.Schema, t.Name)
	for i := range t.ForeignKeys {
		fk := &t.ForeignKeys[i]
		var exists, refExists bool
		err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = $1::regclass AND conname = $2 AND contype = 'f'),
			to_regclass($3) IS NOT NULL`, name, fk.Name, quoteQualified(fk.RefSchema, fk.RefTable)).Scan(&exists, &refExists)
		if err != nil {
			return wrapErr(err, "look up foreign key %s of %s", fk.Name, t)
		}
		switch {
		case exists:
			continue
		case !refExists:
			return errs.New(CodeReferenceMissing, "foreign key %s of %s references %s.%s, which is not on the target", fk.Name, t, fk.RefSchema, fk.RefTable).
				WithFix("include the referenced table in the job, or create it on the target")
		}
		if _, err := s.pool.Exec(ctx, addForeignKeySQL(t, fk)); err != nil {
			return wrapErr(err, "add foreign key %s to %s", fk.Name, t)
		}
	}
	return nil
}

// addPrimaryKey adds t's primary key unless the table has one (an earlier
// run added it, or the table existed with its own).
func (s *Sink) addPrimaryKey(ctx context.Context, t *schema.Table) error {
	if len(t.PrimaryKey) == 0 {
		return nil
	}
	name := quoteQualified(t.Schema, t.Name)
	var exists bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'p')`, name).Scan(&exists)
	if err != nil {
		return wrapErr(err, "look up the primary key of %s", t)
	}
	if exists {
		return nil
	}
	if _, err := s.pool.Exec(ctx, `ALTER TABLE `+name+` ADD PRIMARY KEY (`+quoteIdentList(t.PrimaryKey)+`)`); err != nil {
		return wrapErr(err, "add the primary key of %s", t)
	}
	return nil
}
