package recording_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/mysqltest"
	"github.com/mycrt/captures/pkg/netguard"
	"github.com/mycrt/captures/pkg/recording"
	"github.com/mycrt/captures/pkg/store"
	"github.com/mycrt/captures/pkg/store/storetest"
)

// tlsRig is a recorder and a store for the TLS tests.
type tlsRig struct {
	st  *store.Store
	rec *recording.Recorder
}

func newTLSRig(t *testing.T) tlsRig {
	st := storetest.New(t, nil)
	return tlsRig{st, &recording.Recorder{Secrets: plain{}, Network: netguard.Policy{AllowLoopback: true}, Store: st,
		Blobs: blob.Dir{Root: t.TempDir()}, Now: time.Now, Log: quiet, TempDir: t.TempDir(), Timeout: 3 * time.Second}}
}

// begin creates an environment as given and a capture in it, and begins recording it.
func (r tlsRig) begin(t *testing.T, env capture.Environment) (capture.Environment, capture.Capture, error) {
	t.Helper()
	ctx := context.Background()
	id, err := r.st.NewEnvironmentID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	env.ID, env.Name, env.OwnerID, env.DBName, env.Created = id, "tls", "alice", "shop", time.Now()
	if env, err = r.st.CreateEnvironment(ctx, env); err != nil {
		t.Fatal(err)
	}
	c, err := capture.New(capture.Request{Name: "tls first", EnvID: env.ID}, "alice", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if c, err = r.st.CreateCapture(ctx, c); err != nil {
		t.Fatal(err)
	}
	return env, c, r.rec.Begin(ctx, env, c)
}

// again begins a new capture of env as the store now has it.
func (r tlsRig) again(t *testing.T, env capture.Environment, name string) (capture.Capture, error) {
	t.Helper()
	ctx := context.Background()
	env, err := r.st.Environment(ctx, env.ID)
	if err != nil {
		t.Fatal(err)
	}
	c, err := capture.New(capture.Request{Name: name, EnvID: env.ID}, "alice", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if c, err = r.st.CreateCapture(ctx, c); err != nil {
		t.Fatal(err)
	}
	return c, r.rec.Begin(ctx, env, c)
}

// TestTLSPinChanged: an environment pins its MariaDB's certificate at the first connection;
// when another server takes the same address with another certificate (a man in the middle,
// here a fake that would ask for the password in full), the connection fails with a reason
// naming both fingerprints, and that server never sees the user name nor the password; with the
// first server back, recording works again.
func TestTLSPinChanged(t *testing.T) {
	ca := mysqltest.NewCA(t, "mycrt test CA")
	cert := ca.Issue(t)
	db := mysqltest.StartTLSCert(t, ca, cert)
	db.Exec(t,
		"CREATE DATABASE shop",
		"CREATE USER capturer IDENTIFIED BY 'cap-secret'",
		"GRANT SUPER ON *.* TO capturer",
		"GRANT SELECT ON mysql.general_log TO capturer",
		"GRANT SELECT ON shop.* TO capturer",
	)
	mallory := mysqltest.NewCA(t, "mallory").Issue(t)
	fake := mysqltest.StartFake(t, mallory, mysqltest.AskFullAuth)
	relay := mysqltest.StartRelay(t, db.Addr())
	rig := newTLSRig(t)
	ctx := context.Background()

	env, c, err := rig.begin(t, capture.Environment{Host: relay.Host, Port: relay.Port, User: "capturer", SealedPassword: "cap-secret"})
	if err != nil {
		t.Fatal(err)
	}
	if c, err = rig.st.Capture(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if err := rig.rec.End(ctx, env, c); err != nil {
		t.Fatal(err)
	}
	if env, err = rig.st.Environment(ctx, env.ID); err != nil || env.TLSFingerprint != fingerprint(cert.DER) {
		t.Fatalf("pinned %q, %v; want the server's %s", env.TLSFingerprint, err, fingerprint(cert.DER))
	}

	relay.SetTarget(fake.Addr())
	_, err = rig.again(t, env, "intercepted")
	if err == nil || !strings.Contains(err.Error(), fingerprint(cert.DER)) || !strings.Contains(err.Error(), fingerprint(mallory.DER)) {
		t.Errorf("Begin through another server: %v, want a failure naming %s and %s", err, fingerprint(cert.DER), fingerprint(mallory.DER))
	}
	if got := fake.Received(); fake.Logins() != 0 || bytes.Contains(got, []byte("capturer")) || bytes.Contains(got, []byte("cap-secret")) {
		t.Errorf("the other server was sent %d logins: %q", fake.Logins(), got)
	}

	relay.SetTarget(db.Addr())
	c, err = rig.again(t, env, "back")
	if err != nil {
		t.Fatalf("Begin with the first server back: %v", err)
	}
	if c, err = rig.st.Capture(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if err := rig.rec.End(ctx, env, c); err != nil {
		t.Fatal(err)
	}
}

// TestTLSKeepsPasswords logs in to fake servers that ask for the password itself (in clear
// inside TLS, or encrypted with an RSA key without), and looks for it in what they were sent.
// No TLS that is unverified, by CA or by pin, carries a login; without TLS only what the
// password cannot be read from is sent. The last cases are the controls: over TLS verified
// against the pin (the one taken on first use included, which is what trust on first use
// trusts) the fake does get the password, so the test sees one that is sent.
func TestTLSKeepsPasswords(t *testing.T) {
	ca := mysqltest.NewCA(t, "mycrt test CA")
	pinned := ca.Issue(t) // the real server's, pinned by the environment
	mallory := mysqltest.NewCA(t, "mallory").Issue(t)
	const password = "Tr0ub4dor&3-not-to-be-sent"
	tests := []struct {
		name          string
		cert          *mysqltest.Cert // the fake's; nil for no TLS
		ask           mysqltest.Ask
		mode, caCert  string
		pin           *mysqltest.Cert
		fails         string // in the reason
		logins        int    // logins the fake sees
		sendsPassword bool
		pinAfter      *mysqltest.Cert
	}{
		{"no TLS, full authentication", nil, mysqltest.AskFullAuth, "", "", nil, "Access denied", 1, false, nil},
		{"no TLS, sha256_password", nil, mysqltest.AskSHA256, "", "", nil, "Access denied", 1, false, nil},
		{"no TLS, mysql_clear_password", nil, mysqltest.AskCleartext, "", "", nil, "never sent", 1, false, nil},
		{"DISABLED, full authentication", nil, mysqltest.AskFullAuth, "DISABLED", "", nil, "Access denied", 1, false, nil},
		{"REQUIRED, no TLS", nil, mysqltest.AskFullAuth, "REQUIRED", "", nil, "offers no TLS", 0, false, nil},
		{"pinned, no TLS now", nil, mysqltest.AskFullAuth, "", "", pinned, "offers no TLS", 0, false, pinned},
		{"pinned, another certificate", mallory, mysqltest.AskFullAuth, "", "", pinned, fingerprint(mallory.DER), 0, false, pinned},
		{"REQUIRED pinned, another certificate", mallory, mysqltest.AskCleartext, "REQUIRED", "", pinned, fingerprint(pinned.DER), 0, false, pinned},
		{"VERIFY_IDENTITY, another CA", mallory, mysqltest.AskFullAuth, "VERIFY_IDENTITY", ca.PEM, nil, "unknown authority", 0, false, nil},
		{"VERIFY_CA, another CA", mallory, mysqltest.AskSHA256, "VERIFY_CA", ca.PEM, nil, "not signed by a trusted CA", 0, false, nil},
		{"control: trusted on first use", mallory, mysqltest.AskFullAuth, "", "", nil, "Access denied", 1, true, mallory},
		{"control: pinned, sha256_password", mallory, mysqltest.AskSHA256, "REQUIRED", "", mallory, "Access denied", 1, true, mallory},
	}
	rig := newTLSRig(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := mysqltest.StartFake(t, tt.cert, tt.ask)
			env := capture.Environment{Host: fake.Host, Port: fake.Port, User: "capturer", SealedPassword: password, TLS: tt.mode, CACert: tt.caCert}
			if tt.pin != nil {
				env.TLSFingerprint = fingerprint(tt.pin.DER)
			}
			env, _, err := rig.begin(t, env)
			if err == nil || !strings.Contains(err.Error(), tt.fails) || !strings.Contains(err.Error(), fake.Addr()) {
				t.Errorf("Begin: %v, want a failure naming %s and saying %q", err, fake.Addr(), tt.fails)
			}
			if strings.Contains(fmt.Sprint(err), password) {
				t.Errorf("the reason holds the password: %v", err)
			}
			got := fake.Received()
			if fake.Logins() != tt.logins || (tt.logins == 0 && bytes.Contains(got, []byte("capturer"))) {
				t.Errorf("the fake saw %d logins, want %d: %q", fake.Logins(), tt.logins, got)
			}
			if sent := bytes.Contains(got, []byte(password)); sent != tt.sendsPassword {
				t.Errorf("password sent: %v, want %v", sent, tt.sendsPassword)
			}
			want := ""
			if tt.pinAfter != nil {
				want = fingerprint(tt.pinAfter.DER)
			}
			if stored, err := rig.st.Environment(context.Background(), env.ID); err != nil || stored.TLSFingerprint != want {
				t.Errorf("pinned %q, %v; want %q", stored.TLSFingerprint, err, want)
			}
		})
	}
}
