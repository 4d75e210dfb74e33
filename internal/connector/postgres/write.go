package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/value"
)

// WriteChunk writes the rows next returns with one COPY ... FROM STDIN in
// text format, streamed: rows are encoded into a 64 KiB buffer as COPY
// asks for data, so memory stays bounded by the batches. In the same
// transaction it records w.Progress in dts_meta.partitions, then commits.
// Generated columns of the target are left out (PostgreSQL computes them).
func (s *Sink) WriteChunk(ctx context.Context, w connector.ChunkWrite, next func() ([]value.Row, error)) (int64, error) {
	src, query, err := newCopySource(w, next)
	if err != nil {
		return 0, err
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return 0, wrapErr(err, "write %s", w.Table)
	}
	defer conn.Release()
	tx, err := conn.Begin(ctx)
	if err != nil {
		return 0, wrapErr(err, "write %s", w.Table)
	}
	defer tx.Rollback(context.WithoutCancel(ctx)) // after Commit: a no-op
	_, err = conn.Conn().PgConn().CopyFrom(ctx, src, query)
	rows, srcErr := src.stop()
	switch {
	case srcErr != nil:
		return 0, srcErr // next's error, or a value PostgreSQL cannot hold
	case err != nil:
		return 0, wrapErr(err, "copy rows into %s", w.Table)
	}
	if w.Progress != nil {
		if err := saveProgress(ctx, tx, w.Progress()); err != nil {
			return 0, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, wrapErr(err, "commit rows of %s", w.Table)
	}
	return rows, nil
}

// copyBuffer is the COPY data encoded ahead of the server.
const copyBuffer = 64 << 10

// copySource is the io.Reader PgConn.CopyFrom reads COPY text from, in a
// goroutine of its own. CopyFrom may return before that goroutine ends (a
// broken connection, a cancelled ctx): mu and stopped keep a late Read from
// touching the rows once WriteChunk is done.
type copySource struct {
	mu      sync.Mutex
	stopped bool

	w      connector.ChunkWrite
	next   func() ([]value.Row, error)
	cols   []int     // positions in the rows of the columns written
	enc    []encoder // their encoders
	keyIdx []int     // positions of the target's key, for messages

	batch []value.Row
	pos   int
	buf   []byte
	off   int
	done  bool
	rows  int64
	err   error
}

func newCopySource(w connector.ChunkWrite, next func() ([]value.Row, error)) (*copySource, string, error) {
	if len(w.SourceTypes) != len(w.Columns) {
		return nil, "", fmt.Errorf("write %s: %d columns but %d source types", w.Table, len(w.Columns), len(w.SourceTypes))
	}
	c := &copySource{w: w, next: next, buf: make([]byte, 0, copyBuffer+4096)}
	var names []string
	for i, name := range w.Columns {
		col, ok := w.Table.Column(name)
		if !ok {
			return nil, "", fmt.Errorf("write %s: no column %s", w.Table, name)
		}
		if col.Generated != nil {
			continue
		}
		names = append(names, name)
		c.cols = append(c.cols, i)
		c.enc = append(c.enc, encoderFor(w.SourceTypes[i], col.Type))
	}
	for _, k := range w.Table.ChunkKey() {
		if i := indexOf(w.Columns, k); i >= 0 {
			c.keyIdx = append(c.keyIdx, i)
		}
	}
	query := "COPY " + quoteQualified(w.Table.Schema, w.Table.Name)
	if len(names) > 0 { // none: every column is generated, or the table has none
		query += " (" + quoteIdentList(names) + ")"
	}
	query += " FROM STDIN"
	return c, query, nil
}

// stop ends the reading and returns the rows encoded and the error that
// ended it, if any.
func (c *copySource) stop() (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopped = true
	return c.rows, c.err
}

var errStopped = errors.New("COPY data requested after the write ended")

func (c *copySource) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopped {
		return 0, errStopped
	}
	for c.off == len(c.buf) {
		switch {
		case c.err != nil:
			return 0, c.err
		case c.done:
			return 0, io.EOF
		}
		if cap(c.buf) > 4*copyBuffer { // a huge row passed: let its buffer go
			c.buf = make([]byte, 0, copyBuffer+4096)
		}
		c.buf, c.off = c.buf[:0], 0
		if err := c.fill(); err != nil {
			c.err = err
			return 0, err
		}
	}
	n := copy(p, c.buf[c.off:])
	c.off += n
	return n, nil
}

// fill encodes rows until the buffer holds copyBuffer bytes or the rows end.
func (c *copySource) fill() error {
	for len(c.buf) < copyBuffer {
		if c.pos == len(c.batch) {
			b, err := c.next()
			if err != nil {
				return err
			}
			if b == nil {
				c.done = true
				return nil
			}
			c.batch, c.pos = b, 0
			continue
		}
		row := c.batch[c.pos]
		if len(row) != len(c.w.Columns) {
			return fmt.Errorf("write %s: a row has %d values for %d columns", c.w.Table, len(row), len(c.w.Columns))
		}
		var err error
		for j, i := range c.cols {
			if j > 0 {
				c.buf = append(c.buf, '\t')
			}
			if row[i] == nil {
				c.buf = append(c.buf, '\\', 'N')
				continue
			}
			if c.buf, err = c.enc[j].appendCopy(c.buf, row[i]); err != nil {
				return c.valueError(row, i, err)
			}
		}
		c.buf = append(c.buf, '\n')
		c.pos++
		c.rows++
	}
	return nil
}

// valueError names the table, column and row of a value PostgreSQL cannot hold.
func (c *copySource) valueError(row value.Row, col int, err error) error {
	var ve *valueError
	if !errors.As(err, &ve) {
		return fmt.Errorf("write %s, column %s: %w", c.w.Table, c.w.Columns[col], err)
	}
	where := "row " + strconv.FormatInt(c.rows+1, 10) + " of the chunk"
	if len(c.keyIdx) > 0 {
		var names, vals []string
		for _, i := range c.keyIdx {
			names = append(names, c.w.Columns[i])
			vals = append(vals, showValue(row[i]))
		}
		where = "the row with key (" + strings.Join(names, ", ") + ") = (" + strings.Join(vals, ", ") + ")"
	}
	fix := "change the value on the source, or leave the column out of the job"
	if ve == errZeroDate {
		fix = "replace the zero dates on the source (with NULL or a real date), or leave the column out of the job"
	} else if strings.Contains(ve.reason, "NUL") {
		fix = "remove the NUL characters on the source, or leave the column out of the job; a binary (bytea) target column holds them"
	}
	return errs.New(CodeUnsupportedValue, "%s, column %s, %s: %s; nothing of this chunk was written", c.w.Table, c.w.Columns[col], where, ve.reason).
		WithFix("%s", fix)
}

// showValue renders a key value for a message: quoted, cut at 64 bytes.
func showValue(v []byte) string {
	if v == nil {
		return "NULL"
	}
	if len(v) > 64 {
		v = v[:64]
	}
	if utf8.Valid(v) {
		return strconv.Quote(string(v))
	}
	return fmt.Sprintf("0x%x", v)
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}
