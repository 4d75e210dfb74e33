package mysql

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/google/uuid"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/schema"
)

// binlogStream is a connector.ChangeStream over a MySQL/MariaDB binlog.
//
// Next reads events from go-mysql's BinlogSyncer and turns each event group
// (a transaction, or one DDL statement) into items (binlog_events.go).
// Positions:
//
//   - boundary is the position after the last whole event group read,
//     with the GTID set of everything up to it. A reconnect resumes there.
//   - Begin's Txn.Pos is the position of its group's first event (GTID or
//     BEGIN event) with the GTID set before it: a replay from there sees the
//     transaction whole. Commit's Pos is the position after its XID/COMMIT
//     event, GTIDs included; DDL and Truncate the same after the statement.
//
// A lost connection is retried inside Next with backoff from boundary.
// Items already made stay queued; a transaction whose Begin and some rows
// were already made is read again from its start and those items are not
// made twice (replay): the caller sees each item once.
//
// Next is called by one goroutine; Ack and Close may be called from others.
type binlogStream struct {
	src     *Source
	lj      connector.LogJob
	log     *slog.Logger
	mariadb bool

	serverID uint32
	identity string // the server's identity at the first connection

	mu     sync.Mutex // guards syncer and closed against Close from another goroutine
	syncer *replication.BinlogSyncer
	closed bool

	streamer *replication.BinlogStreamer

	hist   *schemaHistory
	parser *ddlParser
	codecs map[*schema.Table]*tableCodec
	// checked caches the TABLE_MAP events already compared with a structure.
	checked map[*replication.TableMapEvent]*schema.Table

	file     string // the binlog file being read
	gtid     gtidTracker
	boundary change.Position
	// readPos is the position after the last event read from the server.
	readPos change.Position
	// grp is the event group being read (nil between groups: a row event
	// then means the start position is inside a transaction).
	grp *group
	// pending are the items made and not returned yet.
	pending []change.Item
	// queue holds events read while a DDL waited for confirmation, to be
	// handled after it.
	queue []*replication.BinlogEvent
	hold  *heldDDL

	replay *replay // after a reconnect: the transaction to continue

	lastItem time.Time
	clock    time.Duration // the source clock's offset from ours (binlog_clock.go)
	err      error         // terminal
	failures int           // consecutive non-network failures
}

// group is the event group being read.
type group struct {
	start      change.Position // its first event, GTID set before it
	gtid       string          // its GTID ("" without GTIDs)
	ddl        bool            // MariaDB FL_DDL / a DDL group
	standalone bool            // MariaDB: no terminating COMMIT/XID
	began      bool            // BEGIN seen (an explicit transaction)
	xa         bool            // an XA transaction
	at         time.Time       // the group's source time
	commitTime time.Time       // MySQL 8: the immediate commit time
	txn        *change.Txn     // set once Begin is emitted
	seq        int
	rowEvents  bool // rows of followed tables
	made       int  // Begin and Row items made for it
}

// replay is a transaction read again after a reconnect: its first skip
// items (Begin and Rows) were made before.
type replay struct {
	txn  *change.Txn
	skip int
}

// gtidTracker keeps the GTID set executed up to the stream's position.
type gtidTracker struct {
	set gomysql.GTIDSet // nil: not tracked (MySQL without GTIDs at the start)
}

func (g *gtidTracker) String() string {
	if g.set == nil {
		return ""
	}
	return g.set.String()
}

// add records a committed group's GTID.
func (g *gtidTracker) add(gtid string) error {
	if g.set == nil || gtid == "" {
		return nil
	}
	switch set := g.set.(type) {
	case *gomysql.MariadbGTIDSet:
		m, err := gomysql.ParseMariadbGTID(gtid)
		if err != nil {
			return err
		}
		return set.AddSet(m)
	case *gomysql.MysqlGTIDSet:
		return set.Update(gtid)
	}
	return nil
}

