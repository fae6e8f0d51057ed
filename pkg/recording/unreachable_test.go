package recording_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/netguard"
	"github.com/mycrt/captures/pkg/syncbuf"
)

// peer listens on loopback and does what to each connection; it returns the port.
func peer(t *testing.T, what func(net.Conn)) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { c.Close() })
			go what(c)
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

// TestUnreachableReasonsAlike: a closed port, a port that says nothing, one that hangs up and
// ones that speak another protocol give one reason, "no MySQL server answered", so that
// capture reasons cannot map which ports of a network are open; the log keeps each cause.
// A MySQL server that refuses the login still says why.
func TestUnreachableReasonsAlike(t *testing.T) {
	f := newFixture(t)
	var logs syncbuf.Buffer
	f.rec.Log = slog.New(slog.NewJSONHandler(&logs, nil))
	f.rec.Timeout = 500 * time.Millisecond

	closed := func() int {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().(*net.TCPAddr).Port
	}()
	ports := []struct {
		name, cause string // cause: what the log says
		port        int
	}{
		{"closed", "connection refused", closed},
		{"silent", "", peer(t, func(net.Conn) {})},
		{"hangs up", "", peer(t, func(c net.Conn) { c.Close() })},
		{"ssh", "", peer(t, func(c net.Conn) { c.Write([]byte("SSH-2.0-OpenSSH_9.6\r\n")) })},
		{"http", "", peer(t, func(c net.Conn) {
			c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"))
			c.Close()
		})},
	}
	reasons := map[string]string{}
	for i, p := range ports {
		env := f.env
		env.Port = p.port
		err := f.rec.Begin(context.Background(), env, f.newCapture(t, "unreachable "+strconv.Itoa(i)))
		if !errors.Is(err, netguard.ErrNoServer) {
			t.Fatalf("%s port: %v, want no MySQL server", p.name, err)
		}
		addr := net.JoinHostPort(env.Host, strconv.Itoa(p.port))
		reasons[p.name] = strings.ReplaceAll(err.Error(), addr, "HOST:PORT")
		if !strings.Contains(err.Error(), addr) {
			t.Errorf("%s port: %q does not name %s", p.name, err, addr)
		}
		if !strings.Contains(logs.String(), addr) || p.cause != "" && !strings.Contains(logs.String(), p.cause) {
			t.Errorf("%s port: the log lacks the address or %q:\n%s", p.name, p.cause, logs.String())
		}
	}
	want := "cannot connect to HOST:PORT as capturer (tls PREFERRED): no MySQL server answered"
	for name, r := range reasons {
		if r != want {
			t.Errorf("%s port: %q, want %q", name, r, want)
		}
	}

	// A MySQL server that is there but refuses says so.
	env := f.env
	env.SealedPassword = "wrong"
	err := f.rec.Begin(context.Background(), env, f.newCapture(t, "wrong password"))
	if err == nil || errors.Is(err, netguard.ErrNoServer) || !strings.Contains(err.Error(), "Access denied") {
		t.Errorf("wrong password: %v, want the server's refusal", err)
	}
}
