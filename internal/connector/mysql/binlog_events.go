package mysql

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/schema"
)

// Event groups → change items. MariaDB writes a transaction as
// GTID, TABLE_MAP, row events..., XID (or COMMIT for non-transactional
// tables); MySQL as GTID, BEGIN, TABLE_MAP, row events..., XID. A DDL
// statement is a group of its own: GTID, QUERY.

// handle turns one event into items (appended to pending).
func (s *binlogStream) handle(ctx context.Context, ev *replication.BinlogEvent) error {
	if s.hold != nil {
		return s.holdEvent(ctx, ev)
	}
	h := ev.Header
	switch e := ev.Event.(type) {
	case *replication.RotateEvent:
		s.file = string(e.NextLogName)
		if s.grp == nil {
			s.boundary.File, s.boundary.Pos = s.file, e.Position
		}
		s.readPos.File, s.readPos.Pos = s.file, e.Position
		return nil
	case *replication.HeartbeatEvent:
		if s.grp == nil {
			s.pending = append(s.pending, change.Item{Kind: change.ItemHeartbeat, Pos: s.boundary, At: s.sourceNow()})
		}
		return nil
	case *replication.MariadbGTIDEvent:
		return s.beginGroup(ev, e.GTID.String(), e.IsDDL(), e.IsStandalone(), time.Time{})
	case *replication.GTIDEvent:
		return s.beginGroup(ev, mysqlGTID(e.SID, e.Tag, e.GNO), false, false, e.ImmediateCommitTime())
	case *replication.GtidTaggedLogEvent:
		return s.beginGroup(ev, mysqlGTID(e.SID, e.Tag, e.GNO), false, false, e.ImmediateCommitTime())
	case *replication.QueryEvent:
		return s.query(ctx, ev, e)
	case *replication.TableMapEvent:
		return s.tableMap(e)
	case *replication.RowsEvent:
		return s.rows(ev, e)
	case *replication.XIDEvent:
		return s.commit(ev)
	case *replication.TransactionPayloadEvent: // MySQL 8 binlog_transaction_compression
		for _, inner := range e.Events {
			if err := s.handle(ctx, inner); err != nil {
				return err
			}
		}
		return nil
	case *replication.ExecuteLoadQueryEvent:
		// Statement-logged LOAD DATA (binlog_format STATEMENT or MIXED): the
		// event does not say which table it loads.
		if len(s.hist.tables) > 0 {
			return s.statementBased("LOAD DATA (the event does not name its table)")
		}
	case *replication.FormatDescriptionEvent, *replication.PreviousGTIDsEvent, *replication.MariadbGTIDListEvent,
		*replication.MariadbBinlogCheckPointEvent, *replication.IntVarEvent, *replication.RowsQueryEvent,
		*replication.MariadbAnnotateRowsEvent, *replication.BeginLoadQueryEvent:
	default:
		if err := s.otherEvent(h); err != nil {
			return err
		}
	}
	if s.grp == nil && h.LogPos > 0 && h.Flags&replication.LOG_EVENT_ARTIFICIAL_F == 0 {
		s.boundary.File, s.boundary.Pos = s.file, uint64(h.LogPos)
	}
	return nil
}

