package postgres

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// mysqlTable is a table as the MySQL source describes it.
func mysqlTable(name string) *schema.Table {
	ty := func(k schema.Kind, raw string) schema.Type { return schema.Type{Kind: k, Raw: raw} }
	return &schema.Table{Schema: "shop", Name: name, PrimaryKey: []string{"id"}, Collation: "utf8mb4_general_ci",
		Columns: []schema.Column{
			{Name: "id", Type: schema.Type{Kind: schema.KindInt64, Unsigned: true, Raw: "bigint(20) unsigned"}, AutoIncrement: true},
			{Name: "flag", Type: ty(schema.KindInt8, "tinyint(1)"), Nullable: true, Default: &schema.Default{Kind: schema.DefaultLiteral, Value: "1"}},
			{Name: "big", Type: schema.Type{Kind: schema.KindInt64, Unsigned: true, Raw: "bigint unsigned"}, Nullable: true},
			{Name: "med", Type: ty(schema.KindInt24, "mediumint"), Nullable: true},
			{Name: "f", Type: ty(schema.KindFloat32, "float"), Nullable: true},
			{Name: "dbl", Type: ty(schema.KindFloat64, "double"), Nullable: true},
			{Name: "dec", Type: schema.Type{Kind: schema.KindDecimal, Precision: 5, Scale: 3, Raw: "decimal(5,3)"}, Nullable: true},
			{Name: "name", Type: schema.Type{Kind: schema.KindVarChar, Length: 40, Raw: "varchar(40)"}, Nullable: true, Charset: "utf8mb4", Collation: "utf8mb4_general_ci"},
			{Name: "code", Type: schema.Type{Kind: schema.KindChar, Length: 3, Raw: "char(3)"}, Nullable: true},
			{Name: "body", Type: schema.Type{Kind: schema.KindText, Size: schema.SizeLong, Raw: "longtext"}, Nullable: true},
			{Name: "raw", Type: schema.Type{Kind: schema.KindBinary, Length: 4, Raw: "binary(4)"}, Nullable: true},
			{Name: "d", Type: ty(schema.KindDate, "date"), Nullable: true},
			{Name: "tm", Type: schema.Type{Kind: schema.KindTime, FSP: 0, Raw: "time"}, Nullable: true},
			{Name: "dt", Type: schema.Type{Kind: schema.KindDateTime, FSP: 6, Raw: "datetime(6)"}, Nullable: true},
			{Name: "ts", Type: schema.Type{Kind: schema.KindTimestamp, FSP: 3, Raw: "timestamp(3)"}, Nullable: true,
				Default: &schema.Default{Kind: schema.DefaultCurrentTimestamp, Value: "current_timestamp(3)", FSP: 3}, OnUpdateCurrentTimestamp: true},
			{Name: "yr", Type: ty(schema.KindYear, "year(4)"), Nullable: true},
			{Name: "doc", Type: ty(schema.KindJSON, "json"), Nullable: true},
			{Name: "state", Type: schema.Type{Kind: schema.KindEnum, Values: []string{"new", "it's done", "naïve"}, Raw: "enum('new','it''s done','naïve')"},
				Default: &schema.Default{Kind: schema.DefaultLiteral, Value: "new"}},
			{Name: "tags", Type: schema.Type{Kind: schema.KindSet, Values: []string{"a", "b", "c"}, Raw: "set('a','b','c')"}, Nullable: true},
			{Name: "bits", Type: schema.Type{Kind: schema.KindBit, Length: 4, Raw: "bit(4)"}, Nullable: true,
				Default: &schema.Default{Kind: schema.DefaultLiteral, Value: "b'101'"}},
			{Name: "u", Type: ty(schema.KindUUID, "uuid"), Nullable: true},
			{Name: "ip", Type: ty(schema.KindInet, "inet6"), Nullable: true},
			{Name: "total", Type: schema.Type{Kind: schema.KindInt32, Raw: "int(11)"}, Nullable: true, Generated: &schema.Generated{Expr: "`med` * 2", Stored: true}},
			{Name: "made", Type: ty(schema.KindDate, "date"), Nullable: true, Default: &schema.Default{Kind: schema.DefaultExpression, Value: "(curdate() + interval 1 day)"}},
			{Name: "other_id", Type: schema.Type{Kind: schema.KindInt64, Unsigned: true, Raw: "bigint(20) unsigned"}, Nullable: true},
		},
		Indexes: []schema.Index{
			{Name: "idx_name", Columns: []schema.IndexColumn{{Name: "name", Length: 10}, {Name: "code", Desc: true}}},
			{Name: "uq_raw", Unique: true, Columns: []schema.IndexColumn{{Name: "raw", Length: 2}}},
			{Name: "ft", Kind: "FULLTEXT", Columns: []schema.IndexColumn{{Name: "body"}}},
		},
		Checks: []schema.Check{{Name: "doc_json", Expr: "json_valid(`doc`)"}, {Name: "positive", Expr: "`dec` > 0"}},
	}
}

