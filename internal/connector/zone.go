package connector

import (
	"strconv"
	"time"

	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
)

// Zone is the session time zone of an endpoint's connections (options.time_zone).
type Zone struct {
	// Kind says how the zone was given.
	Kind ZoneKind
	// Name is the IANA name (ZoneName) or the offset as written, "+05:30" (ZoneOffset).
	Name string
	// Loc holds the zone's rules; the server's own zone (ZoneSystem) is unknown,
	// so Loc is UTC there.
	Loc *time.Location
}

// ZoneKind is how a time zone was given.
type ZoneKind int

const (
	ZoneUTC    ZoneKind = iota // UTC, the default
	ZoneOffset                 // a fixed offset such as +05:30 (positive east of UTC)
	ZoneName                   // an IANA name such as Europe/Berlin
	ZoneSystem                 // SYSTEM: whatever the server uses
)

// SessionZone returns e's session time zone. A value job validation would
// refuse is an InvalidParameter error.
func SessionZone(e job.Endpoint) (Zone, error) {
	tz := e.Options.TimeZone
	switch {
	case tz == "" || tz == "UTC":
		return Zone{Kind: ZoneUTC, Name: "UTC", Loc: time.UTC}, nil
	case tz == "SYSTEM":
		return Zone{Kind: ZoneSystem, Name: tz, Loc: time.UTC}, nil
	case tz[0] == '+' || tz[0] == '-':
		if off, ok := parseOffset(tz); ok {
			return Zone{Kind: ZoneOffset, Name: tz, Loc: time.FixedZone(tz, off)}, nil
		}
	case isZoneName(tz):
		if loc, err := time.LoadLocation(tz); err == nil && tz != "Local" {
			return Zone{Kind: ZoneName, Name: tz, Loc: loc}, nil
		}
	}
	return Zone{}, errs.Invalid([]errs.FieldError{{Path: "options.time_zone",
		Message: strconv.Quote(tz) + " is not a time zone: use UTC, an offset such as +05:30, or a name such as Europe/Berlin"}})
}

// parseOffset parses ±hh:mm into seconds east of UTC.
func parseOffset(s string) (int, bool) {
	if len(s) != 6 || s[3] != ':' {
		return 0, false
	}
	h, err1 := strconv.Atoi(s[1:3])
	m, err2 := strconv.Atoi(s[4:6])
	if err1 != nil || err2 != nil || h > 14 || m > 59 {
		return 0, false
	}
	off := h*3600 + m*60
	if s[0] == '-' {
		off = -off
	}
	return off, true
}

// isZoneName reports whether s has only the characters of IANA zone names,
// so that it can be quoted into a session setting safely.
func isZoneName(s string) bool {
	for _, r := range s {
		ok := r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '/' || r == '_' || r == '+' || r == '-'
		if !ok {
			return false
		}
	}
	return s != ""
}
