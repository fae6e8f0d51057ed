package dbtls

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// ErrNoTLS is the error of a server whose greeting offers no TLS.
var ErrNoTLS = errors.New("the server offers no TLS")

// PinError is the error of a server that presents a certificate other than the one pinned.
type PinError struct {
	Pinned    string // the fingerprint pinned on the environment
	Presented string // the fingerprint of the certificate the server presented
}

func (e *PinError) Error() string {
	return fmt.Sprintf("the server's certificate is not the one pinned when the environment first connected: "+
		"SHA-256 %s was pinned, the server presented %s, and was sent no login. If the certificate was replaced on purpose, "+
		"create the environment again (or give it caCert); otherwise someone may be intercepting the connection",
		e.Pinned, e.Presented)
}

// Fingerprint is the SHA-256 of a DER certificate as `openssl x509 -noout -fingerprint
// -sha256` prints it: 32 upper-case hex bytes joined by colons.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// Dial connects to an address, as netguard.Policy.Dialer's functions do.
type Dial func(ctx context.Context, network, addr string) (net.Conn, error)

// Prober reads the certificates of servers through Dial (see Probe).
type Prober struct{ Dial Dial }

// Fingerprint is Probe through p.Dial.
func (p Prober) Fingerprint(ctx context.Context, addr string) (string, error) {
	return Probe(ctx, p.Dial, addr)
}

// MySQL protocol constants the probe needs.
const (
	clientProtocol41 = 0x0200
	clientSSL        = 0x0800
	clientSecureConn = 0x8000
	maxGreeting      = 4 << 10 // a greeting is about a hundred bytes
)

// Probe connects to the MySQL server at addr, reads its greeting, asks for TLS as a client
// would and returns the fingerprint of the certificate the server presents, then hangs up
// before logging in: it sends no user name and no password. ErrNoTLS if the server offers no
// TLS. It gives up when ctx ends. A nil dial is net.Dialer's.
func Probe(ctx context.Context, dial Dial, addr string) (string, error) {
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	c, err := dial(ctx, "tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	if deadline, ok := ctx.Deadline(); ok {
		c.SetDeadline(deadline)
	} else {
		c.SetDeadline(time.Now().Add(10 * time.Second))
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()

	r := bufio.NewReader(c)
	seq, greeting, err := readPacket(r)
	if err != nil {
		return "", fmt.Errorf("read the server's greeting: %w", err)
	}
	caps, err := capabilities(greeting)
	if err != nil {
		return "", err
	}
	if caps&clientSSL == 0 {
		return "", ErrNoTLS
	}
	// SSLRequest: capabilities (4), max packet size (4), character set (1), 23 zero bytes.
	req := make([]byte, 4+32)
	req[0], req[3] = 32, seq+1
	binary.LittleEndian.PutUint32(req[4:], clientProtocol41|clientSSL|clientSecureConn)
	req[12] = 45 // utf8mb4_general_ci
	if _, err := c.Write(req); err != nil {
		return "", fmt.Errorf("ask for TLS: %w", err)
	}
	var leaf []byte
	tc := tls.Client(c, &tls.Config{
		// Nothing is sent in this connection, so nothing needs verifying: the certificate is
		// only read, for the caller to pin or check.
		InsecureSkipVerify: true,
		MinVersion:         tls.VersionTLS12,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("the server sent no certificate")
			}
			leaf = raw[0]
			return nil
		},
	})
	if err := tc.HandshakeContext(ctx); err != nil {
		return "", fmt.Errorf("TLS handshake: %w", err)
	}
	tc.Close()
	return Fingerprint(leaf), nil
}

// readPacket reads one MySQL packet of at most maxGreeting bytes.
func readPacket(r io.Reader) (seq byte, payload []byte, err error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return 0, nil, err
	}
	n := int(h[0]) | int(h[1])<<8 | int(h[2])<<16
	if n == 0 || n > maxGreeting {
		return 0, nil, errors.New("not a MySQL server")
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	return h[3], payload, nil
}

// capabilities reads the low capability flags of a greeting (HandshakeV10: protocol 10,
// server version NUL-terminated, connection id (4), scramble (8), filler (1), flags (2)).
func capabilities(greeting []byte) (uint16, error) {
	switch greeting[0] {
	case 0xff:
		code := uint16(0)
		if len(greeting) >= 3 {
			code = binary.LittleEndian.Uint16(greeting[1:])
		}
		return 0, fmt.Errorf("the server refused the connection (error %d)", code)
	case 10:
	default:
		return 0, errors.New("not a MySQL server")
	}
	end := strings.IndexByte(string(greeting[1:]), 0)
	at := 1 + end + 1 + 4 + 8 + 1
	if end < 0 || len(greeting) < at+2 {
		return 0, errors.New("not a MySQL server")
	}
	caps := binary.LittleEndian.Uint16(greeting[at:])
	if caps&clientProtocol41 == 0 {
		return 0, errors.New("the server speaks too old a protocol")
	}
	return caps, nil
}

// Target is where a connection goes and what it trusts.
type Target struct {
	Mode   Mode   // as Effective gives it
	Host   string // as the environment names it
	Addr   string // host:port
	CACert string // the environment's CAs; "" for the default (see Roots)
	Pinned string // the fingerprint pinned on the environment; "" before the first pin
	Dial   Dial
	// Pin stores fingerprint as the environment's pin unless one is stored already, and
	// returns the pin in force: the first to pin wins.
	Pin func(ctx context.Context, fingerprint string) (string, error)
}

// Config is the TLS configuration of a connection to t, for the MySQL driver: nil for none.
// With DISABLED there is none. VERIFY_CA and VERIFY_IDENTITY verify the server's certificate
// against CAs. PREFERRED and REQUIRED accept only the pinned certificate; before the first pin
// Config probes the server (Probe), pins what it presents and accepts that. A PREFERRED
// environment whose server offers no TLS is connected without (nil) until the server first
// offers TLS, and from then on never again without it; REQUIRED fails with ErrNoTLS.
//
// Without TLS the driver never sends the password itself: mysql_native_password and
// client_ed25519 answer a challenge, and caching_sha2_password and sha256_password encrypt it
// with the RSA key the caller names (see recording's noKeyRetrieval).
func (t Target) Config(ctx context.Context) (*tls.Config, error) {
	if TrustsOnFirstUse(t.Mode) && t.Pinned == "" {
		fp, err := Probe(ctx, t.Dial, t.Addr)
		switch {
		case errors.Is(err, ErrNoTLS) && t.Mode == Preferred:
			return nil, nil
		case err != nil:
			return nil, fmt.Errorf("read the server's certificate to pin it: %w", err)
		}
		if t.Pinned, err = t.Pin(ctx, fp); err != nil {
			return nil, fmt.Errorf("pin the server's certificate: %w", err)
		}
	}
	return config(t.Mode, t.Host, t.CACert, t.Pinned)
}
