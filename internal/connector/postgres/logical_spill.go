package postgres

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/dtsorg/dts/internal/errs"
)

// spill keeps the messages of streamed transactions (proto_version 2,
// streaming on) until the server says how each ends, the way PostgreSQL's
// own subscriber does: one file per top-level transaction, appended to in
// the stream blocks that carry its changes, truncated when a subtransaction
// aborts, deleted when the transaction aborts, read back in order when it
// commits. Memory holds one write buffer, a small record per transaction
// and its relation messages; the changes are on disk.
//
// The messages are kept as pgoutput sent them, minus the xid a message in a
// stream carries (proto 1's form): replayed at the commit they decode as a
// transaction sent whole, with the catalog as it is then, which is when
// proto 1 would have decoded them too. Decoding them as they arrive would
// read the catalog before the transaction's own DDL committed, and stop the
// job on a change of a transaction that then aborts.
//
// Files are unlinked as soon as they are created: a process that dies
// leaves nothing behind (the server streams open transactions again from
// their start on the next connection).
type spill struct {
	dir  string
	txns map[uint32]*spillTxn
	cur  *spillTxn // the transaction of the open stream block
	w    *bufio.Writer
}

// spillTxn is one streamed top-level transaction.
type spillTxn struct {
	xid  uint32
	f    *os.File
	size int64
	// subs is where each subtransaction's first message starts: its abort
	// truncates the file there (what follows belongs to it or to
	// subtransactions begun inside it, aborted with it).
	subs map[uint32]int64
	// rels are the relation messages in the file. pgoutput sends a
	// relation once per streamed transaction whatever becomes of the
	// subtransaction it was sent in, so one that a truncation removes is
	// written again after it: the changes that follow rely on it.
	rels []spillRecord
}

type spillRecord struct {
	off   int64
	relid uint32
	rec   []byte
}

const spillBuffer = 64 << 10

func newSpill(dir string) *spill {
	return &spill{dir: dir, txns: map[uint32]*spillTxn{}, w: bufio.NewWriterSize(nil, spillBuffer)}
}

func (s *spill) inStream() bool { return s.cur != nil }

// ioErr codes a failure of the spill's files.
func (s *spill) ioErr(err error, what string) error {
	return errs.Wrap(err, errs.Unavailable, "%s a streamed transaction's changes in %s: %v", what, s.dir, err).
		WithFix("free space in the temporary directory (TMPDIR), or turn streaming off with the source's options.streaming: false " +
			"(the server then keeps large transactions until they commit)")
}

// start opens a stream block of top-level transaction xid; first says the
// server sends the transaction's first block.
func (s *spill) start(xid uint32, first bool) error {
	if s.cur != nil {
		return fmt.Errorf("STREAM START of transaction %d inside the stream of transaction %d", xid, s.cur.xid)
	}
	t := s.txns[xid]
	switch {
	case t == nil && !first:
		return fmt.Errorf("STREAM START of transaction %d continues a stream that never began", xid)
	case t == nil:
		f, err := os.CreateTemp(s.dir, "dts-pgstream-*.spill")
		if err != nil {
			return s.ioErr(err, "keep")
		}
		os.Remove(f.Name()) // the open file stays usable
		t = &spillTxn{xid: xid, f: f, subs: map[uint32]int64{}}
		s.txns[xid] = t
	case first: // sent again from its start: what was kept is stale
		if err := t.f.Truncate(0); err != nil {
			return s.ioErr(err, "discard")
		}
		t.size, t.rels = 0, nil
		clear(t.subs)
	}
	if _, err := t.f.Seek(t.size, io.SeekStart); err != nil {
		return s.ioErr(err, "keep")
	}
	s.w.Reset(t.f)
	s.cur = t
	return nil
}

// add appends a message of (sub)transaction xid, sent at WAL location lsn,
// to the open stream block's transaction. msg is in proto 1's form. A
// record is the location and the length as uvarints, then the message.
func (s *spill) add(xid uint32, lsn uint64, msg []byte) error {
	t := s.cur
	if t == nil {
		return errors.New("a streamed change outside a stream block")
	}
	if _, ok := t.subs[xid]; !ok && xid != t.xid {
		t.subs[xid] = t.size
	}
	var head [2 * binary.MaxVarintLen64]byte
	h := binary.AppendUvarint(binary.AppendUvarint(head[:0], lsn), uint64(len(msg)))
	if msg[0] == 'R' && len(msg) >= 5 {
		rec := append(append([]byte(nil), h...), msg...)
		t.rels = append(t.rels, spillRecord{off: t.size, relid: binary.BigEndian.Uint32(msg[1:5]), rec: rec})
	}
	if _, err := s.w.Write(h); err != nil {
		return s.ioErr(err, "keep")
	}
	if _, err := s.w.Write(msg); err != nil {
		return s.ioErr(err, "keep")
	}
	t.size += int64(len(h) + len(msg))
	return nil
}

