package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
)

// ResolveStart turns a job's start_position into a binlog position:
//
//   - binlog:FILE:POS must name an event at a transaction boundary of a
//     binlog the server still has;
//   - gtid:SET (MariaDB 0-1-42,..., MySQL uuid:1-5,...) must be in the
//     server's binlogs: not ahead of what it executed, not purged;
//   - a time is the first transaction that starts at or after it (the
//     binlog files' creation times bound a binary search, then the file is
//     scanned). A time before the oldest retained binlog is
//     CodeBinlogPurged: what happened in between is gone; a time after the
//     last transaction is the current end of the binlog; a future time is
//     refused.
//
// MariaDB positions carry the GTID position at the coordinate
// (BINLOG_GTID_POS), so the stream resumes by GTID.
func (s *Source) ResolveStart(ctx context.Context, lj connector.LogJob, sp job.StartPosition) (change.Position, error) {
	if err := s.checkBinlog(ctx); err != nil {
		return change.Position{}, err
	}
	switch sp.Kind {
	case job.PositionBinlog:
		return s.resolveFilePos(ctx, sp.File, sp.Pos)
	case job.PositionGTID:
		return s.resolveGTID(ctx, lj, sp.GTID)
	case job.PositionTime:
		return s.resolveTime(ctx, lj, sp.Time)
	}
	return change.Position{}, errs.New(CodePositionNotFound, "start position kind %q does not apply to a %s source", sp.Kind, s.Flavor()).
		WithFix("use a time, binlog:FILE:POS or gtid:SET")
}

func (s *Source) position(file string, pos uint64) change.Position {
	return change.Position{Engine: "mysql", Flavor: s.Flavor(), File: file, Pos: pos}
}

// withGTID adds MariaDB's GTID position at the coordinate.
func (s *Source) withGTID(ctx context.Context, p change.Position) (change.Position, error) {
	if !s.cat.srv.mariadb {
		return p, nil
	}
	g, err := s.gtidAt(ctx, p.File, p.Pos)
	p.GTIDSet = g
	return p, err
}

// boundaryEvents are the event types that may start a replay: a position
// at any other event is inside a transaction.
var boundaryEvents = map[string]bool{"gtid": true, "anonymous_gtid": true, "query": true, "format_desc": true,
	"gtid_list": true, "binlog_checkpoint": true, "previous_gtids": true, "rotate": true, "stop": true,
	"start_encryption": true, "incident": true}

func (s *Source) resolveFilePos(ctx context.Context, file string, pos uint64) (change.Position, error) {
	p := s.position(file, pos)
	files, err := s.binlogFiles(ctx)
	if err != nil {
		return p, err
	}
	i := fileIndex(files, file)
	if i < 0 {
		if len(files) > 0 && fileSeqOf(file) < fileSeqOf(files[0].name) {
			return p, errAt(CodeBinlogPurged, p, "binlog %s was purged from the source (its oldest binlog is %s)", file, files[0].name).
				WithFix("choose a position in a binlog the server still has (SHOW BINARY LOGS), or run a full load")
		}
		return p, errAt(CodePositionNotFound, p, "the source has no binlog %s (SHOW BINARY LOGS lists %s)", file, fileNames(files)).
			WithFix("choose a position in a binlog the server has")
	}
	if pos > files[i].size {
		return p, errAt(CodePositionNotFound, p, "binlog %s is only %d bytes long", file, files[i].size).
			WithFix("choose a position within the binlog")
	}
	if pos < files[i].size {
		var name string
		var evPos, srvID, end sql.NullInt64
		var typ, info sql.NullString
		err := s.db.QueryRowContext(ctx, fmt.Sprintf("SHOW BINLOG EVENTS IN %s FROM %d LIMIT 1", quoteString(file), pos)).
			Scan(&name, &evPos, &typ, &srvID, &end, &info)
		if err != nil {
			return p, errAt(CodePositionNotFound, p, "no binlog event starts at this position (%v)", err).
				WithFix("use a position SHOW BINLOG EVENTS or SHOW MASTER STATUS reports")
		}
		if t := strings.ToLower(typ.String); !boundaryEvents[t] || t == "query" && !startsGroup(info.String) {
			return p, errAt(CodePositionNotFound, p, "the position is inside a transaction (a %s event)", typ.String).
				WithFix("use the position of a transaction's first event (Gtid/BEGIN) or of the end of one (after its Xid/COMMIT)")
		}
	}
	return s.withGTID(ctx, p)
}

