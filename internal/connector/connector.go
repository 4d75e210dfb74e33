// Package connector holds what every engine connector shares: the error codes
// of a failed connection and their classification, the scrubbing of secrets
// from driver text, TLS settings per tls.mode, and endpoint defaults.
//
// The engine packages (mysql/, postgres/) build driver configurations from a
// job.Endpoint field by field, never by formatting a DSN or connection string
// with user values, and turn driver errors into these coded errors.
package connector

import (
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/dtsorg/dts/internal/job"
)

// Codes of a failed connection attempt. They are part of the outside contract
// (API answers, test_connection results).
const (
	Connection       = "Connection" // the family: errs.Is(err, connector.Connection)
	DNS              = "Connection.DNS"
	Refused          = "Connection.Refused"
	Timeout          = "Connection.Timeout"
	AuthFailed       = "Connection.AuthFailed"
	DatabaseNotFound = "Connection.DatabaseNotFound"
	TLS              = "Connection.TLS"
	Failed           = "Connection.Failed"
)

// DefaultConnectTimeout bounds connecting and authenticating when the endpoint
// does not set options.connect_timeout_seconds.
const DefaultConnectTimeout = 5 * time.Second

// ConnectTimeout returns the endpoint's connect timeout.
func ConnectTimeout(e job.Endpoint) time.Duration {
	if s := e.Options.ConnectTimeoutSeconds; s > 0 {
		return time.Duration(s) * time.Second
	}
	return DefaultConnectTimeout
}

// Host returns the endpoint's host without IPv6 brackets ("[::1]" → "::1").
func Host(e job.Endpoint) string {
	return strings.TrimSuffix(strings.TrimPrefix(e.Host, "["), "]")
}

// Port returns the endpoint's port, or the engine's default port when unset.
func Port(e job.Endpoint) int {
	switch {
	case e.Port != 0:
		return e.Port
	case e.Engine == job.EnginePostgreSQL:
		return 5432
	default:
		return 3306
	}
}

// Addr returns host:port for dialing (IPv6 hosts in brackets).
func Addr(e job.Endpoint) string {
	return net.JoinHostPort(Host(e), strconv.Itoa(Port(e)))
}

// TLSMode returns the endpoint's TLS mode; an unset mode is prefer, the job default.
func TLSMode(e job.Endpoint) string {
	if e.TLS.Mode == "" {
		return job.TLSPrefer
	}
	return e.TLS.Mode
}
