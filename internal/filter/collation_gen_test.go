package filter

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"os"
	"slices"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/testenv"
)

// TestGenerateCollationData reads MariaDB's per-character weights and case
// maps into mysql_collations.bin, then checks every collation of
// mysqlCollationList against the server, character by character. Run it after
// changing the list (it takes about a minute):
//
//	DTS_FILTER_GENERATE=1 go test -run TestGenerateCollationData ./internal/filter/
func TestGenerateCollationData(t *testing.T) {
	if os.Getenv("DTS_FILTER_GENERATE") == "" {
		t.Skip("set DTS_FILTER_GENERATE=1 to regenerate mysql_collations.bin from MariaDB")
	}
	srv := testenv.MariaDB(t)
	db := srv.DB(t, srv.NewDatabase(t)) // the seq_ tables of the SEQUENCE engine need a database
	g := &generator{t: t, db: db}

	var out bytes.Buffer
	out.WriteString(collationMagic)
	// Weight tables of the Unicode collations.
	g.weightTable(&out, "general", fallbackGeneral, "utf8mb4_general_ci", 0xFFFF)
	g.weightTable(&out, "uca400", fallbackUCA400, "utf8mb4_unicode_ci", 0xFFFF)
	g.weightTable(&out, "uca520", fallbackUCA520, "utf8mb4_unicode_520_ci", 0x10FFFF)
	// Case maps.
	g.caseTable(&out, "general", "utf8mb4_general_ci")
	g.caseTable(&out, "uca520", "utf8mb4_unicode_520_ci")
	// 8-bit charsets.
	g.latin1(&out)

	var gz bytes.Buffer
	zw, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	require.NoError(t, err)
	_, err = zw.Write(out.Bytes())
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	require.NoError(t, os.WriteFile("mysql_collations.bin", gz.Bytes(), 0o644))
	t.Logf("wrote mysql_collations.bin: %d bytes (%d uncompressed)", gz.Len(), out.Len())

	// Check every listed collation against the server with the new data.
	d, err := decodeCollationData(gz.Bytes())
	require.NoError(t, err)
	collationOnce.Do(func() {})
	collationTabs, collationErrVal = d, nil
	for i := range mysqlCollationList {
		g.verify(&mysqlCollationList[i])
	}
}

type generator struct {
	t  *testing.T
	db *sql.DB
}

// chars runs q (with ? for the character as a utf32 code point) for every
// character up to max of the charset and calls fn with the code point and
// the query's columns.
func (g *generator) chars(charset string, max rune, q string, fn func(cp rune, cols [][]byte)) {
	g.t.Helper()
	seq := fmt.Sprintf("seq_0_to_%d", max)
	src := "CONVERT(CHAR(seq USING utf32) USING " + charset + ")"
	query := fmt.Sprintf("SELECT seq, %s FROM %s WHERE seq NOT BETWEEN 55296 AND 57343",
		replaceAll(q, "?", src), seq)
	rows, err := g.db.QueryContext(context.Background(), query)
	require.NoError(g.t, err, query)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(g.t, err)
	vals := make([][]byte, len(cols)-1)
	ptrs := []any{new(int64)}
	for i := range vals {
		ptrs = append(ptrs, &vals[i])
	}
	for rows.Next() {
		require.NoError(g.t, rows.Scan(ptrs...))
		fn(rune(*ptrs[0].(*int64)), vals)
	}
	require.NoError(g.t, rows.Err())
}

func replaceAll(s, old, new string) string {
	return string(bytes.ReplaceAll([]byte(s), []byte(old), []byte(new)))
}

// weights16 splits a WEIGHT_STRING of 2-byte weights.
func weights16(b []byte) []uint32 {
	w := make([]uint32, len(b)/2)
	for i := range w {
		w[i] = uint32(b[2*i])<<8 | uint32(b[2*i+1])
	}
	return w
}

