package compare

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/dtsorg/dts/internal/catalog"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
)

// Compare is one compare of a job's source and target.
type Compare struct {
	Spec    *job.Spec
	Options Options
	// Journal keeps a content compare's progress (nil: kept in memory only).
	Journal Journal
	Engines Engines
	Log     *slog.Logger
	// Progress receives the compare's progress (nil: none is shown).
	Progress *Progress
	// RepairFile names where the caller keeps the repair script, for the report.
	RepairFile string
}

// Result is a finished compare.
type Result struct {
	Report *Report
	// Script is the repair SQL of a content compare that found
	// differences: session settings, then one statement per row.
	Script []string
}

// Run runs the compare. It returns ctx's error when cancelled (run it
// again with the same journal to resume); a compare cut short by
// MaxDuration returns a report whose unfinished tables are incomplete.
// A table that cannot be compared is reported skipped with the reason.
func (c *Compare) Run(ctx context.Context) (*Result, error) {
	c.Options.defaults()
	opts := &c.Options
	if c.Journal == nil {
		c.Journal = &MemoryJournal{}
	}
	if c.Progress == nil {
		c.Progress = NewProgress()
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	log := c.Log.With("component", "compare", "job", c.Spec.Name, "type", opts.Type)
	started := time.Now()
	src, err := c.Engines.OpenSource(ctx, c.Spec.Source, log)
	if err != nil {
		return nil, fmt.Errorf("connect to the source: %w", err)
	}
	defer src.Close()
	tgt, err := c.Engines.OpenSource(ctx, c.Spec.Target, log)
	if err != nil {
		return nil, fmt.Errorf("connect to the target: %w", err)
	}
	defer tgt.Close()
	sink, err := c.Engines.OpenSink(ctx, c.Spec.Target, log)
	if err != nil {
		return nil, fmt.Errorf("connect to the target: %w", err)
	}
	defer sink.Close()
	// work ends at the time limit (max_hours): what is not compared by
	// then is reported incomplete.
	work := ctx
	if opts.MaxDuration > 0 {
		var cancel context.CancelFunc
		work, cancel = context.WithTimeout(ctx, opts.MaxDuration)
		defer cancel()
	}
	rep := &Report{Type: opts.Type}
	res := &Result{Report: rep}
	pairs, err := selectPairs(work, c.Spec, opts.Tables, src, tgt, sink)
	if err != nil {
		if ctx.Err() == nil && work.Err() != nil {
			rep.Warnings = append(rep.Warnings, timeLimit+" before the tables' structure was read")
			rep.finish(started)
			rep.Status, rep.TimeLimited = StatusIncomplete, true
			return res, nil
		}
		return nil, err
	}
	switch opts.Type {
	case TypeObjects:
		for _, p := range pairs {
			rep.Tables = append(rep.Tables, objects(p, c.Spec.Target.Engine.IsMySQL()))
		}
		onTarget, err := tgt.ListTables(work)
		if err != nil {
			if ctx.Err() == nil && work.Err() != nil {
				rep.Warnings = append(rep.Warnings, timeLimit+" before the target's extra tables were listed")
				break
			}
			return nil, fmt.Errorf("list target tables: %w", err)
		}
		rep.ExtraTables = extraTables(pairs, onTarget)
	case TypeRows, TypeContent:
		sides, err := c.openSides(ctx)
		if err != nil {
			return nil, err
		}
		defer sides[0].conn.close()
		defer sides[1].conn.close()
		if rep.Warnings, err = c.unclaimed(work, pairs, sides[1]); err != nil {
			if ctx.Err() == nil && work.Err() != nil {
				err = nil // the time limit: the tables below say so
			} else {
				return nil, err
			}
		}
		if opts.Type == TypeRows {
			rep.Tables, err = c.rows(ctx, work, pairs, sides)
		} else {
			rep.SamplePercent = opts.SamplePercent
			rep.Tables, res.Script, err = c.content(ctx, work, pairs, sides)
			if err == nil {
				err = c.repair(ctx, res, pairs, sides)
			}
		}
		if err != nil {
			return nil, err
		}
	default:
		return nil, errs.Invalid([]errs.FieldError{{Path: "type", Message: fmt.Sprintf("%q is not a compare type; allowed: objects, rows, content", opts.Type)}})
	}
	c.Progress.set(PhaseDone)
	rep.finish(started)
	rep.TimeLimited = ctx.Err() == nil && work.Err() != nil
	log.InfoContext(ctx, "compare finished", "status", rep.Status, "tables", len(rep.Tables), "seconds", rep.Seconds)
	return res, nil
}

// openSides connects to both ends for the compare's queries and picks
// the row hash scheme both can compute (hashrows.go).
func (c *Compare) openSides(ctx context.Context) ([2]*side, error) {
	var out [2]*side
	sameMySQL := c.Spec.Source.Engine.IsMySQL() && c.Spec.Target.Engine.IsMySQL()
	conns := c.Options.Workers + 2
	for i, e := range []job.Endpoint{c.Spec.Source, c.Spec.Target} {
		s := &side{which: i, sameMySQL: sameMySQL}
		if e.Engine.IsMySQL() {
			m, err := openMySQL(ctx, e, conns)
			if err != nil {
				closeSides(out)
				return out, fmt.Errorf("connect to the %s: %w", s, err)
			}
			s.conn, s.d, s.engine = m, mysqlDialect{mariadb: m.mariadb, sameMySQL: sameMySQL}, "mysql"
		} else {
			p, err := openPostgres(ctx, e, conns)
			if err != nil {
				closeSides(out)
				return out, fmt.Errorf("connect to the %s: %w", s, err)
			}
			s.conn, s.d, s.engine = p, pgDialect{}, string(job.EnginePostgreSQL)
			if !p.utf8 {
				out[i] = s
				closeSides(out)
				return out, errs.New(errs.NotAvailable, "the %s database is not encoded in UTF8: dts compares text as UTF-8", s).
					WithFix("compare a UTF8 database, or compare rows or objects only")
			}
		}
		out[i] = s
	}
	useScheme(out, c.Options.Scheme)
	return out, nil
}

// useScheme sets the sides' row hash scheme: the cheapest both can
// compute, unless want (tests) names one.
func useScheme(sides [2]*side, want string) {
	crc := true // every MySQL side has CRC32C
	pgs := 0
	for _, s := range sides {
		if m, ok := s.conn.(*mysqlConn); ok {
			crc = crc && m.crc32c
		} else {
			pgs++
		}
	}
	sc := schemeMD5
	switch {
	case want == "md5":
	case pgs == 2 && want != "crc":
		sc = schemePG
	case crc:
		sc = schemeCRC
	}
	for _, s := range sides {
		switch d := s.d.(type) {
		case mysqlDialect:
			d.scheme = sc
			s.d = d
		case pgDialect:
			d.scheme = sc
			s.d = d
			s.goRows = sc == schemeCRC
		}
	}
}

func closeSides(s [2]*side) {
	for _, x := range s {
		if x != nil && x.conn != nil {
			x.conn.close()
		}
	}
}

// timeLimit starts the reason of what a compare's time limit cut short.
const timeLimit = "the compare's time limit (max_hours) ended"

// rows counts every table's rows on both sides; counts not done when work
// ends (the time limit) are reported incomplete.
func (c *Compare) rows(ctx, work context.Context, pairs []*pair, sides [2]*side) ([]TableReport, error) {
	out := make([]TableReport, len(pairs))
	sem := make(chan struct{}, c.Options.Workers)
	var wg sync.WaitGroup
	c.Progress.set(PhaseComparing)
	for i, p := range pairs {
		rep := &out[i]
		*rep = TableReport{Table: p.name, Target: p.target.String(), Status: StatusEqual}
		tp := c.Progress.table(p.name)
		tp.Chunks.Store(1)
		if p.dst == nil {
			rep.Status, rep.Reason = StatusDifferent, "the table is missing on the target"
			tp.Ended.Store(true)
			continue
		}
		if why := p.unmerged(); why != "" {
			rep.Status, rep.Reason = StatusSkipped, why
			tp.Ended.Store(true)
			continue
		}
		select {
		case sem <- struct{}{}:
		case <-work.Done():
		}
		if work.Err() != nil {
			rep.Status, rep.Reason = StatusIncomplete, timeLimit+" before this table was counted"
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			var n [2]int64
			err := both(func(s int) (err error) {
				n[s], err = sides[s].count(work, newTableSQL(sides[s].d, p, s))
				return err
			})
			switch {
			case err != nil && ctx.Err() == nil && work.Err() != nil:
				rep.Status, rep.Reason = StatusIncomplete, timeLimit+" before this table was counted"
				tp.Ended.Store(true)
				return
			case err != nil:
				rep.Status, rep.Reason = StatusSkipped, err.Error()
			case n[0] != n[1]:
				rep.Status = StatusDifferent
			}
			rep.SourceRows, rep.TargetRows = &n[0], &n[1]
			tp.Rows.Store(max(n[0], n[1]))
			tp.Done.Store(1)
			tp.Ended.Store(true)
		})
	}
	wg.Wait()
	return out, ctx.Err()
}

