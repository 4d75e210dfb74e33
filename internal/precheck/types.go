package precheck

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/dtsorg/dts/internal/schema"
)

// checkTypes lists what the target's sink says it cannot hold (the same
// MapTable the runner calls, so this item and the job never disagree).
func checkTypes(ctx context.Context, e *env) Outcome {
	tables, err := e.mapped(ctx)
	if err != nil {
		return notChecked(err)
	}
	var fatal, warn []string
	for _, t := range tables {
		for _, p := range t.problems {
			msg := fmt.Sprintf("%s.%s (%s): %s", t.src.QualifiedName(), p.Column, p.Type, p.Reason)
			if p.Fatal {
				fatal = append(fatal, msg)
			} else {
				warn = append(warn, msg)
			}
		}
	}
	switch {
	case len(fatal) > 0:
		return failed("columns whose values the target cannot hold exactly (%d): %s", len(fatal), limit(fatal, 5)).
			with("columns", fatal).with("warnings", warn).
			fix("leave these tables out of the job, or change the columns' types on the source (docs/type-mapping.md lists what maps to what)")
	case len(warn) > 0:
		return warning("columns that change on the way (%d; a value that does not fit fails loudly, never silently): %s", len(warn), limit(warn, 5)).
			with("columns", warn).fix("review the list; docs/type-mapping.md explains each case")
	}
	return passed("every column maps onto the target without loss (%d tables)", len(tables))
}

// checkCharsets: the target must know every character set and collation a
// same-engine copy keeps, existing MySQL target columns the job writes into
// must hold every character their source columns can (charsets.go), and a
// PostgreSQL target's database encoding must hold every character the
// source can send.
func checkCharsets(ctx context.Context, e *env) Outcome {
	tables, err := e.tables(ctx)
	if err != nil {
		return notChecked(err)
	}
	dst, err := e.targetDB(ctx)
	if err != nil {
		return notChecked(err)
	}
	src, err := e.sourceDB(ctx)
	if err != nil {
		return notChecked(err)
	}
	if dst.pg != nil {
		return postgresEncodings(ctx, e, src, dst, tables)
	}
	known, err := targetCollations(ctx, dst)
	if err != nil {
		return notChecked(err)
	}
	var outs []Outcome
	if e.spec.Source.Engine.IsMySQL() {
		outs = append(outs, mysqlCollations(known, tables))
	} else {
		outs = append(outs, passed("tables dts creates are in utf8mb4, which holds every character PostgreSQL can store"))
	}
	narrow, err := narrowColumns(ctx, e, dst, tables)
	if err != nil {
		return notChecked(err)
	}
	if len(narrow) > 0 {
		outs = append(outs, narrowOutcome(ctx, dst, narrow, known))
	}
	return combine(outs...)
}

