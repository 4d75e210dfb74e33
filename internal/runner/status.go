package runner

import (
	"encoding/json"
	"time"
)

// statusVersion versions the status document: clients read it from the API.
const statusVersion = 1

// Status is a running job's progress as published in the catalog and
// answered by GET /v1/jobs/{id}.
type Status struct {
	V        int           `json:"v"`
	Phase    string        `json:"phase"`
	Rows     int64         `json:"rows"`
	Tables   []TableStatus `json:"tables,omitempty"`
	Snapshot string        `json:"snapshot,omitempty"`
	// Incremental is set once the job follows its source.
	Incremental *IncrementalStatus `json:"incremental,omitempty"`
	Warnings    []string           `json:"warnings,omitempty"`
	At          time.Time          `json:"at"`
}

// IncrementalStatus is the incremental phase's progress.
type IncrementalStatus struct {
	// Position: every change up to it is applied on the target.
	Position string `json:"position"`
	// DelaySeconds is how far the target is behind the source, by the
	// source's clock: the age of the oldest change not applied yet, or the
	// time since the newest heartbeat (or applied commit) when none waits.
	// null until the run knows (just restarted, nothing delivered yet).
	DelaySeconds *float64 `json:"delay_seconds"`
	// CaughtUp: nothing delivered waits, and the position passed a
	// heartbeat (of the current connection) that came after the newest
	// transaction delivered (apply.StatsSnapshot).
	CaughtUp      bool      `json:"caught_up"`
	AppliedRows   int64     `json:"applied_rows"`
	RowsPerSecond float64   `json:"rows_per_second"`
	LastCommit    time.Time `json:"last_commit,omitempty"`
	// Retries counts the times the phase started over after a transient
	// failure (a lost connection, a restarting server); RetryError is the
	// last one.
	Retries    int64  `json:"retries,omitempty"`
	RetryError string `json:"retry_error,omitempty"`
}

// TableStatus is one table's full-load progress.
type TableStatus struct {
	Table         string  `json:"table"`
	Target        string  `json:"target"`
	Rows          int64   `json:"rows"`
	Estimated     int64   `json:"estimated_rows"`
	RowsPerSecond float64 `json:"rows_per_second"`
	Loaded        bool    `json:"loaded"`
}

// Status returns the progress as a versioned JSON document.
func (p *Progress) Status() json.RawMessage {
	s := Status{V: statusVersion, Phase: p.Phase(), Warnings: p.Warnings(), At: time.Now().UTC()}
	if pos := p.Snapshot(); !pos.IsZero() {
		s.Snapshot = pos.String()
	}
	if s.Phase == PhaseIncremental {
		a := p.Apply.Snapshot()
		s.Incremental = &IncrementalStatus{Position: a.Position.String(), CaughtUp: a.CaughtUp,
			AppliedRows: a.AppliedRows, RowsPerSecond: a.RowsPerSecond, LastCommit: a.LastCommitTime,
			Retries: a.Retries, RetryError: a.RetryError}
		if a.DelayKnown {
			d := a.Delay.Seconds()
			s.Incremental.DelaySeconds = &d
		}
	}
	for _, t := range p.Stats.Tables() {
		rows := t.Rows.Load()
		s.Rows += rows
		s.Tables = append(s.Tables, TableStatus{
			Table: t.Name, Target: t.Target, Rows: rows, Estimated: t.Estimated.Load(), Loaded: t.Loaded.Load(),
			RowsPerSecond: float64(rows) / max(time.Since(t.Started).Seconds(), 0.001),
		})
	}
	b, err := json.Marshal(s)
	if err != nil {
		panic(err) // plain fields always marshal
	}
	return b
}