// startsGroup reports whether a Query event's text may start a replay:
// BEGIN or a statement of its own (not COMMIT, which ends a transaction).
func startsGroup(info string) bool {
	w := strings.ToUpper(strings.TrimSpace(stripComments(info)))
	return !strings.HasPrefix(w, "COMMIT") && !strings.HasPrefix(w, "ROLLBACK")
}

func fileIndex(files []binlogFile, name string) int {
	for i, f := range files {
		if f.name == name {
			return i
		}
	}
	return -1
}

func fileNames(files []binlogFile) string {
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.name
	}
	if len(names) > 6 {
		names = append(names[:3], append([]string{"…"}, names[len(names)-3:]...)...)
	}
	return strings.Join(names, ", ")
}

// fileSeqOf is the number a binlog name ends with.
func fileSeqOf(name string) uint64 {
	n, _ := strconv.ParseUint(name[strings.LastIndexByte(name, '.')+1:], 10, 64)
	return n
}

func (s *Source) resolveGTID(ctx context.Context, lj connector.LogJob, set string) (change.Position, error) {
	set = strings.Join(strings.Fields(set), "")
	p := change.Position{Engine: "mysql", Flavor: s.Flavor(), GTIDSet: set}
	if s.cat.srv.mariadb {
		want, err := gomysql.ParseMariadbGTIDSet(set)
		if err != nil {
			return p, errs.New(CodePositionNotFound, "%q is not a MariaDB GTID position: %v", set, err).
				WithFix("use domain-server-sequence triples, e.g. gtid:0-1-42,1-2-7")
		}
		var cur sql.NullString
		if err := s.db.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_binlog_pos").Scan(&cur); err != nil {
			return p, fmt.Errorf("read gtid_binlog_pos: %w", err)
		}
		have, err := gomysql.ParseMariadbGTIDSet(cur.String)
		if err != nil {
			return p, fmt.Errorf("read gtid_binlog_pos %q: %w", cur.String, err)
		}
		for domain, g := range want.(*gomysql.MariadbGTIDSet).Sets {
			h, ok := have.(*gomysql.MariadbGTIDSet).Sets[domain]
			if !ok || g.SequenceNumber > h.SequenceNumber {
				return p, errs.New(CodePositionNotFound, "GTID %s is not in the source's binlog yet (its binlog is at %s)", g, cur.String).
					WithFix("use a GTID position the source has executed (SELECT @@gtid_binlog_pos)")
			}
		}
		p.GTIDSet = want.String()
	} else {
		want, err := gomysql.ParseMysqlGTIDSet(set)
		if err != nil {
			return p, errs.New(CodePositionNotFound, "%q is not a MySQL GTID set: %v", set, err).
				WithFix("use uuid:interval sets, e.g. gtid:3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5")
		}
		var executed, purged sql.NullString
		if err := s.db.QueryRowContext(ctx, "SELECT @@GLOBAL.gtid_executed, @@GLOBAL.gtid_purged").Scan(&executed, &purged); err != nil {
			return p, fmt.Errorf("read gtid_executed: %w", err)
		}
		have, err := gomysql.ParseMysqlGTIDSet(strings.ReplaceAll(executed.String, "\n", ""))
		if err != nil {
			return p, err
		}
		if !have.Contain(want) {
			return p, errs.New(CodePositionNotFound, "GTID set %s is not contained in what the source executed (%s)", set, executed.String).
				WithFix("use a GTID set the source has executed (SELECT @@gtid_executed)")
		}
		gone, err := gomysql.ParseMysqlGTIDSet(strings.ReplaceAll(purged.String, "\n", ""))
		if err == nil && !want.Contain(gone) {
			return p, errs.New(CodeBinlogPurged, "the source purged transactions after GTID set %s (gtid_purged %s)", set, purged.String).
				WithFix("choose a later position, or run a full load")
		}
		p.GTIDSet = want.String()
	}
	// The server checks the rest (MariaDB: a GTID whose binlog was purged)
	// when a replica asks for it.
	err := s.scanBinlog(ctx, lj, p, func(*replication.BinlogEvent, string) (bool, error) { return true, nil })
	return p, err
}

