package mysql

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/schema"
)

// CodeMissingPrivilege is the code of an operation the endpoint's user lacks
// a privilege for; the fix names the GRANT.
const CodeMissingPrivilege = "OperationDenied.MissingPrivilege"

// MySQL error numbers the snapshot handles.
const (
	erSpecificAccessDenied  = 1227 // "you need (at least one of) the RELOAD privilege(s)"
	erParse                 = 1064
	erUnknownSystemVariable = 1193 // no GTIDs before MySQL 5.6
)

// Snapshot is a consistent read of a MySQL/MariaDB server shared by its
// readers, each a connection inside START TRANSACTION WITH CONSISTENT
// SNAPSHOT opened while FLUSH TABLES WITH READ LOCK held every commit.
type Snapshot struct {
	db      *sql.DB // the snapshot's own pool: closing it ends every session
	readers []*Reader
	pos     change.Position
	// refs are the tables whose structure OpenLogSnapshot reads at the
	// snapshot's position (binlog_source.go); tables is that structure.
	refs   []connector.TableRef
	tables []*schema.Table
}

var _ connector.Snapshot = (*Snapshot)(nil)

// OpenSnapshot starts a consistent read shared by `readers` connections
// (docs/design/full-load.md): a control connection runs FLUSH TABLES WITH
// READ LOCK (held for milliseconds), every reader starts its transaction
// with a consistent snapshot, the control connection reads the binlog
// position and GTID set, then UNLOCK TABLES.
//
// A user without RELOAD cannot lock: on MariaDB the snapshot falls back to
// one reader whose position MariaDB reports consistent with its transaction
// (binlog_snapshot_file/position); on MySQL it fails with
// CodeMissingPrivilege.
func (s *Source) OpenSnapshot(ctx context.Context, readers int) (connector.Snapshot, error) {
	readers = max(readers, 1)
	db, err := openPool(ctx, s.e, map[string]string{"sql_mode": sourceSQLMode}, false)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(readers + 1)
	db.SetMaxIdleConns(readers + 1)
	snap := &Snapshot{db: db}
	if err := s.openSnapshot(ctx, snap, readers); err != nil {
		snap.Close()
		return nil, err
	}
	return snap, nil
}

func (s *Source) openSnapshot(ctx context.Context, snap *Snapshot, readers int) error {
	db := snap.db
	// Connect every reader before the lock: the lock lasts only for the
	// statements between FLUSH and UNLOCK.
	for range readers {
		conn, err := db.Conn(ctx)
		if err != nil {
			return Classify(err, s.e)
		}
		r := &Reader{conn: conn, srv: s.cat.srv, stmts: map[string]*sql.Stmt{}}
		if err := r.setup(ctx); err != nil {
			return err
		}
		snap.readers = append(snap.readers, r)
	}
	control, err := db.Conn(ctx)
	if err != nil {
		return Classify(err, s.e)
	}
	defer control.Close()
	// Waiting for a long statement to release its tables blocks every writer
	// meanwhile: give up after 30 s rather than stall the source.
	if _, err := control.ExecContext(ctx, "SET SESSION lock_wait_timeout = 30"); err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	if _, err := control.ExecContext(ctx, "FLUSH TABLES WITH READ LOCK"); err != nil {
		if !isErr(err, erSpecificAccessDenied) {
			return fmt.Errorf("snapshot: FLUSH TABLES WITH READ LOCK: %w", err)
		}
		if !s.cat.srv.mariadb {
			return errs.New(CodeMissingPrivilege, "user %q cannot take a consistent snapshot of the MySQL source at %s: "+
				"FLUSH TABLES WITH READ LOCK needs the RELOAD privilege", s.e.User, connector.Addr(s.e)).
				WithFix("GRANT RELOAD ON *.* TO the user dts connects as (the lock is held for milliseconds)")
		}
		return s.singleReader(ctx, snap)
	}
	unlocked := false
	defer func() {
		if !unlocked { // closing the control connection would release it too
			control.ExecContext(context.WithoutCancel(ctx), "UNLOCK TABLES")
		}
	}()
	for _, r := range snap.readers {
		if err := r.begin(ctx); err != nil {
			return err
		}
	}
	pos, err := s.readPosition(ctx, control)
	if err != nil {
		return err
	}
	if err := s.readSnapshotTables(ctx, snap); err != nil { // still locked: no DDL can run
		return err
	}
	if _, err := control.ExecContext(ctx, "UNLOCK TABLES"); err != nil {
		return fmt.Errorf("snapshot: UNLOCK TABLES: %w", err)
	}
	unlocked = true
	snap.pos = pos
	return nil
}

