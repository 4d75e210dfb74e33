package filter

import (
	"math"
	"slices"
	"strings"

	"github.com/shopspring/decimal"

	"github.com/dtsorg/dts/internal/schema"
)

// Type checks of comparisons, IN, BETWEEN and LIKE: which operands may meet,
// and how the engine compares them (comparator).

func (c *checker) compare(n *compare) (vtype, error) {
	lt, err := c.typeOf(n.l)
	if err != nil {
		return vtype{}, err
	}
	rt, err := c.typeOf(n.r)
	if err != nil {
		return vtype{}, err
	}
	if lt.class == clNull || rt.class == clNull {
		if n.op != cmpNullEQ || lt.class == rt.class {
			return vtype{}, invalid("%s is never true: to test for NULL write x IS NULL", canonical(n))
		}
		n.c = comparator{k: ckNull}
		return vtype{class: clBool, cond: true}, nil
	}
	n.c, err = c.comparator(lt, rt, n.op, n)
	return vtype{class: clBool, cond: true}, err
}

// comparator checks that a and b may be compared with op and says how.
func (c *checker) comparator(a, b vtype, op cmpOp, n node) (comparator, error) {
	what := canonical(n)
	if a.cond || b.cond {
		return comparator{}, invalid("%s compares a condition: write the conditions with AND, OR, NOT or IS TRUE", what)
	}
	if a.class == clNull || b.class == clNull {
		return comparator{}, invalid("NULL in %s is never equal to anything: to test for NULL write x IS NULL", what)
	}
	a, b = c.boolAsNumber(a, b), c.boolAsNumber(b, a)
	ordering := op != cmpEQ && op != cmpNE && op != cmpNullEQ
	switch {
	case a.class == clBool && b.class == clBool:
		if ordering {
			return comparator{}, invalid("%s orders booleans: use = or <>", what)
		}
		return comparator{k: ckBool}, nil
	case a.class == clNum && b.class == clNum:
		if err := c.year(a, b, what); err != nil {
			return comparator{}, err
		}
		if err := c.year(b, a, what); err != nil {
			return comparator{}, err
		}
		if a.num.kind == nkFloat || b.num.kind == nkFloat {
			return comparator{k: ckFloat}, nil
		}
		return comparator{k: ckExact}, nil
	case a.class == clStr && b.class == clStr:
		sem, err := c.stringPair(a, b, ordering, what)
		return comparator{k: ckString, s: sem, orderC: ordering && c.d == PostgreSQL}, err
	case a.class == clTime || b.class == clTime:
		if err := c.temporalPair(a, b, what); err != nil {
			return comparator{}, err
		}
		return comparator{k: ckTime}, nil
	case a.class == clNum && b.class == clStr && c.specialNumber(a, b):
		return comparator{k: map[bool]cmpKind{true: ckFloat, false: ckExact}[a.num.kind == nkFloat]}, nil
	case a.class == clStr && b.class == clNum && c.specialNumber(b, a):
		return comparator{k: map[bool]cmpKind{true: ckFloat, false: ckExact}[b.num.kind == nkFloat]}, nil
	case a.class == clNum && b.class == clStr || a.class == clStr && b.class == clNum:
		return comparator{}, invalid("%s compares a number with a string: the engines convert them differently; "+
			"write numbers without quotes and compare strings with strings", what)
	}
	return comparator{}, invalid("%s compares %s with %s", what, a.describe(), b.describe())
}

// specialNumber admits PostgreSQL's 'NaN', 'Infinity' and '-Infinity'
// compared with a float or numeric: the literal becomes that value.
func (c *checker) specialNumber(n, s vtype) bool {
	if c.d != PostgreSQL || n.num.kind == nkInt || s.lit == nil {
		return false
	}
	var v num
	switch strings.ToLower(s.lit.text) {
	case "nan":
		v = num{sp: nan, isF: n.num.kind == nkFloat, f: math.NaN()}
	case "infinity":
		v = num{sp: posInf, isF: n.num.kind == nkFloat, f: math.Inf(1)}
	case "-infinity":
		v = num{sp: negInf, isF: n.num.kind == nkFloat, f: math.Inf(-1)}
	default:
		return false
	}
	s.lit.v = val{n: v}
	s.lit.t = vtype{class: clNum, num: n.num, konst: true, lit: s.lit}
	return true
}

func boolDecimal(b bool) decimal.Decimal {
	if b {
		return decimal.NewFromInt(1)
	}
	return decimal.Zero
}

