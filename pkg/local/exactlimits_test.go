package local_test

import (
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// TestLimitsAreExact: 895 statements run into a capture with maxStatements 500 leave exactly
// the first 500 in its workload and its digest; into one with maxBytes, a workload file within
// it holding the first statements run, none missing between them. A scheduler tick collects
// part way through, so the cut falls in a later collection than the first.
func TestLimitsAreExact(t *testing.T) {
	l, env, app := shopOrders(t)
	for i, tt := range []struct {
		name   string
		limit  string
		value  int64
		reason string
	}{
		{"five hundred", "maxStatements", 500, "Stopped at its limit of 500 statements (maxStatements)"},
		{"four kilobytes", "maxBytes", 4096, "Stopped at its limit of 4096 bytes (maxBytes)"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var c captureView
			if code := l.call("POST", "/api/captures", map[string]any{"name": tt.name, "envId": env.ID, tt.limit: tt.value}, &c); code != 200 {
				t.Fatalf("create: %d", code)
			}
			l.waitStatus(c.ID, "RUNNING", 10*time.Second)
			var run []string
			for n := range 895 {
				id := i*1000 + n
				q := fmt.Sprintf("INSERT INTO orders VALUES (%d, '%s')", id, strings.Repeat(fmt.Sprintf("%x", id*7919), 8))
				if _, err := app.Exec(q); err != nil {
					t.Fatal(err)
				}
				run = append(run, q)
				if n == 100 {
					eventually(t, 10*time.Second, "a tick collects the first statements", func() bool {
						var v captureView
						l.call("GET", fmt.Sprintf("/api/captures/%d", c.ID), nil, &v)
						return v.Workload != nil && v.Workload.Statements > 0
					})
				}
			}
			done := l.waitStatus(c.ID, "DONE", 15*time.Second)
			if done.Reason == nil || *done.Reason != tt.reason {
				t.Errorf("reason %v, want %q", done.Reason, tt.reason)
			}
			got := l.appInserts(c)
			want := int(tt.value)
			if tt.limit != "maxStatements" {
				want = len(got)
				if want < 10 || want == len(run) {
					t.Errorf("maxBytes kept %d of %d statements, want a cut after at least 10", want, len(run))
				}
			}
			if strings.Join(got, "\n") != strings.Join(run[:want], "\n") {
				t.Fatalf("the workload holds %d statements, want exactly the first %d run", len(got), want)
			}
			if done.Workload == nil || done.Workload.Statements != int64(want) {
				t.Errorf("the capture reports %+v, want %d statements", done.Workload, want)
			}
			var dg struct{ Statements int64 }
			if code := l.call("GET", fmt.Sprintf("/api/captures/%d/digest", c.ID), nil, &dg); code != 200 || dg.Statements != int64(want) {
				t.Errorf("digest: %d, %d statements, want %d", code, dg.Statements, want)
			}
			resp := l.do("GET", fmt.Sprintf("/api/captures/%d/workload", c.ID), nil)
			size, err := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || size != done.Workload.Bytes {
				t.Errorf("workload file: %d bytes (%v), the capture says %d", size, err, done.Workload.Bytes)
			}
			if tt.limit == "maxBytes" && size > tt.value {
				t.Errorf("workload file of %d bytes, over maxBytes %d", size, tt.value)
			}
		})
	}
}
