package filter

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// row builds a row of customers(d) from column values (absent: NULL).
func row(d Dialect, vals map[string]string) value.Row {
	t := customers(d)
	r := make(value.Row, len(t.Columns))
	for name, v := range vals {
		i := t.ColumnIndex(name)
		if i < 0 {
			panic("no column " + name)
		}
		r[i] = []byte(v)
	}
	return r
}

func TestEval(t *testing.T) {
	t.Parallel()
	type rowCase struct {
		vals map[string]string
		want Result
	}
	cases := []struct {
		d    Dialect
		src  string
		rows []rowCase
	}{
		// Three-valued logic.
		{PostgreSQL, "active AND i32 > 0", []rowCase{
			{map[string]string{"active": "1", "i32": "1"}, True},
			{map[string]string{"active": "1"}, Unknown},
			{map[string]string{"active": "0"}, False}, // FALSE AND NULL
			{map[string]string{}, Unknown},
		}},
		{PostgreSQL, "active OR i32 > 0", []rowCase{
			{map[string]string{"active": "1"}, True}, // TRUE OR NULL
			{map[string]string{"active": "0"}, Unknown},
			{map[string]string{"active": "0", "i32": "0"}, False},
		}},
		{PostgreSQL, "NOT active", []rowCase{{map[string]string{}, Unknown}, {map[string]string{"active": "0"}, True}}},
		{MySQL, "id IS NULL OR amount IS NOT NULL", []rowCase{{map[string]string{"id": "1"}, False}, {map[string]string{"amount": "0.00"}, True}}},
		{MySQL, "(amount > 0) IS NOT TRUE", []rowCase{{map[string]string{}, True}, {map[string]string{"amount": "1.00"}, False}}},
		{MySQL, "(amount > 0) IS FALSE", []rowCase{{map[string]string{}, False}, {map[string]string{"amount": "-1.00"}, True}}},
		{MySQL, "amount <=> NULL", []rowCase{{map[string]string{}, True}, {map[string]string{"amount": "1.00"}, False}}},
		{MySQL, "amount <=> 1", []rowCase{{map[string]string{}, False}, {map[string]string{"amount": "1.00"}, True}}},
		{MySQL, "id NOT IN (1, 2)", []rowCase{{map[string]string{}, Unknown}, {map[string]string{"id": "3"}, True}, {map[string]string{"id": "2"}, False}}},
		{MySQL, "id BETWEEN 1 AND amount", []rowCase{{map[string]string{"id": "5"}, Unknown}, {map[string]string{"id": "0"}, False}}},
		{MySQL, "COALESCE(amount, score, 0) > 1", []rowCase{{map[string]string{"score": "1.5"}, True}, {map[string]string{}, False}}},

		// Exact numbers: BIGINT UNSIGNED and decimals never go through floats.
		{MySQL, "big = 18446744073709551615", []rowCase{{map[string]string{"big": "18446744073709551615"}, True},
			{map[string]string{"big": "18446744073709551614"}, False}}},
		{MySQL, "big > 9223372036854775807", []rowCase{{map[string]string{"big": "9223372036854775808"}, True}}},
		{MySQL, "amount = 12.5", []rowCase{{map[string]string{"amount": "12.50"}, True}}},
		{MySQL, "id = 9007199254740993", []rowCase{{map[string]string{"id": "9007199254740992"}, False}}},
		// A double is involved: compared as doubles, like the engines.
		{MySQL, "id = 9007199254740993e0", []rowCase{{map[string]string{"id": "9007199254740992"}, True}}},
		{MySQL, "ratio = 0.1", []rowCase{{map[string]string{"ratio": "0.1"}, False}}}, // FLOAT 0.1 is 0.100000001490116...
		{MySQL, "ratio < 0.1000001", []rowCase{{map[string]string{"ratio": "0.1"}, True}}},
		// PostgreSQL: NaN equals NaN and is greater than everything.
		{PostgreSQL, "score > 1e308", []rowCase{{map[string]string{"score": "NaN"}, True}, {map[string]string{"score": "Infinity"}, True}}},
		{PostgreSQL, "score = 'NaN'", []rowCase{{map[string]string{"score": "NaN"}, True}, {map[string]string{"score": "1"}, False}}},
		{PostgreSQL, "amount > 1e300", []rowCase{{map[string]string{"amount": "NaN"}, True}, {map[string]string{"amount": "-Infinity"}, False}}},
		{MySQL, "id % 4 = -1", []rowCase{{map[string]string{"id": "-7"}, False}, {map[string]string{"id": "-5"}, True}}},

		// Strings under the column's collation.
		{MySQL, "name = 'strasse'", []rowCase{{map[string]string{"name": "Straße"}, True}}},     // unicode_ci: ß = ss
		{MySQL, "name LIKE 'strasse'", []rowCase{{map[string]string{"name": "Straße"}, False}}}, // LIKE: one character at a time
		{MySQL, "name LIKE 'stra_e'", []rowCase{{map[string]string{"name": "STRAßE"}, True}}},
		{MySQL, "name = 'MULLER'", []rowCase{{map[string]string{"name": "Müller"}, True}}},                                 // accent-insensitive
		{MySQL, "country = 'de'", []rowCase{{map[string]string{"country": "DE  "}, True}}},                                 // PAD SPACE, case-insensitive
		{MySQL, "code = 'a '", []rowCase{{map[string]string{"code": "a"}, True}, {map[string]string{"code": "A"}, False}}}, // _bin pads
		{MySQL, "code < 'a'", []rowCase{{map[string]string{"code": "a\t"}, True}}},                                         // pad compares with spaces: \t < ' '
		{MySQL, "LOWER(code) = 'ǆ'", []rowCase{{map[string]string{"code": "Ǆ"}, True}}},
		{MySQL, "legacy = 'A'", []rowCase{{map[string]string{"legacy": "a"}, True}}},
		{MySQL, "LENGTH(name) = 7 AND CHAR_LENGTH(name) = 6", []rowCase{{map[string]string{"name": "Müller"}, True}}},
		{MySQL, "LENGTH(legacy) = 1", []rowCase{{map[string]string{"legacy": "ä"}, True}}}, // latin1: one byte
		{MySQL, "SUBSTRING(code, -3, 2) = 'cd'", []rowCase{{map[string]string{"code": "abcde"}, True}}},
		{MySQL, "SUBSTRING(code, 0) = ''", []rowCase{{map[string]string{"code": "abc"}, True}}},
		{MySQL, `code LIKE 'a\_b%'`, []rowCase{{map[string]string{"code": "a_bc"}, True}, {map[string]string{"code": "axbc"}, False}}},
		{PostgreSQL, "name = 'Straße'", []rowCase{{map[string]string{"name": "Strasse"}, False}, {map[string]string{"name": "Straße"}, True}}},
		{PostgreSQL, "name < 'a'", []rowCase{{map[string]string{"name": "Z"}, True}}}, // C order: 'Z' < 'a'
		{PostgreSQL, "LOWER(name) = 'äb'", []rowCase{{map[string]string{"name": "äB"}, True}, {map[string]string{"name": "ÄB"}, False}}},
		{PostgreSQL, "SUBSTRING(name, 0, 2) = 'a'", []rowCase{{map[string]string{"name": "abc"}, True}}},
		// char(n): padded values, trailing spaces ignored in comparisons,
		// dropped when converted to text, counted by OCTET_LENGTH and LIKE.
		{PostgreSQL, "country = 'DE'", []rowCase{{map[string]string{"country": "DE   "}, True}}},
		{PostgreSQL, "country = 'DE  '", []rowCase{{map[string]string{"country": "DE   "}, True}}},
		{PostgreSQL, "country LIKE 'DE'", []rowCase{{map[string]string{"country": "DE   "}, False}}},
		{PostgreSQL, "CHAR_LENGTH(country) = 2 AND OCTET_LENGTH(country) = 5", []rowCase{{map[string]string{"country": "DE   "}, True}}},
		{PostgreSQL, "LOWER(country) = 'de'", []rowCase{{map[string]string{"country": "DE   "}, True}}},
		{PostgreSQL, "tag = 'vip'", []rowCase{{map[string]string{"tag": "vip"}, True}}},

		// Dates and times as points in time.
		{MySQL, "created_at > '2024-01-01'", []rowCase{{map[string]string{"created_at": "2024-01-01 00:00:00.5"}, True},
			{map[string]string{"created_at": "2024-01-01 00:00:00"}, False}}},
		{MySQL, "born < created_at", []rowCase{{map[string]string{"born": "2024-01-01", "created_at": "2024-01-01 00:00:00.000001"}, True}}},
		{MySQL, "born < '0001-01-01'", []rowCase{{map[string]string{"born": "0000-00-00"}, True}}},
		{MySQL, "opens < '-00:00:01'", []rowCase{{map[string]string{"opens": "-838:59:59"}, True}, {map[string]string{"opens": "100:00:00"}, False}}},
		{PostgreSQL, "born < '0001-01-01'", []rowCase{{map[string]string{"born": "0044-03-15 BC"}, True}, {map[string]string{"born": "-infinity"}, True}}},
		{PostgreSQL, "born > '9999-12-31'", []rowCase{{map[string]string{"born": "infinity"}, True}, {map[string]string{"born": "10000-01-01"}, True}}},
		{MySQL, "since = 2024", []rowCase{{map[string]string{"since": "2024"}, True}}},
	}
	for _, tc := range cases {
		f, err := Parse(string(tc.d), tc.src, customers(tc.d))
		require.NoError(t, err, tc.src)
		for _, rc := range tc.rows {
			got, err := f.Test(row(tc.d, rc.vals))
			require.NoError(t, err, "%s on %v", tc.src, rc.vals)
			assert.Equal(t, rc.want, got, "%s: %s on %v", tc.d, tc.src, rc.vals)
			ok, _ := f.Eval(row(tc.d, rc.vals))
			assert.Equal(t, rc.want == True, ok)
		}
	}
}

