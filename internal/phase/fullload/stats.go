package fullload

import (
	"sync"
	"sync/atomic"
	"time"
)

// Stats is a load's progress, safe to read while the load runs: the CLI
// draws progress bars from it and the server publishes it in the job status.
type Stats struct {
	mu     sync.Mutex
	tables []*TableStats
	byT    map[*Table]*TableStats
}

// TableStats is one table's progress.
type TableStats struct {
	Name      string // source table, schema.name
	Target    string // target table, schema.name
	Estimated atomic.Int64
	Rows      atomic.Int64
	Loaded    atomic.Bool
	Started   time.Time
}

// NewStats returns empty stats.
func NewStats() *Stats { return &Stats{byT: map[*Table]*TableStats{}} }

// Tables returns every table's progress in load order.
func (s *Stats) Tables() []*TableStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*TableStats(nil), s.tables...)
}

func (s *Stats) add(t *Table) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byT[t]; ok {
		return
	}
	ts := &TableStats{Name: t.Source.QualifiedName(), Target: t.Target.QualifiedName(), Started: time.Now()}
	var copied int64
	for _, p := range t.State.Partitions {
		copied += p.Rows
	}
	ts.Rows.Store(copied)
	ts.Loaded.Store(t.State.Loaded)
	s.byT[t] = ts
	s.tables = append(s.tables, ts)
}

func (s *Stats) get(t *Table) *TableStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.byT[t]
}

func (s *Stats) setEstimate(t *Table, n int64) { s.get(t).Estimated.Store(n) }
func (s *Stats) estimate(t *Table) int64       { return s.get(t).Estimated.Load() }
func (s *Stats) addRows(t *Table, n int64)     { s.get(t).Rows.Add(n) }
func (s *Stats) done(t *Table)                 { s.get(t).Loaded.Store(true) }
