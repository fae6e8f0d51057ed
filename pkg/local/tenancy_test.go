package local_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/mysqltest"
	"github.com/mycrt/captures/pkg/workload"
)

// as is l's server called by another user.
func (l *client) as(user string) *client {
	l.t.Helper()
	issuer, err := l.cfg.Issuer()
	if err != nil {
		l.t.Fatal(err)
	}
	tok, err := issuer.Token(user, time.Hour)
	if err != nil {
		l.t.Fatal(err)
	}
	other := *l
	other.tok = tok
	return &other
}

// appInserts downloads c's workload and returns the application's statements in it.
func (l *client) appInserts(c captureView) []string {
	l.t.Helper()
	resp := l.do("GET", fmt.Sprintf("/api/captures/%d/workload", c.ID), nil)
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		l.t.Fatalf("workload of capture %d: %d", c.ID, resp.StatusCode)
	}
	var got []string
	if err := workload.Each(resp.Body, func(ev workload.Event) error {
		if ev.User == "app" && ev.IsStatement() {
			got = append(got, ev.SQL)
		}
		return nil
	}); err != nil {
		l.t.Fatal(err)
	}
	return got
}

// TestLocalTwinsStayApart is the tenancy issue's first finding over HTTP: Alice records her
// server on 127.0.0.1:P, Mallory, who is no member of Alice's environment, his own on [::1]:P;
// the two servers claim one identity. Each workload holds exactly its own server's statements,
// Mallory's environment shows none of Alice's captures, and both logs end off, as found.
func TestLocalTwinsStayApart(t *testing.T) {
	t.Parallel()
	alicesDB := mysqltest.Start(t)
	accounts(t, alicesDB, "shop", "CREATE TABLE shop.orders (id INT PRIMARY KEY, total DECIMAL(10,2))")
	mallorysDB := mysqltest.StartWith(t, mysqltest.Options{Twin: alicesDB})
	accounts(t, mallorysDB, "shop", "CREATE TABLE shop.orders (id INT PRIMARY KEY, total DECIMAL(10,2))")
	alice := startLocal(t)
	mallory := alice.as("mallory")
	_, a := alice.startCapture(alicesDB, "shop", "alice records")
	menv, m := mallory.startCapture(mallorysDB, "shop", "mallory records")
	alice.waitStatus(a.ID, "RUNNING", 10*time.Second)
	mallory.waitStatus(m.ID, "RUNNING", 10*time.Second)

	run := func(db *mysqltest.Server, from int) (want []string) {
		app := db.As(t, "app", "app-pw", "shop")
		for i := from; i < from+5; i++ {
			q := fmt.Sprintf("INSERT INTO orders VALUES (%d, 1)", i)
			if _, err := app.Exec(q); err != nil {
				t.Fatal(err)
			}
			want = append(want, q)
		}
		return want
	}
	wantA, wantM := run(alicesDB, 0), run(mallorysDB, 100)
	var e environmentView
	mallory.call("GET", fmt.Sprintf("/api/environments/%d", menv.ID), nil, &e)
	if e.GeneralLog == nil || slices.Contains(e.GeneralLog.Holders, a.ID) {
		t.Errorf("Mallory's environment shows holders %+v, want none of Alice's (%d)", e.GeneralLog, a.ID)
	}
	alice.call("POST", fmt.Sprintf("/api/captures/%d/stop", a.ID), nil, nil)
	mallory.call("POST", fmt.Sprintf("/api/captures/%d/stop", m.ID), nil, nil)
	alice.waitStatus(a.ID, "DONE", 10*time.Second)
	mallory.waitStatus(m.ID, "DONE", 10*time.Second)
	for _, tc := range []struct {
		who  *client
		c    captureView
		want []string
	}{{alice, a, wantA}, {mallory, m, wantM}} {
		if got := tc.who.appInserts(tc.c); !slices.Equal(got, tc.want) {
			t.Errorf("capture %d holds %q, want exactly %q", tc.c.ID, got, tc.want)
		}
	}
	for _, db := range []*mysqltest.Server{alicesDB, mallorysDB} {
		eventually(t, 5*time.Second, "general log off on "+db.Addr(), func() bool { return generalLog(t, db) == "0" })
	}
}
