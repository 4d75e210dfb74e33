package mysql

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/shopspring/decimal"

	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// Turning row event values into canonical values (internal/value), the
// same bytes the snapshot Reader produces for the same stored value
// (decode.go). go-mysql decodes the row image by the TABLE_MAP event's
// column types (BinlogSyncerConfig in binlog_source.go says how); what it
// cannot know comes from the schema history's table: signedness (absent
// from TABLE_MAP without binlog_row_metadata=FULL), ENUM and SET labels,
// character sets, column lengths.
//
// go-mysql's value per column type:
//
//	TINY..LONGLONG  int8..int64, or uint8..uint64 when the TABLE_MAP says unsigned
//	YEAR            int (0 or the year)
//	NEWDECIMAL      string: the digits, as many after the point as the scale (UseDecimal off)
//	FLOAT, DOUBLE   float32, float64 (the stored IEEE value)
//	BIT, ENUM, SET  int64: the bits, the label's 1-based index, the member bitmask
//	temporal        string: "YYYY-MM-DD[ HH:MM:SS[.ffffff]]", TIMESTAMP in UTC, TIME signed
//	CHAR, VARCHAR   string: the bytes in the column's character set (CHAR without
//	                trailing spaces, BINARY without trailing zero bytes)
//	BLOB, TEXT      []byte; MariaDB's JSON is a LONGTEXT
//	JSON (MySQL)    string: go-mysql's text of the binary document (jsonText fixes its layout)
//	GEOMETRY        []byte: SRID + WKB, as the snapshot reads it

// colCodec converts one column's values.
type colCodec struct {
	name string
	// decode appends the canonical form of v (never nil) to dst.
	decode func(dst []byte, v any) ([]byte, error)
}

// tableCodec decodes the rows of one version of a table.
type tableCodec struct {
	table *schema.Table
	cols  []colCodec
}

// newTableCodec prepares the decoding of t's rows. mysqlJSON says the
// source is MySQL (binary JSON); MariaDB's JSON is text.
func newTableCodec(t *schema.Table, mysqlJSON bool) (*tableCodec, error) {
	tc := &tableCodec{table: t, cols: make([]colCodec, len(t.Columns))}
	for i := range t.Columns {
		c := &t.Columns[i]
		dec, err := columnDecoder(c, mysqlJSON)
		if err != nil {
			return nil, err
		}
		tc.cols[i] = colCodec{name: c.Name, decode: dec}
	}
	return tc, nil
}

// unsupportedColumn is the error of a column the stream cannot decode.
type unsupportedColumn struct {
	table, column, reason string
}

func (u *unsupportedColumn) Error() string {
	return fmt.Sprintf("column %s of %s: %s", u.column, u.table, u.reason)
}

