package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
)

// A job's publication lists exactly its selected tables — never FOR ALL
// TABLES, which would make UPDATE and DELETE fail on every table of the
// database without a replica identity (supabase/etl#22) — and publishes
// insert, update, delete and truncate, through the partition root (so a
// partitioned table's changes arrive under its own name, as the full load
// reads it). ONLY keeps an inheritance parent's children out, as the
// reader's SELECT ... FROM ONLY does.

const publishOps = "insert, update, delete, truncate"

// pubTable is a selected table as the catalog knows it now.
type pubTable struct {
	ref         connector.TableRef
	oid         uint32
	partitioned bool
}

// resolveTables finds the selected tables' oids, in refs' order.
func resolveTables(ctx context.Context, q querier, refs []connector.TableRef) ([]pubTable, error) {
	schemas, names := make([]string, len(refs)), make([]string, len(refs))
	for i, r := range refs {
		schemas[i], names[i] = r.Schema, r.Name
	}
	rows, err := q.Query(ctx, `SELECT r.i, c.oid, c.relkind = 'p'
		FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS r(nsp, rel, i)
		JOIN pg_namespace n ON n.nspname = r.nsp
		JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = r.rel AND c.relkind IN ('r', 'p')`, schemas, names)
	if err != nil {
		return nil, wrapErr(err, "find the selected tables")
	}
	out := make([]pubTable, len(refs))
	var (
		i    int64
		oid  uint32
		part bool
	)
	_, err = pgx.ForEachRow(rows, []any{&i, &oid, &part}, func() error {
		out[i-1] = pubTable{ref: refs[i-1], oid: oid, partitioned: part}
		return nil
	})
	if err != nil {
		return nil, wrapErr(err, "find the selected tables")
	}
	for i, t := range out {
		if t.oid == 0 {
			return nil, errs.New(errs.InvalidParameter, "table %s does not exist on the source", refs[i])
		}
	}
	return out, nil
}

// publication is what pg_publication says about one publication.
type publication struct {
	oid        uint32
	allTables  bool
	ops        map[string]bool // insert, update, delete, truncate
	viaRoot    bool
	comment    string
	members    map[uint32]bool
	restricted bool // a row filter, column list or schema on it (PostgreSQL 15)
}

