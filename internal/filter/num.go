package filter

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/shopspring/decimal"
)

// Numbers.
//
// An exact number (integers of every width, DECIMAL, PostgreSQL numeric) is a
// decimal.Decimal, never a float: BIGINT UNSIGNED and DECIMAL(65,30) compare
// exactly. PostgreSQL's numeric also has NaN and ±Infinity (special). A
// float is a float64; a FLOAT/real value is its float32 widened exactly, as
// both engines widen it for comparison.
//
// The static type of a numeric expression (numType) decides how it is
// computed: it is the engine's result type, so that overflow is detected
// where the engine detects it.

type numKind uint8

const (
	nkInt numKind = iota
	nkDec
	nkFloat
)

// numType is the engine's type of a numeric expression.
type numType struct {
	kind     numKind
	bits     uint8 // nkInt: 16, 32 or 64; nkFloat: 32 (PostgreSQL real arithmetic) or 64
	unsigned bool  // nkInt, MySQL
	// prec and scale bound a MySQL DECIMAL result (digits, digits after the point).
	prec, scale int
	year        bool // MySQL YEAR: compared with four-digit years only
}

func (t numType) String() string {
	switch t.kind {
	case nkInt:
		if t.year {
			return "year"
		}
		s := map[uint8]string{16: "smallint", 32: "integer", 64: "bigint"}[t.bits]
		if t.unsigned {
			s += " unsigned"
		}
		return s
	case nkDec:
		return "decimal"
	}
	if t.bits == 32 {
		return "real"
	}
	return "double"
}

type special int8

const (
	finite special = iota
	posInf
	negInf
	nan
)

// num is a numeric value.
type num struct {
	isF bool
	f   float64
	d   decimal.Decimal
	sp  special // exact numbers: PostgreSQL numeric NaN/Infinity
}

// float returns n as a double, as the engines convert.
func (n num) float() float64 {
	if n.isF {
		return n.f
	}
	switch n.sp {
	case posInf:
		return math.Inf(1)
	case negInf:
		return math.Inf(-1)
	case nan:
		return math.NaN()
	}
	f, _ := strconv.ParseFloat(n.d.String(), 64) // correctly rounded, as strtod
	return f
}

// float32 returns n rounded to a real directly (not through a double, which
// could round twice), as PostgreSQL converts numeric to real.
func (n num) float32() float64 {
	if n.isF || n.sp != finite {
		return float64(float32(n.float()))
	}
	f, _ := strconv.ParseFloat(n.d.String(), 32)
	return f
}

// Literal bounds: MySQL's DECIMAL precision and the double exponent range.
const (
	maxLiteralDigits   = 65
	maxLiteralExponent = 308
)

// parseNumberLiteral reads a numeric literal as the dialect types it:
// MySQL: integers are BIGINT (signed, else unsigned, else DECIMAL), a point
// makes a DECIMAL, an exponent a DOUBLE. PostgreSQL: integers are integer,
// bigint or numeric; a point or an exponent makes numeric (exact).
func parseNumberLiteral(d Dialect, text string) (numType, num, error) {
	body := strings.TrimPrefix(text, "-")
	mant, exp, hasExp := strings.Cut(strings.ToLower(body), "e")
	intPart, frac, hasPoint := strings.Cut(mant, ".")
	digits := strings.TrimLeft(intPart+frac, "0")
	if len(digits) > maxLiteralDigits {
		return numType{}, num{}, fmt.Errorf("has more than %d digits", maxLiteralDigits)
	}
	if hasExp {
		e, err := strconv.Atoi(exp)
		if err != nil || e > maxLiteralExponent || e < -maxLiteralExponent {
			return numType{}, num{}, errors.New("is out of range")
		}
	}
	norm := text
	if strings.HasSuffix(mant, ".") {
		norm = strings.Replace(norm, ".", ".0", 1)
	}
	dec, err := decimal.NewFromString(norm)
	if err != nil {
		return numType{}, num{}, errors.New("is not a number")
	}
	if d == MySQL && hasExp {
		f, err := strconv.ParseFloat(norm, 64)
		if err != nil || math.IsInf(f, 0) {
			return numType{}, num{}, errors.New("is out of range")
		}
		return numType{kind: nkFloat, bits: 64}, num{isF: true, f: f}, nil
	}
	if hasPoint || hasExp {
		scale := len(frac)
		prec := max(len(strings.TrimLeft(intPart, "0"))+scale, 1)
		return numType{kind: nkDec, prec: prec, scale: scale}, num{d: dec}, nil
	}
	bi := dec.BigInt()
	if d == MySQL {
		switch {
		case bi.IsInt64():
			return numType{kind: nkInt, bits: 64}, num{d: dec}, nil
		case bi.IsUint64():
			return numType{kind: nkInt, bits: 64, unsigned: true}, num{d: dec}, nil
		}
		return numType{kind: nkDec, prec: len(digits)}, num{d: dec}, nil
	}
	switch {
	case bi.IsInt64() && bi.Int64() >= math.MinInt32 && bi.Int64() <= math.MaxInt32:
		return numType{kind: nkInt, bits: 32}, num{d: dec}, nil
	case bi.IsInt64():
		return numType{kind: nkInt, bits: 64}, num{d: dec}, nil
	}
	return numType{kind: nkDec, prec: len(digits)}, num{d: dec}, nil
}

