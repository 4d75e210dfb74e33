package precheck

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/dtsorg/dts/internal/transform"
)

// Limits of the engines' names and tables.
const (
	pgMaxIdent      = 63   // bytes; longer names are cut
	mysqlMaxIdent   = 64   // characters
	innodbMaxColumn = 1017 // columns per InnoDB table
)

// checkNameConflicts: names that are distinct on the source but one on the
// target (case folding, PostgreSQL's 63-byte cut), names MySQL refuses, the
// bookkeeping schema, and other kinds of relations already holding a name.
func checkNameConflicts(ctx context.Context, e *env) Outcome {
	tables, err := e.tables(ctx)
	if err != nil {
		return notChecked(err)
	}
	fold, err := e.fold(ctx)
	if err != nil {
		return notChecked(err)
	}
	found, err := e.existing(ctx)
	if err != nil {
		return notChecked(err)
	}
	mysqlTarget := e.spec.Target.Engine.IsMySQL()
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }

	// The name every engine compares by: MySQL folds per lower_case_table_names,
	// PostgreSQL cuts at 63 bytes.
	key := func(s string) string { return fold(s) }
	if !mysqlTarget {
		key = pgCut
	}
	tablesBy := map[string][]string{}
	for _, t := range tables {
		to := t.sel.Target
		if strings.EqualFold(to.Schema, transform.MetaSchema) {
			add("%s maps onto %s, the schema dts keeps its bookkeeping in", t.src.QualifiedName(), to)
		}
		k := key(to.Schema) + "\x00" + key(to.Name)
		if !slices.Contains(tablesBy[k], to.String()) { // one name several times: a declared shard merge (objects.selection refuses the others)
			tablesBy[k] = append(tablesBy[k], to.String())
		}
		if rel, ok := found[e.targetKey(fold, to.Schema, to.Name)]; ok && rel.kind != "table" {
			add("%s is the name of an existing %s on the target", to, rel.kind)
		}
		if mysqlTarget {
			for _, n := range []string{to.Schema, to.Name} {
				if utf8.RuneCountInString(n) > mysqlMaxIdent {
					add("%s: the name %q is longer than MySQL's %d characters", t.src.QualifiedName(), n, mysqlMaxIdent)
				}
			}
			if n := len(t.src.Columns); n > innodbMaxColumn {
				add("%s has %d columns; an InnoDB table holds at most %d", t.src.QualifiedName(), n, innodbMaxColumn)
			}
		}
		columns := map[string][]string{}
		for _, c := range t.src.Columns {
			ck := pgCut(c.Name)
			if mysqlTarget {
				ck = strings.ToLower(c.Name) // MySQL column names never depend on case
				if utf8.RuneCountInString(c.Name) > mysqlMaxIdent {
					add("%s.%s: the column name is longer than MySQL's %d characters", t.src.QualifiedName(), c.Name, mysqlMaxIdent)
				}
			}
			columns[ck] = append(columns[ck], c.Name)
		}
		for _, k := range sortedKeys(columns) {
			if names := columns[k]; len(names) > 1 {
				add("%s: columns %s become one column on the target", t.src.QualifiedName(), strings.Join(quoteAll(names), ", "))
			}
		}
	}
	for _, k := range sortedKeys(tablesBy) {
		if names := tablesBy[k]; len(names) > 1 {
			add("tables %s become one table on the target", strings.Join(quoteAll(names), ", "))
		}
	}
	if len(problems) == 0 {
		return passed("target tables (%d) and their columns have distinct names the target accepts", len(tables))
	}
	how := "PostgreSQL cuts names at 63 bytes"
	if mysqlTarget {
		how = "MySQL compares column names (and, with lower_case_table_names, table names) ignoring case"
	}
	return failed("name conflicts on the target (%d; %s): %s", len(problems), how, limit(problems, 5)).
		with("conflicts", problems).
		fix("give the tables distinct target names (objects.<db>.tables.<table>.name, rename_rule), or rename the columns on the source")
}

// pgCut is a name as PostgreSQL keeps it: at most 63 bytes, never cutting a character.
func pgCut(s string) string {
	if len(s) <= pgMaxIdent {
		return s
	}
	cut := pgMaxIdent
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = fmt.Sprintf("%q", n)
	}
	return out
}