// readPublication returns the publication named name, nil if there is none.
func readPublication(ctx context.Context, q querier, name string, version int) (*publication, error) {
	var raw []byte
	p := &publication{ops: map[string]bool{}, members: map[uint32]bool{}}
	err := q.QueryRow(ctx, `SELECT to_jsonb(p), COALESCE(obj_description(p.oid, 'pg_publication'), '')
		FROM pg_publication p WHERE p.pubname = $1`, name).Scan(&raw, &p.comment)
	if err == pgx.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, wrapErr(err, "read publication %s", name)
	}
	// to_jsonb keeps this independent of the columns each version has.
	var row struct {
		OID       json.Number `json:"oid"`
		AllTables bool        `json:"puballtables"`
		Insert    bool        `json:"pubinsert"`
		Update    bool        `json:"pubupdate"`
		Delete    bool        `json:"pubdelete"`
		Truncate  bool        `json:"pubtruncate"`
		ViaRoot   bool        `json:"pubviaroot"`
	}
	if err := json.Unmarshal(raw, &row); err != nil {
		return nil, fmt.Errorf("read publication %s: %w", name, err)
	}
	oid, err := strconv.ParseUint(string(row.OID), 10, 32)
	if err != nil {
		return nil, fmt.Errorf("read publication %s: oid %q", name, row.OID)
	}
	p.oid, p.allTables, p.viaRoot = uint32(oid), row.AllTables, row.ViaRoot
	p.ops["insert"], p.ops["update"], p.ops["delete"], p.ops["truncate"] = row.Insert, row.Update, row.Delete, row.Truncate
	// prqual and prattrs (row filter, column list) exist from PostgreSQL 15.
	rows, err := q.Query(ctx, `SELECT pr.prrelid, COALESCE(to_jsonb(pr)->>'prqual', to_jsonb(pr)->>'prattrs') IS NOT NULL
		FROM pg_publication_rel pr WHERE pr.prpubid = $1`, p.oid)
	if err != nil {
		return nil, wrapErr(err, "read publication %s", name)
	}
	var (
		rel        uint32
		restricted bool
	)
	_, err = pgx.ForEachRow(rows, []any{&rel, &restricted}, func() error {
		p.members[rel] = true
		p.restricted = p.restricted || restricted
		return nil
	})
	if err != nil {
		return nil, wrapErr(err, "read publication %s", name)
	}
	if version >= 150000 {
		var schemas bool
		if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_publication_namespace WHERE pnpubid = $1)`, p.oid).Scan(&schemas); err != nil {
			return nil, wrapErr(err, "read publication %s", name)
		}
		p.restricted = p.restricted || schemas
	}
	return p, nil
}

// ownedBy reports whether the publication carries lj's mark.
func (p *publication) ownedBy(lj connector.LogJob) bool {
	id, ok := commentJobID(p.comment)
	return ok && id == lj.JobID
}

// problems lists how p differs from what the job needs: exactly tables,
// every operation, through the partition root.
func (p *publication) problems(tables []pubTable, version int) []string {
	var out []string
	if p.allTables {
		out = append(out, "it is FOR ALL TABLES")
	}
	if p.restricted {
		out = append(out, "it has a row filter, a column list or a schema")
	}
	for _, op := range []string{"insert", "update", "delete", "truncate"} {
		if !p.ops[op] {
			out = append(out, "it does not publish "+op)
		}
	}
	if version >= 130000 && !p.viaRoot {
		out = append(out, "publish_via_partition_root is off")
	}
	want := map[uint32]bool{}
	for _, t := range tables {
		want[t.oid] = true
	}
	if !p.allTables && !maps.Equal(want, p.members) {
		out = append(out, "its tables are not exactly the job's")
	}
	return out
}

// publicationSQL renders the table list and options of the job's publication.
func publicationSQL(tables []pubTable, version int) (list, with string) {
	parts := make([]string, len(tables))
	for i, t := range tables {
		parts[i] = "ONLY " + quoteQualified(t.ref.Schema, t.ref.Name)
	}
	with = "publish = " + quoteLiteral(publishOps)
	if version >= 130000 {
		with += ", publish_via_partition_root = true"
	}
	return strings.Join(parts, ", "), with
}

// ensurePublication makes the job's publication list exactly tables. It
// creates it when missing (marked with the job's id); corrects one that
// carries the job's mark; refuses one marked as another job's; uses one
// that someone created by hand only when it is exactly what the job needs.
// existed says the publication was there before the call.
func (s *Source) ensurePublication(ctx context.Context, lj connector.LogJob, tables []pubTable, version int) (existed bool, err error) {
	name := PublicationName(lj)
	if version < 130000 {
		for _, t := range tables {
			if t.partitioned {
				return false, errs.New(CodeLogicalDecoding, "table %s is partitioned: PostgreSQL %d.%d cannot publish partitioned tables",
					t.ref, version/10000, version%10000).WithFix("upgrade the source to PostgreSQL 13 or later, or leave the table out of the job")
			}
		}
	}
	p, err := readPublication(ctx, s.pool, name, version)
	if err != nil {
		return false, err
	}
	list, with := publicationSQL(tables, version)
	if p == nil {
		tx, err := s.pool.Begin(ctx)
		if err != nil {
			return false, wrapErr(err, "create publication %s", name)
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		if _, err := tx.Exec(ctx, "CREATE PUBLICATION "+quoteIdent(name)+" FOR TABLE "+list+" WITH ("+with+")"); err != nil {
			return false, publicationErr(err, name)
		}
		if _, err := tx.Exec(ctx, "COMMENT ON PUBLICATION "+quoteIdent(name)+" IS "+quoteLiteral(publicationComment(lj))); err != nil {
			return false, publicationErr(err, name)
		}
		if err := tx.Commit(ctx); err != nil {
			return false, publicationErr(err, name)
		}
		s.log.InfoContext(ctx, "publication created", "publication", name, "tables", len(tables))
		return false, nil
	}
	problems := p.problems(tables, version)
	if id, marked := commentJobID(p.comment); marked && id != lj.JobID {
		return true, errs.New(CodePublication, "publication %s belongs to another dts job (%s)", name, id).
			WithFix("name another publication in the source endpoint's options.publication (and another slot)")
	}
	switch {
	case len(problems) == 0:
		return true, nil
	case !p.ownedBy(lj):
		return true, errs.New(CodePublication, "publication %s exists and is not this job's: %s", name, strings.Join(problems, "; ")).
			WithFix("drop it if nothing uses it, or name another publication in the source endpoint's options.publication")
	case p.allTables || p.restricted:
		return true, errs.New(CodePublication, "publication %s was changed behind dts's back: %s", name, strings.Join(problems, "; ")).
			WithFix("reset the job (its publication and slot are recreated with a full load)")
	}
	// The job's own publication, with another table list (a resumed run
	// whose selection changed) or options: set both.
	for _, stmt := range []string{
		"ALTER PUBLICATION " + quoteIdent(name) + " SET TABLE " + list,
		"ALTER PUBLICATION " + quoteIdent(name) + " SET (" + with + ")",
	} {
		if _, err := s.pool.Exec(ctx, stmt); err != nil {
			return true, publicationErr(err, name)
		}
	}
	s.log.WarnContext(ctx, "publication corrected", "publication", name, "was", strings.Join(problems, "; "))
	return true, nil
}

// publicationErr codes the failures a user fixes: privileges, ownership.
func publicationErr(err error, name string) error {
	if pgCode(err) == sqlstateInsufficientPriv {
		return errs.Wrap(err, CodePublication, "cannot create or change publication %s", name).
			WithFix("CREATE PUBLICATION needs the CREATE privilege on the database and ownership of the tables: grant them, or create the publication as a table owner and name it in options.publication")
	}
	return wrapErr(err, "publication %s", name)
}

// publicationMembers maps the oids of the publication's tables to their
// current names.
func publicationMembers(ctx context.Context, q querier, name string) (map[uint32]connector.TableRef, error) {
	rows, err := q.Query(ctx, `SELECT c.oid, n.nspname, c.relname
		FROM pg_publication p JOIN pg_publication_rel pr ON pr.prpubid = p.oid
		JOIN pg_class c ON c.oid = pr.prrelid JOIN pg_namespace n ON n.oid = c.relnamespace
		WHERE p.pubname = $1`, name)
	if err != nil {
		return nil, wrapErr(err, "read publication %s", name)
	}
	out := map[uint32]connector.TableRef{}
	var (
		oid uint32
		ref connector.TableRef
	)
	_, err = pgx.ForEachRow(rows, []any{&oid, &ref.Schema, &ref.Name}, func() error {
		out[oid] = ref
		return nil
	})
	return out, wrapErr(err, "read publication %s", name)
}

// dropPublication drops the job's publication if it carries the job's mark.
func (s *Source) dropPublication(ctx context.Context, lj connector.LogJob) error {
	name := PublicationName(lj)
	version, err := s.serverVersion(ctx)
	if err != nil {
		return err
	}
	p, err := readPublication(ctx, s.pool, name, version)
	if err != nil || p == nil {
		return err
	}
	if !p.ownedBy(lj) {
		s.log.WarnContext(ctx, "publication left in place: not created by this job", "publication", name)
		return nil
	}
	if _, err := s.pool.Exec(ctx, "DROP PUBLICATION IF EXISTS "+quoteIdent(name)); err != nil {
		return publicationErr(err, name)
	}
	s.log.InfoContext(ctx, "publication dropped", "publication", name)
	return nil
}

// serverVersion returns server_version_num.
func (s *Source) serverVersion(ctx context.Context) (int, error) {
	var v int
	err := s.pool.QueryRow(ctx, `SELECT current_setting('server_version_num')::int`).Scan(&v)
	return v, wrapErr(err, "read the server version")
}