// stop ends the open stream block.
func (s *spill) stop() error {
	if s.cur == nil {
		return errors.New("STREAM STOP outside a stream block")
	}
	s.cur = nil
	if err := s.w.Flush(); err != nil {
		return s.ioErr(err, "keep")
	}
	return nil
}

// abort discards subtransaction subxid of xid, or the whole transaction
// when subxid is xid. It reports whether anything was kept for it.
func (s *spill) abort(xid, subxid uint32) (bool, error) {
	if s.cur != nil {
		return false, fmt.Errorf("STREAM ABORT of transaction %d inside a stream block", xid)
	}
	t := s.txns[xid]
	if t == nil {
		return false, nil // nothing was kept
	}
	if subxid == xid {
		delete(s.txns, xid)
		t.f.Close()
		return true, nil
	}
	off, ok := t.subs[subxid]
	if !ok {
		return false, nil // the subtransaction changed nothing the stream carried
	}
	if err := t.f.Truncate(off); err != nil {
		return false, s.ioErr(err, "discard")
	}
	t.size = off
	for x, o := range t.subs {
		if o >= off {
			delete(t.subs, x)
		}
	}
	// Keep the last relation message of each table among those cut off.
	var cut []spillRecord
	for len(t.rels) > 0 && t.rels[len(t.rels)-1].off >= off {
		cut = append(cut, t.rels[len(t.rels)-1])
		t.rels = t.rels[:len(t.rels)-1]
	}
	seen := map[uint32]bool{}
	for i := range cut { // newest first
		if seen[cut[i].relid] {
			cut[i].rec = nil
		}
		seen[cut[i].relid] = true
	}
	for i := len(cut) - 1; i >= 0; i-- {
		r := cut[i]
		if r.rec == nil {
			continue
		}
		if _, err := t.f.WriteAt(r.rec, t.size); err != nil {
			return false, s.ioErr(err, "keep")
		}
		t.rels = append(t.rels, spillRecord{off: t.size, relid: r.relid, rec: r.rec})
		t.size += int64(len(r.rec))
	}
	return true, nil
}

// take removes transaction xid from the spill for its commit: the caller
// replays and closes it. ok is false when nothing was kept for it.
func (s *spill) take(xid uint32) (t *spillTxn, ok bool, err error) {
	if s.cur != nil {
		return nil, false, fmt.Errorf("STREAM COMMIT of transaction %d inside a stream block", xid)
	}
	t = s.txns[xid]
	delete(s.txns, xid)
	return t, t != nil, nil
}

// reset forgets every transaction: after a reconnect the server streams
// them again from their start.
func (s *spill) reset() {
	for xid, t := range s.txns {
		t.f.Close()
		delete(s.txns, xid)
	}
	s.cur = nil
	s.w.Reset(nil)
}

// held returns the transactions kept and their bytes on disk.
func (s *spill) held() (txns int, bytes int64) {
	for _, t := range s.txns {
		bytes += t.size
	}
	return len(s.txns), bytes
}

// replay calls fn with each message of t in order, and returns the first
// error fn returns.
func (s *spill) replay(t *spillTxn, fn func(lsn uint64, msg []byte) error) error {
	r := bufio.NewReaderSize(io.NewSectionReader(t.f, 0, t.size), spillBuffer)
	for {
		lsn, err := binary.ReadUvarint(r)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return s.ioErr(err, "read back")
		}
		n, err := binary.ReadUvarint(r)
		if err != nil || n == 0 || n > 1<<31 {
			return s.ioErr(fmt.Errorf("bad record (%d bytes, %v)", n, err), "read back")
		}
		msg := make([]byte, n) // decoded values may share it: never reused
		if _, err := io.ReadFull(r, msg); err != nil {
			return s.ioErr(err, "read back")
		}
		if err := fn(lsn, msg); err != nil {
			return err
		}
	}
}

func (t *spillTxn) close() { t.f.Close() }