// TestEvalFailsWhereTheEngineFails: an overflow the database reports is an
// error here too, never a guessed result.
func TestEvalFailsWhereTheEngineFails(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		d    Dialect
		src  string
		vals map[string]string
		want string
	}{
		{MySQL, "id + 1 > 0", map[string]string{"id": "9223372036854775807"}, "BIGINT value is out of range"},
		{MySQL, "big - 1 > 0", map[string]string{"big": "0"}, "BIGINT UNSIGNED value is out of range"},
		{MySQL, "ABS(id) > 0", map[string]string{"id": "-9223372036854775808"}, "BIGINT value is out of range in ABS"},
		{MySQL, "score * 1e300 > 0", map[string]string{"score": "1e+300"}, "DOUBLE value is out of range"},
		{PostgreSQL, "small + small > 0", map[string]string{"small": "32767"}, "smallint out of range"},
		{PostgreSQL, "i32 * 2 > 0", map[string]string{"i32": "2147483647"}, "integer out of range"},
		{PostgreSQL, "score * 1e-300 > 0", map[string]string{"score": "1e-300"}, "underflow"},
	} {
		f, err := Parse(string(tc.d), tc.src, customers(tc.d))
		require.NoError(t, err, tc.src)
		_, err = f.Eval(row(tc.d, tc.vals))
		assert.ErrorContains(t, err, tc.want, tc.src)
		// One more or one less and it is a result.
		_, err = f.Eval(row(tc.d, nil))
		assert.NoError(t, err, tc.src)
	}
}

