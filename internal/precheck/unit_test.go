package precheck

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
)

// Unit tests of the rules that real servers here cannot exercise (other
// versions, other products) and of the pieces the checks are built from.

func TestRegistry(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, c := range registry {
		require.False(t, seen[c.ID], "duplicate id %s", c.ID)
		seen[c.ID] = true
		require.Regexp(t, `^(source|target|objects)\.[a-z_.]+$`, c.ID)
		require.NotEmpty(t, c.Title)
	}
	ids := func(s *job.Spec) []string {
		var out []string
		for _, c := range Applicable(s) {
			out = append(out, c.ID)
		}
		return out
	}
	sync := &job.Spec{Type: job.TypeSync, Source: job.Endpoint{Engine: job.EngineMariaDB}, Target: job.Endpoint{Engine: job.EnginePostgreSQL}}
	require.Contains(t, ids(sync), "source.binlog.format")
	require.NotContains(t, ids(sync), "source.wal_level")
	require.NotContains(t, ids(sync), "target.max_allowed_packet")
	pgSync := &job.Spec{Type: job.TypeSync, Source: job.Endpoint{Engine: job.EnginePostgreSQL}, Target: job.Endpoint{Engine: job.EngineMySQL}}
	require.Contains(t, ids(pgSync), "source.wal_level")
	require.Contains(t, ids(pgSync), "target.max_allowed_packet")
	require.NotContains(t, ids(pgSync), "source.privileges.snapshot")
	migration := &job.Spec{Type: job.TypeMigration, Source: job.Endpoint{Engine: job.EngineMariaDB}, Target: job.Endpoint{Engine: job.EnginePostgreSQL}}
	require.NotContains(t, ids(migration), "source.binlog.format")
	require.Contains(t, ids(migration), "source.privileges.snapshot")
	check := &job.Spec{Type: job.TypeCheck, Source: job.Endpoint{Engine: job.EngineMariaDB}, Target: job.Endpoint{Engine: job.EnginePostgreSQL}}
	require.NotContains(t, ids(check), "objects.types")
	require.Contains(t, ids(check), "target.existing_tables")
}

func TestVersions(t *testing.T) {
	t.Parallel()
	for text, want := range map[string]string{
		"5.6.51-log":                     Failed,
		"5.7.44":                         Passed,
		"8.0.36":                         Passed,
		"8.4.0":                          Passed,
		"9.1.0":                          Warning,
		"10.1.48-MariaDB":                Failed,
		"5.5.5-10.11.19-MariaDB-0+deb12": Passed,
		"11.4.2-MariaDB":                 Passed,
	} {
		require.Equal(t, want, versionOutcome(parseMySQLVersion(text)).Status, text)
	}
	require.Equal(t, Failed, versionOutcome(serverVersion{postgres: true, major: 11, text: "11.22"}).Status)
	require.Equal(t, Passed, versionOutcome(serverVersion{postgres: true, major: 12, text: "12.0"}).Status)
}

func TestGrants(t *testing.T) {
	t.Parallel()
	g := &grants{global: privSet{}, tables: map[[2]string]privSet{}, revoked: map[string]privSet{}, mariadb: true}
	for _, line := range []string{
		"GRANT RELOAD, BINLOG MONITOR ON *.* TO `ro`@`%` IDENTIFIED BY PASSWORD '*B69027D44F6E5EDC07F1AEAD1477967B16F28227'",
		"GRANT SELECT ON `sh\\_%`.* TO `ro`@`%`",
		"GRANT INSERT, SELECT (`a`, `b`) ON `shop`.`t` TO `ro`@`%`",
		"GRANT ALL PRIVILEGES ON `odd``name`.* TO `ro`@`%`",
		"GRANT `r1` TO `ro`@`%`",
		"GRANT EXECUTE ON PROCEDURE `shop`.`p` TO `ro`@`%`",
		"GRANT PROXY ON ''@'%' TO 'ro'@'%' WITH GRANT OPTION",
	} {
		g.add(line)
	}
	require.True(t, g.has("RELOAD", "", ""))
	require.True(t, g.has("REPLICATION CLIENT", "", ""), "MariaDB names it BINLOG MONITOR")
	require.False(t, g.has("REPLICATION SLAVE", "", ""))
	require.True(t, g.has("SELECT", "sh_1", "x"))
	require.False(t, g.has("SELECT", "shx1", "x"), `\_ is a literal _`)
	require.True(t, g.has("INSERT", "shop", "t"))
	require.False(t, g.has("SELECT", "shop", "t"), "a column grant does not cover the table")
	require.False(t, g.has("INSERT", "shop", ""))
	require.True(t, g.has("CREATE", "odd`name", ""))
	require.True(t, g.hasAny("sh_2"))
	require.False(t, g.hasAny("shop"), "only table-level grants in shop")

	m := &grants{global: privSet{}, tables: map[[2]string]privSet{}, revoked: map[string]privSet{}}
	m.add("GRANT SELECT, INSERT ON *.* TO `u`@`%`")
	m.add("REVOKE INSERT ON `mysql`.* FROM `u`@`%`")
	require.True(t, m.has("INSERT", "shop", ""))
	require.False(t, m.has("INSERT", "mysql", ""), "partial revoke")
	require.True(t, m.hasAny("anything"))
}

