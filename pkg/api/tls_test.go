package api_test

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/dbtls"
	"github.com/mycrt/captures/pkg/mysqltest"
	"github.com/mycrt/captures/pkg/netguard"
)

// TestEnvironmentTLS: the mode shown is the one connections use, the default spelled out;
// VERIFY_CA needs caCert, and caCert goes only with the modes that use it.
func TestEnvironmentTLS(t *testing.T) {
	h := newHarness(t)
	ca := mysqltest.NewCA(t, "test CA")
	tests := []struct {
		name string
		body map[string]any
		tls  string // the mode shown; "" when refused
		msg  string
	}{
		{"default elsewhere", map[string]any{"host": "db.internal"}, "PREFERRED", ""},
		{"default on RDS", map[string]any{"host": "db-prod.example.rds.amazonaws.com"}, "VERIFY_IDENTITY", ""},
		{"any case", map[string]any{"host": "db.internal", "tls": "verify_ca", "caCert": ca.PEM}, "VERIFY_CA", ""},
		{"disabled", map[string]any{"host": "db.internal", "tls": "DISABLED"}, "DISABLED", ""},
		{"unknown mode", map[string]any{"host": "db.internal", "tls": "ON"}, "", dbtls.ErrMode.Error()},
		{"not PEM", map[string]any{"host": "db.internal", "caCert": "hello"}, "", dbtls.ErrCACert.Error()},
		{"a CA and no mode", map[string]any{"host": "db.internal", "caCert": ca.PEM}, "VERIFY_IDENTITY", ""},
		{"VERIFY_IDENTITY, the system's CAs", map[string]any{"host": "db.internal", "tls": "VERIFY_IDENTITY"}, "VERIFY_IDENTITY", ""},
		{"VERIFY_CA without a CA", map[string]any{"host": "db.internal", "tls": "VERIFY_CA"}, "", dbtls.ErrCACertNeeded.Error()},
		{"a CA a pin ignores", map[string]any{"host": "db.internal", "tls": "REQUIRED", "caCert": ca.PEM}, "", dbtls.ErrCACertUnused.Error()},
		{"a CA DISABLED ignores", map[string]any{"host": "db.internal", "tls": "DISABLED", "caCert": ca.PEM}, "", dbtls.ErrCACertUnused.Error()},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			r := h.createEnvironment(pathf("tls %d", i), tt.body)
			if tt.tls == "" {
				if r.Status != 400 || r.errorMessage(t) != tt.msg {
					t.Errorf("%d %s, want 400 %q", r.Status, r.Body, tt.msg)
				}
				return
			}
			var env struct{ TLS string }
			if r.Status != 200 || json.Unmarshal(r.Body, &env) != nil || env.TLS != tt.tls {
				t.Errorf("%d %s, want tls %s", r.Status, r.Body, tt.tls)
			}
		})
	}
}

// TestEnvironmentTLSPin: creating an environment that trusts on first use pins its server's
// certificate, read without logging in, and shows its fingerprint; one on a server that cannot
// be reached, or offers no TLS, or that verifies by CA, pins nothing.
func TestEnvironmentTLSPin(t *testing.T) {
	h := newHarness(t)
	// Only loopback is dialled, whatever the test names resolve to.
	loopback, err := netguard.ParseCIDRs("127.0.0.0/8")
	if err != nil {
		t.Fatal(err)
	}
	h.server.TLSProbe = dbtls.Prober{Dial: netguard.Policy{AllowLoopback: true, Allowed: loopback}.Dialer(time.Second)}
	ca := mysqltest.NewCA(t, "test CA")
	cert := ca.Issue(t)
	tlsFake := mysqltest.StartFake(t, cert, mysqltest.AskFullAuth)
	plain := mysqltest.StartFake(t, nil, mysqltest.AskFullAuth)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := l.Addr().(*net.TCPAddr).Port
	l.Close()
	want := strings.ReplaceAll(fmt.Sprintf("% X", sha256.Sum256(cert.DER)), " ", ":")
	tests := []struct {
		name string
		fake *mysqltest.Fake
		port int
		body map[string]any
		pin  string // the fingerprint shown; "" for null
	}{
		{"PREFERRED by default", tlsFake, tlsFake.Port, nil, want},
		{"REQUIRED", tlsFake, tlsFake.Port, map[string]any{"tls": "required"}, want},
		{"no TLS", plain, plain.Port, nil, ""},
		{"unreachable", nil, closedPort, map[string]any{"tls": "REQUIRED"}, ""},
		{"VERIFY_IDENTITY", tlsFake, tlsFake.Port, map[string]any{"caCert": ca.PEM}, ""},
		{"DISABLED", tlsFake, tlsFake.Port, map[string]any{"tls": "DISABLED"}, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			conns := 0
			if tt.fake != nil {
				conns = tt.fake.Conns()
			}
			body := map[string]any{"host": "127.0.0.1", "port": tt.port, "pass": "never-sent"}
			for k, v := range tt.body {
				body[k] = v
			}
			var created struct {
				ID             int64
				TLSFingerprint *string
			}
			r := h.createEnvironment(pathf("pin %d", i), body)
			if r.Status != 200 || json.Unmarshal(r.Body, &created) != nil {
				t.Fatalf("create: %d %s", r.Status, r.Body)
			}
			var got struct{ TLSFingerprint *string }
			h.must("alice", "GET", pathf("/api/environments/%d", created.ID), nil, &got)
			for _, fp := range []*string{created.TLSFingerprint, got.TLSFingerprint} {
				if (fp == nil) != (tt.pin == "") || (fp != nil && *fp != tt.pin) {
					t.Errorf("tlsFingerprint %v, want %q", fp, tt.pin)
				}
			}
			if tt.fake != nil {
				probed := tt.fake.Conns() > conns
				if wantProbe := tt.pin != "" || tt.fake == plain; probed != wantProbe {
					t.Errorf("the server was connected to: %v, want %v", probed, wantProbe)
				}
				if tt.fake.Logins() != 0 || strings.Contains(string(tt.fake.Received()), "never-sent") {
					t.Errorf("the server was sent a login")
				}
			}
		})
	}
}
