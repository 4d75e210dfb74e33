// Command cdcload drives the incremental-sync benchmark (scripts/bench-incremental):
// it writes a steady, rate-limited workload into a source database and
// measures how long changes take to become visible on the target, end to
// end, with probe rows: each probe is committed on the source and polled for
// on the target. It is a benchmark tool, not part of dts.
//
//	cdcload -source DSN -target DSN steady -rate 5000 -seconds 60
//	cdcload -source DSN -target DSN mark              # one probe: seconds until the target has it
//
// DSNs: mysql://user:pass@host:port/db or postgres://user:pass@host:port/db.
// Tables (created by the caller on the source, copied by dts to the target):
// sbtest1(id, k, c, pad) and marker(id BIGINT PRIMARY KEY), reached on the
// target as -target-schema.sbtest1 / marker.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
)

func main() {
	var (
		source  = flag.String("source", "", "source DSN")
		target  = flag.String("target", "", "target DSN")
		tschema = flag.String("target-schema", "", "schema (PostgreSQL) or database (MySQL) of the copies on the target")
		rate    = flag.Int("rate", 5000, "steady: row changes per second")
		batch   = flag.Int("batch", 50, "steady: row changes per source transaction")
		seconds = flag.Int("seconds", 60, "steady: how long")
		every   = flag.Duration("probe-every", 100*time.Millisecond, "steady: time between probes")
		timeout = flag.Duration("timeout", 30*time.Minute, "mark: how long to wait")
		first   = flag.Int64("first-id", 10_000_000, "steady: first id of inserted rows")
	)
	flag.Parse()
	if *source == "" || *target == "" || flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: cdcload -source DSN -target DSN [-target-schema S] steady|mark")
		os.Exit(2)
	}
	src, err := open(*source)
	check(err)
	dst, err := open(*target)
	check(err)
	ctx := context.Background()
	p := &prober{src: src, dst: dst, table: qualify(dst, *tschema, "marker")}
	switch flag.Arg(0) {
	case "mark":
		d, err := p.probe(ctx, *timeout)
		check(err)
		fmt.Printf("%.3f\n", d.Seconds())
	case "steady":
		w := &writer{db: src, rate: *rate, batch: *batch, next: *first}
		runSteady(ctx, w, p, time.Duration(*seconds)*time.Second, *every)
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", flag.Arg(0))
		os.Exit(2)
	}
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "cdcload:", err)
		os.Exit(1)
	}
}

type db struct {
	*sql.DB
	pg bool
}

func open(dsn string) (*db, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, err
	}
	switch u.Scheme {
	case "postgres", "postgresql":
		d, err := sql.Open("pgx", dsn)
		return &db{d, true}, err
	case "mysql":
		c := mysql.NewConfig()
		c.User = u.User.Username()
		c.Passwd, _ = u.User.Password()
		c.Net, c.Addr, c.DBName = "tcp", u.Host, strings.TrimPrefix(u.Path, "/")
		d, err := sql.Open("mysql", c.FormatDSN())
		return &db{d, false}, err
	}
	return nil, fmt.Errorf("unknown DSN scheme %q", u.Scheme)
}

func (d *db) arg(i int) string {
	if d.pg {
		return fmt.Sprintf("$%d", i)
	}
	return "?"
}

func qualify(d *db, schema, table string) string {
	q := func(s string) string { return "`" + s + "`" }
	if d.pg {
		q = func(s string) string { return `"` + s + `"` }
	}
	if schema == "" {
		return q(table)
	}
	return q(schema) + "." + q(table)
}

// prober commits a marker row on the source and polls the target for it.
type prober struct {
	src, dst *db
	table    string
	mu       sync.Mutex
	next     int64
}

