package apply

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

func col(name string, k schema.Kind, coll string) schema.Column {
	return schema.Column{Name: name, Type: schema.Type{Kind: k}, Collation: coll}
}

// Routing by table when rows can depend on each other beyond their key.
func TestRouteByTable(t *testing.T) {
	base := func() *schema.Table {
		return &schema.Table{Schema: "s", Name: "t", PrimaryKey: []string{"id"},
			Columns: []schema.Column{col("id", schema.KindInt32, ""), col("u", schema.KindInt32, ""), col("name", schema.KindVarChar, "utf8mb4_bin")}}
	}
	by := func(t *schema.Table, engine string) bool {
		b, _ := routeByTable(t, t, t.ChunkKey(), t.ChunkKey(), engine)
		return b
	}
	assert.False(t, by(base(), "mysql"))

	uk := base()
	uk.Indexes = []schema.Index{{Name: "u", Unique: true, Columns: []schema.IndexColumn{{Name: "u"}}}}
	assert.True(t, by(uk, "mysql"), "a second unique key")
	plain := base()
	plain.Indexes = []schema.Index{{Name: "u", Columns: []schema.IndexColumn{{Name: "u"}}}}
	assert.False(t, by(plain, "mysql"), "a plain index")

	nokey := base()
	nokey.PrimaryKey = nil
	assert.True(t, by(nokey, "mysql"), "no key")
	ukOnly := base()
	ukOnly.PrimaryKey = nil
	ukOnly.Indexes = []schema.Index{{Name: "u", Unique: true, Columns: []schema.IndexColumn{{Name: "u"}}}}
	assert.False(t, by(ukOnly, "mysql"), "a NOT NULL unique key is the row key")

	ci := base()
	ci.PrimaryKey = []string{"name"}
	ci.Columns[2].Collation = "utf8mb4_general_ci"
	assert.True(t, by(ci, "mysql"))
	ci.Columns[2].Collation = "utf8mb4_0900_ai_ci"
	assert.True(t, by(ci, "mysql"))
	ci.Columns[2].Collation = "utf8mb4_0900_as_cs"
	assert.False(t, by(ci, "mysql"))
	ci.Columns[2].Collation = ""
	ci.Collation = "latin1_swedish_ci"
	assert.True(t, by(ci, "mysql"), "the table's default collation")

	pg := base()
	pg.PrimaryKey = []string{"name"}
	for coll, insensitive := range map[string]bool{"": false, "C": false, "POSIX": false, "C.utf8": false, "en_US.utf8": false,
		"und-x-icu": false, "de-DE-x-icu": false, `"app"."ci"`: true, "case_insensitive": true, "my_nd": true} {
		pg.Columns[2].Collation = coll
		assert.Equal(t, insensitive, by(pg, "postgresql"), coll)
	}
}

// Keys the database holds equal hash alike: trailing spaces (PAD SPACE),
// -0 and 0.
func TestHashEquivalents(t *testing.T) {
	src := &schema.Table{Schema: "s", Name: "t", PrimaryKey: []string{"k", "f"},
		Columns: []schema.Column{col("k", schema.KindVarChar, ""), col("f", schema.KindFloat64, "")}}
	tp, err := newTablePlan(src, &TablePlan{Target: src}, "mysql", routingBlocks)
	require.NoError(t, err)
	h := func(k, f string) uint64 { return tp.hash(value.Row{[]byte(k), []byte(f)}) }
	assert.Equal(t, h("a", "0"), h("a  ", "-0"))
	assert.NotEqual(t, h("a", "0"), h("b", "0"))
	assert.NotEqual(t, h("ab", "1"), h("a", "b1"))
	assert.NotEqual(t, keyString(value.Row{[]byte("ab"), []byte("c")}), keyString(value.Row{[]byte("a"), []byte("bc")}))
	assert.NotEqual(t, keyString(value.Row{nil}), keyString(value.Row{{}}))
}

