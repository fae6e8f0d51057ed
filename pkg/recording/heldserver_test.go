package recording_test

import (
	"context"
	"errors"
	"testing"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/lease"
	"github.com/mycrt/captures/pkg/mysqltest"
	"github.com/mycrt/captures/pkg/netguard"
	"github.com/mycrt/captures/pkg/recording"
)

// TestConnectorHoldsToItsServer: a replay's sessions are held to the server its replay proved
// and holds. Through a relay that a DNS change or a proxy could be, sessions connect while it
// leads to that server, and are refused with ErrServerMoved, before they send anything, once it
// leads to another; without a held server nothing is checked.
func TestConnectorHoldsToItsServer(t *testing.T) {
	held, other := mysqltest.Start(t), mysqltest.Start(t)
	for _, db := range []*mysqltest.Server{held, other} {
		db.Exec(t, "CREATE DATABASE shop", "CREATE USER replayer IDENTIFIED BY 'rep-pw'", "GRANT ALL ON shop.* TO replayer")
	}
	var id int64
	var host string
	var port int
	if err := held.Root(t).QueryRow("SELECT @@GLOBAL.server_id, @@GLOBAL.hostname, @@GLOBAL.port").Scan(&id, &host, &port); err != nil {
		t.Fatal(err)
	}
	key := lease.ServerKey(lease.MariaDBClaim(id, host, port) + "#alice/1")
	relay := mysqltest.StartRelay(t, held.Addr())
	env := capture.Environment{Host: relay.Host, Port: relay.Port, DBName: "shop", User: "replayer", SealedPassword: "rep-pw"}
	rec := &recording.Recorder{Network: netguard.Policy{AllowLoopback: true}, Log: quiet, Secrets: plain{}}
	ctx := context.Background()
	connect := func(server string) error {
		c, err := rec.Connector(ctx, env, server, nil)
		if err != nil {
			return err
		}
		conn, err := c.Connect(ctx)
		if err == nil {
			conn.Close()
		}
		return err
	}
	if err := connect(key); err != nil {
		t.Fatalf("to the held server: %v", err)
	}
	relay.SetTarget(other.Addr())
	if err := connect(key); !errors.Is(err, recording.ErrServerMoved) {
		t.Errorf("to another server: %v, want ErrServerMoved", err)
	}
	if err := connect(""); err != nil {
		t.Errorf("with no server held: %v", err)
	}
}
