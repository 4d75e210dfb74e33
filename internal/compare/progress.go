package compare

import (
	"sync"
	"sync/atomic"
	"time"
)

// Progress is what a running compare reports, for progress bars and the
// server's compare status; safe for concurrent use.
type Progress struct {
	mu     sync.Mutex
	phase  string
	tables []*TableProgress
	byName map[string]*TableProgress
}

// Phases of a running compare.
const (
	PhasePlanning  = "planning"
	PhaseComparing = "comparing"
	PhaseRecheck   = "rechecking"
	PhaseRepair    = "repairing"
	PhaseDone      = "done"
)

// TableProgress is one table's progress: chunks done of planned, rows
// compared, differences found so far.
type TableProgress struct {
	Name    string
	Started time.Time
	Chunks  atomic.Int64
	Done    atomic.Int64
	Rows    atomic.Int64
	Diffs   atomic.Int64
	Ended   atomic.Bool
}

// NewProgress returns an empty progress report.
func NewProgress() *Progress {
	return &Progress{phase: PhasePlanning, byName: map[string]*TableProgress{}}
}

// Phase returns the current phase.
func (p *Progress) Phase() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.phase
}

func (p *Progress) set(phase string) {
	p.mu.Lock()
	p.phase = phase
	p.mu.Unlock()
}

// Tables returns the tables in the order they were added.
func (p *Progress) Tables() []*TableProgress {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*TableProgress(nil), p.tables...)
}

// table returns (adding it) a table's progress.
func (p *Progress) table(name string) *TableProgress {
	p.mu.Lock()
	defer p.mu.Unlock()
	if t, ok := p.byName[name]; ok {
		return t
	}
	t := &TableProgress{Name: name, Started: time.Now()}
	p.byName[name] = t
	p.tables = append(p.tables, t)
	return t
}
