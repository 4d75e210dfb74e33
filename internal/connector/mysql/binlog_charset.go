package mysql

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Row events carry text in the column's character set; the snapshot reads
// it converted to utf8mb4 by the server. textDecoder does the server's
// conversion for the character sets whose mapping to Unicode is fixed and
// complete; a followed column in any other character set is refused when
// the stream starts (CodeUnsupportedColumn) rather than decoded differently
// from the snapshot.

// textDecoder appends the UTF-8 form of b to dst.
type textDecoder func(dst, b []byte) ([]byte, error)

// textDecoderFor returns the conversion of a character set as information_schema
// names it; ok is false for an unsupported one. nil means the bytes are UTF-8
// (or a byte string) already.
func textDecoderFor(charset string) (dec textDecoder, ok bool) {
	switch strings.ToLower(charset) {
	case "", "utf8mb4", "utf8mb3", "utf8", "binary", "ascii":
		return nil, true
	case "latin1":
		return decodeLatin1, true
	case "ucs2", "utf16":
		return func(dst, b []byte) ([]byte, error) { return decodeUTF16(dst, b, binary.BigEndian) }, true
	case "utf16le":
		return func(dst, b []byte) ([]byte, error) { return decodeUTF16(dst, b, binary.LittleEndian) }, true
	case "utf32":
		return decodeUTF32, true
	}
	return nil, false
}

// latin1High is MySQL's latin1 (Windows-1252 with the five bytes it leaves
// undefined mapped to the C1 controls) for bytes 0x80-0x9F; the other bytes
// are ISO 8859-1, equal to their code point.
var latin1High = [32]rune{
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
}

func decodeLatin1(dst, b []byte) ([]byte, error) {
	for _, c := range b {
		switch {
		case c < 0x80:
			dst = append(dst, c)
		case c < 0xA0:
			dst = utf8.AppendRune(dst, latin1High[c-0x80])
		default:
			dst = utf8.AppendRune(dst, rune(c))
		}
	}
	return dst, nil
}

func decodeUTF16(dst, b []byte, order binary.ByteOrder) ([]byte, error) {
	if len(b)%2 != 0 {
		return dst, fmt.Errorf("utf16 value of odd length %d", len(b))
	}
	for i := 0; i < len(b); i += 2 {
		r := rune(order.Uint16(b[i:]))
		if utf16.IsSurrogate(r) && i+3 < len(b) {
			r2 := rune(order.Uint16(b[i+2:]))
			if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
				dst = utf8.AppendRune(dst, d)
				i += 2
				continue
			}
		}
		dst = utf8.AppendRune(dst, r)
	}
	return dst, nil
}

func decodeUTF32(dst, b []byte) ([]byte, error) {
	if len(b)%4 != 0 {
		return dst, fmt.Errorf("utf32 value of length %d", len(b))
	}
	for i := 0; i < len(b); i += 4 {
		dst = utf8.AppendRune(dst, rune(binary.BigEndian.Uint32(b[i:])))
	}
	return dst, nil
}
