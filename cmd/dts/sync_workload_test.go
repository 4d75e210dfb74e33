package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/require"
)

// workload changes table t (id, k, v, n[, note]) of a source without
// pause: small transactions of an insert, an update, and now and then a
// delete and a primary-key change, until finish.
type workload struct {
	db      *sql.DB
	pg      bool
	next    atomic.Int64 // the next id to insert (or move a row to)
	altered atomic.Bool  // t has its note column: updates set it
	txns    atomic.Int64 // committed transactions
	stop    chan struct{}
	done    chan error
}

func startWorkload(t *testing.T, db *sql.DB, pg bool, firstID int64) *workload {
	w := &workload{db: db, pg: pg, stop: make(chan struct{}), done: make(chan error, 1)}
	w.next.Store(firstID)
	go func() { w.done <- w.run() }()
	t.Cleanup(func() { w.finish(t) })
	return w
}

// finish stops the workload and fails the test if it failed.
func (w *workload) finish(t *testing.T) {
	t.Helper()
	select {
	case <-w.stop:
		return
	default:
	}
	close(w.stop)
	require.NoError(t, <-w.done, "the source workload")
}

func (w *workload) run() error {
	rnd := rand.New(rand.NewPCG(uint64(w.next.Load()), 42))
	for i := 0; ; i++ {
		select {
		case <-w.stop:
			return nil
		default:
		}
		err := w.txn(i, rnd)
		if err != nil && !conflict(err) {
			return fmt.Errorf("transaction %d: %w", i, err)
		}
		if err == nil {
			w.txns.Add(1)
		}
		time.Sleep(5 * time.Millisecond) // a steady stream, not a flood: four directions share two cores
	}
}

// txn writes one transaction; ids it updates, deletes or moves are picked
// at random from 2 to below the next one (some no longer exist: nothing
// happens).
func (w *workload) txn(i int, rnd *rand.Rand) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	id := w.next.Add(1) - 1
	some := func() int64 { return 2 + rnd.Int64N(id-1) } // never row 1: the kill test locks it on the target
	stmts := [][]any{{"INSERT INTO t (id, k, v, n) VALUES (?, ?, ?, ?)", id, i % 97, "ins-" + strconv.Itoa(i), i}}
	if w.altered.Load() {
		stmts = append(stmts, []any{"UPDATE t SET k = k + 1, v = ?, note = ? WHERE id = ?", "upd-" + strconv.Itoa(i), "note-" + strconv.Itoa(i), some()})
	} else {
		stmts = append(stmts, []any{"UPDATE t SET k = k + 1, v = ? WHERE id = ?", "upd-" + strconv.Itoa(i), some()})
	}
	if i%3 == 0 {
		stmts = append(stmts, []any{"DELETE FROM t WHERE id = ?", some()})
	}
	if i%4 == 0 { // a primary-key change: the row moves to a new id
		stmts = append(stmts, []any{"UPDATE t SET id = ?, n = n + 1 WHERE id = ?", w.next.Add(1) - 1, some()})
	}
	for _, s := range stmts {
		if _, err := tx.ExecContext(ctx, w.dialect(s[0].(string)), s[1:]...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// dialect numbers the placeholders for PostgreSQL.
func (w *workload) dialect(q string) string {
	if !w.pg {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// conflict reports a deadlock or lock wait the source resolved by
// rolling the transaction back: it did not happen, the workload goes on.
func conflict(err error) bool {
	var my *mysql.MySQLError
	if errors.As(err, &my) {
		return my.Number == 1213 || my.Number == 1205
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code == "40P01" || pg.Code == "40001"
	}
	return false
}
