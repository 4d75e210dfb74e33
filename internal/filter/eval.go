package filter

import (
	"fmt"
	"unicode/utf8"

	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// Evaluation on a row of canonical values, with SQL's three-valued logic.
//
// AND and OR evaluate their operands left to right and stop at the first
// that decides the result (FALSE for AND, TRUE for OR). An operand that
// fails (an arithmetic overflow the engine would report too) fails the whole
// only when no other operand decides it: the engines evaluate operands in an
// order of their own, and may never reach the failing one. At the top of the
// filter both engines also stop at an operand of the AND that is NULL (the
// row is out either way: MySQL's abort_on_null, PostgreSQL's ExecQual), so
// there a NULL operand also makes a failing one irrelevant. So Eval fails
// only when every order of evaluation fails, and never differs from the
// engine in a result.

// val is a value of an expression; which field holds it follows from the
// expression's static type.
type val struct {
	null bool
	b    bool
	n    num
	s    string
	tm   tval
}

var null = val{null: true}

type evaluator struct {
	d       Dialect
	row     value.Row
	sawNull bool // the last logical evaluated had a NULL operand
}

func boolValue(b bool) val { return val{b: b} }

func (e *evaluator) eval(n node) (val, error) {
	switch n := n.(type) {
	case *column:
		return e.column(n)
	case *literal:
		if n.kind == litNull {
			return null, nil
		}
		return n.v, nil
	case *logical:
		return e.logical(n)
	case *not:
		v, err := e.eval(n.x)
		if err != nil || v.null {
			return v, err
		}
		return boolValue(!v.b), nil
	case *compare:
		a, err := e.eval(n.l)
		if err != nil {
			return null, err
		}
		b, err := e.eval(n.r)
		if err != nil {
			return null, err
		}
		if n.op == cmpNullEQ {
			if a.null || b.null {
				return boolValue(a.null && b.null), nil
			}
		} else if a.null || b.null {
			return null, nil
		}
		return boolValue(holds(n.op, compareValues(n.c, a, b))), nil
	case *inList:
		return e.in(n)
	case *between:
		return e.between(n)
	case *like:
		v, err := e.eval(n.x)
		if err != nil || v.null {
			return v, err
		}
		return boolValue(matchLike(n.m, v.s, n.pattern) != n.neg), nil
	case *isNull:
		v, err := e.eval(n.x)
		if err != nil {
			return null, err
		}
		return boolValue(v.null != n.neg), nil
	case *isBool:
		v, err := e.eval(n.x)
		if err != nil {
			return null, err
		}
		return boolValue((!v.null && v.b == n.val) != n.neg), nil
	case *arith:
		a, err := e.eval(n.l)
		if err != nil || a.null {
			return a, err
		}
		b, err := e.eval(n.r)
		if err != nil || b.null {
			return b, err
		}
		r, err := arithmetic(e.d, n.op, n.t.num, a.n, b.n, canonical(n))
		return val{n: r}, err
	case *call:
		return e.call(n)
	}
	return null, fmt.Errorf("unexpected %T", n)
}

func (e *evaluator) column(n *column) (val, error) {
	raw := e.row[n.idx]
	if raw == nil {
		return null, nil
	}
	switch n.t.class {
	case clNum:
		t := n.t.num
		switch n.col.Type.Kind {
		case schema.KindFloat32:
			t = numType{kind: nkFloat, bits: 32}
		case schema.KindFloat64:
			t = numType{kind: nkFloat, bits: 64}
		}
		v, err := parseCanonicalNumber(t, raw)
		if err != nil {
			return null, fmt.Errorf("column %s: %w", n.name, err)
		}
		return val{n: v}, nil
	case clStr:
		if !utf8.Valid(raw) {
			return null, fmt.Errorf("column %s: the value is not UTF-8", n.name)
		}
		return val{s: string(raw)}, nil
	case clTime:
		t, err := parseCanonicalTemporal(n.t.tk, raw)
		if err != nil {
			return null, fmt.Errorf("column %s: %w", n.name, err)
		}
		return val{tm: t}, nil
	case clBool:
		switch string(raw) {
		case "1":
			return boolValue(true), nil
		case "0":
			return boolValue(false), nil
		}
		return null, fmt.Errorf("column %s: %q is not a canonical bool", n.name, clip(string(raw)))
	}
	return null, fmt.Errorf("column %s: unexpected type", n.name)
}

// where evaluates the whole filter.
func (e *evaluator) where(n node) (val, error) {
	if l, ok := n.(*logical); ok && l.op == opAnd {
		v, err := e.logical(l)
		if err != nil && e.sawNull {
			return null, nil // the row is out whatever the failing operand gives
		}
		return v, err
	}
	return e.eval(n)
}

func (e *evaluator) logical(n *logical) (val, error) {
	// AND: false wins, then NULL; OR: true wins, then NULL.
	decisive := n.op == opOr
	sawNull := false
	var firstErr error
	for _, a := range n.args {
		v, err := e.eval(a)
		switch {
		case err != nil:
			if firstErr == nil {
				firstErr = err
			}
		case v.null:
			sawNull = true
		case v.b == decisive:
			return boolValue(decisive), nil
		}
	}
	e.sawNull = sawNull
	switch {
	case firstErr != nil:
		return null, firstErr
	case sawNull:
		return null, nil
	}
	return boolValue(!decisive), nil
}

// compareValues compares two non-NULL values: -1, 0 or 1.
func compareValues(c comparator, a, b val) int {
	switch c.k {
	case ckExact:
		return compareNums(a.n, b.n, false)
	case ckFloat:
		return compareNums(a.n, b.n, true)
	case ckString:
		return c.s.compare(a.s, b.s)
	case ckTime:
		return a.tm.compare(b.tm)
	case ckBool:
		return cmp3(boolInt(a.b), boolInt(b.b))
	}
	return 1 // ckNull: one side is NULL, so never equal (handled by the caller)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func holds(op cmpOp, c int) bool {
	switch op {
	case cmpEQ, cmpNullEQ:
		return c == 0
	case cmpNE:
		return c != 0
	case cmpLT:
		return c < 0
	case cmpLE:
		return c <= 0
	case cmpGT:
		return c > 0
	}
	return c >= 0
}

func (e *evaluator) in(n *inList) (val, error) {
	x, err := e.eval(n.x)
	if err != nil || x.null {
		return x, err
	}
	for i, item := range n.list {
		v, err := e.eval(item)
		if err != nil {
			return null, err
		}
		if compareValues(n.c[i], x, v) == 0 {
			return boolValue(!n.neg), nil
		}
	}
	return boolValue(n.neg), nil // the list holds no NULL (check refuses it)
}

func (e *evaluator) between(n *between) (val, error) {
	x, err := e.eval(n.x)
	if err != nil || x.null {
		return x, err
	}
	part := func(bound node, c comparator, op cmpOp) (val, error) {
		v, err := e.eval(bound)
		if err != nil || v.null {
			return v, err
		}
		return boolValue(holds(op, compareValues(c, x, v))), nil
	}
	lo, err := part(n.lo, n.cLo, cmpGE)
	if err != nil {
		return null, err
	}
	hi, err := part(n.hi, n.cHi, cmpLE)
	if err != nil {
		return null, err
	}
	var r val
	switch {
	case !lo.null && !lo.b || !hi.null && !hi.b:
		r = boolValue(false)
	case lo.null || hi.null:
		return null, nil
	default:
		r = boolValue(true)
	}
	if n.neg {
		r.b = !r.b
	}
	return r, nil
}

func (e *evaluator) call(n *call) (val, error) {
	if n.fn == fnCoalesce {
		for _, a := range n.args {
			v, err := e.eval(a)
			if err != nil {
				return null, err
			}
			if !v.null {
				if n.t.class == clNum {
					v.n = convertNum(v.n, n.t.num)
				}
				return v, nil
			}
		}
		return null, nil
	}
	v, err := e.eval(n.args[0])
	if err != nil || v.null {
		return v, err
	}
	arg := n.argT[0]
	text := v.s
	if e.d == PostgreSQL && arg.pg == pgBpchar && n.fn != fnOctetLength {
		text = rtrimSpaces(text) // char(n) → text
	}
	switch n.fn {
	case fnLower, fnUpper:
		switch {
		case e.d == PostgreSQL && n.fn == fnLower:
			return val{s: asciiLower(text)}, nil
		case e.d == PostgreSQL:
			return val{s: asciiUpper(text)}, nil
		case n.fn == fnLower:
			return val{s: arg.coll.lower(text)}, nil
		}
		return val{s: arg.coll.upper(text)}, nil
	case fnCharLength:
		return val{n: intNum(int64(utf8.RuneCountInString(text)))}, nil
	case fnOctetLength:
		if e.d == MySQL {
			return val{n: intNum(int64(arg.coll.octets(text)))}, nil
		}
		return val{n: intNum(int64(len(text)))}, nil
	case fnAbs:
		r, err := absolute(e.d, n.t.num, v.n)
		return val{n: r}, err
	case fnSubstring:
		pos := n.args[1].(*literal).v.n.d.IntPart()
		length, hasLen := int64(0), len(n.args) == 3
		if hasLen {
			length = n.args[2].(*literal).v.n.d.IntPart()
		}
		return val{s: substring(e.d, text, pos, length, hasLen)}, nil
	}
	return null, fmt.Errorf("unexpected function %s", fnNames[n.fn])
}
