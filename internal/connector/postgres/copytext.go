package postgres

import (
	"bytes"
	"errors"
	"fmt"
)

// COPY's text format: one row per line, columns separated by tabs, \N for
// NULL, and backslash escapes for backslash, tab, newline and carriage
// return (and, on input, \b \f \v, octal \ooo and hex \xhh).

// copyParser reads COPY TO STDOUT text output. It is the io.Writer given to
// PgConn.CopyTo: each complete line is split into its columns, unescaped,
// and handed to onRow. The fields are valid during the call only.
type copyParser struct {
	ncol    int
	onRow   func(fields [][]byte) error
	pending []byte   // a line cut by the end of a write
	fields  [][]byte // the current row
	unesc   []byte   // unescaped bytes of the current row
}

func newCopyParser(ncol int, onRow func([][]byte) error) *copyParser {
	return &copyParser{ncol: ncol, onRow: onRow, fields: make([][]byte, ncol)}
}

// Write takes COPY data: PostgreSQL sends a row per message, but lines cut
// across writes are put together.
func (p *copyParser) Write(data []byte) (int, error) {
	n := len(data)
	if len(p.pending) > 0 {
		p.pending = append(p.pending, data...)
		data = p.pending
	}
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		if err := p.line(data[:i]); err != nil {
			return 0, err
		}
		data = data[i+1:]
	}
	p.pending = append(p.pending[:0], data...)
	return n, nil
}

// finish reports a row left without its newline.
func (p *copyParser) finish() error {
	if len(p.pending) > 0 {
		return errors.New("COPY output ended inside a row")
	}
	return nil
}

func (p *copyParser) line(line []byte) error {
	if p.ncol == 0 { // a table without columns: an empty line per row
		if len(line) > 0 {
			return errors.New("COPY row has columns, want none")
		}
		return p.onRow(p.fields)
	}
	p.unesc = p.unesc[:0]
	col := 0
	for start := 0; ; col++ {
		end := bytes.IndexByte(line[start:], '\t')
		last := end < 0
		if last {
			end = len(line)
		} else {
			end += start
		}
		if col >= p.ncol {
			return fmt.Errorf("COPY row has more than %d columns", p.ncol)
		}
		f := line[start:end]
		switch {
		case len(f) == 2 && f[0] == '\\' && f[1] == 'N':
			p.fields[col] = nil
		case bytes.IndexByte(f, '\\') < 0:
			p.fields[col] = f[:len(f):len(f)]
		default:
			from := len(p.unesc)
			p.unesc = unescapeCopy(p.unesc, f)
			p.fields[col] = p.unesc[from:len(p.unesc):len(p.unesc)]
		}
		if last {
			break
		}
		start = end + 1
	}
	if col != p.ncol-1 {
		return fmt.Errorf("COPY row has %d columns, want %d", col+1, p.ncol)
	}
	return p.onRow(p.fields)
}

// unescapeCopy appends f without COPY's backslash escapes.
func unescapeCopy(dst, f []byte) []byte {
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '\\' || i+1 == len(f) {
			dst = append(dst, c)
			continue
		}
		i++
		switch c = f[i]; c {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'v':
			dst = append(dst, '\v')
		case 'x':
			v, n := 0, 0
			for n < 2 && i+1 < len(f) && isHex(f[i+1]) {
				i++
				v = v<<4 | hexVal(f[i])
				n++
			}
			if n == 0 {
				dst = append(dst, 'x')
			} else {
				dst = append(dst, byte(v))
			}
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(c - '0')
			for n := 1; n < 3 && i+1 < len(f) && f[i+1] >= '0' && f[i+1] <= '7'; n++ {
				i++
				v = v<<3 | int(f[i]-'0')
			}
			dst = append(dst, byte(v))
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' }

func hexVal(c byte) int {
	switch {
	case c <= '9':
		return int(c - '0')
	case c >= 'a':
		return int(c-'a') + 10
	}
	return int(c-'A') + 10
}

// copyClass says what a byte needs in COPY text input: 1 an escape, 2 it
// is NUL, which no PostgreSQL text value can hold.
var copyClass = [256]uint8{'\\': 1, '\t': 1, '\n': 1, '\r': 1, 0: 2}

// errNUL is returned by appendCopyText for a value holding a NUL byte.
var errNUL = errors.New("NUL byte")

// appendCopyText appends v escaped for COPY text input.
func appendCopyText(dst, v []byte) ([]byte, error) {
	start := 0
	for i, c := range v {
		switch copyClass[c] {
		case 0:
			continue
		case 2:
			return dst, errNUL
		}
		dst = append(dst, v[start:i]...)
		switch c {
		case '\\':
			dst = append(dst, '\\', '\\')
		case '\t':
			dst = append(dst, '\\', 't')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		}
		start = i + 1
	}
	return append(dst, v[start:]...), nil
}

const hexDigits = "0123456789abcdef"

// appendCopyBytea appends bytes as bytea hex input, COPY-escaped: \\x<hex>.
func appendCopyBytea(dst, v []byte) []byte {
	dst = append(dst, '\\', '\\', 'x')
	for _, c := range v {
		dst = append(dst, hexDigits[c>>4], hexDigits[c&15])
	}
	return dst
}
