package job

import (
	"fmt"
	"slices"
	"strings"

	"github.com/dtsorg/dts/internal/errs"
)

// State is where a job is in its lifecycle (SPEC §2).
type State string

const (
	StateCreated        State = "created"
	StatePrechecking    State = "prechecking"
	StatePrecheckPassed State = "precheck_passed"
	StatePrecheckFailed State = "precheck_failed"
	StateRunning        State = "running"
	StatePaused         State = "paused"
	StateCompleted      State = "completed"
	StateFailed         State = "failed"
)

// States lists every state in lifecycle order.
var States = []State{StateCreated, StatePrechecking, StatePrecheckPassed, StatePrecheckFailed, StateRunning, StatePaused, StateCompleted, StateFailed}

// Action is something a user asks of one job.
type Action string

const (
	ActionPrecheck       Action = "precheck"
	ActionTestConnection Action = "test_connection"
	ActionStart          Action = "start"
	ActionStop           Action = "stop"
	ActionResume         Action = "resume"
	ActionReset          Action = "reset"
	ActionSkipPrecheck   Action = "skip_precheck"
	ActionCreateCompare  Action = "create_compare"
	ActionCancelCompare  Action = "cancel_compare"
	ActionDelete         Action = "delete"
	// ActionSkipDDL resumes a job paused at a schema change the target
	// could not take, recording the change as applied without running it.
	ActionSkipDDL Action = "skip_ddl"
	// ActionUpdate replaces the job's configuration (PUT /v1/jobs/{id}).
	ActionUpdate Action = "update"
	// ActionAddObjects adds tables to the objects of a started job: they
	// are created, copied from a snapshot of their own and then followed.
	ActionAddObjects Action = "add_objects"
)

// Actions lists every action.
var Actions = []Action{ActionPrecheck, ActionTestConnection, ActionStart, ActionStop, ActionResume, ActionReset, ActionSkipPrecheck, ActionCreateCompare, ActionCancelCompare, ActionDelete, ActionSkipDDL, ActionUpdate, ActionAddObjects}

// Event is something the system reports about a job: the outcome of work an
// action started.
type Event string

const (
	EventPrecheckPassed Event = "precheck_passed"
	EventPrecheckFailed Event = "precheck_failed"
	EventStarted        Event = "started"   // a start's precheck passed: the job runs
	EventPaused         Event = "paused"    // a stop finished with a checkpoint, or a schema change the target cannot take paused it
	EventCompleted      Event = "completed" // a migration without incremental finished
	EventFailed         Event = "failed"
)

// rule is one row of the transition table: from any of From, the action or
// event leads to To. An empty To leaves the state as it is.
type rule struct {
	From []State
	To   State
}

var anyState = States

// actionTable is the lifecycle for user actions. Actions that start work
// (precheck, start) lead to the state the work runs in; its outcome arrives
// as an Event.
var actionTable = map[Action]rule{
	ActionPrecheck:       {From: []State{StateCreated, StatePrecheckPassed, StatePrecheckFailed}, To: StatePrechecking},
	ActionStart:          {From: []State{StateCreated, StatePrecheckPassed}, To: StatePrechecking},
	ActionStop:           {From: []State{StateRunning}},
	ActionResume:         {From: []State{StatePaused, StateFailed}, To: StateRunning},
	ActionReset:          {From: []State{StateCreated, StatePrecheckPassed, StatePrecheckFailed, StatePaused, StateCompleted, StateFailed}, To: StateCreated},
	ActionSkipPrecheck:   {From: []State{StateCreated, StatePrecheckPassed, StatePrecheckFailed}},
	ActionTestConnection: {From: anyState},
	ActionCreateCompare:  {From: []State{StateCreated, StatePrecheckPassed, StatePrecheckFailed, StateRunning, StatePaused, StateCompleted, StateFailed}},
	ActionCancelCompare:  {From: anyState},
	ActionDelete:         {From: anyState},
	ActionSkipDDL:        {From: []State{StatePaused}, To: StateRunning},
	ActionUpdate:         {From: []State{StateCreated, StatePrecheckPassed, StatePrecheckFailed}, To: StateCreated},
	ActionAddObjects:     {From: []State{StateRunning, StatePaused}},
}

// eventTable is the lifecycle for system events.
var eventTable = map[Event]rule{
	EventPrecheckPassed: {From: []State{StatePrechecking, StatePrecheckFailed}, To: StatePrecheckPassed}, // also: every failed item skipped
	EventPrecheckFailed: {From: []State{StatePrechecking}, To: StatePrecheckFailed},
	EventStarted:        {From: []State{StatePrechecking, StateCreated, StatePrecheckPassed}, To: StateRunning},
	EventPaused:         {From: []State{StateRunning}, To: StatePaused},
	EventCompleted:      {From: []State{StateRunning}, To: StateCompleted},
	EventFailed:         {From: []State{StateRunning, StatePrechecking}, To: StateFailed},
}

// forceStates are the states in which delete needs force: work is under way.
var forceStates = []State{StatePrechecking, StateRunning}

// ParseAction returns the action named s.
func ParseAction(s string) (Action, error) {
	a := Action(s)
	if _, ok := actionTable[a]; ok && a != ActionUpdate {
		return a, nil
	}
	names := make([]string, 0, len(Actions))
	for _, a := range Actions {
		if a != ActionUpdate {
			names = append(names, string(a))
		}
	}
	return "", errs.Invalid([]errs.FieldError{{Path: "action", Message: fmt.Sprintf("%q is not an action; allowed: %s", clip(s), strings.Join(names, ", "))}})
}

// Apply checks action against the transition table and returns the state the
// job moves to (the current one for actions that do not change it). A refused
// action is an OperationDenied.JobState error naming the current state and the
// states the action is allowed in.
func Apply(current State, a Action) (State, error) {
	r, ok := actionTable[a]
	if !ok {
		return current, errs.New(errs.InvalidParameter, "unknown action %q", a)
	}
	if !slices.Contains(r.From, current) {
		return current, denied(current, string(a), r.From)
	}
	if r.To == "" {
		return current, nil
	}
	return r.To, nil
}

// ApplyEvent checks a system event against the transition table.
func ApplyEvent(current State, e Event) (State, error) {
	r, ok := eventTable[e]
	if !ok {
		return current, errs.New(errs.Internal, "unknown event %q", e)
	}
	if !slices.Contains(r.From, current) {
		return current, denied(current, string(e), r.From)
	}
	return r.To, nil
}

// NeedsForce reports whether deleting a job in state s needs the force flag.
func NeedsForce(s State) bool { return slices.Contains(forceStates, s) }

// Started reports whether a job in state s has started moving data, so its
// configuration can no longer be replaced.
func Started(s State) bool {
	return s == StateRunning || s == StatePaused || s == StateCompleted || s == StateFailed
}

func denied(current State, what string, allowed []State) error {
	names := make([]string, len(allowed))
	for i, s := range allowed {
		names[i] = string(s)
	}
	return errs.New(errs.OperationDeniedState, "%s is not allowed while the job is %s; it is allowed in: %s", what, current, strings.Join(names, ", ")).
		WithDetail("state", string(current)).
		WithDetail("allowed_states", names)
}
