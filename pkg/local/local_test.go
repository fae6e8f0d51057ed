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
// within a tick of when they were due, and the API keeps answering.
func TestLocalSchedulesByItself(t *testing.T) {
	call := startLocal(t).call
	var env struct{ ID int64 }
	call("POST", "/api/environments", map[string]any{"envName": "nowhere", "host": "127.0.0.1", "port": 1, "dbName": "shop", "user": "app", "pass": "pw"}, &env)

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

	waitFor := func(id int64, deadline time.Time) view {
		for {
			var v view
			if code := call("GET", fmt.Sprintf("/api/captures/%d", id), nil, &v); code != 200 {
				t.Fatalf("get %d: %d", id, code)
			}
			if v.Status == "FAILED" || time.Now().After(deadline) {
				return v
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	got := waitFor(now.ID, time.Now().Add(5*time.Second))
	if got.Status != "FAILED" || got.Reason == nil || !strings.Contains(*got.Reason, "127.0.0.1:1") {
		t.Fatalf("immediate capture: %+v, want FAILED naming the host", got)
	}
	if v := waitFor(scheduled.ID, start.Add(-500*time.Millisecond)); v.Status != "SCHEDULED" {
		t.Fatalf("scheduled capture moved early: %+v", v)
	}
	got = waitFor(scheduled.ID, start.Add(2*time.Second))
	if got.Status != "FAILED" || got.Reason == nil || !strings.Contains(*got.Reason, "127.0.0.1:1") {
		t.Fatalf("scheduled capture a tick after its start: %+v, want FAILED naming the host", got)
	}
	t.Logf("scheduled capture failed %v after its start: %s", time.Since(start).Round(time.Millisecond), *got.Reason)
}

// client is what `make run` runs, scheduler ticking every second, and a client for its API.
type client struct {
	cfg local.Config
	srv *httptest.Server
	tok string
	t   *testing.T
}

func startLocal(t *testing.T) *client {
	t.Helper()
	l, cfg := localtest.Start(t, "")
	srv := httptest.NewServer(l.API.Handler())
	t.Cleanup(srv.Close)
	issuer, _ := cfg.Issuer()
	tok, _ := issuer.Token("alice", time.Hour)
	return &client{cfg: cfg, srv: srv, tok: tok, t: t}
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
