package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/compare"
	"github.com/dtsorg/dts/internal/errs"
)

// CompareView is a compare as the API answers it. Report is the compare's
// report (compare.Report) once it ended, its progress while it runs
// (compare.ProgressReport); lists leave it out and give Result, the
// report's status.
type CompareView struct {
	ID         string             `json:"id"`
	JobID      string             `json:"job_id"`
	Type       string             `json:"type"`
	Status     string             `json:"status"`
	Result     string             `json:"result,omitempty"`
	Params     json.RawMessage    `json:"params,omitempty"`
	Report     json.RawMessage    `json:"report,omitempty"`
	Error      *catalog.ErrorInfo `json:"error,omitempty"`
	RepairURL  string             `json:"repair_url,omitempty"`
	StartAt    *time.Time         `json:"start_at,omitempty"`
	StartedAt  *time.Time         `json:"started_at,omitempty"`
	FinishedAt *time.Time         `json:"finished_at,omitempty"`
	CreatedAt  time.Time          `json:"created_at"`
	UpdatedAt  time.Time          `json:"updated_at"`
}

func compareView(c *catalog.Compare, withReport bool) CompareView {
	v := CompareView{ID: c.ID, JobID: c.JobID, Type: c.Type, Status: c.Status, Params: c.Params, Error: c.Error,
		StartAt: timePtr(c.StartAt), StartedAt: timePtr(c.StartedAt), FinishedAt: timePtr(c.FinishedAt),
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
	var head struct {
		Status string          `json:"status"`
		Repair json.RawMessage `json:"repair"`
	}
	if json.Unmarshal(c.Report, &head) == nil {
		if c.Status == catalog.CompareDone {
			v.Result = head.Status
		}
		if len(head.Repair) > 0 && string(head.Repair) != "null" {
			v.RepairURL = compare.RepairPath(c.JobID, c.ID)
		}
	}
	if withReport {
		v.Report = c.Report
	}
	return v
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (s *Server) listCompares(w http.ResponseWriter, r *http.Request) {
	j, err := s.svc.GetJob(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	list, err := s.svc.Store().ListCompares(r.Context(), j.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	views := make([]CompareView, len(list))
	for i, c := range list {
		views[i] = compareView(c, false)
	}
	writeJSON(w, http.StatusOK, map[string]any{"compares": views})
}

// jobCompare returns the compare {cid} of job {id}.
func (s *Server) jobCompare(r *http.Request) (*catalog.Compare, error) {
	j, err := s.svc.GetJob(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	cid := r.PathValue("cid")
	c, err := s.svc.Store().GetCompare(r.Context(), cid)
	if err == nil && c.JobID != j.ID {
		err = errs.New(catalog.CompareNotFound, "job %s has no compare %q", j.Spec.Name, cid)
	}
	return c, err
}

func (s *Server) getCompare(w http.ResponseWriter, r *http.Request) {
	c, err := s.jobCompare(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, compareView(c, true))
}

// compareRepair answers a content compare's repair script as SQL text in
// the target's dialect (empty when nothing needs repair).
func (s *Server) compareRepair(w http.ResponseWriter, r *http.Request) {
	c, err := s.jobCompare(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	j, err := s.svc.GetJob(r.Context(), c.JobID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	script, err := compare.RepairScript(r.Context(), s.svc.Store(), c.ID, j.Spec.Target.Engine)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/sql; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	var b strings.Builder
	for _, stmt := range script {
		b.WriteString(stmt)
		b.WriteString(";\n")
	}
	_, _ = w.Write([]byte(b.String()))
}

// compareHandlers are the compare routes' handlers (Routes lists them).
func (s *Server) compareHandlers() map[string]http.HandlerFunc {
	return map[string]http.HandlerFunc{
		"GET /v1/jobs/{id}/compares":                  s.listCompares,
		"GET /v1/jobs/{id}/compares/{cid}":            s.getCompare,
		"GET /v1/jobs/{id}/compares/{cid}/repair.sql": s.compareRepair,
	}
}
