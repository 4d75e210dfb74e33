package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/filter"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// Reader reads rows inside a snapshot, on one connection whose transaction
// imported the snapshot. Rows come from COPY (SELECT ...) TO STDOUT in text
// format: the fastest way out of PostgreSQL, parsed here into canonical
// values. COPY takes no parameters, so key bounds are rendered as quoted
// literals cast to the key column's type.
type Reader struct {
	conn *pgx.Conn
	log  *slog.Logger
}

var _ connector.Reader = (*Reader)(nil)

func (r *Reader) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r.conn.Exec(ctx, `COMMIT`)
	r.conn.Close(ctx)
}

// EstimateRows returns pg_class.reltuples (summed over the partitions of a
// partitioned table), or the planner's estimate when a table was never
// vacuumed or analyzed (reltuples -1).
//
// With a filter, the planner's estimate of the rows it selects.
func (r *Reader) EstimateRows(ctx context.Context, t *schema.Table, where *filter.Filter) (int64, error) {
	if where != nil {
		return r.planRows(ctx, t, " WHERE "+where.SQL(filter.PostgreSQL))
	}
	var est float64
	var unknown bool
	err := r.conn.QueryRow(ctx, `SELECT COALESCE(sum(c.reltuples) FILTER (WHERE c.reltuples >= 0), 0),
		COALESCE(bool_or(c.reltuples < 0 OR (c.reltuples = 0 AND c.relpages = 0)), true)
		FROM pg_class c
		WHERE CASE WHEN $2 THEN c.oid IN (SELECT relid FROM pg_partition_tree($1::regclass) WHERE isleaf)
		           ELSE c.oid = $1::regclass END`, quoteQualified(t.Schema, t.Name), t.Partitioned).Scan(&est, &unknown)
	if err != nil {
		return 0, wrapErr(err, "estimate rows of %s", t)
	}
	if !unknown {
		return int64(est), nil
	}
	return r.planRows(ctx, t, "")
}

// planRows is the planner's estimate of the rows of t that where selects.
func (r *Reader) planRows(ctx context.Context, t *schema.Table, where string) (int64, error) {
	var plan string
	if err := r.conn.QueryRow(ctx, `EXPLAIN (FORMAT JSON) SELECT 1 FROM `+fromClause(t)+where).Scan(&plan); err != nil {
		return 0, wrapErr(err, "estimate rows of %s", t)
	}
	var p []struct {
		Plan struct {
			Rows float64 `json:"Plan Rows"`
		}
	}
	if err := json.Unmarshal([]byte(plan), &p); err != nil || len(p) == 0 {
		return 0, fmt.Errorf("estimate rows of %s: unexpected plan %.200q", t, plan)
	}
	return int64(p[0].Plan.Rows), nil
}

// fromClause names t for a SELECT: ONLY for a plain table, so the rows of
// tables that inherit from it are not read twice; a partitioned table is
// read whole through its parent.
func fromClause(t *schema.Table) string {
	if t.Partitioned {
		return quoteQualified(t.Schema, t.Name)
	}
	return "ONLY " + quoteQualified(t.Schema, t.Name)
}

// splitSample is the rows SplitKeys samples per split point.
const splitSample = 100