// singleReader is the MariaDB snapshot without RELOAD: one reader, whose
// transaction MariaDB tells the binlog position of.
func (s *Source) singleReader(ctx context.Context, snap *Snapshot) error {
	s.log.WarnContext(ctx, "FLUSH TABLES WITH READ LOCK was denied (the user lacks the RELOAD privilege): "+
		"reading the source with one connection; grant RELOAD for parallel reads",
		"user", s.e.User, "readers_requested", len(snap.readers))
	for _, r := range snap.readers[1:] {
		r.close()
	}
	r := snap.readers[0]
	snap.readers = snap.readers[:1]
	if err := r.begin(ctx); err != nil {
		return err
	}
	rows, err := r.conn.QueryContext(ctx, "SHOW STATUS LIKE 'binlog_snapshot_%'")
	if err != nil {
		return fmt.Errorf("snapshot: read binlog_snapshot_file/position: %w", err)
	}
	status, err := scanPairs(rows)
	if err != nil {
		return fmt.Errorf("snapshot: read binlog_snapshot_file/position: %w", err)
	}
	pos := change.Position{Engine: "mysql", Flavor: "mariadb", File: status["binlog_snapshot_file"]}
	pos.Pos, _ = strconv.ParseUint(status["binlog_snapshot_position"], 10, 64)
	if pos.File != "" {
		var gtid sql.NullString
		err := r.conn.QueryRowContext(ctx, "SELECT BINLOG_GTID_POS(?, ?)", pos.File, pos.Pos).Scan(&gtid)
		if err != nil {
			return fmt.Errorf("snapshot: read the GTID position of %s: %w", pos, err)
		}
		pos.GTIDSet = gtid.String
	} else {
		s.log.WarnContext(ctx, "the source writes no binary log: the snapshot has no position to start incremental sync from")
	}
	snap.pos = pos
	return s.readSnapshotTables(ctx, snap) // without the lock: see readSnapshotTables
}

// readPosition reads the binlog coordinate and GTID set while commits are locked.
func (s *Source) readPosition(ctx context.Context, control *sql.Conn) (change.Position, error) {
	srv := s.cat.srv
	pos := change.Position{Engine: "mysql", Flavor: srv.flavor()}
	rows, err := control.QueryContext(ctx, "SHOW MASTER STATUS")
	if isErr(err, erParse) { // MySQL 8.4 renamed it
		rows, err = control.QueryContext(ctx, "SHOW BINARY LOG STATUS")
	}
	if isErr(err, erSpecificAccessDenied) {
		grant := "REPLICATION CLIENT"
		if srv.mariadb && srv.atLeast(10, 5, 2) {
			grant = "BINLOG MONITOR"
		}
		return pos, errs.New(CodeMissingPrivilege, "user %q cannot read the binary log position of the source at %s",
			s.e.User, connector.Addr(s.e)).WithFix("GRANT %s ON *.* TO the user dts connects as", grant)
	}
	if err != nil {
		return pos, fmt.Errorf("snapshot: read the binlog position: %w", err)
	}
	cols, vals, err := scanFirst(rows)
	if err != nil {
		return pos, fmt.Errorf("snapshot: read the binlog position: %w", err)
	}
	for i, c := range cols {
		switch strings.ToLower(c) {
		case "file":
			pos.File = vals[i]
		case "position":
			pos.Pos, _ = strconv.ParseUint(vals[i], 10, 64)
		}
	}
	if pos.File == "" {
		s.log.WarnContext(ctx, "the source writes no binary log: the snapshot has no position to start incremental sync from")
	}
	q := "SELECT @@GLOBAL.gtid_executed"
	if srv.mariadb {
		q = "SELECT @@GLOBAL.gtid_binlog_pos"
	}
	var gtid sql.NullString
	if err := control.QueryRowContext(ctx, q).Scan(&gtid); err != nil && !isErr(err, erUnknownSystemVariable) {
		return pos, fmt.Errorf("snapshot: read the GTID set: %w", err)
	}
	pos.GTIDSet = strings.ReplaceAll(strings.TrimSpace(gtid.String), "\n", "")
	return pos, nil
}

// Position is the binlog position the snapshot matches.
func (s *Snapshot) Position() change.Position { return s.pos }

// Readers returns the snapshot's readers.
func (s *Snapshot) Readers() []connector.Reader {
	out := make([]connector.Reader, len(s.readers))
	for i, r := range s.readers {
		out[i] = r
	}
	return out
}

// Close ends the readers' transactions and closes the snapshot's connections.
func (s *Snapshot) Close() error {
	for _, r := range s.readers {
		r.close()
	}
	return s.db.Close()
}

// isErr reports whether err is the MySQL error number.
func isErr(err error, number uint16) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == number
}

// scanFirst returns the column names and the first row as text ("" for NULL).
func scanFirst(rows *sql.Rows) ([]string, []string, error) {
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, nil, err
	}
	vals := make([]string, len(cols))
	if !rows.Next() {
		return cols, vals, rows.Err()
	}
	raw := make([]sql.NullString, len(cols))
	ptrs := make([]any, len(cols))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	if err := rows.Scan(ptrs...); err != nil {
		return nil, nil, err
	}
	for i, v := range raw {
		vals[i] = v.String
	}
	return cols, vals, rows.Err()
}

// scanPairs reads (name, value) rows, as SHOW STATUS returns, by lower-case name.
func scanPairs(rows *sql.Rows) (map[string]string, error) {
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var k, v sql.NullString
		if err := rows.Scan(&k, &v); err != nil {
			return nil, err
		}
		out[strings.ToLower(k.String)] = v.String
	}
	return out, rows.Err()
}
