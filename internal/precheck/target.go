package precheck

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/transform"
)

// What already exists on the target under the names the job writes to.

// targetTable is a relation found on the target.
type targetTable struct {
	schema, name string
	kind         string // table, view, sequence, index, ... (PostgreSQL relkind spelled out)
	owned        bool   // PostgreSQL: the user owns it (may drop it, index it)
	priv         map[string]bool
}

// fold returns the key target names are compared by: MySQL with
// lower_case_table_names compares them case-insensitively.
func (e *env) fold(ctx context.Context) (func(string) string, error) {
	if !e.spec.Target.Engine.IsMySQL() {
		return func(s string) string { return s }, nil
	}
	vars, err := e.settings(ctx, false)
	if err != nil {
		return nil, err
	}
	if v := vars["lower_case_table_names"]; v != "" && v != "0" {
		return strings.ToLower, nil
	}
	return func(s string) string { return s }, nil
}

func (e *env) targetKey(fold func(string) string, schema, name string) string {
	return fold(schema) + "\x00" + fold(name)
}

// existing lists the relations in the target schemas the job writes to and
// in dts_meta, by targetKey: one catalog query.
func (e *env) existing(ctx context.Context) (map[string]targetTable, error) {
	return e.dstTables.get(ctx, e, func(ctx context.Context) (map[string]targetTable, error) {
		sel, err := e.selectedOK(ctx)
		if err != nil {
			return nil, err
		}
		d, err := e.targetDB(ctx)
		if err != nil {
			return nil, err
		}
		fold, err := e.fold(ctx)
		if err != nil {
			return nil, err
		}
		schemas := targetSchemas(sel)
		schemas = append(schemas, transform.MetaSchema)
		out := map[string]targetTable{}
		if d.my != nil {
			q := "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (" +
				strings.TrimSuffix(strings.Repeat("?, ", len(schemas)), ", ") + ")"
			rows, err := d.my.QueryContext(ctx, q, anys(schemas)...)
			if err != nil {
				return nil, fmt.Errorf("list the target's tables: %w", err)
			}
			defer rows.Close()
			for rows.Next() {
				var t targetTable
				var typ string
				if err := rows.Scan(&t.schema, &t.name, &typ); err != nil {
					return nil, err
				}
				t.kind = map[bool]string{true: "table", false: "view"}[typ == "BASE TABLE"]
				out[e.targetKey(fold, t.schema, t.name)] = t
			}
			return out, rows.Err()
		}
		rows, err := d.pg.Query(ctx, `SELECT n.nspname, c.relname,
			CASE c.relkind WHEN 'r' THEN 'table' WHEN 'p' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view'
				WHEN 'S' THEN 'sequence' WHEN 'i' THEN 'index' WHEN 'I' THEN 'index' WHEN 'f' THEN 'foreign table' ELSE 'relation' END,
			pg_has_role(c.relowner, 'USAGE'),
			has_table_privilege(c.oid, 'SELECT'), has_table_privilege(c.oid, 'INSERT'), has_table_privilege(c.oid, 'UPDATE'),
			has_table_privilege(c.oid, 'DELETE'), has_table_privilege(c.oid, 'TRUNCATE')
			FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'i', 'I', 'f', 'c')`, schemas)
		if err != nil {
			return nil, fmt.Errorf("list the target's relations: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			t := targetTable{priv: map[string]bool{}}
			var s, i, u, dl, tr bool
			if err := rows.Scan(&t.schema, &t.name, &t.kind, &t.owned, &s, &i, &u, &dl, &tr); err != nil {
				return nil, err
			}
			t.priv["SELECT"], t.priv["INSERT"], t.priv["UPDATE"], t.priv["DELETE"], t.priv["TRUNCATE"] = s, i, u, dl, tr
			out[e.targetKey(fold, t.schema, t.name)] = t
		}
		return out, rows.Err()
	})
}

func targetSchemas(sel []selected) []string {
	seen := map[string]bool{}
	for _, s := range sel {
		seen[s.Target.Schema] = true
	}
	return sortedKeys(seen)
}

func policyOf(spec *job.Spec) string {
	if p := spec.Target.Options.ExistingTables; p != "" {
		return p
	}
	return job.ExistingFail
}

// checkExistingTables: with the structure phase, an existing target table is
// refused (fail), kept (append), emptied (truncate) or dropped (recreate);
// without it, every target table must exist.
func checkExistingTables(ctx context.Context, e *env) Outcome {
	sel, err := e.selectedOK(ctx)
	if err != nil {
		return notChecked(err)
	}
	found, err := e.existing(ctx)
	if err != nil {
		return notChecked(err)
	}
	fold, err := e.fold(ctx)
	if err != nil {
		return notChecked(err)
	}
	if !e.spec.EffectivePhases().Structure {
		var missing []string
		for _, s := range sel {
			if t, ok := found[e.targetKey(fold, s.Target.Schema, s.Target.Name)]; !ok || t.kind != "table" {
				missing = append(missing, s.Target.String())
			}
		}
		if len(missing) > 0 {
			return failed("target tables that do not exist (%d): %s; the job does not create them (phases.structure is off)",
				len(missing), limit(missing, 10)).with("tables", missing).
				fix("create them on the target first, or turn phases.structure on")
		}
		return passed("all %d target tables exist", len(sel))
	}
	var exist []selected
	for _, s := range sel {
		if t, ok := found[e.targetKey(fold, s.Target.Schema, s.Target.Name)]; ok && t.kind == "table" {
			exist = append(exist, s)
		}
	}
	if len(exist) == 0 {
		return passed("no target table exists yet (%d selected)", len(sel))
	}
	nonEmpty, err := e.nonEmpty(ctx, exist)
	if err != nil {
		return notChecked(err)
	}
	names := make([]string, len(exist))
	for i, s := range exist {
		names[i] = s.Target.String()
	}
	policy := policyOf(e.spec)
	o := Outcome{}.with("existing", names).with("non_empty", nonEmpty).with("existing_tables", policy)
	switch policy {
	case job.ExistingFail:
		return o.withStatus(Failed, "target tables that already exist (%d, %d with rows): %s; target.options.existing_tables is fail",
			len(names), len(nonEmpty), limit(names, 10)).
			fix("drop or rename them on the target, or set target.options.existing_tables to append (keep their rows), " +
				"truncate (empty them) or recreate (drop and create them)")
	case job.ExistingAppend:
		if len(nonEmpty) > 0 {
			return o.withStatus(Warning, "existing target tables with rows that are kept (%d): %s; copied rows are added to them "+
				"(a row whose key is taken stops the job)", len(nonEmpty), limit(nonEmpty, 10)).
				fix("empty them first, or use existing_tables: truncate, if the target should equal the source")
		}
		return o.withStatus(Passed, "existing target tables, all empty (%d): rows are added to them", len(names))
	case job.ExistingTruncate, job.ExistingRecreate:
		verb := map[string]string{job.ExistingTruncate: "emptied", job.ExistingRecreate: "dropped and created again"}[policy]
		if len(nonEmpty) > 0 {
			return o.withStatus(Warning, "existing target tables with rows that will be %s (%d; existing_tables: %s): %s",
				verb, len(nonEmpty), policy, limit(nonEmpty, 10)).
				fix("make sure nothing on the target needs those rows; back them up first if in doubt")
		}
		return o.withStatus(Passed, "existing target tables, all empty (%d): they will be %s", len(names), verb)
	}
	return o.withStatus(Failed, "unknown existing_tables policy %q", policy)
}

// nonEmpty returns the target names of the tables that hold rows: one
// EXISTS per table, existsBatch tables per statement, a few statements at
// once (a round trip per table took 15 s for 10,000 tables).
func (e *env) nonEmpty(ctx context.Context, tables []selected) ([]string, error) {
	d, err := e.targetDB(ctx)
	if err != nil {
		return nil, err
	}
	has := make([]bool, len(tables))
	var batches [][2]int
	for start := 0; start < len(tables); start += existsBatch {
		batches = append(batches, [2]int{start, min(start+existsBatch, len(tables))})
	}
	errs := make([]error, len(batches))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for b, r := range batches {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[b] = d.withRows(ctx, tables[r[0]:r[1]], func(i int) { has[r[0]+i] = true })
		}()
	}
	wg.Wait()
	var out []string
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	for i, s := range tables {
		if has[i] {
			out = append(out, s.Target.String())
		}
	}
	return out, nil
}

