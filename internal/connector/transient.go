package connector

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"syscall"

	"github.com/dtsorg/dts/internal/errs"
)

// TransientClassifier is a capability of Sources and Sinks: it tells, from
// its driver's error codes, whether an error may pass by starting over on
// new connections (a server shutting down or restarting, a lost
// connection, a deadlock). The incremental phase retries those from the
// target's checkpoints, which makes a retry exactly-once.
type TransientClassifier interface {
	Transient(err error) bool
}

// IsTransient reports whether err may pass by starting over on new
// connections: a connection refused, reset, closed or timed out, or what
// one of the classifiers recognises by its driver's codes. A coded error
// (errs.Error) is dts's verdict and final, but for a failed connection
// attempt (Refused, Timeout, DNS, Failed). Cancellation is not transient.
// Errors are classified by type and code, never by their text.
func IsTransient(err error, classifiers ...TransientClassifier) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	if e, ok := errs.As(err); ok {
		switch e.Code {
		case Refused, Timeout, DNS, Failed:
			return true
		}
		return false
	}
	if netTransient(err) {
		return true
	}
	for _, c := range classifiers {
		if c != nil && c.Transient(err) {
			return true
		}
	}
	return false
}

// netTransient reports whether err is a lost, refused or timed-out
// connection, whatever the driver.
func netTransient(err error) bool {
	var netErr net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &netErr)
}
