package filter

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/dtsorg/dts/internal/schema"
)

// Dates and times compare as points in time, never as text (canonical text
// orders wrongly across BC years, 5-digit PostgreSQL years, negative MySQL
// TIME values and hours beyond 99).
//
// A DATE compares with a DATETIME/TIMESTAMP as its midnight, as both engines
// do. TIMESTAMP values are UTC instants (canonical form) and literals
// compared with them are read as UTC, the time zone of every dts session.

// tval is a temporal value: an infinity, or a year and the microseconds
// since that year's start on a calendar of 13 months of 32 days (only the
// order matters, and MySQL's zero dates 0000-00-00 and 2024-00-15 fit it).
type tval struct {
	inf  int8 // -1, 0, 1
	year int64
	rest int64
}

func (a tval) compare(b tval) int {
	switch {
	case a.inf != b.inf:
		return cmp3(int(a.inf), int(b.inf))
	case a.inf != 0:
		return 0
	case a.year != b.year:
		return cmp3Int64(a.year, b.year)
	}
	return cmp3Int64(a.rest, b.rest)
}

func cmp3Int64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

const usPerDay = 86400 * 1_000_000

func dateTime(y int64, mo, d int, us int64) tval {
	return tval{year: y, rest: (int64(mo)*32+int64(d))*usPerDay + us}
}

// parseCanonicalTemporal reads a column's canonical value of kind k.
func parseCanonicalTemporal(k schema.Kind, b []byte) (tval, error) {
	s := string(b)
	switch s {
	case "infinity":
		return tval{inf: 1}, nil
	case "-infinity":
		return tval{inf: -1}, nil
	}
	var t tval
	var err error
	switch k {
	case schema.KindTime:
		t, err = parseTime(s, 1<<20)
	case schema.KindDate:
		t, err = parseDate(s)
	default:
		t, err = parseDateTime(s)
	}
	if err != nil {
		return tval{}, fmt.Errorf("%q is not a canonical %s: %v", clip(s), k, err)
	}
	return t, nil
}

// parseTemporalLiteral reads a literal compared with a value of kind k, in
// the one format the filter accepts for it.
func parseTemporalLiteral(d Dialect, k schema.Kind, s string) (tval, error) {
	if d == PostgreSQL && k != schema.KindTime {
		switch strings.ToLower(s) {
		case "infinity":
			return tval{inf: 1}, nil
		case "-infinity":
			return tval{inf: -1}, nil
		}
	}
	switch k {
	case schema.KindTime:
		maxHours := 838
		if d == PostgreSQL {
			if strings.HasPrefix(s, "-") {
				return tval{}, errors.New("a PostgreSQL time is not negative")
			}
			maxHours = 24
		}
		t, err := parseTime(s, maxHours)
		if err == nil && d == PostgreSQL && t.rest > 24*3600*1_000_000 {
			err = errors.New("the time is after 24:00:00")
		}
		return t, err
	case schema.KindDate:
		return parseDate(s)
	}
	return parseDateTime(s)
}

// parseDate reads YYYY-MM-DD[ BC] (canonical values also have 5+ digit
// years and MySQL's zero parts; checkCalendar holds literals to real dates).
func parseDate(s string) (tval, error) {
	y, mo, d, err := splitDate(s)
	if err != nil {
		return tval{}, err
	}
	return dateTime(y, mo, d, 0), nil
}

// splitDate reads [Y]YYY-MM-DD[ BC] into an astronomical year (1 BC is 0).
func splitDate(s string) (y int64, mo, d int, err error) {
	body, isBC := strings.CutSuffix(s, " BC")
	ys, rest, ok := strings.Cut(body, "-")
	if !ok || len(ys) < 4 || !allDigits(ys) || len(rest) != 5 || rest[2] != '-' ||
		!allDigits(rest[:2]) || !allDigits(rest[3:]) {
		return 0, 0, 0, errors.New("expected YYYY-MM-DD")
	}
	y, err = strconv.ParseInt(ys, 10, 64)
	if err != nil || len(ys) > 7 {
		return 0, 0, 0, errors.New("the year is out of range")
	}
	mo, _ = strconv.Atoi(rest[:2])
	d, _ = strconv.Atoi(rest[3:])
	if mo > 12 || d > 31 {
		return 0, 0, 0, errors.New("the month or day is out of range")
	}
	if isBC {
		y = 1 - y
	}
	return y, mo, d, nil
}

// parseDateTime reads YYYY-MM-DD[ HH:MM:SS[.ffffff]][ BC].
func parseDateTime(s string) (tval, error) {
	body, bc := strings.CutSuffix(s, " BC")
	datePart, timePart, hasTime := strings.Cut(body, " ")
	suffix := ""
	if bc {
		suffix = " BC"
	}
	y, mo, d, err := splitDate(datePart + suffix)
	if err != nil {
		return tval{}, err
	}
	var us int64
	if hasTime {
		t, err := parseTime(timePart, 23)
		if err != nil || strings.HasPrefix(timePart, "-") || len(timePart) < 8 || timePart[2] != ':' {
			return tval{}, errors.New("expected HH:MM:SS[.ffffff] after the date")
		}
		us = t.rest
	}
	return dateTime(y, mo, d, us), nil
}

// parseTime reads [-]HH:MM:SS[.f...f] (at least two hour digits, at most
// maxHours hours, 1-6 fraction digits).
func parseTime(s string, maxHours int) (tval, error) {
	body, negative := strings.CutPrefix(s, "-")
	hs, rest, ok := strings.Cut(body, ":")
	if !ok || len(hs) < 2 || len(hs) > 7 || !allDigits(hs) || len(rest) < 5 || rest[2] != ':' ||
		!allDigits(rest[:2]) || !allDigits(rest[3:5]) {
		return tval{}, errors.New("expected HH:MM:SS[.ffffff]")
	}
	h, _ := strconv.Atoi(hs)
	mi, _ := strconv.Atoi(rest[:2])
	sec, _ := strconv.Atoi(rest[3:5])
	frac := rest[5:]
	var us int64
	if frac != "" {
		f, ok := strings.CutPrefix(frac, ".")
		if !ok || f == "" || len(f) > 6 || !allDigits(f) {
			return tval{}, errors.New("expected 1 to 6 digits of fraction after the seconds")
		}
		us, _ = strconv.ParseInt(f+strings.Repeat("0", 6-len(f)), 10, 64)
	}
	if h > maxHours || mi > 59 || sec > 59 {
		return tval{}, errors.New("the time is out of range")
	}
	total := ((int64(h)*60+int64(mi))*60+int64(sec))*1_000_000 + us
	if negative {
		total = -total
	}
	return tval{rest: total}, nil
}

// checkCalendar refuses dates that do not exist (2024-02-30): MySQL would
// compare such a literal as a string, PostgreSQL refuses it. MySQL's zero
// date 0000-00-00 is allowed in MySQL.
func checkCalendar(d Dialect, s string) error {
	datePart, _, _ := strings.Cut(s, " ")
	if d == MySQL && datePart == "0000-00-00" {
		return nil
	}
	if d == PostgreSQL && (strings.EqualFold(s, "infinity") || strings.EqualFold(s, "-infinity")) {
		return nil
	}
	y, mo, day, err := splitDate(datePart)
	if err != nil {
		return err
	}
	if len(datePart) != 10 || y < 1 || y > 9999 || mo < 1 || day < 1 || day > daysIn(y, mo) {
		return errors.New("is not a date between 0001-01-01 and 9999-12-31")
	}
	return nil
}

func daysIn(y int64, mo int) int {
	switch mo {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