// otherEvent judges the events go-mysql does not decode.
func (s *binlogStream) otherEvent(h *replication.EventHeader) error {
	switch h.EventType {
	case replication.INCIDENT_EVENT:
		return errAt(CodeUnsupportedEvent, s.boundary, "the source logged an incident: its binlog may lack changes "+
			"(a replica reading it stops here too)").WithFix(resnapshotFix)
	case replication.XA_PREPARE_LOG_EVENT:
		if s.grp != nil && s.grp.rowEvents {
			return errAt(CodeUnsupportedEvent, s.grp.start, "an XA transaction changes followed tables: dts does not follow XA transactions").
				WithFix("commit changes to these tables outside XA transactions; " + resnapshotFix)
		}
		s.grp = nil
		return nil
	case replication.USER_VAR_EVENT, replication.RAND_EVENT, replication.STOP_EVENT, replication.IGNORABLE_EVENT,
		replication.TRANSACTION_CONTEXT_EVENT, replication.VIEW_CHANGE_EVENT, replication.MARIADB_START_ENCRYPTION_EVENT,
		replication.HEARTBEAT_EVENT, replication.HEARTBEAT_LOG_EVENT_V2, replication.UNKNOWN_EVENT:
		return nil
	}
	if s.grp != nil || h.EventType >= replication.WRITE_ROWS_EVENTv0 && h.EventType <= replication.DELETE_ROWS_EVENTv1 {
		return errAt(CodeUnsupportedEvent, s.boundary, "binlog event type %s (%d) is not one dts can read", h.EventType, h.EventType).
			WithFix("this source writes events dts does not know; check the server version is a supported one")
	}
	return nil
}

// beginGroup starts an event group at a GTID event.
func (s *binlogStream) beginGroup(ev *replication.BinlogEvent, gtid string, ddl, standalone bool, commitTime time.Time) error {
	if s.grp != nil && s.grp.rowEvents {
		return errAt(CodeUnsupportedEvent, s.grp.start, "a transaction that changes followed tables has no end event")
	}
	h := ev.Header
	clear(s.checked) // TABLE_MAP events are per transaction
	s.grp = &group{start: s.position(h.LogPos - h.EventSize), gtid: gtid, ddl: ddl, standalone: standalone,
		at: time.Unix(int64(h.Timestamp), 0).UTC(), commitTime: commitTime}
	return nil
}

// inTransaction reports whether a statement belongs to an open transaction
// (not a group of its own).
func (s *binlogStream) inTransaction() bool {
	g := s.grp
	return g != nil && (g.began || s.mariadb && !g.standalone && !g.ddl)
}

func (s *binlogStream) query(ctx context.Context, ev *replication.BinlogEvent, e *replication.QueryEvent) error {
	q := string(e.Query)
	words := strings.Fields(strings.ToUpper(stripComments(q)))
	first := func(ws ...string) bool {
		if len(words) < len(ws) {
			return false
		}
		for i, w := range ws {
			if strings.TrimRight(words[i], ";") != w {
				return false
			}
		}
		return true
	}
	switch {
	case first("BEGIN") && len(words) == 1, first("START", "TRANSACTION"):
		if s.grp == nil {
			if err := s.beginGroup(ev, "", false, false, time.Time{}); err != nil {
				return err
			}
		}
		s.grp.began = true
		return nil
	case first("COMMIT"):
		return s.commit(ev)
	case first("ROLLBACK", "TO"), first("SAVEPOINT"), first("RELEASE", "SAVEPOINT"):
		if s.grp != nil && s.grp.rowEvents && first("ROLLBACK", "TO") {
			return errAt(CodeUnsupportedEvent, s.grp.start, "a transaction that changes followed tables rolls back to a savepoint "+
				"after changing non-transactional tables: its binlog holds changes that were undone").WithFix(resnapshotFix)
		}
		return nil
	case first("ROLLBACK"):
		if s.grp != nil && s.grp.rowEvents {
			return errAt(CodeUnsupportedEvent, s.grp.start, "a transaction that changes followed tables ends in ROLLBACK "+
				"(it mixes non-transactional tables): dts cannot tell which of its changes remain").
				WithFix("keep followed tables out of transactions with non-transactional (MyISAM, Aria) tables; " + resnapshotFix)
		}
		return s.endGroup(ev)
	case first("XA"):
		if len(words) > 1 && (words[1] == "START" || words[1] == "BEGIN") {
			if s.grp == nil {
				if err := s.beginGroup(ev, "", false, false, time.Time{}); err != nil {
					return err
				}
			}
			s.grp.xa, s.grp.began = true, true
			return nil
		}
		if len(words) > 1 && words[1] == "END" {
			return nil
		}
		return s.endGroup(ev) // XA PREPARE / COMMIT / ROLLBACK: followed rows in an XA group stopped the stream already
	}
	return s.statement(ctx, ev, e, q)
}

