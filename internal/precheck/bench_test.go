package precheck_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector/engines"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/precheck"
	"github.com/dtsorg/dts/internal/testenv"
)

// benchTables is the size of the generated schema.
const benchTables = 10_000

// BenchmarkPrecheck10kTables times the whole precheck of a sync job over
// 10,000 tables (5 columns, a primary key, a secondary index, every tenth
// table with a foreign key), in both directions, and a migration into
// 10,000 existing target tables:
//
//	go test ./internal/precheck -run '^$' -bench Precheck10kTables -benchtime 3x -timeout 30m
//
// Creating the schema takes a minute or two per source and is not timed.
// A MariaDB source is timed twice: with its default table_definition_cache
// (400), where every information_schema query over 10,000 tables reopens
// their definitions, and with the cache holding them all.
func BenchmarkPrecheck10kTables(b *testing.B) {
	b.Run("mariadb-to-postgresql", func(b *testing.B) {
		srv := testenv.StartMariaDB(b, testenv.MariaDBOptions{})
		src := benchSide(b, srv)
		dst := newSide(b, testenv.Postgres(b))
		b.Run("table_definition_cache=400", func(b *testing.B) { benchRun(b, spec(src, dst, job.TypeSync)) })
		srv.Exec(b, "", "SET GLOBAL table_definition_cache = 20000", "SET GLOBAL table_open_cache = 20000")
		b.Run("table_definition_cache=20000", func(b *testing.B) { benchRun(b, spec(src, dst, job.TypeSync)) })

		// A migration into 10,000 existing (empty) target tables: the target's
		// tables are listed, and each is asked whether it holds rows.
		existing := benchSide(b, testenv.StartPostgres(b, testenv.PostgresOptions{}))
		m := spec(src, existing, job.TypeMigration)
		m.Target.Options.ExistingTables = job.ExistingAppend
		b.Run("migration-existing-tables", func(b *testing.B) { benchRun(b, m) })
	})
	b.Run("postgresql-to-mariadb", func(b *testing.B) {
		src := benchSide(b, testenv.StartPostgres(b, testenv.PostgresOptions{}))
		dst := newSide(b, testenv.MariaDB(b))
		b.Run("sync", func(b *testing.B) { benchRun(b, spec(src, dst, job.TypeSync)) })
	})
}

// benchSide creates the generated schema on a server of the benchmark's
// own (dropping 10,000 tables one by one at the end would take longer than
// stopping the server).
func benchSide(b *testing.B, srv *testenv.Server) side {
	s := side{srv: srv, database: "bench", schema: "bench"}
	if srv.Engine.IsMySQL() {
		srv.Exec(b, "", "CREATE DATABASE bench")
	} else {
		srv.Exec(b, "", "CREATE DATABASE bench")
		srv.Exec(b, "bench", "CREATE SCHEMA bench")
	}
	start := time.Now()
	generate(b, s, benchTables)
	b.Logf("created %d tables on %s in %s", benchTables, srv.Engine, time.Since(start).Round(time.Second))
	return s
}

func benchRun(b *testing.B, s *job.Spec) {
	var total time.Duration
	for i := range b.N {
		start := time.Now()
		rep := precheck.Run(context.Background(), s, precheck.Options{JobID: "bench", Engines: engines.Engines{}})
		took := time.Since(start)
		total += took
		b.StopTimer()
		slowest := slices.Clone(rep.Items)
		slices.SortFunc(slowest, func(a, b precheck.Item) int { return int(b.DurationMS - a.DurationMS) })
		var slow []string
		for _, it := range slowest[:min(6, len(slowest))] {
			slow = append(slow, fmt.Sprintf("%s %.1fs", it.ID, it.DurationMS/1000))
		}
		for _, it := range rep.Items {
			require.NotEqual(b, precheck.Failed, it.Status, "%s: %s", it.ID, it.Message)
		}
		sel := slices.IndexFunc(rep.Items, func(it precheck.Item) bool { return it.ID == "objects.selection" })
		require.GreaterOrEqual(b, sel, 0, "no objects.selection item")
		require.Contains(b, rep.Items[sel].Message, fmt.Sprintf("%d tables", benchTables))
		b.Logf("run %d: %d items in %.1f s; slowest: %s", i+1, len(rep.Items), took.Seconds(), strings.Join(slow, ", "))
		b.StartTimer()
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "s/precheck")
}

// generate creates n tables in the side's schema, on four connections.
func generate(b *testing.B, s side, n int) {
	q := func(i int) string { return fmt.Sprintf("%s.t%05d", s.schema, i) }
	stmts := func(i int) []string {
		fk := ""
		if i%10 == 9 {
			fk = fmt.Sprintf(", parent BIGINT REFERENCES %s (id)", q(i-1))
		}
		return []string{
			fmt.Sprintf("CREATE TABLE %s (id BIGINT PRIMARY KEY, name VARCHAR(100) NOT NULL, body TEXT, created TIMESTAMP NULL, amount DECIMAL(12,2)%s)", q(i), fk),
			fmt.Sprintf("CREATE INDEX t%05d_name ON %s (name)", i, q(i)),
		}
	}
	db := s.srv.DB(b, s.database)
	const workers = 4
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var batch []string
			for i := w * 10; i < n; i += workers * 10 {
				for j := i; j < min(i+10, n); j++ { // a table and the one its key references on one connection, in order
					batch = append(batch, stmts(j)...)
				}
			}
			if !s.mysql() { // transactions of 500 statements: PostgreSQL creates thousands of tables in seconds
				var txs []string
				for len(batch) > 0 {
					k := min(len(batch), 500)
					txs = append(txs, "BEGIN;\n"+strings.Join(batch[:k], ";\n")+";\nCOMMIT")
					batch = batch[k:]
				}
				batch = txs
			}
			for _, stmt := range batch {
				if _, err := db.ExecContext(context.Background(), stmt); err != nil {
					errs[w] = fmt.Errorf("%s: %w", stmt[:min(len(stmt), 80)], err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(b, err)
	}
}
