package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/job"
)

var pgxTxReadOnly = pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}

// exported is a snapshot that reader transactions can import by name.
type exported struct {
	name string
	pos  change.Position
	// until is at or after the commit of every transaction the snapshot
	// sees (zero when pos is exact: a slot's exported snapshot).
	until change.Position
	// release ends what keeps the snapshot importable; it is called once
	// every reader imported it (or failed to).
	release func()
}

// snapshotExporter provides the snapshot a Snapshot's readers share. The
// default, exportTransaction, keeps a transaction open that exported it;
// the incremental phase provides the snapshot that creating its
// replication slot exports, whose position is exactly the slot's
// consistent point.
type snapshotExporter func(ctx context.Context, e job.Endpoint, log *slog.Logger) (exported, error)

// walNowSQL reads the WAL location up to which transactions can be
// visible: the insert location on a primary (a commit record is inserted
// before its transaction becomes visible, and may not be written out yet
// with synchronous_commit off), the replayed location on a standby.
const walNowSQL = `SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_insert_lsn() END)::text`

// exportTransaction exports the snapshot of a REPEATABLE READ transaction
// on a connection of its own, reading the WAL location before and after
// it. Neither is exact: a transaction commits (its commit record goes into
// the WAL) before it becomes visible, so one in flight when the snapshot
// is taken can have its commit before the first location and still be
// invisible, and one can commit between the first read and the snapshot
// and be visible.
//
//   - pos, the location read before, is the position of a plain snapshot
//     (a migration without incremental sync reports it).
//   - until, the location read after, is at or after the commit record of
//     every transaction the snapshot sees: a visible transaction's commit
//     record was inserted before the snapshot was taken. A resumed full
//     load's run records it (OpenLogSnapshot), so the replay window
//     reaches past every change its copied rows may hold.
func exportTransaction(ctx context.Context, e job.Endpoint, log *slog.Logger) (exported, error) {
	conn, err := connect(ctx, e)
	if err != nil {
		return exported{}, err
	}
	fail := func(err error) (exported, error) {
		conn.Close(context.WithoutCancel(ctx))
		return exported{}, wrapErr(err, "export a snapshot")
	}
	walNow := func(q string) (change.Position, error) {
		var lsn string
		if err := conn.QueryRow(ctx, q).Scan(&lsn); err != nil {
			return change.Position{}, err
		}
		pos, err := parseLSN(lsn)
		return pgPosition(pos), err
	}
	// On a standby, the replayed location: what the snapshot can see.
	before, err := walNow(`SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text`)
	if err != nil {
		return fail(err)
	}
	if _, err := conn.Exec(ctx, `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`); err != nil {
		return fail(err)
	}
	var name string
	if err := conn.QueryRow(ctx, `SELECT pg_export_snapshot()`).Scan(&name); err != nil {
		return fail(err)
	}
	// The transaction's snapshot was taken by the statement above; a
	// location read now is past the commit of everything it sees.
	after, err := walNow(walNowSQL)
	if err != nil {
		return fail(err)
	}
	release := func() {
		ctx, cancel := context.WithTimeout(context.Background(), connector.ConnectTimeout(e))
		defer cancel()
		conn.Exec(ctx, `COMMIT`)
		conn.Close(ctx)
	}
	return exported{name: name, pos: before, until: after, release: release}, nil
}

// parseLSN parses a WAL location, X/Y in hex.
func parseLSN(s string) (uint64, error) {
	var hi, lo uint32
	if _, err := fmt.Sscanf(s, "%X/%X", &hi, &lo); err != nil {
		return 0, fmt.Errorf("WAL location %q: %w", s, err)
	}
	return uint64(hi)<<32 | uint64(lo), nil
}

// Snapshot is a consistent read of the source by several connections.
type Snapshot struct {
	pos     change.Position
	until   change.Position // see exported.until
	readers []*Reader
}

var _ connector.Snapshot = (*Snapshot)(nil)

// OpenSnapshot opens n reader connections on one snapshot (see
// exportTransaction for its position).
func (s *Source) OpenSnapshot(ctx context.Context, n int) (connector.Snapshot, error) {
	snap, err := s.openSnapshot(ctx, max(n, 1), s.exporter)
	if err != nil {
		return nil, err
	}
	return snap, nil
}

// openSnapshot opens n readers on the snapshot exp provides.
func (s *Source) openSnapshot(ctx context.Context, n int, exp snapshotExporter) (*Snapshot, error) {
	x, err := exp(ctx, s.e, s.log)
	if err != nil {
		return nil, err
	}
	defer x.release()
	snap := &Snapshot{pos: x.pos, until: x.until, readers: make([]*Reader, n)}
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { snap.readers[i], errs[i] = importSnapshot(ctx, s.e, x.name, s.log) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		snap.Close()
		return nil, err
	}
	s.log.InfoContext(ctx, "snapshot opened", "readers", n, "position", x.pos.String())
	return snap, nil
}

// importSnapshot opens a reader connection in a transaction on snapshot name.
func importSnapshot(ctx context.Context, e job.Endpoint, name string, log *slog.Logger) (*Reader, error) {
	conn, err := connect(ctx, e)
	if err != nil {
		return nil, err
	}
	_, err = conn.Exec(ctx, `BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`)
	if err == nil {
		_, err = conn.Exec(ctx, `SET TRANSACTION SNAPSHOT `+quoteLiteral(name))
	}
	if err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, wrapErr(err, "import snapshot %s", name)
	}
	return &Reader{conn: conn, log: log}, nil
}

// Position is the WAL location the snapshot matches.
func (s *Snapshot) Position() change.Position { return s.pos }

// Readers returns the snapshot's connections.
func (s *Snapshot) Readers() []connector.Reader {
	out := make([]connector.Reader, len(s.readers))
	for i, r := range s.readers {
		out[i] = r
	}
	return out
}

// Close ends the readers' transactions and closes their connections.
func (s *Snapshot) Close() error {
	for _, r := range s.readers {
		if r != nil {
			r.close()
		}
	}
	s.readers = nil
	return nil
}
