package mysqltest

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	bin "encoding/binary"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Ask is what a Fake asks of a client that logs in.
type Ask int

// What a Fake may ask. Each makes a client send its password (caching_sha2_password's full
// authentication, a switch to sha256_password or to mysql_clear_password): in clear inside
// TLS, or encrypted with the server's RSA key without.
const (
	AskFullAuth Ask = iota
	AskSHA256
	AskCleartext
)

// Fake is a loopback server that speaks only the login of MySQL's protocol, to see what a
// client sends there, as a man in the middle would: it greets as MySQL 8 does, offering TLS
// when it has a certificate, asks what its Ask says of every login, hands out its own RSA key
// to a client that asks for the server's, and then refuses the login (error 1045). It keeps
// every packet clients send, TLS taken off, and a password encrypted with its key decrypted,
// for tests to look for the password in.
type Fake struct {
	Host string
	Port int
	ask  Ask
	key  *rsa.PrivateKey
	pub  []byte // key's public half, PEM

	mu       sync.Mutex
	cert     *Cert
	conns    int
	logins   int
	received bytes.Buffer
}

// StartFake starts a Fake presenting cert (nil: offering no TLS), stopped when t ends.
func StartFake(t testing.TB, cert *Cert, ask Ask) *Fake {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	f := &Fake{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, ask: ask, cert: cert, key: key,
		pub: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); f.serve(c) }()
		}
	}()
	return f
}

// Addr is host:port.
func (f *Fake) Addr() string { return net.JoinHostPort(f.Host, strconv.Itoa(f.Port)) }

// SetCert changes the certificate the Fake presents from its next connection on.
func (f *Fake) SetCert(c *Cert) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cert = c
}

// Received is every packet payload clients sent, in order, decrypted.
func (f *Fake) Received() []byte {
	f.mu.Lock()
	defer f.mu.Unlock()
	return bytes.Clone(f.received.Bytes())
}

// Conns is how many connections the Fake accepted.
func (f *Fake) Conns() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conns
}

// Logins is how many logins (handshake responses, which carry the user name) clients sent.
func (f *Fake) Logins() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.logins
}

// Capability flags of the protocol.
const (
	capLongPassword    = 1 << 0
	capFoundRows       = 1 << 1
	capLongFlag        = 1 << 2
	capConnectWithDB   = 1 << 3
	capProtocol41      = 1 << 9
	capSSL             = 1 << 11
	capTransactions    = 1 << 13
	capSecureConn      = 1 << 15
	capMultiStatements = 1 << 16
	capMultiResults    = 1 << 17
	capPluginAuth      = 1 << 19
	capConnectAttrs    = 1 << 20
	capLenEncAuthData  = 1 << 21
	capDeprecateEOF    = 1 << 24
)

type fakeConn struct {
	f   *Fake
	c   net.Conn
	seq byte
}

func (f *Fake) serve(nc net.Conn) {
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	f.mu.Lock()
	f.conns++
	cert := f.cert
	f.mu.Unlock()
	c := &fakeConn{f: f, c: nc}

	caps := uint32(capLongPassword | capFoundRows | capLongFlag | capConnectWithDB | capProtocol41 | capTransactions |
		capSecureConn | capMultiStatements | capMultiResults | capPluginAuth | capConnectAttrs | capLenEncAuthData | capDeprecateEOF)
	if cert != nil {
		caps |= capSSL
	}
	scramble := printable(20)
	g := []byte{10}
	g = append(g, "8.0.36-mycrt-fake"...)
	g = append(g, 0, 1, 0, 0, 0) // connection id 1
	g = append(g, scramble[:8]...)
	g = append(g, 0)
	g = bin.LittleEndian.AppendUint16(g, uint16(caps))
	g = append(g, 255)  // utf8mb4_0900_ai_ci
	g = append(g, 2, 0) // autocommit
	g = bin.LittleEndian.AppendUint16(g, uint16(caps>>16))
	g = append(g, 21)
	g = append(g, make([]byte, 10)...)
	g = append(g, scramble[8:]...)
	g = append(g, 0)
	g = append(g, "caching_sha2_password"...)
	g = append(g, 0)
	if c.write(g) != nil {
		return
	}
	p, err := c.read()
	if err != nil {
		return
	}
	if len(p) == 32 && cert != nil && bin.LittleEndian.Uint32(p)&capSSL != 0 {
		tc := tls.Server(nc, &tls.Config{Certificates: []tls.Certificate{cert.TLS}})
		if tc.Handshake() != nil {
			return // the client did not like the certificate
		}
		c.c = tc
		if _, err := c.read(); err != nil {
			return
		}
	}
	// p, or the packet read inside TLS, was the login (the handshake response).
	f.mu.Lock()
	f.logins++
	f.mu.Unlock()
	switch f.ask {
	case AskFullAuth:
		err = c.write([]byte{0x01, 0x04})
	case AskSHA256:
		err = c.write(authSwitch("sha256_password", scramble))
	case AskCleartext:
		err = c.write(authSwitch("mysql_clear_password", nil))
	}
	if err != nil {
		return
	}
	if !c.takePassword(scramble) {
		return
	}
	e := []byte{0xff}
	e = bin.LittleEndian.AppendUint16(e, 1045)
	e = append(e, "#28000Access denied (mycrt fake server)"...)
	c.write(e)
}

