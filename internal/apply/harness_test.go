package apply_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/apply"
	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/connector/mysql"
	"github.com/dtsorg/dts/internal/connector/postgres"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/testenv"
	"github.com/dtsorg/dts/internal/value"
)

func TestMain(m *testing.M) { os.Exit(testenv.Main(m)) }

// The engines every apply test runs against: the source is of the same
// engine as the target (same-engine mapping), the stream scripted.
var engines = []string{"mariadb", "postgresql"}

// forEngines runs a parallel subtest per target engine.
func forEngines(t *testing.T, fn func(t *testing.T, h *harness)) {
	t.Parallel()
	for _, e := range engines {
		t.Run(e, func(t *testing.T) {
			t.Parallel()
			fn(t, newHarness(t, e))
		})
	}
}

// harness is one test's target database with a sink open on it.
type harness struct {
	t      testing.TB
	engine string
	srv    *testenv.Server
	db     string // target database
	schema string // the tables' target schema
	sink   connector.ApplySink
	sql    *sql.DB
	jobID  string
}

func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func newHarness(t testing.TB, engine string) *harness {
	h := &harness{t: t, engine: engine}
	ctx := testCtx(t)
	var err error
	switch engine {
	case "mariadb":
		h.srv = testenv.MariaDB(t)
		h.db = h.srv.NewDatabase(t)
		h.schema = h.db
		// No default database, as in a job's endpoint: every statement the
		// applier writes must name its database.
		h.sink, err = mysql.OpenSink(ctx, h.srv.Endpoint(""), discard())
	default:
		h.srv = testenv.Postgres(t)
		h.db = h.srv.NewDatabase(t)
		h.schema = "app"
		h.sink, err = postgres.OpenSink(ctx, h.srv.Endpoint(h.db), discard())
	}
	require.NoError(t, err)
	t.Cleanup(func() { h.sink.Close() })
	h.jobID = h.db // MariaDB's dts_meta is server-wide: a job per test
	require.NoError(t, h.sink.Claim(ctx, h.jobID, h.jobID))
	h.sql = h.srv.DB(t, h.db)
	t.Cleanup(func() {
		if t.Failed() && engine == "mariadb" {
			var typ, name, status string
			if err := h.sql.QueryRow("SHOW ENGINE INNODB STATUS").Scan(&typ, &name, &status); err == nil {
				if i := strings.Index(status, "LATEST DETECTED DEADLOCK"); i >= 0 {
					t.Log(status[i:min(len(status), i+6000)])
				}
			}
			b, _ := os.ReadFile(filepath.Join(h.srv.Dir, "server.log"))
			t.Log(string(b[max(0, len(b)-1000):]))
		}
	})
	return h
}

// tcol describes a test column in engine-neutral terms.
type tcol struct {
	name string
	kind schema.Kind
	n    int  // varchar length
	null bool // nullable
	ci   bool // case-insensitive collation
}

// table returns a source table of the harness's engine in schema "src".
func (h *harness) table(name string, cols []tcol, pk []string, uniques ...[]string) *schema.Table {
	t := &schema.Table{Schema: "src", Name: name, PrimaryKey: pk}
	mysqlish := h.engine == "mariadb"
	if mysqlish {
		t.Collation = "utf8mb4_bin"
	}
	for _, c := range cols {
		col := schema.Column{Name: c.name, Nullable: c.null}
		switch c.kind {
		case schema.KindInt32:
			col.Type = schema.Type{Kind: c.kind, Raw: pick(mysqlish, "int(11)", "integer")}
		case schema.KindInt64:
			col.Type = schema.Type{Kind: c.kind, Raw: pick(mysqlish, "bigint(20)", "bigint")}
		case schema.KindVarChar:
			col.Type = schema.Type{Kind: c.kind, Length: c.n, Raw: pick(mysqlish, fmt.Sprintf("varchar(%d)", c.n), fmt.Sprintf("character varying(%d)", c.n))}
		case schema.KindText:
			col.Type = schema.Type{Kind: c.kind, Size: schema.SizeLong, Raw: pick(mysqlish, "longtext", "text")}
		case schema.KindDecimal:
			col.Type = schema.Type{Kind: c.kind, Precision: 12, Scale: 3, Raw: pick(mysqlish, "decimal(12,3)", "numeric(12,3)")}
		default:
			h.t.Fatalf("test column kind %s", c.kind)
		}
		if mysqlish && col.Type.IsText() {
			col.Charset, col.Collation = "utf8mb4", pick(c.ci, "utf8mb4_general_ci", "utf8mb4_bin")
		}
		if !mysqlish && c.ci {
			col.Collation = "ci" // created by the test (ICU, nondeterministic)
		}
		t.Columns = append(t.Columns, col)
	}
	for i, u := range uniques {
		ix := schema.Index{Name: fmt.Sprintf("%s_uk%d", name, i), Unique: true}
		for _, c := range u {
			ix.Columns = append(ix.Columns, schema.IndexColumn{Name: c})
		}
		t.Indexes = append(t.Indexes, ix)
	}
	return t
}

