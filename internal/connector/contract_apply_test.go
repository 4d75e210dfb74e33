package connector

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/schema"
)

func lsn(n uint64) change.Position { return change.Position{Engine: "postgresql", LSN: n} }

// A complete checkpoint at E is the point before a transaction that
// begins at E (MySQL: Commit.Pos(T) = Txn.Pos(T+1)) and after everything
// that began before E.
func TestCheckpointOrder(t *testing.T) {
	done := Checkpoint{Pos: lsn(100), Complete: true}
	in := func(pos uint64, seq int) Checkpoint { return Checkpoint{Pos: lsn(pos), Seq: seq} }
	assert.Equal(t, 0, CompareCheckpoints(done, in(100, -1)))
	assert.Equal(t, -1, CompareCheckpoints(done, in(100, 0)))
	assert.Equal(t, 1, CompareCheckpoints(done, in(99, 1000)))
	assert.Equal(t, -1, CompareCheckpoints(in(50, 3), in(50, 4)))
	assert.Equal(t, 1, CompareCheckpoints(Checkpoint{Pos: lsn(101), Complete: true}, done))

	assert.True(t, done.Covers(lsn(99), 7), "a transaction that began before E")
	assert.False(t, done.Covers(lsn(100), 0), "the transaction beginning at E")
	assert.True(t, in(100, 3).Covers(lsn(100), 3))
	assert.False(t, in(100, 3).Covers(lsn(100), 4))
	assert.True(t, in(100, 3).Covers(lsn(90), 50))
	assert.True(t, done.CoversEnd(lsn(100)))
	assert.False(t, done.CoversEnd(lsn(101)))
	assert.False(t, in(100, 3).CoversEnd(lsn(110)))
}

func TestReplayWindowEnd(t *testing.T) {
	assert.True(t, ReplayWindowEnd(nil).IsZero())
	assert.True(t, ReplayWindowEnd([]change.Position{lsn(5)}).IsZero())
	assert.True(t, ReplayWindowEnd([]change.Position{lsn(5), lsn(5)}).IsZero())
	assert.Equal(t, lsn(9), ReplayWindowEnd([]change.Position{lsn(5), lsn(9), lsn(7)}))
}

func TestStructures(t *testing.T) {
	tab := &schema.Table{Schema: "s", Name: "t", PrimaryKey: []string{"id"}, Columns: []schema.Column{
		{Name: "id", Type: schema.Type{Kind: schema.KindInt32, Raw: "int"}},
		{Name: "d", Nullable: true, Default: &schema.Default{Kind: schema.DefaultLiteral, Value: "x"},
			Type: schema.Type{Kind: schema.KindArray, Elem: &schema.Type{Kind: schema.KindText}}},
	}}
	b, err := EncodeStructure(tab)
	require.NoError(t, err)
	got, err := DecodeStructure(b)
	require.NoError(t, err)
	assert.Equal(t, tab, got)
	_, err = DecodeStructure([]byte(`{"v":2,"table":{}}`))
	assert.Error(t, err)

	v2 := *tab
	v2.Columns = v2.Columns[:1]
	b2, _ := EncodeStructure(&v2)
	h := NewStructuresAt(lsn(50))
	require.NoError(t, h.Add("s.t", lsn(10).Encode(), string(b), true))
	require.NoError(t, h.Add("s.t", lsn(40).Encode(), string(b2), true))
	require.NoError(t, h.Add("s.t", lsn(60).Encode(), "", false)) // after 50: ignored
	require.NoError(t, h.Add("s.gone", lsn(10).Encode(), string(b), true))
	require.NoError(t, h.Add("s.gone", lsn(20).Encode(), "", false))
	tables := h.Tables()
	require.Len(t, tables, 1)
	assert.Len(t, tables[0].Columns, 1)
}
