package job

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/errs"
)

func testEnv(vars map[string]string) DecodeOptions {
	return DecodeOptions{LookupEnv: func(name string) (string, bool) {
		v, ok := vars[name]
		return v, ok
	}}
}

// fieldProblems returns "path: message" lines of an InvalidParameter error.
func fieldProblems(t *testing.T, err error) []string {
	t.Helper()
	require.Error(t, err)
	e, ok := errs.As(err)
	require.True(t, ok, "not a coded error: %v", err)
	require.Equal(t, errs.InvalidParameter, e.Code)
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Error())
	}
	return out
}

func TestDecodeSpecExampleYAMLAndJSONAgree(t *testing.T) {
	t.Parallel()
	env := testEnv(map[string]string{"SHOP_DB_PASSWORD": `p@ss"w'rd`})
	var specs []*Spec
	for _, f := range []string{"testdata/full.yaml", "testdata/full.json"} {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		s, err := Decode(data, env)
		require.NoError(t, err, f)
		require.NoError(t, s.Validate(), f)
		specs = append(specs, s)
	}
	a, _ := json.Marshal(specs[0])
	b, _ := json.Marshal(specs[1])
	require.JSONEq(t, string(a), string(b))

	s := specs[0]
	require.Equal(t, `p@ss"w'rd`, s.Source.Password.Reveal())
	require.Equal(t, []string{"shop", "crm_*"}, s.Objects.Keys(), "object order is kept")
	crm, ok := s.Objects.Get("crm_*")
	require.True(t, ok)
	cust, ok := crm.Tables.Get("customers")
	require.True(t, ok)
	require.Equal(t, "country = 'DE' AND id > 100", cust.Filter)
	require.Equal(t, []string{"email", "ssn"}, cust.Columns.Keys())
	require.Equal(t, uint32(4242), s.Source.Options.ServerID)
	require.Equal(t, FromDatabase, cust.AddColumns[0].From)
}

func TestDecodeReportsEveryProblemWithItsPath(t *testing.T) {
	t.Parallel()
	doc := `
name: x
tipe: sync
source: {engine: mysql, host: h, port: "3306", user: u, pasword: p}
target: {engine: postgresql, host: h, port: 70000000000000000000, user: u, database: d}
objects:
  shop:
    all: yes-please
    tables:
      t: {filtr: "a = 1"}
parallelism: [1, 2]
`
	got := fieldProblems(t, func() error { _, err := Decode([]byte(doc), DecodeOptions{}); return err }())
	want := []string{
		"tipe: unknown field",
		"source.port: must be a number, not a string",
		"source.pasword: unknown field",
		"target.port: must be a whole number",
		"objects.shop.all: must be true or false",
		"objects.shop.tables.t.filtr: unknown field",
		"parallelism: must be an object, not a list",
	}
	require.Len(t, got, len(want), "%q", got)
	for i := range want {
		require.True(t, strings.HasPrefix(got[i], want[i]), "problem %d: got %q, want prefix %q", i, got[i], want[i])
	}
	require.Contains(t, got[0], "allowed here: alerts, check, ddl, direction")
	require.Contains(t, got[0], "(line 3)")
}

func TestDecodeRefusesHostileDocuments(t *testing.T) {
	t.Parallel()
	bomb := "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\n" +
		"d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
	cases := map[string]struct{ doc, want string }{
		"json duplicate key":  {`{"name": "a", "name": "b"}`, `duplicate key "name"`},
		"yaml duplicate key":  {"name: a\nname: b\n", `duplicate key "name"`},
		"alias bomb":          {bomb, "expands to more than"},
		"deep nesting":        {strings.Repeat("[", 100) + strings.Repeat("]", 100), "nested deeper"},
		"too large":           {"name: " + strings.Repeat("x", MaxDocumentBytes), "the limit is"},
		"json trailing data":  {`{"name": "a"} {}`, "data after"},
		"empty":               {"", "empty"},
		"not an object":       {"- a\n- b\n", "must be an object"},
		"two yaml documents":  {"name: a\n---\nname: b\n", "more than one document"},
		"binary tag":          {"name: !!set {a}\n", "name"},
		"nul in json string":  {"{\"name\": \"a\\u0000b\"}", ""},
		"missing env":         {"name: ${env:DTS_TEST_UNSET_VAR}\n", "environment variable DTS_TEST_UNSET_VAR is not set"},
		"numeric key in yaml": {"? [a]\n: b\n", "plain names"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			s, err := Decode([]byte(c.doc), testEnv(nil))
			if err == nil {
				err = s.Validate()
			}
			require.Error(t, err)
			require.Equal(t, errs.InvalidParameter, errs.CodeOf(err))
			require.Contains(t, err.Error(), c.want)
		})
	}
}

func TestDecodeEnvExpansion(t *testing.T) {
	t.Parallel()
	doc := "name: n\nsource:\n  host: ${env:H}\n  port: ${env:P}\n  password: x${env:PW}y\n"
	s, err := Decode([]byte(doc), testEnv(map[string]string{"H": "db1", "P": "3307", "PW": "$ecret"}))
	require.NoError(t, err)
	require.Equal(t, "db1", s.Source.Host)
	require.Equal(t, 3307, s.Source.Port)
	require.Equal(t, "x$ecrety", s.Source.Password.Reveal())

	// API bodies never read the server's environment.
	s, err = DecodeJSON([]byte(`{"name": "n", "source": {"host": "${env:HOME}"}}`))
	require.NoError(t, err)
	require.Equal(t, "${env:HOME}", s.Source.Host)
	_, err = DecodeJSON([]byte(`{"source": {"port": "${env:P}"}}`))
	require.ErrorContains(t, err, "source.port: must be a number")
}

func TestDecodeYAMLMergeKeys(t *testing.T) {
	t.Parallel()
	doc := `
common: &db {engine: mysql, host: 10.0.0.5, port: 3306, user: dts}
`
	_, err := Decode([]byte(doc), DecodeOptions{})
	require.ErrorContains(t, err, "common: unknown field")

	doc = `
name: merged
type: migration
source: &db {engine: mysql, host: 10.0.0.5, port: 3306, user: dts}
target:
  <<: *db
  host: 10.0.0.6
objects: {shop: {all: true}}
`
	s, err := Decode([]byte(doc), DecodeOptions{})
	require.NoError(t, err)
	require.Equal(t, "10.0.0.6", s.Target.Host)
	require.Equal(t, 3306, s.Target.Port)
	require.NoError(t, s.Validate())
}

func TestSecretNeverPrints(t *testing.T) {
	t.Parallel()
	e := Endpoint{Host: "h", Password: "hunter2"}
	for _, out := range []string{sprintf("%v", e), sprintf("%+v", e), sprintf("%#v", e), sprintf("%s", e.Password), e.Password.String()} {
		require.NotContains(t, out, "hunter2")
	}
	require.Equal(t, "hunter2", e.Password.Reveal())
}
