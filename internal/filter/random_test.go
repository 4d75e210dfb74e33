package filter

import (
	"database/sql"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/testenv"
)

// filterGen writes random filters over the edge table from the allowed
// constructs, with the edge values as literals. Many are refused by the type
// checks; the accepted ones are compared with the server.
type filterGen struct {
	r    *rand.Rand
	d    Dialect
	cols map[string][]edgeCol // by category: num, str, time, bool
}

func newFilterGen(d Dialect, seed uint64) *filterGen {
	g := &filterGen{r: rand.New(rand.NewPCG(seed, 1)), d: d, cols: map[string][]edgeCol{}}
	for _, c := range edgeColumns()[1:] {
		if !c.has(d) {
			continue
		}
		k := c.col.Type.Kind
		cat := "num"
		switch {
		case c.strs != nil:
			cat = "str"
		case k == schema.KindBool:
			cat = "bool"
		case c.col.Type.IsTemporal() && k != schema.KindYear:
			cat = "time"
		}
		g.cols[cat] = append(g.cols[cat], c)
	}
	return g
}

func (g *filterGen) pick(n int) int { return g.r.IntN(n) }

func (g *filterGen) col(cat string) edgeCol {
	cs := g.cols[cat]
	return cs[g.pick(len(cs))]
}

func (g *filterGen) lit(c edgeCol) string {
	ls := c.literals(g.d)
	return ls[g.pick(len(ls))]
}

func (g *filterGen) cond(depth int) string {
	if depth > 3 {
		return g.atom()
	}
	switch g.pick(9) {
	case 0:
		return g.cond(depth+1) + " AND " + g.cond(depth+1)
	case 1:
		return g.cond(depth+1) + " OR " + g.cond(depth+1)
	case 2:
		return "NOT (" + g.cond(depth+1) + ")"
	case 3:
		return "(" + g.cond(depth+1) + ") IS " + []string{"", "NOT "}[g.pick(2)] + []string{"TRUE", "FALSE"}[g.pick(2)]
	}
	return g.atom()
}

func (g *filterGen) atom() string {
	cats := []string{"num", "num", "str", "str", "time"}
	if len(g.cols["bool"]) > 0 {
		cats = append(cats, "bool")
	}
	cat := cats[g.pick(len(cats))]
	ops := []string{"=", "<>", "<", "<=", ">", ">="}
	op := ops[g.pick(len(ops))]
	switch cat {
	case "bool":
		c := g.col("bool").name
		return []string{c, "NOT " + c, c + " = TRUE", c + " IS NOT FALSE", c + " IS NULL"}[g.pick(5)]
	case "time":
		c := g.col("time")
		switch g.pick(4) {
		case 0:
			return c.name + " BETWEEN " + g.lit(c) + " AND " + g.lit(c)
		case 1:
			return c.name + " IN (" + g.lit(c) + ", " + g.lit(c) + ")"
		case 2:
			return "COALESCE(" + c.name + ", " + g.lit(c) + ") " + op + " " + g.lit(c)
		}
		return c.name + " " + op + " " + g.lit(c)
	case "str":
		c := g.col("str")
		x := g.strExpr(c)
		v := c.strs[g.pick(len(c.strs))]
		switch g.pick(5) {
		case 0:
			p := []rune(v)
			if len(p) > 0 {
				p[g.pick(len(p))] = []rune("%_")[g.pick(2)]
			}
			return x + []string{" LIKE ", " NOT LIKE "}[g.pick(2)] + g.quote(string(p)+"%")
		case 1:
			return x + " IN (" + g.lit(c) + ", " + g.lit(c) + ")"
		case 2:
			return x + " BETWEEN " + g.lit(c) + " AND " + g.lit(c)
		case 3:
			return x + " IS " + []string{"", "NOT "}[g.pick(2)] + "NULL"
		}
		return x + " " + op + " " + g.lit(c)
	}
	c := g.col("num")
	x := g.numExpr(c, 0)
	switch g.pick(4) {
	case 0:
		return x + " BETWEEN " + g.lit(c) + " AND " + g.numLit()
	case 1:
		return x + " IN (" + g.lit(c) + ", " + g.numLit() + ")"
	}
	if g.pick(3) == 0 {
		return x + " " + op + " " + g.numExpr(g.col("num"), 1)
	}
	return x + " " + op + " " + g.lit(c)
}

func (g *filterGen) numLit() string {
	return []string{"0", "1", "-1", "2.5", "1e3", "9223372036854775807", "-32768", "0.000001", "3"}[g.pick(9)]
}

