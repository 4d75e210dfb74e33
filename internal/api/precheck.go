package api

import (
	"net/http"

	"github.com/dtsorg/dts/internal/precheck"
)

// PrecheckView is a job's latest precheck result as the API answers it.
type PrecheckView struct {
	*precheck.Result
	// Current says the result checked the job's current configuration;
	// start runs the precheck again when it did not.
	Current bool `json:"current"`
}

func (s *Server) getPrecheck(w http.ResponseWriter, r *http.Request) {
	res, current, err := s.svc.Precheck(r.Context(), r.PathValue("id"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, PrecheckView{Result: res, Current: current})
}
