package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The hostile filters of RELIABILITY.md's bad-input corpus, sent to the
// API: each is refused with 400 InvalidParameter at the filter's field,
// the message naming the offending part, and no job is created.
func TestCreateRefusesHostileFilters(t *testing.T) {
	t.Parallel()
	e := setup(t, "")
	for _, c := range []struct{ filter, want string }{
		{"1=1; DROP TABLE t", "';' ends the statement"},
		{"id > 0 UNION SELECT password FROM mysql.user", "UNION is not allowed"},
		{"id = 1 -- ", "comments are not allowed ('--')"},
		{"id = 1 /* */ OR 1=1", "comments are not allowed ('/*')"},
		{"/*!50000 SLEEP(10) */", "versioned comments"},
		{"SLEEP(10)", "function SLEEP is not allowed"},
		{"BENCHMARK(1e9, MD5(1))", "function BENCHMARK is not allowed"},
		{"pg_sleep(10)", "function PG_SLEEP is not allowed"},
		{"(SELECT 1 FROM pg_read_file('/etc/passwd'))", "subqueries are not allowed"},
		{"LOAD_FILE('/etc/passwd')", "function LOAD_FILE is not allowed"},
		{"id = 1 INTO OUTFILE '/tmp/x'", "INTO is not allowed"},
		{"@@version", "variables are not allowed (@@version)"},
		{`\' OR 1=1 --`, "a backslash outside a string"},
		{`"id" = 1`, "double quotes mean a string or a name"},
		{"\u2018x\u2019 = name", "it looks like a quote but is not one"},
		{strings.Repeat("(", 10000) + "id = 1" + strings.Repeat(")", 10000), "the limit is 16384"},
		{"NOW() > created_at", "it is not deterministic"},
		{"RAND() < 0.5", "it is not deterministic"},
	} {
		spec := specJSON("hostile")
		spec["objects"] = map[string]any{"shop": map[string]any{"tables": map[string]any{"customers": map[string]any{"filter": c.filter}}}}
		status, body, _ := e.call("POST", "/v1/jobs", spec)
		requireError(t, status, body, http.StatusBadRequest, "InvalidParameter")
		fields := body["fields"].([]any)
		require.Len(t, fields, 1, "%q: %v", c.filter[:min(len(c.filter), 40)], body)
		f := fields[0].(map[string]any)
		require.Equal(t, "objects.shop.tables.customers.filter", f["path"])
		require.Contains(t, f["message"], c.want)
	}
	_, body, _ := e.call("GET", "/v1/jobs", nil)
	require.Empty(t, body["jobs"], "no job was created")
}
