package mysql

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/schema"
)

const parentDDL = "CREATE TABLE parent (id INT NOT NULL, code VARCHAR(20) NOT NULL, PRIMARY KEY (id), UNIQUE KEY uq_code (code)) COMMENT 'the parent'"

const everyDDL = "CREATE TABLE `every``type` (" +
	"a INT NOT NULL, b VARCHAR(30) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL, " +
	"id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT, " +
	"ti TINYINT, tiu TINYINT UNSIGNED, t1 TINYINT(1) DEFAULT 1, si SMALLINT UNSIGNED DEFAULT 7, mi MEDIUMINT, miu MEDIUMINT UNSIGNED, " +
	"i INT(8) UNSIGNED ZEROFILL, bi BIGINT, " +
	"d DECIMAL(65,30) DEFAULT 1.500, du DECIMAL(10,2) UNSIGNED, f FLOAT DEFAULT 0.1, dbl DOUBLE DEFAULT 1e308, " +
	"c CHAR(10) CHARACTER SET latin1 DEFAULT 'x''y\\\\z', vb VARBINARY(16) DEFAULT 'ab', bin BINARY(16), " +
	"tt TINYTEXT, tx TEXT, mt MEDIUMTEXT, lt LONGTEXT, tb TINYBLOB, bl BLOB, mb MEDIUMBLOB, lb LONGBLOB, " +
	"dt DATE DEFAULT '2000-01-01', tm TIME(6) DEFAULT '-838:59:59.000000', " +
	"dtm DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6), " +
	"ts TIMESTAMP(6) NULL DEFAULT NULL, ts0 TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:01', y YEAR DEFAULT 2024, " +
	"j JSON, e ENUM('a,b','it''s','back\\\\slash','') DEFAULT 'it''s', st SET('x','y','z') DEFAULT 'x,z', " +
	"bt1 BIT(1) DEFAULT b'1', bt64 BIT(64), u UUID, ip4 INET4, ip6 INET6, " +
	"gv INT AS (a + 1) VIRTUAL, gs VARCHAR(40) AS (concat(b,'!')) STORED, " +
	"cdt DATE DEFAULT curdate(), ex VARCHAR(36) DEFAULT (uuid()), " +
	"cm INT COMMENT 'it''s a comment', pid INT, gp POINT NOT NULL, g GEOMETRY, " +
	"PRIMARY KEY (a, b), UNIQUE KEY uq_id (id), KEY k_prefix (tx(10), c DESC), KEY k_multi (y, dt), " +
	"FULLTEXT KEY ft (lt), SPATIAL KEY sp (gp), " +
	"CONSTRAINT fk_parent FOREIGN KEY (pid) REFERENCES parent (id) ON DELETE SET NULL ON UPDATE CASCADE, " +
	"CONSTRAINT chk_pos CHECK (cm >= 0)" +
	") COMMENT 'every type' COLLATE utf8mb4_bin"

