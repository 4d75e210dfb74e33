package filter

import (
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/pingcap/tidb/pkg/parser"
	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"

	"github.com/dtsorg/dts/internal/schema"
)

// parse turns src into a tree: lex (and refuse) the text, hand the TiDB
// parser a normalised token stream for the grammar, convert its AST into the
// tree, resolving column names in t (none when t is nil: Validate).
// It also returns the nodes written with COLLATE "C" (PostgreSQL), which
// check requires to be strings.
func parse(d Dialect, src string, t *schema.Table) (node, []node, error) {
	toks, err := lex(d, src)
	if err != nil {
		return nil, nil, err
	}
	isColumn := func(d Dialect, name string) bool {
		if t == nil {
			return false
		}
		for _, c := range t.Columns {
			if d == MySQL && strings.EqualFold(c.Name, name) || d == PostgreSQL && c.Name == foldASCII(name) {
				return true
			}
		}
		return false
	}
	em, err := emit(d, toks, isColumn)
	if err != nil {
		return nil, nil, err
	}
	where, err := em.parse()
	if err != nil {
		return nil, nil, err
	}
	c := &converter{d: d, t: t, em: em}
	n, err := c.expr(where, 1)
	if err != nil {
		return nil, nil, err
	}
	if c.distinct != len(em.distinct) {
		return nil, nil, invalid("internal error: IS DISTINCT FROM could not be placed") // never: one per <=> token
	}
	return n, c.collated, nil
}

var parserPool = sync.Pool{New: func() any { return parser.New() }}

var columnRE = regexp.MustCompile(`column (\d+)`)

// parse runs the TiDB parser and returns the WHERE expression.
func (e *emission) parse() (ast.ExprNode, error) {
	p := parserPool.Get().(*parser.Parser)
	defer parserPool.Put(p)
	p.SetSQLMode(mysql.ModeNone)
	text := e.sql.String()
	stmt, err := p.ParseOneStmt(text, "utf8mb4", "utf8mb4_bin")
	if err != nil {
		return nil, e.syntaxError(err)
	}
	sel, ok := stmt.(*ast.SelectStmt)
	if !ok || sel.Where == nil || sel.GroupBy != nil || sel.Having != nil || sel.OrderBy != nil || sel.Limit != nil ||
		sel.LockInfo != nil || sel.SelectIntoOpt != nil || sel.WindowSpecs != nil || sel.With != nil ||
		sel.TableHints != nil || sel.Distinct || sel.Fields == nil || len(sel.Fields.Fields) != 1 {
		return nil, invalid("the filter must be one condition") // the token checks make this unreachable
	}
	return sel.Where, nil
}

// syntaxError maps the parser's error position back to the user's token.
func (e *emission) syntaxError(err error) error {
	m := columnRE.FindStringSubmatch(err.Error())
	if m != nil {
		col, _ := strconv.Atoi(m[1])
		// The parser reports the column after the token it stopped at.
		for i := len(e.offsets) - 1; i >= 0; i-- {
			if e.offsets[i] < col {
				t := e.toks[i]
				if i == len(e.offsets)-1 && col >= e.sql.Len()-1 {
					return invalidAt(t.pos, "the condition is incomplete after %s", clip(t.raw))
				}
				return invalidAt(t.pos, "syntax error at %s", clip(t.raw))
			}
		}
	}
	return invalid("the filter is not a valid condition")
}