func pick[T any](cond bool, a, b T) T {
	if cond {
		return a
	}
	return b
}

// target maps a source table to the harness's target schema.
func (h *harness) target(src *schema.Table) *schema.Table {
	named := *src
	named.Schema = h.schema
	t, problems := h.sink.MapTable(&named, h.engine)
	for _, p := range problems {
		require.False(h.t, p.Fatal, "%+v", p)
	}
	return t
}

// create makes src's target table (with keys and indexes).
func (h *harness) create(src *schema.Table) {
	ctx := testCtx(h.t)
	t := h.target(src)
	require.NoError(h.t, h.sink.PrepareTable(ctx, t, job.ExistingFail))
	require.NoError(h.t, h.sink.FinishTable(ctx, t))
}

// exec runs statements on the target database.
func (h *harness) exec(stmts ...string) { h.t.Helper(); h.srv.Exec(h.t, h.db, stmts...) }

// qname quotes schema.table for the target.
func (h *harness) qname(table string) string {
	if h.engine == "mariadb" {
		return "`" + h.schema + "`.`" + table + "`"
	}
	return `"` + h.schema + `"."` + table + `"`
}

// dump returns a table's rows as "a|b|NULL", sorted.
func (h *harness) dump(table string, cols ...string) []string {
	h.t.Helper()
	q := "SELECT " + strings.Join(cols, ", ") + " FROM " + h.qname(table)
	rows, err := h.sql.QueryContext(testCtx(h.t), q)
	require.NoError(h.t, err, q)
	defer rows.Close()
	var out []string
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(h.t, rows.Scan(ptrs...))
		parts := make([]string, len(cols))
		for i, v := range vals {
			parts[i] = pick(v.Valid, v.String, "NULL")
		}
		out = append(out, strings.Join(parts, "|"))
	}
	require.NoError(h.t, rows.Err())
	slices.Sort(out)
	return out
}

// planner maps source schema "src" to the target schema, names kept.
func (h *harness) planner() apply.Planner {
	return apply.SinkPlanner(h.sink, h.engine, func(r connector.TableRef) (connector.TableRef, bool) {
		return connector.TableRef{Schema: h.schema, Name: r.Name}, r.Schema == "src"
	})
}

func (h *harness) options(workers int) apply.Options {
	return apply.Options{JobID: h.jobID, Sink: h.sink, Plan: h.planner(), Workers: workers, Start: lsn(1),
		SourceEngine: h.engine, BlockRouting: h.engine == "mariadb", // as the runner: a MariaDB target
		FlushInterval: 20 * time.Millisecond, IdleInterval: 20 * time.Millisecond, Logger: discard()}
}