func TestEvalRefusesRowsThatAreNotCanonical(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		src, col, v, want string
	}{
		{"id > 0", "id", "0x10", `"0x10" is not a canonical bigint`},
		{"amount > 0", "amount", "1e3", "is not a canonical decimal"},
		{"score > 0", "score", "fast", "is not a canonical double"},
		{"born > '2024-01-01'", "born", "2024/01/01", "is not a canonical date"},
		{"created_at > '2024-01-01'", "created_at", "2024-01-01T00:00:00", "is not a canonical datetime"},
		{"opens > '10:00:00'", "opens", "10:00", "is not a canonical time"},
		{"name = 'x'", "name", "\xff", "not UTF-8"},
	} {
		f, err := Parse("mysql", tc.src, customers(MySQL))
		require.NoError(t, err, tc.src)
		_, err = f.Eval(row(MySQL, map[string]string{tc.col: tc.v}))
		assert.ErrorContains(t, err, tc.want, tc.src)
	}
	f, err := Parse("postgresql", "active", customers(PostgreSQL))
	require.NoError(t, err)
	_, err = f.Eval(row(PostgreSQL, map[string]string{"active": "t"}))
	assert.ErrorContains(t, err, `"t" is not a canonical bool`)
	_, err = f.Eval(value.Row{nil})
	assert.ErrorContains(t, err, "the row has 1 values, the table 23 columns")
}

// TestEvalIsSafeForConcurrentUse runs one Filter from many goroutines (go test -race).
func TestEvalIsSafeForConcurrentUse(t *testing.T) {
	t.Parallel()
	f, err := Parse("mysql", "name LIKE 'm%' AND LOWER(code) <> 'x' AND amount * 2 > 1", customers(MySQL))
	require.NoError(t, err)
	r := row(MySQL, map[string]string{"name": "Müller", "code": "y", "amount": "1.00"})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				ok, err := f.Eval(r)
				assert.NoError(t, err)
				assert.True(t, ok)
			}
		}()
	}
	wg.Wait()
}

// TestReadOnlyTable: Parse does not change the table it is given.
func TestReadOnlyTable(t *testing.T) {
	t.Parallel()
	tbl := customers(MySQL)
	before := *tbl
	cols := append([]schema.Column(nil), tbl.Columns...)
	_, err := Parse("mysql", "name = 'x' AND legacy < 'y' AND amount > 1", tbl)
	require.NoError(t, err)
	assert.Equal(t, before.Name, tbl.Name)
	assert.Equal(t, cols, tbl.Columns)
}
