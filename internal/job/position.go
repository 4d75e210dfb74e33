package job

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// PositionKind says how a start position names a place in the source's log.
type PositionKind string

const (
	PositionTime   PositionKind = "time"
	PositionBinlog PositionKind = "binlog"
	PositionGTID   PositionKind = "gtid"
	PositionLSN    PositionKind = "lsn"
)

// StartPosition is a parsed start_position: where incremental sync starts
// when it does not follow a full load.
type StartPosition struct {
	Kind PositionKind
	Time time.Time // PositionTime
	File string    // PositionBinlog
	Pos  uint64    // PositionBinlog
	GTID string    // PositionGTID: a MySQL or MariaDB GTID set
	LSN  string    // PositionLSN: X/Y
}

var (
	binlogRE = regexp.MustCompile(`^binlog:([A-Za-z0-9_.-]+):(\d+)$`)
	lsnRE    = regexp.MustCompile(`^lsn:([0-9A-Fa-f]{1,8})/([0-9A-Fa-f]{1,8})$`)
	gtidRE   = regexp.MustCompile(`^gtid:([0-9A-Za-z:,\-. \n]+)$`)
)

// ParseStartPosition parses the forms start_position allows: an RFC 3339 time
// or Unix seconds, binlog:FILE:POS, gtid:SET and lsn:X/Y.
func ParseStartPosition(s string) (StartPosition, error) {
	switch {
	case strings.HasPrefix(s, "binlog:"):
		m := binlogRE.FindStringSubmatch(s)
		if m == nil {
			return StartPosition{}, fmt.Errorf("%q is not binlog:FILE:POS, e.g. binlog:mysql-bin.000042:4", clip(s))
		}
		pos, err := strconv.ParseUint(m[2], 10, 64)
		if err != nil || pos < 4 {
			return StartPosition{}, fmt.Errorf("binlog position in %q must be at least 4", clip(s))
		}
		return StartPosition{Kind: PositionBinlog, File: m[1], Pos: pos}, nil
	case strings.HasPrefix(s, "gtid:"):
		m := gtidRE.FindStringSubmatch(s)
		if m == nil || strings.TrimSpace(m[1]) == "" {
			return StartPosition{}, fmt.Errorf("%q is not gtid:SET, e.g. gtid:0-1-42 (MariaDB) or gtid:3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5 (MySQL)", clip(s))
		}
		return StartPosition{Kind: PositionGTID, GTID: strings.TrimSpace(m[1])}, nil
	case strings.HasPrefix(s, "lsn:"):
		m := lsnRE.FindStringSubmatch(s)
		if m == nil {
			return StartPosition{}, fmt.Errorf("%q is not lsn:X/Y, e.g. lsn:16/B374D848", clip(s))
		}
		return StartPosition{Kind: PositionLSN, LSN: strings.ToUpper(m[1] + "/" + m[2])}, nil
	}
	if secs, err := strconv.ParseInt(s, 10, 64); err == nil {
		if secs <= 0 || secs > 253402300799 {
			return StartPosition{}, fmt.Errorf("Unix time %d is out of range", secs)
		}
		return StartPosition{Kind: PositionTime, Time: time.Unix(secs, 0).UTC()}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return StartPosition{Kind: PositionTime, Time: t.UTC()}, nil
	}
	return StartPosition{}, fmt.Errorf("%q is not a start position: use an RFC 3339 time, Unix seconds, binlog:FILE:POS, gtid:SET or lsn:X/Y", clip(s))
}