// takePassword reads what a client sends for its password: a request for the server's RSA
// key is answered with the Fake's, and a password encrypted with that key is decrypted and
// kept. It reports whether the client sent something for its password.
func (c *fakeConn) takePassword(scramble []byte) bool {
	p, err := c.read()
	if err != nil {
		return false
	}
	// caching_sha2_password asks for the key with 2, sha256_password with 1.
	if len(p) == 1 && (p[0] == 1 || p[0] == 2) {
		if c.write(append([]byte{0x01}, c.f.pub...)) != nil {
			return false
		}
		if p, err = c.read(); err != nil {
			return false
		}
	}
	if plain, err := rsa.DecryptOAEP(sha1.New(), nil, c.f.key, p, nil); err == nil {
		for i := range plain {
			plain[i] ^= scramble[i%len(scramble)]
		}
		c.f.mu.Lock()
		c.f.received.Write(plain)
		c.f.mu.Unlock()
	}
	return true
}

func authSwitch(plugin string, data []byte) []byte {
	p := append([]byte{0xfe}, plugin...)
	p = append(p, 0)
	p = append(p, data...)
	return append(p, 0)
}

// printable is n random bytes that are not NUL, as MySQL's scrambles are.
func printable(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	for i := range b {
		b[i] = 0x21 + b[i]%0x5e
	}
	return b
}

func (c *fakeConn) write(payload []byte) error {
	h := []byte{byte(len(payload)), byte(len(payload) >> 8), byte(len(payload) >> 16), c.seq}
	c.seq++
	_, err := c.c.Write(append(h, payload...))
	return err
}

func (c *fakeConn) read() ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(c.c, h[:]); err != nil {
		return nil, err
	}
	n := int(h[0]) | int(h[1])<<8 | int(h[2])<<16
	if n > 1<<20 {
		return nil, errors.New("packet too large")
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(c.c, p); err != nil {
		return nil, err
	}
	c.seq = h[3] + 1
	c.f.mu.Lock()
	c.f.received.Write(p)
	c.f.mu.Unlock()
	return p, nil
}

// Relay forwards connections on a loopback port to a target address that can be changed, so
// that one address reaches one server and then another: as when a server is replaced, or a
// man in the middle steps in.
type Relay struct {
	Host string
	Port int

	mu     sync.Mutex
	target string
}

// StartRelay starts a Relay to target, stopped when t ends.
func StartRelay(t testing.TB, target string) *Relay {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &Relay{Host: "127.0.0.1", Port: l.Addr().(*net.TCPAddr).Port, target: target}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		conns []net.Conn
	)
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			r.mu.Lock()
			target := r.target
			r.mu.Unlock()
			out, err := net.DialTimeout("tcp", target, 5*time.Second)
			if err != nil {
				in.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, in, out)
			mu.Unlock()
			wg.Add(2)
			go func() { defer wg.Done(); io.Copy(out, in); out.Close() }()
			go func() { defer wg.Done(); io.Copy(in, out); in.Close() }()
		}
	}()
	return r
}

// SetTarget sends the Relay's next connections to addr.
func (r *Relay) SetTarget(addr string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.target = addr
}
