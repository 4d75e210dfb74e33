package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/filter"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// Reader is one connection of a snapshot, inside its consistent-snapshot
// transaction. One goroutine uses it at a time.
type Reader struct {
	conn  *sql.Conn
	srv   server
	stmts map[string]*sql.Stmt // prepared chunk queries, by text
}

var _ connector.Reader = (*Reader)(nil)

// maxReaderStmts bounds the statements a reader keeps prepared.
const maxReaderStmts = 64

// setup sets the reader's session before its transaction starts.
func (r *Reader) setup(ctx context.Context) error {
	if _, err := r.conn.ExecContext(ctx, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ"); err != nil {
		return fmt.Errorf("snapshot: set isolation level: %w", err)
	}
	// Best effort: no server-side statement time limit (a long chunk is
	// normal), fresh table statistics on MySQL 8 (EstimateRows).
	optional := []string{"SET SESSION max_execution_time = 0", "SET SESSION information_schema_stats_expiry = 0"}
	if r.srv.mariadb {
		optional = []string{"SET SESSION max_statement_time = 0"}
	}
	for _, q := range optional {
		r.conn.ExecContext(ctx, q) //nolint:errcheck // absent on older versions
	}
	return nil
}

// begin starts the snapshot transaction.
func (r *Reader) begin(ctx context.Context) error {
	if _, err := r.conn.ExecContext(ctx, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"); err != nil {
		return fmt.Errorf("snapshot: start transaction: %w", err)
	}
	return nil
}

func (r *Reader) close() {
	for _, s := range r.stmts {
		s.Close()
	}
	r.conn.ExecContext(context.Background(), "ROLLBACK") //nolint:errcheck // the connection closes next
	r.conn.Close()
}

// EstimateRows returns information_schema.TABLES.TABLE_ROWS (InnoDB's
// estimate); with a filter, the optimizer's estimate of the rows it selects
// (EXPLAIN's rows and filtered), which reads no rows either.
func (r *Reader) EstimateRows(ctx context.Context, t *schema.Table, where *filter.Filter) (int64, error) {
	if where != nil {
		return r.explainRows(ctx, t, where)
	}
	var n sql.NullInt64
	err := r.conn.QueryRowContext(ctx, "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
		t.Schema, t.Name).Scan(&n)
	if err == sql.ErrNoRows {
		return 0, fmt.Errorf("table %s does not exist on the source", t)
	}
	if err != nil {
		return 0, fmt.Errorf("estimate rows of %s: %w", t, err)
	}
	return n.Int64, nil
}

// explainRows is the optimizer's estimate of the rows a filter selects.
// MySQL and MariaDB name EXPLAIN's columns alike but not always the same
// set (filtered is MySQL's, and MariaDB's with EXTENDED): read by name.
func (r *Reader) explainRows(ctx context.Context, t *schema.Table, where *filter.Filter) (int64, error) {
	rows, err := r.conn.QueryContext(ctx, "EXPLAIN SELECT 1 FROM "+quoteTable(t.Schema, t.Name)+" WHERE "+where.SQL(filter.MySQL))
	if err != nil {
		return 0, fmt.Errorf("estimate rows of %s: %w", t, err)
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	vals := make([]sql.NullString, len(names))
	ptrs := make([]any, len(names))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var est float64
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return 0, err
		}
		n, share := 0.0, 100.0
		for i, name := range names {
			switch strings.ToLower(name) {
			case "rows":
				n, _ = strconv.ParseFloat(vals[i].String, 64)
			case "filtered":
				if f, err := strconv.ParseFloat(vals[i].String, 64); err == nil {
					share = f
				}
			}
		}
		est = max(est, n*share/100)
	}
	return int64(est), rows.Err()
}

