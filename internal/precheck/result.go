package precheck

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/job"
)

// SpecHash identifies a job's configuration: the canonical JSON of the
// normalised spec without its passwords (a hash of a password would be a
// way to test guesses against it). Changing a password moves the job back
// to created, and start then runs the precheck again anyway.
func SpecHash(spec *job.Spec) string {
	c := spec.Clone()
	c.Normalize()
	c.Source.Password, c.Target.Password = "", ""
	b, err := json.Marshal(c)
	if err != nil {
		panic(err) // a spec always marshals (job.Spec.Clone relies on it too)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Result is a precheck result as users see it: every item with its status
// after skips (a skipped item says skipped, with the status it had), and
// the overall status.
type Result struct {
	JobID    string `json:"job_id,omitempty"`
	SpecHash string `json:"spec_hash"`
	// Status is failed while an item fails and is not skipped, warning while
	// one warns, passed otherwise.
	Status     string    `json:"status"`
	Passed     int       `json:"passed"`
	Warnings   int       `json:"warnings"`
	Failed     int       `json:"failed"`
	Skipped    int       `json:"skipped"`
	Failing    []string  `json:"failing,omitempty"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	DurationMS float64   `json:"duration_ms"`
	Items      []View    `json:"items"`
}

// View is one item as users see it.
type View struct {
	Item
	// Status shadows the item's: skipped for a skipped item.
	Status  string `json:"status"`
	Skipped *Skip  `json:"skipped,omitempty"`
}

// Skip says who went past an item and why.
type Skip struct {
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
	// Status is what the check found (failed or warning).
	Status string `json:"status"`
}

// Summarize turns a stored result and its skips into what users see. A skip
// covers its item only while the item has the status it was skipped with.
func Summarize(p *catalog.Precheck) *Result {
	r := &Result{JobID: p.JobID, SpecHash: p.SpecHash, StartedAt: p.StartedAt, FinishedAt: p.FinishedAt,
		DurationMS: float64(p.FinishedAt.Sub(p.StartedAt).Microseconds()) / 1000, Items: make([]View, len(p.Items))}
	skips := map[string]catalog.PrecheckSkip{}
	for _, s := range p.Skips {
		skips[s.Item] = s
	}
	for i, it := range p.Items {
		v := View{Item: it, Status: it.Status}
		if s, ok := skips[it.ID]; ok && it.Status != Passed && s.Status == it.Status {
			v.Status, v.Skipped = Skipped, &Skip{Reason: s.Reason, At: s.At, Status: it.Status}
		}
		switch v.Status {
		case Passed:
			r.Passed++
		case Warning:
			r.Warnings++
		case Skipped:
			r.Skipped++
		default:
			r.Failed++
			r.Failing = append(r.Failing, it.ID)
		}
		r.Items[i] = v
	}
	switch {
	case r.Failed > 0:
		r.Status = Failed
	case r.Warnings > 0:
		r.Status = Warning
	default:
		r.Status = Passed
	}
	return r
}

// Record turns a report into what the catalog keeps for a job.
func (r *Report) Record(jobID string) *catalog.Precheck {
	return &catalog.Precheck{JobID: jobID, SpecHash: r.SpecHash, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Items: r.Items}
}
