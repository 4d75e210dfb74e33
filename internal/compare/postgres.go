package compare

import (
	"context"
	"encoding/hex"
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/connector/postgres"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
)

// PostgreSQL: connections and the compare SQL (canon.go explains the
// compare form). Sessions print values in their canonical forms:
// TimeZone=UTC, DateStyle=ISO, IntervalStyle=postgres, bytea_output=hex,
// extra_float_digits=1 (arrays of floats), standard_conforming_strings.
// Every value is selected as text or bytea.

var pgSession = map[string]string{
	"client_encoding":             "UTF8",
	"standard_conforming_strings": "on",
	"TimeZone":                    "UTC",
	"DateStyle":                   "ISO, YMD",
	"IntervalStyle":               "postgres",
	"extra_float_digits":          "1",
	"bytea_output":                "hex",
	"statement_timeout":           "0",
	"lock_timeout":                "0",
}

type pgConn struct {
	pool *pgxpool.Pool
	utf8 bool // the database's encoding is UTF8
}

// openPostgres opens a pool of up to conns connections to e.
func openPostgres(ctx context.Context, e job.Endpoint, conns int) (*pgConn, error) {
	pc, err := postgres.PoolConfig(e)
	if err != nil {
		return nil, err
	}
	maps.Copy(pc.ConnConfig.RuntimeParams, pgSession)
	pc.MaxConns, pc.MinConns = int32(conns), 0
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, postgres.Classify(err, e)
	}
	pctx, cancel := context.WithTimeout(ctx, connector.ConnectTimeout(e))
	defer cancel()
	var enc string
	if err := pool.QueryRow(pctx, `SELECT current_setting('server_encoding')`).Scan(&enc); err != nil {
		pool.Close()
		return nil, postgres.Classify(err, e)
	}
	return &pgConn{pool: pool, utf8: enc == "UTF8"}, nil
}

func (p *pgConn) query(ctx context.Context, q string, args []any, fn func([][]byte) error) error {
	rows, err := p.pool.Query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	fields := rows.FieldDescriptions()
	vals := make([][]byte, len(fields))
	for rows.Next() {
		raw := rows.RawValues()
		for i, v := range raw {
			switch {
			case v == nil:
				vals[i] = nil
			case fields[i].DataTypeOID == pgtype.ByteaOID && fields[i].Format == pgtype.TextFormatCode:
				b, err := hex.DecodeString(strings.TrimPrefix(string(v), `\x`))
				if err != nil {
					return fmt.Errorf("bytea: %w", err)
				}
				vals[i] = b
			case len(v) == 0:
				vals[i] = []byte{}
			default:
				vals[i] = v
			}
		}
		if err := fn(vals); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (p *pgConn) exec(ctx context.Context, q string) error {
	_, err := p.pool.Exec(ctx, q)
	return err
}

// script runs with session_replication_role=replica where the user may set
// it (the target's triggers and foreign key checks then stay quiet, as in
// the full load).
func (p *pgConn) script(ctx context.Context, stmts []string) error {
	c, err := p.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer c.Release()
	if _, err := c.Exec(ctx, `SET session_replication_role = replica`); err == nil {
		defer c.Exec(context.WithoutCancel(ctx), `RESET session_replication_role`) //nolint:errcheck // best effort
	}
	for _, q := range stmts {
		if _, err := c.Exec(ctx, q); err != nil {
			return fmt.Errorf("%w (statement: %.300s)", err, q)
		}
	}
	return nil
}

func (p *pgConn) estimate(ctx context.Context, t *schema.Table) (int64, error) {
	var n float64
	err := p.pool.QueryRow(ctx, `SELECT COALESCE(sum(c.reltuples) FILTER (WHERE c.reltuples > 0), 0)
		FROM pg_class c WHERE c.oid = $1::regclass OR c.oid IN (SELECT relid FROM pg_partition_tree($1::regclass) WHERE isleaf)`,
		pgDialect{}.quote(t.Schema)+"."+pgDialect{}.quote(t.Name)).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("estimate the rows of %s: %w", t, err)
	}
	return int64(n), nil
}

// position reads the WAL location the server writes at: every
// transaction committed before ends at or before it.
func (p *pgConn) position(ctx context.Context) (change.Position, error) {
	var text string
	if err := p.pool.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&text); err != nil {
		return change.Position{}, fmt.Errorf("read the WAL position: %w", err)
	}
	lsn, err := pglogrepl.ParseLSN(text)
	if err != nil {
		return change.Position{}, fmt.Errorf("read the WAL position: %w", err)
	}
	return change.Position{Engine: "postgresql", LSN: uint64(lsn)}, nil
}

func (p *pgConn) close() { p.pool.Close() }