// parseCanonicalNumber reads a column's canonical value (internal/value).
func parseCanonicalNumber(t numType, b []byte) (num, error) {
	s := string(b)
	if t.kind == nkFloat {
		switch s {
		case "NaN":
			return num{isF: true, f: math.NaN()}, nil
		case "Infinity":
			return num{isF: true, f: math.Inf(1)}, nil
		case "-Infinity":
			return num{isF: true, f: math.Inf(-1)}, nil
		}
		f, err := strconv.ParseFloat(s, int(t.bits))
		if err != nil {
			return num{}, fmt.Errorf("%q is not a canonical %s", clip(s), t)
		}
		return num{isF: true, f: f}, nil
	}
	switch s {
	case "NaN":
		return num{sp: nan}, nil
	case "Infinity":
		return num{sp: posInf}, nil
	case "-Infinity":
		return num{sp: negInf}, nil
	}
	if !canonicalDecimal(s) {
		return num{}, fmt.Errorf("%q is not a canonical %s", clip(s), t)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return num{}, fmt.Errorf("%q is not a canonical %s", clip(s), t)
	}
	return num{d: d}, nil
}

// canonicalDecimal reports whether s is [-]digits[.digits].
func canonicalDecimal(s string) bool {
	s = strings.TrimPrefix(s, "-")
	i, f, point := strings.Cut(s, ".")
	return i != "" && allDigits(i) && (!point || f != "" && allDigits(f))
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// compareNums compares a and b: exactly when both are exact, else as
// doubles. NaN equals NaN and is greater than every other number, as in
// PostgreSQL (MySQL has no NaN).
func compareNums(a, b num, asFloat bool) int {
	if asFloat || a.isF || b.isF {
		return compareFloats(a.float(), b.float())
	}
	ra, rb := rankSpecial(a.sp), rankSpecial(b.sp)
	if ra != rb || a.sp != finite {
		return cmp3(ra, rb)
	}
	return a.d.Cmp(b.d)
}

// rankSpecial orders -Infinity < finite < Infinity < NaN.
func rankSpecial(s special) int {
	switch s {
	case negInf:
		return 0
	case finite:
		return 1
	case posInf:
		return 2
	}
	return 3
}

func compareFloats(a, b float64) int {
	an, bn := math.IsNaN(a), math.IsNaN(b)
	switch {
	case an && bn:
		return 0
	case an:
		return 1
	case bn:
		return -1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Integer ranges of the result types.
var (
	minInt64  = decimal.NewFromInt(math.MinInt64)
	maxInt64  = decimal.NewFromInt(math.MaxInt64)
	maxUint64 = decimal.NewFromBigInt(new(big.Int).SetUint64(math.MaxUint64), 0)
)

func intRange(t numType) (lo, hi decimal.Decimal) {
	switch {
	case t.unsigned:
		return decimal.Zero, maxUint64
	case t.bits == 16:
		return decimal.NewFromInt(math.MinInt16), decimal.NewFromInt(math.MaxInt16)
	case t.bits == 32:
		return decimal.NewFromInt(math.MinInt32), decimal.NewFromInt(math.MaxInt32)
	}
	return minInt64, maxInt64
}

// errOutOfRange is the overflow the engine would report.
func errOutOfRange(d Dialect, t numType, what string) error {
	if d == MySQL {
		name := "BIGINT"
		switch {
		case t.kind == nkFloat:
			name = "DOUBLE"
		case t.kind == nkDec:
			name = "DECIMAL"
		case t.unsigned:
			name = "BIGINT UNSIGNED"
		}
		return fmt.Errorf("%s value is out of range in %s (as in MySQL)", name, what)
	}
	return fmt.Errorf("%s out of range in %s (as in PostgreSQL)", t, what)
}

// arithmetic computes a op b with result type t, failing where the engine fails.
func arithmetic(d Dialect, op arithOp, t numType, a, b num, what string) (num, error) {
	if t.kind == nkFloat {
		x, y := a.float(), b.float()
		if t.bits == 32 {
			x, y = float64(float32(x)), float64(float32(y))
		}
		var r float64
		switch op {
		case opAdd:
			r = x + y
		case opSub:
			r = x - y
		case opMul:
			r = x * y
		case opMod:
			r = math.Mod(x, y)
		}
		if t.bits == 32 {
			r = float64(float32(r))
		}
		inputInf := math.IsInf(x, 0) || math.IsInf(y, 0)
		if math.IsInf(r, 0) && !inputInf {
			return num{}, errOutOfRange(d, t, what)
		}
		if d == PostgreSQL && op == opMul && r == 0 && x != 0 && y != 0 {
			return num{}, fmt.Errorf("value out of range: underflow in %s (as in PostgreSQL)", what)
		}
		return num{isF: true, f: r}, nil
	}
	if a.sp != finite || b.sp != finite { // PostgreSQL numeric NaN/Infinity
		return specialArithmetic(op, a, b), nil
	}
	var r decimal.Decimal
	switch op {
	case opAdd:
		r = a.d.Add(b.d)
	case opSub:
		r = a.d.Sub(b.d)
	case opMul:
		r = a.d.Mul(b.d)
	case opMod:
		_, r = a.d.QuoRem(b.d, 0) // truncated division: the remainder has the dividend's sign
	}
	if t.kind == nkInt {
		if lo, hi := intRange(t); r.LessThan(lo) || r.GreaterThan(hi) {
			return num{}, errOutOfRange(d, t, what)
		}
	}
	return num{d: r}, nil
}

// specialArithmetic follows PostgreSQL's numeric NaN/Infinity rules, which
// are IEEE's except that x % ±Infinity is x.
func specialArithmetic(op arithOp, a, b num) num {
	if op == opMod && b.sp == posInf || op == opMod && b.sp == negInf {
		if a.sp == finite {
			return a
		}
	}
	var r float64
	x, y := a.float(), b.float()
	switch op {
	case opAdd:
		r = x + y
	case opSub:
		r = x - y
	case opMul:
		r = x * y
	case opMod:
		r = math.Mod(x, y)
	}
	switch {
	case math.IsNaN(r):
		return num{sp: nan}
	case math.IsInf(r, 1):
		return num{sp: posInf}
	case math.IsInf(r, -1):
		return num{sp: negInf}
	}
	return num{d: decimal.NewFromFloat(r)} // unreachable: a finite result needs finite operands
}

// absolute computes ABS(a) with result type t.
func absolute(d Dialect, t numType, a num) (num, error) {
	if a.isF {
		return num{isF: true, f: math.Abs(a.f)}, nil
	}
	switch a.sp {
	case nan:
		return a, nil
	case posInf, negInf:
		return num{sp: posInf}, nil
	}
	r := a.d.Abs()
	if t.kind == nkInt {
		if _, hi := intRange(t); r.GreaterThan(hi) {
			return num{}, errOutOfRange(d, t, "ABS")
		}
	}
	return num{d: r}, nil
}

// convertNum converts a value to type t (the result of COALESCE).
func convertNum(a num, t numType) num {
	if t.kind != nkFloat || a.isF && t.bits == 64 {
		return a
	}
	if t.bits == 32 {
		return num{isF: true, f: a.float32()}
	}
	return num{isF: true, f: a.float()}
}

func intNum(i int64) num { return num{d: decimal.NewFromInt(i)} }
