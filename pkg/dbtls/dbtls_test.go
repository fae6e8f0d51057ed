package dbtls

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"

	"github.com/mycrt/captures/pkg/mysqltest"
)

func TestTLSEffective(t *testing.T) {
	tests := []struct {
		mode        Mode
		host, caPEM string
		want        Mode
	}{
		{"", "mydb.abc123.us-east-1.rds.amazonaws.com", "", VerifyIdentity},
		{"", "MYDB.ABC123.EU-WEST-1.RDS.AMAZONAWS.COM.", "", VerifyIdentity},
		{"", "mydb.abc.cn-north-1.rds.amazonaws.com.cn", "", VerifyIdentity},
		{"", "db.internal", "", Preferred},
		{"", "db.internal", "-----BEGIN CERTIFICATE-----", VerifyIdentity},
		{"", "rds.amazonaws.com.evil.example", "", Preferred},
		{Disabled, "mydb.abc123.us-east-1.rds.amazonaws.com", "", Disabled},
		{VerifyCA, "db.internal", "-----BEGIN CERTIFICATE-----", VerifyCA},
	}
	for _, tt := range tests {
		if got := Effective(tt.mode, tt.host, tt.caPEM); got != tt.want {
			t.Errorf("Effective(%q, %q, %q) = %s, want %s", tt.mode, tt.host, tt.caPEM, got, tt.want)
		}
	}
}

func TestTLSParseMode(t *testing.T) {
	for _, s := range []string{"disabled", "Preferred", "REQUIRED", "verify_ca", " VERIFY_IDENTITY "} {
		if _, err := ParseMode(s); err != nil {
			t.Errorf("ParseMode(%q): %v", s, err)
		}
	}
	for _, s := range []string{"ON", "true", "VERIFY-CA", "ssl"} {
		if _, err := ParseMode(s); !errors.Is(err, ErrMode) {
			t.Errorf("ParseMode(%q) = %v, want ErrMode", s, err)
		}
	}
	// What a caller who sent a wrong mode reads: every mode, weakest first.
	if want := "tls must be one of DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY"; ErrMode.Error() != want {
		t.Errorf("ErrMode = %q, want %q", ErrMode, want)
	}
}

// TestRDSBundle: the embedded bundle holds the RDS CAs, every one a CA certificate issued by
// Amazon Web Services for RDS, including the 2024 global roots.
func TestTLSRDSBundle(t *testing.T) {
	rest := rdsBundle
	n, g1 := 0, 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		if !c.IsCA || len(c.Subject.Organization) == 0 || c.Subject.Organization[0] != "Amazon Web Services, Inc." {
			t.Errorf("%s is not an Amazon RDS CA", c.Subject)
		}
		if c.Subject.CommonName == "Amazon RDS us-east-1 Root CA RSA2048 G1" {
			g1++
		}
		n++
	}
	if n < 100 || g1 != 1 {
		t.Errorf("%d certificates, %d of them the us-east-1 RSA2048 G1 root; want the whole RDS set", n, g1)
	}
	if rdsRoots() == nil {
		t.Fatal("no RDS pool")
	}
}

func TestTLSConfig(t *testing.T) {
	if cfg, err := config(Disabled, "h", "", ""); cfg != nil || err != nil {
		t.Errorf("DISABLED: %v, %v", cfg, err)
	}
	for _, m := range []Mode{Preferred, Required} {
		if _, err := config(m, "h", "", ""); err == nil {
			t.Errorf("%s without a pin: configured", m)
		}
	}
	cfg, err := config(VerifyIdentity, "mydb.abc123.us-east-1.rds.amazonaws.com", "", "")
	if err != nil || cfg.InsecureSkipVerify || cfg.ServerName != "mydb.abc123.us-east-1.rds.amazonaws.com" || !cfg.RootCAs.Equal(rdsRoots()) {
		t.Errorf("VERIFY_IDENTITY on RDS: %+v, %v; want the host verified against the RDS CAs", cfg, err)
	}
	if _, err := config(VerifyCA, "h", "not pem", ""); err != ErrCACert {
		t.Errorf("a bad CA: %v", err)
	}
	// A VERIFY_CA environment stored before caCert was required trusts nothing, not the system.
	if _, err := config(VerifyCA, "h", "", ""); err != ErrCACertNeeded {
		t.Errorf("VERIFY_CA without caCert: %v, want ErrCACertNeeded", err)
	}
}

// TestCheck: VERIFY_CA needs caCert, and caCert goes only with the modes that use it.
func TestTLSCheck(t *testing.T) {
	pemCA := mysqltest.NewCA(t, "test CA").PEM
	tests := []struct {
		mode  Mode
		caPEM string
		want  error
	}{
		{"", "", nil},
		{"", pemCA, nil},
		{VerifyCA, pemCA, nil},
		{VerifyIdentity, pemCA, nil},
		{Preferred, "", nil},
		{Required, "", nil},
		{Disabled, "", nil},
		{VerifyIdentity, "", nil},
		{VerifyCA, "", ErrCACertNeeded},
		{Preferred, pemCA, ErrCACertUnused},
		{Required, pemCA, ErrCACertUnused},
		{Disabled, pemCA, ErrCACertUnused},
		{VerifyCA, "hello", ErrCACert},
		{"", "hello", ErrCACert},
	}
	for _, tt := range tests {
		if err := Check(tt.mode, tt.caPEM); err != tt.want {
			t.Errorf("Check(%q, %.10q) = %v, want %v", tt.mode, tt.caPEM, err, tt.want)
		}
	}
}
