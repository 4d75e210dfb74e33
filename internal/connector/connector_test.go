package connector_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dtsorg/dts/internal/connector"
	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
	"github.com/dtsorg/dts/internal/testenv"
)

const password = `p@ss:w/rd?&;='"\ x`

func endpoint() job.Endpoint {
	return job.Endpoint{Engine: job.EngineMariaDB, Host: "db.example", Port: 3307, User: "app", Password: password, Database: "shop"}
}

func TestScrub(t *testing.T) {
	t.Parallel()
	for _, msg := range []string{
		"auth failed for " + password,
		"dsn app:" + url.QueryEscape(password) + "@tcp(db)/x",
		"url postgres://app:" + url.UserPassword("app", password).String()[4:] + "@db/x",
		fmt.Sprintf("quoted %q", password),
		`sql '` + "p@ss:w/rd?&;=''\"\\ x" + `'`,
	} {
		got := connector.Scrub(msg, password, "")
		assert.NotContains(t, got, password)
		assert.NotContains(t, got, "w/rd", "a part of the password survived in %q", got)
		assert.Contains(t, got, connector.Redacted)
	}
	assert.Equal(t, "nothing to hide", connector.Scrub("nothing to hide", ""))
}

func TestNetCode(t *testing.T) {
	t.Parallel()
	dial := func(err error) error { return &net.OpError{Op: "dial", Net: "tcp", Err: err} }
	for want, err := range map[string]error{
		connector.DNS:     dial(&net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}),
		connector.Refused: dial(os.NewSyscallError("connect", syscall.ECONNREFUSED)),
		connector.Timeout: fmt.Errorf("ping: %w", context.DeadlineExceeded),
		connector.TLS:     &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}},
		"":                errors.New("something else"),
	} {
		assert.Equal(t, want, connector.NetCode(err), "%v", err)
	}
	assert.Equal(t, connector.Timeout, connector.NetCode(dial(timeoutErr{})))
	assert.Equal(t, connector.TLS, connector.NetCode(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}))
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	t.Parallel()
	e := endpoint()
	none := func(error) string { return "" }

	err := connector.Classify(fmt.Errorf("driver: bad password %s", password), e, func(error) string { return connector.AuthFailed })
	require.True(t, errs.Is(err, connector.AuthFailed))
	require.True(t, errs.Is(err, connector.Connection), "the family matches")
	coded, _ := errs.As(err)
	assert.NotContains(t, err.Error(), password)
	assert.Contains(t, coded.Message, `db.example:3307 rejected user "app"`)
	assert.NotEmpty(t, coded.Fix)

	assert.Equal(t, connector.Failed, errs.CodeOf(connector.Classify(errors.New("odd"), e, none)))
	assert.NoError(t, connector.Classify(nil, e, none))

	// A caller's cancellation is not a connection problem.
	err = connector.Classify(fmt.Errorf("dial: %w", context.Canceled), e, none)
	assert.ErrorIs(t, err, context.Canceled)
	_, isCoded := errs.As(err)
	assert.False(t, isCoded)
}

func TestEndpointDefaults(t *testing.T) {
	t.Parallel()
	e := job.Endpoint{Engine: job.EnginePostgreSQL, Host: "[::1]"}
	assert.Equal(t, "[::1]:5432", connector.Addr(e))
	assert.Equal(t, 5*time.Second, connector.ConnectTimeout(e))
	assert.Equal(t, job.TLSPrefer, connector.TLSMode(e))
	e.Options.ConnectTimeoutSeconds = 2
	assert.Equal(t, 2*time.Second, connector.ConnectTimeout(e))
	assert.Equal(t, "h:3306", connector.Addr(job.Endpoint{Engine: job.EngineMySQL, Host: "h"}))
}

func TestSessionZone(t *testing.T) {
	t.Parallel()
	zone := func(tz string) (connector.Zone, error) {
		e := endpoint()
		e.Options.TimeZone = tz
		return connector.SessionZone(e)
	}
	z, err := zone("")
	require.NoError(t, err)
	assert.Equal(t, connector.ZoneUTC, z.Kind)
	z, err = zone("-03:30")
	require.NoError(t, err)
	assert.Equal(t, connector.ZoneOffset, z.Kind)
	_, off := time.Date(2024, 1, 1, 0, 0, 0, 0, z.Loc).Zone()
	assert.Equal(t, -(3*3600 + 30*60), off)
	z, err = zone("Europe/Berlin")
	require.NoError(t, err)
	assert.Equal(t, connector.ZoneName, z.Kind)
	for _, bad := range []string{"Local", "+5:30", "+25:00", "Mars/Olympus", "UTC'; DROP TABLE x; --"} {
		_, err := zone(bad)
		assert.True(t, errs.Is(err, errs.InvalidParameter), bad)
	}
}

// TestTLSModes runs real handshakes against an in-process TLS server whose
// certificate names db.example only.
func TestTLSModes(t *testing.T) {
	t.Parallel()
	certs := testenv.NewCerts(t, "db.example")
	other := testenv.NewCerts(t, "db.example")
	serverCert, err := tls.X509KeyPair(certs.CertPEM, certs.KeyPEM)
	require.NoError(t, err)

	// TCP, not net.Pipe: a failed handshake leaves unread alerts that would block a pipe.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				tls.Server(c, &tls.Config{Certificates: []tls.Certificate{serverCert}}).Handshake()
			}()
		}
	}()
	handshake := func(e job.Endpoint) error {
		cfg, err := connector.TLSConfig(e)
		require.NoError(t, err)
		c, err := net.DialTimeout("tcp", l.Addr().String(), 5*time.Second)
		require.NoError(t, err)
		defer c.Close()
		c.SetDeadline(time.Now().Add(5 * time.Second))
		return tls.Client(c, cfg).Handshake()
	}
	at := func(host, mode, ca string) job.Endpoint {
		e := endpoint()
		e.Host, e.TLS = host, job.TLS{Mode: mode, CA: ca}
		return e
	}

	cfg, err := connector.TLSConfig(at("db.example", job.TLSDisable, ""))
	require.NoError(t, err)
	assert.Nil(t, cfg)

	for _, c := range []struct {
		host, mode, ca string
		ok             bool
	}{
		{"db.example", job.TLSPrefer, other.CAFile, true}, // prefer never verifies (libpq semantics)
		{"db.example", job.TLSRequire, "", true},
		{"db.example", job.TLSRequire, other.CAFile, false}, // require with a CA verifies the chain
		{"10.0.0.1", job.TLSVerifyCA, certs.CAFile, true},   // the host name does not matter
		{"10.0.0.1", job.TLSVerifyCA, other.CAFile, false},
		{"db.example", job.TLSVerifyFull, certs.CAFile, true},
		{"10.0.0.1", job.TLSVerifyFull, certs.CAFile, false}, // the certificate does not name the host
		{"db.example", job.TLSVerifyFull, other.CAFile, false},
	} {
		err := handshake(at(c.host, c.mode, c.ca))
		if c.ok {
			assert.NoError(t, err, "%+v", c)
		} else {
			assert.Error(t, err, "%+v", c)
			assert.Equal(t, connector.TLS, connector.NetCode(err), "%+v: %v", c, err)
		}
	}

	_, err = connector.TLSConfig(at("db.example", job.TLSVerifyCA, "/nonexistent/ca.pem"))
	assert.True(t, errs.Is(err, connector.TLS), "%v", err)
}
