// Package localtest starts what `make run` runs, for tests: the whole service in process on a
// fresh table of the test's DynamoDB Local, its data in a temporary folder, its scheduler
// ticking every second, all stopped when the test ends.
package localtest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/local"
	"github.com/mycrt/captures/pkg/store/storetest"
)

// Start starts the service, serving the console in webDir ("" for none), and returns it with
// its configuration.
func Start(t testing.TB, webDir string) (*local.Service, local.Config) {
	t.Helper()
	return StartWith(t, webDir, nil)
}

// StartWith is Start with prepare (when not nil) run on the service before anything runs in
// it: where a test puts its hooks, say a recorder that pauses the worker at a chosen moment.
func StartWith(t testing.TB, webDir string, prepare func(*local.Service)) (*local.Service, local.Config) {
	t.Helper()
	cfg := local.Config{DataDir: t.TempDir(), Endpoint: storetest.Endpoint(t),
		Table: fmt.Sprintf("local-%d", time.Now().UnixNano()), WebDir: webDir}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	svc, err := local.New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if prepare != nil {
		prepare(svc)
	}
	go svc.Scheduler.Run(ctx, time.Second)
	return svc, cfg
}