// SplitKeys walks the key's index in steps of estimated rows / n: the row
// at each step is a split point. Arithmetic between MIN and MAX would give
// uneven ranges on skewed keys; the walk reads the index once.
func (r *Reader) SplitKeys(ctx context.Context, t *schema.Table, where *filter.Filter, key []string, n int) ([]value.Row, error) {
	est, err := r.EstimateRows(ctx, t, where)
	if err != nil || n < 2 {
		return nil, err
	}
	step := est / int64(n)
	if step < 1 {
		return nil, nil
	}
	var splits []value.Row
	var after value.Row
	for len(splits) < n-1 {
		var found value.Row
		req := connector.ReadRequest{Table: t, Columns: key, Key: key, After: after, Limit: 1, Filter: where}
		err := r.read(ctx, req, step-1, func(row value.Row) error {
			found = row.Clone()
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("split %s: %w", t, err)
		}
		if found == nil {
			break
		}
		splits = append(splits, found)
		after = found
	}
	return splits, nil
}

// Read streams the rows req selects in canonical form.
func (r *Reader) Read(ctx context.Context, req connector.ReadRequest, fn func(value.Row) error) error {
	if err := r.read(ctx, req, 0, fn); err != nil {
		return fmt.Errorf("read %s: %w", req.Table, err)
	}
	return nil
}

func (r *Reader) read(ctx context.Context, req connector.ReadRequest, offset int64, fn func(value.Row) error) error {
	t := req.Table
	decs := make([]decoder, len(req.Columns))
	for i, name := range req.Columns {
		c, ok := t.Column(name)
		if !ok {
			return fmt.Errorf("table %s has no column %s", t, name)
		}
		decs[i] = decoderFor(c.Type)
	}
	q, args, err := selectSQL(req, offset)
	if err != nil {
		return err
	}
	stmt, err := r.prepare(ctx, q)
	if err != nil {
		return err
	}
	rows, err := stmt.QueryContext(ctx, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	raw := make([]sql.RawBytes, len(req.Columns))
	ptrs := make([]any, len(raw))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	out := make(value.Row, len(raw))
	scratch := make([][]byte, len(raw))
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		decodeRow(out, raw, decs, scratch)
		if err := fn(out); err != nil {
			return err
		}
	}
	return rows.Err()
}

// prepare returns the reader's prepared statement for q: a query with
// parameters runs over the binary protocol (exact floats and doubles).
func (r *Reader) prepare(ctx context.Context, q string) (*sql.Stmt, error) {
	if s, ok := r.stmts[q]; ok {
		return s, nil
	}
	if len(r.stmts) >= maxReaderStmts {
		for k, s := range r.stmts {
			s.Close()
			delete(r.stmts, k)
		}
	}
	s, err := r.conn.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	r.stmts[q] = s
	return s, nil
}

// selectSQL builds a chunk query. It always has a parameter (LIMIT ?) so
// that it runs as a prepared statement over the binary protocol.
func selectSQL(req connector.ReadRequest, offset int64) (string, []any, error) {
	t := req.Table
	var b strings.Builder
	b.WriteString("SELECT ")
	b.WriteString(quoteIdents(req.Columns))
	b.WriteString(" FROM ")
	b.WriteString(quoteTable(t.Schema, t.Name))
	var args []any
	where := " WHERE "
	if req.Filter != nil {
		b.WriteString(where + req.Filter.SQL(filter.MySQL))
		where = " AND "
	}
	if len(req.Key) > 0 {
		cols, err := keyColumns(t, req.Key)
		if err != nil {
			return "", nil, err
		}
		for _, bound := range []struct {
			vals  value.Row
			after bool
		}{{req.After, true}, {req.Upto, false}} {
			if bound.vals == nil {
				continue
			}
			b.WriteString(where)
			where = " AND "
			if args, err = boundSQL(&b, args, cols, bound.vals, bound.after); err != nil {
				return "", nil, err
			}
		}
		b.WriteString(" ORDER BY ")
		b.WriteString(quoteIdents(req.Key))
	}
	limit := int64(req.Limit)
	if limit <= 0 {
		limit = math.MaxInt64
	}
	b.WriteString(" LIMIT ?")
	args = append(args, limit)
	if offset > 0 {
		b.WriteString(" OFFSET ?")
		args = append(args, offset)
	}
	return b.String(), args, nil
}
