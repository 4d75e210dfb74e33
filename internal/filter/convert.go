package filter

import (
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/ast"
	"github.com/pingcap/tidb/pkg/parser/mysql"
	"github.com/pingcap/tidb/pkg/parser/opcode"
	"github.com/pingcap/tidb/pkg/parser/test_driver"

	"github.com/dtsorg/dts/internal/schema"
)

// Conversion of the TiDB parser's AST into the tree: every node type is
// matched against the allow-list, names are resolved in the table.

// converter turns the parser's AST into the tree.
type converter struct {
	d        Dialect
	t        *schema.Table
	em       *emission
	nodes    int
	distinct int    // <=> operators seen, in text order
	collated []node // the operands of COLLATE "C": check makes sure they are strings
}

func (c *converter) count() error {
	c.nodes++
	if c.nodes > MaxNodes {
		return invalid("the filter has more than %d parts", MaxNodes)
	}
	return nil
}

func (c *converter) expr(n ast.ExprNode, depth int) (node, error) {
	if depth > MaxDepth {
		return nil, invalid("the condition is nested more than %d levels deep", MaxDepth)
	}
	if err := c.count(); err != nil {
		return nil, err
	}
	switch n := n.(type) {
	case *ast.ParenthesesExpr:
		c.nodes--
		return c.expr(n.Expr, depth)
	case *ast.ColumnNameExpr:
		return c.column(n.Name)
	case *test_driver.ValueExpr:
		return c.literal(n)
	case *ast.BinaryOperationExpr:
		return c.binary(n, depth)
	case *ast.UnaryOperationExpr:
		return c.unary(n, depth)
	case *ast.IsNullExpr:
		x, err := c.expr(n.Expr, depth+1)
		return &isNull{x: x, neg: n.Not}, err
	case *ast.IsTruthExpr:
		x, err := c.expr(n.Expr, depth+1)
		return &isBool{x: x, val: n.True != 0, neg: n.Not}, err
	case *ast.PatternInExpr:
		if n.Sel != nil {
			return nil, invalid("subqueries are not allowed (IN (SELECT ...))")
		}
		x, err := c.expr(n.Expr, depth+1)
		if err != nil {
			return nil, err
		}
		in := &inList{x: x, neg: n.Not}
		for _, a := range n.List {
			v, err := c.expr(a, depth+1)
			if err != nil {
				return nil, err
			}
			if _, ok := v.(*literal); !ok {
				return nil, invalid("IN takes a list of literals, not %s", canonical(v))
			}
			in.list = append(in.list, v)
		}
		return in, nil
	case *ast.BetweenExpr:
		var b between
		var err error
		if b.x, err = c.expr(n.Expr, depth+1); err != nil {
			return nil, err
		}
		if b.lo, err = c.expr(n.Left, depth+1); err != nil {
			return nil, err
		}
		if b.hi, err = c.expr(n.Right, depth+1); err != nil {
			return nil, err
		}
		b.neg = n.Not
		return &b, nil
	case *ast.PatternLikeOrIlikeExpr:
		if !n.IsLike {
			return nil, invalid("ILIKE is not allowed: write LOWER(x) LIKE 'pattern'")
		}
		x, err := c.expr(n.Expr, depth+1)
		if err != nil {
			return nil, err
		}
		v, ok := n.Pattern.(*test_driver.ValueExpr)
		if !ok || v.Kind() != test_driver.KindString {
			return nil, invalid("LIKE takes a string literal as its pattern")
		}
		idx, _ := strconv.Atoi(v.GetString())
		if c.em.patterns[idx] == nil {
			return nil, invalid("LIKE takes a string literal as its pattern")
		}
		return &like{x: x, pattern: c.em.patterns[idx], neg: n.Not}, nil
	case *ast.FuncCallExpr:
		return c.call(n, depth)
	case *ast.SetCollationExpr:
		if c.d != PostgreSQL || n.Collate != "utf8mb4_bin" {
			return nil, invalid("COLLATE is not allowed in a filter")
		}
		c.nodes--
		x, err := c.expr(n.Expr, depth)
		if err != nil {
			return nil, err
		}
		switch x.(type) {
		case *column, *call:
			c.collated = append(c.collated, x)
			return x, nil
		}
		return nil, invalid(`COLLATE "C" applies to a column or a function of one, not %s`, canonical(x))
	case *ast.SubqueryExpr, *ast.ExistsSubqueryExpr, *ast.CompareSubqueryExpr:
		return nil, invalid("subqueries are not allowed")
	case *ast.RowExpr:
		return nil, invalid("row values ((a, b)) are not allowed in a filter")
	case *ast.AggregateFuncExpr, *ast.WindowFuncExpr:
		return nil, invalid("aggregate and window functions are not allowed in a filter")
	case *ast.FuncCastExpr:
		return nil, invalid("casts are not allowed: compare with a literal of the column's type")
	case *ast.CaseExpr:
		return nil, invalid("CASE is not allowed in a filter")
	case *ast.VariableExpr:
		return nil, invalid("variables are not allowed")
	}
	return nil, invalid("this construct is not allowed in a filter (%T)", n)
}

