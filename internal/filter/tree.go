package filter

import (
	"strconv"
	"strings"

	"github.com/dtsorg/dts/internal/schema"
)

// The expression tree. Every node type here is something the allow-list
// admits; nothing else can be represented, so nothing else can be rendered.
// Nodes are built by convert (names resolved, parentheses dropped, AND/OR
// chains flattened, unary minus folded into numeric literals) and typed by
// check, which fills in the fields marked "set by check".

type node interface {
	// write appends the canonical form: the tree's identity, used for
	// equality (parse(render(x)) == x) and in messages.
	write(b *strings.Builder)
}

// column is a reference to one of the table's columns.
type column struct {
	name string // as the table spells it
	idx  int    // ordinal in the table and in value.Row
	col  *schema.Column
	t    vtype // set by check: how its canonical values are read
}

// litKind says what a literal is, before check gives it a type.
type litKind uint8

const (
	litNull litKind = iota
	litBool
	litNumber // text is the digits as written: 12, -1.50, 1e3
	litString
)

// literal is a constant.
type literal struct {
	kind litKind
	text string // litNumber: the number; litString: the value
	b    bool   // litBool

	t vtype // set by check: the type the context gave it
	v val   // set by check: the value, converted to t
}

type logicOp uint8

const (
	opAnd logicOp = iota
	opOr
)

// logical is AND or OR over two or more conditions.
type logical struct {
	op   logicOp
	args []node
}

// not is NOT x.
type not struct{ x node }

type cmpOp uint8

const (
	cmpEQ cmpOp = iota
	cmpNE
	cmpLT
	cmpLE
	cmpGT
	cmpGE
	cmpNullEQ // MySQL <=>, PostgreSQL IS NOT DISTINCT FROM
)

var cmpNames = [...]string{"=", "<>", "<", "<=", ">", ">=", "<=>"}

// compare is l op r.
type compare struct {
	op   cmpOp
	l, r node
	c    comparator // set by check
}

// inList is x [NOT] IN (literals).
type inList struct {
	x    node
	list []node
	neg  bool
	c    []comparator // set by check: one per list item
}

// between is x [NOT] BETWEEN lo AND hi.
type between struct {
	x, lo, hi node
	neg       bool
	cLo, cHi  comparator // set by check
}

// likeElem is one element of a LIKE pattern.
type likeElem struct {
	any bool // %
	one bool // _
	r   rune // otherwise: this character
}

// like is x [NOT] LIKE pattern. The pattern is kept parsed, not as the text
// with its escape character: the renderer writes it with an escape of its own.
type like struct {
	x       node
	pattern []likeElem
	neg     bool
	m       stringSemantics // set by check
}

// isNull is x IS [NOT] NULL.
type isNull struct {
	x   node
	neg bool
}

// isBool is x IS [NOT] TRUE|FALSE.
type isBool struct {
	x   node
	val bool
	neg bool
}

type arithOp uint8

const (
	opAdd arithOp = iota
	opSub
	opMul
	opMod
)

var arithNames = [...]string{"+", "-", "*", "%"}

// arith is l op r on numbers.
type arith struct {
	op   arithOp
	l, r node
	t    vtype // set by check: the result type
}

type fnKind uint8

const (
	fnLower fnKind = iota
	fnUpper
	fnCharLength
	fnOctetLength
	fnAbs
	fnCoalesce
	fnSubstring
)

var fnNames = [...]string{"LOWER", "UPPER", "CHAR_LENGTH", "OCTET_LENGTH", "ABS", "COALESCE", "SUBSTRING"}

// call is a function call.
type call struct {
	fn   fnKind
	args []node
	t    vtype   // set by check: the result type
	argT []vtype // set by check: the arguments' types
}

func (c *column) write(b *strings.Builder) { b.WriteString(strconv.Quote(c.name)) }

func (l *literal) write(b *strings.Builder) {
	switch l.kind {
	case litNull:
		b.WriteString("NULL")
	case litBool:
		b.WriteString(strings.ToUpper(strconv.FormatBool(l.b)))
	case litNumber:
		b.WriteString(l.text)
	case litString:
		b.WriteString("'" + strings.ReplaceAll(l.text, "'", "''") + "'")
	}
}