// columnDecoder returns the conversion of c's values.
func columnDecoder(c *schema.Column, mysqlJSON bool) (func([]byte, any) ([]byte, error), error) {
	t := c.Type
	switch t.Kind {
	case schema.KindInt8, schema.KindInt16, schema.KindInt24, schema.KindInt32, schema.KindInt64, schema.KindYear, schema.KindBool:
		bits := intBits(t.Kind)
		return func(dst []byte, v any) ([]byte, error) { return appendInteger(dst, v, t.Unsigned, bits) }, nil
	case schema.KindDecimal:
		return appendDecimal(t.Scale), nil
	case schema.KindFloat32:
		return func(dst []byte, v any) ([]byte, error) {
			f, ok := v.(float32)
			if !ok {
				return dst, typeErr(v, "float32")
			}
			return strconv.AppendFloat(dst, float64(f), 'g', -1, 32), nil
		}, nil
	case schema.KindFloat64:
		return func(dst []byte, v any) ([]byte, error) {
			f, ok := v.(float64)
			if !ok {
				return dst, typeErr(v, "float64")
			}
			return strconv.AppendFloat(dst, f, 'g', -1, 64), nil
		}, nil
	case schema.KindDate, schema.KindTime, schema.KindDateTime, schema.KindTimestamp:
		return func(dst []byte, v any) ([]byte, error) {
			s, ok := v.(string)
			if !ok {
				return dst, typeErr(v, "string")
			}
			return append(dst, trimFraction([]byte(s))...), nil
		}, nil
	case schema.KindChar, schema.KindVarChar, schema.KindText:
		return textColumn(c, t.Kind == schema.KindChar && !t.Binary)
	case schema.KindJSON:
		if mysqlJSON {
			return appendMySQLJSON, nil
		}
		return textColumn(c, false)
	case schema.KindBinary:
		n := t.Length
		return func(dst []byte, v any) ([]byte, error) {
			start := len(dst)
			dst, err := appendBytes(dst, v)
			for len(dst)-start < n {
				dst = append(dst, 0) // BINARY(n) pads with zero bytes; row images drop them
			}
			return dst, err
		}, nil
	case schema.KindVarBinary, schema.KindBlob:
		return appendBytes, nil
	case schema.KindEnum:
		labels := t.Values
		return func(dst []byte, v any) ([]byte, error) {
			i, ok := v.(int64)
			switch {
			case !ok:
				return dst, typeErr(v, "int64")
			case i == 0: // the empty string a non-strict session stored for an invalid value
				return dst, nil
			case i < 0 || int(i) > len(labels):
				return dst, fmt.Errorf("ENUM index %d outside the column's %d labels", i, len(labels))
			}
			return append(dst, labels[i-1]...), nil
		}, nil
	case schema.KindSet:
		labels := t.Values
		return func(dst []byte, v any) ([]byte, error) {
			m, ok := v.(int64)
			if !ok {
				return dst, typeErr(v, "int64")
			}
			bits := uint64(m)
			if len(labels) < 64 && bits>>len(labels) != 0 {
				return dst, fmt.Errorf("SET value %#x has members beyond the column's %d labels", bits, len(labels))
			}
			first := true
			for i, l := range labels {
				if bits&(1<<i) == 0 {
					continue
				}
				if !first {
					dst = append(dst, ',')
				}
				first = false
				dst = append(dst, l...)
			}
			return dst, nil
		}, nil
	case schema.KindBit:
		n := t.Length
		return func(dst []byte, v any) ([]byte, error) {
			i, ok := v.(int64)
			if !ok {
				return dst, typeErr(v, "int64")
			}
			var b [8]byte
			for k := range 8 {
				b[7-k] = byte(uint64(i) >> (8 * k))
			}
			return appendBits(dst, b[:], n), nil
		}, nil
	case schema.KindUUID:
		return func(dst []byte, v any) ([]byte, error) {
			b, err := paddedBytes(v, 16)
			if err != nil {
				return dst, err
			}
			return appendUUID(dst, b), nil
		}, nil
	case schema.KindInet:
		n := 16
		if strings.Contains(strings.ToLower(t.Raw), "inet4") {
			n = 4
		}
		return func(dst []byte, v any) ([]byte, error) {
			b, err := paddedBytes(v, n)
			switch {
			case err != nil:
				return dst, err
			case n == 4:
				return appendIPv4(dst, b), nil
			}
			return appendIPv6(dst, b), nil
		}, nil
	case schema.KindUnknown:
		if isGeometry(t.Raw) {
			return appendBytes, nil
		}
	}
	return nil, &unsupportedColumn{column: c.Name, reason: fmt.Sprintf("dts cannot decode %s values from the binlog", t)}
}

// textColumn converts text from the column's character set; char drops
// trailing spaces as reading a CHAR does.
func textColumn(c *schema.Column, char bool) (func([]byte, any) ([]byte, error), error) {
	cs := c.Charset
	if c.Type.Binary {
		cs = "binary"
	}
	td, ok := textDecoderFor(cs)
	if !ok {
		return nil, &unsupportedColumn{column: c.Name, reason: fmt.Sprintf("character set %s: dts decodes binlog text in "+
			"utf8mb4, utf8mb3, ascii, latin1, binary, ucs2, utf16, utf16le and utf32 only", cs)}
	}
	return func(dst []byte, v any) ([]byte, error) {
		start := len(dst)
		var err error
		if td == nil {
			dst, err = appendBytes(dst, v)
		} else {
			var raw []byte
			if raw, err = appendBytes(nil, v); err == nil {
				dst, err = td(dst, raw)
			}
		}
		if char {
			end := len(dst)
			for end > start && dst[end-1] == ' ' {
				end--
			}
			dst = dst[:end]
		}
		return dst, err
	}, nil
}

