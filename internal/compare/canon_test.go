package compare

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/connector/engines"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/logging"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/testenv"
	"github.com/dtsorg/dts/internal/value"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// TestCompareFormIsCanonical checks the compare SQL against the connectors'
// readers, value by value, on every table of the type matrix of each
// engine: what the SQL fetches is the compare form of the canonical value
// the reader returns, the SQL's hash field is what canon.go makes of it,
// and the database's row hash is md5 over those fields. Since a migration
// copies canonical values unchanged (the full-load tests), equal rows on
// two engines get equal hashes.
func TestCompareFormIsCanonical(t *testing.T) {
	t.Parallel()
	for _, e := range []struct {
		name string
		srv  func(testing.TB) *testenv.Server
		sql  []string
	}{
		{"mariadb", testenv.MariaDB, MySQLFixtures(true)},
		{"postgresql", testenv.Postgres, PGFixtures(true)},
	} {
		t.Run(e.name, func(t *testing.T) {
			t.Parallel()
			srv := e.srv(t)
			db := srv.NewDatabase(t)
			schemaName, ep := db, srv.Endpoint("")
			if !srv.Engine.IsMySQL() {
				schemaName, ep = "app", srv.Endpoint(db)
				srv.Exec(t, db, "CREATE SCHEMA app; SET search_path = app;\n"+strings.Join(e.sql, ";\n"))
			} else {
				srv.Exec(t, db, e.sql...)
			}
			ctx := context.Background()
			src, err := engines.Engines{}.OpenSource(ctx, ep, logging.Discard())
			require.NoError(t, err)
			defer src.Close()
			refs, err := src.ListTables(ctx)
			require.NoError(t, err)
			refs = slices.DeleteFunc(refs, func(r connector.TableRef) bool { return r.Schema != schemaName })
			tables, err := src.ReadTables(ctx, refs)
			require.NoError(t, err)
			require.GreaterOrEqual(t, len(tables), 9)
			snap, err := src.OpenSnapshot(ctx, 1)
			require.NoError(t, err)
			defer snap.Close()
			for _, cross := range []bool{false, true} {
				s := openTestSide(t, ep, !cross)
				for _, tbl := range tables {
					checkTable(t, snap.Readers()[0], s, tbl, cross, false)
					if srv.Engine.IsMySQL() {
						checkTable(t, snap.Readers()[0], s, tbl, cross, true)
					}
				}
			}
		})
	}
}

func openTestSide(t *testing.T, e job.Endpoint, sameMySQL bool) *side {
	t.Helper()
	if e.Engine.IsMySQL() {
		m, err := openMySQL(context.Background(), e, 2)
		require.NoError(t, err)
		t.Cleanup(m.close)
		return &side{conn: m, d: mysqlDialect{mariadb: m.mariadb, sameMySQL: sameMySQL}, engine: "mysql"}
	}
	p, err := openPostgres(context.Background(), e, 2)
	require.NoError(t, err)
	t.Cleanup(p.close)
	return &side{conn: p, d: pgDialect{}, engine: "postgresql"}
}

