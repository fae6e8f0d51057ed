package local_test

import (
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
	db := mysqltest.Start(t)
	accounts(t, db, "shop", "CREATE TABLE shop.orders (id INT PRIMARY KEY, note VARCHAR(200))")
	l := startLocal(t)
	var env struct{ ID int64 }
	if code := l.call("POST", "/api/environments", map[string]any{
		"envName": "shop", "host": db.Host, "port": db.Port, "dbName": "shop", "user": "capturer", "pass": "cap-pw",
	}, &env); code != 200 {
		t.Fatalf("create environment: %d", code)
	}
	app := db.As(t, "app", "app-pw", "shop")
	app.SetMaxOpenConns(1)
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