func (n *logical) write(b *strings.Builder) {
	b.WriteByte('(')
	for i, a := range n.args {
		if i > 0 {
			b.WriteString([]string{" AND ", " OR "}[n.op])
		}
		a.write(b)
	}
	b.WriteByte(')')
}

func (n *not) write(b *strings.Builder) {
	b.WriteString("(NOT ")
	n.x.write(b)
	b.WriteByte(')')
}

func (n *compare) write(b *strings.Builder) {
	b.WriteByte('(')
	n.l.write(b)
	b.WriteString(" " + cmpNames[n.op] + " ")
	n.r.write(b)
	b.WriteByte(')')
}

func (n *inList) write(b *strings.Builder) {
	b.WriteByte('(')
	n.x.write(b)
	b.WriteString(neg(n.neg) + " IN (")
	for i, a := range n.list {
		if i > 0 {
			b.WriteString(", ")
		}
		a.write(b)
	}
	b.WriteString("))")
}

func (n *between) write(b *strings.Builder) {
	b.WriteByte('(')
	n.x.write(b)
	b.WriteString(neg(n.neg) + " BETWEEN ")
	n.lo.write(b)
	b.WriteString(" AND ")
	n.hi.write(b)
	b.WriteByte(')')
}

func (n *like) write(b *strings.Builder) {
	b.WriteByte('(')
	n.x.write(b)
	b.WriteString(neg(n.neg) + " LIKE ")
	b.WriteString(strconv.Quote(patternString(n.pattern, '\\')))
	b.WriteByte(')')
}

func (n *isNull) write(b *strings.Builder) {
	b.WriteByte('(')
	n.x.write(b)
	b.WriteString(" IS" + neg(n.neg) + " NULL)")
}

func (n *isBool) write(b *strings.Builder) {
	b.WriteByte('(')
	n.x.write(b)
	b.WriteString(" IS" + neg(n.neg) + " " + strings.ToUpper(strconv.FormatBool(n.val)) + ")")
}

func (n *arith) write(b *strings.Builder) {
	b.WriteByte('(')
	n.l.write(b)
	b.WriteString(" " + arithNames[n.op] + " ")
	n.r.write(b)
	b.WriteByte(')')
}

func (n *call) write(b *strings.Builder) {
	b.WriteString(fnNames[n.fn] + "(")
	for i, a := range n.args {
		if i > 0 {
			b.WriteString(", ")
		}
		a.write(b)
	}
	b.WriteByte(')')
}

func neg(b bool) string {
	if b {
		return " NOT"
	}
	return ""
}

// patternString writes a LIKE pattern with escape character esc.
func patternString(p []likeElem, esc rune) string {
	var b strings.Builder
	for _, e := range p {
		switch {
		case e.any:
			b.WriteByte('%')
		case e.one:
			b.WriteByte('_')
		default:
			if e.r == '%' || e.r == '_' || e.r == esc {
				b.WriteRune(esc)
			}
			b.WriteRune(e.r)
		}
	}
	return b.String()
}

// canonical returns the tree's canonical form.
func canonical(n node) string {
	var b strings.Builder
	n.write(&b)
	return b.String()
}

// walk calls fn for n and every node below it, parents first.
func walk(n node, fn func(node)) {
	fn(n)
	switch n := n.(type) {
	case *logical:
		for _, a := range n.args {
			walk(a, fn)
		}
	case *not:
		walk(n.x, fn)
	case *compare:
		walk(n.l, fn)
		walk(n.r, fn)
	case *inList:
		walk(n.x, fn)
		for _, a := range n.list {
			walk(a, fn)
		}
	case *between:
		walk(n.x, fn)
		walk(n.lo, fn)
		walk(n.hi, fn)
	case *like:
		walk(n.x, fn)
	case *isNull:
		walk(n.x, fn)
	case *isBool:
		walk(n.x, fn)
	case *arith:
		walk(n.l, fn)
		walk(n.r, fn)
	case *call:
		for _, a := range n.args {
			walk(a, fn)
		}
	}
}
