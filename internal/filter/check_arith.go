package filter

import (
	"math"

	"github.com/shopspring/decimal"
)

// Type checks of arithmetic and function calls: the engine's result types.

func (c *checker) numeric(n node) (vtype, error) {
	t, err := c.typeOf(n)
	if err != nil {
		return vtype{}, err
	}
	t = c.boolAsNumber(t, vtype{class: clNum})
	if t.class != clNum || t.cond {
		return vtype{}, invalid("%s is %s, not a number", canonical(n), t.describe())
	}
	if t.num.year {
		return vtype{}, invalid("%s is a YEAR: filters only compare YEARs", canonical(n))
	}
	return t, nil
}

func (c *checker) arith(n *arith) (vtype, error) {
	lt, err := c.numeric(n.l)
	if err != nil {
		return vtype{}, err
	}
	rt, err := c.numeric(n.r)
	if err != nil {
		return vtype{}, err
	}
	if n.op == opMod {
		if rt.lit == nil || rt.lit.v.n.isF && rt.lit.v.n.f == 0 || !rt.lit.v.n.isF && rt.lit.v.n.d.IsZero() {
			return vtype{}, invalid("%s: the divisor of %% must be a non-zero number (MySQL returns NULL, PostgreSQL fails on zero)", canonical(n))
		}
		if c.d == PostgreSQL && (lt.num.kind == nkFloat || rt.num.kind == nkFloat) {
			return vtype{}, invalid("%s: PostgreSQL has no %% for floating-point numbers", canonical(n))
		}
		if c.d == MySQL && (lt.num.kind == nkDec || rt.num.kind == nkDec) {
			// MariaDB: -7 % 0.7 is a negative zero that is less than 0.
			return vtype{}, invalid("%s: MySQL's %% on DECIMALs can return a negative zero that compares below 0; use %% on integers", canonical(n))
		}
	}
	nt, err := c.resultType(n.op, lt.num, rt.num, canonical(n))
	if err != nil {
		return vtype{}, err
	}
	n.t = vtype{class: clNum, num: nt, konst: lt.konst && rt.konst}
	return n.t, nil
}

// MySQL's DECIMAL limits.
const (
	mysqlMaxPrecision = 65
	mysqlMaxScale     = 30
)

// resultType is the engine's type of a op b.
func (c *checker) resultType(op arithOp, a, b numType, what string) (numType, error) {
	if c.d == PostgreSQL {
		switch {
		case a.kind == nkFloat || b.kind == nkFloat:
			if a.kind == nkFloat && b.kind == nkFloat && a.bits == 32 && b.bits == 32 {
				return numType{kind: nkFloat, bits: 32}, nil
			}
			return numType{kind: nkFloat, bits: 64}, nil
		case a.kind == nkDec || b.kind == nkDec:
			return numType{kind: nkDec, prec: 65}, nil
		}
		return numType{kind: nkInt, bits: max(a.bits, b.bits)}, nil
	}
	switch {
	case a.kind == nkFloat || b.kind == nkFloat:
		return numType{kind: nkFloat, bits: 64}, nil
	case a.kind == nkDec || b.kind == nkDec:
		pa, sa := decimalShape(a)
		pb, sb := decimalShape(b)
		var p, s int
		switch op {
		case opAdd, opSub:
			s = max(sa, sb)
			p = max(pa-sa, pb-sb) + 1 + s
		case opMul:
			s, p = sa+sb, pa+pb
		case opMod:
			s = max(sa, sb)
			p = max(pa-sa, pb-sb) + s
		}
		if p > mysqlMaxPrecision || s > mysqlMaxScale {
			return numType{}, invalid("%s may exceed MySQL's DECIMAL(%d,%d): simplify the arithmetic", what, mysqlMaxPrecision, mysqlMaxScale)
		}
		return numType{kind: nkDec, prec: p, scale: s}, nil
	}
	return numType{kind: nkInt, bits: 64, unsigned: a.unsigned || b.unsigned && op != opMod}, nil
}

// decimalShape is the precision and scale of a MySQL exact number.
func decimalShape(t numType) (int, int) {
	if t.kind == nkInt {
		if t.unsigned {
			return 20, 0
		}
		return 19, 0
	}
	return t.prec, t.scale
}

