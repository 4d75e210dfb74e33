package precheck

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"github.com/dtsorg/dts/internal/job"
)

// Existing MySQL target columns in a character set narrower than the data
// the source can send: utf8mb3 (three bytes, no emoji) or latin1 receiving
// what a utf8mb4 column or any PostgreSQL text holds. Strict sql_mode then
// stops the load at the first such character; without it the server stores
// '?' in its place, a silent loss. Tables dts creates carry the source's
// character set (MySQL source) or utf8mb4 (PostgreSQL source) explicitly,
// whatever the target database's default, so only existing tables the job
// keeps can be too narrow.

// charsetReach orders character sets by the characters they hold.
type charsetReach int

const (
	reachASCII   charsetReach = iota // ASCII only
	reachLegacy                      // one legacy set (latin1, cp1251, ...): holds ASCII and its own characters
	reachBMP                         // Unicode up to U+FFFF: utf8mb3, ucs2
	reachUnicode                     // all of Unicode: utf8mb4, utf16, utf32
	reachBytes                       // binary: any bytes
)

func reach(charset string) charsetReach {
	switch cs := strings.ToLower(charset); cs {
	case "ascii":
		return reachASCII
	case "utf8mb3", "utf8", "ucs2":
		return reachBMP
	case "utf8mb4", "utf16", "utf16le", "utf32":
		return reachUnicode
	case "binary":
		return reachBytes
	}
	return reachLegacy
}

// canHold reports whether a target column in charset dst holds every
// character of a source column in charset src ("" for PostgreSQL text:
// all of Unicode).
func canHold(dst, src string) bool {
	d, s := reach(dst), reachUnicode
	if src != "" {
		s = reach(src)
	}
	switch {
	case strings.EqualFold(dst, src), d == reachBytes, d == reachUnicode, s == reachASCII:
		return true
	case d == reachBMP:
		return s <= reachBMP
	}
	return false // two legacy sets, or a legacy set receiving Unicode
}

// narrowColumn is a kept target column too narrow for its source column.
type narrowColumn struct {
	schema, table, column string
	charset, collation    string // the target column's
	source                string // the source column's charset, "" for PostgreSQL
}

// keptTables are the selected tables whose existing target table the job
// writes into: kept by existing_tables append or truncate, or required
// because the structure phase is off. (Under fail the existing table stops
// the job, see target.existing_tables; under recreate dts creates it anew.)
func (e *env) keptTables(ctx context.Context, tables []*tableFacts) ([]*tableFacts, func(string) string, error) {
	policy := policyOf(e.spec)
	if e.spec.EffectivePhases().Structure && policy != job.ExistingAppend && policy != job.ExistingTruncate {
		return nil, nil, nil
	}
	found, err := e.existing(ctx)
	if err != nil {
		return nil, nil, err
	}
	fold, err := e.fold(ctx)
	if err != nil {
		return nil, nil, err
	}
	var kept []*tableFacts
	for _, t := range tables {
		if rel, ok := found[e.targetKey(fold, t.sel.Target.Schema, t.sel.Target.Name)]; ok && rel.kind == "table" {
			kept = append(kept, t)
		}
	}
	return kept, fold, nil
}

