package recording_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/mysqltest"
)

// TestServerKeys: Server names one server alike through every environment that reaches it
// (what one replay at a time holds), another server otherwise, and fails on one unreachable.
func TestServerKeys(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	other := mysqltest.Start(t)
	other.Exec(t, shopAccounts...)
	env := func(db *mysqltest.Server, host string, port int) capture.Environment {
		t.Helper()
		id, _ := f.store.NewEnvironmentID(ctx)
		e, err := f.store.CreateEnvironment(ctx, capture.Environment{ID: id, Name: fmt.Sprintf("env %d", id), OwnerID: "alice",
			Host: host, Port: port, DBName: "shop", User: "capturer", SealedPassword: "cap-secret", Created: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	first, err := f.rec.Server(ctx, f.env)
	if err != nil || first == "" {
		t.Fatalf("server of the fixture's environment: %q %v", first, err)
	}
	// The same server by another name for its host.
	alias := env(f.db, "localhost", f.db.Port)
	if got, err := f.rec.Server(ctx, alias); err != nil || got != first {
		t.Errorf("the same server through localhost: %q %v, want %q", got, err, first)
	}
	if got, err := f.rec.Server(ctx, env(other, other.Host, other.Port)); err != nil || got == first || got == "" {
		t.Errorf("another server: %q %v, want a key other than %q", got, err, first)
	}
	gone := f.env
	gone.Port = 1
	if _, err := f.rec.Server(ctx, gone); err == nil {
		t.Error("an unreachable server has a key")
	}
}