func (p *prober) probe(ctx context.Context, timeout time.Duration) (time.Duration, error) {
	p.mu.Lock()
	if p.next == 0 {
		p.next = time.Now().UnixNano()
	}
	p.next++
	id := p.next
	p.mu.Unlock()
	start := time.Now()
	if _, err := p.src.ExecContext(ctx, "INSERT INTO marker (id) VALUES ("+p.src.arg(1)+")", id); err != nil {
		return 0, fmt.Errorf("insert probe: %w", err)
	}
	q := "SELECT count(*) FROM " + p.table + " WHERE id = " + p.dst.arg(1)
	for {
		var n int
		if err := p.dst.QueryRowContext(ctx, q, id).Scan(&n); err != nil {
			if time.Since(start) > timeout {
				return 0, fmt.Errorf("poll probe: %w", err)
			}
		} else if n == 1 {
			return time.Since(start), nil
		}
		if time.Since(start) > timeout {
			return 0, fmt.Errorf("probe %d not on the target after %s", id, timeout)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// writer writes transactions of batch row changes into sbtest1: inserts of
// new rows, updates and deletes of rows it inserted earlier.
type writer struct {
	db          *db
	rate, batch int
	next        int64
	live        []int64
	changes     int64
}

func (w *writer) txn(ctx context.Context) error {
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	ins := max(1, w.batch*3/10)
	upd, del := w.batch*6/10, w.batch-ins-w.batch*6/10
	if len(w.live) < upd+del {
		ins, upd, del = w.batch, 0, 0
	}
	var vals []string
	for range ins {
		w.next++
		vals = append(vals, fmt.Sprintf("(%d, %d, '%s', '%s')", w.next, rand.IntN(1_000_000), pad(120), pad(60)))
		w.live = append(w.live, w.next)
	}
	if _, err := tx.ExecContext(ctx, "INSERT INTO sbtest1 (id, k, c, pad) VALUES "+strings.Join(vals, ",")); err != nil {
		return err
	}
	if upd > 0 {
		ids := w.pick(upd, false)
		if _, err := tx.ExecContext(ctx, "UPDATE sbtest1 SET k = k + 1 WHERE id IN ("+ids+")"); err != nil {
			return err
		}
	}
	if del > 0 {
		ids := w.pick(del, true)
		if _, err := tx.ExecContext(ctx, "DELETE FROM sbtest1 WHERE id IN ("+ids+")"); err != nil {
			return err
		}
	}
	w.changes += int64(w.batch)
	return tx.Commit()
}

func (w *writer) pick(n int, remove bool) string {
	ids := make([]string, 0, n)
	for range n {
		i := rand.IntN(len(w.live))
		ids = append(ids, fmt.Sprint(w.live[i]))
		if remove {
			w.live[i] = w.live[len(w.live)-1]
			w.live = w.live[:len(w.live)-1]
		}
	}
	return strings.Join(ids, ",")
}

func pad(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('a' + rand.IntN(26))
	}
	return string(b)
}

// runSteady writes at the rate for d while probing, then prints the achieved
// rate and the delay distribution.
func runSteady(ctx context.Context, w *writer, p *prober, d, every time.Duration) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var (
		mu     sync.Mutex
		delays []time.Duration
		wg     sync.WaitGroup
	)
	wg.Go(func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				dl, err := p.probe(context.Background(), time.Minute)
				check(err)
				mu.Lock()
				delays = append(delays, dl)
				mu.Unlock()
			}
		}
	})
	start := time.Now()
	interval := time.Duration(float64(time.Second) * float64(w.batch) / float64(w.rate))
	for next := start; ctx.Err() == nil; next = next.Add(interval) {
		if wait := time.Until(next); wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
			if ctx.Err() != nil {
				break
			}
		}
		check(w.txn(context.Background()))
	}
	elapsed := time.Since(start)
	wg.Wait()
	slices.Sort(delays)
	pct := func(q float64) float64 {
		if len(delays) == 0 {
			return 0
		}
		return delays[min(len(delays)-1, int(q*float64(len(delays))))].Seconds()
	}
	fmt.Printf("rows_per_s\t%.0f\nprobes\t%d\np50_s\t%.3f\np90_s\t%.3f\np99_s\t%.3f\nmax_s\t%.3f\n",
		float64(w.changes)/elapsed.Seconds(), len(delays), pct(0.5), pct(0.9), pct(0.99), pct(1))
}
