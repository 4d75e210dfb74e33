package postgres

import (
	"testing"

	"github.com/jackc/pglogrepl"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/schema"
)

func attTable(cols ...string) *schema.Table {
	t := &schema.Table{Schema: "public", Name: "t"}
	for _, c := range cols {
		col := schema.Column{Name: c}
		if c == "g" {
			col.Generated = &schema.Generated{Expr: "id * 2", Stored: true}
		}
		t.Columns = append(t.Columns, col)
	}
	return t
}

func attMessage(cols ...string) *pglogrepl.RelationMessage {
	m := &pglogrepl.RelationMessage{Namespace: "public", RelationName: "t"}
	for _, c := range cols {
		m.Columns = append(m.Columns, &pglogrepl.RelationMessageColumn{Name: c})
	}
	return m
}

// attrs builds pg_attribute rows: "name", "-" for a dropped column,
// "name*" for a generated one.
func attrs(cols ...string) []catAttr {
	out := make([]catAttr, len(cols))
	for i, c := range cols {
		a := catAttr{num: int16(i + 1), name: c}
		switch {
		case c == "-":
			a.dropped = true
		case c[len(c)-1] == '*':
			a.name, a.gen = c[:len(c)-1], true
		}
		out[i] = a
	}
	return out
}

func TestFollowColumns(t *testing.T) {
	for _, tc := range []struct {
		name    string
		old     []string
		att     *attInfo
		msg     []string
		cat     []catAttr
		renames map[string]string
		nums    []int16 // nil: unknown
		err     string
	}{
		{name: "swap", old: []string{"id", "b", "c"}, att: &attInfo{nums: []int16{1, 2, 3}, max: 3},
			msg: []string{"id", "c", "b"}, cat: attrs("id", "c", "b"),
			renames: map[string]string{"b": "c", "c": "b"}, nums: []int16{1, 2, 3}},
		{name: "drop and add", old: []string{"id", "b"}, att: &attInfo{nums: []int16{1, 2}, max: 2},
			msg: []string{"id", "c"}, cat: attrs("id", "-", "c"), nums: []int16{1, 3}},
		{name: "renamed, then dropped: no other number", old: []string{"id", "b"}, att: &attInfo{nums: []int16{1, 2}, max: 2},
			msg: []string{"id", "c"}, cat: attrs("id", "-"), renames: map[string]string{"b": "c"}, nums: []int16{1, 2}},
		{name: "renamed or dropped and added, all dropped since: cannot tell", old: []string{"id", "b"}, att: &attInfo{nums: []int16{1, 2}, max: 2},
			msg: []string{"id", "c"}, cat: attrs("id", "-", "-"), err: "cannot tell"},
		{name: "dropped and added again", old: []string{"id", "b", "x"}, att: &attInfo{nums: []int16{1, 2, 3}, max: 3},
			msg: []string{"id", "x", "b"}, cat: attrs("id", "-", "x", "b"), err: "dropped and added again"},
		{name: "generated made plain", old: []string{"id", "g", "b"}, att: &attInfo{nums: []int16{1, 3}, gen: []int16{2}, max: 3},
			msg: []string{"id", "g", "b"}, cat: attrs("id", "g", "b"), nums: []int16{1, 2, 3}},
		{name: "generated stays", old: []string{"id", "g", "b"}, att: &attInfo{nums: []int16{1, 3}, gen: []int16{2}, max: 3},
			msg: []string{"id", "c", "e"}, cat: attrs("id", "g*", "c", "e", "f"),
			renames: map[string]string{"b": "c"}, nums: []int16{1, 3, 4}},
		{name: "added ones unknown", old: []string{"id", "b"}, att: &attInfo{nums: []int16{1, 2}, max: 2},
			msg: []string{"id", "b", "c"}, cat: attrs("id", "b", "-", "x", "c"), nums: nil},
		{name: "numbers unknown", old: []string{"id", "b"}, msg: []string{"id", "c"}, cat: attrs("id", "c"), err: "could not be known"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			renames, att, err := followColumns(attTable(tc.old...), tc.att, attMessage(tc.msg...), tc.cat)
			if tc.err != "" {
				require.Error(t, err)
				assert.Equal(t, CodeDecode, errs.CodeOf(err))
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.renames, renames)
			if tc.nums == nil {
				assert.Nil(t, att)
			} else {
				require.NotNil(t, att)
				assert.Equal(t, tc.nums, att.nums)
			}
		})
	}
}

func TestConfirmInitial(t *testing.T) {
	// The same names now: their numbers.
	a := confirmInitial(attTable("id", "g", "b"), attrs("id", "-", "g*", "b"))
	require.NotNil(t, a)
	assert.Equal(t, []int16{1, 4}, a.nums)
	assert.Equal(t, []int16{3}, a.gen)
	assert.Equal(t, []int16{2}, a.dropped)
	// Renamed and added since, nothing ever dropped: the first ones.
	a = confirmInitial(attTable("id", "b"), attrs("id", "c", "d"))
	require.NotNil(t, a)
	assert.Equal(t, []int16{1, 2}, a.nums)
	assert.EqualValues(t, 2, a.max)
	// Renamed since, and a column dropped at some time: unknown.
	assert.Nil(t, confirmInitial(attTable("id", "b"), attrs("id", "c", "-")))
	assert.Nil(t, confirmInitial(attTable("id", "b"), nil))
}