// existsBatch is how many tables one statement looks into: each stays
// locked until the statement ends, and PostgreSQL's shared lock table holds
// max_locks_per_transaction (64) × max_connections locks.
const existsBatch = 200

// withRows calls found with the index of each of tables (by target name)
// that holds a row, in one statement.
func (d *endpointDB) withRows(ctx context.Context, tables []selected, found func(int)) error {
	var q strings.Builder
	if d.pg != nil {
		q.WriteString("SELECT i FROM (VALUES ")
		for i, s := range tables {
			if i > 0 {
				q.WriteString(", ")
			}
			fmt.Fprintf(&q, "(%d, EXISTS (SELECT 1 FROM %s.%s))", i, pgIdent(s.Target.Schema), pgIdent(s.Target.Name))
		}
		q.WriteString(") AS v(i, has) WHERE has")
		rows, err := d.pg.Query(ctx, q.String())
		if err != nil {
			return fmt.Errorf("look into the existing target tables: %w", err)
		}
		var i int32
		_, err = pgx.ForEachRow(rows, []any{&i}, func() error { found(int(i)); return nil })
		if err != nil {
			return fmt.Errorf("look into the existing target tables: %w", err)
		}
		return nil
	}
	for i, s := range tables {
		if i > 0 {
			q.WriteString(" UNION ALL ")
		}
		fmt.Fprintf(&q, "SELECT %d FROM DUAL WHERE EXISTS (SELECT 1 FROM %s.%s)", i, mysqlIdent(s.Target.Schema), mysqlIdent(s.Target.Name))
	}
	rows, err := d.my.QueryContext(ctx, q.String())
	if err != nil {
		return fmt.Errorf("look into the existing target tables: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var i int
		if err := rows.Scan(&i); err != nil {
			return err
		}
		found(i)
	}
	return rows.Err()
}
