package compare

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/job"
)

// RunCheck runs the compare of a check job (check.full; content by
// default) as the job's work: it moves no data. A check job stopped and
// resumed continues its unfinished compare. The compare's report is on the
// job's compares; differences are reported there and in a warning event,
// and do not fail the job.
func (s *Service) RunCheck(ctx context.Context, jobID string, spec *job.Spec) error {
	store := s.svc.Store()
	list, err := store.ListCompares(ctx, jobID)
	if err != nil {
		return err
	}
	var c *catalog.Compare
	for _, x := range list {
		if isCheck(x) && !x.Ended() {
			c = x
			break
		}
	}
	if c == nil {
		if c, err = s.newCompare(ctx, jobID, CheckParams(spec), true); err != nil {
			return err
		}
	}
	err = s.run(ctx, c.ID, jobID)
	if err != nil && ctx.Err() == nil {
		s.ended(c.ID, jobID, err, nil)
	}
	return err
}

// publish writes a running compare's progress into its report until stop
// is called, for the API's compare view.
func (s *Service) publish(id string, p *Progress) (stop func()) {
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(s.PublishEvery)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
			case <-quit:
				return
			}
			b, err := json.Marshal(p.Snapshot())
			if err != nil {
				continue
			}
			_, err = s.svc.Store().UpdateCompare(context.Background(), id, func(c *catalog.Compare) error {
				if c.Status == catalog.CompareRunning {
					c.Report = b
				}
				return nil
			})
			if err != nil {
				s.log.Warn("publish compare progress", "compare_id", id, "err", err)
			}
		}
	}()
	return func() { close(quit); <-done }
}

// ProgressReport is a running compare's report: its phase and each table's progress.
type ProgressReport struct {
	V      int                 `json:"v"`
	Status string              `json:"status"` // running
	Phase  string              `json:"phase"`
	Tables []TableProgressView `json:"tables"`
	At     time.Time           `json:"at"`
}

// TableProgressView is one table's progress.
type TableProgressView struct {
	Table  string `json:"table"`
	Chunks int64  `json:"chunks"`
	Done   int64  `json:"chunks_done"`
	Rows   int64  `json:"rows"`
	Diffs  int64  `json:"differences"`
	Ended  bool   `json:"ended"`
}

// Snapshot returns the progress as a report document.
func (p *Progress) Snapshot() ProgressReport {
	r := ProgressReport{V: ReportVersion, Status: "running", Phase: p.Phase(), At: time.Now().UTC(), Tables: []TableProgressView{}}
	for _, t := range p.Tables() {
		r.Tables = append(r.Tables, TableProgressView{Table: t.Name, Chunks: t.Chunks.Load(), Done: t.Done.Load(),
			Rows: t.Rows.Load(), Diffs: t.Diffs.Load(), Ended: t.Ended.Load()})
	}
	return r
}

// catalogJournal keeps a server compare's journal in the catalog.
type catalogJournal struct {
	store catalog.CompareStore
	id    string
}

func (j *catalogJournal) Load(ctx context.Context) ([]catalog.CompareRecord, error) {
	return j.store.ListCompareRecords(ctx, j.id)
}

func (j *catalogJournal) Save(ctx context.Context, r catalog.CompareRecord) error {
	if err := j.store.SaveCompareRecord(ctx, j.id, r); err != nil {
		return fmt.Errorf("record compare progress: %w", err)
	}
	return nil
}

// RepairScript returns a finished server compare's repair script from its
// journal: the target's session settings, then every table's statements.
func RepairScript(ctx context.Context, store catalog.CompareStore, compareID string, target job.Engine) ([]string, error) {
	recs, err := store.ListCompareRecords(ctx, compareID)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range recs {
		if r.Chunk != recordDone {
			continue
		}
		var done doneRecord
		if err := decodeRecord(r, &done); err != nil {
			return nil, err
		}
		out = append(out, done.Repair...)
	}
	if len(out) == 0 {
		return nil, nil
	}
	var header []string
	if target.IsMySQL() {
		header = mysqlDialect{}.header()
	} else {
		header = pgDialect{}.header()
	}
	return append(header, out...), nil
}
