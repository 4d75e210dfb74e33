package mysql

import (
	"context"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
)

// A DDL statement dts cannot apply from its text (ddl_parse.go) changes
// followed tables to a structure only the server can tell. The stream reads
// it from information_schema, which shows the structure *now*; that is the
// structure at the statement's position only if no later DDL changed the
// table. The stream holds the statement (returning nothing after it) until
// one of these proves it:
//
//   - caught up: the stream has read the binlog up to where it ended just
//     after the structure was read, and no statement after the held one
//     mentions the table. A DDL writes its binlog event before it releases
//     the table's metadata lock, which the information_schema read waits
//     for, so any DDL whose effect the read saw is in that part of the
//     binlog: none means the structure read is the one at the statement;
//   - FULL metadata: the first TABLE_MAP of the table after the statement
//     (binlog_row_metadata=FULL) has the columns, types and labels of the
//     structure read, and no statement in between mentions the table.
//
// Otherwise the stream stops with CodeUnsupportedDDL at the statement: when
// a statement in between mentions the table, when the TABLE_MAP disagrees
// or has no column names, or when more than holdMaxEvents / holdMaxBytes of
// binlog pass unconfirmed.
var orReplaceRe = regexp.MustCompile(`(?is)^\s*create\s+or\s+replace\s+(temporary\s+)?table\b`)

const (
	holdMaxEvents = 200000
	holdMaxBytes  = 256 << 20
)

// heldDDL is a statement waiting for its tables' structure to be confirmed.
type heldDDL struct {
	stmt, kind, why string
	pos             change.Position // after the statement
	at              time.Time
	keys            []tableKey
	old             map[tableKey]*schema.Table
	live            map[tableKey]*schema.Table
	// mark is where the binlog ended right after live was read.
	mark      change.Position
	confirmed map[tableKey]bool
	events    []*replication.BinlogEvent
	size      int
}

func (s *binlogStream) startHold(ctx context.Context, q, db string, o ddlOutcome, pos change.Position, at time.Time) error {
	h := &heldDDL{stmt: q, kind: o.kind, why: o.why, pos: pos, at: at, old: map[tableKey]*schema.Table{},
		confirmed: map[tableKey]bool{}}
	for _, k := range o.reread {
		if !slices.Contains(h.keys, k) {
			h.keys = append(h.keys, k)
			h.old[k] = s.hist.tables[k]
		}
	}
	s.hold = h
	s.log.Info("a DDL statement changes followed tables in a way dts reads from the server; confirming the structure",
		"statement", clipText(q, 200), "tables", refsOf(h.keys), "why", o.why, "position", pos.String())
	return s.tryIdle(ctx)
}

// tryIdle reads the held tables' structure and where the binlog ends; it
// confirms the statement when the stream has read that far already.
func (s *binlogStream) tryIdle(ctx context.Context) error {
	h := s.hold
	live, err := readLive(ctx, s.src.cat, h.keys)
	if err != nil {
		return err
	}
	file, pos, err := s.src.masterPosition(ctx)
	if err != nil {
		return err
	}
	h.live, h.mark = live, change.Position{Engine: "mysql", File: file, Pos: pos}
	return s.tryCaughtUp()
}

// tryCaughtUp confirms the held statement once the stream has read the
// binlog up to mark (statements mentioning its tables stop the stream
// before, in holdEvent).
func (s *binlogStream) tryCaughtUp() error {
	h := s.hold
	at := change.Position{Engine: "mysql", File: s.readPos.File, Pos: s.readPos.Pos}
	if h.mark.IsZero() || change.Compare(at, h.mark) < 0 {
		return nil
	}
	for _, k := range h.keys {
		h.confirmed[k] = true
	}
	return s.release()
}

// touchesHeld reports whether a statement (other than transaction control)
// mentions a held table.
func (s *binlogStream) touchesHeld(q string) bool {
	words := strings.Fields(strings.ToUpper(stripComments(q)))
	if len(words) > 0 && (words[0] == "BEGIN" || words[0] == "COMMIT" || words[0] == "ROLLBACK" || words[0] == "SAVEPOINT") {
		return false
	}
	ids := map[string]bool{}
	for _, id := range identifiers(q) {
		ids[strings.ToLower(id)] = true
	}
	for _, k := range s.hold.keys {
		if ids[strings.ToLower(k.name)] {
			return true
		}
	}
	return false
}

