package api

import (
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"

	"github.com/dtsorg/dts/internal/errs"
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