func TestStructureRoundTrip(t *testing.T) {
	e := newEnv(t)
	e.exec(parentDDL, everyDDL)
	src := e.source()
	sink := e.sink()

	refs, err := src.ListTables(e.ctx)
	require.NoError(t, err)
	var mine []connector.TableRef
	for _, r := range refs {
		require.NotContains(t, []string{"mysql", "information_schema", "performance_schema", "sys", "dts_meta"}, r.Schema)
		if r.Schema == e.src {
			mine = append(mine, r)
		}
	}
	require.Equal(t, []connector.TableRef{{Schema: e.src, Name: "every`type"}, {Schema: e.src, Name: "parent"}}, mine)
	tables, err := src.ReadTables(e.ctx, mine)
	require.NoError(t, err)
	every := tables[0]

	// What the source says.
	col := func(name string) schema.Column {
		c, ok := every.Column(name)
		require.True(t, ok, name)
		return *c
	}
	require.Equal(t, []string{"a", "b"}, every.PrimaryKey)
	require.Equal(t, "every type", every.Comment)
	require.Equal(t, "utf8mb4_bin", every.Collation)
	require.Equal(t, schema.Type{Kind: schema.KindInt64, Unsigned: true, Raw: "bigint(20) unsigned"}, col("id").Type)
	require.True(t, col("id").AutoIncrement)
	require.Equal(t, schema.KindInt8, col("t1").Type.Kind)
	require.Equal(t, schema.Type{Kind: schema.KindDecimal, Precision: 65, Scale: 30, Raw: "decimal(65,30)"}, col("d").Type)
	require.Equal(t, &schema.Default{Kind: schema.DefaultLiteral, Value: "1.500000000000000000000000000000"}, col("d").Default)
	require.Equal(t, &schema.Default{Kind: schema.DefaultLiteral, Value: "0.1"}, col("f").Default)
	require.Equal(t, &schema.Default{Kind: schema.DefaultLiteral, Value: "1e+308"}, col("dbl").Default)
	require.Equal(t, &schema.Default{Kind: schema.DefaultLiteral, Value: `x'y\z`}, col("c").Default)
	require.Equal(t, "latin1", col("c").Charset)
	require.Equal(t, schema.Type{Kind: schema.KindChar, Length: 10, Raw: "char(10)"}, col("c").Type)
	require.Equal(t, &schema.Default{Kind: schema.DefaultLiteral, Value: "-838:59:59"}, col("tm").Default)
	require.Equal(t, schema.Type{Kind: schema.KindTime, FSP: 6, Raw: "time(6)"}, col("tm").Type)
	require.Equal(t, &schema.Default{Kind: schema.DefaultCurrentTimestamp, FSP: 6}, col("dtm").Default)
	require.True(t, col("dtm").OnUpdateCurrentTimestamp)
	require.Equal(t, &schema.Default{Kind: schema.DefaultNull}, col("ts").Default)
	require.Equal(t, schema.KindJSON, col("j").Type.Kind)
	require.Equal(t, []string{"a,b", "it's", `back\slash`, ""}, col("e").Type.Values)
	require.Equal(t, &schema.Default{Kind: schema.DefaultLiteral, Value: "it's"}, col("e").Default)
	require.Equal(t, schema.KindSet, col("st").Type.Kind)
	require.Equal(t, &schema.Default{Kind: schema.DefaultLiteral, Value: "x,z"}, col("st").Default)
	require.Equal(t, schema.Type{Kind: schema.KindBit, Length: 64, Raw: "bit(64)"}, col("bt64").Type)
	require.Equal(t, &schema.Default{Kind: schema.DefaultLiteral, Value: "1"}, col("bt1").Default)
	require.Equal(t, schema.KindUUID, col("u").Type.Kind)
	require.Equal(t, schema.KindInet, col("ip4").Type.Kind)
	require.Equal(t, schema.KindInet, col("ip6").Type.Kind)
	require.Equal(t, &schema.Generated{Expr: "`a` + 1"}, col("gv").Generated)
	require.True(t, col("gs").Generated.Stored)
	require.Equal(t, &schema.Default{Kind: schema.DefaultCurrentDate}, col("cdt").Default)
	require.Equal(t, &schema.Default{Kind: schema.DefaultExpression, Value: "uuid()"}, col("ex").Default)
	require.Equal(t, "it's a comment", col("cm").Comment)
	require.Equal(t, schema.KindUnknown, col("g").Type.Kind)
	require.Equal(t, schema.KindBinary, col("bin").Type.Kind)
	require.Equal(t, schema.Type{Kind: schema.KindBlob, Size: schema.SizeMedium, Raw: "mediumblob"}, col("mb").Type)
	require.Equal(t, []schema.Check{{Name: "chk_pos", Expr: "`cm` >= 0"}}, every.Checks)
	require.Equal(t, []schema.ForeignKey{{Name: "fk_parent", Columns: []string{"pid"}, RefSchema: e.src, RefTable: "parent",
		RefColumns: []string{"id"}, OnDelete: "SET NULL", OnUpdate: "CASCADE"}}, every.ForeignKeys)
	ix := map[string]schema.Index{}
	for _, i := range every.Indexes {
		ix[i.Name] = i
	}
	require.Equal(t, []schema.IndexColumn{{Name: "tx", Length: 10}, {Name: "c", Desc: true}}, ix["k_prefix"].Columns)
	require.True(t, ix["uq_id"].Unique)
	require.Equal(t, "FULLTEXT", ix["ft"].Kind)
	require.Equal(t, "SPATIAL", ix["sp"].Kind)

	// Same-engine copy: create, finish, add keys, read back.
	var targets []*schema.Table
	for _, st := range tables {
		named := copyTable(st)
		named.Schema = e.dst
		for i := range named.ForeignKeys {
			named.ForeignKeys[i].RefSchema = e.dst
		}
		target, problems := sink.MapTable(named, "mariadb")
		require.Empty(t, problems)
		require.Equal(t, named, target, "same-engine types are verbatim")
		require.NoError(t, sink.PrepareTable(e.ctx, target, "fail"))
		targets = append(targets, target)
	}
	for _, tt := range targets {
		require.NoError(t, sink.FinishTable(e.ctx, tt))
		require.NoError(t, sink.FinishTable(e.ctx, tt), "FinishTable is idempotent")
	}
	for _, tt := range targets {
		require.NoError(t, sink.AddForeignKeys(e.ctx, tt))
		require.NoError(t, sink.AddForeignKeys(e.ctx, tt), "AddForeignKeys skips existing keys")
	}
	back, err := src.ReadTables(e.ctx, []connector.TableRef{{Schema: e.dst, Name: "every`type"}, {Schema: e.dst, Name: "parent"}})
	require.NoError(t, err)
	for i := range back {
		require.Equal(t, targets[i], back[i])
	}
}

func TestForeignKeyToMissingTable(t *testing.T) {
	e := newEnv(t)
	sink := e.sink()
	tbl := &schema.Table{Schema: e.dst, Name: "child", Columns: []schema.Column{{Name: "id", Type: schema.Type{Kind: schema.KindInt32, Raw: "int"}}},
		PrimaryKey:  []string{"id"},
		ForeignKeys: []schema.ForeignKey{{Name: "fk", Columns: []string{"id"}, RefSchema: e.dst, RefTable: "nope", RefColumns: []string{"id"}}}}
	require.NoError(t, sink.PrepareTable(e.ctx, tbl, "fail"))
	err := sink.AddForeignKeys(e.ctx, tbl)
	require.ErrorContains(t, err, CodeReferenceMissing)
}
