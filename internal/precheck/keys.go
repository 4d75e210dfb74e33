package precheck

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"
)

// checkKeys: a table without a primary key or NOT NULL unique key is copied
// in one transaction (a crash copies it again from the start), and in
// incremental sync its rows can only be identified by all their values:
// safe with MySQL's full row image or PostgreSQL's REPLICA IDENTITY FULL,
// impossible otherwise. On PostgreSQL, publishing a table without a
// replica identity also makes UPDATE and DELETE on it fail on the source.
func checkKeys(ctx context.Context, e *env) Outcome {
	tables, err := e.tables(ctx)
	if err != nil {
		return notChecked(err)
	}
	var keyless []*tableFacts
	for _, t := range tables {
		if len(t.src.ChunkKey()) == 0 {
			keyless = append(keyless, t)
		}
	}
	if !e.spec.EffectivePhases().Incremental {
		if len(keyless) == 0 {
			return passed("every selected table has a primary or NOT NULL unique key")
		}
		names := tableNames(keyless)
		return warning("tables without a primary or NOT NULL unique key (%d): %s; each is copied in one transaction, "+
			"and a crash copies it again from the start", len(names), limit(names, 10)).with("tables", names).
			fix("add a primary key to large tables on the source for resumable, parallel copies")
	}
	if e.spec.Source.Engine.IsMySQL() {
		return mysqlKeys(ctx, e, keyless)
	}
	return postgresKeys(ctx, e, tables)
}

func tableNames(ts []*tableFacts) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.src.QualifiedName()
	}
	return out
}

func mysqlKeys(ctx context.Context, e *env, keyless []*tableFacts) Outcome {
	if len(keyless) == 0 {
		return passed("every selected table has a primary or NOT NULL unique key")
	}
	names := tableNames(keyless)
	vars, err := e.settings(ctx, true)
	if err != nil {
		return notChecked(err)
	}
	if strings.EqualFold(vars["binlog_row_image"], "FULL") || vars["binlog_row_image"] == "" {
		return warning("tables without a primary or NOT NULL unique key (%d): %s; their rows are identified by all their "+
			"values (full row images), which is slower, and each is copied in one transaction", len(names), limit(names, 10)).
			with("tables", names).fix("add primary keys on the source where you can")
	}
	return failed("tables without a primary or NOT NULL unique key (%d) while binlog_row_image is %s: %s; their updated "+
		"and deleted rows cannot be found on the target", len(names), vars["binlog_row_image"], limit(names, 10)).
		with("tables", names).sql("SET GLOBAL binlog_row_image = 'FULL';").
		fix("add primary keys on the source, or log full row images (the SQL; see source.binlog.row_image)")
}