func TestQuoting(t *testing.T) {
	t.Parallel()
	require.Equal(t, `'o''brien'@'10.0.%'`, mysqlAccount("o'brien@10.0.%"))
	require.Equal(t, `'a@b'@'%'`, mysqlAccount("a@b@%"))
	require.Equal(t, "`sh\\_1\\%`", mysqlDBPattern("sh_1%"))
	require.Equal(t, `"we""ird"`, pgIdent(`we"ird`))
	require.True(t, likeMatch(`a\_b%`, "a_bcd", false))
	require.False(t, likeMatch(`a\_b%`, "axbcd", false))
	require.True(t, likeMatch("Shop", "shop", true))
}

func TestPgCut(t *testing.T) {
	t.Parallel()
	require.Equal(t, strings.Repeat("x", 63), pgCut(strings.Repeat("x", 64)))
	long := strings.Repeat("x", 62) + "é" // é is 2 bytes: 64 bytes, cut before it
	require.Equal(t, strings.Repeat("x", 62), pgCut(long))
}

func TestRowBound(t *testing.T) {
	t.Parallel()
	bounded := &schema.Table{Columns: []schema.Column{
		{Name: "id", Type: schema.Type{Kind: schema.KindInt64}},
		{Name: "v", Type: schema.Type{Kind: schema.KindVarChar, Length: 100}},
	}}
	require.Equal(t, int64(64+8+400+8), rowBound(bounded))
	unbounded := &schema.Table{Columns: []schema.Column{{Name: "t", Type: schema.Type{Kind: schema.KindText}}}}
	require.Equal(t, int64(-1), rowBound(unbounded))
	require.Equal(t, `SELECT max(COALESCE(octet_length("t")::bigint, 0)) + 0::bigint FROM "s"."x"`,
		rowSizeSQL(&schema.Table{Schema: "s", Name: "x", Columns: unbounded.Columns}))
}

func TestDiskOutcome(t *testing.T) {
	t.Parallel()
	require.Equal(t, Passed, diskOutcome(100, 0, "", false).Status)
	require.Contains(t, diskOutcome(100, 0, "", false).Message, "not readable")
	require.Equal(t, Failed, diskOutcome(100<<20, 50<<20, "/data", true).Status)
	require.Equal(t, Warning, diskOutcome(100<<20, 120<<20, "/data", true).Status)
	require.Equal(t, Passed, diskOutcome(100<<20, 500<<20, "/data", true).Status)
	require.Equal(t, "1.5 GiB", bytesText(3<<29))
}

func TestSingular(t *testing.T) {
	t.Parallel()
	require.Equal(t, "1 table in 1 database/schema selected", singular("1 tables in 1 databases/schemas selected"))
	require.Equal(t, "11 tables in 21 databases/schemas", singular("11 tables in 21 databases/schemas"))
	require.Equal(t, "ownership of 1 selected table (a.b)", singular("ownership of 1 selected tables (a.b)"))
}

