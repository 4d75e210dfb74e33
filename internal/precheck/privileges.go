package precheck

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Privileges of the source user: reading the tables, the snapshot, the log.

func checkSourceSelect(ctx context.Context, e *env) Outcome {
	sel, err := e.selectedOK(ctx)
	if err != nil {
		return notChecked(err)
	}
	d, err := e.sourceDB(ctx)
	if err != nil {
		return notChecked(err)
	}
	if d.pg != nil {
		return pgSourceSelect(ctx, d, sel)
	}
	g, err := e.grantsOf(ctx, true)
	if err != nil {
		return notChecked(err)
	}
	missing := map[string][]string{} // database → tables
	for _, s := range sel {
		if !g.has("SELECT", s.Source.Schema, s.Source.Name) {
			missing[s.Source.Schema] = append(missing[s.Source.Schema], s.Source.Name)
		}
	}
	if len(missing) > 0 {
		var names, stmts []string
		for _, db := range sortedKeys(missing) {
			for _, t := range missing[db] {
				names = append(names, db+"."+t)
			}
			stmts = append(stmts, fmt.Sprintf("GRANT SELECT ON %s.* TO %s;", mysqlDBPattern(db), g.account))
		}
		return failed("user %s may not read these selected tables (%d): %s", g.account, len(names), limit(names, 10)).
			with("tables", names).sql(stmts...).fix("run the SQL on the source as an administrator")
	}
	// Tables the user holds no privilege on are invisible to it: with only
	// table-level grants, a database selected with all: true or a glob could
	// hide tables, which would silently not be copied.
	var hidden []string
	for _, db := range e.spec.Objects {
		if !db.Value.All && !isGlob(db.Key) {
			continue
		}
		for _, name := range selectedSchemas(sel, db.Key) {
			if !g.hasAny(name) {
				hidden = append(hidden, name)
			}
		}
	}
	if len(hidden) > 0 {
		var stmts []string
		for _, db := range hidden {
			stmts = append(stmts, fmt.Sprintf("GRANT SELECT ON %s.* TO %s;", mysqlDBPattern(db), g.account))
		}
		return warning("user %s holds only table-level privileges in %s: tables it holds none on are invisible to it "+
			"and would not be copied", g.account, strings.Join(hidden, ", ")).
			with("databases", hidden).sql(stmts...).
			fix("grant SELECT on the whole database (the SQL), or list the tables explicitly in the job")
	}
	return passed("user %s may read every selected table (%d)", g.account, len(sel))
}

func isGlob(key string) bool { return strings.ContainsAny(key, "*?[") }

// selectedSchemas lists the source schemas that objects key selected tables of.
func selectedSchemas(sel []selected, key string) []string {
	seen := map[string]bool{}
	for _, s := range sel {
		if s.ObjectKey == key {
			seen[s.Source.Schema] = true
		}
	}
	return sortedKeys(seen)
}

func pgSourceSelect(ctx context.Context, d *endpointDB, sel []selected) Outcome {
	schemas, names := refArrays(sel)
	rows, err := d.pg.Query(ctx, `SELECT n.nspname, c.relname, has_schema_privilege(n.oid, 'USAGE'), has_table_privilege(c.oid, 'SELECT')
		FROM unnest($1::text[], $2::text[]) AS r(nsp, rel)
		JOIN pg_namespace n ON n.nspname = r.nsp JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = r.rel`, schemas, names)
	if err != nil {
		return notChecked(fmt.Errorf("read table privileges: %w", err))
	}
	defer rows.Close()
	noUsage, noSelect := map[string]bool{}, map[string][]string{}
	for rows.Next() {
		var nsp, rel string
		var usage, sel bool
		if err := rows.Scan(&nsp, &rel, &usage, &sel); err != nil {
			return notChecked(err)
		}
		if !usage {
			noUsage[nsp] = true
		}
		if !sel {
			noSelect[nsp] = append(noSelect[nsp], rel)
		}
	}
	if err := rows.Err(); err != nil {
		return notChecked(err)
	}
	if len(noUsage) == 0 && len(noSelect) == 0 {
		return passed("user %s may read every selected table (%d)", pgIdent(d.user), len(sel))
	}
	var stmts, tables []string
	for _, nsp := range sortedKeys(noUsage) {
		stmts = append(stmts, fmt.Sprintf("GRANT USAGE ON SCHEMA %s TO %s;", pgIdent(nsp), pgIdent(d.user)))
	}
	for _, nsp := range sortedKeys(noSelect) {
		for _, t := range noSelect[nsp] {
			tables = append(tables, nsp+"."+t)
		}
		stmts = append(stmts, pgGrantTables("SELECT", nsp, noSelect[nsp], d.user))
	}
	return failed("user %s may not read these selected tables (%d) and schemas (%d): %s", pgIdent(d.user), len(tables), len(noUsage),
		limit(append(sortedKeys(noUsage), tables...), 10)).
		with("schemas_without_usage", sortedKeys(noUsage)).with("tables", tables).
		sql(stmts...).fix("run the SQL on the source as the tables' owner or a superuser")
}

