package mysql

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// pgTable is a table as a PostgreSQL source would read it.
func pgTable(schemaName string) *schema.Table {
	col := func(name string, t schema.Type) schema.Column {
		return schema.Column{Name: name, Type: t, Nullable: true, Default: &schema.Default{Kind: schema.DefaultNull}}
	}
	cols := []schema.Column{
		{Name: "id", Type: schema.Type{Kind: schema.KindInt64, Raw: "bigint"}, AutoIncrement: true, Identity: "ALWAYS"},
		{Name: "flag", Type: schema.Type{Kind: schema.KindBool, Raw: "boolean"}, Default: &schema.Default{Kind: schema.DefaultLiteral, Value: "1"}},
		col("n", schema.Type{Kind: schema.KindDecimal, Raw: "numeric"}),
		col("n2", schema.Type{Kind: schema.KindDecimal, Precision: 10, Scale: 2, Raw: "numeric(10,2)"}),
		col("r", schema.Type{Kind: schema.KindFloat32, Raw: "real"}),
		col("d", schema.Type{Kind: schema.KindFloat64, Raw: "double precision"}),
		col("c", schema.Type{Kind: schema.KindChar, Length: 5, Raw: "character(5)"}),
		col("v", schema.Type{Kind: schema.KindVarChar, Length: 20, Raw: "character varying(20)"}),
		col("vu", schema.Type{Kind: schema.KindVarChar, Raw: "character varying"}),
		{Name: "code", Type: schema.Type{Kind: schema.KindText, Raw: "text"}},
		col("bt", schema.Type{Kind: schema.KindBlob, Raw: "bytea"}),
		{Name: "dt", Type: schema.Type{Kind: schema.KindDate, Raw: "date"}, Nullable: true, Default: &schema.Default{Kind: schema.DefaultCurrentDate}},
		col("tm", schema.Type{Kind: schema.KindTime, FSP: 3, Raw: "time(3) without time zone"}),
		col("ttz", schema.Type{Kind: schema.KindTimeTZ, FSP: 6, Raw: "time with time zone"}),
		{Name: "ts", Type: schema.Type{Kind: schema.KindDateTime, FSP: 6, Raw: "timestamp without time zone"}, Nullable: true,
			Default: &schema.Default{Kind: schema.DefaultCurrentTimestamp}},
		{Name: "tstz", Type: schema.Type{Kind: schema.KindTimestamp, FSP: 3, Raw: "timestamp(3) with time zone"}, Nullable: true,
			Default: &schema.Default{Kind: schema.DefaultCurrentTimestamp}},
		col("iv", schema.Type{Kind: schema.KindInterval, FSP: 6, Raw: "interval"}),
		col("j", schema.Type{Kind: schema.KindJSON, Raw: "json"}),
		col("jb", schema.Type{Kind: schema.KindJSON, JSONB: true, Raw: "jsonb"}),
		col("u", schema.Type{Kind: schema.KindUUID, Raw: "uuid"}),
		col("ip", schema.Type{Kind: schema.KindInet, Raw: "inet"}),
		col("mac", schema.Type{Kind: schema.KindMacAddr, Raw: "macaddr"}),
		col("b", schema.Type{Kind: schema.KindBit, Length: 3, Raw: "bit(3)"}),
		col("vb", schema.Type{Kind: schema.KindBit, Length: 10, VarBit: true, Raw: "bit varying(10)"}),
		col("arr", schema.Type{Kind: schema.KindArray, Elem: &schema.Type{Kind: schema.KindInt32}, Dims: 1, Raw: "integer[]"}),
		col("mood", schema.Type{Kind: schema.KindEnum, Values: []string{"happy", "Happy", "it's"}, Raw: "public.mood", UserType: "public.mood"}),
		col("m", schema.Type{Kind: schema.KindMoney, Raw: "money"}),
		col("x", schema.Type{Kind: schema.KindXML, Raw: "xml"}),
		col("hs", schema.Type{Kind: schema.KindUnknown, Raw: "public.hstore"}),
		{Name: "gen", Type: schema.Type{Kind: schema.KindInt64, Raw: "bigint"}, Nullable: true, Generated: &schema.Generated{Expr: "id * 2", Stored: true}},
		{Name: "seq", Type: schema.Type{Kind: schema.KindInt32, Raw: "integer"}, Nullable: true,
			Default: &schema.Default{Kind: schema.DefaultExpression, Value: "nextval('s'::regclass)"}},
		col("geo", schema.Type{Kind: schema.KindUnknown, Raw: "geometry(Point,4326)"}),
	}
	return &schema.Table{Schema: schemaName, Name: "pg", Columns: cols, PrimaryKey: []string{"id"},
		Indexes: []schema.Index{
			{Name: "pg_code_key", Unique: true, Columns: []schema.IndexColumn{{Name: "code"}}, Kind: "btree"},
			{Name: "pg_j_gin", Columns: []schema.IndexColumn{{Name: "jb"}}, Kind: "gin"},
			{Name: "pg_v_part", Columns: []schema.IndexColumn{{Name: "v", Opclass: "text_pattern_ops"}}, Kind: "btree", Where: "v IS NOT NULL"},
			{Name: "pg_vu", Columns: []schema.IndexColumn{{Name: "vu"}, {Name: "c"}}, Kind: "btree"},
			{Name: "pg_lower", Columns: []schema.IndexColumn{{Expr: "lower(v)"}}, Kind: "btree"},
		},
		Checks:  []schema.Check{{Name: "pg_n2_check", Expr: "(n2 > (0)::numeric)"}},
		Comment: "from postgres"}
}

