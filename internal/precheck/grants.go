package precheck

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-sql-driver/mysql"
)

// MySQL/MariaDB privileges, read from SHOW GRANTS (which, unlike
// information_schema, includes what the session's roles grant) and parsed
// by a small reader of the statements the server prints.

// grants is what an account may do, by level.
type grants struct {
	account string // 'user'@'host', ready for a GRANT statement
	mariadb bool
	fold    bool // lower_case_table_names: database names compare case-insensitively
	global  privSet
	dbs     []dbGrant
	tables  map[[2]string]privSet
	revoked map[string]privSet // MySQL partial revokes, by database
}

type privSet map[string]bool

type dbGrant struct {
	pattern string // LIKE pattern: % and _ are wildcards, \ escapes
	privs   privSet
}

// has reports whether the account holds priv on db.table ("" table: on every
// table of db, as a database-level or global grant gives it).
func (g *grants) has(priv, db, table string) bool {
	priv = g.normal(priv)
	ok := func(p privSet) bool { return p[priv] || p["ALL"] && priv != "GRANT OPTION" }
	if ok(g.global) && !ok(g.revoked[g.key(db)]) {
		return true
	}
	for _, d := range g.dbs {
		if likeMatch(d.pattern, db, g.fold) && ok(d.privs) {
			return true
		}
	}
	return table != "" && ok(g.tables[[2]string{g.key(db), table}])
}

// hasAny reports whether the account holds a table privilege on db at
// database level or above: then every table of db is visible to it.
func (g *grants) hasAny(db string) bool {
	onTables := func(p privSet) bool {
		for priv := range p {
			if tableLevel[priv] {
				return true
			}
		}
		return false
	}
	if onTables(g.global) && !onTables(g.revoked[g.key(db)]) {
		return true
	}
	for _, d := range g.dbs {
		if likeMatch(d.pattern, db, g.fold) && onTables(d.privs) {
			return true
		}
	}
	return false
}

// tableLevel are the privileges that can be held on a table.
var tableLevel = map[string]bool{"ALL": true, "SELECT": true, "INSERT": true, "UPDATE": true, "DELETE": true, "CREATE": true,
	"DROP": true, "ALTER": true, "INDEX": true, "REFERENCES": true, "TRIGGER": true, "SHOW VIEW": true, "CREATE VIEW": true,
	"DELETE HISTORY": true}

func (g *grants) key(db string) string {
	if g.fold {
		return strings.ToLower(db)
	}
	return db
}

// normal spells a privilege as SHOW GRANTS does on this server.
func (g *grants) normal(p string) string {
	p = strings.ToUpper(strings.Join(strings.Fields(p), " "))
	switch {
	case p == "ALL PRIVILEGES":
		return "ALL"
	case g.mariadb && p == "REPLICATION CLIENT":
		return "BINLOG MONITOR" // MariaDB 10.5.2+ prints the old name's new one
	}
	return p
}

// readGrants reads the session's grants (with its active roles).
func readGrants(ctx context.Context, d *endpointDB, fold bool) (*grants, error) {
	g := &grants{account: d.user, mariadb: d.version.mariadb, fold: fold, global: privSet{},
		tables: map[[2]string]privSet{}, revoked: map[string]privSet{}}
	q := "SHOW GRANTS"
	if !d.version.mariadb && d.version.major >= 8 {
		var roles string
		if err := d.my.QueryRowContext(ctx, "SELECT CURRENT_ROLE()").Scan(&roles); err == nil && roles != "NONE" && roles != "" {
			q = "SHOW GRANTS FOR CURRENT_USER() USING " + roles // the server's own quoting of its role names
		}
	}
	rows, err := d.my.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("read the user's grants: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, err
		}
		g.add(line)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the user's grants: %w", err)
	}
	// MariaDB 10.5.2+ folded these into others; older servers had SUPER cover them.
	if g.global["SUPER"] && !(g.mariadb && d.version.atLeast(10, 5, 2)) {
		g.global[g.normal("REPLICATION CLIENT")] = true
	}
	return g, nil
}