// SplitKeys samples key values with TABLESAMPLE SYSTEM (a few pages, not a
// scan of the table) and returns up to n-1 of them at even steps. Any
// ascending values split the key space into ranges that cover every row
// exactly once; sampling only makes them about equally large.
func (r *Reader) SplitKeys(ctx context.Context, t *schema.Table, where *filter.Filter, key []string, n int) ([]value.Row, error) {
	if n < 2 || len(key) == 0 {
		return nil, nil
	}
	est, err := r.EstimateRows(ctx, t, where)
	if err != nil {
		return nil, err
	}
	if est < int64(n) {
		return nil, nil
	}
	// SYSTEM sampling picks whole pages, so on a table of a few dozen pages
	// it can return nothing; retry with a larger share until the sample is
	// big enough to split or the whole table was read.
	var sample []value.Row
	for pct := min(100, max(0.0001, float64(n*splitSample)*100/float64(est))); ; pct = min(100, pct*4) {
		sample = sample[:0]
		err = r.read(ctx, connector.ReadRequest{Table: t, Columns: key, Key: key, Filter: where}, readOptions{sample: pct}, func(row value.Row) error {
			sample = append(sample, row.Clone())
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("sample keys of %s: %w", t, err)
		}
		if len(sample) >= n*splitSample/4 || pct >= 100 {
			break
		}
	}
	var out []value.Row
	last := -1
	for i := 1; i < n; i++ {
		j := i * len(sample) / n
		if j > last && j < len(sample) {
			out = append(out, sample[j])
			last = j
		}
	}
	return out, nil
}

// Read streams the rows req selects, in key order when req.Key is set.
//
// An error from fn ends the read: the rest of the COPY output is drained
// (unless ctx is done) so that the connection stays usable.
func (r *Reader) Read(ctx context.Context, req connector.ReadRequest, fn func(value.Row) error) error {
	if err := r.read(ctx, req, readOptions{}, fn); err != nil {
		return fmt.Errorf("read %s: %w", req.Table, err)
	}
	return nil
}

type readOptions struct {
	sample float64 // TABLESAMPLE SYSTEM percentage; 0: all rows
}

func (r *Reader) read(ctx context.Context, req connector.ReadRequest, o readOptions, fn func(value.Row) error) error {
	cols := make([]*schema.Column, len(req.Columns))
	decoders := make([]decoder, len(req.Columns))
	for i, name := range req.Columns {
		c, ok := req.Table.Column(name)
		if !ok {
			return fmt.Errorf("no column %s", name)
		}
		cols[i], decoders[i] = c, decoderFor(c.Type)
	}
	query, err := selectSQL(req, cols, o)
	if err != nil {
		return err
	}
	row := make(value.Row, len(cols))
	var scratch []byte
	var fnErr error
	parser := newCopyParser(len(cols), func(fields [][]byte) error {
		if fnErr != nil {
			return nil // draining after fn failed
		}
		scratch = scratch[:0]
		for i, f := range fields {
			if f == nil || decoders[i] == nil {
				row[i] = f
				continue
			}
			var err error
			if row[i], scratch, err = decoders[i](scratch, f); err != nil {
				return fmt.Errorf("column %s: %w", cols[i].Name, err)
			}
		}
		if err := fn(row); err != nil {
			fnErr = err
			if ctx.Err() != nil {
				return err
			}
		}
		return nil
	})
	_, err = r.conn.PgConn().CopyTo(ctx, parser, "COPY ("+query+") TO STDOUT")
	switch {
	case fnErr != nil:
		return fnErr
	case err != nil:
		return err
	}
	return parser.finish()
}

// selectSQL renders the SELECT of a read: bounds as literals, key order, limit.
func selectSQL(req connector.ReadRequest, cols []*schema.Column, o readOptions) (string, error) {
	var b strings.Builder
	b.WriteString("SELECT ")
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(selectExpr(c))
	}
	b.WriteString(" FROM ")
	b.WriteString(fromClause(req.Table))
	if o.sample > 0 {
		b.WriteString(" TABLESAMPLE SYSTEM (" + strconv.FormatFloat(o.sample, 'f', -1, 64) + ")")
	}
	var conds []string
	if req.Filter != nil {
		conds = append(conds, req.Filter.SQL(filter.PostgreSQL))
	}
	if len(req.Key) > 0 {
		keyList := "(" + quoteIdentList(req.Key) + ")"
		for _, bound := range []struct {
			op  string
			row value.Row
		}{{">", req.After}, {"<=", req.Upto}} {
			if bound.row == nil {
				continue
			}
			lits, err := keyLiterals(req, bound.row)
			if err != nil {
				return "", err
			}
			conds = append(conds, keyList+" "+bound.op+" ("+lits+")")
		}
	}
	if len(conds) > 0 {
		b.WriteString(" WHERE " + strings.Join(conds, " AND "))
	}
	if len(req.Key) > 0 {
		b.WriteString(" ORDER BY " + quoteIdentList(req.Key))
	}
	if req.Limit > 0 {
		b.WriteString(" LIMIT " + strconv.Itoa(req.Limit))
	}
	return b.String(), nil
}

// selectExpr reads a column: money as numeric (its canonical form is a
// decimal, and money's text depends on lc_monetary).
func selectExpr(c *schema.Column) string {
	q := quoteIdent(c.Name)
	switch {
	case c.Type.Kind == schema.KindMoney:
		return q + "::numeric"
	case c.Type.Kind == schema.KindArray && c.Type.Elem != nil && c.Type.Elem.Kind == schema.KindMoney:
		return q + "::numeric[]"
	}
	return q
}

func keyLiterals(req connector.ReadRequest, key value.Row) (string, error) {
	if len(key) != len(req.Key) {
		return "", fmt.Errorf("key bound has %d values, the key %d columns", len(key), len(req.Key))
	}
	lits := make([]string, len(key))
	for i, name := range req.Key {
		c, ok := req.Table.Column(name)
		if !ok {
			return "", fmt.Errorf("no key column %s", name)
		}
		l, err := literal(key[i], c.Type)
		if err != nil {
			return "", fmt.Errorf("key column %s: %w", name, err)
		}
		lits[i] = l
	}
	return strings.Join(lits, ", "), nil
}
