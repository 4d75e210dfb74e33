package apply_test

import (
	"context"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/apply"
	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// version returns a copy of t changed by fn: a new table version, as a
// source's schema history makes one per DDL.
func version(t *schema.Table, fn func(*schema.Table)) *schema.Table {
	n := *t
	n.Columns = append([]schema.Column(nil), t.Columns...)
	n.Indexes = append([]schema.Index(nil), t.Indexes...)
	n.PrimaryKey = append([]string(nil), t.PrimaryKey...)
	fn(&n)
	return &n
}

func ddl(kind string, old, t *schema.Table, stmt string) *change.DDL {
	return &change.DDL{Kind: kind, Schema: "src", Statement: stmt, Old: old, Table: t}
}

// Schema changes are barriers applied on the target with the rows around
// them: ADD, DROP and RENAME COLUMN, CREATE INDEX, RENAME TABLE, CREATE
// and DROP TABLE; the schema history records each version.
func TestSchemaChanges(t *testing.T) {
	forEngines(t, func(t *testing.T, h *harness) {
		v1 := h.table("t", []tcol{{name: "id", kind: schema.KindInt32}, {name: "a", kind: schema.KindVarChar, n: 10, null: true},
			{name: "b", kind: schema.KindInt32, null: true}}, []string{"id"})
		h.create(v1)
		ctx := testCtx(t)
		require.NoError(t, h.sink.SaveSchemas(ctx, h.jobID, lsn(1), []*schema.Table{v1}))
		s := newScript()
		s.txn(ins(v1, row(1, "one", 1)), ins(v1, row(2, "two", 2)))
		v2 := version(v1, func(t *schema.Table) {
			t.Columns = append(t.Columns, schema.Column{Name: "c", Nullable: true, Type: v1.Columns[1].Type, Charset: v1.Columns[1].Charset, Collation: v1.Columns[1].Collation})
		})
		s.ddl(ddl(job.DDLAlterTable, v1, v2, "ALTER TABLE t ADD COLUMN c varchar(10)"))
		afterAdd := s.end()
		s.txn(ins(v2, row(3, "three", 3, "c3")), upd(v2, row(1, "one", 1, nil), row(1, "one", 1, "c1")))
		v3 := version(v2, func(t *schema.Table) { t.Columns = append(t.Columns[:2:2], t.Columns[3]) })
		s.ddl(ddl(job.DDLAlterTable, v2, v3, "ALTER TABLE t DROP COLUMN b"))
		s.txn(ins(v3, row(4, "four", "c4")))
		v4 := version(v3, func(t *schema.Table) { t.Columns[1].Name = "aa" })
		rename := ddl(job.DDLAlterTable, v3, v4, "ALTER TABLE t RENAME COLUMN a TO aa")
		rename.Renames = map[string]string{"a": "aa"}
		s.ddl(rename)
		s.txn(upd(v4, row(2, "two", nil), row(2, "TWO", "c2")))
		v5 := version(v4, func(t *schema.Table) {
			t.Indexes = append(t.Indexes, schema.Index{Name: "t_c", Columns: []schema.IndexColumn{{Name: "c"}}})
		})
		s.ddl(ddl(job.DDLCreateIndex, v4, v5, "CREATE INDEX t_c ON t (c)"))
		v6 := version(v5, func(t *schema.Table) { t.Name = "t2" })
		s.ddl(ddl(job.DDLRenameTable, v5, v6, "RENAME TABLE t TO t2"))
		s.txn(ins(v6, row(5, "five", "c5")), del(v6, row(3, "three", "c3")))
		n1 := h.table("fresh", []tcol{{name: "k", kind: schema.KindInt32}, {name: "w", kind: schema.KindVarChar, n: 5, null: true}}, []string{"k"})
		s.ddl(ddl(job.DDLCreateTable, nil, n1, "CREATE TABLE fresh ..."))
		s.txn(ins(n1, row(1, "x")), ins(n1, row(2, "y")))
		gone := h.table("gone", []tcol{{name: "k", kind: schema.KindInt32}}, []string{"k"})
		s.ddl(ddl(job.DDLCreateTable, nil, gone, "CREATE TABLE gone ..."))
		s.txn(ins(gone, row(1)))
		s.ddl(ddl(job.DDLDropTable, gone, nil, "DROP TABLE gone"))

		require.NoError(t, h.apply(s, h.options(4)))
		assert.Equal(t, []string{"1|one|c1", "2|TWO|c2", "4|four|c4", "5|five|c5"}, h.dump("t2", "id", "aa", "c"))
		assert.Equal(t, []string{"1|x", "2|y"}, h.dump("fresh", "k", "w"))
		exists, _, err := h.sink.TableInfo(ctx, h.schema, "gone")
		require.NoError(t, err)
		assert.False(t, exists)
		exists, _, err = h.sink.TableInfo(ctx, h.schema, "t")
		require.NoError(t, err)
		assert.False(t, exists)
		assert.True(t, h.hasIndex("t2", "t_c"))

		names := func(tables []*schema.Table) []string {
			var out []string
			for _, t := range tables {
				out = append(out, t.Name+":"+strings.Join(t.Names(), ","))
			}
			return out
		}
		got, err := h.sink.LoadSchemas(ctx, h.jobID, s.end())
		require.NoError(t, err)
		assert.Equal(t, []string{"fresh:k,w", "t2:id,aa,c"}, names(got))
		got, err = h.sink.LoadSchemas(ctx, h.jobID, afterAdd)
		require.NoError(t, err)
		assert.Equal(t, []string{"t:id,a,b,c"}, names(got))
		got, err = h.sink.LoadSchemas(ctx, h.jobID, lsn(5))
		require.NoError(t, err)
		assert.Equal(t, []string{"t:id,a,b"}, names(got))
	})
}

func (h *harness) hasIndex(table, index string) bool {
	h.t.Helper()
	var n int
	var err error
	if h.engine == "mariadb" {
		err = h.sql.QueryRow("SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = ?",
			h.schema, table, index).Scan(&n)
	} else {
		err = h.sql.QueryRow("SELECT COUNT(*) FROM pg_indexes WHERE schemaname = $1 AND tablename = $2 AND indexname = $3",
			h.schema, table, index).Scan(&n)
	}
	require.NoError(h.t, err)
	return n > 0
}

// A DDL the job does not carry still moves the schema history, and the
// target keeps its structure.
func TestDDLNotCarried(t *testing.T) {
	forEngines(t, func(t *testing.T, h *harness) {
		v1 := basic(h, "nc")
		s := newScript()
		s.txn(ins(v1, row(1, "a", 1)))
		v2 := version(v1, func(t *schema.Table) {
			t.Indexes = append(t.Indexes, schema.Index{Name: "nc_v", Columns: []schema.IndexColumn{{Name: "v"}}})
		})
		s.ddl(ddl(job.DDLCreateIndex, v1, v2, "CREATE INDEX nc_v ON nc (v)"))
		s.txn(ins(v2, row(2, "b", 2)))
		opts := h.options(2)
		opts.CarryDDL = func(kind string) bool { return kind != job.DDLCreateIndex }
		require.NoError(t, h.apply(s, opts))
		assert.False(t, h.hasIndex("nc", "nc_v"))
		assert.Equal(t, []string{"1|a|1", "2|b|2"}, h.dump("nc", "id", "v", "n"))
		got, err := h.sink.LoadSchemas(testCtx(t), h.jobID, s.end())
		require.NoError(t, err)
		require.Len(t, got, 1)
		assert.Len(t, got[0].Indexes, 1)
	})
}

// genStream streams one transaction of n rows made on the fly (the test
// holds none of them), then a heartbeat.
type genStream struct {
	n, i  int
	tx    *change.Txn
	make  func(i int) *change.Row
	state int
	acks  atomic.Int64
}

func (g *genStream) Next(ctx context.Context) (change.Item, error) {
	switch g.state {
	case 0:
		g.state = 1
		return change.Item{Kind: change.ItemBegin, Txn: g.tx, Pos: g.tx.Pos}, nil
	case 1:
		if g.i < g.n {
			r := g.make(g.i)
			r.Seq = g.i
			g.i++
			return change.Item{Kind: change.ItemRow, Txn: g.tx, Row: r}, nil
		}
		g.state = 2
		return change.Item{Kind: change.ItemCommit, Txn: g.tx, Pos: lsn(100), At: g.tx.CommitTime}, nil
	case 2:
		g.state = 3
		return change.Item{Kind: change.ItemHeartbeat, Pos: lsn(100), At: time.Now()}, nil
	}
	<-ctx.Done()
	return change.Item{}, ctx.Err()
}

func (g *genStream) Ack(change.Position) error { g.acks.Add(1); return nil }
func (g *genStream) Close() error              { return nil }

// A transaction of 100,000 rows of 1 KiB streams through: statements go
// out as they fill, only the commit waits for the end, and the heap stays
// far below the transaction's 100 MB.
//
// Not parallel: the heap is measured with no other test running.
func TestBigTransactionBoundedMemory(t *testing.T) {
	for _, e := range engines {
		t.Run(e, func(t *testing.T) { bigTransaction(t, newHarness(t, e)) })
	}
}

func bigTransaction(t *testing.T, h *harness) {
	{
		tab := h.table("big", []tcol{{name: "id", kind: schema.KindInt32}, {name: "pad", kind: schema.KindText}}, []string{"id"})
		h.create(tab)
		const n = 100_000
		pad := strings.Repeat("p", 1024)
		g := &genStream{n: n, tx: &change.Txn{ID: "big", Pos: lsn(10), CommitTime: time.Now()}, make: func(i int) *change.Row {
			return ins(tab, value.Row{[]byte(fmt.Sprint(i)), []byte(pad)})
		}}
		var peak atomic.Uint64
		defer debug.SetGCPercent(debug.SetGCPercent(25)) // measure live memory, not garbage
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		base := ms.HeapAlloc
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(10 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					var ms runtime.MemStats
					runtime.ReadMemStats(&ms)
					if ms.HeapAlloc > peak.Load() {
						peak.Store(ms.HeapAlloc)
					}
				}
			}
		}()
		opts := h.options(4)
		opts.StopAt = lsn(100)
		c, err := apply.New(testCtx(t), opts)
		require.NoError(t, err)
		defer c.Close()
		require.NoError(t, c.Run(testCtx(t), g))
		close(stop)
		wg.Wait()
		var count int
		require.NoError(t, h.sql.QueryRow("SELECT COUNT(*) FROM "+h.qname("big")).Scan(&count))
		assert.Equal(t, n, count)
		growth := int64(peak.Load()) - int64(base)
		t.Logf("%s: heap grew by at most %d MiB applying a %d MiB transaction", h.engine, growth>>20, n*len(pad)>>20)
		assert.Less(t, growth, int64(64<<20))
	}
}