// Integer keys route by blocks of 256 neighbouring values (a burst of
// ascending inserts gives each worker runs of adjacent rows), the blocks
// spread evenly over the workers, and every key keeps one worker.
func TestIntegerKeysRouteByBlocks(t *testing.T) {
	tp := &tablePlan{seed: 0xcbf29ce484222325, keyInt: []bool{true}, keyText: []bool{false}, keyFloat: []bool{false}}
	key := func(n int64) value.Row { return value.Row{[]byte(strconv.FormatInt(n, 10))} }
	require.Equal(t, tp.hash(key(0)), tp.hash(key(255)))
	require.Equal(t, tp.hash(key(256)), tp.hash(key(511)))
	require.NotEqual(t, tp.hash(key(255)), tp.hash(key(256)))
	require.Equal(t, tp.hash(key(-1)), tp.hash(key(-256)))
	require.Equal(t, tp.hash(value.Row{[]byte("18446744073709551615")}), tp.hash(value.Row{[]byte("18446744073709551360")}), "unsigned 64-bit keys")
	require.NotEqual(t, tp.hash(value.Row{[]byte("x1")}), tp.hash(value.Row{[]byte("x2")}), "a key that is not a number is hashed as it is")

	const workers = 4
	per := make([]int, workers)
	for b := int64(0); b < 4000; b++ {
		per[tp.hash(key(b*256+7))%workers]++
	}
	for w, n := range per {
		require.InDelta(t, 1000, n, 150, "worker %d gets %d of 4000 blocks", w, n)
	}

	src := &schema.Table{Schema: "s", Name: "t", PrimaryKey: []string{"id"}, Columns: []schema.Column{col("id", schema.KindInt64, "")}}
	blocks, err := newTablePlan(src, &TablePlan{Target: src}, "mysql", routingBlocks)
	require.NoError(t, err)
	require.Equal(t, blocks.hash(key(1)), blocks.hash(key(2)))
	first, err := newTablePlan(src, &TablePlan{Target: src}, "mysql", 0)
	require.NoError(t, err)
	require.NotEqual(t, first.hash(key(1)), first.hash(key(2)), "scheme 0 hashes every key on its own")

	composite := &tablePlan{seed: 1, keyInt: []bool{false, true}, keyText: []bool{true, false}, keyFloat: []bool{false, false}}
	require.Equal(t, composite.hash(value.Row{[]byte("a"), []byte("1")}), composite.hash(value.Row{[]byte("a "), []byte("200")}))
	require.NotEqual(t, composite.hash(value.Row{[]byte("a"), []byte("1")}), composite.hash(value.Row{[]byte("b"), []byte("1")}))
}

// An update's changed columns come from the source's old and new rows
// (added columns always count), and a batch's are its rows' together,
// unknown as soon as one row's are.
func TestChangedColumns(t *testing.T) {
	src := &schema.Table{Schema: "s", Name: "t", PrimaryKey: []string{"id"},
		Columns: []schema.Column{col("id", schema.KindInt64, ""), col("a", schema.KindVarChar, ""), col("b", schema.KindVarChar, "")}}
	tp, err := newTablePlan(src, &TablePlan{Target: src}, "mysql", routingBlocks)
	require.NoError(t, err)
	r := func(vals ...any) value.Row {
		out := make(value.Row, len(vals))
		for i, v := range vals {
			if v != nil {
				out[i] = []byte(v.(string))
			}
		}
		return out
	}
	assert.Equal(t, []bool{false, true, false}, tp.changed(r("1", "x", "y"), r("1", "z", "y")))
	assert.Equal(t, []bool{false, false, true}, tp.changed(r("1", "x", nil), r("1", "x", "")), "NULL to empty is a change")
	assert.Equal(t, []bool{false, false, false}, tp.changed(r("1", "x", "y"), r("1", "x", "y")))

	var p pending
	p.noteChanged([]bool{false, true, false})
	p.rows = append(p.rows, r("1", "z", "y"))
	p.noteChanged([]bool{false, false, true})
	assert.Equal(t, []bool{false, true, true}, p.changed)
	p.rows = append(p.rows, r("2", "z", "y"))
	p.noteChanged(nil)
	assert.Nil(t, p.changed, "one row without old values: not known")
	p.rows = append(p.rows, r("3", "z", "y"))
	p.noteChanged([]bool{true, false, false})
	assert.Nil(t, p.changed)

	var first pending
	first.noteChanged(nil)
	assert.Nil(t, first.changed)
}
