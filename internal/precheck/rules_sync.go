package precheck

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/transform"
)

// What the object rules need from the change log and from the data.

// filtered returns the plans of the tables with a row filter, by source name.
func filtered(rf *ruleFacts) []*transform.Plan {
	var out []*transform.Plan
	for _, p := range rf.plans {
		if p.Filter != nil {
			out = append(out, p)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Source.QualifiedName() < out[j].Source.QualifiedName() })
	return out
}

// checkFilterIdentity: a filtered table in a sync job needs its old rows
// whole, or an update cannot say whether it moves the row out of the
// filter. MySQL/MariaDB: binlog_row_image = FULL. PostgreSQL: REPLICA
// IDENTITY FULL where the filter reads columns outside the replica
// identity's key (without it every update of such a table is carried as
// a delete of the key and an insert, and an update leaving a large TOASTed
// value unchanged stops the job: Apply.FilterUnknown).
func checkFilterIdentity(ctx context.Context, e *env) Outcome {
	rf, err := e.ruleFacts(ctx)
	if err != nil {
		return notChecked(err)
	}
	plans := filtered(rf)
	if len(plans) == 0 {
		return passed("no row filters")
	}
	if e.spec.Source.Engine.IsMySQL() {
		vars, _, err := mysqlSourceVars(ctx, e)
		if err != nil {
			return notChecked(err)
		}
		if v, ok := vars["binlog_row_image"]; ok && !strings.EqualFold(v, "FULL") {
			return failed("binlog_row_image is %s: the old rows of the %d filtered tables do not carry the columns their filters read, so an update cannot say whether it moves a row out of the filter",
				strings.ToUpper(v), len(plans)).with("binlog_row_image", v).
				sql("SET GLOBAL binlog_row_image = 'FULL';").
				fix("run the SQL on the source; sessions opened before it keep their setting, so reconnect the applications" + persistNote)
		}
		return passed("binlog_row_image is FULL: the %d filtered tables' old rows carry every column", len(plans))
	}
	return postgresFilterIdentity(ctx, e, plans)
}

func postgresFilterIdentity(ctx context.Context, e *env, plans []*transform.Plan) Outcome {
	d, err := e.sourceDB(ctx)
	if err != nil {
		return notChecked(err)
	}
	schemas, names := make([]string, len(plans)), make([]string, len(plans))
	for i, p := range plans {
		schemas[i], names[i] = p.Source.Schema, p.Source.Name
	}
	// The columns an old row carries: every column (FULL), the primary key
	// (DEFAULT) or the identity index's (USING INDEX); none (NOTHING).
	rows, err := d.pg.Query(ctx, `SELECT r.nsp, r.rel, quote_ident(n.nspname) || '.' || quote_ident(c.relname), c.relreplident::text,
		COALESCE((SELECT array_agg(a.attname::text) FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
			WHERE i.indrelid = c.oid AND (c.relreplident = 'd' AND i.indisprimary OR c.relreplident = 'i' AND i.indisreplident)), '{}')
		FROM unnest($1::text[], $2::text[]) AS r(nsp, rel)
		JOIN pg_namespace n ON n.nspname = r.nsp JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = r.rel`, schemas, names)
	if err != nil {
		return notChecked(fmt.Errorf("read replica identities: %w", err))
	}
	type ident struct {
		quoted, kind string
		cols         []string
	}
	byName := map[string]ident{}
	var nsp, rel string
	var id ident
	_, err = pgx.ForEachRow(rows, []any{&nsp, &rel, &id.quoted, &id.kind, &id.cols}, func() error {
		byName[nsp+"."+rel] = id
		return nil
	})
	if err != nil {
		return notChecked(fmt.Errorf("read replica identities: %w", err))
	}
	var need, stmts []string
	for _, p := range plans {
		id, ok := byName[p.Source.QualifiedName()]
		if !ok || id.kind == "f" {
			continue
		}
		var outside []string
		for _, c := range p.Filter.ColumnIndexes() {
			if name := p.Source.Columns[c].Name; !slices.Contains(id.cols, name) && !slices.Contains(outside, name) {
				outside = append(outside, name)
			}
		}
		if len(outside) > 0 {
			need = append(need, fmt.Sprintf("%s (%s.filter reads %s)", id.quoted, p.Path(), strings.Join(outside, ", ")))
			stmts = append(stmts, "ALTER TABLE "+id.quoted+" REPLICA IDENTITY FULL;")
		}
	}
	if len(need) > 0 {
		return failed("filtered tables whose old rows carry only their key (%d): %s; an update cannot say whether it moves a row out of the filter "+
			"(it is carried as a delete and an insert, and one that leaves a large value unchanged stops the job)", len(need), limit(need, 10)).
			with("tables", need).sql(stmts...).
			fix("run the SQL on the source (old rows then carry every column), or filter on key columns only")
	}
	return passed("the %d filtered tables' old rows carry the columns their filters read", len(plans))
}

// mergeCollisions warns about merged target tables whose rows of
// different sources could collide: their key holds no column telling the
// sources apart (added columns are in no key), so a key two sources hold
// stops the job (Apply.Divergence). Where no added column tells them
// apart at all, updates and deletes cannot be kept to their own source's
// rows either, and compare cannot check each source.
func mergeCollisions(rf *ruleFacts) (keyOnly, apart []string) {
	groups := map[string][]*transform.Plan{}
	for _, p := range rf.plans {
		if len(p.Merge) > 1 {
			groups[p.Target.QualifiedName()] = append(groups[p.Target.QualifiedName()], p)
		}
	}
	for _, target := range sortedKeys(groups) {
		group := groups[target]
		seen := map[string]bool{}
		for _, p := range group {
			var vals []string
			for _, a := range p.Added {
				if a.Deterministic() {
					vals = append(vals, a.Name+"="+string(a.Value(p.Source, change.OpInsert, time.Time{})))
				}
			}
			seen[strings.Join(vals, "\x00")] = true
		}
		key := strings.Join(group[0].Target.PrimaryKey, ", ")
		if len(seen) < len(group) {
			keyOnly = append(keyOnly, fmt.Sprintf("%s (key %s; no added column holds a different value for each of %s)", target, key, strings.Join(group[0].Merge, ", ")))
		} else {
			apart = append(apart, fmt.Sprintf("%s (key %s)", target, key))
		}
	}
	return keyOnly, apart
}