// endGroup ends a group that yields no items.
func (s *binlogStream) endGroup(ev *replication.BinlogEvent) error {
	if s.grp != nil {
		if err := s.gtid.add(s.grp.gtid); err != nil {
			return err
		}
		s.grp = nil
	}
	if ev.Header.LogPos > 0 {
		s.boundary = s.position(ev.Header.LogPos)
	}
	return nil
}

// statementBased is the error of a followed table's change logged as SQL.
func (s *binlogStream) statementBased(q string) error {
	pos := s.boundary
	if s.grp != nil {
		pos = s.grp.start
	}
	return errAt(CodeStatementBased, pos, "a change to a followed table is logged as a statement, not as row images: %q", clipText(q, 300)).
		WithFix("SET GLOBAL binlog_format = 'ROW' (and make sure no session sets STATEMENT or MIXED); " +
			"the changes of this statement cannot be read from the binlog: " + resnapshotFix)
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// statement handles a query that is not transaction control: DDL, or a
// statement-logged change.
func (s *binlogStream) statement(ctx context.Context, ev *replication.BinlogEvent, e *replication.QueryEvent, q string) error {
	db := string(e.Schema)
	o, err := s.hist.applyStatement(s.parser, q, db, sqlModeOf(e.StatusVars))
	pos := s.boundary
	if s.grp != nil {
		pos = s.grp.start
	}
	switch {
	case errors.Is(err, errDataDDL):
		return errAt(CodeUnsupportedDDL, pos, "%q %v", clipText(q, 300), err).
			WithFix("apply the same change to the target by hand, then reset the job, or avoid such statements on followed tables")
	case err != nil:
		return errAt(CodeSchemaMismatch, pos, "the schema history cannot apply %q: %v", clipText(q, 300), err).
			WithFix("the job's idea of the table's structure is not the table's: " + resnapshotFix)
	case len(o.dml) > 0:
		return s.statementBased(q)
	}
	if s.inTransaction() {
		if len(o.effects) > 0 || len(o.reread) > 0 {
			return errAt(CodeUnsupportedEvent, pos, "a schema change inside a transaction: %q", clipText(q, 300))
		}
		return nil // another statement of a transaction (SET, changes to tables not followed)
	}
	// A group of its own: the statement is done.
	if s.grp != nil {
		if err := s.gtid.add(s.grp.gtid); err != nil {
			return err
		}
		s.grp = nil
	}
	after := s.position(ev.Header.LogPos)
	at := time.Unix(int64(ev.Header.Timestamp), 0).UTC()
	for _, eff := range o.effects {
		s.pending = append(s.pending, ddlItem(eff, q, after, at))
	}
	s.boundary = after
	if len(o.reread) > 0 {
		return s.startHold(ctx, q, db, o, after, at)
	}
	return nil
}

// ddlItem is the item of one effect of a statement.
func ddlItem(eff ddlEffect, q string, pos change.Position, at time.Time) change.Item {
	if eff.truncate {
		return change.Item{Kind: change.ItemTruncate, Tables: []*schema.Table{eff.table}, Pos: pos, At: at}
	}
	t := eff.table
	if t == nil {
		t = eff.old
	}
	return change.Item{Kind: change.ItemDDL, Pos: pos, At: at,
		DDL: &change.DDL{Kind: eff.kind, Schema: t.Schema, Statement: q, Table: eff.table, Old: eff.old, Renames: eff.renames}}
}

// sqlModeOf reads the sql_mode a QUERY event's statement ran with (0 when
// the status variables do not start with the usual flags and sql_mode).
func sqlModeOf(status []byte) uint64 {
	for i := 0; i < len(status); {
		switch status[i] {
		case 0: // Q_FLAGS2_CODE
			i += 5
		case 1: // Q_SQL_MODE_CODE
			if i+9 <= len(status) {
				return binary.LittleEndian.Uint64(status[i+1:])
			}
			return 0
		default:
			return 0
		}
	}
	return 0
}

// tableMap checks a followed table's TABLE_MAP against the schema history.
func (s *binlogStream) tableMap(e *replication.TableMapEvent) error {
	if s.grp == nil {
		return s.insideTransaction()
	}
	t := s.hist.get(string(e.Schema), string(e.Table))
	if t == nil {
		return nil
	}
	return s.checkTableMap(e, t)
}

func (s *binlogStream) insideTransaction() error {
	return errAt(CodePositionNotFound, s.readPos, "the start position is inside a transaction: its first events are missing").
		WithFix("start at a transaction boundary: a position from SHOW MASTER STATUS, a GTID, or a time")
}

// checkTableMap compares a TABLE_MAP with the structure rows are decoded with.
func (s *binlogStream) checkTableMap(e *replication.TableMapEvent, t *schema.Table) error {
	if s.checked[e] == t {
		return nil
	}
	if why := layoutMismatch(e, t, s.mariadb); why != "" {
		return errAt(CodeSchemaMismatch, s.grp.start, "%s", why).
			WithFix("the job's schema history does not describe the table as the binlog wrote it (a DDL it did not see, " +
				"or a structure read after the start position); nothing was decoded with it: " + resnapshotFix)
	}
	s.checked[e] = t
	return nil
}

// rows turns a row event of a followed table into Row items.
func (s *binlogStream) rows(ev *replication.BinlogEvent, e *replication.RowsEvent) error {
	if s.grp == nil {
		return s.insideTransaction()
	}
	t := s.hist.get(string(e.Table.Schema), string(e.Table.Table))
	if t == nil {
		return nil // not followed
	}
	g := s.grp
	evPos := s.position(ev.Header.LogPos)
	evPos.GTIDSet = g.start.GTIDSet
	switch {
	case g.xa:
		return errAt(CodeUnsupportedEvent, g.start, "an XA transaction changes %s: dts does not follow XA transactions", t).
			WithFix("commit changes to followed tables outside XA transactions; " + resnapshotFix)
	case ev.Header.EventType == replication.PARTIAL_UPDATE_ROWS_EVENT:
		return errAt(CodeRowImageNotFull, g.start, "an update of %s logs JSON columns partially (binlog_row_value_options=PARTIAL_JSON; event at %s)", t, evPos).
			WithFix("SET GLOBAL binlog_row_value_options = '' on the source; the partial changes cannot be read: " + resnapshotFix)
	}
	if err := s.checkTableMap(e.Table, t); err != nil {
		return err
	}
	if !isFullImage(e) {
		return errAt(CodeRowImageNotFull, g.start, "a row event of %s does not carry every column (binlog_row_image is MINIMAL or NOBLOB "+
			"for the server or the session that wrote it; event at %s)", t, evPos).
			WithFix("SET GLOBAL binlog_row_image = 'FULL' and make sure no session changes it; " +
				"the changes in such events cannot be read completely: " + resnapshotFix)
	}
	codec, err := s.codec(t)
	if err != nil {
		return errAt(CodeUnsupportedColumn, g.start, "%v", err).WithFix("leave the table out of the job, or change the column")
	}
	op := map[replication.EnumRowsEventType]change.Op{replication.EnumRowsEventTypeInsert: change.OpInsert,
		replication.EnumRowsEventTypeUpdate: change.OpUpdate, replication.EnumRowsEventTypeDelete: change.OpDelete}[e.Type()]
	if op == 0 {
		return errAt(CodeUnsupportedEvent, g.start, "row event type %s of %s", ev.Header.EventType, t)
	}
	g.rowEvents = true
	if g.txn == nil {
		if err := s.begin(g); err != nil {
			return err
		}
	}
	step := 1
	if op == change.OpUpdate {
		step = 2
	}
	at := time.Unix(int64(ev.Header.Timestamp), 0).UTC()
	for i := 0; i+step <= len(e.Rows); i += step {
		r := &change.Row{Op: op, Table: t, Seq: g.seq}
		var err error
		switch op {
		case change.OpInsert:
			r.After, err = codec.decodeRow(e.Rows[i])
		case change.OpDelete:
			r.Before, err = codec.decodeRow(e.Rows[i])
		case change.OpUpdate:
			if r.Before, err = codec.decodeRow(e.Rows[i]); err == nil {
				r.After, err = codec.decodeRow(e.Rows[i+1])
			}
		}
		if err != nil {
			return errAt(CodeUnsupportedColumn, g.start, "%s, row %d of the event at %s: %v", t, i/step+1, evPos, err).
				WithFix("this value cannot be decoded as the snapshot reads it; leave the table out of the job")
		}
		g.seq++
		s.emit(change.Item{Kind: change.ItemRow, Txn: g.txn, Row: r, Pos: evPos, At: at})
	}
	e.Rows = nil // the values are converted: let go of go-mysql's
	return nil
}

// begin emits a transaction's Begin item at its first followed row.
func (s *binlogStream) begin(g *group) error {
	id := g.gtid
	if id == "" {
		id = fmt.Sprintf("binlog:%s:%d", g.start.File, g.start.Pos)
	}
	txn := &change.Txn{ID: id, Pos: g.start, CommitTime: g.at}
	if !g.commitTime.IsZero() {
		txn.CommitTime = g.commitTime
	}
	if r := s.replay; r != nil {
		if r.txn.ID != txn.ID || change.Compare(r.txn.Pos, txn.Pos) != 0 {
			return errAt(CodeSourceChanged, txn.Pos, "after reconnecting, the source sends transaction %s where it sent %s (at %s) before",
				txn.ID, r.txn.ID, r.txn.Pos).WithFix(resnapshotFix)
		}
		txn = r.txn // the caller holds this one
	}
	g.txn = txn
	s.emit(change.Item{Kind: change.ItemBegin, Txn: txn, Pos: txn.Pos, At: g.at})
	return nil
}

// emit queues a Begin or Row item of the open group, except those made
// before a reconnect.
func (s *binlogStream) emit(it change.Item) {
	s.grp.made++
	if r := s.replay; r != nil {
		if r.skip > 0 {
			r.skip--
			return
		}
		s.replay = nil
	}
	s.pending = append(s.pending, it)
}

// commit ends a transaction at its XID (or COMMIT) event.
func (s *binlogStream) commit(ev *replication.BinlogEvent) error {
	g := s.grp
	if g == nil {
		return s.insideTransaction()
	}
	if err := s.gtid.add(g.gtid); err != nil {
		return errAt(CodeUnsupportedEvent, g.start, "GTID %s: %v", g.gtid, err)
	}
	pos := s.position(ev.Header.LogPos)
	at := time.Unix(int64(ev.Header.Timestamp), 0).UTC()
	s.grp, s.boundary = nil, pos
	if g.txn != nil {
		if !g.commitTime.IsZero() {
			at = g.commitTime
		}
		g.txn.CommitTime = at
		s.replay = nil
		s.pending = append(s.pending, change.Item{Kind: change.ItemCommit, Txn: g.txn, Pos: pos, At: at})
		return nil
	}
	// A transaction without followed rows: a heartbeat now and then lets
	// the target's position (and delay) move while only other tables change.
	if len(s.pending) == 0 && time.Since(s.lastItem) >= heartbeatPeriod {
		s.pending = append(s.pending, change.Item{Kind: change.ItemHeartbeat, Pos: pos, At: at})
	}
	return nil
}

// mentioned returns the followed tables whose names a statement mentions.
func (s *binlogStream) mentioned(q string) []tableKey {
	ids := map[string]bool{}
	for _, id := range identifiers(q) {
		ids[strings.ToLower(id)] = true
	}
	var out []tableKey
	for k, t := range s.hist.tables {
		if ids[strings.ToLower(t.Name)] {
			out = append(out, k)
		}
	}
	return out
}