// targetCollations lists the character sets ("cs:name") and collations
// ("co:name") a MySQL target knows, in lower case.
func targetCollations(ctx context.Context, dst *endpointDB) (map[string]bool, error) {
	known := map[string]bool{}
	rows, err := dst.my.QueryContext(ctx, "SELECT COALESCE(CHARACTER_SET_NAME, ''), COLLATION_NAME FROM information_schema.COLLATIONS")
	if err != nil {
		return nil, fmt.Errorf("list the target's collations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var cs, co sql.NullString // MariaDB lists collations of no single character set (uca1400) with a NULL one
		if err := rows.Scan(&cs, &co); err != nil {
			return nil, err
		}
		if cs.Valid {
			known["cs:"+strings.ToLower(cs.String)] = true
		}
		known["co:"+strings.ToLower(co.String)] = true
	}
	return known, rows.Err()
}

// mysqlCollations checks that a MySQL target knows what the source's columns use.
func mysqlCollations(known map[string]bool, tables []*tableFacts) Outcome {
	unknown := map[string][]string{} // charset or collation → columns
	note := func(kind, name, where string) {
		if name != "" && kind == "cs" && strings.EqualFold(name, "binary") {
			return
		}
		if name != "" && !known[kind+":"+strings.ToLower(name)] {
			unknown[name] = append(unknown[name], where)
		}
	}
	for _, t := range tables {
		note("co", t.src.Collation, t.src.QualifiedName())
		for _, c := range t.src.Columns {
			where := t.src.QualifiedName() + "." + c.Name
			note("cs", c.Charset, where)
			note("co", c.Collation, where)
		}
	}
	if len(unknown) == 0 {
		return passed("the target knows every character set and collation of the selected columns")
	}
	var list []string
	for _, name := range sortedKeys(unknown) {
		list = append(list, fmt.Sprintf("%s (%s)", name, limit(unknown[name], 3)))
	}
	return failed("the target server does not know %s: creating the tables would fail", strings.Join(list, "; ")).
		with("unknown", unknown).
		fix("change these columns' collation on the source to one both servers know (e.g. utf8mb4_unicode_ci), " +
			"or create the target tables yourself and set target.options.existing_tables to append")
}

// combine merges outcomes of one item: the worst status; the messages,
// fixes and SQL of the outcomes that did not pass (of all when all passed).
func combine(outs ...Outcome) Outcome {
	rank := map[string]int{Passed: 0, Warning: 1, Failed: 2}
	worst := Passed
	for _, o := range outs {
		if rank[o.Status] > rank[worst] {
			worst = o.Status
		}
	}
	c := Outcome{Status: worst}
	var msgs, fixes []string
	for _, o := range outs {
		if worst != Passed && o.Status == Passed {
			continue
		}
		msgs = append(msgs, o.Message)
		if o.Fix != "" {
			fixes = append(fixes, o.Fix)
		}
		c.FixSQL = append(c.FixSQL, o.FixSQL...)
		for k, v := range o.Details {
			c = c.with(k, v)
		}
	}
	c.Message, c.Fix = strings.Join(msgs, "; "), strings.Join(fixes, "; ")
	return c
}

// postgresEncodings: a PostgreSQL target database in an encoding other than
// UTF8 cannot hold every character a UTF-8 source sends.
func postgresEncodings(ctx context.Context, e *env, src, dst *endpointDB, tables []*tableFacts) Outcome {
	var target string
	if err := dst.pg.QueryRow(ctx, `SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()`).Scan(&target); err != nil {
		return notChecked(err)
	}
	source := ""
	if src.pg != nil {
		if err := src.pg.QueryRow(ctx, `SELECT pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()`).Scan(&source); err != nil {
			return notChecked(err)
		}
	}
	o := passed("the target database's encoding is %s", target).with("target_encoding", target)
	if source != "" {
		o = o.with("source_encoding", source)
	}
	switch {
	case source == "SQL_ASCII":
		return o.withStatus(Warning, "the source database's encoding is SQL_ASCII: its text may hold bytes that are not valid UTF-8, "+
			"which the target refuses (the load then stops at that row)").
			fix("check the source's text for invalid UTF-8 before starting, or convert the source database to UTF8")
	case target == "UTF8", source != "" && source == target:
		return o
	case target == "SQL_ASCII":
		return o.withStatus(Warning, "the target database's encoding is SQL_ASCII: it stores whatever bytes it gets and validates nothing").
			fix("create the target database with ENCODING 'UTF8'")
	}
	var unicode []string
	for _, t := range tables {
		for _, c := range t.src.Columns {
			if textual(c.Type.Kind) && (src.pg != nil || isUnicodeCharset(c.Charset)) {
				unicode = append(unicode, t.src.QualifiedName()+"."+c.Name)
			}
		}
	}
	if len(unicode) == 0 {
		return o
	}
	return o.withStatus(Failed, "the target database's encoding is %s, which cannot hold every character of these text columns (%d): %s",
		target, len(unicode), limit(unicode, 5)).with("columns", unicode).
		sql(fmt.Sprintf("CREATE DATABASE %s ENCODING 'UTF8' TEMPLATE template0;", pgIdent(e.spec.Target.Database+"_utf8"))).
		fix("copy into a database created with ENCODING 'UTF8' (the SQL creates one; point target.database at it)")
}

func isUnicodeCharset(cs string) bool {
	cs = strings.ToLower(cs)
	return strings.HasPrefix(cs, "utf") || strings.HasPrefix(cs, "ucs")
}

// textual reports whether a kind holds text.
func textual(k schema.Kind) bool {
	switch k {
	case schema.KindChar, schema.KindVarChar, schema.KindText, schema.KindEnum, schema.KindSet, schema.KindJSON, schema.KindXML:
		return true
	}
	return false
}
