package mysql

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
)

// A structure built from DDL statements equals the one the server reports
// for the same statements (catalog.go): every column's type, character set,
// collation, nullability and default, the keys and the table's collation.
func TestDDLModelMatchesServer(t *testing.T) {
	e := newEnv(t)
	src := e.source()
	stmts := []string{
		"CREATE TABLE m (id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY, " +
			"ti TINYINT, ti1 TINYINT(1) NOT NULL DEFAULT 1, b BOOL, si SMALLINT(3) ZEROFILL, mi MEDIUMINT UNSIGNED, bi BIGINT DEFAULT -5, " +
			"d DECIMAL, d2 DECIMAL(10,2) NOT NULL DEFAULT '1.5', d3 NUMERIC(7), f FLOAT, f2 FLOAT(7,3), db DOUBLE, r REAL, dp DOUBLE PRECISION UNSIGNED, " +
			"bt BIT, bt5 BIT(5) DEFAULT b'101', y YEAR, dt DATE DEFAULT '2000-01-01', tm TIME(3), dtm DATETIME(6) DEFAULT CURRENT_TIMESTAMP(6), " +
			"ts TIMESTAMP NULL DEFAULT NULL, ts2 TIMESTAMP(2) NOT NULL DEFAULT CURRENT_TIMESTAMP(2) ON UPDATE CURRENT_TIMESTAMP(2), " +
			"c CHAR(3) NOT NULL DEFAULT 'a''b', c0 CHAR, vc VARCHAR(20) CHARACTER SET latin1, vb VARCHAR(10) BINARY, " +
			"vcol VARCHAR(10) COLLATE utf8mb4_bin, vcs VARCHAR(5) CHARACTER SET utf8 COLLATE utf8_unicode_ci, " +
			"bn BINARY(4), vbn VARBINARY(7), tt TINYTEXT, tx TEXT CHARACTER SET ascii, t1000 TEXT(1000), mt MEDIUMTEXT, lt LONGTEXT, " +
			"tb TINYBLOB, bl BLOB, mb MEDIUMBLOB, lb LONGBLOB, e ENUM('a','b''c','d,e') DEFAULT 'a', s SET('x','y') NOT NULL, " +
			"j JSON, " +
			"UNIQUE KEY (vc), KEY k_multi (ti, c(2) DESC), INDEX (mi), UNIQUE (vc, mi)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci",
		"CREATE TABLE l LIKE m",
		"CREATE TABLE p (a INT, b VARCHAR(3), PRIMARY KEY (a, b)) CHARACTER SET latin1",
		"ALTER TABLE p ADD COLUMN c TEXT, ADD COLUMN d INT NOT NULL FIRST, MODIFY b VARCHAR(9) CHARACTER SET utf8mb4 NOT NULL, " +
			"ADD UNIQUE INDEX ud (d), DEFAULT CHARSET utf8mb4",
		"ALTER TABLE p ADD COLUMN e VARCHAR(4), ALTER COLUMN d SET DEFAULT 7, DROP PRIMARY KEY, ADD PRIMARY KEY (d)",
		"ALTER TABLE p CHANGE COLUMN e e2 CHAR(4) NOT NULL DEFAULT 'zz' AFTER d, RENAME INDEX ud TO ud2",
		"CREATE TABLE q (id INT PRIMARY KEY, pid INT, v INT, FOREIGN KEY (pid) REFERENCES p (d) ON DELETE CASCADE)",
		"ALTER TABLE q ADD CONSTRAINT fk_v FOREIGN KEY (v) REFERENCES p (d), ADD KEY (v, pid)",
	}
	for _, q := range stmts {
		e.exec(q)
	}
	h := newSchemaHistory(nil, src.cat.srv, false)
	h.dbs[e.src] = true
	require.NoError(t, h.loadCharsets(e.ctx, src.db))
	p := newDDLParser()
	for _, q := range stmts {
		o, err := h.applyStatement(p, q, e.src, 0)
		require.NoError(t, err, q)
		require.Empty(t, o.reread, "%s: %s", q, o.why)
		require.NotEmpty(t, o.effects, q)
	}
	for _, name := range []string{"m", "l", "p", "q"} {
		live, err := src.ReadTables(e.ctx, []connector.TableRef{{Schema: e.src, Name: name}})
		require.NoError(t, err)
		got := h.get(e.src, name)
		require.NotNil(t, got, name)
		requireSameStructure(t, live[0], got)
		require.Equal(t, len(live[0].ForeignKeys), len(got.ForeignKeys), name)
		for i := range live[0].ForeignKeys {
			require.Equal(t, live[0].ForeignKeys[i], got.ForeignKeys[i], name)
		}
	}
}

