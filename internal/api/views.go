package api

import (
	"encoding/json"
	"time"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/job"
)

// JobView is a job as the API answers it: the spec without passwords.
type JobView struct {
	ID          string             `json:"id"`
	Name        string             `json:"name"`
	Type        job.Type           `json:"type"`
	State       job.State          `json:"state"`
	StateReason string             `json:"state_reason,omitempty"`
	Error       *catalog.ErrorInfo `json:"error,omitempty"`
	Status      json.RawMessage    `json:"status,omitempty"`
	Spec        SpecView           `json:"spec"`
	Version     int64              `json:"version"`
	CreatedAt   time.Time          `json:"created_at"`
	UpdatedAt   time.Time          `json:"updated_at"`
}

// SpecView is a job spec whose endpoints say whether a password is set
// instead of carrying it: passwords are write-only.
type SpecView struct {
	*job.Spec
	Source EndpointView `json:"source"`
	Target EndpointView `json:"target"`
}

// EndpointView is an endpoint without its password.
type EndpointView struct {
	job.Endpoint
	PasswordSet bool `json:"password_set"`
}

// ViewOf returns the API view of an endpoint.
func ViewOf(e job.Endpoint) EndpointView {
	v := EndpointView{Endpoint: e, PasswordSet: e.Password != ""}
	v.Password = ""
	return v
}

func jobView(j *catalog.Job) JobView {
	return JobView{
		ID: j.ID, Name: j.Spec.Name, Type: j.Spec.Type, State: j.State, StateReason: j.StateReason,
		Error: j.Error, Status: j.Status, Version: j.Version, CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt,
		Spec: SpecView{Spec: j.Spec, Source: ViewOf(j.Spec.Source), Target: ViewOf(j.Spec.Target)},
	}
}

// OperationView is an operation as the API answers it.
type OperationView struct {
	ID        string             `json:"id"`
	JobID     string             `json:"job_id"`
	Action    string             `json:"action"`
	Status    string             `json:"status"`
	Result    json.RawMessage    `json:"result,omitempty"`
	Error     *catalog.ErrorInfo `json:"error,omitempty"`
	CreatedAt time.Time          `json:"created_at"`
	UpdatedAt time.Time          `json:"updated_at"`
}

func operationView(op *catalog.Operation) OperationView {
	return OperationView{ID: op.ID, JobID: op.JobID, Action: op.Action, Status: op.Status, Result: op.Result,
		Error: op.Error, CreatedAt: op.CreatedAt, UpdatedAt: op.UpdatedAt}
}

// EventView is a job event as the API answers it.
type EventView struct {
	ID      int64          `json:"id"`
	At      time.Time      `json:"at"`
	Level   string         `json:"level"`
	Type    string         `json:"type"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

// ActionRequest is the body of POST /v1/jobs/{id}/action.
type ActionRequest struct {
	Action string          `json:"action"`
	Params json.RawMessage `json:"params,omitempty"`
}

// ActionResponse answers an action: Result for a synchronous one, Operation
// (with 202) for an asynchronous one.
type ActionResponse struct {
	Action    string         `json:"action"`
	JobID     string         `json:"job_id"`
	State     job.State      `json:"state"`
	Result    any            `json:"result,omitempty"`
	Operation *OperationView `json:"operation,omitempty"`
}