// narrowColumns compares the text columns of the kept target tables with
// their source columns, in one catalog query on the target.
func narrowColumns(ctx context.Context, e *env, dst *endpointDB, tables []*tableFacts) ([]narrowColumn, error) {
	kept, fold, err := e.keptTables(ctx, tables)
	if err != nil || len(kept) == 0 {
		return nil, err
	}
	type colKey struct{ table, column string }
	want := map[colKey]string{} // target (folded schema\x00table, lower-case column) → source charset
	mysqlSource := e.spec.Source.Engine.IsMySQL()
	schemas := map[string]bool{}
	for _, t := range kept {
		tk := e.targetKey(fold, t.sel.Target.Schema, t.sel.Target.Name)
		schemas[t.sel.Target.Schema] = true
		for _, c := range t.src.Columns {
			if !textual(c.Type.Kind) || c.Type.Binary {
				continue
			}
			cs := ""
			if mysqlSource {
				if cs = c.Charset; cs == "" {
					continue // no character set: not text on the source
				}
			}
			want[colKey{tk, strings.ToLower(c.Name)}] = cs
		}
	}
	list := sortedKeys(schemas)
	q := "SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME, CHARACTER_SET_NAME, COALESCE(COLLATION_NAME, '') FROM information_schema.COLUMNS " +
		"WHERE CHARACTER_SET_NAME IS NOT NULL AND TABLE_SCHEMA IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(list)), ", ") + ") " +
		"ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION"
	rows, err := dst.my.QueryContext(ctx, q, anys(list)...)
	if err != nil {
		return nil, fmt.Errorf("read the target's column character sets: %w", err)
	}
	defer rows.Close()
	var out []narrowColumn
	for rows.Next() {
		var n narrowColumn
		if err := rows.Scan(&n.schema, &n.table, &n.column, &n.charset, &n.collation); err != nil {
			return nil, err
		}
		src, ok := want[colKey{e.targetKey(fold, n.schema, n.table), strings.ToLower(n.column)}]
		if ok && !canHold(n.charset, src) {
			n.source = src
			out = append(out, n)
		}
	}
	return out, rows.Err()
}

// narrowOutcome fails for the narrow columns, with per-column ALTER
// statements that keep everything else of each column's definition.
func narrowOutcome(ctx context.Context, dst *endpointDB, narrow []narrowColumn, known map[string]bool) Outcome {
	var names, stmts []string
	byTable := map[[2]string][]narrowColumn{}
	var order [][2]string
	for _, n := range narrow {
		from := "PostgreSQL text"
		if n.source != "" {
			from = n.source
		}
		names = append(names, fmt.Sprintf("%s.%s.%s (%s, from %s)", n.schema, n.table, n.column, n.charset, from))
		k := [2]string{n.schema, n.table}
		if _, ok := byTable[k]; !ok {
			order = append(order, k)
		}
		byTable[k] = append(byTable[k], n)
	}
	// One SHOW CREATE TABLE per table, a few at a time, for at most
	// maxWidenSQL tables: the others need the same, and the details list them.
	shown := order[:min(len(order), maxWidenSQL)]
	stmts = make([]string, len(shown))
	errs := make([]error, len(shown))
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, k := range shown {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			stmts[i], errs[i] = widenSQL(ctx, dst, k[0], k[1], byTable[k], known)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return notChecked(err)
		}
	}
	fix := "run the SQL on the target: it converts these columns to utf8mb4 and keeps the rest of their definitions " +
		"(converting rewrites the table); or let dts create the tables (target.options.existing_tables: recreate)"
	if rest := len(order) - len(shown); rest > 0 {
		fix += fmt.Sprintf("; the SQL covers the first %d tables, the other %d (see the details' columns) need the same", len(shown), rest)
	}
	return failed("existing target columns whose character set cannot hold every character the source sends (%d): %s; "+
		"such a character stops the load (or, without strict sql_mode, is stored as '?')", len(names), limit(names, 5)).
		with("columns", names).sql(stmts...).fix("%s", fix)
}

// maxWidenSQL bounds the tables the fix SQL of narrow columns covers.
const maxWidenSQL = 100

// widenSQL is an ALTER TABLE that redefines the columns in utf8mb4, each
// from its line in SHOW CREATE TABLE with only the character set and
// collation changed (MODIFY needs the whole definition: NULL, DEFAULT,
// COMMENT...).
func widenSQL(ctx context.Context, dst *endpointDB, schema, table string, cols []narrowColumn, known map[string]bool) (string, error) {
	var name, create string
	if err := dst.my.QueryRowContext(ctx, "SHOW CREATE TABLE "+mysqlIdent(schema)+"."+mysqlIdent(table)).Scan(&name, &create); err != nil {
		return "", fmt.Errorf("read the definition of %s.%s: %w", schema, table, err)
	}
	var mods []string
	for _, c := range cols {
		def, ok := columnLine(create, c.column)
		if !ok {
			return "", fmt.Errorf("no definition of column %s in SHOW CREATE TABLE %s.%s", c.column, schema, table)
		}
		mods = append(mods, "MODIFY "+widenColumn(def, utf8mb4Collation(c.charset, c.collation, known)))
	}
	return fmt.Sprintf("ALTER TABLE %s.%s %s;", mysqlIdent(schema), mysqlIdent(table), strings.Join(mods, ", ")), nil
}

