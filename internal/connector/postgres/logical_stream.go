package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pglogrepl"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
)

// logicalStream follows a slot: one goroutine owns the replication
// connection, decodes what arrives into items and hands them to Next
// through a small buffer; it answers the server all the while, also while
// Next's caller is busy, so wal_sender_timeout never ends the connection.
//
// Memory stays bounded. On PostgreSQL 14 and later the server streams a
// transaction that outgrows its logical_decoding_work_mem while it runs
// (proto_version 2, streaming on): dts keeps the streamed changes on disk
// until the transaction commits and then replays them as one transaction
// (logical_streamed.go), so the server neither holds nor spills them. The
// source option streaming: false, and older servers, use proto_version 1:
// the server spills a large transaction to its own disk and sends it once
// committed. Either way dts holds at most itemBuffer items and the
// decoder's hold-back (logical_decode.go).
//
// Acknowledgement. Ack(pos) records that everything at or before pos is
// applied on the target with its checkpoint. Status updates report write =
// flush = apply = the reported position, which is never more than acked and
// never less than the slot's confirmed_flush_lsn at connection time
// (PostgreSQL before 17 would move the slot back):
//
//   - acknowledging an end position of a transaction T — a DDL or Truncate
//     before it (C+1..C+33), its Commit (E) — reports T's commit LSN C: the
//     server keeps T and re-sends it after a restart (the applier skips what
//     it has; inside T that is what it needs);
//   - acknowledging a heartbeat's position W reports W.
//
// Status updates go out within pollInterval of an Ack, at least every
// statusInterval, and at once when the server asks (keepalive with
// ReplyRequested); while Next's caller is busy too.
//
// An idle source advances the slot through heartbeats: when no transaction
// is open, keepalives (requested every idleRequest when nothing else
// arrives) become Heartbeat items at the walsender's position; once the
// applier acknowledges one (everything before it applied), the slot moves
// there and the server releases the WAL it kept for it (T19a). The applier
// records a heartbeat in its checkpoint before acknowledging it (the apply
// contract's Ack is an end position at or before the checkpoint), so the
// next Follow's from is never behind the slot: Follow refuses a slot
// confirmed past from (CodeSlotAhead, possible data loss).
type logicalStream struct {
	src        *Source
	slot, pub  string
	database   string
	log        *slog.Logger
	dec        *logicalDecoder
	moneyScale int

	items  chan change.Item
	ctx    context.Context // the loop's: ends with Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	err      error     // why the stream ended; Next returns it after the items
	closed   bool      // Close was called
	acked    uint64    // highest Ack
	report   uint64    // what status updates report
	emitted  uint64    // highest position emitted
	marks    []ackMark // end positions emitted and not yet acknowledged
	ackWake  chan struct{}
	deadline time.Duration // silence after which the connection counts as dead

	reconnects atomic.Int64 // sessions after the first, for observers
	// Streaming, for observers: transactions replayed from the spill,
	// streamed transactions and subtransactions aborted (with something
	// kept), bytes of messages spilled.
	streamedTxns, streamAborts, subAborts, spilled atomic.Int64

	spill *spill // streamed transactions (owned by the loop goroutine)

	// Owned by the loop goroutine.
	conn        *pgconn.PgConn
	sent        uint64
	lastStatus  time.Time
	lastRequest time.Time
	lastHeard   time.Time
	lastBeat    time.Time
	lastBeatPos uint64
}

// ackMark is an end position the stream emitted and what acknowledging it
// reports to the server.
type ackMark struct{ pos, report uint64 }

const (
	itemBuffer     = 256
	pollInterval   = 500 * time.Millisecond // longest wait for the server before looking around
	statusInterval = 5 * time.Second        // status update at least this often (wal_sender_timeout is 60 s by default)
	idleRequest    = time.Second            // silence after which a keepalive is requested (heartbeats)
	deadTimeout    = 60 * time.Second       // silence, despite requests, after which the connection is dropped
	busyTimeout    = 90 * time.Second       // how long a slot kept active by another process is waited for
	writeTimeout   = 10 * time.Second
)

var errStreamClosed = errors.New("change stream closed")

var _ connector.ChangeStream = (*logicalStream)(nil)

