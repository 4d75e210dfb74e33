package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/dtsorg/dts/internal/errs"
)

// statusOf is the one table from error codes to HTTP statuses. A code not in
// it is looked up by its family (the part before the first dot).
var statusOf = map[string]int{
	errs.InvalidParameter:     http.StatusBadRequest,
	errs.Unauthorized:         http.StatusUnauthorized,
	errs.Forbidden:            http.StatusForbidden,
	errs.JobNotFound:          http.StatusNotFound,
	errs.OperationNotFound:    http.StatusNotFound,
	"CompareNotFound":         http.StatusNotFound,
	"PrecheckNotFound":        http.StatusNotFound,
	"NotFound":                http.StatusNotFound,
	errs.JobAlreadyExists:     http.StatusConflict,
	errs.OperationDenied:      http.StatusConflict,
	errs.OperationDeniedState: http.StatusConflict,
	errs.NotAvailable:         http.StatusNotImplemented,
	"MethodNotAllowed":        http.StatusMethodNotAllowed,
	"RequestTooLarge":         http.StatusRequestEntityTooLarge,
	errs.Throttling:           http.StatusTooManyRequests,
	errs.Internal:             http.StatusInternalServerError,
	errs.Unavailable:          http.StatusServiceUnavailable,
	"Connection":              http.StatusBadGateway, // a database dts needed could not be reached
}

// StatusOf returns the HTTP status of an error code.
func StatusOf(code string) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	if family, _, ok := strings.Cut(code, "."); ok {
		if s, ok := statusOf[family]; ok {
			return s
		}
	}
	return http.StatusInternalServerError
}

// errorBody is the JSON of every error answer.
type errorBody struct {
	Code      string            `json:"code"`
	Message   string            `json:"message"`
	RequestID string            `json:"request_id"`
	Fix       string            `json:"fix,omitempty"`
	Fields    []errs.FieldError `json:"fields,omitempty"`
	Details   map[string]any    `json:"details,omitempty"`
}

// writeError answers with a coded error. Internal errors are logged with their
// cause and answered without it: causes can carry server details.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	body := errorBody{RequestID: requestID(r.Context())}
	var e *errs.Error
	if errors.As(err, &e) && e.Code != errs.Internal {
		body.Code, body.Message, body.Fix, body.Fields, body.Details = e.Code, e.Message, e.Fix, e.Fields, e.Details
	} else {
		body.Code, body.Message = errs.Internal, "internal error; the server log has the details under this request id"
		s.log.ErrorContext(r.Context(), "request failed", "err", err)
	}
	writeJSON(w, StatusOf(body.Code), body)
}
