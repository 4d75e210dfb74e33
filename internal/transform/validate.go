package transform

import (
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/filter"
	"github.com/dtsorg/dts/internal/job"
)

// ValidateSpec is job.Spec.Validate and, for every row filter, filter's
// checks that need no table: its text, grammar and allow-list in the
// source's dialect, so that a hostile filter is refused naming the
// offending part before the job exists. (Columns and types are checked
// against the tables at precheck and when the job starts.) Every place a
// job file or API body is accepted calls it.
func ValidateSpec(s *job.Spec) error {
	var fields []errs.FieldError
	if err := s.Validate(); err != nil {
		e, ok := errs.As(err)
		if !ok || e.Code != errs.InvalidParameter {
			return err
		}
		fields = e.Fields
	}
	bad := map[string]bool{}
	for _, f := range fields {
		bad[f.Path] = true
	}
	if d, ok := filter.ParseDialect(string(s.Source.Engine)); ok {
		for _, db := range s.Objects {
			for _, t := range db.Value.Tables {
				path := entryPath(db.Key, t.Key) + ".filter"
				if t.Value.Filter == "" || bad[path] {
					continue
				}
				if err := filter.Validate(string(d), t.Value.Filter); err != nil {
					fields = append(fields, errs.FieldError{Path: path, Message: message(err)})
				}
			}
		}
	}
	if len(fields) == 0 {
		return nil
	}
	return errs.Invalid(fields)
}
