package catalogtest

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
)

// Passwords distinctive enough that finding one in the raw bytes can only
// mean it was stored in plaintext.
const (
	sourcePassword = "src-pw-7Hq2-plaintext"
	targetPassword = "tgt-pw-Kx9w-plaintext"
)

// specJSON is a job file with every part a store could get wrong: passwords,
// objects whose keys are deliberately out of alphabetical order, nested maps,
// pointers that are set, unicode.
const specJSON = `{
  "name": %q, "type": "sync",
  "source": {"engine": "mysql", "host": "db1.example", "port": 3306, "user": "dts", "password": %q,
             "tls": {"mode": "verify-full", "ca": "/etc/ca.pem"}, "options": {"server_id": 4242, "time_zone": "+05:30"}},
  "target": {"engine": "postgresql", "host": "db2.example", "port": 5432, "user": "postgres", "password": %q,
             "database": "warehouse", "options": {"existing_tables": "truncate", "batch_rows": 500}},
  "phases": {"structure": true, "full": true, "incremental": true},
  "objects": {
    "zeta": {"all": true},
    "alpha": {"name": "alpha_copy", "tables": {"orders": {"filter": "note <> 'héllo ✓'",
      "columns": {"z_col": {"name": "zz"}, "a_col": {"exclude": true}},
      "add_columns": [{"name": "src", "type": "text", "from": "constant", "value": "x"}]}}},
    "crm_*": {"name": "crm"}
  },
  "rename_rule": {"prefix": "p_", "suffix": ""},
  "ddl": ["create_table", "alter_table"],
  "parallelism": {"min": 2, "max": 8},
  "alerts": {"delay": {"threshold_seconds": 10, "for_seconds": 60}, "error": true, "webhooks": ["http://127.0.0.1:9000/hook"]},
  "check": {"full": {"mode": "rows", "sample_percent": 12.5, "max_hours": 1.5}, "incremental": {"enabled": true}},
  "direction": "forward"
}`

func newSpec(t *testing.T, name string) *job.Spec {
	t.Helper()
	s, err := job.DecodeJSON(fmt.Appendf(nil, specJSON, name, sourcePassword, targetPassword))
	require.NoError(t, err)
	return s
}

func newJob(t *testing.T, id, name string) *catalog.Job {
	return &catalog.Job{
		ID:          id,
		Spec:        newSpec(t, name),
		State:       job.StateCreated,
		StateReason: "created by the suite",
		Status:      json.RawMessage(`{"phase":"none","n":0}`),
	}
}

func createJob(t *testing.T, s catalog.Store, id, name string) *catalog.Job {
	t.Helper()
	j := newJob(t, id, name)
	require.NoError(t, s.CreateJob(t.Context(), j))
	return j
}

func specText(t *testing.T, s *job.Spec) string {
	t.Helper()
	b, err := json.Marshal(s) // passwords included: Secret marshals its value
	require.NoError(t, err)
	return string(b)
}

// requireSameJob compares everything a store keeps. JSON columns compare as
// JSON (a store may normalise whitespace), the spec as exact text (key order
// of objects is meaningful), times exactly.
func requireSameJob(t *testing.T, want, got *catalog.Job) {
	t.Helper()
	require.NotNil(t, got)
	require.Equal(t, want.ID, got.ID)
	require.Equal(t, specText(t, want.Spec), specText(t, got.Spec))
	require.Equal(t, want.State, got.State)
	require.Equal(t, want.StateReason, got.StateReason)
	require.Equal(t, want.Error, got.Error)
	requireSameJSON(t, want.Status, got.Status)
	require.Equal(t, want.Version, got.Version)
	requireTime(t, want.CreatedAt, got.CreatedAt)
	requireTime(t, want.UpdatedAt, got.UpdatedAt)
}

func requireSameJSON(t *testing.T, want, got json.RawMessage) {
	t.Helper()
	if want == nil {
		require.Nil(t, got)
		return
	}
	require.JSONEq(t, string(want), string(got))
}

// requireTime checks got is want, in UTC.
func requireTime(t *testing.T, want, got time.Time) {
	t.Helper()
	require.Equal(t, time.UTC, got.Location(), "times come back in UTC")
	require.True(t, want.Equal(got), "want %s, got %s", want.Format(time.RFC3339Nano), got.Format(time.RFC3339Nano))
}

// requireStoreTime checks a time the store set: UTC, whole microseconds,
// between before and now.
func requireStoreTime(t *testing.T, before, got time.Time) {
	t.Helper()
	require.Equal(t, time.UTC, got.Location())
	require.Zero(t, got.Nanosecond()%1000, "microsecond precision")
	require.False(t, got.Before(before.Truncate(time.Microsecond)), "set before the call: %s < %s", got, before)
	require.False(t, got.After(time.Now()), "set in the future: %s", got)
}

func requireCode(t *testing.T, code string, err error) {
	t.Helper()
	require.Error(t, err)
	require.Equal(t, code, errs.CodeOf(err), "error: %v", err)
}
