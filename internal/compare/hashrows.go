package compare

import (
	"context"
	"hash/crc32"
	"math/big"
	"math/bits"
	"strconv"

	"github.com/dtsorg/dts/internal/value"
)

// Row hash schemes: how a row's hash fields (canon.go) become its 64-bit
// hash. Every scheme hashes the same bytes: the fields joined by '#'.
//
//	crc  CRC-32 (IEEE) in the high 32 bits, CRC-32C (Castagnoli) in the low
//	     ones: two independent 32-bit checks. A MySQL side computes it in
//	     SQL (MariaDB 10.8 and later have CRC32C) at a fraction of md5's
//	     cost; a PostgreSQL side (which has neither) sends the rows'
//	     compare forms and dts computes it (rowHashGo).
//	md5  the first 60 bits of md5, in SQL on both sides: when a MySQL side
//	     has no CRC32C.
//	pg   hashtextextended between two PostgreSQL servers: in SQL, cheap.
//
// A chunk's digest is the row count and the exact sum of the row hashes
// (a sum, unlike XOR, never cancels duplicate rows). Two chunks with equal
// digests but different rows need a 64-bit coincidence.
type scheme int

const (
	schemeMD5 scheme = iota
	schemeCRC
	schemePG
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crcHash is the crc scheme's hash of a row's joined fields.
func crcHash(b []byte) uint64 {
	return uint64(crc32.ChecksumIEEE(b))<<32 | uint64(crc32.Checksum(b, castagnoli))
}

// parseHash reads a database's row hash: unsigned (MySQL, md5 on
// PostgreSQL) or signed (hashtextextended), as 64 bits.
func parseHash(b []byte) (uint64, bool) {
	if h, err := strconv.ParseUint(string(b), 10, 64); err == nil {
		return h, true
	}
	h, err := strconv.ParseInt(string(b), 10, 64)
	return uint64(h), err == nil
}

// sum128 sums row hashes exactly, as the databases' SUM does.
type sum128 struct{ hi, lo uint64 }

func (s *sum128) add(h uint64) {
	var c uint64
	s.lo, c = bits.Add64(s.lo, h, 0)
	s.hi += c
}

// String is the sum in decimal.
func (s *sum128) String() string {
	v := new(big.Int).SetUint64(s.hi)
	v.Lsh(v, 64)
	return v.Or(v, new(big.Int).SetUint64(s.lo)).String()
}

// hashRows streams the rows p selects: the values of extra expressions as
// fetched, the row's compare forms (when the side hashes rows here, or
// when full) and its hash.
func (s *side) hashRows(ctx context.Context, ts *tableSQL, p pred, extra []string, full bool, fn func(x [][]byte, row value.Row, h uint64) error) error {
	return s.hashRowsWhere(ctx, ts, p, "", extra, full, fn)
}

// hashRowsWhere is hashRows with one more condition on the rows.
func (s *side) hashRowsWhere(ctx context.Context, ts *tableSQL, p pred, cond string, extra []string, full bool,
	fn func(x [][]byte, row value.Row, h uint64) error) error {
	where, args, err := ts.where(p)
	if err != nil {
		return err
	}
	where = andWhere(where, cond)
	exprs := append([]string(nil), extra...)
	nx := len(exprs)
	withRow := s.goRows || full
	switch {
	case withRow:
		exprs = append(exprs, ts.values...)
	default:
		exprs = append(exprs, ts.fallbackValues()...)
	}
	if !s.goRows {
		exprs = append(exprs, ts.d.asText(ts.hash))
	}
	q := "SELECT " + joinComma(exprs) + " FROM " + ts.from + where
	if lim, arg := ts.d.limitAll(); lim != "" {
		q += lim
		args = append(args, arg)
	}
	n := len(ts.cols)
	row := make(value.Row, n)
	fb := make([][]byte, len(ts.fallback))
	var buf []byte
	return s.conn.query(ctx, q, args, func(v [][]byte) error {
		var r value.Row
		if withRow {
			for i := range n {
				row[i] = ts.d.decode(ts.cols[i].c[s.which], ts.cols[i], v[nx+i])
			}
			r = row
			for j, i := range ts.fallback {
				fb[j] = row[i]
			}
		} else {
			for j, i := range ts.fallback {
				fb[j] = ts.d.decode(ts.cols[i].c[s.which], ts.cols[i], v[nx+j])
			}
		}
		var h uint64
		if s.goRows {
			buf = s.rowFields(buf[:0], ts, row)
			h = crcHash(buf)
			if len(ts.fallback) > 0 {
				h = goHash(strconv.AppendUint(buf[:0], h, 10), fb)
			}
			return fn(v[:nx], r, h)
		}
		dbHash := v[len(v)-1]
		if len(ts.fallback) == 0 {
			var ok bool
			if h, ok = parseHash(dbHash); !ok {
				return errUnexpectedHash(dbHash)
			}
		} else {
			h = goHash(dbHash, fb)
		}
		return fn(v[:nx], r, h)
	})
}

// rowFields joins a row's hash fields as the other side's SQL does (the
// Go-hashed columns left out).
func (s *side) rowFields(dst []byte, ts *tableSQL, row value.Row) []byte {
	first := true
	for i, k := range ts.cols {
		if k.goHashed {
			continue
		}
		if !first {
			dst = append(dst, '#')
		}
		first = false
		dst = appendField(dst, k.class, s.sameMySQL, k.last, row[i])
	}
	if first {
		dst = append(dst, '-')
	}
	return dst
}
