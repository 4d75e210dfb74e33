package main

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/testenv"
)

// TestPrecheckCommand runs dts precheck on job files against the harness's
// servers: a file whose items pass exits 0; one with a failing item prints
// it with its fix and exits 1; -o json is the result document; a bad file
// exits 2.
func TestPrecheckCommand(t *testing.T) {
	t.Parallel()
	my, pg := testenv.MariaDB(t), testenv.Postgres(t)
	src, dst := my.NewDatabase(t), pg.NewDatabase(t)
	my.Exec(t, src, "CREATE TABLE a (id INT PRIMARY KEY, v TEXT)")
	env := []string{"PW=" + testenv.Password}
	job := func(extra string) string {
		return writeFile(t, "job.yaml", fmt.Sprintf(`
name: checked
type: migration
source: {engine: mariadb, host: %s, port: %d, user: dts, password: "${env:PW}", tls: {mode: disable}}
target: {engine: postgresql, host: %s, port: %d, user: dts, password: "${env:PW}", database: %s, tls: {mode: disable}}
objects: {%s: {all: true, name: copy%s}}
`, my.Host, my.Port, pg.Host, pg.Port, dst, src, extra))
	}

	good := job("")
	r := dts(t, env, "precheck", good)
	require.Equal(t, 0, r.code, "%s\n%s", r.stdout, r.stderr)
	require.Contains(t, r.stdout, "PASSED   source.connection")
	require.Contains(t, r.stdout, "precheck passed:")

	bad := job(`, tables: {a: {filter: "nope > 1"}}`)
	r = dts(t, env, "precheck", bad)
	require.Equal(t, 1, r.code, "%s\n%s", r.stdout, r.stderr)
	require.Contains(t, r.stdout, "FAILED   objects.filters")
	require.Contains(t, r.stdout, "column nope is not a column of")
	require.Contains(t, r.stdout, "fix: correct the filter")
	require.Contains(t, r.stderr, "OperationDenied.PrecheckFailed: 1 precheck items fail: objects.filters")

	r = dts(t, env, "precheck", bad, "-o", "json")
	require.Equal(t, 1, r.code, r.stderr)
	var res struct {
		Status  string   `json:"status"`
		Failing []string `json:"failing"`
		Items   []struct {
			ID, Status, Message, Fix string
		} `json:"items"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &res), r.stdout)
	require.Equal(t, "failed", res.Status)
	require.Equal(t, []string{"objects.filters"}, res.Failing)
	require.NotEmpty(t, res.Items)
	require.NotContains(t, r.stdout, testenv.Password)

	r = dts(t, env, "precheck", writeFile(t, "broken.yaml", "name: Bad Name\n"))
	require.Equal(t, 2, r.code, r.stderr)
	require.Contains(t, r.stderr, "InvalidParameter")
}