func (s *Source) newBinlogStream(ctx context.Context, lj connector.LogJob, from change.Position, tables []*schema.Table) (*binlogStream, error) {
	srv := s.cat.srv
	var fold int
	if err := s.db.QueryRowContext(ctx, "SELECT @@lower_case_table_names").Scan(&fold); err != nil {
		return nil, fmt.Errorf("read lower_case_table_names: %w", err)
	}
	hist := newSchemaHistory(tables, srv, fold != 0)
	if err := hist.loadCharsets(ctx, s.db); err != nil {
		return nil, err
	}
	st := &binlogStream{src: s, lj: lj, mariadb: srv.mariadb, hist: hist, parser: newDDLParser(),
		codecs: map[*schema.Table]*tableCodec{}, checked: map[*replication.TableMapEvent]*schema.Table{},
		log: s.log.With("job", lj.JobName, "job_id", lj.JobID)}
	for _, t := range tables {
		if _, err := st.codec(t); err != nil {
			return nil, errAt(CodeUnsupportedColumn, from, "%s", err).
				WithFix("leave the table out of the job, or change the column's type or character set")
		}
	}
	sourceID, identity, err := s.serverIdentity(ctx)
	if err != nil {
		return nil, err
	}
	st.identity = identity
	st.serverID = binlogServerID(lj, "", sourceID)

	st.boundary = from
	st.boundary.Engine, st.boundary.Flavor = "mysql", srv.flavor()
	gtid := from.GTIDSet
	if gtid == "" {
		if err := st.checkFilePosition(ctx, st.boundary); err != nil {
			return nil, err
		}
	}
	if gtid == "" && srv.mariadb && from.File != "" {
		// Track MariaDB GTIDs from a file/position start too: later positions
		// then resume by GTID, which survives failover and RESET MASTER checks.
		if gtid, err = s.gtidAt(ctx, from.File, from.Pos); err != nil {
			return nil, err
		}
		st.boundary.GTIDSet = gtid
	}
	switch {
	case srv.mariadb:
		st.gtid.set, err = gomysql.ParseMariadbGTIDSet(gtid)
	case gtid != "":
		st.gtid.set, err = gomysql.ParseMysqlGTIDSet(gtid)
	}
	if err != nil {
		return nil, errs.New(CodePositionNotFound, "GTID set %q of position %s: %v", gtid, from, err)
	}
	if st.gtid.set != nil {
		st.boundary.GTIDSet = st.gtid.String()
	}
	st.file = st.boundary.File
	st.readPos = st.boundary
	return st, nil
}

// codec returns the decoding of a table version's rows.
func (s *binlogStream) codec(t *schema.Table) (*tableCodec, error) {
	if c, ok := s.codecs[t]; ok {
		return c, nil
	}
	c, err := newTableCodec(t, !s.mariadb)
	var u *unsupportedColumn
	if errors.As(err, &u) {
		u.table = t.QualifiedName()
		return nil, u
	}
	if err != nil {
		return nil, err
	}
	s.codecs[t] = c
	return c, nil
}

// connect starts reading the binlog at boundary: by GTID when the position
// has a GTID set, else by file and position (after checking the file is
// still the one the position belongs to).
func (s *binlogStream) connect(ctx context.Context) error {
	pos := s.boundary
	if pos.GTIDSet == "" {
		if err := s.checkFilePosition(ctx, pos); err != nil {
			return err
		}
	}
	cfg, err := s.src.syncerConfig(ctx, s.serverID)
	if err != nil {
		return err
	}
	if off, err := s.src.clockOffset(ctx); err == nil {
		s.clock = off
	} else {
		s.log.Warn("heartbeats are timed with dts's clock", "err", scrubbed(err, s.src))
	}
	syncer := replication.NewBinlogSyncer(cfg)
	var streamer *replication.BinlogStreamer
	if pos.GTIDSet != "" {
		var set gomysql.GTIDSet
		if s.mariadb {
			set, err = gomysql.ParseMariadbGTIDSet(pos.GTIDSet)
		} else {
			set, err = gomysql.ParseMysqlGTIDSet(pos.GTIDSet)
		}
		if err == nil {
			streamer, err = syncer.StartSyncGTID(set)
		}
	} else {
		streamer, err = syncer.StartSync(gomysql.Position{Name: pos.File, Pos: uint32(pos.Pos)})
	}
	if err != nil {
		syncer.Close()
		if p := purgedError(err, pos); p != nil {
			return p
		}
		return fmt.Errorf("start reading the binlog at %s: %w", pos, scrubbed(err, s.src))
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		syncer.Close()
		return errStreamClosed
	}
	s.syncer, s.streamer = syncer, streamer
	s.mu.Unlock()
	s.file = pos.File
	// Items already made stay queued. What was read after boundary is read
	// again: the open group from its start (its items made so far are
	// skipped), events read ahead while a statement was held.
	if g := s.grp; g != nil && g.txn != nil {
		s.replay = &replay{txn: g.txn, skip: g.made}
	}
	s.grp, s.queue = nil, nil
	if s.hold != nil {
		s.hold.events, s.hold.size = nil, 0
	}
	s.checked = map[*replication.TableMapEvent]*schema.Table{}
	s.readPos = pos
	return nil
}