// content compares every table's rows (content.go); tables not compared
// when work ends (the time limit) are reported incomplete.
func (c *Compare) content(ctx, work context.Context, pairs []*pair, sides [2]*side) ([]TableReport, []string, error) {
	loaded, err := c.Journal.Load(ctx)
	if err != nil {
		return nil, nil, err
	}
	recs := map[string]map[int]catalog.CompareRecord{}
	for _, r := range loaded {
		if recs[r.Table] == nil {
			recs[r.Table] = map[int]catalog.CompareRecord{}
		}
		recs[r.Table][r.Chunk] = r
	}
	cr := &content{c: c, opts: &c.Options, sides: sides, recs: recs, sem: make(chan struct{}, c.Options.Workers),
		sameMySQL: c.Spec.Source.Engine.IsMySQL() && c.Spec.Target.Engine.IsMySQL()}
	cr.budget.Store(int64(c.Options.MaxRepairRows))
	cr.bytes.Store(c.Options.MaxRepairBytes)
	c.Progress.set(PhaseComparing)
	for _, p := range pairs {
		c.Progress.table(p.name)
	}
	reports := make([]TableReport, len(pairs))
	scripts := make([][]string, len(pairs))
	tables := make(chan struct{}, c.Options.Workers)
	var wg sync.WaitGroup
	for i, p := range pairs {
		select {
		case tables <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-tables }()
			rep, script, err := cr.table(work, p)
			switch {
			case err == nil:
				reports[i], scripts[i] = *rep, script
			case ctx.Err() != nil:
			case errors.Is(err, context.DeadlineExceeded):
				reports[i] = TableReport{Table: p.name, Target: p.target.String(), Mode: p.mode, Status: StatusIncomplete,
					Reason: timeLimit + " before this table was compared"}
			default:
				c.Log.Warn("table not compared", "table", p.name, "err", err)
				reports[i] = TableReport{Table: p.name, Target: p.target.String(), Mode: p.mode, Status: StatusSkipped, Reason: err.Error()}
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	var script []string
	for _, s := range scripts {
		script = append(script, s...)
	}
	if len(script) > 0 {
		script = append(sides[1].d.(repairDialect).header(), script...)
	}
	return reports, script, nil
}

// repair describes the repair script in the report and applies it when
// asked; the repaired rows are then checked again (recheck.go).
func (c *Compare) repair(ctx context.Context, res *Result, pairs []*pair, sides [2]*side) error {
	rep := res.Report
	truncated := false
	for _, t := range rep.Tables {
		truncated = truncated || t.Unlisted > 0
	}
	if len(res.Script) == 0 && !truncated {
		return nil
	}
	target := sides[1]
	rd := target.d.(repairDialect)
	stmts := res.Script[min(len(res.Script), len(rd.header())):]
	info := &RepairInfo{Dialect: target.engine, File: c.RepairFile, Statements: len(stmts), Truncated: truncated}
	info.Inline = stmts[:min(len(stmts), c.Options.InlineRepair)]
	rep.Repair = info
	if !c.Options.Repair || len(stmts) == 0 {
		return nil
	}
	c.Progress.set(PhaseRepair)
	if err := target.conn.script(ctx, res.Script); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		info.Error = err.Error()
		return nil
	}
	info.Applied = true
	return c.recheckRepair(ctx, info, pairs, sides)
}