// pgGrantTables grants privs on tables of one schema: per table for a few,
// on every table of the schema for many.
func pgGrantTables(privs, nsp string, tables []string, user string) string {
	if len(tables) > 20 {
		return fmt.Sprintf("GRANT %s ON ALL TABLES IN SCHEMA %s TO %s;", privs, pgIdent(nsp), pgIdent(user))
	}
	sort.Strings(tables)
	q := make([]string, len(tables))
	for i, t := range tables {
		q[i] = pgIdent(nsp) + "." + pgIdent(t)
	}
	return fmt.Sprintf("GRANT %s ON %s TO %s;", privs, strings.Join(q, ", "), pgIdent(user))
}

func refArrays(sel []selected) (schemas, names []string) {
	schemas, names = make([]string, len(sel)), make([]string, len(sel))
	for i, s := range sel {
		schemas[i], names[i] = s.Source.Schema, s.Source.Name
	}
	return schemas, names
}

func pgIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// pgString quotes a string literal (standard_conforming_strings is on).
func pgString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// binlogMonitor is the privilege SHOW MASTER STATUS needs on this server.
func binlogMonitor(v serverVersion) string {
	if v.mariadb && v.atLeast(10, 5, 2) {
		return "BINLOG MONITOR"
	}
	return "REPLICATION CLIENT"
}

// checkSnapshotPrivileges: FLUSH TABLES WITH READ LOCK (RELOAD) holds
// commits while every reader starts its snapshot and SHOW MASTER STATUS
// (REPLICATION CLIENT / BINLOG MONITOR) reads the position.
func checkSnapshotPrivileges(ctx context.Context, e *env) Outcome {
	d, err := e.sourceDB(ctx)
	if err != nil {
		return notChecked(err)
	}
	g, err := e.grantsOf(ctx, true)
	if err != nil {
		return notChecked(err)
	}
	monitor := binlogMonitor(d.version)
	reload, client := g.has("RELOAD", "", ""), g.has(monitor, "", "")
	switch {
	case reload && client:
		return passed("user %s holds RELOAD and %s", g.account, monitor)
	case !reload && d.version.mariadb:
		return warning("user %s lacks RELOAD: the full load reads the source with one connection instead of %d", g.account, e.spec.Parallelism.Max).
			sql(fmt.Sprintf("GRANT RELOAD, %s ON *.* TO %s;", monitor, g.account)).
			fix("run the SQL on the source for parallel reads (the lock it allows is held for milliseconds)")
	}
	var lacks []string
	if !reload {
		lacks = append(lacks, "RELOAD")
	}
	if !client {
		lacks = append(lacks, monitor)
	}
	return failed("user %s lacks %s: the full load cannot take a consistent snapshot with its binlog position", g.account, strings.Join(lacks, " and ")).
		with("missing", lacks).sql(fmt.Sprintf("GRANT %s ON *.* TO %s;", strings.Join(lacks, ", "), g.account)).
		fix("run the SQL on the source as an administrator")
}

func checkReplicationPrivileges(ctx context.Context, e *env) Outcome {
	d, err := e.sourceDB(ctx)
	if err != nil {
		return notChecked(err)
	}
	if d.pg != nil {
		var super, repl bool
		if err := d.pg.QueryRow(ctx, `SELECT rolsuper, rolreplication FROM pg_roles WHERE rolname = current_user`).Scan(&super, &repl); err != nil {
			return notChecked(fmt.Errorf("read the user's attributes: %w", err))
		}
		if super || repl {
			return passed("role %s may open replication connections", pgIdent(d.user)).with("superuser", super).with("replication", repl)
		}
		return failed("role %s has neither REPLICATION nor SUPERUSER: it cannot create a replication slot or stream changes", pgIdent(d.user)).
			sql(fmt.Sprintf("ALTER ROLE %s WITH REPLICATION;", pgIdent(d.user))).
			fix("run the SQL on the source as a superuser; pg_hba.conf must also let the user connect to the database")
	}
	g, err := e.grantsOf(ctx, true)
	if err != nil {
		return notChecked(err)
	}
	var lacks []string
	for _, p := range []string{"REPLICATION SLAVE", binlogMonitor(d.version)} {
		if !g.has(p, "", "") {
			lacks = append(lacks, p)
		}
	}
	if len(lacks) == 0 {
		return passed("user %s holds REPLICATION SLAVE and %s", g.account, binlogMonitor(d.version))
	}
	return failed("user %s lacks %s: it cannot read the binary log", g.account, strings.Join(lacks, " and ")).
		with("missing", lacks).sql(fmt.Sprintf("GRANT %s ON *.* TO %s;", strings.Join(lacks, ", "), g.account)).
		fix("run the SQL on the source as an administrator")
}