// pgDialect is the compare SQL of PostgreSQL.
type pgDialect struct {
	// scheme is the row hash scheme: md5, or pg between two PostgreSQL
	// servers (with crc, the rows are hashed in Go).
	scheme scheme
}

var _ dialect = pgDialect{}

func (pgDialect) quote(name string) string { return `"` + strings.ReplaceAll(name, `"`, `""`) + `"` }

// from reads a plain table with ONLY (not the tables inheriting from it); a
// partitioned table whole.
func (d pgDialect) from(t *schema.Table) string {
	q := d.quote(t.Schema) + "." + d.quote(t.Name)
	if t.Partitioned {
		return q
	}
	return "ONLY " + q
}

// trimDecimal drops trailing fraction zeros of a numeric's text.
func trimDecimal(x string, t schema.Type) string {
	if s, ok := scale(t); ok {
		if s > 0 {
			return "rtrim(rtrim(" + x + ", '0'), '.')"
		}
		return x
	}
	return "CASE WHEN strpos(" + x + ", '.') > 0 THEN rtrim(rtrim(" + x + ", '0'), '.') ELSE " + x + " END"
}

func (d pgDialect) value(c *schema.Column, k *col) string {
	x := d.quote(c.Name)
	t := c.Type
	switch {
	case t.Kind == schema.KindFloat32:
		return "float4send(" + x + ")"
	case t.Kind == schema.KindFloat64:
		return "float8send(" + x + ")"
	case isBytes(t):
		return x
	case t.Kind == schema.KindBool:
		return "CASE WHEN " + x + " THEN '1' WHEN NOT " + x + " THEN '0' END"
	case t.Kind == schema.KindDecimal:
		if k.normDecimal {
			return trimDecimal(x+"::text", t)
		}
		return x + "::text"
	case t.Kind == schema.KindMoney:
		if k.normDecimal {
			return trimDecimal(x+"::numeric::text", t)
		}
		return x + "::numeric::text"
	case t.Kind == schema.KindTimestamp:
		return "(" + x + " AT TIME ZONE 'UTC')::text"
	case t.Kind == schema.KindInet:
		return "inet_out(" + x + ")::text" // inet's cast to text always adds the prefix length
	case t.Kind == schema.KindArray && t.Elem != nil && t.Elem.Kind == schema.KindMoney:
		return x + "::numeric[]::text"
	}
	return x + "::text" // char(n) loses its padding here, as in MySQL
}

func (d pgDialect) field(c *schema.Column, k *col, nullable bool) string {
	v := d.value(c, k)
	var f string
	switch {
	case isFloat(c.Type.Kind), k.class == classBytes:
		f = "encode(" + v + ", 'hex')"
	case k.class == classPlain, k.last:
		f = v
	default:
		f = "octet_length(" + v + ")::text || '#' || " + v
	}
	if nullable {
		f = "coalesce(" + f + ", 'N')"
	}
	return f
}

func (d pgDialect) rowHash(fields []string) string {
	s := strings.Join(fields, " || '#' || ")
	if d.scheme == schemePG {
		return "hashtextextended(" + s + ", 0)"
	}
	return "('x' || left(md5(" + s + "), 15))::bit(60)::bigint"
}

func (d pgDialect) bucket(fields []string, m int64) string {
	return "((('x' || left(md5(" + strings.Join(fields, " || '#' || ") + "), 8))::bit(32)::bigint) % " + strconv.FormatInt(m, 10) + ")"
}

func (d pgDialect) placeholder(c *schema.Column, n int) string {
	if isBytes(c.Type) {
		return fmt.Sprintf("decode($%d, 'hex')", n)
	}
	return fmt.Sprintf("CAST($%d::text AS %s)", n, c.Type.Raw)
}

func (d pgDialect) arg(c *schema.Column, v []byte) (any, error) {
	if isBytes(c.Type) {
		return hex.EncodeToString(v), nil
	}
	return string(v), nil
}

func (pgDialect) aggregate(hash string) string {
	if hash == "" {
		return "count(*)::text"
	}
	return "count(*)::text, coalesce(sum(" + hash + "), 0)::text"
}

func (pgDialect) limitAll() (string, any) { return "", nil }

func (pgDialect) asText(expr string) string { return "(" + expr + ")::text" }

// text is a literal no setting changes (standard_conforming_strings): an
// escape string constant whose every byte but letters, digits, space, '_'
// and '-' is written as a \x escape.
func (pgDialect) text(v []byte) string {
	var b strings.Builder
	b.WriteString("E'")
	for _, c := range v {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ' ' || c == '_' || c == '-' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "\\x%02x", c)
	}
	b.WriteString("'::text")
	return b.String()
}

func (pgDialect) decode(c *schema.Column, _ *col, v []byte) []byte {
	if v != nil && isFloat(c.Type.Kind) {
		return floatText(v)
	}
	return v
}
