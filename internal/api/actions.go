package api

import (
	"net/http"

	"github.com/dtsorg/dts/internal/job"
)

func (s *Server) action(w http.ResponseWriter, r *http.Request) {
	data, err := readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req ActionRequest
	if err := job.DecodeInto(data, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	out, err := s.svc.Act(r.Context(), r.PathValue("id"), req.Action, req.Params)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	resp := ActionResponse{Action: string(out.Action), JobID: out.Job.ID, State: out.Job.State, Result: out.Result}
	status := http.StatusOK
	if out.Operation != nil {
		op := operationView(out.Operation)
		resp.Operation = &op
		status = http.StatusAccepted
		w.Header().Set("Location", "/v1/operations/"+op.ID)
	}
	if out.Action == job.ActionDelete {
		resp.State = ""
	}
	writeJSON(w, status, resp)
}

func (s *Server) getOperation(w http.ResponseWriter, r *http.Request) {
	op, err := s.svc.GetOperation(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, operationView(op))
}

func (s *Server) operations(w http.ResponseWriter, r *http.Request) {
	j, err := s.svc.GetJob(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ops, err := s.svc.Store().ListOperations(r.Context(), j.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	views := make([]OperationView, len(ops))
	for i, op := range ops {
		views[i] = operationView(op)
	}
	writeJSON(w, http.StatusOK, map[string]any{"operations": views})
}

func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	after, err := intQuery(r, "after", 0, 0, 1<<62)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit, err := intQuery(r, "limit", 100, 1, 1000)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	events, err := s.svc.Events(r.Context(), r.PathValue("id"), after, int(limit))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	views := make([]EventView, len(events))
	next := after
	for i, e := range events {
		views[i] = EventView{ID: e.ID, At: e.At, Level: e.Level, Type: e.Type, Message: e.Message, Details: e.Details}
		next = e.ID
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": views, "next_after": next})
}

func (s *Server) testConnection(w http.ResponseWriter, r *http.Request) {
	data, err := readBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var e job.Endpoint
	if err := job.DecodeInto(data, &e); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.svc.TestConnection(r.Context(), e)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}