// checkTable pairs a table with itself, as one engine (cross false) or as
// if the other side were another engine (decimals then normalized).
func checkTable(t *testing.T, r connector.Reader, s *side, tbl *schema.Table, cross, bare bool) {
	t.Helper()
	ctx := context.Background()
	p := &pair{name: tbl.QualifiedName(), src: tbl, dst: tbl}
	p.columns(!cross)
	require.Empty(t, p.skip)
	if bare {
		mysqlBare(p.cols, 0)
	}
	for _, k := range p.cols {
		if cross && (k.c[0].Type.Kind == schema.KindDecimal || k.c[0].Type.Kind == schema.KindMoney) {
			k.normDecimal = true
		}
	}
	// The reader's canonical values, as compare forms, by row.
	wantRows := map[string]value.Row{}
	err := r.Read(ctx, connector.ReadRequest{Table: tbl, Columns: tbl.Names()}, func(row value.Row) error {
		cf := make(value.Row, len(row))
		for i := range row {
			cf[i] = compareForm(p.cols[i], 0, row[i])
		}
		wantRows[rowID(p, cf)] = cf.Clone()
		return nil
	})
	require.NoError(t, err)

	ts := newTableSQL(s.d, p, 0)
	var fields, shown []string
	for _, k := range p.cols {
		f := s.d.field(k.c[0], k, k.c[0].Nullable)
		fields = append(fields, f)
		if s.engine == "mysql" {
			f = "CONCAT_WS('#', " + f + ")" // a field may be two arguments of the row's CONCAT_WS
		}
		shown = append(shown, f)
	}
	md5Hash, otherHash := s.d.rowHash(nonGoHashed(p, fields)), "NULL"
	if m, ok := s.conn.(*mysqlConn); ok {
		md5Hash = mysqlDialect{mariadb: m.mariadb, sameMySQL: !cross}.rowHash(nonGoHashed(p, fields))
		if m.crc32c {
			otherHash = mysqlDialect{mariadb: m.mariadb, sameMySQL: !cross, scheme: schemeCRC}.rowHash(nonGoHashed(p, fields))
		}
	}
	exprs := append(append(append([]string{}, ts.values...), shown...), s.d.asText(md5Hash), s.d.asText(otherHash))
	q, args, err := ts.fetchSQL(exprs, pred{}, false)
	require.NoError(t, err)
	n := len(p.cols)
	sameMySQL := s.engine == "mysql" && !cross
	seen := map[string]bool{}
	err = s.conn.query(ctx, q, args, func(v [][]byte) error {
		got := make(value.Row, n)
		for i := range n {
			got[i] = s.d.decode(p.cols[i].c[0], p.cols[i], v[i])
		}
		id := rowID(p, got)
		exp, ok := wantRows[id]
		require.True(t, ok, "%s: row %s (cross %t) is not one the reader returned", tbl, id, cross)
		for i, k := range p.cols {
			require.Equal(t, show(exp[i]), show(got[i]), "%s.%s (%s) cross %t: compare form", tbl, k.name, k.c[0].Type, cross)
			if isFloat(k.c[0].Type.Kind) {
				continue // hashed as the engine's own text or bits: see TestFloatsHashAlike
			}
			f := appendField([]byte{}, k.class, sameMySQL, k.last, exp[i])
			require.Equal(t, show(f), show(v[n+i]), "%s.%s (%s) cross %t: hash field", tbl, k.name, k.c[0].Type, cross)
		}
		var joined []string
		for i, k := range p.cols {
			if !k.goHashed {
				joined = append(joined, string(v[n+i]))
			}
		}
		if len(joined) == 0 {
			joined = []string{"-"}
		}
		sum := md5.Sum([]byte(strings.Join(joined, "#")))
		h, err := strconv.ParseUint(hex.EncodeToString(sum[:])[:15], 16, 64)
		require.NoError(t, err)
		require.Equal(t, strconv.FormatUint(h, 10), string(v[2*n]), "%s: row hash", tbl)
		if v[2*n+1] != nil {
			require.Equal(t, strconv.FormatUint(crcHash([]byte(strings.Join(joined, "#"))), 10), string(v[2*n+1]), "%s: crc row hash", tbl)
		}
		if cross { // a side whose rows are hashed here (against another engine) joins the same fields
			gs := &side{sameMySQL: sameMySQL}
			require.Equal(t, strings.Join(joined, "#"), string(gs.rowFields(nil, ts, exp)), "%s: fields joined here", tbl)
		}
		seen[id] = true
		return nil
	})
	require.NoError(t, err)
	require.Len(t, seen, len(wantRows), "%s: rows", tbl)
}

func nonGoHashed(p *pair, fields []string) []string {
	var out []string
	for i, k := range p.cols {
		if !k.goHashed {
			out = append(out, fields[i])
		}
	}
	if len(out) == 0 {
		out = []string{"'-'"}
	}
	return out
}

// rowID identifies a row by its key, or by all its values without one.
func rowID(p *pair, r value.Row) string {
	if len(p.key) == 0 {
		return keyString(r)
	}
	k := make(value.Row, len(p.key))
	for j, i := range p.key {
		k[j] = r[i]
	}
	return keyString(k)
}

func show(v []byte) string {
	if v == nil {
		return "NULL"
	}
	return fmt.Sprintf("%q", v)
}

// The last field goes without its length only where that stays
// unambiguous: a '#' moved across the boundary before it changes the
// joined fields, and a nullable last column keeps its length ("N").
func TestLastFieldNeedsNoLength(t *testing.T) {
	text := func(name string, nullable bool) schema.Column {
		return schema.Column{Name: name, Nullable: nullable, Type: schema.Type{Kind: schema.KindVarChar, Length: 20}}
	}
	for _, sameMySQL := range []bool{false, true} {
		a, b := text("a", false), text("b", false)
		cols := []*col{newCol(&a, &a, sameMySQL), newCol(&b, &b, sameMySQL)}
		markLast(cols)
		require.False(t, cols[0].last)
		require.True(t, cols[1].last)
		ts := &tableSQL{cols: cols}
		s := &side{sameMySQL: sameMySQL}
		join := func(x, y string) string { return string(s.rowFields(nil, ts, value.Row{[]byte(x), []byte(y)})) }
		require.Equal(t, "1#x#yz", join("x", "yz"))
		require.NotEqual(t, join("x#", "y"), join("x", "#y"))
		require.NotEqual(t, join("x", "y#"), join("x#", "y"))

		n := text("n", true)
		cols = []*col{newCol(&a, &a, sameMySQL), newCol(&n, &n, sameMySQL)}
		markLast(cols)
		require.False(t, cols[1].last, "a nullable last column keeps its length: NULL is N")
	}
}
