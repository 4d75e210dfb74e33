package apply_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/apply"
	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/schema"
	"github.com/dtsorg/dts/internal/value"
)

// seqStream streams txns transactions of per rows each, made on the fly,
// then heartbeats.
type seqStream struct {
	txns, per int
	make      func(i int) *change.Row
	t, r      int // transaction, row within it
	state     int // 0 begin, 1 rows, 2 commit
	tx        *change.Txn
	next      uint64
}

func (s *seqStream) end() change.Position { return lsn(10 + uint64(s.txns*(s.per+2))) }

func (s *seqStream) Next(ctx context.Context) (change.Item, error) {
	if s.next == 0 {
		s.next = 10
	}
	if s.t == s.txns {
		select {
		case <-ctx.Done():
			return change.Item{}, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
		return change.Item{Kind: change.ItemHeartbeat, Pos: s.end(), At: time.Now()}, nil
	}
	switch s.state {
	case 0:
		s.tx = &change.Txn{ID: fmt.Sprint(s.t), Pos: lsn(s.next), CommitTime: time.Now()}
		s.state, s.r = 1, 0
		return change.Item{Kind: change.ItemBegin, Txn: s.tx, Pos: s.tx.Pos}, nil
	case 1:
		r := s.make(s.t*s.per + s.r)
		r.Seq = s.r
		s.r++
		if s.r == s.per {
			s.state = 2
		}
		return change.Item{Kind: change.ItemRow, Txn: s.tx, Row: r}, nil
	}
	s.next += uint64(s.per) + 2
	s.t++
	s.state = 0
	return change.Item{Kind: change.ItemCommit, Txn: s.tx, Pos: lsn(s.next), At: s.tx.CommitTime}, nil
}

func (s *seqStream) Ack(change.Position) error { return nil }
func (s *seqStream) Close() error              { return nil }

// BenchmarkApply applies 100,000 inserted rows into each target, as
// 100,000 one-row transactions and as one transaction, with 4 workers, and
// then updates and deletes them in the same two shapes; it reports rows/s.
//
//	go test ./internal/apply -run '^$' -bench Apply -benchtime 1x
func BenchmarkApply(b *testing.B) {
	const rows = 100_000
	for _, e := range engines {
		for _, shape := range []struct {
			name      string
			txns, per int
		}{{"1-row-txns", rows, 1}, {"one-txn", 1, rows}} {
			for _, op := range []string{"insert", "update", "delete"} {
				b.Run(e+"/"+shape.name+"/"+op, func(b *testing.B) {
					h := newHarness(b, e)
					var elapsed time.Duration
					for i := range b.N {
						b.StopTimer()
						name := fmt.Sprintf("bench%d", i)
						tab := h.table(name, []tcol{{name: "id", kind: schema.KindInt32}, {name: "v", kind: schema.KindVarChar, n: 64, null: true},
							{name: "n", kind: schema.KindInt32, null: true}}, []string{"id"})
						h.create(tab)
						mk := func(i int) *change.Row {
							return ins(tab, value.Row{[]byte(fmt.Sprint(i)), []byte(fmt.Sprintf("value %d", i)), []byte(fmt.Sprint(i))})
						}
						if op != "insert" { // the rows to change: loaded first, not timed
							job := h.jobID + "-load-" + name
							require.NoError(b, runStream(h, job, &seqStream{txns: 1, per: rows, make: mk}))
						}
						switch op {
						case "update":
							mk = func(i int) *change.Row {
								return upd(tab, value.Row{[]byte(fmt.Sprint(i)), nil, nil}, value.Row{[]byte(fmt.Sprint(i)), []byte("changed"), []byte("7")})
							}
						case "delete":
							mk = func(i int) *change.Row {
								return del(tab, value.Row{[]byte(fmt.Sprint(i)), []byte(fmt.Sprintf("value %d", i)), []byte(fmt.Sprint(i))})
							}
						}
						b.StartTimer()
						start := time.Now()
						require.NoError(b, runStream(h, h.jobID+"-"+name, &seqStream{txns: shape.txns, per: shape.per, make: mk}))
						elapsed += time.Since(start)
					}
					b.ReportMetric(float64(rows*b.N)/elapsed.Seconds(), "rows/s")
				})
			}
		}
	}
}

func runStream(h *harness, job string, s *seqStream) error {
	ctx := testCtx(h.t)
	opts := h.options(4)
	opts.JobID = job
	opts.FlushInterval = 0                    // the default (100 ms)
	opts.IdleInterval = 50 * time.Millisecond // the end of the run is not an idle second
	opts.StopAt = s.end()
	c, err := apply.New(ctx, opts)
	if err != nil {
		return err
	}
	defer c.Close()
	return c.Run(ctx, s)
}