func (c *converter) column(n *ast.ColumnName) (node, error) {
	if c.t == nil { // Validate: names are checked against the table later
		return &column{name: n.Name.O, idx: -1}, nil
	}
	same := func(a, b string) bool {
		if c.d == MySQL {
			return strings.EqualFold(a, b)
		}
		return a == b
	}
	if n.Table.O != "" && (!same(n.Table.O, c.t.Name) || n.Schema.O != "" && !same(n.Schema.O, c.t.Schema)) {
		q := n.Table.O
		if n.Schema.O != "" {
			q = n.Schema.O + "." + q
		}
		return nil, invalid("table %s is not %s: a filter can use only its own table's columns", q, c.t.QualifiedName())
	}
	for i := range c.t.Columns {
		if same(c.t.Columns[i].Name, n.Name.O) {
			return &column{name: c.t.Columns[i].Name, idx: i, col: &c.t.Columns[i]}, nil
		}
	}
	return nil, invalid("column %s is not a column of %s", n.Name.O, c.t.QualifiedName())
}

func (c *converter) literal(v *test_driver.ValueExpr) (node, error) {
	switch v.Kind() {
	case test_driver.KindNull:
		return &literal{kind: litNull}, nil
	case test_driver.KindInt64:
		if v.Type.GetFlag()&mysql.IsBooleanFlag != 0 {
			return &literal{kind: litBool, b: v.GetInt64() != 0}, nil
		}
		if i := v.GetInt64(); i >= 0 && int(i) < len(c.em.lits) && c.em.lits[i].kind == tkNumber {
			return &literal{kind: litNumber, text: c.em.lits[i].val}, nil
		}
	case test_driver.KindString:
		if i, err := strconv.Atoi(v.GetString()); err == nil && i < len(c.em.lits) && c.em.lits[i].kind == tkString {
			if c.em.patterns[i] != nil {
				return nil, invalid("a LIKE pattern is used as a value")
			}
			return &literal{kind: litString, text: c.em.lits[i].val}, nil
		}
	}
	return nil, invalid("unexpected literal") // the lexer emits only placeholders
}

func (c *converter) binary(n *ast.BinaryOperationExpr, depth int) (node, error) {
	switch n.Op {
	case opcode.LogicAnd, opcode.LogicOr:
		op := opAnd
		if n.Op == opcode.LogicOr {
			op = opOr
		}
		l := &logical{op: op}
		if err := c.flatten(l, n, depth); err != nil {
			return nil, err
		}
		return l, nil
	case opcode.EQ, opcode.NE, opcode.LT, opcode.LE, opcode.GT, opcode.GE, opcode.NullEQ:
		l, err := c.expr(n.L, depth+1)
		if err != nil {
			return nil, err
		}
		negate := false
		if n.Op == opcode.NullEQ && c.d == PostgreSQL {
			if c.distinct >= len(c.em.distinct) {
				return nil, invalid("internal error: unmatched IS DISTINCT FROM")
			}
			negate = c.em.distinct[c.distinct]
			c.distinct++
		}
		r, err := c.expr(n.R, depth+1)
		if err != nil {
			return nil, err
		}
		op := map[opcode.Op]cmpOp{opcode.EQ: cmpEQ, opcode.NE: cmpNE, opcode.LT: cmpLT, opcode.LE: cmpLE,
			opcode.GT: cmpGT, opcode.GE: cmpGE, opcode.NullEQ: cmpNullEQ}[n.Op]
		var out node = &compare{op: op, l: l, r: r}
		if negate {
			out = &not{x: out}
		}
		return out, nil
	case opcode.Plus, opcode.Minus, opcode.Mul, opcode.Mod:
		l, err := c.expr(n.L, depth+1)
		if err != nil {
			return nil, err
		}
		r, err := c.expr(n.R, depth+1)
		if err != nil {
			return nil, err
		}
		op := map[opcode.Op]arithOp{opcode.Plus: opAdd, opcode.Minus: opSub, opcode.Mul: opMul, opcode.Mod: opMod}[n.Op]
		return &arith{op: op, l: l, r: r}, nil
	case opcode.Div, opcode.IntDiv:
		return nil, invalid("division is not allowed: MySQL and PostgreSQL round quotients differently; multiply instead")
	}
	return nil, invalid("operator %s is not allowed in a filter", n.Op)
}

