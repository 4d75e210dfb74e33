package connector

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
)

// Classify turns an error from connecting to e into a coded error (see the
// codes above). engineCode names the codes only the engine's driver can tell
// (authentication, unknown database, TLS refused by the server) and returns ""
// for the rest, which Classify recognises by error type.
//
// The driver's text goes into the message scrubbed of e's password. The coded
// error does not wrap the driver error: its code is what callers act on.
// Cancellation by the caller is not a connection problem: Classify returns it
// as an error that wraps context.Canceled, without a code.
func Classify(err error, e job.Endpoint, engineCode func(error) string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("connect to %s at %s: %w", e.Engine, Addr(e), context.Canceled)
	}
	code := engineCode(err)
	if code == "" {
		code = NetCode(err)
	}
	if code == "" {
		code = Failed
	}
	return NewError(code, e, err)
}

// NetCode returns the code of a connect error that does not depend on the
// engine: DNS, Refused, TLS or Timeout; "" when err is none of those.
func NetCode(err error) string {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var netErr net.Error
	switch {
	case errors.As(err, &dnsErr):
		return DNS
	case errors.Is(err, syscall.ECONNREFUSED):
		return Refused
	case isTLS(err):
		return TLS
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return Timeout
	case errors.As(err, &opErr) && opErr.Op == "remote error":
		return TLS // a TLS alert from the server (crypto/tls has no exported type for it)
	}
	return ""
}

func isTLS(err error) bool {
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verification     *tls.CertificateVerificationError
		record           tls.RecordHeaderError
		alert            tls.AlertError
	)
	return errors.As(err, &unknownAuthority) || errors.As(err, &hostname) ||
		errors.As(err, &invalid) || errors.As(err, &verification) ||
		errors.As(err, &record) || errors.As(err, &alert)
}

// NewError returns the coded error for code, with a message naming e's
// address and the driver's text scrubbed of e's password, and the fix.
func NewError(code string, e job.Endpoint, cause error) *errs.Error {
	addr := Addr(e)
	var msg, fix string
	switch code {
	case DNS:
		msg = fmt.Sprintf("host %q not found", Host(e))
		fix = "check the host name: it must resolve on the machine dts runs on"
	case Refused:
		msg = fmt.Sprintf("%s refused the connection: nothing listens on port %d", Host(e), Port(e))
		fix = "check host and port, and that the server runs and listens on the network (MySQL bind-address, PostgreSQL listen_addresses)"
	case Timeout:
		msg = fmt.Sprintf("no answer from %s within %s", addr, ConnectTimeout(e))
		fix = "check that the server is up and that no firewall drops traffic to this port; on a slow network raise options.connect_timeout_seconds"
	case AuthFailed:
		msg = fmt.Sprintf("%s rejected user %q", addr, e.User)
		fix = "check user and password, and that the server lets this user connect from the dts host " +
			"(MySQL: the account's host part and grants; PostgreSQL: pg_hba.conf)"
	case DatabaseNotFound:
		msg = fmt.Sprintf("database %q does not exist on %s", e.Database, addr)
		if e.Database == "" {
			msg = fmt.Sprintf("the endpoint names no database and the default one does not exist on %s", addr)
		}
		fix = "create the database, or correct the endpoint's database"
	case TLS:
		msg = fmt.Sprintf("TLS with %s failed (tls.mode %s)", addr, TLSMode(e))
		fix = "check tls.mode and the tls.ca, tls.cert and tls.key files; verify-full also checks that the " +
			"certificate names the host; a server without TLS works only with tls.mode prefer or disable"
	default:
		code = Failed
		msg = fmt.Sprintf("cannot connect to %s at %s", e.Engine, addr)
	}
	if cause != nil {
		msg += ": " + Scrub(cause.Error(), e.Password.Reveal())
	}
	out := &errs.Error{Code: code, Message: msg}
	if fix != "" {
		out.Fix = fix
	}
	return out
}
