package compare

import (
	"context"
	"fmt"
	"strconv"

	"github.com/dtsorg/dts/internal/value"
)

// side is one end of a compare: the source (0) or the target (1), with
// its engine's SQL and connections.
type side struct {
	which  int
	d      dialect
	conn   conn
	engine string // mysql or postgresql (the dialect)
	// goRows: the side's rows are hashed here, from their compare forms,
	// not by the database (hashrows.go).
	goRows bool
	// sameMySQL: both sides are MySQL (the hash fields of bytes differ).
	sameMySQL bool
}

func (s *side) String() string {
	if s.which == 0 {
		return "source"
	}
	return "target"
}

// digest is a chunk's checksum: its row count and hash sum (decimal text).
type digest struct {
	n   int64
	sum string
}

// count counts a table's rows (the filter applied).
func (s *side) count(ctx context.Context, ts *tableSQL) (int64, error) {
	where, args, err := ts.where(pred{})
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.conn.query(ctx, "SELECT "+s.d.aggregate("")+" FROM "+ts.from+where, args, func(v [][]byte) error {
		n, err = strconv.ParseInt(string(v[0]), 10, 64)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("count the rows of %s on the %s: %w", ts.t, s, err)
	}
	return n, nil
}

// checksum is the digest of the rows p selects. Where the database
// hashes whole rows it computes the digest itself; otherwise the rows'
// hashes are made here (hashrows.go) and summed.
func (s *side) checksum(ctx context.Context, ts *tableSQL, p pred) (digest, error) {
	if !s.goRows && len(ts.fallback) == 0 {
		where, args, err := ts.where(p)
		if err != nil {
			return digest{}, err
		}
		var d digest
		err = s.conn.query(ctx, "SELECT "+s.d.aggregate(ts.hash)+" FROM "+ts.from+where, args, func(v [][]byte) error {
			d.sum = string(v[1])
			d.n, err = strconv.ParseInt(string(v[0]), 10, 64)
			return err
		})
		if err != nil {
			return digest{}, fmt.Errorf("checksum %s on the %s: %w", ts.t, s, err)
		}
		return d, nil
	}
	var n int64
	var sum sum128
	err := s.hashRows(ctx, ts, p, nil, false, func(_ [][]byte, _ value.Row, h uint64) error {
		n++
		sum.add(h)
		return nil
	})
	if err != nil {
		return digest{}, fmt.Errorf("checksum %s on the %s: %w", ts.t, s, err)
	}
	return digest{n: n, sum: sum.String()}, nil
}

// buckets returns the digest of every non-empty hash bucket (of m) among
// the take buckets from bucket from on (sampled compares).
func (s *side) buckets(ctx context.Context, ts *tableSQL, m, from, take int64) (map[int64]digest, error) {
	where, args, err := ts.where(pred{})
	if err != nil {
		return nil, err
	}
	filter := bucketFilter(ts.bucketExpr(m), m, from, take)
	where = andWhere(where, filter)
	tc := ts.d
	out := map[int64]digest{}
	if !s.goRows && len(ts.fallback) == 0 {
		q := "SELECT " + tc.asText(ts.bucketExpr(m)) + ", " + s.d.aggregate(ts.hash) + " FROM " + ts.from + where + " GROUP BY 1"
		err = s.conn.query(ctx, q, args, func(v [][]byte) error {
			b, err1 := strconv.ParseInt(string(v[0]), 10, 64)
			n, err2 := strconv.ParseInt(string(v[1]), 10, 64)
			if err1 != nil || err2 != nil {
				return fmt.Errorf("unexpected bucket %q %q", v[0], v[1])
			}
			out[b] = digest{n: n, sum: string(v[2])}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("checksum the buckets of %s on the %s: %w", ts.t, s, err)
		}
		return out, nil
	}
	sums := map[int64]*sum128{}
	counts := map[int64]int64{}
	err = s.hashRowsWhere(ctx, ts, pred{}, filter, []string{tc.asText(ts.bucketExpr(m))}, false, func(x [][]byte, _ value.Row, h uint64) error {
		b, err := strconv.ParseInt(string(x[0]), 10, 64)
		if err != nil {
			return fmt.Errorf("unexpected bucket %q", x[0])
		}
		if sums[b] == nil {
			sums[b] = &sum128{}
		}
		sums[b].add(h)
		counts[b]++
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("checksum the buckets of %s on the %s: %w", ts.t, s, err)
	}
	for b, n := range counts {
		out[b] = digest{n: n, sum: sums[b].String()}
	}
	return out, nil
}

// fetch streams the compare forms of the rows p selects, in cols order.
func (s *side) fetch(ctx context.Context, ts *tableSQL, p pred, fn func(value.Row) error) error {
	q, args, err := ts.fetchSQL(ts.values, p, false)
	if err != nil {
		return err
	}
	err = s.conn.query(ctx, q, args, func(v [][]byte) error {
		row := make(value.Row, len(v))
		for i, x := range v {
			row[i] = ts.d.decode(ts.cols[i].c[s.which], ts.cols[i], x)
		}
		return fn(row.Clone())
	})
	if err != nil {
		return fmt.Errorf("read rows of %s on the %s: %w", ts.t, s, err)
	}
	return nil
}

// sums streams the key (nil without one) and the row hash of the rows p
// selects: a row's signature, a few bytes whatever its size (on a side
// whose rows are hashed here, the rows are read whole but not kept).
func (s *side) sums(ctx context.Context, ts *tableSQL, p pred, fn func(key value.Row, h uint64) error) error {
	var extra []string
	if !s.goRows {
		extra = ts.keyValues()
	}
	nk := len(ts.key)
	err := s.hashRows(ctx, ts, p, extra, false, func(x [][]byte, row value.Row, h uint64) error {
		var key value.Row
		if nk > 0 {
			key = make(value.Row, nk)
			for j, i := range ts.key {
				if row != nil {
					key[j] = row[i]
				} else {
					key[j] = ts.d.decode(ts.cols[i].c[s.which], ts.cols[i], x[j])
				}
			}
			key = key.Clone()
		}
		return fn(key, h)
	})
	if err != nil {
		return fmt.Errorf("read rows of %s on the %s: %w", ts.t, s, err)
	}
	return nil
}

// hashedRows streams the compare forms of the rows p selects with their
// row hashes.
func (s *side) hashedRows(ctx context.Context, ts *tableSQL, p pred, fn func(value.Row, uint64) error) error {
	err := s.hashRows(ctx, ts, p, nil, true, func(_ [][]byte, row value.Row, h uint64) error {
		return fn(row.Clone(), h)
	})
	if err != nil {
		return fmt.Errorf("read rows of %s on the %s: %w", ts.t, s, err)
	}
	return nil
}

// keys streams the keys of the rows p selects in key order.
func (s *side) keys(ctx context.Context, ts *tableSQL, p pred, fn func(value.Row) error) error {
	q, args, err := ts.fetchSQL(ts.keyValues(), p, true)
	if err != nil {
		return err
	}
	err = s.conn.query(ctx, q, args, func(v [][]byte) error { return fn(value.Row(v).Clone()) })
	if err != nil {
		return fmt.Errorf("read keys of %s on the %s: %w", ts.t, s, err)
	}
	return nil
}

// keyAfter returns the key offset rows after after (nil: from the start)
// in key order, nil when there is none.
func (s *side) keyAfter(ctx context.Context, ts *tableSQL, after value.Row, offset int) (value.Row, error) {
	where, args, err := ts.where(pred{after: after})
	if err != nil {
		return nil, err
	}
	q := fmt.Sprintf("SELECT %s FROM %s%s ORDER BY %s LIMIT 1 OFFSET %d", joinComma(ts.keyValues()), ts.from, where, ts.orderBy, offset)
	var out value.Row
	err = s.conn.query(ctx, q, args, func(v [][]byte) error {
		out = value.Row(v).Clone()
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("split %s on the %s: %w", ts.t, s, err)
	}
	return out, nil
}

// minMax returns the smallest and largest value of a one-column key.
func (s *side) minMax(ctx context.Context, ts *tableSQL) (lo, hi []byte, err error) {
	tc := ts.d
	k := s.d.quote(ts.cols[ts.key[0]].c[s.which].Name)
	where, args, err := ts.where(pred{})
	if err != nil {
		return nil, nil, err
	}
	err = s.conn.query(ctx, "SELECT "+tc.asText("MIN("+k+")")+", "+tc.asText("MAX("+k+")")+" FROM "+ts.from+where, args,
		func(v [][]byte) error {
			lo, hi = append([]byte(nil), v[0]...), append([]byte(nil), v[1]...)
			if v[0] == nil {
				lo, hi = nil, nil
			}
			return nil
		})
	if err != nil {
		return nil, nil, fmt.Errorf("read the key range of %s on the %s: %w", ts.t, s, err)
	}
	return lo, hi, nil
}

func joinComma(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ", "
		}
		out += x
	}
	return out
}
