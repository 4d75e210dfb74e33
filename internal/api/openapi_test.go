package api

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/runner"
)

// TestOpenAPIDescribesEveryRoute keeps the document and the server in step:
// every route served is documented and every documented route is served.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	t.Parallel()
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	require.NoError(t, yaml.Unmarshal(OpenAPI, &doc))
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			documented = append(documented, strings.ToUpper(method)+" "+path)
		}
	}
	served := append([]string(nil), Routes...)
	sort.Strings(documented)
	sort.Strings(served)
	require.Equal(t, served, documented)
}

func TestStatusTable(t *testing.T) {
	t.Parallel()
	for code, want := range map[string]int{
		errs.InvalidParameter:         http.StatusBadRequest,
		"InvalidParameter.Objects":    http.StatusBadRequest,
		errs.Unauthorized:             http.StatusUnauthorized,
		errs.JobNotFound:              http.StatusNotFound,
		errs.OperationDeniedState:     http.StatusConflict,
		"OperationDenied.TargetOwned": http.StatusConflict,
		errs.NotAvailable:             http.StatusNotImplemented,
		errs.Throttling:               http.StatusTooManyRequests,
		errs.Internal:                 http.StatusInternalServerError,
		"SomethingNew":                http.StatusInternalServerError,
	} {
		require.Equal(t, want, StatusOf(code), code)
	}
}

// TestOpenAPIDescribesJobStatus keeps the JobStatus schema and the status
// document the runner publishes in step, field for field.
func TestOpenAPIDescribesJobStatus(t *testing.T) {
	t.Parallel()
	var doc struct {
		Components struct {
			Schemas map[string]schemaDoc `yaml:"schemas"`
		} `yaml:"components"`
	}
	require.NoError(t, yaml.Unmarshal(OpenAPI, &doc))
	documented := doc.Components.Schemas["JobStatus"]
	var published map[string]any
	full := runner.Status{Incremental: &runner.IncrementalStatus{}, Tables: []runner.TableStatus{{}}, Warnings: []string{"w"}, Snapshot: "x"}
	b, err := json.Marshal(full)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &published))
	require.ElementsMatch(t, keys(documented.Properties), keys(published))
	require.ElementsMatch(t, keys(documented.Properties["incremental"].Properties), keys(published["incremental"].(map[string]any)))
	require.ElementsMatch(t, keys(documented.Properties["tables"].Items.Properties), keys(published["tables"].([]any)[0].(map[string]any)))
}

type schemaDoc struct {
	Properties map[string]schemaDoc `yaml:"properties"`
	Items      *schemaDoc           `yaml:"items"`
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
