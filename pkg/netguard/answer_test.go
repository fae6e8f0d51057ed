package netguard_test

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/netguard"
)

// serve accepts connections on loopback and writes first to each, then holds it open until
// the test ends. It returns the address.
func serve(t *testing.T, first []byte) string {
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
			c.Write(first)
		}
	}()
	return l.Addr().String()
}

// TestAnswersTellAMySQLServer: a connection whose peer opens with a MySQL greeting (a
// handshake or an error packet, even split across reads) is noted as answered; one that
// opens with anything else, or says nothing, is not, and its failure is concealed.
func TestAnswersTellAMySQLServer(t *testing.T) {
	handshake := append([]byte{0x0e, 0, 0, 0, 10}, "10.11.6\x00"+"\x01\x00\x00\x00"...)
	tooMany := append([]byte{0x17, 0, 0, 0, 0xff, 0x10, 0x04}, "Too many connections"...)
	for _, tt := range []struct {
		name  string
		first []byte
		want  bool
	}{
		{"handshake", handshake, true},
		{"error packet", tooMany, true},
		{"ssh", []byte("SSH-2.0-OpenSSH_9.6\r\n"), false},
		{"http", []byte("HTTP/1.1 400 Bad Request\r\n\r\n"), false},
		{"wrong protocol", []byte{0x0e, 0, 0, 0, 9, 'x', 'y'}, false},
		{"later packet", []byte{0x0e, 0, 0, 1, 10, 'x', 'y'}, false},
		{"silent", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr := serve(t, tt.first)
			var answers netguard.Answers
			c, err := netguard.Policy{AllowLoopback: true}.WatchedDialer(time.Second, &answers)(context.Background(), "tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			// Read as a driver does: a few bytes at a time.
			c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			buf := make([]byte, 2)
			for range 4 {
				if _, err := io.ReadFull(c, buf); err != nil {
					break
				}
			}
			if got := answers.Greeted(); got != tt.want {
				t.Errorf("Greeted() = %v, want %v", got, tt.want)
			}
			cause := errors.New("read: connection reset by peer")
			hidden := answers.Conceal(cause)
			if tt.want && hidden != cause {
				t.Errorf("a MySQL server's failure concealed: %v", hidden)
			}
			if !tt.want && (!errors.Is(hidden, netguard.ErrNoServer) || hidden.Error() != "no MySQL server answered" || !errors.Is(hidden, cause)) {
				t.Errorf("Conceal = %v, want %q holding the cause", hidden, "no MySQL server answered")
			}
		})
	}
}

// TestConcealKeepsPolicyRefusals: a refusal by the network policy depends on the address
// alone, is decided before anything is dialled, and says why.
func TestConcealKeepsPolicyRefusals(t *testing.T) {
	var answers netguard.Answers
	_, err := netguard.Policy{}.WatchedDialer(time.Second, &answers)(context.Background(), "tcp", "169.254.169.254:3306")
	if hidden := answers.Conceal(err); !errors.Is(hidden, netguard.ErrRefused) || hidden != err {
		t.Errorf("Conceal(%v) = %v, want the refusal as it is", err, hidden)
	}
	if answers.Conceal(nil) != nil {
		t.Error("Conceal(nil) is not nil")
	}
}
