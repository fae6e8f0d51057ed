package local_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/local"
	"github.com/mycrt/captures/pkg/local/localtest"
)

// TestLocalSchedulesByItself runs what `make run` runs, scheduler included, and watches captures
// move without anyone asking: against a database nobody can reach they fail, with a reason,
// the scheduled one never before its start, and the API keeps answering. How late after its
// second a start fires is BenchmarkScheduler1000's to measure, not a test's wall clock.
func TestLocalSchedulesByItself(t *testing.T) {
	t.Parallel()
	call := startLocal(t).call
	var env struct{ ID int64 }
	call("POST", "/api/environments", map[string]any{"envName": "nowhere", "host": "127.0.0.1", "port": 1, "dbName": "shop", "user": "app", "pass": "pw", "check": false}, &env)

	type view struct {
		ID             int64
		Status         string
		Reason         *string
		ScheduledStart *string
	}
	start := time.Now().UTC().Add(3 * time.Second).Truncate(time.Second)
	var scheduled, now view
	call("POST", "/api/captures", map[string]any{"name": "scheduled", "envId": env.ID, "status": "SCHEDULED", "scheduledStart": start.Format(time.RFC3339), "duration": 60}, &scheduled)
	call("POST", "/api/captures", map[string]any{"name": "right now", "envId": env.ID}, &now)

	// failed waits for capture id to fail; every answer that came back before notBefore must
	// show it still SCHEDULED.
	failed := func(id int64, notBefore time.Time) view {
		var v view
		if !poll(30*time.Second, func() bool {
			v = view{}
			if code := call("GET", fmt.Sprintf("/api/captures/%d", id), nil, &v); code != 200 {
				t.Fatalf("get %d: %d", id, code)
			}
			if answered := time.Now(); answered.Before(notBefore) && v.Status != "SCHEDULED" {
				t.Fatalf("capture %d is %s %v before its start", id, v.Status, notBefore.Sub(answered))
			}
			return v.Status == "FAILED"
		}) {
			t.Fatalf("capture %d is still %s", id, v.Status)
		}
		if v.Reason == nil || !strings.Contains(*v.Reason, "127.0.0.1:1") {
			t.Fatalf("capture %d failed with reason %v, want the host named", id, v.Reason)
		}
		return v
	}
	failed(now.ID, time.Time{})
	got := failed(scheduled.ID, start)
	t.Logf("scheduled capture failed %v after its start: %s", time.Since(start).Round(time.Millisecond), *got.Reason)
}

// poll checks cond every 50 ms until it holds or within has passed, and says whether it held.
func poll(within time.Duration, cond func() bool) bool {
	for deadline := time.Now().Add(within); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false
		}
	}
	return true
}

// eventually polls cond until it holds, failing t after within.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	if !poll(within, cond) {
		t.Fatalf("not within %s: %s", within, what)
	}
}

// client is what `make run` runs, scheduler ticking every second, and a client for its API.
type client struct {
	svc *local.Service
	cfg local.Config
	srv *httptest.Server
	tok string
	t   *testing.T
}

func startLocal(t *testing.T) *client { return startLocalWith(t, nil) }

// startLocalWith is startLocal with prepare run on the service before anything runs in it.
func startLocalWith(t *testing.T, prepare func(*local.Service)) *client {
	t.Helper()
	l, cfg := localtest.StartWith(t, "", prepare)
	srv := httptest.NewServer(l.API.Handler())
	t.Cleanup(srv.Close)
	issuer, _ := cfg.Issuer()
	tok, _ := issuer.Token("alice", time.Hour)
	return &client{svc: l, cfg: cfg, srv: srv, tok: tok, t: t}
}

// do sends a request as alice.
func (l *client) do(method, path string, body any) *http.Response {
	l.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, l.srv.URL+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+l.tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		l.t.Fatal(err)
	}
	return resp
}

// call sends a request as alice and decodes the JSON answer into out.
func (l *client) call(method, path string, body any, out any) int {
	l.t.Helper()
	resp := l.do(method, path, body)
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}
