// Package change holds what flows from a source's log to a target: positions
// in the log, and (with the incremental phases) change events.
package change

import (
	"cmp"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Position is a place in a source's log: where a snapshot was taken, where
// incremental sync resumes. It is stored as versioned JSON.
type Position struct {
	// Engine is mysql or postgresql (MariaDB positions say mysql with Flavor mariadb).
	Engine string `json:"engine"`
	// Flavor is mysql or mariadb, for GTID syntax.
	Flavor string `json:"flavor,omitempty"`
	// File and Pos are a MySQL binlog coordinate.
	File string `json:"file,omitempty"`
	Pos  uint64 `json:"pos,omitempty"`
	// GTIDSet is the MySQL/MariaDB GTID set executed up to here.
	GTIDSet string `json:"gtid_set,omitempty"`
	// LSN is a PostgreSQL WAL location.
	LSN uint64 `json:"lsn,omitempty"`
}

const positionVersion = 1

// IsZero reports whether the position is unset.
func (p Position) IsZero() bool { return p.Engine == "" }

// String is the position for people: binlog:FILE:POS (gtid SET) or lsn:X/Y.
func (p Position) String() string {
	switch p.Engine {
	case "":
		return "(none)"
	case "postgresql":
		return fmt.Sprintf("lsn:%X/%X", p.LSN>>32, uint32(p.LSN))
	}
	s := fmt.Sprintf("binlog:%s:%d", p.File, p.Pos)
	if p.GTIDSet != "" {
		s += " gtid:" + p.GTIDSet
	}
	return s
}

// Encode returns the position as versioned JSON.
func (p Position) Encode() []byte {
	b, err := json.Marshal(struct {
		V int `json:"v"`
		Position
	}{positionVersion, p})
	if err != nil {
		panic(err) // plain fields always marshal
	}
	return b
}

// DecodePosition parses what Encode wrote.
func DecodePosition(b []byte) (Position, error) {
	var w struct {
		V int `json:"v"`
		Position
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return Position{}, fmt.Errorf("decode position: %w", err)
	}
	if w.V != positionVersion {
		return Position{}, fmt.Errorf("decode position: version %d, this dts reads %d", w.V, positionVersion)
	}
	return w.Position, nil
}

// Compare orders two positions of one source: -1, 0 or 1. MySQL positions
// compare by binlog file sequence number then offset (GTID sets are not
// totally ordered); PostgreSQL positions by LSN. Positions of different
// engines, or a zero position, compare by Engine only (zero first).
func Compare(a, b Position) int {
	switch {
	case a.Engine != b.Engine:
		return cmp.Compare(a.Engine, b.Engine)
	case a.Engine == "postgresql":
		return cmp.Compare(a.LSN, b.LSN)
	}
	if c := cmp.Compare(fileSeq(a.File), fileSeq(b.File)); c != 0 {
		return c
	}
	if c := cmp.Compare(a.File, b.File); c != 0 {
		return c
	}
	return cmp.Compare(a.Pos, b.Pos)
}

// fileSeq is the number a binlog file name ends with (binlog.000042 → 42).
func fileSeq(name string) uint64 {
	i := strings.LastIndexByte(name, '.')
	n, err := strconv.ParseUint(name[i+1:], 10, 64)
	if err != nil {
		return 0
	}
	return n
}

// ParsePosition reads what String wrote (binlog:FILE:POS, optionally
// followed by " gtid:SET", or lsn:X/Y) into a position that Compare finds
// equal to the one written.
func ParsePosition(s string) (Position, error) {
	s = strings.TrimSpace(s)
	if rest, ok := strings.CutPrefix(s, "lsn:"); ok {
		var hi, lo uint32
		if _, err := fmt.Sscanf(rest, "%X/%X", &hi, &lo); err != nil || fmt.Sprintf("%X/%X", hi, lo) != strings.ToUpper(rest) {
			return Position{}, fmt.Errorf("position %q: lsn:X/Y with X and Y in hex", s)
		}
		return Position{Engine: "postgresql", LSN: uint64(hi)<<32 | uint64(lo)}, nil
	}
	rest, ok := strings.CutPrefix(s, "binlog:")
	if !ok {
		return Position{}, fmt.Errorf("position %q: neither binlog:FILE:POS nor lsn:X/Y", s)
	}
	p := Position{Engine: "mysql"}
	if coord, gtid, ok := strings.Cut(rest, " gtid:"); ok {
		rest, p.GTIDSet = coord, gtid
	}
	i := strings.LastIndexByte(rest, ':')
	if i <= 0 {
		return Position{}, fmt.Errorf("position %q: binlog:FILE:POS", s)
	}
	n, err := strconv.ParseUint(rest[i+1:], 10, 64)
	if err != nil {
		return Position{}, fmt.Errorf("position %q: the offset after the file is not a number", s)
	}
	p.File, p.Pos = rest[:i], n
	return p, nil
}