// checkFilePosition checks a file/position start: the file must still
// exist (else its events are gone: CodeBinlogPurged) and reach the position
// (else the server's binlogs were reset: CodeSourceChanged).
func (s *binlogStream) checkFilePosition(ctx context.Context, pos change.Position) error {
	files, err := s.src.binlogFiles(ctx)
	if err != nil {
		return err
	}
	for _, f := range files {
		if f.name != pos.File {
			continue
		}
		if f.size < pos.Pos {
			return errAt(CodeSourceChanged, pos, "binlog %s of the source at %s is only %d bytes long: the server's binlogs "+
				"were reset (RESET MASTER) or it is another server", f.name, connector.Addr(s.src.e), f.size).WithFix(resnapshotFix)
		}
		return nil
	}
	oldest := "none"
	if len(files) > 0 {
		oldest = files[0].name
	}
	return errAt(CodeBinlogPurged, pos, "binlog %s no longer exists on the source at %s (oldest: %s)",
		pos.File, connector.Addr(s.src.e), oldest).WithFix(resnapshotFix)
}

// Next returns the next item (see connector.ChangeStream).
func (s *binlogStream) Next(ctx context.Context) (change.Item, error) {
	for {
		if s.err != nil {
			return change.Item{}, s.err
		}
		if s.isClosed() {
			return change.Item{}, errStreamClosed
		}
		if len(s.pending) > 0 {
			it := s.pending[0]
			s.pending[0] = change.Item{}
			s.pending = s.pending[1:]
			s.returned(it)
			return it, nil
		}
		ev, err := s.nextEvent(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return change.Item{}, ctx.Err()
			}
			if err = s.recover(ctx, err); err != nil {
				if ctx.Err() != nil {
					return change.Item{}, ctx.Err()
				}
				s.fail(err)
			}
			continue
		}
		if err := s.handle(ctx, ev); err != nil {
			if ctx.Err() != nil && !isCoded(err) {
				return change.Item{}, ctx.Err()
			}
			s.fail(err)
		}
	}
}

func isCoded(err error) bool {
	_, ok := errs.As(err)
	return ok
}

// fail ends the stream with err.
func (s *binlogStream) fail(err error) {
	s.err = err
	s.log.Error("the binlog stream stopped", "err", err, "position", s.boundary.String())
	s.closeSyncer()
}

// returned books an item as handed to the caller.
func (s *binlogStream) returned(change.Item) {
	s.lastItem = time.Now()
}

// nextEvent returns the next event to handle.
func (s *binlogStream) nextEvent(ctx context.Context) (*replication.BinlogEvent, error) {
	if s.hold == nil && len(s.queue) > 0 {
		ev := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		return ev, nil
	}
	if s.streamer == nil {
		return nil, errors.New("not connected")
	}
	ev, err := s.streamer.GetEvent(ctx)
	if err != nil {
		return nil, err
	}
	s.failures = 0
	if ev.Header.LogPos > 0 && ev.Header.Flags&replication.LOG_EVENT_ARTIFICIAL_F == 0 {
		s.readPos.File, s.readPos.Pos = s.file, uint64(ev.Header.LogPos)
	}
	return ev, nil
}

