package recording_test

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/mysqltest"
	"github.com/mycrt/captures/pkg/netguard"
	"github.com/mycrt/captures/pkg/recording"
)

// TestCheck signs in to a real MariaDB as a capture would and checks what it needs: a good
// account passes and says what it found (version, TLS, rotation), a wrong password, missing
// privileges and a port with no server fail saying which, optional things are reported
// rather than failed on; nothing changes on the server and nothing is written (the recorder
// has no store at all).
func TestCheck(t *testing.T) {
	db := mysqltest.Start(t)
	db.Exec(t, shopAccounts...)
	db.Exec(t,
		"CREATE USER noswitch IDENTIFIED BY 'pw'", "GRANT SELECT ON mysql.general_log TO noswitch", "GRANT SELECT ON shop.* TO noswitch",
		"CREATE USER noread IDENTIFIED BY 'pw'", "GRANT SUPER ON *.* TO noread", "GRANT SELECT ON shop.* TO noread",
	)
	rec := &recording.Recorder{Network: netguard.Policy{AllowLoopback: true}, Log: quiet}
	env := func(user string) capture.Environment {
		return capture.Environment{Host: db.Host, Port: db.Port, DBName: "shop", User: user}
	}
	logOn := func() (on string) {
		if err := db.Root(t).QueryRow("SELECT @@GLOBAL.general_log").Scan(&on); err != nil {
			t.Fatal(err)
		}
		return on
	}
	before := logOn()
	ctx := context.Background()

	found, err := rec.Check(ctx, env("capturer"), "cap-secret")
	if err != nil {
		t.Fatalf("a good account: %v", err)
	}
	if !strings.Contains(found.Version, "MariaDB") || found.TLS != "PREFERRED" || found.SwitchesLog != capture.SwitchOverSQL ||
		!found.ReadsLog || found.Rotation != capture.RotationNone {
		t.Errorf("found %+v, want MariaDB, PREFERRED, the log switched over SQL and read, no rotation", found)
	}
	db.Exec(t, append(recording.RotationStatements(), recording.RotationGrants("capturer")...)...)
	if found, err = rec.Check(ctx, env("capturer"), "cap-secret"); err != nil || found.Rotation != capture.RotationOwn {
		t.Errorf("with the procedures: %+v %v, want them found", found, err)
	}
	rds := env("capturer")
	rds.ParameterGroup = "prod-params"
	if found, err = rec.Check(ctx, rds, "cap-secret"); err != nil || found.SwitchesLog != capture.SwitchOverRDS {
		t.Errorf("with a parameter group: %+v %v", found, err)
	}

	for _, tt := range []struct {
		name, user, pass, want string
		port                   int
	}{
		{"wrong password", "capturer", "wrong", "Access denied", db.Port},
		{"no SUPER", "noswitch", "pw", "lacks the SUPER privilege", db.Port},
		{"no SELECT on the log", "noread", "pw", "lacks the SELECT privilege on mysql.general_log", db.Port},
		{"no server", "capturer", "cap-secret", "no MySQL server answered", freePort(t)},
	} {
		e := env(tt.user)
		e.Port = tt.port
		if _, err := rec.Check(ctx, e, tt.pass); err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), tt.pass+"'") {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
	if after := logOn(); after != before {
		t.Errorf("general_log %s after the checks, %s before", after, before)
	}
}

// freePort is a loopback port nothing listens on.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}
