package mysql

import (
	"errors"
	"fmt"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"

	"github.com/dtsorg/dts/internal/change"
	"github.com/dtsorg/dts/internal/errs"
)

// Codes of the binlog change stream (connector.LogSource). Each names a
// position; none of them is retried: the stream stops at that event and the
// checkpoint never passes it.
const (
	// CodeBinlogPurged: the binlog that holds the position is gone (purged,
	// RESET MASTER) or the GTID position is not in any binlog.
	CodeBinlogPurged = "OperationDenied.BinlogPurged"
	// CodePositionNotFound: a start position that does not exist yet, or is
	// not a place a replay can start at.
	CodePositionNotFound = "InvalidParameter.StartPosition"
	// CodeBinlogDisabled: the source writes no binary log (log_bin OFF).
	CodeBinlogDisabled = "OperationDenied.BinlogDisabled"
	// CodeRowImageNotFull: a row event without every column (binlog_row_image
	// MINIMAL or NOBLOB, in the server or in one session).
	CodeRowImageNotFull = "OperationDenied.RowImageNotFull"
	// CodeSchemaMismatch: a row event's table layout disagrees with the
	// schema history: decoding it would shift or misread values.
	CodeSchemaMismatch = "OperationDenied.SchemaMismatch"
	// CodeUnsupportedDDL: a DDL statement on a followed table whose result
	// dts cannot establish for this position.
	CodeUnsupportedDDL = "OperationDenied.UnsupportedDDL"
	// CodeStatementBased: a change to a followed table logged as an SQL
	// statement (binlog_format STATEMENT or MIXED) instead of row images.
	CodeStatementBased = "OperationDenied.StatementBasedBinlog"
	// CodeUnsupportedEvent: an event dts cannot apply faithfully (XA
	// transactions, partial JSON updates, incidents, rollbacks of
	// non-transactional changes, unknown row events).
	CodeUnsupportedEvent = "OperationDenied.UnsupportedBinlogEvent"
	// CodeUnsupportedColumn: a followed column whose binlog values dts cannot
	// decode (character set, old temporal format, unknown type).
	CodeUnsupportedColumn = "OperationDenied.UnsupportedColumn"
	// CodeSourceChanged: the server behind the endpoint is not the one the
	// position belongs to (RESET MASTER, a rebuilt server) in binlog
	// file/position mode.
	CodeSourceChanged = "OperationDenied.SourceChanged"
)

// errAt returns a coded error that names the position it stops at.
func errAt(code string, pos change.Position, format string, args ...any) *errs.Error {
	e := errs.New(code, "%s at %s", fmt.Sprintf(format, args...), pos)
	return e.WithDetail("position", pos.String())
}

// resnapshotFix is the fix of every error that leaves no way forward from
// the position: only a new full load can bring the target back in step.
const resnapshotFix = "the changes after the job's position cannot be read from this source any more: " +
	"reset the job (it copies every table again from a new snapshot), " +
	"and keep binlogs long enough for future stops (binlog_expire_logs_seconds / expire_logs_days)"

// MySQL server errors the binlog stream tells apart.
const (
	erMasterFatalReadingBinlog = 1236 // purged binlog, position not found, GTID not in binlog
	erNoBinaryLogging          = 1381 // "You are not using binary logging"
	erMasterHasPurgedGTIDs     = 1789 // MySQL: the replica needs GTIDs the source purged
)

// binlogServerError returns the server error inside err (go-mysql's MyError).
func binlogServerError(err error) (*gomysql.MyError, bool) {
	var me *gomysql.MyError
	if errors.As(err, &me) {
		return me, true
	}
	return nil, false
}

// purgedError turns the server's refusal to send the binlog from pos into
// CodeBinlogPurged; it returns nil for other errors.
func purgedError(err error, pos change.Position) error {
	me, ok := binlogServerError(err)
	if !ok || (me.Code != erMasterFatalReadingBinlog && me.Code != erMasterHasPurgedGTIDs) {
		return nil
	}
	return errAt(CodeBinlogPurged, pos, "the source cannot send its binlog from this position (%s)", me.Message).
		WithFix(resnapshotFix)
}
