// Package conntest is the test_connection check: can dts reach an endpoint,
// log in, and how far away is it? It opens its connections through the
// engine connectors, so it checks exactly what a job would use.
package conntest

import (
	"context"
	"encoding/json"
	"net"
	"slices"
	"sync/atomic"
	"time"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
)

// Result is the outcome of a connection test.
type Result struct {
	// Reachable says a TCP connection to the server's address was established.
	Reachable bool `json:"reachable"`
	// Authenticated says the server accepted the login (the database may
	// still be missing: Error then says Connection.DatabaseNotFound).
	Authenticated bool `json:"authenticated"`
	// ServerVersion is the server's version string, e.g.
	// "10.11.19-MariaDB-0+deb12u1-log" or "15.20 (Debian 15.20-0+deb12u1)".
	ServerVersion string `json:"server_version,omitempty"`
	// RTTMillis is the median of three SELECT 1 round trips on the open connection.
	RTTMillis float64 `json:"rtt_ms,omitempty"`
	// Error is nil when everything worked; otherwise a connector code
	// (Connection.AuthFailed...) with a message and a fix.
	Error *errs.Error `json:"error,omitempty"`
}

// Test connects to e, logs in, reads the server version and measures the
// round-trip time. Connecting is bounded by the endpoint's connect timeout
// (default 5 s) and the queries after it by the same duration; ctx bounds both.
func Test(ctx context.Context, e job.Endpoint) Result {
	var (
		r   Result
		err error
	)
	var probe dialProbe
	switch {
	case e.Engine.IsMySQL():
		err = testMySQL(ctx, e, &probe, &r)
	case e.Engine == job.EnginePostgreSQL:
		err = testPostgres(ctx, e, &probe, &r)
	default:
		r.Error = errs.New(errs.NotAvailable, "test_connection does not support engine %q yet", e.Engine)
		return r
	}
	r.Reachable = probe.reached.Load()
	if err != nil {
		coded, ok := errs.As(err)
		if !ok {
			coded = connector.NewError(connector.Failed, e, err) // scrubs the text
		}
		r.Error = coded
		if coded.Code == connector.DatabaseNotFound {
			r.Authenticated = true // both engines check the database after the login
		}
	}
	return r
}

// roundTrips returns the median time of three calls of ping, in milliseconds.
func roundTrips(ping func() error) (float64, error) {
	rtts := make([]float64, 3)
	for i := range rtts {
		start := time.Now()
		if err := ping(); err != nil {
			return 0, err
		}
		rtts[i] = float64(time.Since(start).Microseconds()) / 1000
	}
	slices.Sort(rtts)
	return rtts[1], nil
}

// dialProbe records whether a dial reached the server: a TCP connection
// that then fails is reachable, a refused or unresolvable one is not.
type dialProbe struct{ reached atomic.Bool }

type dialFunc = func(ctx context.Context, network, addr string) (net.Conn, error)

func (p *dialProbe) wrap(dial dialFunc) dialFunc {
	if dial == nil {
		dial = (&net.Dialer{KeepAlive: 5 * time.Minute}).DialContext
	}
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err == nil {
			p.reached.Store(true)
		}
		return c, err
	}
}

// wireError is an error in a Result's JSON.
type wireError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
}

// plainResult has Result's fields and tags without its JSON methods.
type plainResult Result

// MarshalJSON writes the error as {code, message, fix}.
func (r Result) MarshalJSON() ([]byte, error) {
	w := struct {
		plainResult
		Error *wireError `json:"error,omitempty"`
	}{plainResult: plainResult(r)}
	if r.Error != nil {
		w.Error = &wireError{Code: r.Error.Code, Message: r.Error.Message, Fix: r.Error.Fix}
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *Result) UnmarshalJSON(data []byte) error {
	var w struct {
		plainResult
		Error *wireError `json:"error,omitempty"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*r = Result(w.plainResult)
	if w.Error != nil {
		r.Error = &errs.Error{Code: w.Error.Code, Message: w.Error.Message, Fix: w.Error.Fix}
	}
	return nil
}