// holdEvent looks at an event read while a statement is held.
func (s *binlogStream) holdEvent(ctx context.Context, ev *replication.BinlogEvent) error {
	h := s.hold
	switch e := ev.Event.(type) {
	case *replication.HeartbeatEvent:
		return s.tryIdle(ctx)
	case *replication.RotateEvent:
		s.file = string(e.NextLogName)
		s.readPos.File, s.readPos.Pos = s.file, e.Position
	case *replication.TableMapEvent:
		k := s.hist.key(string(e.Schema), string(e.Table))
		if !slices.Contains(h.keys, k) || h.confirmed[k] {
			break
		}
		lt := h.live[k]
		if lt == nil {
			return s.unconfirmed("the table does not exist on the server any more")
		}
		if why := layoutMismatch(e, lt, s.mariadb); why != "" {
			return s.unconfirmed("the table's structure on the server differs from the binlog's after the statement: " + why)
		}
		// Without column names (binlog_row_metadata is not FULL) types alone
		// prove nothing: wait until the stream has caught up with mark.
		if len(e.ColumnName) > 0 {
			h.confirmed[k] = true
		}
	case *replication.QueryEvent:
		if s.touchesHeld(string(e.Query)) {
			return s.unconfirmed("a later statement mentions the table before it was confirmed: " + clipText(string(e.Query), 200))
		}
	}
	h.events = append(h.events, ev)
	h.size += int(ev.Header.EventSize)
	if len(h.confirmed) == len(h.keys) {
		return s.release()
	}
	if err := s.tryCaughtUp(); err != nil || s.hold == nil {
		return err
	}
	if len(h.events) > holdMaxEvents || h.size > holdMaxBytes {
		return s.unconfirmed("neither a row event of the table (binlog_row_metadata=FULL) nor catching up with the binlog's end " +
			"confirmed its structure within the next 200000 events / 256 MiB of binlog")
	}
	return nil
}

// unconfirmed is the error of a held statement that cannot be confirmed.
func (s *binlogStream) unconfirmed(why string) error {
	h := s.hold
	return errAt(CodeUnsupportedDDL, h.pos, "DDL statement %q changes %v, and %s; dts read the new structure from the server "+
		"but cannot prove it is the structure at this position: %s", clipText(h.stmt, 300), refsOf(h.keys), h.why, why).
		WithFix("with binlog_row_metadata=FULL on the source dts confirms such statements from the row events that follow; " +
			"otherwise apply the change on the target by hand and " + resnapshotFix)
}

// release makes the structure read the history's and returns the held
// statement's DDL items; the events read meanwhile are handled next.
func (s *binlogStream) release() error {
	h := s.hold
	s.hold = nil
	for _, k := range h.keys {
		old, lt := h.old[k], h.live[k]
		switch {
		case lt == nil && old == nil:
			continue
		case lt == nil:
			s.hist.remove(k)
			s.pending = append(s.pending, ddlItem(ddlEffect{kind: job.DDLDropTable, old: old}, h.stmt, h.pos, h.at))
			continue
		}
		if old == nil && !s.hist.followsDB(lt.Schema) {
			continue
		}
		if old != nil && orReplaceRe.MatchString(h.stmt) {
			// CREATE OR REPLACE of a followed table drops it, rows and all.
			s.pending = append(s.pending, ddlItem(ddlEffect{kind: job.DDLDropTable, old: old}, h.stmt, h.pos, h.at))
			old = nil
		}
		s.hist.put(lt)
		if old != nil && reflect.DeepEqual(old, lt) {
			continue // the statement changed nothing dts models
		}
		kind := h.kind
		if kind == "" || kind == job.DDLTruncateTable || kind == job.DDLDropTable {
			kind = job.DDLAlterTable
		}
		eff := ddlEffect{kind: kind, old: old, table: lt}
		if old == nil {
			eff.kind = job.DDLCreateTable
		} else {
			var ok bool
			if eff.renames, ok = renamesInText(h.stmt, old, lt); !ok {
				return errAt(CodeUnsupportedDDL, h.pos, "DDL statement %q renames columns of %s in a way dts cannot establish from its text "+
					"(columns trade names within the statement)", clipText(h.stmt, 300), lt).
					WithFix("apply the change on the target by hand and " + resnapshotFix)
			}
		}
		s.pending = append(s.pending, ddlItem(eff, h.stmt, h.pos, h.at))
	}
	s.queue = append(h.events, s.queue...)
	return nil
}