// resolveTime finds the first transaction that starts at or after t.
func (s *Source) resolveTime(ctx context.Context, lj connector.LogJob, t time.Time) (change.Position, error) {
	var now time.Time
	if err := s.db.QueryRowContext(ctx, "SELECT UNIX_TIMESTAMP(NOW(6))").Scan(&unixTime{&now}); err != nil {
		return change.Position{}, fmt.Errorf("read the source's clock: %w", err)
	}
	if t.After(now) {
		return change.Position{}, errs.New(CodePositionNotFound, "start time %s is in the future (the source's clock says %s)",
			t.Format(time.RFC3339), now.Format(time.RFC3339)).WithFix("use a time in the past, or no start position")
	}
	files, err := s.binlogFiles(ctx)
	if err != nil {
		return change.Position{}, err
	}
	if len(files) == 0 {
		return change.Position{}, s.checkBinlog(ctx)
	}
	// The time of a file's first transaction (its creation time when it has
	// none): transactions are found by their own timestamps.
	created := make([]time.Time, len(files))
	creation := func(i int) (time.Time, error) {
		if !created[i].IsZero() {
			return created[i], nil
		}
		var fde time.Time
		err := s.scanBinlog(ctx, lj, s.position(files[i].name, 4), func(ev *replication.BinlogEvent, file string) (bool, error) {
			switch e := ev.Event.(type) {
			case *replication.FormatDescriptionEvent:
				fde = time.Unix(int64(ev.Header.Timestamp), 0)
			case *replication.MariadbGTIDEvent, *replication.GTIDEvent, *replication.GtidTaggedLogEvent:
				created[i] = time.Unix(int64(ev.Header.Timestamp), 0)
				return true, nil
			case *replication.QueryEvent:
				if !s.cat.srv.mariadb && startsGroup(string(e.Query)) {
					created[i] = time.Unix(int64(ev.Header.Timestamp), 0)
					return true, nil
				}
			case *replication.RotateEvent:
				return file != files[i].name, nil // the next file: this one has no transaction
			case *replication.HeartbeatEvent:
				return true, nil
			}
			return false, nil
		})
		if created[i].IsZero() {
			created[i] = fde
		}
		return created[i], err
	}
	first, err := creation(0)
	if err != nil {
		return change.Position{}, err
	}
	if t.Before(first) {
		return change.Position{}, errs.New(CodeBinlogPurged, "start time %s is before the oldest binlog the source has (%s, started %s): "+
			"changes between the two are not available", t.Format(time.RFC3339), files[0].name, first.UTC().Format(time.RFC3339)).
			WithFix("use a start time at or after %s (or binlog:%s:4), or run a full load", first.UTC().Format(time.RFC3339), files[0].name)
	}
	// The last file created at or before t holds the first transaction at or after it, or a later file does.
	var searchErr error
	i := sort.Search(len(files), func(i int) bool {
		c, err := creation(i)
		if err != nil && searchErr == nil {
			searchErr = err
		}
		return c.After(t)
	}) - 1
	if searchErr != nil {
		return change.Position{}, searchErr
	}
	var found *change.Position
	gtids := false // MySQL with GTID events: BEGIN follows the transaction's GTID event
	err = s.scanBinlog(ctx, lj, s.position(files[max(i, 0)].name, 4), func(ev *replication.BinlogEvent, file string) (bool, error) {
		start := func() bool {
			if time.Unix(int64(ev.Header.Timestamp), 0).Before(t) {
				return false
			}
			p := s.position(file, uint64(ev.Header.LogPos-ev.Header.EventSize))
			found = &p
			return true
		}
		switch e := ev.Event.(type) {
		case *replication.MariadbGTIDEvent, *replication.GTIDEvent, *replication.GtidTaggedLogEvent:
			gtids = true
			return start(), nil
		case *replication.QueryEvent:
			if !gtids && !s.cat.srv.mariadb && startsGroup(string(e.Query)) {
				return start(), nil
			}
		case *replication.HeartbeatEvent:
			return true, nil // the end of the binlog
		}
		return false, nil
	})
	if err != nil {
		return change.Position{}, err
	}
	if found == nil { // nothing at or after t yet: the end of the binlog
		file, pos, err := s.masterPosition(ctx)
		if err != nil {
			return change.Position{}, err
		}
		found = &change.Position{Engine: "mysql", Flavor: s.Flavor(), File: file, Pos: pos}
	}
	return s.withGTID(ctx, *found)
}