func (g *generator) weightTable(out *bytes.Buffer, name, fallback, collation string, max rune) {
	type entry struct {
		cp rune
		w  []uint32
	}
	var explicit []entry
	var runs []implicitRun
	g.chars("utf8mb4", max, "WEIGHT_STRING(? COLLATE "+collation+")", func(cp rune, cols [][]byte) {
		w := weights16(cols[0])
		if slices.Equal(w, appendFallback(nil, fallback, cp)) {
			return
		}
		if len(w) == 2 && w[1] == uint32(cp&0x7FFF)|0x8000 && w[0] >= uint32(cp>>15) {
			base := w[0] - uint32(cp>>15)
			if n := len(runs); n > 0 && runs[n-1].hi == cp-1 && runs[n-1].base == base {
				runs[n-1].hi = cp
			} else {
				runs = append(runs, implicitRun{lo: cp, hi: cp, base: base})
			}
			return
		}
		explicit = append(explicit, entry{cp, w})
	})
	if max == 0xFFFF { // beyond the BMP the fallback must hold: check it
		var n int
		q := "SELECT COUNT(*) FROM seq_65536_to_1114111 WHERE WEIGHT_STRING(CONVERT(CHAR(seq USING utf32) USING utf8mb4) COLLATE " +
			collation + ") <> 0xFFFD"
		require.NoError(g.t, g.db.QueryRow(q).Scan(&n))
		require.Zero(g.t, n, "%s: characters beyond the BMP do not all weigh U+FFFD", collation)
	}
	out.WriteByte('W')
	putStr(out, name)
	putStr(out, fallback)
	putUv(out, uint64(len(runs)))
	var prev rune
	for _, r := range runs {
		putUv(out, uint64(r.lo-prev))
		putUv(out, uint64(r.hi-r.lo))
		putUv(out, uint64(r.base))
		prev = r.lo
	}
	putUv(out, uint64(len(explicit)))
	prev = 0
	for _, e := range explicit {
		putUv(out, uint64(e.cp-prev))
		putUv(out, uint64(len(e.w)))
		for _, w := range e.w {
			putUv(out, uint64(w))
		}
		prev = e.cp
	}
	g.t.Logf("%s (%s): %d runs, %d explicit", name, collation, len(runs), len(explicit))
}

func (g *generator) caseTable(out *bytes.Buffer, name, collation string) {
	for _, fn := range []string{"LOWER", "UPPER"} {
		prefix := casesLower
		if fn == "UPPER" {
			prefix = casesUpper
		}
		type entry struct{ from, to rune }
		var m []entry
		g.chars("utf8mb4", 0x10FFFF, fn+"(? COLLATE "+collation+")", func(cp rune, cols [][]byte) {
			r, size := utf8.DecodeRune(cols[0])
			require.Equal(g.t, len(cols[0]), size, "%s(%U) under %s is not one character", fn, cp, collation)
			if r != cp {
				m = append(m, entry{cp, r})
			}
		})
		out.WriteByte('C')
		putStr(out, prefix+name)
		putUv(out, uint64(len(m)))
		var prev rune
		for _, e := range m {
			putUv(out, uint64(e.from-prev))
			putUv(out, uint64(e.to))
			prev = e.from
		}
		g.t.Logf("%s%s: %d characters change", prefix, name, len(m))
	}
}

// latin1 writes the latin1 charset (MySQL's latin1 is cp1252), the weights
// of its _ci collations and its case tables, and those of ascii.
func (g *generator) latin1(out *bytes.Buffer) {
	byteQuery := func(charset, expr string) [][]byte {
		q := "SELECT " + replaceAll(expr, "?", "CONVERT(CAST(CHAR(seq) AS BINARY) USING "+charset+")") +
			" FROM seq_0_to_255 ORDER BY seq"
		if charset == "ascii" {
			q = replaceAll(q, "seq_0_to_255", "seq_0_to_127")
		}
		rows, err := g.db.Query(q)
		require.NoError(g.t, err, q)
		defer rows.Close()
		var res [][]byte
		for rows.Next() {
			var b []byte
			require.NoError(g.t, rows.Scan(&b))
			res = append(res, b)
		}
		require.NoError(g.t, rows.Err())
		return res
	}
	out.WriteByte('L')
	putStr(out, "latin1")
	for _, b := range byteQuery("latin1", "CONVERT(? USING utf8mb4)") {
		r, size := utf8.DecodeRune(b)
		require.Equal(g.t, len(b), size)
		putUv(out, uint64(r))
	}
	for _, c := range []struct{ charset, collation string }{
		{"latin1", "latin1_swedish_ci"}, {"latin1", "latin1_general_ci"}, {"ascii", "ascii_general_ci"},
	} {
		out.WriteByte('B')
		putStr(out, c.collation)
		ws := byteQuery(c.charset, "WEIGHT_STRING(? COLLATE "+c.collation+")")
		for i := 0; i < 256; i++ {
			w := 0
			if i < len(ws) {
				require.Len(g.t, ws[i], 1, "%s weight of byte %d", c.collation, i)
				w = int(ws[i][0])
			}
			putUv(out, uint64(w))
		}
	}
	for _, charset := range []string{"latin1", "ascii"} {
		for _, fn := range []string{"LOWER", "UPPER"} {
			prefix := casesLower
			if fn == "UPPER" {
				prefix = casesUpper
			}
			out.WriteByte('M')
			putStr(out, prefix+charset)
			res := byteQuery(charset, "CAST("+fn+"(?) AS BINARY)")
			for i := 0; i < 256; i++ {
				b := byte(i)
				if i < len(res) {
					require.Len(g.t, res[i], 1)
					b = res[i][0]
				}
				out.WriteByte(b)
			}
		}
	}
}

