package local_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/mysqltest"
)

// TestLocalHostileStatementsRecorded is the tenancy issue's second finding over HTTP: an
// application user sends statements built to make fingerprinting slow (300 KB each: a '#' run
// before a quote, an unclosed comment run, a vertical-tab run after ORDER BY). They are in the
// capture's count within two scheduler ticks, the statement after them too, and the capture
// ends DONE holding all four, whole.
func TestLocalHostileStatementsRecorded(t *testing.T) {
	db := mysqltest.Start(t)
	accounts(t, db, "shop", "CREATE TABLE shop.orders (id INT PRIMARY KEY, total DECIMAL(10,2))")
	l := startLocal(t)
	_, c := l.startCapture(db, "shop", "hostile text")
	l.waitStatus(c.ID, "RUNNING", 10*time.Second)
	const size = 300 << 10
	hostile := []string{
		"SELECT 1 " + strings.Repeat("#", size) + "'",
		// Ended by a word: the server logs a statement without its trailing white space.
		"SELECT 1 " + strings.Repeat("/* ", size/3) + "x",
		"SELECT id FROM orders ORDER BY id" + strings.Repeat("\v", size) + "ASC",
	}
	app := db.As(t, "app", "app-pw", "shop")
	for _, q := range hostile {
		// Each is valid to send; what the server answers (a syntax error, rows) is not the test.
		app.Exec(q)
	}
	after := "INSERT INTO orders VALUES (1, 1.00)"
	if _, err := app.Exec(after); err != nil {
		t.Fatal(err)
	}
	// The scheduler ticks every second: two ticks and the settle time.
	eventually(t, 2*time.Second+500*time.Millisecond, "the four statements counted within two ticks", func() bool {
		var v captureView
		l.call("GET", fmt.Sprintf("/api/captures/%d", c.ID), nil, &v)
		return v.Workload != nil && v.Workload.Statements >= int64(len(hostile)+1)
	})
	l.call("POST", fmt.Sprintf("/api/captures/%d/stop", c.ID), nil, nil)
	l.waitStatus(c.ID, "DONE", 10*time.Second)
	got := l.appInserts(c) // every statement of the application's, in order
	want := append(hostile, after)
	if len(got) != len(want) {
		t.Fatalf("the workload holds %d application statements, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("statement %d: %d bytes, want the %d sent", i, len(got[i]), len(want[i]))
		}
	}
}
