package compare

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	"github.com/dtsorg/dts/internal/change"
	dtsmysql "github.com/dtsorg/dts/internal/connector/mysql"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
)

// MySQL and MariaDB: connections and the compare SQL (canon.go explains
// the compare form). Sessions print TIMESTAMP in UTC (time_zone +00:00),
// return CHAR unpadded (no PAD_CHAR_TO_FULL_LENGTH) and read literals with
// backslash escapes (no NO_BACKSLASH_ESCAPES, no ANSI_QUOTES). Queries with
// parameters run as prepared statements, so floats arrive over the binary
// protocol as exact IEEE values.

type mysqlConn struct {
	db      *sql.DB
	mariadb bool
	// crc32c: the server has CRC32C (MariaDB 10.8 and later): the crc
	// row hash scheme (hashrows.go) can run in its SQL.
	crc32c bool
}

// openMySQL opens a pool of up to conns connections to e.
func openMySQL(ctx context.Context, e job.Endpoint, conns int) (*mysqlConn, error) {
	cfg, err := dtsmysql.Config(e)
	if err != nil {
		return nil, err
	}
	cfg.ParseTime, cfg.Loc = false, time.UTC
	params := map[string]string{}
	for k, v := range cfg.Params {
		params[k] = v
	}
	params["time_zone"] = "'+00:00'"
	params["sql_mode"] = "'NO_ENGINE_SUBSTITUTION'"
	params["net_read_timeout"], params["net_write_timeout"] = "3600", "3600"
	cfg.Params = params
	db, err := dtsmysql.OpenConfig(ctx, e, cfg)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(conns)
	db.SetMaxIdleConns(conns)
	var version string
	if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		db.Close()
		return nil, fmt.Errorf("read server version: %w", err)
	}
	m := &mysqlConn{db: db, mariadb: strings.Contains(strings.ToLower(version), "mariadb")}
	var probe sql.NullInt64
	m.crc32c = db.QueryRowContext(ctx, "SELECT CRC32C('')").Scan(&probe) == nil
	return m, nil
}

func (m *mysqlConn) query(ctx context.Context, q string, args []any, fn func([][]byte) error) error {
	rows, err := m.db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	raw := make([]sql.RawBytes, len(cols))
	ptrs := make([]any, len(cols))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	vals := make([][]byte, len(cols))
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		for i, v := range raw {
			switch {
			case v == nil:
				vals[i] = nil
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

func (m *mysqlConn) exec(ctx context.Context, q string) error {
	_, err := m.db.ExecContext(ctx, q)
	return err
}

func (m *mysqlConn) script(ctx context.Context, stmts []string) error {
	c, err := m.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	for _, q := range stmts {
		if _, err := c.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%w (statement: %.300s)", err, q)
		}
	}
	return nil
}

func (m *mysqlConn) estimate(ctx context.Context, t *schema.Table) (int64, error) {
	var n sql.NullInt64
	err := m.db.QueryRowContext(ctx, "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
		t.Schema, t.Name).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("estimate the rows of %s: %w", t, err)
	}
	return n.Int64, nil
}

// position reads the binlog coordinate the server writes at: every
// transaction committed before ends at or before it.
func (m *mysqlConn) position(ctx context.Context) (change.Position, error) {
	rows, err := m.db.QueryContext(ctx, "SHOW MASTER STATUS")
	if err != nil {
		var me *mysql.MySQLError
		if !errors.As(err, &me) || me.Number != 1064 { // 1064: MySQL 8.4 renamed it
			return change.Position{}, fmt.Errorf("read the binlog position: %w", err)
		}
		if rows, err = m.db.QueryContext(ctx, "SHOW BINARY LOG STATUS"); err != nil {
			return change.Position{}, fmt.Errorf("read the binlog position: %w", err)
		}
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return change.Position{}, err
	}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return change.Position{}, err
		}
		return change.Position{}, errors.New("the server writes no binlog")
	}
	vals := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return change.Position{}, err
	}
	p := change.Position{Engine: "mysql", Flavor: "mysql"}
	if m.mariadb {
		p.Flavor = "mariadb"
	}
	for i, c := range cols {
		switch strings.ToLower(c) {
		case "file":
			p.File = vals[i].String
		case "position":
			p.Pos, _ = strconv.ParseUint(vals[i].String, 10, 64)
		case "executed_gtid_set":
			p.GTIDSet = vals[i].String
		}
	}
	return p, rows.Err()
}

