package compare

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// unclaimed counts, in every merged target table, the rows whose added
// columns hold the values of none of the source tables merged into it:
// each source is compared with its own share of the table (pair.fixed),
// so no table's compare sees them. They are reported as a warning, as
// tables on the target that no source maps onto are: the target holds
// more than the job put there, which need not be wrong.
func (c *Compare) unclaimed(ctx context.Context, pairs []*pair, target *side) ([]string, error) {
	groups := map[string][]*pair{}
	var order []string
	for _, p := range pairs {
		if p.plan == nil || len(p.plan.Merge) < 2 || p.fixed == nil || p.dst == nil {
			continue
		}
		key := p.target.String()
		if groups[key] == nil {
			order = append(order, key)
		}
		groups[key] = append(groups[key], p)
	}
	var out []string
	for _, key := range order {
		g := groups[key]
		if len(g) != len(g[0].plan.Merge) {
			continue // a compare of some of the tables: the others' shares are not known here
		}
		n, cols, err := c.countUnclaimed(ctx, g, target)
		if err != nil {
			return nil, err
		}
		if n > 0 {
			out = append(out, fmt.Sprintf("target table %s holds %d rows whose added columns (%s) hold the values of none of the tables merged into it (%s): no table's compare sees them",
				key, n, strings.Join(cols, ", "), strings.Join(g[0].plan.Merge, ", ")))
		}
	}
	return out, nil
}

func (c *Compare) countUnclaimed(ctx context.Context, g []*pair, target *side) (int64, []string, error) {
	d := target.d
	var args []any
	var shares, cols []string
	for _, p := range g {
		var conds []string
		for _, f := range newTableSQL(d, p, 1).fixed {
			a, err := d.arg(f.c, f.val)
			if err != nil {
				return 0, nil, fmt.Errorf("value of %s: %w", f.c.Name, err)
			}
			args = append(args, a)
			conds = append(conds, d.quote(f.c.Name)+" = "+d.placeholder(f.c, len(args)))
			if !slices.Contains(cols, f.c.Name) {
				cols = append(cols, f.c.Name)
			}
		}
		// A NULL makes a share's condition unknown: the row is in no share.
		shares = append(shares, "COALESCE(("+strings.Join(conds, " AND ")+"), FALSE)")
	}
	q := "SELECT " + d.aggregate("") + " FROM " + d.from(g[0].dst) + " WHERE NOT (" + strings.Join(shares, " OR ") + ")"
	var n int64
	err := target.conn.query(ctx, q, args, func(v [][]byte) (err error) {
		n, err = strconv.ParseInt(string(v[0]), 10, 64)
		return err
	})
	if err != nil {
		return 0, nil, fmt.Errorf("count the rows of %s no merged table claims: %w", g[0].target, err)
	}
	return n, cols, nil
}
