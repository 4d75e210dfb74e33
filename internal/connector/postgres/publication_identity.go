package postgres

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
)

// IdentityProblem is a selected table whose updates and deletes logical
// replication cannot identify. Publishing such a table for updates makes
// PostgreSQL refuse UPDATE and DELETE on it for every application ("cannot
// update table ... because it does not have a replica identity and
// publishes updates"), so dts refuses the table before it creates a
// publication. dts never changes a table's replica identity itself.
type IdentityProblem struct {
	Table connector.TableRef
	// Relation is the table or partition at fault, schema.name (a
	// partitioned table's partitions each have their own identity).
	Relation string
	// Identity is the relation's REPLICA IDENTITY: default, nothing, index.
	Identity string
	// Reason says what is missing, for people.
	Reason string
	// Fix is the statement that fixes it.
	Fix string
}

// ReplicaIdentityProblems lists the tables of refs (and their partitions)
// that have neither a primary key nor REPLICA IDENTITY FULL or USING
// INDEX (with the index still there). An empty result means every table
// can be published for updates and deletes. Prechecks call it; so does
// OpenLogSnapshot, which refuses with CodeReplicaIdentity before creating
// anything.
func (s *Source) ReplicaIdentityProblems(ctx context.Context, refs []connector.TableRef) ([]IdentityProblem, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	schemas, names := make([]string, len(refs)), make([]string, len(refs))
	for i, r := range refs {
		schemas[i], names[i] = r.Schema, r.Name
	}
	rows, err := s.pool.Query(ctx, `SELECT r.i, quote_ident(ln.nspname) || '.' || quote_ident(lc.relname), lc.relreplident::text,
		EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = lc.oid AND i.indisprimary),
		EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = lc.oid AND i.indisreplident AND i.indisvalid)
		FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS r(nsp, rel, i)
		JOIN pg_namespace n ON n.nspname = r.nsp
		JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = r.rel AND c.relkind IN ('r', 'p')
		CROSS JOIN LATERAL (SELECT c.oid AS relid WHERE c.relkind = 'r'
		                    UNION ALL SELECT t.relid FROM pg_partition_tree(c.oid) t WHERE c.relkind = 'p' AND t.isleaf) l
		JOIN pg_class lc ON lc.oid = l.relid
		JOIN pg_namespace ln ON ln.oid = lc.relnamespace
		ORDER BY r.i, 2`, schemas, names)
	if err != nil {
		return nil, wrapErr(err, "read replica identities")
	}
	var (
		out        []IdentityProblem
		i          int64
		rel, ident string
		pk, index  bool
	)
	_, err = pgx.ForEachRow(rows, []any{&i, &rel, &ident, &pk, &index}, func() error {
		p := IdentityProblem{Table: refs[i-1], Relation: rel,
			Fix: "ALTER TABLE " + rel + " REPLICA IDENTITY FULL (or add a primary key)"}
		switch {
		case ident == "d" && !pk:
			p.Identity, p.Reason = "default", "no primary key, and REPLICA IDENTITY is DEFAULT"
		case ident == "n":
			p.Identity, p.Reason = "nothing", "REPLICA IDENTITY is NOTHING"
		case ident == "i" && !index:
			p.Identity, p.Reason = "index", "REPLICA IDENTITY USING INDEX names no valid index"
		default:
			return nil
		}
		out = append(out, p)
		return nil
	})
	if err != nil {
		return nil, wrapErr(err, "read replica identities")
	}
	return out, nil
}

// IdentityError is the coded error for tables ReplicaIdentityProblems found.
func IdentityError(problems []IdentityProblem) *errs.Error {
	var names, fixes []string
	for _, p := range problems {
		names = append(names, fmt.Sprintf("%s (%s)", p.Relation, p.Reason))
		fixes = append(fixes, p.Fix)
	}
	return errs.New(CodeReplicaIdentity, "logical replication cannot identify the rows of %d table(s) in updates and deletes: %s",
		len(problems), strings.Join(names, "; ")).
		WithFix("give each a primary key or run %s; or leave the tables out of the job", strings.Join(fixes, "; ")).
		WithDetail("tables", names)
}