// recover handles a failed read: the binlog is gone (coded error), or the
// connection is re-established from boundary after a backoff.
func (s *binlogStream) recover(ctx context.Context, cause error) error {
	if p := purgedError(cause, s.boundary); p != nil {
		return p
	}
	if me, ok := binlogServerError(cause); ok {
		switch me.Code {
		case erAccessDenied, erDBAccessDenied, erSpecificAccessDenied, erAccessDeniedNoPass:
			return errAt(CodeMissingPrivilege, s.boundary, "the source at %s refused to send its binlog: %s",
				connector.Addr(s.src.e), me.Message).WithFix("GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO the user dts connects as")
		}
	}
	var evErr *replication.EventError
	network := isNetworkError(cause)
	if errors.As(cause, &evErr) || errors.Is(cause, replication.ErrChecksumMismatch) {
		network = false
	}
	if !network {
		s.failures++
		if s.failures > 5 {
			return errAt(CodeUnsupportedEvent, s.readPos, "the binlog cannot be read: %v", scrubbed(cause, s.src))
		}
	}
	delay := 250 * time.Millisecond
	for attempt := 1; ; attempt++ {
		s.log.Warn("lost the binlog connection; reconnecting", "err", scrubbed(cause, s.src), "resume", s.boundary.String(),
			"attempt", attempt, "in", delay)
		s.dropSyncer()
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		err := s.reconnect(ctx)
		if err == nil {
			return nil
		}
		if isCoded(err) || errors.Is(err, errStreamClosed) {
			return err
		}
		cause = err
		delay = min(delay*2, 30*time.Second)
	}
}

// reconnect connects again from boundary and checks the server is the same
// one when positions are file/position based.
func (s *binlogStream) reconnect(ctx context.Context) error {
	if s.boundary.GTIDSet == "" {
		_, identity, err := s.src.serverIdentity(ctx)
		if err != nil {
			return err
		}
		if identity != s.identity {
			return errAt(CodeSourceChanged, s.boundary, "the source at %s is another server now (%s, was %s): "+
				"a binlog file/position of one server means nothing on another", connector.Addr(s.src.e), identity, s.identity).
				WithFix(resnapshotFix)
		}
	}
	return s.connect(ctx)
}

// isNetworkError reports whether err is a lost or refused connection.
func isNetworkError(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, gomysql.ErrBadConn) || errors.Is(err, replication.ErrSyncClosed) || errors.Is(err, net.ErrClosed)
}

// scrubbed returns err without the endpoint's password in its text.
func scrubbed(err error, s *Source) error {
	if err == nil {
		return nil
	}
	return errors.New(connector.Scrub(err.Error(), s.e.Password.Reveal()))
}

var errStreamClosed = errors.New("the change stream is closed")

func (s *binlogStream) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// Ack does nothing: MySQL keeps no state for a replica; checkpoints live in the target.
func (s *binlogStream) Ack(change.Position) error { return nil }

// Close ends the stream.
func (s *binlogStream) Close() error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.closeSyncer()
	return nil
}

// dropSyncer forgets a syncer whose stream failed. Closing it would send
// KILL <its connection id> on a new connection: after a server restart
// that id may be someone else's. The failed stream's goroutine has ended;
// the server drops the old dump thread when the stream registers again
// with the same server_id, and the connection's file is released with it.
func (s *binlogStream) dropSyncer() {
	s.mu.Lock()
	s.syncer = nil
	s.mu.Unlock()
}

func (s *binlogStream) closeSyncer() {
	s.mu.Lock()
	syncer := s.syncer
	s.syncer = nil
	s.mu.Unlock()
	if syncer != nil {
		syncer.Close()
	}
}

// position returns the stream's position after an event ending at logPos
// in the current file, with the current GTID set.
func (s *binlogStream) position(logPos uint32) change.Position {
	p := s.boundary
	p.File, p.Pos, p.GTIDSet = s.file, uint64(logPos), s.gtid.String()
	return p
}

// mysqlGTID spells a MySQL GTID event's GTID (uuid[:tag]:gno); "" for an
// anonymous one.
func mysqlGTID(sid []byte, tag gomysql.Tag, gno int64) string {
	u, err := uuid.FromBytes(sid)
	if err != nil || u == uuid.Nil || gno == 0 {
		return ""
	}
	if t := tag.String(); t != "" {
		return fmt.Sprintf("%s:%s:%d", u, t, gno)
	}
	return fmt.Sprintf("%s:%d", u, gno)
}