// Next returns the next item; after the stream ended, the reason.
func (s *logicalStream) Next(ctx context.Context) (change.Item, error) {
	select {
	case it, ok := <-s.items:
		if ok {
			return it, nil
		}
	case <-ctx.Done():
		return change.Item{}, ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err == nil {
		return change.Item{}, errStreamClosed
	}
	return change.Item{}, s.err
}

// Ack records that everything at or before pos is applied (see the type's
// comment for what the slot is told).
func (s *logicalStream) Ack(pos change.Position) error {
	lsn, err := followFrom(pos)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if lsn > s.emitted {
		return errs.New(errs.Internal, "ack of %s: the stream emitted nothing past %s", pos, lsnString(s.emitted))
	}
	if lsn <= s.acked {
		return nil
	}
	s.acked = lsn
	n := 0
	for n < len(s.marks) && s.marks[n].pos <= lsn {
		n++
	}
	if n == 0 {
		return nil // nothing emitted by this stream is acknowledged yet
	}
	r := s.marks[n-1].report
	s.marks = append(s.marks[:0], s.marks[n:]...)
	if r > s.report {
		s.report = r
		select {
		case s.ackWake <- struct{}{}:
		default:
		}
	}
	return nil
}

// Close ends the stream, after telling the server the last acknowledged position.
func (s *logicalStream) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

func (s *logicalStream) reported() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.report
}

// run is the loop goroutine: sessions, and reconnects with backoff in
// between, until Close or an error retrying cannot fix.
func (s *logicalStream) run(ctx context.Context) {
	defer s.wg.Done()
	defer close(s.items)
	defer s.spill.reset()
	var err error
	for {
		err = s.session(ctx)
		s.closeConn()
		if ctx.Err() != nil || !isTransient(err) {
			break
		}
		s.dec.rewind()
		s.spill.reset() // the server streams open transactions again from their start
		s.log.WarnContext(ctx, "replication connection lost, reconnecting", "err", err, "resume", lsnString(s.dec.safe))
		if err = s.reconnect(ctx); err != nil {
			break
		}
		s.reconnects.Add(1)
		s.log.InfoContext(ctx, "replication resumed", "from", lsnString(s.dec.safe))
	}
	if ctx.Err() != nil {
		err = errStreamClosed
	}
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
	if err != errStreamClosed {
		s.log.ErrorContext(ctx, "change stream stopped", "err", err)
	}
}

// reconnect opens a new session from the resume point, retrying with
// backoff while the failures are transient.
func (s *logicalStream) reconnect(ctx context.Context) error {
	backoff := 250 * time.Millisecond
	var busySince time.Time
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		err := s.connect(ctx)
		if err == nil {
			return nil
		}
		if !isTransient(err) {
			return err
		}
		if pgCode(err) == sqlstateObjectInUse {
			if busySince.IsZero() {
				busySince = time.Now()
			} else if time.Since(busySince) > busyTimeout {
				return busyErr(s.slot, err)
			}
		}
		s.log.WarnContext(ctx, "reconnect failed", "err", err)
		backoff = min(2*backoff, 10*time.Second)
	}
}

func busyErr(slot string, err error) error {
	return errs.Wrap(err, CodeSlotBusy, "replication slot %s is kept active by another process", slot).
		WithFix("make sure only one instance of the job runs; pg_stat_replication shows the process using the slot")
}

// connect checks the slot, opens a replication connection and starts
// streaming from the resume point.
func (s *logicalStream) connect(ctx context.Context) error {
	si, err := readSlot(ctx, s.src.pool, s.slot)
	if err != nil {
		return err
	}
	resume := s.dec.safe
	if err := checkFollow(si, s.slot, s.database, max(resume, s.reported())); err != nil {
		return err
	}
	conn, err := replicationConnect(ctx, s.src.e)
	if err != nil {
		return err
	}
	args := []string{"proto_version '1'", "publication_names " + quoteLiteral(quoteIdent(s.pub))}
	if major := serverMajor(conn); major >= 14 {
		args = append(args, "messages 'true'")
		if s.streaming() {
			args[0] = "proto_version '2'"
			args = append(args, "streaming 'on'")
		}
	}
	err = pglogrepl.StartReplication(ctx, conn, s.slot, pglogrepl.LSN(resume),
		pglogrepl.StartReplicationOptions{Mode: pglogrepl.LogicalReplication, PluginArgs: args})
	if err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return s.startErr(ctx, err)
	}
	s.mu.Lock()
	s.report = max(s.report, si.confirmed()) // never report less than the slot has
	s.mu.Unlock()
	s.conn, s.sent = conn, 0
	s.lastHeard, s.lastStatus, s.lastRequest = time.Now(), time.Time{}, time.Time{}
	return nil
}