func (m *mysqlConn) close() { m.db.Close() }

// mysqlDialect is the compare SQL of MySQL and MariaDB.
type mysqlDialect struct {
	mariadb bool
	// sameMySQL: both sides are MySQL, so bytes are hashed as they are.
	sameMySQL bool
	// scheme is the row hash scheme (md5 or crc).
	scheme scheme
}

var _ dialect = mysqlDialect{}

func (mysqlDialect) quote(name string) string { return "`" + strings.ReplaceAll(name, "`", "``") + "`" }

func (d mysqlDialect) from(t *schema.Table) string { return d.quote(t.Schema) + "." + d.quote(t.Name) }

// trimFraction drops trailing fraction zeros (and the point) of a value
// whose text always has a point.
func trimFraction(x string) string {
	return "TRIM(TRAILING '.' FROM TRIM(TRAILING '0' FROM " + x + "))"
}

func (d mysqlDialect) value(c *schema.Column, k *col) string {
	x := d.quote(c.Name)
	t := c.Type
	switch {
	case isFloat(t.Kind), isBytes(t):
		return x
	case t.Kind == schema.KindYear:
		return "(" + x + "+0)" // YEAR 0 is 0, not 0000
	case t.IsInteger():
		return x
	case t.Kind == schema.KindDecimal:
		if k.normDecimal && t.Scale > 0 {
			return trimFraction(x)
		}
		return x
	case t.Kind == schema.KindTime || t.Kind == schema.KindDateTime || t.Kind == schema.KindTimestamp:
		if t.FSP > 0 {
			return trimFraction(x)
		}
		return x
	case t.Kind == schema.KindDate:
		return x
	case t.Kind == schema.KindBit:
		return fmt.Sprintf("LPAD(BIN(%s+0), %d, '0')", x, max(t.Length, 1))
	case t.Kind == schema.KindUUID:
		return "LOWER(CONCAT(" + x + "))"
	case t.Kind == schema.KindInet:
		return "CONCAT(" + x + ")"
	case t.Kind == schema.KindJSON:
		return "CAST(CAST(" + x + " AS CHAR CHARACTER SET utf8mb4) AS BINARY)"
	case t.Kind == schema.KindUnknown:
		return x
	}
	// Text, ENUM and SET labels: as UTF-8 bytes, so that columns of
	// different collations can be concatenated (see mysqlBare).
	switch {
	case k.bare[d.side(c, k)]:
		return x
	case utf8Charset(c.Charset):
		return "CAST(" + x + " AS BINARY)"
	}
	return "CAST(CONVERT(" + x + " USING utf8mb4) AS BINARY)"
}

// side tells which side of k column c is.
func (mysqlDialect) side(c *schema.Column, k *col) int {
	if k.c[1] == c && k.c[0] != c {
		return 1
	}
	return 0
}

// utf8Charset reports whether a charset stores text as UTF-8 bytes.
func utf8Charset(cs string) bool {
	switch strings.ToLower(cs) {
	case "", "utf8mb4", "utf8mb3", "utf8", "ascii":
		return true
	}
	return false
}

// textual reports whether mysqlDialect.value concatenates a column as text.
func textual(t schema.Type) bool {
	switch t.Kind {
	case schema.KindChar, schema.KindVarChar, schema.KindText, schema.KindEnum, schema.KindSet:
		return !t.Binary
	}
	return false
}

// mysqlBare marks the text columns of a MySQL side bare when they all
// share one UTF-8 charset and collation: MySQL then concatenates them
// without complaint, and in their stored bytes.
func mysqlBare(cols []*col, side int) {
	var collation string
	for _, k := range cols {
		c := k.c[side]
		if !textual(c.Type) || k.goHashed || k.added && side == 0 {
			continue
		}
		if !utf8Charset(c.Charset) || c.Collation == "" || collation != "" && c.Collation != collation {
			return
		}
		collation = c.Collation
	}
	for _, k := range cols {
		if textual(k.c[side].Type) {
			k.bare[side] = true
		}
	}
}

