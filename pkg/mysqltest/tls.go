package mysqltest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CA is a certificate authority made for one test.
type CA struct {
	PEM  string // its certificate
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// NewCA makes a certificate authority.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return &CA{PEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), cert: cert, key: key}
}

// Cert is a server certificate for 127.0.0.1 and localhost, issued for one test.
type Cert struct {
	DER      []byte          // the certificate, as a server presents it
	TLS      tls.Certificate // the certificate with its key, for a server in Go
	certFile string          // PEM files, for mariadbd
	keyFile  string
}

// Issue makes a server certificate signed by ca.
func (ca *CA) Issue(t testing.TB) *Cert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "mariadb test server"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name, typ string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	return &Cert{
		DER: der, TLS: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key},
		certFile: write("server.pem", "CERTIFICATE", der), keyFile: write("server-key.pem", "PRIVATE KEY", keyDER),
	}
}

// StartTLS starts a server that offers TLS with a certificate from ca, for 127.0.0.1 and
// localhost, and with require_secure_transport on refuses connections without it.
func StartTLS(t testing.TB, ca *CA) *Server {
	t.Helper()
	return StartTLSCert(t, ca, ca.Issue(t))
}

// StartTLSCert is StartTLS with a certificate of ca's that the caller keeps.
func StartTLSCert(t testing.TB, ca *CA, cert *Cert) *Server {
	t.Helper()
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, []byte(ca.PEM), 0o600); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM([]byte(ca.PEM))
	return StartWith(t, Options{
		Args:      []string{"--ssl-ca=" + caFile, "--ssl-cert=" + cert.certFile, "--ssl-key=" + cert.keyFile, "--require-secure-transport=ON"},
		ClientTLS: &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"},
	})
}