// startErr codes a failed START_REPLICATION.
func (s *logicalStream) startErr(ctx context.Context, err error) error {
	switch pgCode(err) {
	case sqlstateUndefinedObject:
		if strings.Contains(err.Error(), "publication") {
			return errs.Wrap(err, CodePublication, "publication %s does not exist", s.pub).WithFix(resnapshotFix)
		}
		return checkFollow(nil, s.slot, s.database, 0)
	case sqlstateObjectNotInState: // e.g. "can no longer get changes from replication slot"
		if si, rerr := readSlot(ctx, s.src.pool, s.slot); rerr == nil {
			if cerr := checkFollow(si, s.slot, s.database, max(s.dec.safe, s.reported())); cerr != nil {
				return cerr
			}
		}
		return logicalErr(err, "start replication from slot %s", s.slot)
	}
	return wrapErr(err, "start replication from slot %s", s.slot)
}

func (s *logicalStream) closeConn() {
	if s.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	s.sendStatus(false) // the last acknowledged position, best effort
	s.conn.Close(ctx)
	s.conn = nil
}

// session streams on the open connection until it fails or ctx ends.
//
// A read waits at most pollInterval, by a deadline on the socket, and ends
// at once when ctx does. ReceiveMessage gets no context of its own: with
// one, pgconn starts and stops its context watcher for every message,
// which cost an eighth of the stream's CPU in a burst.
func (s *logicalStream) session(ctx context.Context) error {
	nc := s.conn.Conn()
	defer nc.SetReadDeadline(time.Time{})
	stopWake := context.AfterFunc(ctx, func() { nc.SetReadDeadline(time.Now()) })
	defer stopWake()
	for {
		if err := s.tend(time.Now()); err != nil {
			return err
		}
		nc.SetReadDeadline(time.Now().Add(pollInterval))
		if ctx.Err() != nil { // after the deadline is set: a cancel from here on wakes the read
			return ctx.Err()
		}
		msg, err := s.conn.ReceiveMessage(context.Background())
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if pgconn.Timeout(err) {
				continue
			}
			return err
		}
		s.lastHeard = time.Now()
		switch m := msg.(type) {
		case *pgproto3.CopyData:
			if err := s.copyData(ctx, m.Data); err != nil {
				return err
			}
		case *pgproto3.ErrorResponse:
			return s.startErr(ctx, pgconn.ErrorResponseToPgError(m))
		case *pgproto3.CopyDone:
			return errStreamEnded
		}
	}
}

// tend sends what the server is owed: the reported position when it moved
// (or every statusInterval), a keepalive request when the server has been
// silent for idleRequest; and gives up on a server silent for deadTimeout.
func (s *logicalStream) tend(now time.Time) error {
	if now.Sub(s.lastHeard) > s.deadline {
		return fmt.Errorf("%w: nothing for %s", errSilent, s.deadline)
	}
	if s.reported() > s.sent || now.Sub(s.lastStatus) >= statusInterval {
		if err := s.sendStatus(false); err != nil {
			return err
		}
	}
	if now.Sub(s.lastHeard) >= idleRequest && now.Sub(s.lastRequest) >= idleRequest {
		s.lastRequest = now
		return s.sendStatus(true)
	}
	return nil
}

// sendStatus reports the acknowledged position; reply asks for a keepalive.
func (s *logicalStream) sendStatus(reply bool) error {
	pos := max(s.reported(), s.sent)
	nc := s.conn.Conn()
	nc.SetWriteDeadline(time.Now().Add(writeTimeout))
	defer nc.SetWriteDeadline(time.Time{})
	lsn := pglogrepl.LSN(pos)
	err := pglogrepl.SendStandbyStatusUpdate(context.Background(), s.conn, pglogrepl.StandbyStatusUpdate{
		WALWritePosition: lsn, WALFlushPosition: lsn, WALApplyPosition: lsn, ClientTime: time.Now(), ReplyRequested: reply})
	if err != nil {
		return fmt.Errorf("send status update: %w", err)
	}
	s.sent, s.lastStatus = pos, time.Now()
	return nil
}

