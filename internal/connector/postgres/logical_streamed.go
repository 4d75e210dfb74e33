package postgres

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pglogrepl"
)

// Streaming of in-progress transactions (PostgreSQL 14 and later,
// proto_version 2 with streaming on). A transaction whose changes outgrow
// the server's logical_decoding_work_mem is sent while it runs, in stream
// blocks (STREAM START xid ... STREAM STOP) interleaved with other
// transactions' blocks and with transactions sent whole; STREAM COMMIT or
// STREAM ABORT (of the transaction, or of one of its subtransactions)
// follows later. The blocks go to the spill (logical_spill.go); at STREAM
// COMMIT the transaction is replayed to the decoder as BEGIN, its
// messages, COMMIT — exactly what proto 1 sends once it commits — so its
// items, their positions and acknowledgements are a whole transaction's
// (logical_decode.go): nothing of it is emitted before its commit, and
// nothing acknowledged past the last transaction committed, so a restart
// in the middle makes the server stream it again from its start.
//
// The streaming gives the server bounded memory and no spilling of its own
// for large transactions; dts's memory stays bounded either way.

// streaming says whether to ask a server that can for streamed
// transactions: unless the source's options.streaming is false.
func (s *logicalStream) streaming() bool {
	o := s.src.e.Options.Streaming
	return o == nil || *o
}

// message handles one pgoutput message that starts at WAL location lsn.
func (s *logicalStream) message(ctx context.Context, data []byte, lsn uint64) error {
	if len(data) == 0 {
		return s.dec.decodeErr(lsn, errors.New("empty pgoutput message"))
	}
	switch pglogrepl.MessageType(data[0]) {
	case pglogrepl.MessageTypeStreamStart, pglogrepl.MessageTypeStreamStop,
		pglogrepl.MessageTypeStreamCommit, pglogrepl.MessageTypeStreamAbort:
		return s.failed(ctx, lsn, s.streamControl(ctx, data, lsn))
	}
	if s.spill.inStream() {
		return s.failed(ctx, lsn, s.streamed(data, lsn))
	}
	msg, err := parsePgoutput(data)
	if err != nil {
		return s.dec.decodeErr(lsn, err)
	}
	return s.dec.handle(ctx, msg, lsn)
}

// failed codes err as the stream's failure at lsn, unless it is the end of
// the stream or a lost connection (the loop reconnects).
func (s *logicalStream) failed(ctx context.Context, lsn uint64, err error) error {
	if err == nil || ctx.Err() != nil || isTransient(err) {
		return err
	}
	return s.dec.decodeErr(lsn, err)
}

// streamed keeps a message of a stream block. Relations and changes carry
// the xid of the (sub)transaction that made them after the message type;
// types, origins and logical messages are not needed (the decoder ignores
// them).
func (s *logicalStream) streamed(data []byte, lsn uint64) error {
	switch pglogrepl.MessageType(data[0]) {
	case pglogrepl.MessageTypeRelation, pglogrepl.MessageTypeInsert, pglogrepl.MessageTypeUpdate,
		pglogrepl.MessageTypeDelete, pglogrepl.MessageTypeTruncate:
	case pglogrepl.MessageTypeType, pglogrepl.MessageTypeOrigin, pglogrepl.MessageTypeMessage:
		return nil
	default:
		return fmt.Errorf("message %q inside a stream block", data[0])
	}
	if len(data) < 6 {
		return fmt.Errorf("streamed message %q of %d bytes", data[0], len(data))
	}
	xid := binary.BigEndian.Uint32(data[1:5])
	msg := make([]byte, 0, len(data)-4)
	msg = append(append(msg, data[0]), data[5:]...)
	if err := s.spill.add(xid, lsn, msg); err != nil {
		return err
	}
	s.spilled.Add(int64(len(msg)))
	return nil
}

// streamControl handles STREAM START, STOP, COMMIT and ABORT.
func (s *logicalStream) streamControl(ctx context.Context, data []byte, lsn uint64) error {
	m, err := parseStreamControl(data)
	if err != nil {
		return err
	}
	switch m := m.(type) {
	case *pglogrepl.StreamStartMessageV2:
		if s.dec.inTxn() {
			return fmt.Errorf("STREAM START inside transaction %s", s.dec.txn.ID)
		}
		return s.spill.start(m.Xid, m.FirstSegment == 1)
	case *pglogrepl.StreamStopMessageV2:
		return s.spill.stop()
	case *pglogrepl.StreamAbortMessageV2:
		kept, err := s.spill.abort(m.Xid, m.SubXid)
		if kept && m.Xid == m.SubXid {
			s.streamAborts.Add(1)
		} else if kept {
			s.subAborts.Add(1)
		}
		return err
	case *pglogrepl.StreamCommitMessageV2:
		return s.streamCommit(ctx, m, lsn)
	}
	return fmt.Errorf("unexpected stream message %T", m)
}

// parseStreamControl parses a stream control message; a malformed one is
// an error, not a panic.
func parseStreamControl(data []byte) (m pglogrepl.Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("malformed pgoutput message %q: %v", data[0], r)
		}
	}()
	return pglogrepl.ParseV2(data, false)
}

// streamCommit replays a committed streamed transaction to the decoder as
// proto 1 would have sent it.
func (s *logicalStream) streamCommit(ctx context.Context, m *pglogrepl.StreamCommitMessageV2, lsn uint64) error {
	t, ok, err := s.spill.take(m.Xid)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("STREAM COMMIT of transaction %d, which was never streamed", m.Xid)
	}
	defer t.close()
	begin := &pglogrepl.BeginMessage{FinalLSN: m.CommitLSN, CommitTime: m.CommitTime, Xid: m.Xid}
	if err := s.dec.handle(ctx, begin, lsn); err != nil {
		return err
	}
	n := 0
	err = s.spill.replay(t, func(at uint64, data []byte) error {
		if n++; n%1024 == 0 {
			// Reading back takes a while for a large transaction: the
			// server is not listened to meanwhile, but must hear from us.
			if err := s.keepUp(); err != nil {
				return err
			}
		}
		msg, err := parsePgoutput(data)
		if err != nil {
			return s.dec.decodeErr(at, err)
		}
		return s.dec.handle(ctx, msg, at)
	})
	if err != nil {
		return err
	}
	commit := &pglogrepl.CommitMessage{CommitLSN: m.CommitLSN, TransactionEndLSN: m.TransactionEndLSN, CommitTime: m.CommitTime}
	if err := s.dec.handle(ctx, commit, lsn); err != nil {
		return err
	}
	s.streamedTxns.Add(1)
	return nil
}

// keepUp sends a status update when one is due while the loop is busy.
func (s *logicalStream) keepUp() error {
	if time.Since(s.lastStatus) < time.Second && s.reported() <= s.sent {
		return nil
	}
	if err := s.sendStatus(false); err != nil {
		return err
	}
	s.lastHeard = time.Now() // not listening meanwhile is not the server's silence
	return nil
}