func isGeometry(raw string) bool {
	switch strings.ToLower(strings.TrimSpace(raw)) {
	case "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon",
		"geometrycollection", "geomcollection":
		return true
	}
	return false
}

func typeErr(v any, want string) error {
	return fmt.Errorf("binlog value of Go type %T where %s was expected", v, want)
}

// appendBytes appends a string or []byte value.
func appendBytes(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case []byte:
		return append(dst, x...), nil
	case string:
		return append(dst, x...), nil
	}
	return dst, typeErr(v, "string or []byte")
}

// appendInteger appends an integer in base 10. Without FULL row metadata
// go-mysql reads every integer as signed: an unsigned column's value is
// then reinterpreted at the column's width (24 bits for MEDIUMINT, whose
// signed reading is sign-extended).
func appendInteger(dst []byte, v any, unsigned bool, bits int) ([]byte, error) {
	var s int64
	switch x := v.(type) {
	case int8:
		s = int64(x)
	case int16:
		s = int64(x)
	case int32:
		s = int64(x)
	case int64:
		s = x
	case int:
		s = int64(x)
	case uint8:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint16:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10), nil
	case uint64:
		return strconv.AppendUint(dst, x, 10), nil
	default:
		return dst, typeErr(v, "an integer")
	}
	if unsigned && s < 0 {
		u := uint64(s)
		if bits < 64 {
			u &= 1<<bits - 1
		}
		return strconv.AppendUint(dst, u, 10), nil
	}
	return strconv.AppendInt(dst, s, 10), nil
}

// intBits is the width of an integer kind.
func intBits(k schema.Kind) int {
	switch k {
	case schema.KindInt8, schema.KindBool:
		return 8
	case schema.KindInt16:
		return 16
	case schema.KindInt24:
		return 24
	case schema.KindInt32:
		return 32
	}
	return 64
}

// appendDecimal appends a DECIMAL: go-mysql's text has the digits as
// stored, scale of them after the point, which is the canonical form.
func appendDecimal(scale int) func([]byte, any) ([]byte, error) {
	return func(dst []byte, v any) ([]byte, error) {
		switch x := v.(type) {
		case string:
			return append(dst, x...), nil
		case decimal.Decimal:
			return append(dst, x.StringFixed(int32(scale))...), nil
		}
		return dst, typeErr(v, "a decimal")
	}
}

// paddedBytes returns a fixed-length binary value (MariaDB's UUID, INET4,
// INET6): row images drop its trailing zero bytes.
func paddedBytes(v any, n int) ([]byte, error) {
	b, err := appendBytes(make([]byte, 0, n), v)
	if err != nil {
		return nil, err
	}
	if len(b) > n {
		return nil, fmt.Errorf("a %d-byte value in a %d-byte column", len(b), n)
	}
	for len(b) < n {
		b = append(b, 0)
	}
	return b, nil
}

// appendUUID appends MariaDB's text of a UUID column: the 16 bytes as the
// row image holds them, lower-case 8-4-4-4-12 hex.
func appendUUID(dst, b []byte) []byte {
	const hex = "0123456789abcdef"
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			dst = append(dst, '-')
		}
		dst = append(dst, hex[c>>4], hex[c&0xF])
	}
	return dst
}

func appendIPv4(dst, b []byte) []byte {
	for i, c := range b[:4] {
		if i > 0 {
			dst = append(dst, '.')
		}
		dst = strconv.AppendUint(dst, uint64(c), 10)
	}
	return dst
}

