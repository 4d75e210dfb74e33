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

// TestCheckRunsAndRepairRecheck: dts run of a migration with check.full
// compares after the copy; dts run of a check job compares with dts
// compare's exit status; a repair the target undoes fails the command; a
// compare cut short by max_hours keeps its state and resumes.
func TestCheckRunsAndRepairRecheck(t *testing.T) {
	t.Parallel()
	my, pg := testenv.MariaDB(t), testenv.Postgres(t)
	srcDB, dstDB := my.NewDatabase(t), pg.NewDatabase(t)
	my.Exec(t, srcDB, "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))",
		"INSERT INTO t SELECT seq, CONCAT('v', seq) FROM seq_1_to_300")
	e := pg.Endpoint(dstDB)
	name := dstDB[max(0, len(dstDB)-40):]
	jobFile := func(typ, extra string) string {
		return writeFile(t, typ+".yaml", fmt.Sprintf(`
name: %s-%s
type: %s
source: {engine: mariadb, host: %s, port: %d, user: dts, password: "${env:PW}"}
target: {engine: postgresql, host: %s, port: %d, user: dts, password: "${env:PW}", database: "%s"}
objects: {%s: {all: true}}
%s
`, typ, name, typ, my.Host, my.Port, e.Host, e.Port, dstDB, srcDB, extra))
	}
	env := []string{"PW=" + testenv.Password}
	migration := jobFile("migration", "check: {full: {mode: content}}")
	r := dts(t, env, "run", migration, "--dir", t.TempDir())
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "content compare: equal", "check.full ran after the full load")

	check, dir := jobFile("check", "check: {full: {mode: content}}"), t.TempDir()
	r = dts(t, env, "run", check, "--dir", dir)
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "content compare: equal")
	table := `"` + srcDB + `".t`
	pg.Exec(t, dstDB, "UPDATE "+table+" SET v = 'changed' WHERE id = 7",
		`CREATE FUNCTION spoil() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.v := 'spoilt'; RETURN NEW; END $$`,
		"CREATE TRIGGER spoil BEFORE UPDATE ON "+table+" FOR EACH ROW EXECUTE FUNCTION spoil()",
		"ALTER TABLE "+table+" ENABLE ALWAYS TRIGGER spoil")
	r = dts(t, env, "run", check, "--dir", dir)
	require.Equal(t, 1, r.code, r.stderr)
	require.Contains(t, r.stderr, "Compare.Different")
	require.Contains(t, r.stdout, `changed id="7"`)

	r = dts(t, env, "compare", check, "--dir", dir, "--repair", "--recheck-delay", "0")
	require.Equal(t, 1, r.code, "the trigger undoes the repair: %s", r.stdout)
	require.Contains(t, r.stderr, "still differ when compared again")
	require.Contains(t, r.stdout, "1 rows still differ")
	pg.Exec(t, dstDB, "DROP TRIGGER spoil ON "+table)
	r = dts(t, env, "compare", check, "--dir", dir, "--repair", "--recheck-delay", "0")
	require.Equal(t, 0, r.code, r.stderr)
	require.Contains(t, r.stdout, "repaired rows compared equal")

	// The state of an earlier, interrupted compare (here a line a crash cut short).
	require.NoError(t, os.WriteFile(filepath.Join(dir, "state.jsonl"), []byte(`{"table":`), 0o600))
	r = dts(t, env, "compare", check, "--dir", dir, "--max-hours", "0.0000000001")
	require.Equal(t, 1, r.code, r.stdout)
	require.Contains(t, r.stderr, "Compare.Incomplete")
	require.Contains(t, r.stderr, "the time limit ended the compare; run it again to continue")
	require.FileExists(t, filepath.Join(dir, "state.jsonl"), "a compare cut short by its time limit keeps its state")
	r = dts(t, env, "compare", check, "--dir", dir)
	require.Equal(t, 0, r.code, r.stderr)
	require.NoFileExists(t, filepath.Join(dir, "state.jsonl"))
}