func TestSpecHash(t *testing.T) {
	t.Parallel()
	s := &job.Spec{Name: "a", Type: job.TypeMigration, Source: job.Endpoint{Engine: job.EngineMariaDB, Password: "one"},
		Target: job.Endpoint{Engine: job.EnginePostgreSQL}, Objects: job.Objects{{Key: "shop", Value: job.DatabaseRule{All: true}}}}
	h := SpecHash(s)
	require.True(t, strings.HasPrefix(h, "sha256:"))
	c := s.Clone()
	c.Source.Password = "two"
	require.Equal(t, h, SpecHash(c), "passwords are not part of the hash")
	c.Normalize()
	require.Equal(t, h, SpecHash(c), "defaults are")
	c.Objects[0].Value.All = false
	require.NotEqual(t, h, SpecHash(c))
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := &catalog.Precheck{JobID: "j", SpecHash: "h", StartedAt: at, FinishedAt: at.Add(1500 * time.Millisecond), Items: []Item{
		{ID: "a", Status: Passed}, {ID: "b", Status: Warning}, {ID: "c", Status: Failed}, {ID: "d", Status: Failed},
	}}
	r := Summarize(p)
	require.Equal(t, Failed, r.Status)
	require.Equal(t, []string{"c", "d"}, r.Failing)
	require.Equal(t, 1500.0, r.DurationMS)

	p.Skips = []catalog.PrecheckSkip{{Item: "c", Reason: "known", At: at, Status: Failed}, {Item: "b", Reason: "fine", At: at, Status: Warning}}
	r = Summarize(p)
	require.Equal(t, Failed, r.Status)
	require.Equal(t, []string{"d"}, r.Failing)
	require.Equal(t, Skipped, r.Items[2].Status)
	require.Equal(t, Failed, r.Items[2].Skipped.Status)
	require.Equal(t, Failed, r.Items[2].Item.Status, "the stored outcome is kept")

	p.Skips = append(p.Skips, catalog.PrecheckSkip{Item: "d", Reason: "also", At: at, Status: Failed})
	r = Summarize(p)
	require.Equal(t, Passed, r.Status, "every failure and warning skipped")
	require.Equal(t, 3, r.Skipped)
	require.Empty(t, r.Failing)

	// A skip covers the status it was given for: the warning skipped earlier
	// that is now a failure fails, and a skip recorded without a status
	// (before skips had one) covers nothing.
	p.Items[1].Status = Failed
	p.Skips = append(p.Skips, catalog.PrecheckSkip{Item: "a", Reason: "old", At: at})
	p.Items[0].Status = Warning
	r = Summarize(p)
	require.Equal(t, Failed, r.Status)
	require.Equal(t, []string{"b"}, r.Failing)
	require.Equal(t, Failed, r.Items[1].Status)
	require.Nil(t, r.Items[1].Skipped)
	require.Equal(t, Warning, r.Items[0].Status)
	require.Equal(t, 2, r.Skipped)
}

func TestWidenColumn(t *testing.T) {
	t.Parallel()
	for def, want := range map[string]string{
		"`body` text CHARACTER SET utf8mb3 COLLATE utf8mb3_unicode_ci NOT NULL DEFAULT 'it\\'s' COMMENT 'the `body`'": "`body` text CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL DEFAULT 'it\\'s' COMMENT 'the `body`'",
		"`e` enum('a b','c)d') COLLATE latin1_bin DEFAULT NULL":                                                       "`e` enum('a b','c)d') CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL",
		"`odd``name` varchar(20)":         "`odd``name` varchar(20) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
		"`c` char(2) CHARSET latin1 NULL": "`c` char(2) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NULL",
	} {
		require.Equal(t, want, widenColumn(def, "utf8mb4_bin"), def)
	}
	known := map[string]bool{"co:utf8mb4_unicode_ci": true, "co:utf8mb4_swedish_ci": true, "co:utf8mb4_nopad_bin": true}
	require.Equal(t, "utf8mb4_unicode_ci", utf8mb4Collation("utf8mb3", "utf8mb3_unicode_ci", known))
	require.Equal(t, "utf8mb4_general_ci", utf8mb4Collation("latin1", "latin1_swedish_ci", known), "not Swedish rules")
	require.Equal(t, "utf8mb4_bin", utf8mb4Collation("latin1", "latin1_bin", known))
	require.Equal(t, "utf8mb4_nopad_bin", utf8mb4Collation("latin1", "latin1_nopad_bin", known))

	require.True(t, canHold("utf8mb4", ""), "PostgreSQL text into utf8mb4")
	require.False(t, canHold("utf8mb3", ""))
	require.False(t, canHold("utf8mb3", "utf8mb4"))
	require.True(t, canHold("utf8mb3", "latin1"))
	require.True(t, canHold("latin1", "ascii"))
	require.False(t, canHold("latin1", "cp1251"))
	require.True(t, canHold("binary", "utf8mb4"))
}