// flatten collects the operands of a chain of one logical operator,
// iteratively down the left spine (a long OR list is deep only in the
// parser's tree).
func (c *converter) flatten(l *logical, n *ast.BinaryOperationExpr, depth int) error {
	var rights []ast.ExprNode
	var cur ast.ExprNode = n
	for {
		b, ok := unparen(cur).(*ast.BinaryOperationExpr)
		if !ok || b.Op != n.Op {
			break
		}
		rights = append(rights, b.R)
		cur = b.L
	}
	operands := []ast.ExprNode{cur}
	for i := len(rights) - 1; i >= 0; i-- {
		operands = append(operands, rights[i])
	}
	for _, o := range operands {
		if b, ok := unparen(o).(*ast.BinaryOperationExpr); ok && b.Op == n.Op {
			if err := c.flatten(l, b, depth+1); err != nil {
				return err
			}
			continue
		}
		x, err := c.expr(o, depth+1)
		if err != nil {
			return err
		}
		l.args = append(l.args, x)
	}
	return nil
}

func unparen(n ast.ExprNode) ast.ExprNode {
	for {
		p, ok := n.(*ast.ParenthesesExpr)
		if !ok {
			return n
		}
		n = p.Expr
	}
}

func (c *converter) unary(n *ast.UnaryOperationExpr, depth int) (node, error) {
	switch n.Op {
	case opcode.Not, opcode.Not2:
		x, err := c.expr(n.V, depth+1)
		return &not{x: x}, err
	case opcode.Minus, opcode.Plus:
		x, err := c.expr(n.V, depth+1)
		if err != nil {
			return nil, err
		}
		l, ok := x.(*literal)
		if !ok || l.kind != litNumber {
			return nil, invalid("unary %s applies only to numbers, not %s: write 0 - x", n.Op, canonical(x))
		}
		if n.Op == opcode.Minus {
			if t, ok := strings.CutPrefix(l.text, "-"); ok {
				l.text = t
			} else {
				l.text = "-" + l.text
			}
		}
		return l, nil
	}
	return nil, invalid("operator %s is not allowed in a filter", n.Op)
}

func (c *converter) call(n *ast.FuncCallExpr, depth int) (node, error) {
	name := strings.ToUpper(n.FnName.L)
	var fn fnKind
	argc := []int{1}
	switch name {
	case "LOWER":
		fn = fnLower
	case "UPPER":
		fn = fnUpper
	case "CHAR_LENGTH", "CHARACTER_LENGTH":
		fn = fnCharLength
	case "OCTET_LENGTH":
		fn = fnOctetLength
	case "LENGTH":
		fn = fnOctetLength // MySQL: bytes
		if c.d == PostgreSQL {
			fn = fnCharLength // PostgreSQL: characters
		}
	case "ABS":
		fn = fnAbs
	case "COALESCE":
		fn, argc = fnCoalesce, nil
	case "SUBSTRING", "SUBSTR":
		fn, argc = fnSubstring, []int{2, 3}
	default:
		return nil, invalid("function %s is not allowed in a filter; allowed: %s", name, allowedFunctions)
	}
	if argc != nil && !containsInt(argc, len(n.Args)) || argc == nil && len(n.Args) < 1 {
		return nil, invalid("%s takes %s arguments, not %d", name, map[fnKind]string{fnSubstring: "2 or 3"}[fn]+map[bool]string{true: "1"}[fn != fnSubstring], len(n.Args))
	}
	out := &call{fn: fn}
	for _, a := range n.Args {
		x, err := c.expr(a, depth+1)
		if err != nil {
			return nil, err
		}
		out.args = append(out.args, x)
	}
	return out, nil
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