// columnLine returns a column's definition from SHOW CREATE TABLE output,
// without the indentation and the trailing comma.
func columnLine(create, column string) (string, bool) {
	prefix := mysqlIdent(column) + " "
	for _, line := range strings.Split(create, "\n") {
		line = strings.TrimSpace(line)
		if strings.HasPrefix(line, prefix) {
			return strings.TrimSuffix(line, ","), true
		}
	}
	return "", false
}

// widenColumn rewrites "`c` type [CHARACTER SET x] [COLLATE y] rest" as
// "`c` type CHARACTER SET utf8mb4 COLLATE coll rest". The type ends at the
// first space outside parentheses and quotes (enum('a b') is one type).
func widenColumn(def, coll string) string {
	nameEnd := 1
	for nameEnd < len(def) {
		if def[nameEnd] == '`' {
			if nameEnd+1 < len(def) && def[nameEnd+1] == '`' {
				nameEnd += 2
				continue
			}
			break
		}
		nameEnd++
	}
	name, rest := def[:nameEnd+1], strings.TrimSpace(def[nameEnd+1:])
	depth, quote, end := 0, byte(0), len(rest)
scan:
	for i := 0; i < len(rest); i++ {
		ch := rest[i]
		switch {
		case quote != 0:
			if ch == '\\' {
				i++
			} else if ch == quote {
				quote = 0
			}
		case ch == '\'' || ch == '"':
			quote = ch
		case ch == '(':
			depth++
		case ch == ')':
			depth--
		case ch == ' ' && depth == 0:
			end = i
			break scan
		}
	}
	typ, tail := rest[:end], strings.TrimSpace(rest[end:])
	for {
		upper := strings.ToUpper(tail)
		switch {
		case strings.HasPrefix(upper, "CHARACTER SET "):
			tail = skipWord(tail[len("CHARACTER SET "):])
		case strings.HasPrefix(upper, "CHARSET "):
			tail = skipWord(tail[len("CHARSET "):])
		case strings.HasPrefix(upper, "COLLATE "):
			tail = skipWord(tail[len("COLLATE "):])
		default:
			out := name + " " + typ + " CHARACTER SET utf8mb4 COLLATE " + coll
			if tail != "" {
				out += " " + tail
			}
			return out
		}
	}
}

func skipWord(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return strings.TrimSpace(s[i:])
	}
	return ""
}

// utf8mb4Collation is the utf8mb4 collation that compares as coll (of
// charset) does: a Unicode collation's utf8mb4 twin where the server has
// one (utf8mb3_unicode_ci → utf8mb4_unicode_ci), else one of the same kind
// (binary or case-insensitive). (latin1_swedish_ci's namesake
// utf8mb4_swedish_ci follows Swedish rules latin1's does not.)
func utf8mb4Collation(charset, coll string, known map[string]bool) string {
	lc := strings.ToLower(coll)
	if _, kind, ok := strings.Cut(lc, "_"); ok && reach(charset) >= reachBMP {
		if twin := "utf8mb4_" + kind; known["co:"+twin] {
			return twin
		}
	}
	nopad := strings.Contains(lc, "nopad")
	switch {
	case strings.HasSuffix(lc, "_bin") && nopad && known["co:utf8mb4_nopad_bin"]:
		return "utf8mb4_nopad_bin"
	case strings.HasSuffix(lc, "_bin") || strings.HasSuffix(lc, "_cs"):
		return "utf8mb4_bin"
	case nopad && known["co:utf8mb4_general_nopad_ci"]:
		return "utf8mb4_general_nopad_ci"
	}
	return "utf8mb4_general_ci"
}
