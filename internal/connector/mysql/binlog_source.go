package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/schema"
)

// *Source follows the binlog of MySQL 5.7/8 and MariaDB 10.x
// (docs/design/incremental.md) with go-mysql's replication package: a
// replica connection (COM_BINLOG_DUMP / _GTID) whose events binlog_stream.go
// turns into change items, decoding rows with dts's own schema history.
var _ connector.LogSource = (*Source)(nil)

// heartbeatPeriod is how often an idle source sends a heartbeat event (and
// the stream a Heartbeat item); readTimeout is how long the stream waits for
// any packet before it takes the connection for dead and reconnects.
const (
	heartbeatPeriod = time.Second
	readTimeout     = 15 * time.Second
	// eventBuffer bounds the events go-mysql decodes ahead of the stream:
	// with row events of binlog_row_event_max_size (8 KiB by default) a few
	// hundred KiB, more only with rows that large.
	eventBuffer = 64
)

// OpenLogSnapshot opens the snapshot a job's full load copies from; its
// Position is where following the binlog starts (MySQL needs nothing
// prepared on the source). The structure of lj.Tables is read while FLUSH
// TABLES WITH READ LOCK holds every DDL, so Tables() is exactly the
// structure at Position(): the schema history starts there.
func (s *Source) OpenLogSnapshot(ctx context.Context, lj connector.LogJob, readers int) (connector.Snapshot, error) {
	if err := s.checkBinlog(ctx); err != nil {
		return nil, err
	}
	readers = max(readers, 1)
	db, err := openPool(ctx, s.e, map[string]string{"sql_mode": sourceSQLMode}, false)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(readers + 1)
	db.SetMaxIdleConns(readers + 1)
	snap := &Snapshot{db: db, refs: lj.Tables}
	if err := s.openSnapshot(ctx, snap, readers); err != nil {
		snap.Close()
		return nil, err
	}
	return snap, nil
}

// Tables returns the structure of the job's tables at Position() (only for
// a snapshot from OpenLogSnapshot; nil otherwise). The runner starts the
// schema history from it.
func (s *Snapshot) Tables() []*schema.Table { return s.tables }

// readSnapshotTables reads the structure of snap.refs. openSnapshot calls it
// under FLUSH TABLES WITH READ LOCK. Without the RELOAD privilege (MariaDB's
// single-reader snapshot) there is no lock: a DDL committed between the
// snapshot and this read would make the structure newer than the position.
// The stream then meets that DDL again; every row event before it is
// checked against the structure (column count and binlog types always,
// names with binlog_row_metadata=FULL), so such a race stops the job
// loudly instead of shifting values, and a repeated ADD/DROP COLUMN fails
// to apply. Grant RELOAD to avoid it.
func (s *Source) readSnapshotTables(ctx context.Context, snap *Snapshot) error {
	if len(snap.refs) == 0 {
		return nil
	}
	tables, err := s.cat.readTables(ctx, snap.refs)
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	snap.tables = tables
	return nil
}

// DropLog does nothing: following a MySQL binlog leaves nothing on the source.
func (s *Source) DropLog(context.Context, connector.LogJob) error { return nil }

// checkBinlog fails with CodeBinlogDisabled when the server writes no binlog.
func (s *Source) checkBinlog(ctx context.Context) error {
	var on sql.NullInt64
	if err := s.db.QueryRowContext(ctx, "SELECT @@GLOBAL.log_bin").Scan(&on); err != nil {
		return fmt.Errorf("read log_bin: %w", err)
	}
	if on.Int64 == 0 {
		return errs.New(CodeBinlogDisabled, "the source at %s writes no binary log (log_bin is OFF): incremental sync reads it",
			connector.Addr(s.e)).WithFix("start the server with log_bin (MariaDB: --log-bin, with binlog_format=ROW and " +
			"binlog_row_image=FULL) and restart it")
	}
	return nil
}