func (g *filterGen) numExpr(c edgeCol, depth int) string {
	if depth > 1 || g.pick(3) == 0 {
		return c.name
	}
	other := g.col("num")
	switch g.pick(6) {
	case 0:
		return "(" + c.name + " + " + g.numExpr(other, depth+1) + ")"
	case 1:
		return "(" + c.name + " - " + g.numLit() + ")"
	case 2:
		return "(" + c.name + " * " + []string{"2", "-1", "1e2", "0.5", other.name}[g.pick(5)] + ")"
	case 3:
		return "(" + c.name + " % " + []string{"3", "-2", "0.7", "1000"}[g.pick(4)] + ")"
	case 4:
		return "ABS(" + c.name + ")"
	}
	return "COALESCE(" + c.name + ", " + g.numLit() + ")"
}

func (g *filterGen) strExpr(c edgeCol) string {
	switch g.pick(7) {
	case 0:
		return "LOWER(" + c.name + ")"
	case 1:
		return "UPPER(" + c.name + ")"
	case 2:
		return "SUBSTRING(" + c.name + ", " + strconv.Itoa(g.pick(5)-2) + ", " + strconv.Itoa(g.pick(4)) + ")"
	case 3:
		return "COALESCE(" + c.name + ", " + g.lit(c) + ")"
	}
	return c.name
}

func (g *filterGen) quote(s string) string {
	s = strings.ReplaceAll(s, "'", "''")
	if g.d == MySQL {
		s = strings.ReplaceAll(s, `\`, `\\`)
	}
	return "'" + s + "'"
}

func TestRandomFiltersAgainstMariaDB(t *testing.T) {
	t.Parallel()
	srv := testenv.MariaDB(t)
	conn := session(t, srv.DB(t, srv.NewDatabase(t)), "SET time_zone = '+00:00'", "SET sql_mode = 'NO_ENGINE_SUBSTITUTION'")
	randomDifferential(t, MySQL, conn)
}

func TestRandomFiltersAgainstPostgres(t *testing.T) {
	t.Parallel()
	srv := testenv.Postgres(t)
	conn := session(t, srv.DB(t, srv.NewDatabase(t)), "SET TimeZone = 'UTC'")
	randomDifferential(t, PostgreSQL, conn)
}

func randomDifferential(t *testing.T, d Dialect, conn *sql.Conn) {
	tbl, rows := edgeTable(t, d, conn)
	ids := make([]int64, 0, len(rows))
	for id := range rows {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	g := newFilterGen(d, 20260601)
	const n = 3000
	accepted, bothFail, orderDependent := 0, 0, 0
	for range n {
		src := g.cond(0)
		f, err := Parse(string(d), src, tbl)
		if err != nil {
			assert.Equal(t, errs.InvalidParameter, errs.CodeOf(err), "%s: %v", src, err)
			continue
		}
		accepted++
		where := f.SQL(d)
		dbIDs, dbErr := selectIDs(conn, where)
		var evalIDs []int64
		var evalErr error
		for _, id := range ids {
			ok, err := f.Eval(rows[id])
			if err != nil {
				evalErr = err
				continue
			}
			if ok {
				evalIDs = append(evalIDs, id)
			}
		}
		switch {
		case dbErr != nil && evalErr != nil:
			bothFail++
		case (dbErr != nil) != (evalErr != nil):
			// With AND/OR, whether an overflowing operand is evaluated at all
			// depends on the order the engine evaluates in.
			if strings.Contains(src, " AND ") || strings.Contains(src, " OR ") {
				orderDependent++
				t.Logf("order-dependent: %s\n  server error: %v\n  Eval error: %v", src, dbErr, evalErr)
				continue
			}
			t.Errorf("%s: %s\n  SQL %s\n  server error: %v\n  Eval error: %v", d, src, where, dbErr, evalErr)
		case !slices.Equal(dbIDs, evalIDs):
			t.Errorf("%s: %s\n  SQL %s\n  server selects %v\n  Eval selects   %v\n  differ: %s", d, src, where, dbIDs, evalIDs,
				describeDiff(tbl, rows, dbIDs, evalIDs, f))
		}
	}
	t.Logf("%s: %d random filters, %d accepted and compared (%d failing on both sides, %d failing on one side only, in AND/OR)",
		d, n, accepted, bothFail, orderDependent)
	assert.Greater(t, accepted, n/4, "the generator should write mostly valid filters")
}