// postgresKeys reads the replica identity of every selected table, and of
// the leaf partitions of partitioned ones, in two catalog queries. Its rules
// are the logical source's (postgres.ReplicaIdentityProblems, whose query
// this one shapes for 10,000 tables): a primary key, REPLICA IDENTITY FULL
// or USING a valid index identifies rows; DEFAULT without a primary key,
// NOTHING, or an index that is gone does not.
func postgresKeys(ctx context.Context, e *env, tables []*tableFacts) Outcome {
	d, err := e.sourceDB(ctx)
	if err != nil {
		return notChecked(err)
	}
	sel := make([]selected, len(tables))
	for i, t := range tables {
		sel[i] = t.sel
	}
	schemas, names := refArrays(sel)
	rels, err := identities(ctx, d, `SELECT c.oid, c.relkind = 'p', quote_ident(n.nspname) || '.' || quote_ident(c.relname), c.relreplident::text,
		EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary),
		EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident AND i.indisvalid)
		FROM unnest($1::text[], $2::text[]) AS r(nsp, rel)
		JOIN pg_namespace n ON n.nspname = r.nsp JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = r.rel`, schemas, names)
	if err != nil {
		return notChecked(err)
	}
	var parents []uint32
	for _, r := range rels {
		if r.partitioned {
			parents = append(parents, r.oid)
		}
	}
	if len(parents) > 0 {
		leaves, err := identities(ctx, d, `SELECT lc.oid, false, quote_ident(ln.nspname) || '.' || quote_ident(lc.relname), lc.relreplident::text,
			EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = lc.oid AND i.indisprimary),
			EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = lc.oid AND i.indisreplident AND i.indisvalid)
			FROM unnest($1::oid[]) AS p(root), pg_partition_tree(p.root) t
			JOIN pg_class lc ON lc.oid = t.relid JOIN pg_namespace ln ON ln.oid = lc.relnamespace
			WHERE t.isleaf`, parents)
		if err != nil {
			return notChecked(err)
		}
		rels = append(rels, leaves...)
	}
	var broken, stmts, full []string
	for _, r := range rels {
		switch {
		case r.partitioned: // its leaves are listed on their own
		case r.ident == "d" && !r.pk:
			broken = append(broken, r.name+" (no primary key, and REPLICA IDENTITY is DEFAULT)")
		case r.ident == "n":
			broken = append(broken, r.name+" (REPLICA IDENTITY is NOTHING)")
		case r.ident == "i" && !r.index:
			broken = append(broken, r.name+" (REPLICA IDENTITY USING INDEX names no valid index)")
		case !r.pk:
			full = append(full, r.name)
			continue
		default:
			continue
		}
		if !r.partitioned {
			stmts = append(stmts, "ALTER TABLE "+r.name+" REPLICA IDENTITY FULL;")
		}
	}
	if len(broken) > 0 {
		return failed("tables without a replica identity (%d): %s; their updates and deletes cannot be followed, and once "+
			"published PostgreSQL refuses UPDATE and DELETE on them on the source", len(broken), limit(broken, 10)).
			with("tables", broken).sql(stmts...).
			fix("add a primary key on the source, or run the SQL (every column then identifies a row in the WAL)")
	}
	if len(full) > 0 {
		return warning("tables without a primary key, identified by REPLICA IDENTITY FULL or an index (%d): %s; rows are "+
			"matched by more columns, which is slower", len(full), limit(full, 10)).with("tables", full).
			fix("add primary keys on the source where you can")
	}
	return passed("every selected table has a primary key")
}

// relIdentity is a relation's replica identity.
type relIdentity struct {
	oid         uint32
	partitioned bool
	name        string // quoted schema.name
	ident       string // d(efault), n(othing), f(ull), i(ndex)
	pk, index   bool
}

func identities(ctx context.Context, d *endpointDB, q string, args ...any) ([]relIdentity, error) {
	rows, err := d.pg.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("read replica identities: %w", err)
	}
	var out []relIdentity
	var r relIdentity
	_, err = pgx.ForEachRow(rows, []any{&r.oid, &r.partitioned, &r.name, &r.ident, &r.pk, &r.index}, func() error {
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read replica identities: %w", err)
	}
	return out, nil
}

// checkForeignKeys: a key to a table the job does not move is not created on
// the target, and the target then does not enforce it.
func checkForeignKeys(ctx context.Context, e *env) Outcome {
	tables, err := e.tables(ctx)
	if err != nil {
		return notChecked(err)
	}
	moved := map[string]bool{}
	for _, t := range tables {
		moved[t.src.QualifiedName()] = true
	}
	var dangling []string
	for _, t := range tables {
		for _, fk := range t.src.ForeignKeys {
			if ref := fk.RefSchema + "." + fk.RefTable; !moved[ref] {
				dangling = append(dangling, fmt.Sprintf("%s.%s → %s", t.src.QualifiedName(), fk.Name, ref))
			}
		}
	}
	if len(dangling) == 0 {
		return passed("every foreign key references a selected table")
	}
	return warning("foreign keys to tables the job does not move (%d): %s; they are not created on the target",
		len(dangling), limit(dangling, 10)).with("foreign_keys", dangling).
		fix("select the referenced tables too, or accept that the target does not enforce these keys")
}