// Follow streams the binlog from `from` (docs/design/incremental.md):
// everything committed after it, as Begin/Row/Commit, DDL, Truncate and
// Heartbeat items. tables are the selected tables' structures as of from.
func (s *Source) Follow(ctx context.Context, lj connector.LogJob, from change.Position, tables []*schema.Table) (connector.ChangeStream, error) {
	if from.Engine != "mysql" || (from.File == "" && from.GTIDSet == "") {
		return nil, errs.New(CodePositionNotFound, "position %s is not a MySQL binlog position", from)
	}
	if from.Flavor != "" && from.Flavor != s.Flavor() {
		return nil, errs.New(CodePositionNotFound, "position %s belongs to a %s server, the source is %s", from, from.Flavor, s.Flavor()).
			WithFix("reset the job: its positions came from another kind of server")
	}
	if err := s.checkBinlog(ctx); err != nil {
		return nil, err
	}
	st, err := s.newBinlogStream(ctx, lj, from, tables)
	if err != nil {
		return nil, err
	}
	if err := st.connect(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// binlogServerID is the server_id the job's replica connection registers
// with: the endpoint's options.server_id, else one derived from the job id
// (in the upper half of the id space, where real servers rarely are; never
// 0, never the source's own). purpose derives distinct ids for short-lived
// connections (ResolveStart) so they never displace the job's stream: a
// source drops a replica connection when another registers its server_id.
func binlogServerID(lj connector.LogJob, purpose string, sourceID uint32) uint32 {
	if lj.ServerID != 0 && purpose == "" {
		return lj.ServerID
	}
	h := fnv.New32a()
	h.Write([]byte("dts:" + lj.JobID + ":" + purpose))
	id := h.Sum32() | 1<<31
	if id == sourceID {
		id ^= 1
	}
	return id
}

// syncerConfig returns the replica connection's settings, chosen so that
// go-mysql's values convert exactly to canonical form (binlog_values.go):
//
//   - ParseTime off, TimestampStringLocation UTC: temporal values arrive as
//     the server's digits ("YYYY-MM-DD HH:MM:SS.ffffff"), TIMESTAMP as its
//     UTC instant whatever dts's local zone, zero dates as zeros;
//   - UseDecimal off: DECIMAL as the stored digits, exactly scale of them
//     after the point (the canonical form; never a float);
//   - UseFloatWithTrailingZero off: FLOAT/DOUBLE as float32/float64;
//   - RenderJSONAsMySQLText: MySQL's binary JSON as text with the stored key
//     order, doubles and decimals as MySQL prints them;
//   - HeartbeatPeriod 1 s and a read timeout: an idle source yields
//     Heartbeat items, a silent dead connection is noticed;
//   - DisableRetrySync: the stream reconnects itself, from its last
//     transaction boundary (go-mysql would resume mid-transaction);
//   - VerifyChecksum: a corrupted event stops the stream;
//   - FillZeroLogPos for MariaDB 11.4+, which writes LogPos 0 inside
//     transactions.
func (s *Source) syncerConfig(ctx context.Context, serverID uint32) (replication.BinlogSyncerConfig, error) {
	tlsCfg, err := connector.TLSConfig(s.e)
	if err != nil {
		return replication.BinlogSyncerConfig{}, err
	}
	if tlsCfg != nil && connector.TLSMode(s.e) == job.TLSPrefer {
		// prefer: TLS when the server offers it, as the SQL connections do.
		var name, cipher string
		if err := s.db.QueryRowContext(ctx, "SHOW SESSION STATUS LIKE 'Ssl_cipher'").Scan(&name, &cipher); err != nil || cipher == "" {
			tlsCfg = nil
		}
	}
	srv := s.cat.srv
	dialer := &net.Dialer{Timeout: connector.ConnectTimeout(s.e), KeepAlive: 30 * time.Second}
	return replication.BinlogSyncerConfig{
		ServerID:                 serverID,
		Flavor:                   srv.flavor(),
		Host:                     connector.Host(s.e),
		Port:                     uint16(connector.Port(s.e)),
		User:                     s.e.User,
		Password:                 s.e.Password.Reveal(),
		Localhost:                "dts",
		TLSConfig:                tlsCfg,
		ParseTime:                false,
		TimestampStringLocation:  time.UTC,
		UseDecimal:               false,
		UseFloatWithTrailingZero: false,
		RenderJSONAsMySQLText:    true,
		HeartbeatPeriod:          heartbeatPeriod,
		ReadTimeout:              readTimeout,
		DisableRetrySync:         true,
		VerifyChecksum:           true,
		EventCacheCount:          eventBuffer,
		FillZeroLogPos:           srv.mariadb && srv.atLeast(11, 4, 0),
		Logger:                   slog.New(quietHandler{s.log.Handler()}),
		Dialer:                   dialer.DialContext,
	}, nil
}

// quietHandler passes on go-mysql's warnings and errors only: it logs every
// connection and rotation at Info.
type quietHandler struct{ slog.Handler }

func (q quietHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && q.Handler.Enabled(ctx, l)
}

func (q quietHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return quietHandler{q.Handler.WithAttrs(attrs)}
}

func (q quietHandler) WithGroup(name string) slog.Handler {
	return quietHandler{q.Handler.WithGroup(name)}
}

// serverIdentity reads what names the server: server_id, and MySQL's
// server_uuid.
func (s *Source) serverIdentity(ctx context.Context) (id uint32, identity string, err error) {
	if err := s.db.QueryRowContext(ctx, "SELECT @@GLOBAL.server_id").Scan(&id); err != nil {
		return 0, "", fmt.Errorf("read server_id: %w", err)
	}
	identity = fmt.Sprintf("server_id %d", id)
	if !s.cat.srv.mariadb {
		var uuid sql.NullString
		if err := s.db.QueryRowContext(ctx, "SELECT @@GLOBAL.server_uuid").Scan(&uuid); err == nil && uuid.String != "" {
			identity += ", server_uuid " + uuid.String
		}
	}
	return id, identity, nil
}

// binlogFiles lists the server's binlogs and their sizes, oldest first.
func (s *Source) binlogFiles(ctx context.Context) ([]binlogFile, error) {
	rows, err := s.db.QueryContext(ctx, "SHOW BINARY LOGS")
	if isErr(err, erNoBinaryLogging) {
		return nil, s.checkBinlog(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("list binlogs: %w", err)
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out []binlogFile
	for rows.Next() {
		vals := make([]sql.NullString, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		f := binlogFile{name: vals[0].String}
		f.size, _ = strconv.ParseUint(vals[1].String, 10, 64)
		out = append(out, f)
	}
	return out, rows.Err()
}

type binlogFile struct {
	name string
	size uint64
}

// masterPosition reads the server's current binlog coordinate.
func (s *Source) masterPosition(ctx context.Context) (file string, pos uint64, err error) {
	rows, err := s.db.QueryContext(ctx, "SHOW MASTER STATUS")
	if isErr(err, erParse) {
		rows, err = s.db.QueryContext(ctx, "SHOW BINARY LOG STATUS")
	}
	if err != nil {
		return "", 0, fmt.Errorf("read the binlog position: %w", err)
	}
	cols, vals, err := scanFirst(rows)
	if err != nil {
		return "", 0, fmt.Errorf("read the binlog position: %w", err)
	}
	for i, c := range cols {
		switch strings.ToLower(c) {
		case "file":
			file = vals[i]
		case "position":
			pos, _ = strconv.ParseUint(vals[i], 10, 64)
		}
	}
	return file, pos, nil
}

// gtidAt returns MariaDB's GTID position at a binlog coordinate.
func (s *Source) gtidAt(ctx context.Context, file string, pos uint64) (string, error) {
	var g sql.NullString
	if err := s.db.QueryRowContext(ctx, "SELECT BINLOG_GTID_POS(?, ?)", file, pos).Scan(&g); err != nil {
		return "", fmt.Errorf("read the GTID position at binlog:%s:%d: %w", file, pos, err)
	}
	return g.String, nil
}
