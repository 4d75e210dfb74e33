package precheck

import (
	"context"
	"fmt"
	"strings"

	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/transform"
)

// What the target user must be allowed, by what the job does.

// tablePrivileges are the privileges the job needs on the target tables (MySQL names).
func tablePrivileges(spec *job.Spec, mysqlFlavor bool) []string {
	p := spec.EffectivePhases()
	need := []string{"SELECT"}
	add := func(ps ...string) {
		for _, x := range ps {
			if !contains(need, x) {
				need = append(need, x)
			}
		}
	}
	if p.Structure {
		add("CREATE", "ALTER", "INSERT")
		if pol := policyOf(spec); pol == job.ExistingTruncate || pol == job.ExistingRecreate {
			add("DROP")
		}
	}
	if p.Full {
		add("INSERT")
	}
	if p.Incremental {
		add("INSERT", "UPDATE", "DELETE")
		for _, k := range spec.EffectiveDDL() {
			switch k {
			case job.DDLCreateTable:
				add("CREATE")
			case job.DDLAlterTable, job.DDLCreateIndex, job.DDLDropIndex:
				add("ALTER")
			case job.DDLRenameTable:
				add("ALTER", "DROP", "CREATE", "INSERT")
			case job.DDLTruncateTable, job.DDLDropTable:
				add("DROP")
			}
		}
	}
	return need
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

var metaPrivileges = []string{"SELECT", "INSERT", "UPDATE", "DELETE", "CREATE"}

func checkTargetPrivileges(ctx context.Context, e *env) Outcome {
	sel, err := e.selectedOK(ctx)
	if err != nil {
		return notChecked(err)
	}
	d, err := e.targetDB(ctx)
	if err != nil {
		return notChecked(err)
	}
	if d.pg != nil {
		return pgTargetPrivileges(ctx, e, d, sel)
	}
	g, err := e.grantsOf(ctx, false)
	if err != nil {
		return notChecked(err)
	}
	need := map[string][]string{}
	for _, s := range targetSchemas(sel) {
		need[s] = tablePrivileges(e.spec, false)
	}
	if movesData(e.spec) {
		need[transform.MetaSchema] = metaPrivileges
	}
	var stmts, lacks []string
	for _, db := range sortedKeys(need) {
		var missing []string
		for _, p := range need[db] {
			if !g.has(p, db, "") {
				missing = append(missing, p)
			}
		}
		if len(missing) > 0 {
			lacks = append(lacks, fmt.Sprintf("%s on %s", strings.Join(missing, ", "), db))
			stmts = append(stmts, fmt.Sprintf("GRANT %s ON %s.* TO %s;", strings.Join(missing, ", "), mysqlDBPattern(db), g.account))
		}
	}
	if len(lacks) == 0 {
		return passed("user %s holds what the job needs on %s", g.account, strings.Join(sortedKeys(need), ", "))
	}
	return failed("user %s lacks %s", g.account, strings.Join(lacks, "; ")).with("missing", lacks).sql(stmts...).
		fix("run the SQL on the target as an administrator")
}

// pgTargetPrivileges: CREATE on the database (CREATE SCHEMA IF NOT EXISTS
// needs it even when the schema exists), USAGE and CREATE on existing
// schemas, and on tables that exist what the job does to them.
func pgTargetPrivileges(ctx context.Context, e *env, d *endpointDB, sel []selected) Outcome {
	found, err := e.existing(ctx)
	if err != nil {
		return notChecked(err)
	}
	var database string
	var dbCreate bool
	if err := d.pg.QueryRow(ctx, `SELECT current_database(), has_database_privilege(current_database(), 'CREATE')`).Scan(&database, &dbCreate); err != nil {
		return notChecked(err)
	}
	user := pgIdent(d.user)
	schemas := targetSchemas(sel)
	metaExists := false
	for _, t := range found {
		if t.schema == transform.MetaSchema {
			metaExists = true
		}
	}
	p := e.spec.EffectivePhases()
	var lacks, stmts []string
	if !dbCreate && (p.Structure || movesData(e.spec) && !metaExists) {
		lacks = append(lacks, "CREATE on database "+database)
		stmts = append(stmts, fmt.Sprintf("GRANT CREATE ON DATABASE %s TO %s;", pgIdent(database), user))
	}
	schemaPrivs := []string{"USAGE"}
	if p.Structure || p.Incremental && e.spec.CarriesDDL(job.DDLCreateTable) {
		schemaPrivs = append(schemaPrivs, "CREATE")
	}
	check := schemas
	if movesData(e.spec) && metaExists {
		check = append(append([]string(nil), schemas...), transform.MetaSchema)
	}
	rows, err := d.pg.Query(ctx, `SELECT nspname, has_schema_privilege(oid, 'USAGE'), has_schema_privilege(oid, 'CREATE')
		FROM pg_namespace WHERE nspname = ANY($1) ORDER BY nspname`, check)
	if err != nil {
		return notChecked(err)
	}
	for rows.Next() {
		var nsp string
		var usage, create bool
		if err := rows.Scan(&nsp, &usage, &create); err != nil {
			rows.Close()
			return notChecked(err)
		}
		var missing []string
		if !usage {
			missing = append(missing, "USAGE")
		}
		if !create && (contains(schemaPrivs, "CREATE") || nsp == transform.MetaSchema) {
			missing = append(missing, "CREATE")
		}
		if len(missing) > 0 {
			lacks = append(lacks, fmt.Sprintf("%s on schema %s", strings.Join(missing, ", "), nsp))
			stmts = append(stmts, fmt.Sprintf("GRANT %s ON SCHEMA %s TO %s;", strings.Join(missing, ", "), pgIdent(nsp), user))
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return notChecked(err)
	}
	// Existing tables: what the job does to them needs privileges of its own.
	fold := func(s string) string { return s }
	needs := pgTablePrivileges(e.spec)
	for _, s := range sel {
		t, ok := found[e.targetKey(fold, s.Target.Schema, s.Target.Name)]
		if !ok || t.kind != "table" {
			continue
		}
		var missing []string
		for _, pr := range needs {
			if pr == "OWNER" {
				if !t.owned {
					missing = append(missing, "ownership")
				}
			} else if !t.priv[pr] {
				missing = append(missing, pr)
			}
		}
		if len(missing) > 0 {
			lacks = append(lacks, fmt.Sprintf("%s on %s", strings.Join(missing, ", "), s.Target))
			if contains(missing, "ownership") {
				stmts = append(stmts, fmt.Sprintf("ALTER TABLE %s.%s OWNER TO %s;", pgIdent(s.Target.Schema), pgIdent(s.Target.Name), user))
			} else {
				stmts = append(stmts, fmt.Sprintf("GRANT %s ON %s.%s TO %s;", strings.Join(missing, ", "), pgIdent(s.Target.Schema), pgIdent(s.Target.Name), user))
			}
		}
	}
	if movesData(e.spec) {
		for _, t := range found {
			if t.schema != transform.MetaSchema || t.kind != "table" {
				continue
			}
			for _, pr := range []string{"SELECT", "INSERT", "UPDATE", "DELETE"} {
				if !t.priv[pr] {
					lacks = append(lacks, fmt.Sprintf("SELECT, INSERT, UPDATE, DELETE on %s.%s", t.schema, t.name))
					stmts = append(stmts, fmt.Sprintf("GRANT SELECT, INSERT, UPDATE, DELETE ON %s.%s TO %s;", pgIdent(t.schema), pgIdent(t.name), user))
					break
				}
			}
		}
	}
	if len(lacks) == 0 {
		return passed("role %s holds what the job needs on database %s", user, database)
	}
	return failed("role %s lacks %s", user, limit(lacks, 10)).with("missing", lacks).sql(stmts...).
		fix("run the SQL on the target as the objects' owner or a superuser")
}

// pgTablePrivileges are what the job needs on a target table that exists
// already ("OWNER": only the owner may drop or index it).
func pgTablePrivileges(spec *job.Spec) []string {
	p := spec.EffectivePhases()
	need := []string{"SELECT"}
	if !movesData(spec) {
		return need
	}
	if p.Structure {
		switch policyOf(spec) {
		case job.ExistingAppend:
			need = append(need, "INSERT", "OWNER") // its indexes are created after the data
		case job.ExistingTruncate:
			need = append(need, "INSERT", "TRUNCATE", "OWNER")
		case job.ExistingRecreate:
			need = append(need, "OWNER")
		}
	} else if p.Full {
		need = append(need, "INSERT")
	}
	if p.Incremental {
		for _, x := range []string{"INSERT", "UPDATE", "DELETE"} {
			if !contains(need, x) {
				need = append(need, x)
			}
		}
	}
	return need
}
