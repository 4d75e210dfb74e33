package filter

import (
	"fmt"
	"testing"
	"time"

	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/value"
)

// FuzzParse: no input panics or takes long; every refusal is a user error;
// every accepted filter renders to SQL that parses back to the same tree
// (so the renderer never writes what the lexer would refuse: comments,
// semicolons, unbalanced quotes) and evaluates without panicking.
//
//	go test -run '^$' -fuzz FuzzParse -fuzztime 5m ./internal/filter/
func FuzzParse(f *testing.F) {
	for _, tc := range valid {
		f.Add(tc.src, tc.d == PostgreSQL)
	}
	for _, tc := range hostile {
		if len(tc.src) < 2000 {
			f.Add(tc.src, false)
			f.Add(tc.src, true)
		}
	}
	for _, src := range dbFilters {
		f.Add(src, false)
	}
	tables := map[Dialect]struct {
		rows []value.Row
	}{}
	for _, d := range dialects() {
		t := customers(d)
		rows := []value.Row{make(value.Row, len(t.Columns))} // all NULL
		sample := make(value.Row, len(t.Columns))
		for i, c := range t.Columns {
			sample[i] = []byte(map[string]string{"id": "42", "country": "DE", "name": "Müller ", "Mixed": "x",
				"code": "a_b%", "amount": "12.50", "score": "1e+300", "ratio": "0.1", "small": "32767",
				"big": "9223372036854775807", "born": "2024-02-29", "created_at": "2024-01-01 00:00:00.5",
				"seen": "1970-01-01 00:00:01", "opens": "23:59:59.999999", "order": "ß", "legacy": "ä", "tag": "vip",
				"since": "2024", "active": "1", "i32": "-2147483648"}[c.Name])
		}
		rows = append(rows, sample)
		tables[d] = struct{ rows []value.Row }{rows}
	}
	f.Fuzz(func(t *testing.T, src string, pg bool) {
		d := MySQL
		if pg {
			d = PostgreSQL
		}
		tbl := customers(d)
		// A hang is a failure too: crash the worker so the fuzzer keeps the input.
		watchdog := time.AfterFunc(5*time.Second, func() { panic(fmt.Sprintf("filter: no result after 5s for %q", src)) })
		defer watchdog.Stop()
		start := time.Now()
		flt, err := Parse(string(d), src, tbl)
		if elapsed := time.Since(start); elapsed > 2*time.Second {
			t.Fatalf("Parse took %v", elapsed)
		}
		if err != nil {
			if errs.CodeOf(err) != errs.InvalidParameter {
				t.Fatalf("refused with a non-user error: %v", err)
			}
			return
		}
		for _, target := range dialects() {
			sql := flt.SQL(target)
			if target != d {
				continue
			}
			back, err := Parse(string(d), sql, tbl)
			if err != nil {
				t.Fatalf("%q renders to %q, which does not parse: %v", src, sql, err)
			}
			if back.String() != flt.String() {
				t.Fatalf("%q renders to %q, which parses to\n%s, not\n%s", src, sql, back, flt)
			}
		}
		for _, row := range tables[d].rows {
			flt.Test(row) // errors are fine (overflow); panics are not
		}
	})
}