// year checks a MySQL YEAR operand: MySQL reads 1-99 as 2001-2099 or
// 1970-1999 when it compares them with a YEAR, so only 0 and four-digit
// years in YEAR's range are accepted, and only YEAR columns compare with YEAR.
func (c *checker) year(y, other vtype, what string) error {
	if !y.num.year {
		return nil
	}
	if other.num.year {
		return nil
	}
	if other.lit == nil || other.num.kind != nkInt {
		return invalid("%s: a YEAR column compares only with YEAR columns and years such as 2024", what)
	}
	v := other.lit.v.n.d.IntPart()
	if v != 0 && (v < 1901 || v > 2155) {
		return invalid("%s: a YEAR is 0 or 1901-2155; write the year with four digits", what)
	}
	return nil
}

// stringPair unifies the semantics of two string operands.
func (c *checker) stringPair(a, b vtype, ordering bool, what string) (stringSemantics, error) {
	if a.konst && b.konst {
		return stringSemantics{}, invalid("%s compares two constants", what)
	}
	if c.d == MySQL {
		coll, err := unifyCollations(what, a.coll, b.coll)
		if err != nil {
			return stringSemantics{}, err
		}
		for _, t := range []vtype{a, b} {
			if err := c.fits(t, coll, what); err != nil {
				return stringSemantics{}, err
			}
		}
		return stringSemantics{coll: coll}, nil
	}
	for _, p := range [][2]vtype{{a, b}, {b, a}} {
		x, y := p[0], p[1]
		if x.pg != pgEnum {
			continue
		}
		if y.pg == pgEnum {
			return stringSemantics{}, invalid("%s compares two enum columns", what)
		}
		if y.lit == nil {
			return stringSemantics{}, invalid("%s: an enum column compares only with its labels", what)
		}
		if ordering {
			return stringSemantics{}, invalid("%s orders an enum: use =, <> or IN", what)
		}
		if !slices.Contains(x.enum, y.lit.text) {
			return stringSemantics{}, invalid("%s: '%s' is not a label of the enum (%s)", what, y.lit.text, strings.Join(x.enum, ", "))
		}
	}
	trim := func(x, y vtype) bool { return x.pg == pgBpchar || x.pg == pgUnknown && y.pg == pgBpchar }
	return stringSemantics{trimL: trim(a, b), trimR: trim(b, a)}, nil
}

// unifyCollations returns the collation two MySQL string operands compare
// under: the columns', which must be the same.
func unifyCollations(what string, a, b *mysqlCollation) (*mysqlCollation, error) {
	switch {
	case a == nil:
		return b, nil
	case b == nil || a == b:
		return a, nil
	}
	return nil, invalid("%s mixes the collations %s and %s", what, a.name, b.name)
}

// fits checks that the string literals in t can be held by coll's charset
// (MariaDB refuses the comparison otherwise: "Illegal mix of collations").
func (c *checker) fits(t vtype, coll *mysqlCollation, what string) error {
	if t.lit == nil || coll == nil {
		return nil
	}
	for _, r := range t.lit.text {
		if !coll.representable(r) {
			return invalid("%s: %s cannot hold the character %q of '%s'", what, coll.charset, r, clip(t.lit.text))
		}
	}
	return nil
}

// temporalPair checks a comparison that involves a date or time, turning a
// string literal on either side into a value of the other side's kind.
func (c *checker) temporalPair(a, b vtype, what string) error {
	if a.class != clTime {
		a, b = b, a
	}
	switch {
	case b.class == clTime:
		dt := func(k schema.Kind) bool { return k != schema.KindTime }
		if (a.tk == schema.KindTime) != (b.tk == schema.KindTime) || !dt(a.tk) && a.tk != b.tk {
			return invalid("%s compares a %s with a %s", what, a.tk, b.tk)
		}
		return nil
	case b.class == clStr && b.lit != nil:
		return c.temporalLiteral(b.lit, a.tk, what)
	}
	return invalid("%s compares a %s with %s: write a literal such as '2024-01-31'", what, a.tk, b.describe())
}

// temporalLiteral converts string literal l into a value of kind k.
func (c *checker) temporalLiteral(l *literal, k schema.Kind, what string) error {
	formats := map[schema.Kind]string{schema.KindDate: "'YYYY-MM-DD'", schema.KindTime: "'HH:MM:SS[.ffffff]'",
		schema.KindDateTime: "'YYYY-MM-DD[ HH:MM:SS[.ffffff]]'", schema.KindTimestamp: "'YYYY-MM-DD[ HH:MM:SS[.ffffff]]' (UTC)"}
	tv, err := parseTemporalLiteral(c.d, k, l.text)
	if err == nil && k != schema.KindTime {
		err = checkCalendar(c.d, l.text)
	}
	if err != nil {
		return invalid("%s: '%s' is not a %s literal: write %s", what, clip(l.text), k, formats[k])
	}
	l.t = vtype{class: clTime, tk: k, konst: true, lit: l}
	l.v = val{tm: tv}
	return nil
}