func TestMapFromMySQL(t *testing.T) {
	t.Parallel()
	src := mysqlTable("orders")
	src.Columns = append(src.Columns,
		schema.Column{Name: "shape", Type: schema.Type{Kind: schema.KindUnknown, Raw: "geometry"}, Nullable: true},
		schema.Column{Name: strings.Repeat("x", 64), Type: schema.Type{Kind: schema.KindInt32, Raw: "int"}, Nullable: true})
	target, problems := mapTable(src, "mariadb")
	raw := map[string]string{}
	for _, c := range target.Columns {
		raw[c.Name] = c.Type.Raw
	}
	assert.Equal(t, map[string]string{"id": "bigint", "flag": "smallint", "big": "numeric(20,0)", "med": "integer", "f": "real",
		"dbl": "double precision", "dec": "numeric(5,3)", "name": "character varying(40)", "code": "character varying(3)",
		"body": "text", "raw": "bytea", "d": "date", "tm": "interval(0)", "dt": "timestamp(6) without time zone",
		"ts": "timestamp(3) with time zone", "yr": "smallint", "doc": "json", "state": "character varying(9)",
		"tags": "character varying(5)", "bits": "bit(4)", "u": "uuid", "ip": "inet", "total": "integer", "made": "date",
		"other_id": "numeric(20,0)", "shape": "geometry", strings.Repeat("x", 64): "integer"}, raw)
	fatal, warn := map[string]bool{}, map[string]bool{}
	for _, p := range problems {
		if p.Fatal {
			fatal[p.Column] = true
		} else {
			warn[p.Column] = true
		}
	}
	assert.Equal(t, map[string]bool{"shape": true, strings.Repeat("x", 64): true}, fatal)
	assert.Equal(t, map[string]bool{"id": true, "ts": true, "total": true, "made": true, "ft": true, "positive": true}, warn)
	assert.Empty(t, target.Collation)
	id, _ := target.Column("id")
	assert.Equal(t, "BY DEFAULT", id.Identity)
	bits, _ := target.Column("bits")
	assert.Equal(t, "0101", bits.Default.Value)
	assert.Equal(t, []schema.Check{{Name: "orders_state_check", Expr: `"state" IN ('new', 'it''s done', 'naïve')`}}, target.Checks)
	assert.Equal(t, []string{"orders_idx_name", "orders_uq_raw"}, []string{target.Indexes[0].Name, target.Indexes[1].Name})
	assert.Equal(t, `left("name", 10)`, target.Indexes[0].Columns[0].Expr)
	assert.Equal(t, `substring("raw" from 1 for 2)`, target.Indexes[1].Columns[0].Expr)
	assert.Equal(t, "mediumint", src.Columns[3].Type.Raw, "the source table is not changed")

	long := mysqlTable(strings.Repeat("t", 60))
	long.Indexes = long.Indexes[:1]
	target, _ = mapTable(long, "mysql")
	assert.Len(t, target.Indexes[0].Name, maxIdent)
	assert.Equal(t, target.Indexes[0].Name, shortName(long.Name+"_idx_name"))
}