// verify compares the in-process collation with the server for every
// character of the charset: weights, LOWER, UPPER and the pad attribute.
func (g *generator) verify(c *mysqlCollation) {
	g.t.Helper()
	var pad bool
	q := fmt.Sprintf("SELECT CONVERT('a' USING %s) COLLATE %s = CONVERT('a ' USING %s)", c.charset, c.name, c.charset)
	require.NoError(g.t, g.db.QueryRow(q).Scan(&pad), q)
	require.Equal(g.t, pad, c.pad, "%s: pad attribute", c.name)

	max := rune(0x10FFFF)
	switch c.charset {
	case "utf8mb3":
		max = 0xFFFF
	case "latin1", "ascii":
		g.verify8bit(c)
		return
	}
	mismatches := 0
	g.chars(c.charset, max, "WEIGHT_STRING(? COLLATE "+c.name+"), LOWER(? COLLATE "+c.name+"), UPPER(? COLLATE "+c.name+")",
		func(cp rune, cols [][]byte) {
			s := string(cp)
			if c.weights != "" { // _bin weights are the code points; only the case maps matter
				if got, want := c.key(s), weights16(cols[0]); !slices.Equal(got, want) {
					mismatches++
					if mismatches < 10 {
						g.t.Errorf("%s: weights of %U: got %X, server %X", c.name, cp, got, want)
					}
				}
			}
			if got := c.lower(s); got != string(cols[1]) {
				mismatches++
				if mismatches < 10 {
					g.t.Errorf("%s: LOWER(%U): got %q, server %q", c.name, cp, got, cols[1])
				}
			}
			if got := c.upper(s); got != string(cols[2]) {
				mismatches++
				if mismatches < 10 {
					g.t.Errorf("%s: UPPER(%U): got %q, server %q", c.name, cp, got, cols[2])
				}
			}
		})
	require.Zero(g.t, mismatches, c.name)
	g.t.Logf("verified %s", c.name)
}

func (g *generator) verify8bit(c *mysqlCollation) {
	n := 256
	if c.charset == "ascii" {
		n = 128
	}
	q := fmt.Sprintf(`SELECT CONVERT(x USING utf8mb4), WEIGHT_STRING(x), CONVERT(LOWER(x) USING utf8mb4), CONVERT(UPPER(x) USING utf8mb4)
		FROM (SELECT CONVERT(CAST(CHAR(seq) AS BINARY) USING %s) COLLATE %s AS x FROM seq_0_to_%d) z`, c.charset, c.name, n-1)
	rows, err := g.db.Query(q)
	require.NoError(g.t, err, q)
	defer rows.Close()
	for rows.Next() {
		var ch, w, lo, up []byte
		require.NoError(g.t, rows.Scan(&ch, &w, &lo, &up))
		s := string(ch)
		want := make([]uint32, len(w))
		for i, b := range w {
			want[i] = uint32(b)
		}
		require.Equal(g.t, want, c.key(s), "%s: weight of %q", c.name, s)
		require.Equal(g.t, string(lo), c.lower(s), "%s: LOWER(%q)", c.name, s)
		require.Equal(g.t, string(up), c.upper(s), "%s: UPPER(%q)", c.name, s)
		for _, r := range s {
			require.True(g.t, c.representable(r), "%s: %q", c.name, s)
		}
	}
	require.NoError(g.t, rows.Err())
	g.t.Logf("verified %s", c.name)
}

func putUv(b *bytes.Buffer, v uint64) { b.Write(binary.AppendUvarint(nil, v)) }

func putStr(b *bytes.Buffer, s string) {
	putUv(b, uint64(len(s)))
	b.WriteString(s)
}