// add records one line of SHOW GRANTS: GRANT privs ON level TO account, or a
// MySQL partial revoke. Role grants, PROXY and routine grants give no table privileges.
func (g *grants) add(line string) {
	revoke := strings.HasPrefix(line, "REVOKE ")
	if !revoke && !strings.HasPrefix(line, "GRANT ") {
		return
	}
	on := topLevelIndex(line, " ON ")
	if on < 0 {
		return // GRANT role TO account
	}
	privText := line[strings.Index(line, " ")+1 : on]
	rest := line[on+len(" ON "):]
	for _, kw := range []string{"PROCEDURE ", "FUNCTION ", "PACKAGE BODY ", "PACKAGE "} {
		if strings.HasPrefix(rest, kw) {
			return
		}
	}
	rest = strings.TrimPrefix(rest, "TABLE ")
	db, rest, ok := readName(rest)
	if !ok || !strings.HasPrefix(rest, ".") {
		return
	}
	table, _, ok := readName(rest[1:])
	if !ok {
		return
	}
	privs := privSet{}
	for _, p := range splitTopLevel(privText) {
		if strings.Contains(p, "(") {
			continue // column privileges do not cover the whole table
		}
		if n := g.normal(p); n != "PROXY" {
			privs[n] = true
		}
	}
	switch {
	case revoke:
		if db != "*" {
			set := g.revoked[g.key(db)]
			if set == nil {
				set = privSet{}
				g.revoked[g.key(db)] = set
			}
			for p := range privs {
				set[p] = true
			}
		}
	case db == "*" && table == "*":
		for p := range privs {
			g.global[p] = true
		}
	case table == "*":
		g.dbs = append(g.dbs, dbGrant{pattern: db, privs: privs})
	default:
		k := [2]string{g.key(db), table}
		if g.tables[k] == nil {
			g.tables[k] = privSet{}
		}
		for p := range privs {
			g.tables[k][p] = true
		}
	}
}

// readName reads one name: `quoted` (doubled backticks), 'quoted', or bare up to '.' or ' '.
func readName(s string) (name, rest string, ok bool) {
	if s == "" {
		return "", "", false
	}
	if q := s[0]; q == '`' || q == '\'' || q == '"' {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			if s[i] == q {
				if i+1 < len(s) && s[i+1] == q {
					b.WriteByte(q)
					i++
					continue
				}
				return b.String(), s[i+1:], true
			}
			b.WriteByte(s[i])
		}
		return "", "", false
	}
	end := strings.IndexAny(s, ". ")
	if end < 0 {
		end = len(s)
	}
	return s[:end], s[end:], end > 0
}

// topLevelIndex finds sep outside quotes and parentheses.
func topLevelIndex(s, sep string) int {
	depth, quote := 0, byte(0)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '`' || c == '\'' || c == '"':
			quote = c
		case c == '(':
			depth++
		case c == ')':
			depth--
		case depth == 0 && strings.HasPrefix(s[i:], sep):
			return i
		}
	}
	return -1
}

func splitTopLevel(s string) []string {
	var out []string
	for {
		i := topLevelIndex(s, ",")
		if i < 0 {
			return append(out, strings.TrimSpace(s))
		}
		out = append(out, strings.TrimSpace(s[:i]))
		s = s[i+1:]
	}
}

// likeMatch matches name against a grant's database pattern.
func likeMatch(pattern, name string, fold bool) bool {
	if fold {
		pattern, name = strings.ToLower(pattern), strings.ToLower(name)
	}
	var match func(p, n []rune) bool
	match = func(p, n []rune) bool {
		for len(p) > 0 {
			switch p[0] {
			case '%':
				for i := 0; i <= len(n); i++ {
					if match(p[1:], n[i:]) {
						return true
					}
				}
				return false
			case '_':
				if len(n) == 0 {
					return false
				}
			case '\\':
				if len(p) > 1 {
					p = p[1:]
				}
				fallthrough
			default:
				if len(n) == 0 || n[0] != p[0] {
					return false
				}
			}
			p, n = p[1:], n[1:]
		}
		return len(n) == 0
	}
	return match([]rune(pattern), []rune(name))
}

// mysqlAccount turns CURRENT_USER()'s user@host into 'user'@'host'.
func mysqlAccount(s string) string {
	user, host := s, "%"
	if i := strings.LastIndexByte(s, '@'); i >= 0 {
		user, host = s[:i], s[i+1:]
	}
	return mysqlString(user) + "@" + mysqlString(host)
}

// mysqlString quotes a string literal for the fix SQL shown to users.
func mysqlString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(s) + "'"
}

// mysqlIdent quotes an identifier.
func mysqlIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }

// mysqlDBPattern quotes a database name for GRANT ... ON db.*, escaping
// the wildcards so the grant covers exactly that database.
func mysqlDBPattern(s string) string {
	return mysqlIdent(strings.NewReplacer(`\`, `\\`, `_`, `\_`, `%`, `\%`).Replace(s))
}

func isMySQLErr(err error, number uint16) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == number
}

// grantsOf returns the endpoint's grants, read once.
func (e *env) grantsOf(ctx context.Context, source bool) (*grants, error) {
	l := &e.dstGrants
	if source {
		l = &e.srcGrants
	}
	return l.get(ctx, e, func(ctx context.Context) (*grants, error) {
		d, err := e.db(ctx, source)
		if err != nil {
			return nil, err
		}
		vars, err := e.settings(ctx, source)
		if err != nil {
			return nil, err
		}
		return readGrants(ctx, d, vars["lower_case_table_names"] != "" && vars["lower_case_table_names"] != "0")
	})
}
