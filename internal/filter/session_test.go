package filter

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/testenv"
	"github.com/dtsorg/dts/internal/value"
)

// Strings shaped like injections: as values in the table and as literals in
// filters, they must mean themselves whatever the session's settings.
var injectionStrings = []string{`'`, `''`, `\`, `\'`, `\\'`, `'\`, `"`, "`", `--`, `-- x`, `/*`, `*/`, `/*!50000 x*/`, `;`,
	`#`, `%`, `_`, `\%`, `\_`, "a\nb", "\t", `$$`, `E'x'`, `' OR 1=1 --`, `\' OR 1=1 --`, `" OR ""="`, "` OR 1 --",
	`'); DROP TABLE t; --`, `||`, `&&`, `?`, `$1`, `@@version`, `ä`, `😀`, `'ä\`, `x'41'`, `_utf8mb4 X'41'`}

// TestRenderedSQLIsSessionIndependent runs the rendered filters under
// session settings that change how SQL text is read: the rows selected are
// always Eval's.
func TestRenderedSQLIsSessionIndependent(t *testing.T) {
	t.Parallel()
	t.Run("mariadb", func(t *testing.T) {
		t.Parallel()
		srv := testenv.MariaDB(t)
		db := srv.DB(t, srv.NewDatabase(t))
		sessionIndependence(t, MySQL, db, "CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(40) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin)",
			"INSERT INTO t VALUES (?, ?)", [][]string{
				{"SET sql_mode = ''"},
				{"SET sql_mode = 'NO_BACKSLASH_ESCAPES'"},
				{"SET sql_mode = 'ANSI_QUOTES'"},
				{"SET sql_mode = 'ANSI'"},
				{"SET sql_mode = 'PIPES_AS_CONCAT,HIGH_NOT_PRECEDENCE,IGNORE_SPACE,NO_BACKSLASH_ESCAPES,ANSI_QUOTES'"},
				{"SET NAMES latin1", "SET sql_mode = 'NO_BACKSLASH_ESCAPES'"},
			})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		srv := testenv.Postgres(t)
		db := srv.DB(t, srv.NewDatabase(t))
		sessionIndependence(t, PostgreSQL, db, "CREATE TABLE t (id INT PRIMARY KEY, s TEXT)",
			"INSERT INTO t VALUES ($1, $2)", [][]string{
				{"SET standard_conforming_strings = on"},
				{"SET standard_conforming_strings = off", "SET escape_string_warning = off"},
				{"SET standard_conforming_strings = off", "SET backslash_quote = on"},
			})
	})
}

func sessionIndependence(t *testing.T, d Dialect, db *sql.DB, create, insert string, sessions [][]string) {
	ctx := context.Background()
	_, err := db.ExecContext(ctx, create)
	require.NoError(t, err)
	tbl := &schema.Table{Schema: "x", Name: "t", Columns: []schema.Column{
		{Name: "id", Type: schema.Type{Kind: schema.KindInt32}},
		{Name: "s", Type: schema.Type{Kind: schema.KindVarChar, Length: 40}, Collation: map[Dialect]string{MySQL: "utf8mb4_bin"}[d]},
	}}
	rows := map[int64]value.Row{}
	for i, s := range injectionStrings {
		_, err := db.ExecContext(ctx, insert, i, s) // placeholders: the test's own values never pass through text
		require.NoError(t, err)
		rows[int64(i)] = value.Row{[]byte(strconv.Itoa(i)), []byte(s)}
	}
	lit := func(s string) string {
		s = strings.ReplaceAll(s, "'", "''")
		if d == MySQL {
			s = strings.ReplaceAll(s, `\`, `\\`)
		}
		return "'" + s + "'"
	}
	var filters []*Filter
	for _, s := range injectionStrings {
		for _, src := range []string{"s = " + lit(s), "s <> " + lit(s), "s LIKE " + lit("%"+s+"%"), "s IN (" + lit(s) + ", " + lit(s+s) + ")",
			"s > " + lit(s), "LOWER(s) = " + lit(s)} {
			f, err := Parse(string(d), src, tbl)
			if err != nil {
				assert.Contains(t, err.Error(), "escape character", src) // a pattern ending in \
				continue
			}
			filters = append(filters, f)
		}
	}
	for _, settings := range sessions {
		conn := session(t, db, settings...)
		for _, f := range filters {
			got, err := selectIDs(conn, f.SQL(d))
			require.NoError(t, err, "%v: %s", settings, f.SQL(d))
			want := []int64{}
			for i := range injectionStrings {
				if ok, err := f.Eval(rows[int64(i)]); err == nil && ok {
					want = append(want, int64(i))
				}
			}
			assert.Equal(t, want, got, "%v: %s", settings, f.SQL(d))
		}
	}
}
