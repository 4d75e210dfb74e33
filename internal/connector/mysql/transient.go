package mysql

import (
	"database/sql/driver"
	"errors"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-sql-driver/mysql"

	"github.com/dtsorg/dts/internal/connector"
)

// Server and client errors that pass by starting over on a new connection.
var transientCodes = map[uint16]bool{
	1040: true, // ER_CON_COUNT_ERROR: too many connections (a server still starting, a pool refilling)
	1053: true, // ER_SERVER_SHUTDOWN
	1205: true, // ER_LOCK_WAIT_TIMEOUT: the statement, not the transaction, was rolled back; starting over is clean
	1213: true, // ER_LOCK_DEADLOCK: the transaction was rolled back
	1927: true, // ER_CONNECTION_KILLED (MariaDB)
	2006: true, // CR_SERVER_GONE_ERROR
	2013: true, // CR_SERVER_LOST
}

var (
	_ connector.TransientClassifier = (*Sink)(nil)
	_ connector.TransientClassifier = (*Source)(nil)
)

// Transient reports whether err, from this sink, may pass by starting over
// on new connections (connector.TransientClassifier).
func (s *Sink) Transient(err error) bool { return transient(err) }

// Transient reports whether err, from this source, may pass by starting
// over on new connections (connector.TransientClassifier).
func (s *Source) Transient(err error) bool { return transient(err) }

func transient(err error) bool {
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return transientCodes[me.Number]
	}
	var ge *gomysql.MyError
	if errors.As(err, &ge) {
		return transientCodes[ge.Code]
	}
	return errors.Is(err, mysql.ErrInvalidConn) || errors.Is(err, driver.ErrBadConn) || errors.Is(err, gomysql.ErrBadConn)
}