// Statements the parser reads are classified, those it cannot read name the
// followed tables they mention, statement-logged changes name their tables.
func TestApplyStatementOutcomes(t *testing.T) {
	tbl := &schema.Table{Schema: "db", Name: "t", Collation: "utf8mb4_general_ci",
		Columns: []schema.Column{{Name: "id", Type: schema.Type{Kind: schema.KindInt32, Raw: "int(11)"}}}}
	newHist := func() *schemaHistory {
		return newSchemaHistory([]*schema.Table{tbl}, server{mariadb: true, major: 10, minor: 11}, false)
	}
	p := newDDLParser()
	cases := []struct {
		db      string // the statement's default database ("db" if empty)
		sql     string
		kinds   []string
		reread  []tableKey
		dml     bool
		wantErr bool
	}{
		{sql: "BEGIN"},
		{sql: "SAVEPOINT a"},
		{sql: "ALTER TABLE other.t ADD COLUMN x INT"},
		{sql: "ALTER TABLE t ADD COLUMN x INT", kinds: []string{job.DDLAlterTable}},
		{sql: "ALTER TABLE db.t ADD COLUMN IF NOT EXISTS id INT"},
		{sql: "ALTER TABLE t ADD COLUMN id INT", wantErr: true},
		{sql: "ALTER TABLE t DROP COLUMN nope", wantErr: true},
		{sql: "ALTER TABLE t DROP COLUMN IF EXISTS nope"},
		{sql: "ALTER TABLE t TRUNCATE PARTITION p0", wantErr: true},
		{sql: "ALTER TABLE t CONVERT TO CHARACTER SET latin1", reread: []tableKey{{"db", "t"}}},
		{sql: "CREATE OR REPLACE TABLE t (id INT)", reread: []tableKey{{"db", "t"}}},
		{sql: "ALTER TABLE t ADD COLUMN u UUID", reread: []tableKey{{"db", "t"}}},
		{sql: "CREATE TABLE n (u UUID)", reread: []tableKey{{"db", "n"}}},
		{sql: "CREATE TABLE elsewhere.n (u UUID)"},
		{sql: "CREATE TABLE n (id INT)", kinds: []string{job.DDLCreateTable}},
		{sql: "CREATE TEMPORARY TABLE n (id INT)"},
		{sql: "CREATE TABLE n SELECT * FROM t", reread: []tableKey{{"db", "n"}}},
		{sql: "RENAME TABLE t TO t_old, x TO t", kinds: []string{job.DDLRenameTable}, reread: []tableKey{{"db", "t"}}},
		{sql: "RENAME TABLE elsewhere.z TO db.z", reread: []tableKey{{"db", "z"}}},
		{sql: "DROP TABLE IF EXISTS `t`, `u` /* generated by server */", kinds: []string{job.DDLDropTable}},
		{sql: "DROP TEMPORARY TABLE IF EXISTS t"},
		{sql: "DROP VIEW t"},
		{sql: "TRUNCATE t", kinds: []string{""}},
		{sql: "DROP DATABASE db", kinds: []string{job.DDLDropTable}},
		{sql: "INSERT INTO t VALUES (1)", dml: true},
		{sql: "UPDATE t JOIN other.u ON 1 SET t.id = 2", dml: true},
		{sql: "DELETE FROM other.u", dml: false},
		{sql: "INSERT INTO other.u SELECT * FROM t"},
		{sql: "GRANT SELECT ON db.* TO x"},
		{sql: "CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.id = 1", reread: []tableKey{{"db", "t"}}},
		// Another database's same-named table: out of reach unless named.
		{db: "other", sql: "ALTER TABLE t ADD COLUMN u UUID"},
		{db: "other", sql: "CREATE TABLE t (u UUID)"},
		{db: "other", sql: "ALTER TABLE db.t ADD COLUMN u UUID", reread: []tableKey{{"db", "t"}}},
		{db: "other", sql: "ALTER TABLE `db` . `t` ADD COLUMN u INET6", reread: []tableKey{{"db", "t"}}},
		{db: "other", sql: "ALTER TABLE DB.t ADD COLUMN u UUID", reread: []tableKey{{"db", "t"}}}, // case folded: held, to be safe
		{db: "DB", sql: "ALTER TABLE t ADD COLUMN u UUID", reread: []tableKey{{"db", "t"}}},
	}
	for _, c := range cases {
		h := newHist()
		db := c.db
		if db == "" {
			db = "db"
		}
		o, err := h.applyStatement(p, c.sql, db, 0)
		if c.wantErr {
			require.Error(t, err, c.sql)
			continue
		}
		require.NoError(t, err, c.sql)
		var kinds []string
		for _, eff := range o.effects {
			kinds = append(kinds, eff.kind)
		}
		require.Equal(t, c.kinds, kinds, c.sql)
		require.Equal(t, c.reread, o.reread, c.sql)
		require.Equal(t, c.dml, len(o.dml) > 0, c.sql)
	}
}
