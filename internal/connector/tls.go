package connector

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"os"

	"github.com/dtsorg/dts/internal/errs"
	"github.com/dtsorg/dts/internal/job"
)

// TLSConfig returns the client TLS settings for e's tls.mode:
//
//	disable      nil: plaintext
//	prefer       TLS without verification; the engine falls back to plaintext
//	             only when the server has no TLS at all
//	require      TLS without verification, or as verify-ca when tls.ca is set (as libpq does)
//	verify-ca    the server's chain must lead to tls.ca; the host name is not checked
//	verify-full  the chain must lead to tls.ca (the system roots when unset) and
//	             the certificate must name the endpoint's host
//
// tls.cert and tls.key are sent as the client certificate when set. A file
// that cannot be read or parsed is a Connection.TLS error.
func TLSConfig(e job.Endpoint) (*tls.Config, error) {
	mode := TLSMode(e)
	if mode == job.TLSDisable {
		return nil, nil
	}
	host := Host(e)
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if net.ParseIP(host) == nil {
		cfg.ServerName = host // SNI; verify-full also checks it
	}
	if e.TLS.Cert != "" || e.TLS.Key != "" {
		cert, err := tls.LoadX509KeyPair(e.TLS.Cert, e.TLS.Key)
		if err != nil {
			return nil, tlsFileError(e, "load tls.cert and tls.key", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	var roots *x509.CertPool
	if e.TLS.CA != "" {
		pem, err := os.ReadFile(e.TLS.CA)
		if err != nil {
			return nil, tlsFileError(e, "read tls.ca", err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(pem) {
			return nil, tlsFileError(e, "read tls.ca", errors.New("no PEM certificate in "+e.TLS.CA))
		}
	}
	switch {
	case mode == job.TLSVerifyFull:
		cfg.RootCAs = roots
		cfg.ServerName = host // IP addresses are checked against the certificate's IP SANs
	case mode == job.TLSVerifyCA, mode == job.TLSRequire && roots != nil:
		cfg.InsecureSkipVerify = true // the chain is verified below, without the host name
		cfg.VerifyPeerCertificate = verifyChain(roots)
	default: // prefer, require without a CA
		cfg.InsecureSkipVerify = true
	}
	return cfg, nil
}

// verifyChain checks that the server's chain leads to roots, ignoring the
// host name (verify-ca).
func verifyChain(roots *x509.CertPool) func([][]byte, [][]*x509.Certificate) error {
	return func(raw [][]byte, _ [][]*x509.Certificate) error {
		if len(raw) == 0 {
			return errors.New("tls: server sent no certificate")
		}
		certs := make([]*x509.Certificate, len(raw))
		for i, der := range raw {
			c, err := x509.ParseCertificate(der)
			if err != nil {
				return err
			}
			certs[i] = c
		}
		opts := x509.VerifyOptions{Roots: roots, Intermediates: x509.NewCertPool()}
		for _, c := range certs[1:] {
			opts.Intermediates.AddCert(c)
		}
		_, err := certs[0].Verify(opts)
		return err
	}
}

func tlsFileError(e job.Endpoint, what string, err error) *errs.Error {
	return &errs.Error{
		Code:    TLS,
		Message: what + ": " + Scrub(err.Error(), e.Password.Reveal()),
		Fix:     "check that the files exist, are readable by dts and hold PEM data",
	}
}