// unixTime scans UNIX_TIMESTAMP(...) into a time.
type unixTime struct{ t *time.Time }

func (u *unixTime) Scan(src any) error {
	var f float64
	switch v := src.(type) {
	case []byte:
		if _, err := fmt.Sscan(string(v), &f); err != nil {
			return err
		}
	case float64:
		f = v
	case int64:
		f = float64(v)
	default:
		return fmt.Errorf("unix time of type %T", src)
	}
	sec := int64(f)
	*u.t = time.Unix(sec, int64((f-float64(sec))*1e9)).UTC()
	return nil
}

// scanBinlog reads the binlog from p, calling fn with each event and the
// file it is in, until fn says stop or the end of the binlog (a heartbeat,
// which fn sees first) is reached. Events before p's first transaction are
// passed too (rotate, format description).
func (s *Source) scanBinlog(ctx context.Context, lj connector.LogJob, p change.Position,
	fn func(ev *replication.BinlogEvent, file string) (bool, error)) error {
	sourceID, _, err := s.serverIdentity(ctx)
	if err != nil {
		return err
	}
	cfg, err := s.syncerConfig(ctx, binlogServerID(lj, "resolve", sourceID))
	if err != nil {
		return err
	}
	syncer := replication.NewBinlogSyncer(cfg)
	defer syncer.Close()
	var st *replication.BinlogStreamer
	if p.File == "" {
		var set gomysql.GTIDSet
		if s.cat.srv.mariadb {
			set, err = gomysql.ParseMariadbGTIDSet(p.GTIDSet)
		} else {
			set, err = gomysql.ParseMysqlGTIDSet(p.GTIDSet)
		}
		if err == nil {
			st, err = syncer.StartSyncGTID(set)
		}
	} else {
		st, err = syncer.StartSync(gomysql.Position{Name: p.File, Pos: uint32(p.Pos)})
	}
	if err != nil {
		if e := purgedError(err, p); e != nil {
			return e
		}
		return fmt.Errorf("read the binlog at %s: %w", p, scrubbed(err, s))
	}
	file := p.File
	for {
		rctx, cancel := context.WithTimeout(ctx, readTimeout)
		ev, err := st.GetEvent(rctx)
		cancel()
		switch {
		case err != nil && ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			return fmt.Errorf("read the binlog at %s: no event within %s", p, readTimeout)
		case err != nil:
			if e := purgedError(err, p); e != nil {
				return e
			}
			return fmt.Errorf("read the binlog at %s: %w", p, scrubbed(err, s))
		}
		if r, ok := ev.Event.(*replication.RotateEvent); ok {
			file = string(r.NextLogName)
		}
		stop, err := fn(ev, file)
		if err != nil || stop {
			return err
		}
	}
}