func TestLoadFromMySQL(t *testing.T) {
	t.Parallel()
	v := newEnv(t)
	ctx := t.Context()
	orders, lines := mysqlTable("orders"), mysqlTable("lines")
	lines.ForeignKeys = []schema.ForeignKey{{Name: "lines_order", Columns: []string{"other_id"}, RefSchema: "shop", RefTable: "orders", RefColumns: []string{"id"}, OnDelete: "CASCADE"}}
	var targets []*schema.Table
	for _, src := range []*schema.Table{orders, lines} {
		target, problems := v.sink.MapTable(src, "mysql")
		for _, p := range problems {
			require.False(t, p.Fatal, "%+v", p)
		}
		require.NoError(t, v.sink.PrepareTable(ctx, target, job.ExistingFail))
		targets = append(targets, target)
	}
	types := make([]schema.Type, len(orders.Columns))
	for i, c := range orders.Columns {
		types[i] = c.Type
	}
	row := value.Row{[]byte("18"), []byte("127"), []byte("18446744073709551615"), []byte("-8388608"), []byte("3.4028235e+38"),
		[]byte("-216237.00000035967"), []byte("-12.340"), []byte("naïve 😀"), []byte("ab"), []byte("line\nbreak\\tab\t"),
		{0, 1, 0, 0}, []byte("1000-01-01"), []byte("-838:59:59"), []byte("9999-12-31 23:59:59.999999"),
		[]byte("2038-01-19 03:14:07.5"), []byte("2024"), []byte(`{"b": 1, "a": [1.50, "\u0000"]}`), []byte("it's done"),
		[]byte("a,c"), []byte("0101"), []byte("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"), []byte("::ffff:1.2.3.4"),
		[]byte("4"), []byte("2020-02-29"), nil}
	rows := []value.Row{row, {[]byte("3"), nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, nil, []byte("new"),
		[]byte(""), nil, nil, nil, nil, nil, []byte("18")}}
	for _, target := range targets {
		n, err := v.sink.WriteChunk(ctx, connector.ChunkWrite{Table: target, Columns: target.Names(), SourceTypes: types}, batches(rows, 1))
		require.NoError(t, err)
		assert.Equal(t, int64(2), n)
	}
	for _, target := range targets {
		require.NoError(t, v.sink.FinishTable(ctx, target))
	}
	for _, target := range targets {
		require.NoError(t, v.sink.AddForeignKeys(ctx, target))
	}

	back := v.readAll(t, v.table(t, "shop", "orders"))
	require.Len(t, back, 2)
	want := append(value.Row(nil), row...)
	want[1] = []byte("127")
	want[12] = []byte("-838:59:59")
	want[21] = []byte("::ffff:1.2.3.4")
	want[22] = []byte("4") // a plain column now: the copied value
	assert.Equal(t, want, back[1])

	lt := v.table(t, "shop", "lines")
	require.Len(t, lt.ForeignKeys, 1)
	assert.Equal(t, "lines_order", lt.ForeignKeys[0].Name)
	var names []string
	for _, ix := range lt.Indexes {
		names = append(names, ix.Name)
	}
	assert.Equal(t, []string{"lines_idx_name", "lines_uq_raw"}, names)

	// The identity is past the copied ids; defaults and the ENUM check work.
	v.exec(t, `INSERT INTO shop.orders (name) VALUES ('next')`)
	var id, state, bits string
	require.NoError(t, v.conn(t).QueryRow(ctx, `SELECT id::text, state, bits::text FROM shop.orders WHERE name = 'next'`).Scan(&id, &state, &bits))
	assert.Equal(t, []string{"19", "new", "0101"}, []string{id, state, bits})
	_, err := v.conn(t).Exec(ctx, `INSERT INTO shop.orders (state) VALUES ('bogus')`)
	require.Error(t, err, "the ENUM check holds")

	// Values PostgreSQL cannot hold fail loudly, naming the row.
	zero := append(value.Row(nil), row...)
	zero[0], zero[11] = []byte("77"), []byte("0000-00-00")
	_, err = v.sink.WriteChunk(ctx, connector.ChunkWrite{Table: targets[0], Columns: targets[0].Names(), SourceTypes: types}, batches([]value.Row{zero}, 1))
	require.Error(t, err)
	assert.Equal(t, CodeUnsupportedValue, errs.CodeOf(err))
	assert.Contains(t, err.Error(), `(id) = ("77")`)
	assert.Contains(t, err.Error(), "column d")
}