func (c *checker) call(n *call) (vtype, error) {
	var args []vtype
	for _, a := range n.args {
		t, err := c.typeOf(a)
		if err != nil {
			return vtype{}, err
		}
		if t.cond {
			return vtype{}, invalid("%s takes a value, not the condition %s", fnNames[n.fn], canonical(a))
		}
		args = append(args, t)
	}
	what := canonical(n)
	str := func(t vtype) error {
		switch {
		case t.class != clStr:
			return invalid("%s takes a string, not %s", what, t.describe())
		case t.pg == pgEnum:
			return invalid("%s: PostgreSQL applies no string function to an enum", what)
		case t.konst:
			return invalid("%s is a constant: write its value", what)
		}
		return nil
	}
	switch n.fn {
	case fnLower, fnUpper:
		if err := str(args[0]); err != nil {
			return vtype{}, err
		}
		n.t = vtype{class: clStr, coll: args[0].coll, pg: pgText}
	case fnCharLength, fnOctetLength:
		if err := str(args[0]); err != nil {
			return vtype{}, err
		}
		n.t = vtype{class: clNum, num: numType{kind: nkInt, bits: 64}}
		if c.d == PostgreSQL {
			n.t.num.bits = 32
		}
	case fnAbs:
		t, err := c.numeric(n.args[0])
		if err != nil {
			return vtype{}, err
		}
		if t.konst {
			return vtype{}, invalid("%s is a constant: write its value", what)
		}
		n.t = vtype{class: clNum, num: t.num}
	case fnSubstring:
		if err := str(args[0]); err != nil {
			return vtype{}, err
		}
		for i, a := range args[1:] {
			if a.lit == nil || a.class != clNum || a.num.kind != nkInt {
				return vtype{}, invalid("%s: the position and length of SUBSTRING are integer literals", what)
			}
			v := a.lit.v.n.d
			if v.Abs().GreaterThan(decimal.NewFromInt(math.MaxInt32)) {
				return vtype{}, invalid("%s: the position or length is out of range", what)
			}
			if i == 1 && c.d == PostgreSQL && v.IsNegative() {
				return vtype{}, invalid("%s: PostgreSQL refuses a negative SUBSTRING length", what)
			}
		}
		n.t = vtype{class: clStr, coll: args[0].coll, pg: pgText}
	case fnCoalesce:
		t, err := c.coalesce(args, what)
		if err != nil {
			return vtype{}, err
		}
		n.t = t
	}
	n.argT = args
	return n.t, nil
}

// coalesce types COALESCE: the result's type comes from the arguments that
// are not constants (they must agree), then the constants are converted to it.
func (c *checker) coalesce(args []vtype, what string) (vtype, error) {
	var res *vtype
	for _, a := range args {
		if a.konst {
			continue
		}
		if res == nil {
			r := a
			res = &r
			continue
		}
		if a.class != res.class {
			return vtype{}, invalid("%s mixes %s and %s", what, res.describe(), a.describe())
		}
		switch res.class {
		case clNum:
			res.num = c.commonNumType(res.num, a.num)
		case clTime:
			if a.tk != res.tk {
				return vtype{}, invalid("%s mixes a %s and a %s", what, res.tk, a.tk)
			}
		case clStr:
			if c.d == MySQL {
				coll, err := unifyCollations(what, res.coll, a.coll)
				if err != nil {
					return vtype{}, err
				}
				res.coll = coll
			} else if a.pg != res.pg {
				return vtype{}, invalid("%s mixes char(n) and text: PostgreSQL would compare the result as char(n)", what)
			}
		}
	}
	if res == nil {
		return vtype{}, invalid("%s is a constant: write its value", what)
	}
	if res.pg == pgEnum {
		return vtype{}, invalid("%s: enums are not supported in COALESCE", what)
	}
	for _, a := range args {
		if !a.konst || a.class == clNull {
			continue
		}
		a = c.boolAsNumber(a, *res)
		switch {
		case res.class == clNum && a.class == clNum:
			res.num = c.commonNumType(res.num, a.num)
		case res.class == clStr && a.class == clStr:
			if err := c.fits(a, res.coll, what); err != nil {
				return vtype{}, err
			}
		case res.class == clTime && a.class == clStr && a.lit != nil:
			if c.d == MySQL {
				// MariaDB types COALESCE(datetime, 'text') as a string: it
				// would compare '09:30:00.500000' with '09:30:00.5' as text.
				return vtype{}, invalid("%s: MySQL makes COALESCE of a %s and a string a string, compared as text: "+
					"write (x IS NULL OR x > '...') instead", what, res.tk)
			}
			if err := c.temporalLiteral(a.lit, res.tk, what); err != nil {
				return vtype{}, err
			}
		case res.class == clBool && a.class == clBool:
		default:
			return vtype{}, invalid("%s mixes %s and %s", what, res.describe(), a.describe())
		}
	}
	res.konst, res.lit, res.cond = false, nil, false
	return *res, nil
}

// commonNumType is the engine's type of COALESCE over a and b.
func (c *checker) commonNumType(a, b numType) numType {
	if a.year || b.year {
		a.year, b.year = false, false
	}
	switch {
	case a.kind == nkFloat || b.kind == nkFloat:
		// PostgreSQL resolves COALESCE(real, numeric) to real (numeric converts
		// to real implicitly, not the other way), and to double precision only
		// when a double precision is among the arguments.
		if c.d == PostgreSQL && !(a.kind == nkFloat && a.bits == 64) && !(b.kind == nkFloat && b.bits == 64) {
			return numType{kind: nkFloat, bits: 32}
		}
		return numType{kind: nkFloat, bits: 64}
	case a.kind == nkDec || b.kind == nkDec:
		pa, sa := decimalShape(a)
		pb, sb := decimalShape(b)
		s := max(sa, sb)
		return numType{kind: nkDec, prec: max(pa-sa, pb-sb) + s, scale: s}
	case c.d == MySQL && a.unsigned != b.unsigned:
		return numType{kind: nkDec, prec: 20}
	}
	return numType{kind: nkInt, bits: max(a.bits, b.bits), unsigned: a.unsigned}
}
