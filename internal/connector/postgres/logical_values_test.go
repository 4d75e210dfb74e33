package postgres

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// money printed under lc_monetary=C becomes what money::numeric prints in
// the readers' sessions, whatever their lc_monetary's fraction digits.
func TestMoneyNumeric(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in    string
		scale int
		want  string
	}{
		{"$0.00", 2, "0.00"},
		{"$0.05", 2, "0.05"},
		{"-$0.05", 2, "-0.05"},
		{"$1,234.50", 2, "1234.50"},
		{"-$92,233,720,368,547,758.08", 2, "-92233720368547758.08"},
		{"$1,234.50", 0, "123450"},
		{"$1,234.50", 3, "123.450"},
		{"-$0.01", 3, "-0.001"},
		{"$0.00", 0, "0"},
	} {
		got, err := moneyNumeric([]byte(c.in), c.scale)
		require.NoError(t, err, c.in)
		assert.Equal(t, c.want, string(got), "%s scale %d", c.in, c.scale)
	}
	for _, bad := range []string{"", "12", "€1,00", "$1.5"} {
		_, err := moneyNumeric([]byte(bad), 2)
		assert.Error(t, err, bad)
	}
	conv := func(e []byte) ([]byte, error) { return moneyNumeric(e, 2) }
	for in, want := range map[string]string{
		`{}`:                           `{}`,
		`{"$1,234.50",-$2.00,NULL}`:    `{1234.50,-2.00,NULL}`,
		`{{$1.00,NULL},{$2.00,$3.00}}`: `{{1.00,NULL},{2.00,3.00}}`,
		`[0:1]={$1.00,$2.00}`:          `[0:1]={1.00,2.00}`,
	} {
		got, err := mapArrayElements([]byte(in), conv)
		require.NoError(t, err, in)
		assert.Equal(t, want, string(got), in)
	}
}