// copyData handles one message of the replication stream.
func (s *logicalStream) copyData(ctx context.Context, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	switch data[0] {
	case pglogrepl.PrimaryKeepaliveMessageByteID:
		pkm, err := pglogrepl.ParsePrimaryKeepaliveMessage(data[1:])
		if err != nil {
			return s.dec.decodeErr(s.dec.safe, err)
		}
		if pkm.ReplyRequested {
			if err := s.sendStatus(false); err != nil {
				return err
			}
		}
		pos, ok := s.dec.heartbeat(uint64(pkm.ServerWALEnd))
		if !ok || pos == s.lastBeatPos && time.Since(s.lastBeat) < idleRequest/2 {
			return nil
		}
		s.lastBeat, s.lastBeatPos = time.Now(), pos
		return s.deliver(ctx, change.Item{Kind: change.ItemHeartbeat, Pos: pgPosition(pos), At: pkm.ServerTime.UTC()}, 0)
	case pglogrepl.XLogDataByteID:
		xld, err := pglogrepl.ParseXLogData(data[1:])
		if err != nil {
			return s.dec.decodeErr(s.dec.safe, err)
		}
		return s.message(ctx, xld.WALData, uint64(xld.WALStart))
	}
	return nil
}

// parsePgoutput parses a pgoutput message; a malformed one is an error,
// not a panic.
func parsePgoutput(data []byte) (m pglogrepl.Message, err error) {
	if len(data) == 0 {
		return nil, errors.New("empty pgoutput message")
	}
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("malformed pgoutput message %q: %v", data[0], r)
		}
	}()
	return pglogrepl.Parse(data)
}

// deliver hands an item to Next, answering the server while Next's caller
// is busy. commitLSN is the commit LSN of the transaction the item comes
// from (0 for a heartbeat).
func (s *logicalStream) deliver(ctx context.Context, it change.Item, commitLSN uint64) error {
	s.mu.Lock()
	s.emitted = max(s.emitted, it.Pos.LSN)
	switch it.Kind {
	case change.ItemCommit, change.ItemDDL, change.ItemTruncate:
		// The transaction is re-sent from its commit LSN: acknowledging an
		// end position in or after it reports that, never past it.
		s.marks = append(s.marks, ackMark{pos: it.Pos.LSN, report: commitLSN})
	case change.ItemHeartbeat:
		s.marks = append(s.marks, ackMark{pos: it.Pos.LSN, report: it.Pos.LSN})
	}
	s.mu.Unlock()
	select {
	case s.items <- it:
		return nil
	default:
	}
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	defer func() { s.lastHeard = time.Now() }() // not listening meanwhile is not the server's silence
	for {
		select {
		case s.items <- it:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-s.ackWake:
			if err := s.sendStatus(false); err != nil {
				return err
			}
		case <-tick.C:
			if time.Since(s.lastStatus) >= time.Second {
				if err := s.sendStatus(false); err != nil {
					return err
				}
			}
		}
	}
}

// isTransient reports whether err may go away by reconnecting: network
// failures, a server shutting down or restarting, a slot still held by the
// walsender of a broken connection, a server gone silent. Coded errors are
// final (connection failures aside), and so is anything unknown: a stream
// that cannot tell stops, loudly, rather than retry forever.
func isTransient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if e, ok := errs.As(err); ok {
		switch e.Code {
		case connector.Refused, connector.Timeout, connector.Failed, connector.DNS:
			return true
		}
		return false
	}
	if code := pgCode(err); code != "" {
		return strings.HasPrefix(code, "08") || code == sqlstateAdminShutdown || code == sqlstateCrashShutdown ||
			code == sqlstateCannotConnectNow || code == sqlstateTooManyConnection || code == sqlstateObjectInUse
	}
	var netErr net.Error
	var connectErr *pgconn.ConnectError
	return errors.Is(err, errSilent) || errors.Is(err, errStreamEnded) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.As(err, &netErr) || errors.As(err, &connectErr) || pgconn.SafeToRetry(err) || pgconn.Timeout(err)
}

var (
	errSilent      = errors.New("the server went silent")
	errStreamEnded = errors.New("the server ended the replication stream")
)
