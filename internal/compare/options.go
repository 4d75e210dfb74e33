package compare

import (
	"fmt"
	"strings"
	"time"

	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
)

// Compare types (job.CompareObjects...): what is compared.
const (
	TypeObjects = job.CompareObjects // schemas, tables, columns, keys, indexes
	TypeRows    = job.CompareRows    // exact row counts
	TypeContent = job.CompareContent // every value of every row (or a sampled share)
)

// Options say what a compare does and bound what it costs.
type Options struct {
	// Type is objects, rows or content.
	Type string
	// Tables limits the compare to these source tables ("schema.table", or
	// "table" for every schema's table of that name); empty: every table
	// the job selects.
	Tables []string
	// SamplePercent is the share of chunks a content compare checks
	// (0 or 100: all of them).
	SamplePercent float64
	// MaxDuration stops the compare when it runs out (0: no limit); tables
	// not finished by then are reported incomplete.
	MaxDuration time.Duration
	// Repair applies the repair SQL to the target at the end.
	Repair bool
	// Workers is the number of chunks checked at once (parallelism.max).
	Workers int
	// ChunkRows is the rows of a chunk when tables are split (default 25,000:
	// fewer, longer queries cost the databases less per row; a differing
	// chunk is bisected all the same).
	ChunkRows int
	// LeafRows: a differing chunk is bisected until it holds at most this
	// many rows, which are then compared row by row (default 256).
	LeafRows int
	// MaxRowDiffs is the row differences listed per table in the report
	// (default 100); every difference is counted.
	MaxRowDiffs int
	// MaxRepairRows bounds the rows a compare keeps for re-checks and
	// repair (default 20,000); more differences are counted, and the next
	// compare after a repair finds them.
	MaxRepairRows int
	// InlineRepair is the repair statements shown in the report (default 50).
	InlineRepair int
	// RecheckDelay is how long a compare waits before checking differing
	// rows again (default 2 s): rows a sync applies meanwhile converge and
	// are not reported.
	RecheckDelay time.Duration
	// Rechecks is the number of such re-checks (default 2; a row is
	// reported only when it differs in every one). Negative: none.
	Rechecks int
	// Follower, when set, says how far the sync job that applies the
	// compared tables has got: differing rows are then re-checked once the
	// job has applied what the source held when they were read, instead
	// of after RecheckDelay (settle.go).
	Follower Follower
	// MaxSettle bounds the wait for the job to apply a source position
	// (default 10 min); rows still undecided then are reported
	// unconfirmed, not different.
	MaxSettle time.Duration
	// SettlePoll is how often the job's progress is looked at while
	// waiting (default 200 ms).
	SettlePoll time.Duration
	// Scheme forces a row hash scheme (md5, crc; tests and benchmarks);
	// empty: the cheapest both sides compute (hashrows.go).
	Scheme string
	// MaxRepairBytes bounds the values of differing rows a compare keeps
	// in memory for the report and the repair SQL (default 64 MiB); more
	// differences are counted, not listed.
	MaxRepairBytes int64
}

func (o *Options) defaults() {
	if o.Type == "" {
		o.Type = TypeContent
	}
	if o.SamplePercent <= 0 || o.SamplePercent > 100 {
		o.SamplePercent = 100
	}
	if o.Workers < 1 {
		o.Workers = 1
	}
	if o.ChunkRows <= 0 {
		o.ChunkRows = 25_000
	}
	if o.LeafRows <= 0 {
		o.LeafRows = 256
	}
	if o.MaxRowDiffs <= 0 {
		o.MaxRowDiffs = 100
	}
	if o.MaxRepairRows <= 0 {
		o.MaxRepairRows = 20_000
	}
	if o.InlineRepair <= 0 {
		o.InlineRepair = 50
	}
	if o.RecheckDelay == 0 {
		o.RecheckDelay = 2 * time.Second
	}
	if o.Rechecks == 0 {
		o.Rechecks = 2
	}
	if o.MaxSettle <= 0 {
		o.MaxSettle = 10 * time.Minute
	}
	if o.SettlePoll <= 0 {
		o.SettlePoll = 200 * time.Millisecond
	}
	if o.MaxRepairBytes <= 0 {
		o.MaxRepairBytes = 64 << 20
	}
}

// Params are the parameters of the create_compare action (and of a check
// job's compare, from check.full).
type Params struct {
	Type          string   `json:"type"`
	Tables        []string `json:"tables,omitempty"`
	SamplePercent float64  `json:"sample_percent,omitempty"`
	MaxHours      float64  `json:"max_hours,omitempty"`
	// StartAt schedules the compare (RFC 3339); empty: at once.
	StartAt string `json:"start_at,omitempty"`
	// Repair applies the repair SQL to the target when the compare ends.
	Repair bool `json:"repair,omitempty"`
}

// Validate lists every problem of the parameters, with field paths under prefix.
func (p *Params) Validate(prefix string) error {
	var problems []errs.FieldError
	add := func(field, format string, args ...any) {
		problems = append(problems, errs.FieldError{Path: prefix + field, Message: fmt.Sprintf(format, args...)})
	}
	switch p.Type {
	case TypeObjects, TypeRows, TypeContent:
	case "":
		add("type", "is required; allowed: objects, rows, content")
	default:
		add("type", "%q is not allowed; allowed: objects, rows, content", clip(p.Type))
	}
	if p.SamplePercent < 0 || p.SamplePercent > 100 {
		add("sample_percent", "must be more than 0 and at most 100 (0 or absent: every row)")
	}
	if p.MaxHours < 0 || p.MaxHours > 720 {
		add("max_hours", "must be from 0 (no limit) to 720")
	}
	if p.StartAt != "" {
		if _, err := time.Parse(time.RFC3339, p.StartAt); err != nil {
			add("start_at", "must be an RFC 3339 time such as 2030-01-02T03:04:05Z")
		}
	}
	for i, t := range p.Tables {
		if strings.TrimSpace(t) == "" || strings.Count(t, ".") > 1 {
			add(fmt.Sprintf("tables[%d]", i), "%q is not a table: use schema.table or table", clip(t))
		}
	}
	if len(problems) > 0 {
		return errs.Invalid(problems)
	}
	return nil
}

// Options returns the compare options the parameters ask for on a job.
func (p *Params) Options(spec *job.Spec) Options {
	return Options{
		Type: p.Type, Tables: p.Tables, SamplePercent: p.SamplePercent, Repair: p.Repair,
		MaxDuration: time.Duration(p.MaxHours * float64(time.Hour)), Workers: spec.Parallelism.Max,
	}
}

// CheckParams returns the parameters of a check job's compare: check.full,
// content by default.
func CheckParams(spec *job.Spec) Params {
	p := Params{Type: spec.Check.Full.Mode, SamplePercent: spec.Check.Full.SamplePercent, MaxHours: spec.Check.Full.MaxHours}
	if p.Type == "" {
		p.Type = TypeContent
	}
	return p
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
