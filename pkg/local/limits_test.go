package local_test

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/mysqltest"
)

// TestLocalLimits: a capture with maxStatements, and one with maxBytes, stop by themselves at
// the first collection that reaches their limit, DONE with a reason naming it.
func TestLocalLimits(t *testing.T) {
	t.Parallel()
	l, env, app := shopOrders(t)
	next := 0
	for _, tt := range []struct {
		name  string
		limit map[string]any
		why   string
	}{
		{"fifty statements", map[string]any{"maxStatements": 50}, "limit of 50 statements (maxStatements)"},
		{"two kilobytes", map[string]any{"maxBytes": 2000}, "limit of 2000 bytes (maxBytes)"},
	} {
		body := map[string]any{"name": tt.name, "envId": env.ID}
		for k, v := range tt.limit {
			body[k] = v
		}
		var c captureView
		if code := l.call("POST", "/api/captures", body, &c); code != 200 {
			t.Fatalf("create: %d", code)
		}
		l.waitStatus(c.ID, "RUNNING", 10*time.Second)
		// Statements keep coming until the capture stops itself.
		var v captureView
		eventually(t, 15*time.Second, tt.name+" stopped by itself", func() bool {
			if v = l.get(c.ID); v.Status == "DONE" {
				return true
			}
			for range 20 {
				note := strings.Repeat(fmt.Sprintf("%x", next*7919), 10)
				if _, err := app.Exec(fmt.Sprintf("INSERT INTO orders VALUES (%d, '%s')", next, note)); err != nil {
					t.Fatal(err)
				}
				next++
			}
			return false
		})
		if v.Reason == nil || !strings.Contains(*v.Reason, tt.why) {
			t.Errorf("%s: reason %v, want %q", tt.name, v.Reason, tt.why)
		}
	}
}

// shopOrders starts a server with a shop.orders table, the service, and an environment on it
// recorded as capturer; app is one connection of the application's account.
func shopOrders(t *testing.T) (l *client, env struct{ ID int64 }, app *sql.DB) {
	t.Helper()
	db := mysqltest.Start(t)
	accounts(t, db, "shop", "CREATE TABLE shop.orders (id INT PRIMARY KEY, note VARCHAR(200))")
	l = startLocal(t)
	if code := l.call("POST", "/api/environments", map[string]any{
		"envName": "shop", "host": db.Host, "port": db.Port, "dbName": "shop", "user": "capturer", "pass": "cap-pw",
	}, &env); code != 200 {
		t.Fatalf("create environment: %d", code)
	}
	app = db.As(t, "app", "app-pw", "shop")
	app.SetMaxOpenConns(1)
	return l, env, app
}
