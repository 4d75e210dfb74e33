package job

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/errs"
)

// TestApplyEveryStateAction pins the whole lifecycle: for every (state,
// action) pair, the state the job moves to, "=" for allowed without a state
// change, or "-" for refused.
func TestApplyEveryStateAction(t *testing.T) {
	t.Parallel()
	cols := []Action{ActionPrecheck, ActionTestConnection, ActionStart, ActionStop, ActionResume, ActionReset, ActionSkipPrecheck, ActionCreateCompare, ActionCancelCompare, ActionDelete, ActionSkipDDL, ActionUpdate, ActionAddObjects}
	// precheck test_conn start stop resume reset skip create_cmp cancel_cmp delete skip_ddl update add_objects
	matrix := map[State][]string{
		StateCreated:        {"prechecking", "=", "prechecking", "-", "-", "created", "=", "=", "=", "=", "-", "created", "-"},
		StatePrechecking:    {"-", "=", "-", "-", "-", "-", "-", "-", "=", "=", "-", "-", "-"},
		StatePrecheckPassed: {"prechecking", "=", "prechecking", "-", "-", "created", "=", "=", "=", "=", "-", "created", "-"},
		StatePrecheckFailed: {"prechecking", "=", "-", "-", "-", "created", "=", "=", "=", "=", "-", "created", "-"},
		StateRunning:        {"-", "=", "-", "=", "-", "-", "-", "=", "=", "=", "-", "-", "="},
		StatePaused:         {"-", "=", "-", "-", "running", "created", "-", "=", "=", "=", "running", "-", "="},
		StateCompleted:      {"-", "=", "-", "-", "-", "created", "-", "=", "=", "=", "-", "-", "-"},
		StateFailed:         {"-", "=", "-", "-", "running", "created", "-", "=", "=", "=", "-", "-", "-"},
	}
	require.Len(t, matrix, len(States))
	require.ElementsMatch(t, cols, Actions)
	for _, s := range States {
		row := matrix[s]
		require.Len(t, row, len(cols), s)
		for i, a := range cols {
			got, err := Apply(s, a)
			switch want := row[i]; want {
			case "-":
				require.Error(t, err, "%s in %s", a, s)
				require.Equal(t, errs.OperationDeniedState, errs.CodeOf(err))
				require.Contains(t, err.Error(), "while the job is "+string(s), "the error names the state")
				require.Equal(t, s, got)
			case "=":
				require.NoError(t, err, "%s in %s", a, s)
				require.Equal(t, s, got, "%s in %s", a, s)
			default:
				require.NoError(t, err, "%s in %s", a, s)
				require.Equal(t, State(want), got, "%s in %s", a, s)
			}
		}
	}
}

func TestApplyEventEveryState(t *testing.T) {
	t.Parallel()
	events := []Event{EventPrecheckPassed, EventPrecheckFailed, EventStarted, EventPaused, EventCompleted, EventFailed}
	matrix := map[State][]string{
		StateCreated:        {"-", "-", "running", "-", "-", "-"},
		StatePrechecking:    {"precheck_passed", "precheck_failed", "running", "-", "-", "failed"},
		StatePrecheckPassed: {"-", "-", "running", "-", "-", "-"},
		StatePrecheckFailed: {"precheck_passed", "-", "-", "-", "-", "-"},
		StateRunning:        {"-", "-", "-", "paused", "completed", "failed"},
		StatePaused:         {"-", "-", "-", "-", "-", "-"},
		StateCompleted:      {"-", "-", "-", "-", "-", "-"},
		StateFailed:         {"-", "-", "-", "-", "-", "-"},
	}
	for _, s := range States {
		for i, e := range events {
			got, err := ApplyEvent(s, e)
			if want := matrix[s][i]; want == "-" {
				require.Error(t, err, "%s in %s", e, s)
				require.Equal(t, errs.OperationDeniedState, errs.CodeOf(err))
			} else {
				require.NoError(t, err, "%s in %s", e, s)
				require.Equal(t, State(want), got, "%s in %s", e, s)
			}
		}
	}
}

func TestDeleteNeedsForceWhileWorking(t *testing.T) {
	t.Parallel()
	for _, s := range States {
		require.Equal(t, s == StateRunning || s == StatePrechecking, NeedsForce(s), s)
	}
}

func TestParseAction(t *testing.T) {
	t.Parallel()
	a, err := ParseAction("skip_precheck")
	require.NoError(t, err)
	require.Equal(t, ActionSkipPrecheck, a)
	for _, bad := range []string{"", "update", "START", "drop"} {
		_, err := ParseAction(bad)
		require.Error(t, err, bad)
		require.True(t, strings.Contains(err.Error(), "allowed: precheck, test_connection"), err.Error())
	}
}
