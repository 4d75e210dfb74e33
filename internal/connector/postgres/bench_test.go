package postgres

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// BenchmarkCopy measures reading a table with COPY TO and writing it with
// COPY FROM (go test -run '^$' -bench Copy -benchtime 3x).
func BenchmarkCopy(b *testing.B) {
	const rows = 200_000
	v := newEnv(b, `CREATE TABLE t (id bigint PRIMARY KEY, name text, created_at timestamptz, amount numeric(12,2), payload text)`,
		`INSERT INTO t SELECT g, 'name ' || g, now() - g * interval '1 second', g / 100.0, repeat('x', 100) FROM generate_series(1, 200000) g`,
		`ANALYZE t`)
	ctx := context.Background()
	tab := v.table(b, "public", "t")
	snap, err := v.src.OpenSnapshot(ctx, 1)
	require.NoError(b, err)
	defer snap.Close()
	r := snap.Readers()[0]
	var all []value.Row
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		all = all[:0]
		start := time.Now()
		err := r.Read(ctx, connector.ReadRequest{Table: tab, Columns: tab.Names(), Key: []string{"id"}}, func(row value.Row) error {
			all = append(all, row.Clone())
			return nil
		})
		require.NoError(b, err)
		read := time.Since(start)
		require.Len(b, all, rows)

		v.exec(b, `DROP TABLE IF EXISTS copy.t`, `CREATE SCHEMA IF NOT EXISTS copy`, `CREATE TABLE copy.t (LIKE public.t INCLUDING ALL)`)
		target := *tab
		target.Schema = "copy"
		types := make([]schema.Type, len(tab.Columns))
		for j, c := range tab.Columns {
			types[j] = c.Type
		}
		start = time.Now()
		for off := 0; off < rows; off += 20_000 {
			_, err := v.sink.WriteChunk(ctx, connector.ChunkWrite{Table: &target, Columns: tab.Names(), SourceTypes: types}, batches(all[off:off+20_000], 1000))
			require.NoError(b, err)
		}
		write := time.Since(start)
		b.ReportMetric(float64(rows)/read.Seconds(), "read-rows/s")
		b.ReportMetric(float64(rows)/write.Seconds(), "write-rows/s")
	}
}