// apply runs a coordinator over the script until everything is applied.
func (h *harness) apply(s *script, opts apply.Options) error {
	h.t.Helper()
	ctx := testCtx(h.t)
	opts.StopAt = s.end()
	c, err := apply.New(ctx, opts)
	if err != nil {
		return err
	}
	defer c.Close()
	st := s.follow(c.StartPosition())
	return c.Run(ctx, st)
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// lsn is a position of the scripted stream.
func lsn(n uint64) change.Position { return change.Position{Engine: "postgresql", LSN: n} }

// script is a scripted change log: what a source would stream, built by
// the test; follow plays it from a position like a source's Follow.
type script struct {
	items []change.Item
	next  uint64 // the next free position
	txns  int
}

func newScript() *script { return &script{next: 10} }

// txn appends a transaction of rows (Seq set here). A transaction begins
// where the previous item ended (as a MySQL binlog does).
func (s *script) txn(rows ...*change.Row) {
	s.txns++
	tx := &change.Txn{ID: fmt.Sprintf("t%d", s.txns), Pos: lsn(s.next), CommitTime: time.Unix(1700000000+int64(s.txns), 0)}
	s.items = append(s.items, change.Item{Kind: change.ItemBegin, Txn: tx, Pos: tx.Pos})
	for i, r := range rows {
		r.Seq = i
		s.items = append(s.items, change.Item{Kind: change.ItemRow, Txn: tx, Row: r, Pos: lsn(s.next + uint64(i) + 1)})
	}
	s.next += uint64(len(rows)) + 2
	s.items = append(s.items, change.Item{Kind: change.ItemCommit, Txn: tx, Pos: lsn(s.next), At: tx.CommitTime})
}

func (s *script) ddl(d *change.DDL) {
	s.next += 2
	s.items = append(s.items, change.Item{Kind: change.ItemDDL, DDL: d, Pos: lsn(s.next), At: time.Now()})
}

func (s *script) truncate(tables ...*schema.Table) {
	s.next += 2
	s.items = append(s.items, change.Item{Kind: change.ItemTruncate, Tables: tables, Pos: lsn(s.next), At: time.Now()})
}

// end is the position after the last item.
func (s *script) end() change.Position { return lsn(s.next) }

// follow returns a stream from pos: every transaction beginning at or after
// it, every DDL or truncate ending after it; then a heartbeat at the end.
func (s *script) follow(from change.Position) *stream {
	i := 0
	for i < len(s.items) {
		it := s.items[i]
		if it.Kind == change.ItemBegin && change.Compare(it.Txn.Pos, from) >= 0 ||
			(it.Kind == change.ItemDDL || it.Kind == change.ItemTruncate) && change.Compare(it.Pos, from) > 0 {
			break
		}
		i++
	}
	return &stream{items: s.items[i:], end: s.end()}
}

// stream is a scripted ChangeStream.
type stream struct {
	mu    sync.Mutex
	items []change.Item
	end   change.Position
	hb    bool
	acks  []change.Position
	// onNext, if set, sees every item before it is returned (fault injection).
	onNext func(n int) error
	n      int
	// onAck, if set, sees every Ack.
	onAck func(change.Position) error
}

func (st *stream) Next(ctx context.Context) (change.Item, error) {
	st.n++
	if st.onNext != nil {
		if err := st.onNext(st.n); err != nil {
			return change.Item{}, err
		}
	}
	if len(st.items) > 0 {
		it := st.items[0]
		st.items = st.items[1:]
		return it, nil
	}
	if !st.hb {
		st.hb = true
		return change.Item{Kind: change.ItemHeartbeat, Pos: st.end, At: time.Now()}, nil
	}
	<-ctx.Done()
	return change.Item{}, ctx.Err()
}

func (st *stream) Ack(pos change.Position) error {
	st.mu.Lock()
	defer st.mu.Unlock()
	if n := len(st.acks); n > 0 && change.Compare(pos, st.acks[n-1]) <= 0 {
		return fmt.Errorf("ack %s does not advance past %s", pos, st.acks[n-1])
	}
	st.acks = append(st.acks, pos)
	if st.onAck != nil {
		return st.onAck(pos)
	}
	return nil
}

func (st *stream) Close() error { return nil }

// Row constructors: values are strings, nil is NULL.
func row(vals ...any) value.Row {
	r := make(value.Row, len(vals))
	for i, v := range vals {
		switch v := v.(type) {
		case nil:
		case string:
			r[i] = []byte(v)
		case int:
			r[i] = []byte(fmt.Sprint(v))
		default:
			panic(fmt.Sprintf("row value %T", v))
		}
	}
	return r
}

func ins(t *schema.Table, after value.Row) *change.Row {
	return &change.Row{Op: change.OpInsert, Table: t, After: after}
}

func upd(t *schema.Table, before, after value.Row) *change.Row {
	return &change.Row{Op: change.OpUpdate, Table: t, Before: before, After: after}
}

func del(t *schema.Table, before value.Row) *change.Row {
	return &change.Row{Op: change.OpDelete, Table: t, Before: before}
}
