package recording_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/mysqltest"
	"github.com/mycrt/captures/pkg/netguard"
	"github.com/mycrt/captures/pkg/recording"
	"github.com/mycrt/captures/pkg/store/storetest"
)

// TestTLS records from a MariaDB that requires TLS (require_secure_transport=ON), with a
// certificate from a CA made for the test: VERIFY_CA and VERIFY_IDENTITY with that CA work,
// so do REQUIRED and the default (PREFERRED), which pin the server's certificate at their
// first connection; DISABLED fails saying the server may require TLS; a CA that did not sign
// the server's certificate fails saying so, and VERIFY_CA stored without a CA trusts nothing.
func TestTLS(t *testing.T) {
	t.Parallel()
	ca := mysqltest.NewCA(t, "mycrt test CA")
	other := mysqltest.NewCA(t, "someone else's CA")
	cert := ca.Issue(t)
	db := mysqltest.StartTLSCert(t, ca, cert)
	db.Exec(t,
		"CREATE DATABASE shop",
		"CREATE USER capturer IDENTIFIED BY 'cap-secret'",
		"GRANT SUPER ON *.* TO capturer",
		"GRANT SELECT ON mysql.general_log TO capturer",
		"GRANT SELECT ON shop.* TO capturer",
	)
	st := storetest.New(t, nil)
	ctx := context.Background()
	rec := &recording.Recorder{Secrets: plain{}, Network: netguard.Policy{AllowLoopback: true}, Store: st,
		Blobs: blob.Dir{Root: t.TempDir()}, Now: time.Now, Log: quiet, TempDir: t.TempDir(), Timeout: 3 * time.Second}
	tests := []struct {
		mode, host, caCert string
		fails              string // "" when it records
	}{
		{"VERIFY_CA", "127.0.0.1", ca.PEM, ""},
		{"VERIFY_IDENTITY", "127.0.0.1", ca.PEM, ""},
		{"VERIFY_IDENTITY", "localhost", ca.PEM, ""},
		{"REQUIRED", "127.0.0.1", "", ""},
		{"", "127.0.0.1", "", ""}, // PREFERRED, the default outside RDS
		{"DISABLED", "127.0.0.1", "", "the server offers TLS and may require it"},
		{"VERIFY_CA", "127.0.0.1", other.PEM, "not signed by a trusted CA"},
		{"VERIFY_IDENTITY", "127.0.0.1", other.PEM, "certificate signed by unknown authority"},
		{"VERIFY_CA", "127.0.0.1", "", "VERIFY_CA needs caCert"}, // stored before the API required it
	}
	for i, tt := range tests {
		t.Run(fmt.Sprintf("%s %s %v", tt.mode, tt.host, tt.caCert != ""), func(t *testing.T) {
			id, err := st.NewEnvironmentID(ctx)
			if err != nil {
				t.Fatal(err)
			}
			env, err := st.CreateEnvironment(ctx, capture.Environment{ID: id, Name: "tls", OwnerID: "alice", Host: tt.host, Port: db.Port,
				DBName: "shop", User: "capturer", SealedPassword: "cap-secret", TLS: tt.mode, CACert: tt.caCert, Created: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			c, err := capture.New(capture.Request{Name: fmt.Sprintf("tls case %d", i), EnvID: env.ID}, "alice", time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if c, err = st.CreateCapture(ctx, c); err != nil {
				t.Fatal(err)
			}
			err = rec.Begin(ctx, env, c)
			switch {
			case tt.fails == "" && err != nil:
				t.Fatalf("Begin: %v", err)
			case tt.fails != "" && (err == nil || !strings.Contains(err.Error(), tt.fails) || !strings.Contains(err.Error(), db.Addr()[len("127.0.0.1"):])):
				t.Fatalf("Begin: %v, want a failure saying %q", err, tt.fails)
			case tt.fails == "":
				c, _ = st.Capture(ctx, c.ID)
				if err := rec.End(ctx, env, c); err != nil {
					t.Fatal(err)
				}
			}
			// Only the modes that trust on first use pin, and what they pin is the server's.
			want := ""
			if tt.fails == "" && (tt.mode == "" || tt.mode == "REQUIRED") {
				want = fingerprint(cert.DER)
			}
			if stored, err := st.Environment(ctx, env.ID); err != nil || stored.TLSFingerprint != want {
				t.Errorf("pinned %q, %v; want %q", stored.TLSFingerprint, err, want)
			}
		})
	}
}

// fingerprint is a certificate's SHA-256 as openssl prints it, written apart from dbtls's.
func fingerprint(der []byte) string {
	return strings.ReplaceAll(fmt.Sprintf("% X", sha256.Sum256(der)), " ", ":")
}
