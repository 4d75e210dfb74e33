package transform

import (
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// Added is an extra target column (add_columns) and where its value comes
// from. Values are produced in the canonical form of Type (internal/value),
// so the sinks write them like any copied value.
type Added struct {
	Name string
	From string // job.FromConstant, FromDatabase, FromTable, FromCommitTime, FromOperation
	// Type is the column's type in the target's dialect, as the user wrote it (Type.Raw).
	Type     schema.Type
	constant []byte // FromConstant: the value in canonical form
}

// compileAdded checks add_columns against the target dialect and the source
// table and returns them. path is the table entry's job file path.
func compileAdded(rule job.TableRule, targetMySQL bool, src *schema.Table, path string) ([]Added, []errs.FieldError) {
	var out []Added
	var problems []errs.FieldError
	for i, a := range rule.AddColumns {
		ap := fmt.Sprintf("%s.add_columns[%d]", path, i)
		t, err := schema.ParseUserType(targetMySQL, a.Type)
		if err != nil {
			problems = append(problems, errs.FieldError{Path: ap + ".type", Message: err.Error()})
			continue
		}
		ad := Added{Name: a.Name, From: a.From, Type: t}
		if err := ad.check(a.Value, src); err != nil {
			problems = append(problems, errs.FieldError{Path: ap, Message: err.Error()})
			continue
		}
		out = append(out, ad)
	}
	return out, problems
}

// check says whether the column's type can hold what it is filled with.
func (a *Added) check(constant string, src *schema.Table) error {
	t := a.Type
	text := t.Kind == schema.KindChar || t.Kind == schema.KindVarChar || t.Kind == schema.KindText
	fits := func(what, v string) error {
		if t.Length > 0 && utf8.RuneCountInString(v) > t.Length {
			return fmt.Errorf("type %s cannot hold the %s %q (%d characters)", t.Raw, what, v, utf8.RuneCountInString(v))
		}
		return nil
	}
	switch a.From {
	case job.FromDatabase, job.FromTable, job.FromOperation:
		if !text {
			return fmt.Errorf("from: %s fills text: use a char, varchar or text type, not %s", a.From, t.Raw)
		}
		switch a.From {
		case job.FromDatabase:
			return fits("source database/schema name", src.Schema)
		case job.FromTable:
			return fits("source table name", src.Name)
		}
		return fits("operation", "insert") // as long as update and delete
	case job.FromCommitTime:
		if t.Kind != schema.KindDateTime && t.Kind != schema.KindTimestamp {
			return fmt.Errorf("from: commit_time fills a point in time: use a datetime or timestamp type, not %s", t.Raw)
		}
		return nil
	case job.FromConstant:
		v, err := canonicalConstant(t, constant)
		if err != nil {
			return fmt.Errorf("value: %w", err)
		}
		a.constant = v
		return nil
	}
	return fmt.Errorf("from: %q is not a source of values", a.From)
}

// Deterministic reports whether the column's value is the same for every
// change of a row (so it can identify a row of a table without a key).
func (a *Added) Deterministic() bool {
	return a.From != job.FromCommitTime && a.From != job.FromOperation
}

// Value is the column's value for a change of src: op and at are the
// source operation and its commit time (the snapshot's time in a full load).
// A delete fills nothing: the caller never writes it.
func (a *Added) Value(src *schema.Table, op change.Op, at time.Time) []byte {
	switch a.From {
	case job.FromDatabase:
		return []byte(src.Schema)
	case job.FromTable:
		return []byte(src.Name)
	case job.FromOperation:
		return []byte(op.String())
	case job.FromCommitTime:
		if at.IsZero() {
			return nil
		}
		return timeValue(at.UTC(), a.Type.FSP)
	}
	return a.constant
}

// timeValue is t's canonical datetime/timestamp form, truncated to fsp digits.
func timeValue(t time.Time, fsp int) []byte {
	t = t.Truncate(time.Duration(pow10(9 - fsp)))
	b := t.AppendFormat(nil, "2006-01-02 15:04:05.999999")
	return b
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}

var (
	decimalRE  = regexp.MustCompile(`^([+-]?)(\d+)(?:\.(\d+))?$`)
	dateTimeRE = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2}(\.\d{1,6})?)?$`)
)

// canonicalConstant checks a constant against its column type and returns
// it in canonical form.
func canonicalConstant(t schema.Type, v string) ([]byte, error) {
	switch {
	case t.IsInteger():
		bits := map[schema.Kind]int{schema.KindInt8: 8, schema.KindInt16: 16, schema.KindInt24: 24, schema.KindInt32: 32, schema.KindInt64: 64}[t.Kind]
		if t.Unsigned {
			n, err := strconv.ParseUint(v, 10, bits)
			if err != nil {
				return nil, fmt.Errorf("%q is not an integer from 0 to %d", v, uint64(1)<<bits-1)
			}
			return strconv.AppendUint(nil, n, 10), nil
		}
		n, err := strconv.ParseInt(v, 10, bits)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer that %s holds", v, t.Raw)
		}
		return strconv.AppendInt(nil, n, 10), nil
	case t.Kind == schema.KindDecimal:
		m := decimalRE.FindStringSubmatch(v)
		if m == nil {
			return nil, fmt.Errorf("%q is not a decimal number such as -12.5", v)
		}
		r, _ := new(big.Rat).SetString(v)
		scale := t.Scale
		if t.Precision == 0 {
			scale = len(m[3])
		} else if len(m[3]) > t.Scale || len(strings.TrimLeft(m[2], "0")) > t.Precision-t.Scale {
			return nil, fmt.Errorf("%q does not fit %s", v, t.Raw)
		}
		return []byte(r.FloatString(scale)), nil
	case t.Kind == schema.KindChar || t.Kind == schema.KindVarChar || t.Kind == schema.KindText:
		if !utf8.ValidString(v) || strings.ContainsRune(v, 0) {
			return nil, fmt.Errorf("must be UTF-8 text without NUL")
		}
		if t.Length > 0 && utf8.RuneCountInString(v) > t.Length {
			return nil, fmt.Errorf("%q is longer than %s holds", v, t.Raw)
		}
		return []byte(v), nil
	case t.Kind == schema.KindBool:
		switch strings.ToLower(v) {
		case "true", "1":
			return []byte("1"), nil
		case "false", "0":
			return []byte("0"), nil
		}
		return nil, fmt.Errorf("%q is not true or false", v)
	case t.Kind == schema.KindDate, t.Kind == schema.KindDateTime, t.Kind == schema.KindTimestamp:
		if !dateTimeRE.MatchString(v) || t.Kind == schema.KindDate && len(v) != 10 {
			return nil, fmt.Errorf("%q is not a %s such as 2024-01-31 or 2024-01-31 12:00:00", v, t.Kind)
		}
		layout := "2006-01-02 15:04:05.999999"
		if len(v) == 10 {
			layout = "2006-01-02"
		}
		tm, err := time.Parse(layout, v)
		if err != nil {
			return nil, fmt.Errorf("%q is not a valid date or time", v)
		}
		if t.Kind == schema.KindDate {
			return []byte(v), nil
		}
		return timeValue(tm, t.FSP), nil
	}
	return nil, fmt.Errorf("a constant of type %s is not supported", t.Raw)
}

// appendAdded appends the added columns' values for one change to row.
func appendAdded(row value.Row, added []Added, src *schema.Table, op change.Op, at time.Time) value.Row {
	for i := range added {
		row = append(row, added[i].Value(src, op, at))
	}
	return row
}
