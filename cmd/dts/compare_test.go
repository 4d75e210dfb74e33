package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/testenv"
)

// TestCompareCommand copies a table, compares it (equal), changes the
// target, compares again (different: the rows are listed, the exit status
// is 1, the repair SQL is written), repairs, and finds it equal.
func TestCompareCommand(t *testing.T) {
	t.Parallel()
	my, pg := testenv.MariaDB(t), testenv.Postgres(t)
	srcDB, dstDB := my.NewDatabase(t), pg.NewDatabase(t)
	my.Exec(t, srcDB, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20), f DOUBLE)",
		"INSERT INTO t SELECT seq, CONCAT('v', seq), seq / 7 FROM seq_1_to_500")
	e := pg.Endpoint(dstDB)
	file := writeFile(t, "job.yaml", fmt.Sprintf(`
name: cmp-%s
type: migration
source: {engine: mariadb, host: %s, port: %d, user: dts, password: "${env:PW}"}
target: {engine: postgresql, host: %s, port: %d, user: dts, password: "${env:PW}", database: "%s"}
objects: {%s: {all: true}}
`, dstDB[max(0, len(dstDB)-50):], my.Host, my.Port, e.Host, e.Port, dstDB, srcDB))
	env := []string{"PW=" + testenv.Password}
	dir := t.TempDir()
	r := dts(t, env, "run", file)
	require.Equal(t, 0, r.code, r.stderr)

	r = dts(t, env, "compare", file, "--dir", dir)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "content compare: equal")
	require.NoFileExists(t, filepath.Join(dir, "state.jsonl"), "a finished compare leaves no state")

	pg.Exec(t, dstDB, "DELETE FROM "+srcDB+".t WHERE id = 5", "UPDATE "+srcDB+".t SET v = 'changed' WHERE id = 7")
	r = dts(t, env, "compare", file, "--dir", dir, "--recheck-delay", "0")
	require.Equal(t, 1, r.code, r.stderr)
	require.Contains(t, r.stderr, "Compare.Different")
	for _, want := range []string{"different", `missing id="5"`, `changed id="7"  v: "v7" → "changed"`, "repair SQL (postgresql, 2 statements)"} {
		require.Contains(t, r.stdout, want)
	}
	script, err := os.ReadFile(filepath.Join(dir, "repair.sql"))
	require.NoError(t, err)
	require.Contains(t, string(script), "SET TimeZone = 'UTC';\n")
	require.Contains(t, string(script), `UPDATE "`+srcDB+`"."t" SET "v" = 'v7'::character varying(20) WHERE "id" = '7'::integer;`)

	r = dts(t, env, "compare", file, "--dir", dir, "--recheck-delay", "0", "--repair")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "repair applied to the target")

	for _, typ := range []string{"content", "rows", "objects"} {
		r = dts(t, env, "compare", file, "--dir", dir, "--type", typ, "-o", "json")
		require.Equal(t, 0, r.code, r.stderr)
		var rep map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep), r.stdout)
		require.Equal(t, "equal", rep["status"], typ)
	}
	r = dts(t, env, "compare", file, "--type", "bogus")
	require.Equal(t, 2, r.code)
	require.Contains(t, r.stderr, "--type")
}
