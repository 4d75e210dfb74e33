package filter

import (
	"strings"

	"github.com/dtsorg/dts/internal/schema"
)

// check types the tree and refuses what would mean different things to the
// two engines, to the snapshot and the change stream, or nothing useful.
// It fills in the fields of the nodes that Eval and the renderer use.

type class uint8

const (
	clNull class = iota // the NULL literal
	clBool              // a condition, or a boolean value (PostgreSQL boolean, TRUE/FALSE)
	clNum
	clStr
	clTime
)

// vtype is the static type of an expression.
type vtype struct {
	class class
	cond  bool     // a condition (comparison, AND...): never an operand of a comparison or arithmetic
	konst bool     // no column in it
	lit   *literal // the expression is this literal (its final type may come from the context)
	num   numType
	// strings
	coll *mysqlCollation // MySQL: the collation; nil for constants, which take the other side's
	pg   pgStr           // PostgreSQL
	enum []string        // PostgreSQL enum labels
	tk   schema.Kind     // clTime: KindDate, KindTime, KindDateTime or KindTimestamp
}

func (t vtype) describe() string {
	switch t.class {
	case clNull:
		return "NULL"
	case clBool:
		if t.cond {
			return "a condition"
		}
		return "a boolean"
	case clNum:
		return "a number"
	case clStr:
		return "a string"
	}
	return "a " + t.tk.String()
}

type cmpKind uint8

const (
	ckExact cmpKind = iota // numbers, exactly
	ckFloat                // numbers, as doubles
	ckString
	ckTime
	ckBool
	ckNull // one side is the NULL literal (only with <=>)
)

// comparator says how to compare two values.
type comparator struct {
	k      cmpKind
	s      stringSemantics
	orderC bool // PostgreSQL string ordering: rendered with COLLATE "C"
}

type checker struct {
	d     Dialect
	t     *schema.Table
	types map[node]vtype // memo: every node is typed once
}

func check(d Dialect, t *schema.Table, root node, collated []node) error {
	c := &checker{d: d, t: t, types: map[node]vtype{}}
	if err := c.condition(root); err != nil {
		return err
	}
	for _, n := range collated {
		if nt, _ := c.typeOf(n); nt.class != clStr || nt.pg == pgEnum {
			return invalid(`COLLATE "C" applies to strings, not to %s`, canonical(n))
		}
	}
	return nil
}

func (c *checker) typeOf(n node) (vtype, error) {
	if t, ok := c.types[n]; ok {
		return t, nil
	}
	t, err := c.typeOf1(n)
	if err == nil {
		c.types[n] = t
	}
	return t, err
}

func (c *checker) typeOf1(n node) (vtype, error) {
	switch n := n.(type) {
	case *column:
		return c.column(n)
	case *literal:
		return c.literal(n)
	case *logical:
		for _, a := range n.args {
			if err := c.condition(a); err != nil {
				return vtype{}, err
			}
		}
		return vtype{class: clBool, cond: true}, nil
	case *not:
		if err := c.condition(n.x); err != nil {
			return vtype{}, err
		}
		return vtype{class: clBool, cond: true}, nil
	case *compare:
		return c.compare(n)
	case *inList:
		return c.in(n)
	case *between:
		return c.between(n)
	case *like:
		return c.like(n)
	case *isNull:
		xt, err := c.typeOf(n.x)
		if err != nil {
			return vtype{}, err
		}
		if xt.konst {
			return vtype{}, invalid("%s tests a constant", canonical(n))
		}
		return vtype{class: clBool, cond: true}, nil
	case *isBool:
		if err := c.condition(n.x); err != nil {
			return vtype{}, err
		}
		return vtype{class: clBool, cond: true}, nil
	case *arith:
		return c.arith(n)
	case *call:
		return c.call(n)
	}
	return vtype{}, invalid("unexpected %T", n)
}

// condition requires n to be a condition (or a boolean value).
func (c *checker) condition(n node) error {
	t, err := c.typeOf(n)
	if err != nil {
		return err
	}
	if t.class != clBool {
		if t.class == clNum && !t.konst {
			return invalid("%s is %s, not a condition: write %s <> 0", canonical(n), t.describe(), canonical(n))
		}
		return invalid("%s is %s, not a condition", canonical(n), t.describe())
	}
	return nil
}

