package postgres

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/value"
)

// T05: rows committed while the slot is created and the snapshot copied
// are in the snapshot or in the stream, exactly once.
func TestLogicalHandover(t *testing.T) {
	t.Parallel()
	v := newLogEnv(t, []string{"a", "b"},
		`CREATE TABLE a (id bigint PRIMARY KEY, v text)`,
		`CREATE TABLE b (id bigint PRIMARY KEY, v text)`)
	ctx := t.Context()

	// A writer inserts increasing ids into both tables, one transaction
	// each, at a steady rate, from before the slot exists to after the
	// stream caught up.
	var last atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	conn := v.conn(t)
	wg.Go(func() {
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for i := int64(1); ; i++ {
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			table := "a"
			if i%2 == 0 {
				table = "b"
			}
			if _, err := conn.Exec(ctx, "INSERT INTO "+table+" VALUES ($1, 'x')", i); err != nil {
				t.Errorf("writer: %v", err)
				return
			}
			last.Store(i)
		}
	})
	eventually(t, "the writer's first rows", func() bool { return last.Load() > 50 })

	snap := v.openLog(t, 2)
	seen := map[int64]int{}
	var mu sync.Mutex
	tables := v.tables(t)
	var rwg sync.WaitGroup
	for i, tab := range tables {
		r := snap.Readers()[i]
		rwg.Go(func() {
			req := connector.ReadRequest{Table: tab, Columns: []string{"id"}, Key: []string{"id"}}
			require.NoError(t, r.Read(ctx, req, func(row value.Row) error {
				n, _ := strconv.ParseInt(string(row[0]), 10, 64)
				mu.Lock()
				seen[n]++
				mu.Unlock()
				return nil
			}))
		})
	}
	rwg.Wait()
	require.NoError(t, snap.Close())
	inSnapshot := len(seen)
	require.Positive(t, inSnapshot)

	st := v.follow(t, snap.Position())
	eventually(t, "more rows after the snapshot", func() bool { return last.Load() > int64(inSnapshot)+200 })
	close(stop)
	wg.Wait()
	maxID := last.Load()

	fromStream := 0
	for fromStream+inSnapshot < int(maxID) {
		it := next(t, st)
		if it.Kind != change.ItemRow {
			continue
		}
		require.Equal(t, change.OpInsert, it.Row.Op)
		seen[id(t, col(it.Row, "id"))]++
		fromStream++
	}
	for i := int64(1); i <= maxID; i++ {
		require.Equal(t, 1, seen[i], "id %d", i)
	}
	assert.Len(t, seen, int(maxID))
	assert.Positive(t, fromStream)
	t.Logf("%d rows: %d from the snapshot, %d from the stream", maxID, inSnapshot, fromStream)
}

// The snapshot path and the change stream spell every value the same:
// each row inserted through the stream equals what a snapshot reader
// returns for it, byte for byte.
func TestLogicalValues(t *testing.T) {
	t.Parallel()
	extra := []valueCase{
		{"ma", "money[]", `'{"1,234.50",-2,NULL}'`, "{1234.50,-2.00,NULL}"},
		{"tza", "timestamptz[]", `'{"2020-06-01 12:00:00.5+02",NULL}'`, ""},
		{"ja", "jsonb[]", `ARRAY['{"b":1,"a":[1]}'::jsonb]`, ""},
		{"ua", "uuid[]", `'{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}'`, ""},
		{"ea", "mood[]", `'{sad,happy}'`, ""},
		{"n38", "numeric(38,10)", "'-1234567890123456789012345678.0123456789'", ""},
		{"bt", "bytea", `'\x00ff5c0a'`, "\x00\xff\\\n"},
		{"tt", "time", "'23:59:59.999999'", ""},
		{"rng", "int4range", "'[1,10)'", ""},
		{"hs", "tsvector", `'a fat cat'`, ""},
	}
	cases := append(append([]valueCase(nil), valueCases...), extra...)
	seen := map[string]bool{}
	defs := []string{"id integer PRIMARY KEY"}
	for _, c := range cases {
		if !seen[c.col] {
			seen[c.col] = true
			defs = append(defs, c.col+" "+c.typ)
		}
	}
	v := newLogEnv(t, []string{"v"},
		`CREATE TYPE mood AS ENUM ('sad', 'happy')`, `CREATE DOMAIN posint AS integer CHECK (VALUE > 0)`,
		"CREATE TABLE v ("+strings.Join(defs, ", ")+")")
	snap := v.openLog(t, 1)
	require.NoError(t, snap.Close())
	st := v.follow(t, snap.Position())

	conn := v.conn(t)
	tx, err := conn.Begin(t.Context())
	require.NoError(t, err)
	for i, c := range cases {
		_, err := tx.Exec(t.Context(), "INSERT INTO v (id, "+c.col+") VALUES ("+strconv.Itoa(i)+", "+c.lit+")")
		require.NoError(t, err, "case %d", i)
	}
	_, err = tx.Exec(t.Context(), "INSERT INTO v (id) VALUES (1000)")
	require.NoError(t, err)
	require.NoError(t, tx.Commit(t.Context()))
	// Every value again as the new image of an update, old image under FULL.
	_, err = conn.Exec(t.Context(), "ALTER TABLE v REPLICA IDENTITY FULL")
	require.NoError(t, err)
	_, err = conn.Exec(t.Context(), "UPDATE v SET id = id + 2000")
	require.NoError(t, err)

	items := commits(t, st, 2)
	got := rows(items)
	require.Len(t, got, 2*(len(cases)+1))
	tab := v.table(t, "public", "v")
	want := v.readRows(t, tab) // ids 2000.., in key order
	require.Len(t, want, len(cases)+1)
	byID := map[string]value.Row{}
	for _, r := range want {
		byID[string(r[0])] = r
	}
	for i, r := range got {
		if i <= len(cases) { // inserts
			require.Equal(t, change.OpInsert, r.Op)
			n := id(t, r.After[0])
			w := byID[strconv.FormatInt(n+2000, 10)]
			require.NotNil(t, w, "row %d", n)
			for j := 1; j < len(w); j++ {
				assert.Equal(t, w[j], r.After[j], "id %d column %s", n, tab.Columns[j].Name)
			}
			assert.Nil(t, r.Missing)
			continue
		}
		require.Equal(t, change.OpUpdate, r.Op)
		require.False(t, r.BeforeKeyOnly)
		w := byID[string(r.After[0])]
		require.NotNil(t, w)
		assert.Equal(t, w, r.After)
		for j := 1; j < len(w); j++ {
			assert.Equal(t, w[j], r.Before[j], "old image, column %s", tab.Columns[j].Name)
		}
	}
	for _, c := range extra {
		if c.want == "" {
			continue
		}
		for _, r := range got[:len(cases)] {
			if v := col(r, c.col); v != nil {
				assert.Equal(t, c.want, string(v), c.col)
			}
		}
	}
}

// valuesConn is a helper for tests that write through their own connection.
func execAll(t *testing.T, c *pgx.Conn, stmts ...string) {
	t.Helper()
	for _, s := range stmts {
		_, err := c.Exec(context.Background(), s)
		require.NoError(t, err, s)
	}
}
