package compare_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/compare"
	"github.com/dtsorg/dts/internal/testenv"
)

const boundRows = 3000

// bucketTables adds to a migrated pair a table whose text key orders
// differently on the two engines (hash mode) and one without a key (rows
// mode), equal on both sides.
func bucketTables(t *testing.T, src, dst side) {
	t.Helper()
	src.exec(t, "CREATE TABLE skey (id VARCHAR(20) PRIMARY KEY, v INT NOT NULL)",
		fmt.Sprintf("INSERT INTO skey SELECT CONCAT('k', seq), seq FROM seq_1_to_%d", boundRows),
		"CREATE TABLE bag (x INT, y VARCHAR(200))",
		fmt.Sprintf("INSERT INTO bag SELECT seq %% 100, REPEAT('y', seq %% 150) FROM seq_1_to_%d", boundRows),
		"ANALYZE TABLE skey, bag")
	dst.exec(t, "CREATE TABLE skey (id varchar(20) PRIMARY KEY, v int NOT NULL)",
		fmt.Sprintf("INSERT INTO skey SELECT 'k' || g, g FROM generate_series(1, %d) g", boundRows),
		"CREATE TABLE bag (x int, y varchar(200))",
		fmt.Sprintf("INSERT INTO bag SELECT g %% 100, repeat('y', g %% 150) FROM generate_series(1, %d) g", boundRows),
		"ANALYZE skey", "ANALYZE bag")
}

// TestSampledBuckets samples tables compared by hash buckets: both sides
// check the same rows (so equal tables are equal), and only a share of them.
func TestSampledBuckets(t *testing.T) {
	t.Parallel()
	spec, src, dst := migrated(t, testenv.MariaDB(t), testenv.Postgres(t))
	bucketTables(t, src, dst)
	opts := testOptions(compare.TypeContent)
	opts.Tables, opts.SamplePercent = []string{"skey", "bag"}, 34
	rep := runCompare(t, spec, opts, nil).Report
	requireEqual(t, rep)
	for _, name := range []string{"skey", "bag"} {
		tr := tableReport(t, rep, name)
		require.Less(t, tr.ChunksCompared, tr.Chunks, name)
		require.Greater(t, *tr.SourceRows, int64(0), name)
		require.Less(t, *tr.SourceRows, int64(boundRows), name)
		require.Equal(t, *tr.SourceRows, *tr.TargetRows, name)
	}
	require.Equal(t, "hash", tableReport(t, rep, "skey").Mode)
	require.Equal(t, "rows", tableReport(t, rep, "bag").Mode)

	opts.SamplePercent = 100
	full := runCompare(t, spec, opts, nil).Report
	require.Equal(t, int64(boundRows), *tableReport(t, full, "skey").SourceRows)
}

// TestMemoryBounds: differences beyond the row and byte budgets are
// counted, not kept; a table without a key keeps no more rows than the
// budget allows however many differ.
func TestMemoryBounds(t *testing.T) {
	t.Parallel()
	spec, src, dst := migrated(t, testenv.MariaDB(t), testenv.Postgres(t))
	bucketTables(t, src, dst)
	dst.exec(t, "DELETE FROM bag WHERE x < 50", "UPDATE big SET pad = 'x' WHERE id <= 40", "UPDATE skey SET v = -v WHERE v <= 40")

	opts := testOptions(compare.TypeContent)
	opts.Tables, opts.MaxRepairRows = []string{"bag", "skey"}, 25
	rep := runCompare(t, spec, opts, nil).Report
	bag, skey := tableReport(t, rep, "bag"), tableReport(t, rep, "skey")
	require.Equal(t, int64(boundRows/2), bag.Missing+bag.Unlisted, "every missing row is counted")
	require.Equal(t, int64(40), skey.Changed+skey.Unlisted)
	require.LessOrEqual(t, bag.Missing+skey.Changed, int64(25), "no more rows kept than the budget")
	require.True(t, rep.Repair.Truncated)

	opts.Tables, opts.MaxRepairRows, opts.MaxRepairBytes = []string{"big"}, 0, 4<<10
	big := tableReport(t, runCompare(t, spec, opts, nil).Report, "big")
	require.Equal(t, int64(40), big.Changed+big.Unlisted)
	require.Greater(t, big.Unlisted, int64(0), "rows of ~200 bytes beyond 4 KiB are not kept")
	require.Greater(t, big.Changed, int64(0))
}

// TestTimeLimit: a rows compare past its time limit reports its tables
// incomplete instead of running on.
func TestTimeLimit(t *testing.T) {
	t.Parallel()
	spec, _, _ := migrated(t, testenv.Postgres(t), testenv.MariaDB(t))
	for _, typ := range []string{compare.TypeRows, compare.TypeContent, compare.TypeObjects} {
		opts := testOptions(typ)
		opts.MaxDuration = time.Nanosecond
		rep := runCompare(t, spec, opts, nil).Report
		require.Equal(t, compare.StatusIncomplete, rep.Status, typ)
	}
}