// column types a column reference.
func (c *checker) column(n *column) (vtype, error) {
	k := n.col.Type.Kind
	unsupported := func() (vtype, error) {
		return vtype{}, invalid("column %s has type %s, which filters do not support", n.name, n.col.Type)
	}
	t := vtype{}
	switch {
	case k == schema.KindBool:
		t.class = clBool
	case n.col.Type.IsInteger() && k != schema.KindYear:
		t.class, t.num = clNum, numType{kind: nkInt, bits: 64, unsigned: n.col.Type.Unsigned}
		if c.d == PostgreSQL {
			t.num = numType{kind: nkInt, bits: map[schema.Kind]uint8{schema.KindInt8: 16, schema.KindInt16: 16,
				schema.KindInt24: 32, schema.KindInt32: 32, schema.KindInt64: 64}[k]}
		}
	case k == schema.KindYear:
		if c.d != MySQL {
			return unsupported()
		}
		t.class, t.num = clNum, numType{kind: nkInt, bits: 64, year: true}
	case k == schema.KindDecimal:
		t.class, t.num = clNum, numType{kind: nkDec, prec: n.col.Type.Precision, scale: n.col.Type.Scale}
		if t.num.prec == 0 {
			t.num.prec = 65
		}
	case k == schema.KindFloat32 || k == schema.KindFloat64:
		t.class, t.num = clNum, numType{kind: nkFloat, bits: 64}
		if k == schema.KindFloat32 && c.d == PostgreSQL {
			t.num.bits = 32 // real arithmetic stays real in PostgreSQL
		}
	case k == schema.KindChar || k == schema.KindVarChar || k == schema.KindText ||
		k == schema.KindEnum || k == schema.KindSet && c.d == MySQL:
		if n.col.Type.Binary {
			return vtype{}, invalid("column %s holds binary strings, which filters do not support", n.name)
		}
		t.class = clStr
		if err := c.stringColumn(n, &t); err != nil {
			return vtype{}, err
		}
	case k == schema.KindDate || k == schema.KindDateTime || k == schema.KindTimestamp || k == schema.KindTime:
		t.class, t.tk = clTime, k
	default:
		return unsupported()
	}
	n.t = t
	return t, nil
}

func (c *checker) stringColumn(n *column, t *vtype) error {
	k := n.col.Type.Kind
	if c.d == MySQL {
		name := n.col.Collation
		if name == "" {
			name = c.t.Collation
		}
		if name == "" {
			return invalid("the collation of column %s is unknown", n.name)
		}
		coll, ok := lookupMySQLCollation(name)
		if !ok {
			return invalid("column %s has collation %s, which filters do not support; supported: %s",
				n.name, name, supportedMySQLCollations())
		}
		t.coll = coll
		return nil
	}
	if strings.HasPrefix(n.col.Collation, `"`) {
		return invalid("column %s has the user-defined collation %s, which filters do not support", n.name, n.col.Collation)
	}
	switch k {
	case schema.KindChar:
		t.pg = pgBpchar
	case schema.KindEnum:
		t.pg, t.enum = pgEnum, n.col.Type.Values
	default:
		t.pg = pgText
	}
	return nil
}

func (c *checker) literal(n *literal) (vtype, error) {
	t := vtype{konst: true, lit: n}
	switch n.kind {
	case litNull:
		t.class = clNull
	case litBool:
		t.class = clBool
		n.v = val{b: n.b}
	case litNumber:
		nt, v, err := parseNumberLiteral(c.d, n.text)
		if err != nil {
			return vtype{}, invalid("number %s %v", n.text, err)
		}
		t.class, t.num = clNum, nt
		n.v = val{n: v}
	case litString:
		t.class, t.pg = clStr, pgUnknown
		n.v = val{s: n.text}
	}
	n.t = t
	return t, nil
}

// boolAsNumber turns a MySQL TRUE/FALSE literal into the integer it is
// when it meets a number.
func (c *checker) boolAsNumber(t vtype, other vtype) vtype {
	if c.d == MySQL && t.class == clBool && t.lit != nil && other.class == clNum {
		nt := numType{kind: nkInt, bits: 64}
		t.lit.v = val{n: num{d: boolDecimal(t.lit.b)}}
		t.lit.t = vtype{class: clNum, num: nt, konst: true, lit: t.lit}
		return t.lit.t
	}
	return t
}
