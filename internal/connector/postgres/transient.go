package postgres

import (
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dtsorg/dts/internal/connector"
)

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

// transient: a connection exception (class 08), the server shutting down,
// crashed or still starting (57P01-57P03), too many connections, a
// serialization failure or deadlock (the transaction was rolled back);
// and pgconn's own verdicts on a lost connection.
func transient(err error) bool {
	if code := pgCode(err); code != "" {
		switch code {
		case sqlstateAdminShutdown, sqlstateCrashShutdown, sqlstateCannotConnectNow, sqlstateTooManyConnection,
			"40001", // serialization_failure
			"40P01": // deadlock_detected
			return true
		}
		return strings.HasPrefix(code, "08")
	}
	var connectErr *pgconn.ConnectError
	return errors.As(err, &connectErr) || pgconn.SafeToRetry(err) || pgconn.Timeout(err)
}
