// Package errs defines dts's coded errors: every error a user can act on carries
// a stable code, a message, and, where one exists, the fix. Codes are part of the
// outside contract (API answers, CLI exit output, job events); the API maps them
// to HTTP statuses in one table (internal/api).
//
// Classify errors by code with [CodeOf], never by matching text.
package errs

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Stable codes. A code may have a dotted suffix that narrows it
// (InvalidParameter.Objects); callers that only know the family match the prefix.
const (
	InvalidParameter     = "InvalidParameter"
	JobNotFound          = "JobNotFound"
	JobAlreadyExists     = "JobAlreadyExists"
	OperationNotFound    = "OperationNotFound"
	OperationDenied      = "OperationDenied"
	OperationDeniedState = "OperationDenied.JobState"
	NotAvailable         = "OperationDenied.NotAvailable"
	Unauthorized         = "Unauthorized"
	Forbidden            = "Forbidden"
	Throttling           = "Throttling"
	Internal             = "Internal"
	Unavailable          = "Unavailable"
)

// Error is a coded error. Message is shown to users as is, so it must never
// carry a secret; Fix says what the user can do about it.
type Error struct {
	Code    string
	Message string
	Fix     string
	// Fields lists field-level problems for InvalidParameter errors.
	Fields []FieldError
	// Details is extra machine-readable context (state names, positions...).
	Details map[string]any
	// Err is the underlying cause: logged, never shown to API clients for Internal errors.
	Err error
}

// FieldError is one problem with one field of a request or job file.
type FieldError struct {
	Path    string `json:"path"`
	Message string `json:"message"`
}

func (f FieldError) Error() string {
	if f.Path == "" {
		return f.Message
	}
	return f.Path + ": " + f.Message
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Code)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	for _, f := range e.Fields {
		if len(e.Fields) == 1 {
			break // the message is the one field problem
		}
		b.WriteString("\n  ")
		b.WriteString(f.Error())
	}
	if e.Fix != "" {
		b.WriteString(" (fix: ")
		b.WriteString(e.Fix)
		b.WriteString(")")
	}
	if e.Err != nil && e.Code != Internal {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// New returns a coded error with a formatted message.
func New(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns a coded error whose cause is err.
func Wrap(err error, code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// WithFix sets the instruction a user follows to fix the problem.
func (e *Error) WithFix(format string, args ...any) *Error {
	e.Fix = fmt.Sprintf(format, args...)
	return e
}

// WithDetail adds one machine-readable detail.
func (e *Error) WithDetail(key string, value any) *Error {
	if e.Details == nil {
		e.Details = map[string]any{}
	}
	e.Details[key] = value
	return e
}

// Invalid returns an InvalidParameter error listing every field problem.
func Invalid(fields []FieldError) *Error {
	msg := fmt.Sprintf("%d problem(s) in the request", len(fields))
	if len(fields) == 1 {
		msg = fields[0].Error()
	}
	return &Error{Code: InvalidParameter, Message: msg, Fields: fields}
}

// CodeOf returns the code of the first coded error in err's chain, or Internal.
func CodeOf(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// As returns the first coded error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Is reports whether err carries code, or a code in code's family
// (Is(err, "OperationDenied") matches "OperationDenied.JobState").
func Is(err error, code string) bool {
	c := CodeOf(err)
	return c == code || strings.HasPrefix(c, code+".")
}

// MarshalJSON writes what users may see: code, message, fix, fields and
// details. The cause (Err) is never serialised: driver errors can carry
// server internals.
func (e *Error) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Fix     string         `json:"fix,omitempty"`
		Fields  []FieldError   `json:"fields,omitempty"`
		Details map[string]any `json:"details,omitempty"`
	}{e.Code, e.Message, e.Fix, e.Fields, e.Details})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (e *Error) UnmarshalJSON(b []byte) error {
	var w struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Fix     string         `json:"fix"`
		Fields  []FieldError   `json:"fields"`
		Details map[string]any `json:"details"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	*e = Error{Code: w.Code, Message: w.Message, Fix: w.Fix, Fields: w.Fields, Details: w.Details}
	return nil
}
