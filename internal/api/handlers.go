package api

import (
	"net/http"
	"strconv"

	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
)

func (s *Server) createJob(w http.ResponseWriter, r *http.Request) {
	spec, err := s.decodeSpec(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	j, err := s.svc.CreateJob(r.Context(), spec)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", "/v1/jobs/"+j.ID)
	writeJSON(w, http.StatusCreated, jobView(j))
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) {
	jobs, err := s.svc.ListJobs(r.Context())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	views := make([]JobView, len(jobs))
	for i, j := range jobs {
		views[i] = jobView(j)
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": views})
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	j, err := s.svc.GetJob(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, jobView(j))
}

func (s *Server) updateJob(w http.ResponseWriter, r *http.Request) {
	spec, err := s.decodeSpec(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	j, err := s.svc.UpdateJob(r.Context(), r.PathValue("id"), spec)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, jobView(j))
}

func (s *Server) deleteJob(w http.ResponseWriter, r *http.Request) {
	force, err := boolQuery(r, "force")
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := s.svc.DeleteJob(r.Context(), r.PathValue("id"), force); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) decodeSpec(r *http.Request) (*job.Spec, error) {
	data, err := readBody(r)
	if err != nil {
		return nil, err
	}
	return job.DecodeJSON(data)
}

func boolQuery(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, errs.Invalid([]errs.FieldError{{Path: name, Message: "must be true or false"}})
	}
	return b, nil
}

func intQuery(r *http.Request, name string, def, lo, hi int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, errs.Invalid([]errs.FieldError{{Path: name, Message: "must be a whole number from " + strconv.FormatInt(lo, 10) + " to " + strconv.FormatInt(hi, 10)}})
	}
	return n, nil
}
