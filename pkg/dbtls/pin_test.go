package dbtls

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/mysqltest"
)

// opensslStyle is the fingerprint as `openssl x509 -fingerprint -sha256` prints it, written
// apart from Fingerprint.
func opensslStyle(der []byte) string {
	return strings.ReplaceAll(fmt.Sprintf("% X", sha256.Sum256(der)), " ", ":")
}

func TestTLSFingerprint(t *testing.T) {
	cert := mysqltest.NewCA(t, "test CA").Issue(t)
	got := Fingerprint(cert.DER)
	if got != opensslStyle(cert.DER) || len(got) != 32*3-1 {
		t.Errorf("Fingerprint = %s, want %s", got, opensslStyle(cert.DER))
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestProbe reads a server's certificate without logging in: the server sees the TLS request
// and nothing after it.
func TestTLSProbe(t *testing.T) {
	cert := mysqltest.NewCA(t, "test CA").Issue(t)
	tlsFake := mysqltest.StartFake(t, cert, mysqltest.AskFullAuth)
	fp, err := Probe(ctxFor(t), nil, tlsFake.Addr())
	if err != nil || fp != opensslStyle(cert.DER) {
		t.Fatalf("Probe = %s, %v; want %s", fp, err, opensslStyle(cert.DER))
	}
	if tlsFake.Logins() != 0 || len(tlsFake.Received()) != 32 {
		t.Errorf("the server saw %d logins and %d bytes, want only the 32 of the TLS request", tlsFake.Logins(), len(tlsFake.Received()))
	}

	plain := mysqltest.StartFake(t, nil, mysqltest.AskFullAuth)
	if _, err := Probe(ctxFor(t), nil, plain.Addr()); !errors.Is(err, ErrNoTLS) {
		t.Errorf("a server without TLS: %v, want ErrNoTLS", err)
	}
	if plain.Logins() != 0 || len(plain.Received()) != 0 {
		t.Errorf("a server without TLS was sent %d bytes", len(plain.Received()))
	}

	// Not a MySQL server: something that speaks first with other bytes.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n"))
			c.Close()
		}
	}()
	if _, err := Probe(ctxFor(t), nil, l.Addr().String()); err == nil || errors.Is(err, ErrNoTLS) {
		t.Errorf("an SSH server: %v, want a failure other than no TLS", err)
	}
}