// appendIPv6 appends MariaDB's text of an INET6 value: lower-case hex
// groups without leading zeros, the first longest run of zero groups (even
// a single one) as "::", and IPv4-compatible (::a.b.c.d) and IPv4-mapped
// (::ffff:a.b.c.d) addresses with a dotted IPv4 tail.
func appendIPv6(dst, b []byte) []byte {
	var w [8]uint16
	for i := range w {
		w[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	gapPos, gapLen := -1, 0
	for i := 0; i < 8; {
		if w[i] != 0 {
			i++
			continue
		}
		j := i
		for j < 8 && w[j] == 0 {
			j++
		}
		if j-i > gapLen {
			gapPos, gapLen = i, j-i
		}
		i = j
	}
	for i := 0; i < 8; i++ {
		switch {
		case i == gapPos:
			if i == 0 {
				dst = append(dst, ':')
			}
			dst = append(dst, ':')
			i += gapLen - 1
		case i == 6 && gapPos == 0 && (gapLen == 6 || gapLen == 5 && w[5] == 0xffff):
			return appendIPv4(dst, b[12:])
		default:
			dst = strconv.AppendUint(dst, uint64(w[i]), 16)
			if i != 7 {
				dst = append(dst, ':')
			}
		}
	}
	return dst
}

// appendMySQLJSON appends a MySQL JSON document as MySQL prints it
// (SELECT json_col): go-mysql renders the binary document with
// RenderJSONAsMySQLText (key order as stored, doubles with ".0", decimals
// unquoted) but compact and with <, > and & escaped; jsonText puts back
// MySQL's ", " and ": " and the unescaped characters.
func appendMySQLJSON(dst []byte, v any) ([]byte, error) {
	var s []byte
	switch x := v.(type) {
	case string:
		s = []byte(x)
	case []byte:
		s = x
	default:
		return dst, typeErr(v, "JSON text")
	}
	if len(s) == 0 { // an empty value stored by a non-strict session: MySQL reads it as null
		return append(dst, "null"...), nil
	}
	return jsonText(dst, s), nil
}

// jsonText appends compact JSON text with a space after every ',' and ':'
// outside strings, and \u003c, \u003e, \u0026 inside strings unescaped.
func jsonText(dst, s []byte) []byte {
	inString := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !inString {
			dst = append(dst, c)
			switch c {
			case '"':
				inString = true
			case ',', ':':
				dst = append(dst, ' ')
			}
			continue
		}
		switch {
		case c == '"':
			inString = false
			dst = append(dst, c)
		case c == '\\' && i+1 < len(s):
			if s[i+1] == 'u' && i+5 < len(s) {
				switch string(s[i+2 : i+6]) {
				case "003c":
					dst = append(dst, '<')
					i += 5
					continue
				case "003e":
					dst = append(dst, '>')
					i += 5
					continue
				case "0026":
					dst = append(dst, '&')
					i += 5
					continue
				}
			}
			dst = append(dst, c, s[i+1])
			i++
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// decodeRow converts one row image (go-mysql's values, in table order) into
// a canonical row owned by the caller.
func (tc *tableCodec) decodeRow(raw []any) (value.Row, error) {
	if len(raw) != len(tc.cols) {
		return nil, fmt.Errorf("row image has %d columns, table %s has %d", len(raw), tc.table, len(tc.cols))
	}
	buf := make([]byte, 0, 64*len(raw))
	ends := make([]int, len(raw))
	null := make([]bool, len(raw))
	var err error
	for i, v := range raw {
		if v == nil {
			null[i] = true
			ends[i] = len(buf)
			continue
		}
		if buf, err = tc.cols[i].decode(buf, v); err != nil {
			return nil, fmt.Errorf("column %s: %w", tc.cols[i].name, err)
		}
		ends[i] = len(buf)
	}
	row := make(value.Row, len(raw))
	start := 0
	for i := range raw {
		if !null[i] {
			row[i] = buf[start:ends[i]:ends[i]]
		}
		start = ends[i]
	}
	return row, nil
}

// Checking a TABLE_MAP event against the schema history. The column types
// and their metadata (lengths, precision, fractional digits) are always
// there; names, signedness, ENUM/SET labels only with
// binlog_row_metadata=FULL.

// binlogRealType returns the type a TABLE_MAP column really has: ENUM and
// SET hide in STRING with the real type in the metadata's high byte.
func binlogRealType(tp byte, meta uint16) byte {
	if tp == gomysql.MYSQL_TYPE_STRING && meta >= 256 {
		b0 := byte(meta >> 8)
		if b0&0x30 != 0x30 {
			return b0 | 0x30
		}
		return b0
	}
	return tp
}

// layoutMismatch returns why tm cannot carry rows of t, or "".
func layoutMismatch(tm *replication.TableMapEvent, t *schema.Table, mariadb bool) string {
	if int(tm.ColumnCount) != len(t.Columns) {
		return fmt.Sprintf("the binlog's row events have %d columns, the schema history's %s has %d (%s)",
			tm.ColumnCount, t, len(t.Columns), strings.Join(t.Names(), ", "))
	}
	names := tm.ColumnNameString()
	unsigned := tm.UnsignedMap()
	enums, sets := tm.EnumStrValueMap(), tm.SetStrValueMap()
	for i := range t.Columns {
		c := &t.Columns[i]
		if why := typeMismatch(tm.ColumnType[i], tm.ColumnMeta[i], c, mariadb); why != "" {
			return fmt.Sprintf("column %d (%s) of %s: %s", i+1, c.Name, t, why)
		}
		if len(names) == len(t.Columns) && !strings.EqualFold(names[i], c.Name) {
			return fmt.Sprintf("column %d of %s is %s in the binlog, %s in the schema history", i+1, t, names[i], c.Name)
		}
		if u, ok := unsigned[i]; ok && u != c.Type.Unsigned && c.Type.IsInteger() && c.Type.Kind != schema.KindYear {
			return fmt.Sprintf("column %s of %s is %s in the binlog, %s in the schema history", c.Name, t,
				signedness(u), signedness(c.Type.Unsigned))
		}
		if labels, ok := enums[i]; ok && c.Type.Kind == schema.KindEnum && !sameLabels(labels, c) {
			return fmt.Sprintf("ENUM column %s of %s has labels %q in the binlog, %q in the schema history", c.Name, t, labels, c.Type.Values)
		}
		if labels, ok := sets[i]; ok && c.Type.Kind == schema.KindSet && !sameLabels(labels, c) {
			return fmt.Sprintf("SET column %s of %s has members %q in the binlog, %q in the schema history", c.Name, t, labels, c.Type.Values)
		}
	}
	return ""
}

func signedness(unsigned bool) string {
	if unsigned {
		return "UNSIGNED"
	}
	return "signed"
}

// sameLabels compares TABLE_MAP labels (in the column's character set)
// with the history's (UTF-8).
func sameLabels(binlog []string, c *schema.Column) bool {
	if len(binlog) != len(c.Type.Values) {
		return false
	}
	td, ok := textDecoderFor(c.Charset)
	for i, l := range binlog {
		b := []byte(l)
		if ok && td != nil {
			b, _ = td(nil, b)
		}
		if !bytes.Equal(b, []byte(c.Type.Values[i])) {
			return false
		}
	}
	return true
}

// blobPackLen is the length prefix size of each TEXT/BLOB size class.
var blobPackLen = map[schema.SizeClass]uint16{schema.SizeTiny: 1, schema.SizeNormal: 2, schema.SizeMedium: 3, schema.SizeLong: 4}

// typeMismatch returns why a TABLE_MAP column of type tp cannot hold c, or "".
func typeMismatch(tp byte, meta uint16, c *schema.Column, mariadb bool) string {
	t := c.Type
	real := binlogRealType(tp, meta)
	want := func(types ...byte) string {
		for _, x := range types {
			if real == x {
				return ""
			}
		}
		return fmt.Sprintf("binlog type %d does not hold %s", real, t)
	}
	oldTemporal := func() string {
		return "the table still has the pre-MySQL-5.6 temporal format, which dts does not decode; " +
			"rebuild it (ALTER TABLE … FORCE, with mysql56_temporal_format=ON on MariaDB)"
	}
	switch t.Kind {
	case schema.KindInt8, schema.KindBool:
		return want(gomysql.MYSQL_TYPE_TINY)
	case schema.KindInt16:
		return want(gomysql.MYSQL_TYPE_SHORT)
	case schema.KindInt24:
		return want(gomysql.MYSQL_TYPE_INT24)
	case schema.KindInt32:
		return want(gomysql.MYSQL_TYPE_LONG)
	case schema.KindInt64:
		return want(gomysql.MYSQL_TYPE_LONGLONG)
	case schema.KindYear:
		return want(gomysql.MYSQL_TYPE_YEAR)
	case schema.KindDecimal:
		if w := want(gomysql.MYSQL_TYPE_NEWDECIMAL); w != "" {
			return w
		}
		if p, s := int(meta>>8), int(meta&0xFF); p != t.Precision || s != t.Scale {
			return fmt.Sprintf("DECIMAL(%d,%d) in the binlog, %s in the schema history", p, s, t)
		}
	case schema.KindFloat32:
		return want(gomysql.MYSQL_TYPE_FLOAT)
	case schema.KindFloat64:
		return want(gomysql.MYSQL_TYPE_DOUBLE)
	case schema.KindChar, schema.KindBinary:
		return want(gomysql.MYSQL_TYPE_STRING)
	case schema.KindUUID:
		if w := want(gomysql.MYSQL_TYPE_STRING); w != "" || stringLength(meta) != 16 {
			return "not a 16-byte UUID in the binlog"
		}
	case schema.KindInet:
		n := stringLength(meta)
		if w := want(gomysql.MYSQL_TYPE_STRING); w != "" || (n != 4 && n != 16) {
			return "not a 4- or 16-byte INET in the binlog"
		}
	case schema.KindVarChar, schema.KindVarBinary:
		return want(gomysql.MYSQL_TYPE_VARCHAR, gomysql.MYSQL_TYPE_VAR_STRING)
	case schema.KindText, schema.KindBlob:
		if w := want(gomysql.MYSQL_TYPE_BLOB); w != "" {
			return w
		}
		if meta != blobPackLen[t.Size] {
			return fmt.Sprintf("a BLOB/TEXT with a %d-byte length in the binlog, %s in the schema history", meta, t)
		}
	case schema.KindJSON:
		if mariadb {
			if w := want(gomysql.MYSQL_TYPE_BLOB); w != "" || meta != 4 {
				return "not a LONGTEXT (MariaDB's JSON) in the binlog"
			}
			return ""
		}
		return want(gomysql.MYSQL_TYPE_JSON)
	case schema.KindDate:
		return want(gomysql.MYSQL_TYPE_DATE, gomysql.MYSQL_TYPE_NEWDATE)
	case schema.KindTime:
		if real == gomysql.MYSQL_TYPE_TIME {
			return oldTemporal()
		}
		return temporalMismatch(want(gomysql.MYSQL_TYPE_TIME2), meta, t)
	case schema.KindDateTime:
		if real == gomysql.MYSQL_TYPE_DATETIME {
			if meta != 0 || t.FSP != 0 {
				return oldTemporal()
			}
			return ""
		}
		return temporalMismatch(want(gomysql.MYSQL_TYPE_DATETIME2), meta, t)
	case schema.KindTimestamp:
		if real == gomysql.MYSQL_TYPE_TIMESTAMP {
			if meta != 0 || t.FSP != 0 {
				return oldTemporal()
			}
			return ""
		}
		return temporalMismatch(want(gomysql.MYSQL_TYPE_TIMESTAMP2), meta, t)
	case schema.KindEnum:
		return want(gomysql.MYSQL_TYPE_ENUM)
	case schema.KindSet:
		return want(gomysql.MYSQL_TYPE_SET)
	case schema.KindBit:
		if w := want(gomysql.MYSQL_TYPE_BIT); w != "" {
			return w
		}
		if n := int(meta>>8)*8 + int(meta&0xFF); n != t.Length {
			return fmt.Sprintf("BIT(%d) in the binlog, %s in the schema history", n, t)
		}
	case schema.KindUnknown:
		if isGeometry(t.Raw) {
			return want(gomysql.MYSQL_TYPE_GEOMETRY)
		}
		return fmt.Sprintf("dts cannot decode %s values from the binlog", t)
	default:
		return fmt.Sprintf("dts cannot decode %s values from the binlog", t)
	}
	return ""
}

func temporalMismatch(w string, meta uint16, t schema.Type) string {
	if w != "" {
		return w
	}
	if int(meta) != t.FSP {
		return fmt.Sprintf("%d fractional digits in the binlog, %s in the schema history", meta, t)
	}
	return ""
}

// stringLength is the byte length of a STRING (CHAR/BINARY) column.
func stringLength(meta uint16) int {
	if meta < 256 {
		return int(meta)
	}
	b0, b1 := byte(meta>>8), byte(meta&0xFF)
	if b0&0x30 != 0x30 {
		return int(uint16(b1) | uint16((b0&0x30)^0x30)<<4)
	}
	return int(b1)
}

// isFullImage reports whether a row event's column bitmaps name every column.
func isFullImage(e *replication.RowsEvent) bool {
	full := func(bm []byte) bool {
		n := int(e.ColumnCount)
		for i := range n {
			if bm[i/8]&(1<<(i%8)) == 0 {
				return false
			}
		}
		return true
	}
	if !full(e.ColumnBitmap1) {
		return false
	}
	return e.ColumnBitmap2 == nil || full(e.ColumnBitmap2)
}