// ddlCrash fails right after each schema change the first time it is
// applied: the DDL is on the target (MySQL: committed by itself), its
// checkpoint is not.
type ddlCrash struct {
	connector.ApplySink
	mu   sync.Mutex
	seen map[string]bool
}

func (d *ddlCrash) OpenApplier(ctx context.Context, jobID string, worker, workers, routing int) (connector.Applier, error) {
	a, err := d.ApplySink.OpenApplier(ctx, jobID, worker, workers, routing)
	return &ddlCrashApplier{Applier: a, d: d}, err
}

type ddlCrashApplier struct {
	connector.Applier
	d *ddlCrash
}

func (a *ddlCrashApplier) ApplySchemaChange(ctx context.Context, d *change.DDL) error {
	if err := a.Applier.ApplySchemaChange(ctx, d); err != nil {
		return err
	}
	a.d.mu.Lock()
	defer a.d.mu.Unlock()
	if !a.d.seen[d.Statement] {
		a.d.seen[d.Statement] = true
		return errCrash
	}
	return nil
}

// Every kind of schema change survives a crash right after it reached the
// target: the replay finds it there (MySQL: on the catalog; PostgreSQL: it
// was rolled back with the checkpoint) and the result is the same.
func TestSchemaChangeReplay(t *testing.T) {
	forEngines(t, func(t *testing.T, h *harness) {
		v1 := h.table("r", []tcol{{name: "id", kind: schema.KindInt32}, {name: "a", kind: schema.KindVarChar, n: 10, null: true},
			{name: "b", kind: schema.KindInt32, null: true}}, []string{"id"})
		h.create(v1)
		s := newScript()
		s.txn(ins(v1, row(1, "one", 1)))
		v2 := version(v1, func(t *schema.Table) {
			t.Columns = append(t.Columns, schema.Column{Name: "c", Nullable: true, Type: v1.Columns[2].Type})
		})
		s.ddl(ddl(job.DDLAlterTable, v1, v2, "ADD COLUMN c"))
		v3 := version(v2, func(t *schema.Table) { t.Columns[1].Name = "a2" })
		rename := ddl(job.DDLAlterTable, v2, v3, "RENAME COLUMN a TO a2")
		rename.Renames = map[string]string{"a": "a2"}
		s.ddl(rename)
		v4 := version(v3, func(t *schema.Table) {
			t.Columns[1].Type = h.table("x", []tcol{{name: "x", kind: schema.KindVarChar, n: 30}}, nil).Columns[0].Type
		})
		s.ddl(ddl(job.DDLAlterTable, v3, v4, "MODIFY a2 varchar(30)"))
		s.txn(ins(v4, row(2, strings.Repeat("w", 30), 2, 20)))
		v5 := version(v4, func(t *schema.Table) {
			t.Indexes = append(t.Indexes, schema.Index{Name: "r_c", Columns: []schema.IndexColumn{{Name: "c"}}})
		})
		s.ddl(ddl(job.DDLCreateIndex, v4, v5, "CREATE INDEX r_c"))
		v6 := version(v5, func(t *schema.Table) { t.Columns = append(t.Columns[:2:2], t.Columns[3]) })
		s.ddl(ddl(job.DDLAlterTable, v5, v6, "DROP COLUMN b"))
		v7 := version(v6, func(t *schema.Table) { t.Indexes = nil })
		s.ddl(ddl(job.DDLDropIndex, v6, v7, "DROP INDEX r_c"))
		v8 := version(v7, func(t *schema.Table) { t.Name = "r2" })
		s.ddl(ddl(job.DDLRenameTable, v7, v8, "RENAME TABLE r TO r2"))
		s.txn(upd(v8, row(1, "one", nil), row(1, "uno", 10)))
		n1 := h.table("n", []tcol{{name: "k", kind: schema.KindInt32}}, []string{"k"})
		s.ddl(ddl(job.DDLCreateTable, nil, n1, "CREATE TABLE n"))
		s.txn(ins(n1, row(7)))
		s.ddl(ddl(job.DDLTruncateTable, n1, n1, "TRUNCATE n"))
		s.ddl(ddl(job.DDLDropTable, v8, nil, "DROP TABLE r2"))
		s.txn(ins(n1, row(8)))

		sink := &ddlCrash{ApplySink: h.sink, seen: map[string]bool{}}
		crashes := 0
		for {
			opts := h.options(3)
			opts.Sink = sink
			err := h.apply(s, opts)
			if err == nil {
				break
			}
			require.ErrorIs(t, err, errCrash)
			crashes++
			require.Less(t, crashes, 20)
		}
		assert.Equal(t, 10, crashes, "one crash per schema change")
		assert.Equal(t, []string{"8"}, h.dump("n", "k"))
		exists, _, err := h.sink.TableInfo(testCtx(t), h.schema, "r2")
		require.NoError(t, err)
		assert.False(t, exists)
	})
}