func TestMapFromPostgres(t *testing.T) {
	e := newEnv(t)
	sink := e.sink()
	target, problems := sink.MapTable(pgTable(e.dst), "postgresql")

	byCol := map[string][]connector.TypeProblem{}
	for _, p := range problems {
		byCol[p.Column] = append(byCol[p.Column], p)
	}
	require.True(t, byCol["geo"][0].Fatal, "PostGIS types cannot be held")
	for _, c := range []string{"n", "code", "gen", "seq", "pg_j_gin", "pg_v_part", "pg_lower", "pg_n2_check"} {
		require.NotEmpty(t, byCol[c], c)
		require.False(t, byCol[c][0].Fatal, c)
	}
	raw := map[string]string{}
	for _, c := range target.Columns {
		raw[c.Name] = c.Type.Raw
	}
	require.Equal(t, map[string]string{"id": "bigint", "flag": "tinyint(1)", "n": "decimal(65,30)", "n2": "decimal(10,2)",
		"r": "float", "d": "double", "c": "char(5)", "v": "varchar(20)", "vu": "longtext", "code": "varchar(768)", "bt": "longblob",
		"dt": "date", "tm": "time(3)", "ttz": "varchar(32)", "ts": "datetime(6)", "tstz": "datetime(3)", "iv": "varchar(64)",
		"j": "json", "jb": "json", "u": "char(36)", "ip": "varchar(43)", "mac": "varchar(23)", "b": "bit(3)", "vb": "varchar(10)",
		"arr": "longtext", "mood": "enum('happy','Happy','it''s')", "m": "decimal(19,2)", "x": "longtext", "hs": "longtext",
		"gen": "bigint", "seq": "int", "geo": "longtext"}, raw)
	id, _ := target.Column("id")
	require.True(t, id.AutoIncrement)
	require.Empty(t, id.Identity)
	gen, _ := target.Column("gen")
	require.Nil(t, gen.Generated)
	tstz, _ := target.Column("tstz")
	require.Equal(t, &schema.Default{Kind: schema.DefaultCurrentTimestamp, FSP: 3}, tstz.Default)
	var names []string
	for _, ix := range target.Indexes {
		names = append(names, ix.Name)
	}
	require.Equal(t, []string{"pg_code_key", "pg_v_part", "pg_vu"}, names)
	require.Equal(t, []schema.IndexColumn{{Name: "vu", Length: 763}, {Name: "c"}}, target.Indexes[2].Columns)
	require.Empty(t, target.Checks)

	// The DDL is valid and canonical PostgreSQL values go in and come back.
	geo := target.ColumnIndex("geo")
	target.Columns = append(target.Columns[:geo], target.Columns[geo+1:]...)
	require.NoError(t, sink.PrepareTable(e.ctx, target, "fail"))
	require.NoError(t, sink.FinishTable(e.ctx, target))

	srcTable := pgTable(e.dst)
	srcTable.Columns = append(srcTable.Columns[:geo], srcTable.Columns[geo+1:]...)
	row := map[string]string{"id": "1", "flag": "1", "n": "-12345678901234567890.123456789", "n2": "12.50", "r": "0.1",
		"d": "-216237.0000003597", "c": "ab", "v": "x", "vu": "😀", "code": "k1", "bt": "\x00\xff", "dt": "2024-02-29",
		"tm": "12:00:00.125", "ttz": "12:00:00+05:30", "ts": "2024-01-02 03:04:05.5", "tstz": "2038-01-19 03:14:08.123",
		"iv": "1 year 2 mons 3 days 04:05:06.5", "j": `{"b":1,"a":2}`, "jb": `{"a": 2, "b": 1}`,
		"u": "123e4567-e89b-12d3-a456-426614174000", "ip": "192.168.0.1/24", "mac": "08:00:2b:01:02:03", "b": "101",
		"vb": "0101", "arr": "{1,2,NULL}", "mood": "it's", "m": "-92233720368547758.08", "x": "<a/>", "hs": `"a"=>"1"`,
		"gen": "2", "seq": "5"}
	vals := make(value.Row, len(target.Columns))
	types := make([]schema.Type, len(target.Columns))
	for i, c := range target.Columns {
		vals[i] = []byte(row[c.Name])
		types[i] = srcTable.Columns[i].Type
	}
	w := connector.ChunkWrite{Table: target, Columns: target.Names(), SourceTypes: types}
	sent := false
	n, err := sink.WriteChunk(e.ctx, w, func() ([]value.Row, error) {
		if sent {
			return nil, nil
		}
		sent = true
		return []value.Row{vals}, nil
	})
	require.NoError(t, err)
	require.EqualValues(t, 1, n)

	src := e.source()
	back := e.table(src, e.dst, "pg")
	snap := e.snapshot(src, 1)
	got := e.readAll(snap.Readers()[0], back)
	require.Len(t, got, 1)
	want := map[string]string{}
	for k, v := range row {
		want[k] = v
	}
	want["n"] = "-12345678901234567890.123456789000000000000000000000"
	want["r"] = "0.1"
	for i, c := range back.Columns {
		require.Equal(t, want[c.Name], string(got[0][i]), c.Name)
	}

	// What MySQL cannot hold fails loudly.
	for col, v := range map[string]string{"n": "NaN", "d": "Infinity", "r": "-Infinity", "dt": "infinity",
		"tstz": "10000-01-01 00:00:00", "c": "toolong"} {
		bad := vals.Clone()
		bad[0] = []byte("2")
		bad[target.ColumnIndex("code")] = []byte(col)
		bad[target.ColumnIndex(col)] = []byte(v)
		sent := false
		_, err := sink.WriteChunk(e.ctx, w, func() ([]value.Row, error) {
			if sent {
				return nil, nil
			}
			sent = true
			return []value.Row{bad}, nil
		})
		require.ErrorContains(t, err, CodeUnsupportedValue, "%s = %s", col, v)
	}
	for _, v := range []string{"1." + strings.Repeat("0", 30) + "1", "1" + strings.Repeat("0", 35)} {
		bad := vals.Clone()
		bad[0] = []byte("2")
		bad[target.ColumnIndex("n")] = []byte(v)
		sent := false
		_, err := sink.WriteChunk(e.ctx, w, func() ([]value.Row, error) {
			if sent {
				return nil, nil
			}
			sent = true
			return []value.Row{bad}, nil
		})
		require.ErrorContains(t, err, CodeUnsupportedValue, v)
	}
}