// field is a column's hash field. Text and bytes between two MySQL
// servers are "length#value", written as two arguments of the row's
// CONCAT_WS (which skips the NULL value of a NULL field, leaving "N"):
// cheaper than a CONCAT of their own.
func (d mysqlDialect) field(c *schema.Column, k *col, nullable bool) string {
	v := d.value(c, k)
	var f string
	switch {
	case isFloat(c.Type.Kind):
		f = "(" + v + "*1e0)" // a double's shortest text: FLOAT prints only 6 digits
	case k.class == classPlain:
		f = v
	case k.class == classBytes && !d.sameMySQL:
		f = "LOWER(HEX(" + v + "))"
	case k.last:
		return v
	case nullable:
		return "COALESCE(LENGTH(" + v + "), 'N'), " + v
	default:
		return "LENGTH(" + v + "), " + v
	}
	if nullable {
		f = "COALESCE(" + f + ", 'N')"
	}
	return f
}

// joined is the row's fields joined by '#' (field may hold two arguments).
func joined(fields []string) string {
	return "CONCAT_WS('#', " + strings.Join(fields, ", ") + ")"
}

func (d mysqlDialect) rowHash(fields []string) string {
	s := joined(fields)
	if d.scheme == schemeCRC {
		// The joined fields are built once: the second CRC reads them
		// from the variable the first one's argument set (MariaDB
		// evaluates the operands left to right). A quarter of the
		// compare's cost on a table of short rows.
		return "(CRC32(@dts_row := " + s + ") << 32 | CRC32C(@dts_row))"
	}
	return "CAST(CONV(LEFT(MD5(" + s + "), 15), 16, 10) AS UNSIGNED)"
}

func (d mysqlDialect) bucket(fields []string, m int64) string {
	return "(CAST(CONV(LEFT(MD5(" + joined(fields) + "), 8), 16, 10) AS UNSIGNED) % " + strconv.FormatInt(m, 10) + ")"
}

func (d mysqlDialect) placeholder(c *schema.Column, _ int) string {
	t := c.Type
	switch {
	case t.Kind == schema.KindDecimal:
		return fmt.Sprintf("CAST(? AS DECIMAL(%d,%d))", max(t.Precision, 1), t.Scale)
	case (t.Kind == schema.KindChar || t.Kind == schema.KindVarChar || t.Kind == schema.KindText) && !t.Binary &&
		plainName(c.Charset) && plainName(c.Collation):
		return "CONVERT(? USING " + c.Charset + ") COLLATE " + c.Collation
	}
	return "?"
}

func (d mysqlDialect) arg(c *schema.Column, v []byte) (any, error) {
	t := c.Type
	switch {
	case t.IsInteger() && t.Unsigned:
		return strconv.ParseUint(string(v), 10, 64)
	case t.IsInteger():
		return strconv.ParseInt(string(v), 10, 64)
	case isFloat(t.Kind):
		return strconv.ParseFloat(string(v), 64)
	case t.Kind == schema.KindBit:
		return parseBits(v)
	case isBytes(t) || t.Kind == schema.KindUnknown:
		return v, nil
	}
	return string(v), nil
}

func (mysqlDialect) aggregate(hash string) string {
	if hash == "" {
		return "COUNT(*)"
	}
	return "COUNT(*), COALESCE(SUM(" + hash + "), 0)"
}

func (mysqlDialect) limitAll() (string, any) { return " LIMIT ?", int64(math.MaxInt64) }

func (mysqlDialect) asText(expr string) string { return expr }

func (mysqlDialect) text(v []byte) string { return mysqlString(v) }

func (mysqlDialect) decode(_ *schema.Column, _ *col, v []byte) []byte { return v }

// parseBits reads a bit string ("0101") as a number.
func parseBits(b []byte) (uint64, error) {
	if len(b) > 64 {
		return 0, fmt.Errorf("bit string of %d bits: MySQL BIT holds at most 64", len(b))
	}
	var n uint64
	for _, c := range b {
		switch c {
		case '0':
			n <<= 1
		case '1':
			n = n<<1 | 1
		default:
			return 0, fmt.Errorf("%q is not a bit string", b)
		}
	}
	return n, nil
}

// plainName reports whether s is a charset or collation name that can be
// written into SQL as it is.
func plainName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