// TestTargetConfig: PREFERRED and REQUIRED pin the certificate the server first presents and
// from then on accept only it; PREFERRED goes without TLS to a server that offers none until
// it is pinned; a pin another connection stored first wins.
func TestTLSTargetConfig(t *testing.T) {
	ca := mysqltest.NewCA(t, "test CA")
	cert, other := ca.Issue(t), ca.Issue(t)
	tlsFake := mysqltest.StartFake(t, cert, mysqltest.AskFullAuth)
	plain := mysqltest.StartFake(t, nil, mysqltest.AskFullAuth)
	fp, otherFP := opensslStyle(cert.DER), opensslStyle(other.DER)
	tests := []struct {
		name    string
		mode    Mode
		fake    *mysqltest.Fake
		pinned  string
		stored  string // what the store answers a pin with; "" for the pin offered
		want    string // the pin the configuration checks; "" for no TLS
		fails   error
		probing bool // whether the server is connected to
	}{
		{"PREFERRED pins", Preferred, tlsFake, "", "", fp, nil, true},
		{"REQUIRED pins", Required, tlsFake, "", "", fp, nil, true},
		{"the first pin wins", Preferred, tlsFake, "", otherFP, otherFP, nil, true},
		{"pinned already", Required, tlsFake, otherFP, "", otherFP, nil, false},
		{"PREFERRED without TLS", Preferred, plain, "", "", "", nil, true},
		{"REQUIRED without TLS", Required, plain, "", "", "", ErrNoTLS, true},
		{"DISABLED", Disabled, tlsFake, "", "", "", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conns := tt.fake.Conns()
			var offered []string
			target := Target{Mode: tt.mode, Host: "127.0.0.1", Addr: tt.fake.Addr(), Pinned: tt.pinned,
				Pin: func(_ context.Context, fingerprint string) (string, error) {
					offered = append(offered, fingerprint)
					if tt.stored != "" {
						return tt.stored, nil
					}
					return fingerprint, nil
				}}
			cfg, err := target.Config(ctxFor(t))
			if tt.fails != nil {
				if !errors.Is(err, tt.fails) {
					t.Fatalf("Config: %v, want %v", err, tt.fails)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if probed := tt.fake.Conns() > conns; probed != tt.probing {
				t.Errorf("connected to the server: %v, want %v", probed, tt.probing)
			}
			if tt.want == "" {
				if cfg != nil {
					t.Fatalf("a TLS configuration, want none")
				}
				return
			}
			if tt.pinned == "" && (len(offered) != 1 || offered[0] != fp) {
				t.Errorf("pins offered %v, want [%s]", offered, fp)
			}
			if cfg == nil || cfg.VerifyPeerCertificate == nil {
				t.Fatalf("configuration %+v checks no pin", cfg)
			}
			for _, der := range [][]byte{cert.DER, other.DER} {
				err := cfg.VerifyPeerCertificate([][]byte{der}, nil)
				presented := opensslStyle(der)
				var pe *PinError
				switch {
				case presented == tt.want && err != nil:
					t.Errorf("the pinned certificate refused: %v", err)
				case presented != tt.want && (!errors.As(err, &pe) || pe.Pinned != tt.want || pe.Presented != presented ||
					!strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), presented)):
					t.Errorf("another certificate: %v, want a PinError naming %s and %s", err, tt.want, presented)
				}
			}
		})
	}
}

// TestTLSProbeLeavesNoLogRow: probing MariaDB, with TLS and without, writes nothing to its
// general log, which the recorder reads as the workload: the probe never logs in.
func TestTLSProbeLeavesNoLogRow(t *testing.T) {
	ca := mysqltest.NewCA(t, "test CA")
	for name, db := range map[string]*mysqltest.Server{"TLS": mysqltest.StartTLS(t, ca), "plain": mysqltest.Start(t)} {
		t.Run(name, func(t *testing.T) {
			ctx := ctxFor(t)
			root, err := db.Root(t).Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer root.Close()
			var self int64
			if err := root.QueryRowContext(ctx, "SELECT CONNECTION_ID()").Scan(&self); err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{"SET GLOBAL log_output = 'TABLE'", "TRUNCATE mysql.general_log", "SET GLOBAL general_log = 1"} {
				if _, err := root.ExecContext(ctx, q); err != nil {
					t.Fatal(err)
				}
			}
			aborted := func() (n int) {
				var name string
				if err := root.QueryRowContext(ctx, "SHOW GLOBAL STATUS LIKE 'Aborted_connects'").Scan(&name, &n); err != nil {
					t.Fatal(err)
				}
				return n
			}
			before := aborted()
			fp, err := Probe(ctx, nil, db.Addr())
			if (name == "TLS") != (err == nil) || (name == "plain" && !errors.Is(err, ErrNoTLS)) {
				t.Fatalf("Probe = %q, %v", fp, err)
			}
			// The server is done with the probe's connection once it counts it aborted.
			for aborted() == before {
				if ctx.Err() != nil {
					t.Fatal("the server never counted the probe's connection aborted")
				}
				time.Sleep(10 * time.Millisecond)
			}
			var rows int
			err = root.QueryRowContext(ctx, "SELECT COUNT(*) FROM mysql.general_log WHERE thread_id <> ?", self).Scan(&rows)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := root.ExecContext(ctx, "SET GLOBAL general_log = 0"); err != nil {
				t.Fatal(err)
			}
			if rows != 0 {
				t.Errorf("the probe left %d rows in the general log", rows)
			}
		})
	}
}