func (c *checker) in(n *inList) (vtype, error) {
	xt, err := c.typeOf(n.x)
	if err != nil {
		return vtype{}, err
	}
	if xt.konst {
		return vtype{}, invalid("%s tests a constant", canonical(n))
	}
	types := []vtype{xt}
	for _, item := range n.list {
		it, err := c.typeOf(item)
		if err != nil {
			return vtype{}, err
		}
		if it.class == clNull {
			return vtype{}, invalid("NULL in an IN list never matches (and NOT IN with it is never true): test x IS NULL instead")
		}
		cmp, err := c.comparator(xt, it, cmpEQ, &compare{op: cmpEQ, l: n.x, r: item})
		if err != nil {
			return vtype{}, err
		}
		n.c = append(n.c, cmp)
		types = append(types, it)
	}
	c.mysqlFloatMode(types, n.c)
	c.pgRealList(xt, n.list)
	return vtype{class: clBool, cond: true}, nil
}

// pgRealList applies PostgreSQL's rule for IN with two or more items: it
// compares x = ANY(ARRAY[items]) in the common type of x and the items, so
// with a real x the numeric items become reals (0.1 is rounded to
// 0.100000001), where x = 0.1 (and an IN of one item) compares doubles.
func (c *checker) pgRealList(xt vtype, items []node) {
	if c.d != PostgreSQL || len(items) < 2 || xt.class != clNum || xt.num.kind != nkFloat || xt.num.bits != 32 {
		return
	}
	for _, item := range items {
		if l, ok := item.(*literal); ok && l.t.class == clNum {
			l.v.n = num{isF: true, f: l.v.n.float32()}
		}
	}
}

// mysqlFloatMode applies MySQL's rule for IN and BETWEEN: the comparison
// type is that of all the operands together, so one double makes every
// comparison a comparison of doubles. (PostgreSQL compares pairwise.)
func (c *checker) mysqlFloatMode(types []vtype, cmps []comparator) {
	if c.d != MySQL {
		return
	}
	for _, t := range types {
		if t.class == clNum && t.num.kind == nkFloat {
			for i := range cmps {
				if cmps[i].k == ckExact {
					cmps[i].k = ckFloat
				}
			}
			return
		}
	}
}

func (c *checker) between(n *between) (vtype, error) {
	xt, err := c.typeOf(n.x)
	if err != nil {
		return vtype{}, err
	}
	lo, err := c.typeOf(n.lo)
	if err != nil {
		return vtype{}, err
	}
	hi, err := c.typeOf(n.hi)
	if err != nil {
		return vtype{}, err
	}
	if xt.konst {
		return vtype{}, invalid("%s tests a constant", canonical(n))
	}
	if n.cLo, err = c.comparator(xt, lo, cmpGE, n); err != nil {
		return vtype{}, err
	}
	if n.cHi, err = c.comparator(xt, hi, cmpLE, n); err != nil {
		return vtype{}, err
	}
	cmps := []comparator{n.cLo, n.cHi}
	c.mysqlFloatMode([]vtype{xt, lo, hi}, cmps)
	n.cLo, n.cHi = cmps[0], cmps[1]
	return vtype{class: clBool, cond: true}, nil
}

func (c *checker) like(n *like) (vtype, error) {
	xt, err := c.typeOf(n.x)
	if err != nil {
		return vtype{}, err
	}
	if xt.class != clStr || xt.cond || xt.pg == pgEnum {
		return vtype{}, invalid("%s: LIKE applies to strings, not to %s", canonical(n), xt.describe())
	}
	if xt.konst {
		return vtype{}, invalid("%s tests a constant", canonical(n))
	}
	if xt.coll != nil {
		for _, e := range n.pattern {
			if !e.any && !e.one && !xt.coll.representable(e.r) {
				return vtype{}, invalid("%s: %s cannot hold the character %q of the pattern", canonical(n), xt.coll.charset, e.r)
			}
		}
	}
	n.m = stringSemantics{coll: xt.coll}
	return vtype{class: clBool, cond: true}, nil
}
