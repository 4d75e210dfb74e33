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

// exportTransaction exports the snapshot of a REPEATABLE READ transaction
// on a connection of its own. Its position is the WAL location read just
// before the snapshot is taken: every change committed before it is visible
// to the snapshot (up to commits still in flight at that instant), and a
// change between it and the snapshot is both visible and replayed, which
// the incremental phase's idempotent apply tolerates. A location read
// after the snapshot would instead skip changes committed in between.
func exportTransaction(ctx context.Context, e job.Endpoint, log *slog.Logger) (exported, error) {
	conn, err := connect(ctx, e)
	if err != nil {
		return exported{}, err
	}
	fail := func(err error) (exported, error) {
		conn.Close(context.WithoutCancel(ctx))
		return exported{}, wrapErr(err, "export a snapshot")
	}
	var lsn string
	// On a standby, the replayed location: what the snapshot can see.
	err = conn.QueryRow(ctx, `SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text`).Scan(&lsn)
	if err != nil {
		return fail(err)
	}
	pos, err := parseLSN(lsn)
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
	release := func() {
		ctx, cancel := context.WithTimeout(context.Background(), connector.ConnectTimeout(e))
		defer cancel()
		conn.Exec(ctx, `COMMIT`)
		conn.Close(ctx)
	}
	return exported{name: name, pos: change.Position{Engine: string(job.EnginePostgreSQL), LSN: pos}, release: release}, nil
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
	snap := &Snapshot{pos: x.pos, readers: make([]*Reader, n)}
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
