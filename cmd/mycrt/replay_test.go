package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/auth"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/digest"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/local/localtest"
	"github.com/mycrt/captures/pkg/outcome"
)

// TestReplayReportAndCompare reads two stored replays of one capture through the command line
// against make run's handler: the report's summary and table, the compare's table with the
// API's verdicts, and --fail-on's exit codes, with and without --json.
func TestReplayReportAndCompare(t *testing.T) {
	svc, cfg := localtest.Start(t, "")
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	m := mycrt{t: t, url: srv.URL, config: t.TempDir()}
	m.ok("login", "--user", "alice")
	m.ok("env", "create", "--name", "source", "--host", "127.0.0.1", "--db", "shop", "--db-user", "app", "--no-check")
	m.ok("env", "create", "--name", "target", "--host", "127.0.0.2", "--db", "shop", "--db-user", "app", "--no-check")

	ctx := context.Background()
	st, files := svc.API.Store, cfg.Files()
	now := time.Now().UTC()
	c, err := st.CreateCapture(ctx, capture.Capture{EnvID: 1, Name: "recorded", OwnerID: auth.LocalSub("alice"), Status: capture.Done,
		Start: &now, End: &now, Workload: capture.Workload{Fragments: 1, Statements: 150, Bytes: 100}, Created: now, Updated: now})
	if err != nil {
		t.Fatal(err)
	}
	sqls := map[string]string{"select": "SELECT c FROM sbtest1 WHERE id=5", "insert": "INSERT INTO sbtest1 (id, pad) VALUES (5, 'p')",
		"update": "UPDATE sbtest1 SET k=k+1 WHERE id=5"}
	d := digest.New()
	for _, sql := range sqls {
		d.Add(digest.Statement{Time: now, Thread: 1, User: "app", SQL: sql})
	}
	if err := digest.Save(ctx, files, layout.DigestKey(c), d); err != nil {
		t.Fatal(err)
	}
	ids := map[string]uint64{}
	for kind, sql := range sqls {
		if ids[kind], err = outcome.ParseDigest(digest.ID(digest.Fingerprint(sql))); err != nil {
			t.Fatal(err)
		}
	}
	// replay stores a DONE replay of c whose session s ran n statements of each kind.
	replay := func(name string, lat map[string]time.Duration, errno map[string]uint16, rows map[string]int64) {
		t.Helper()
		r, err := capture.NewReplay(capture.ReplayRequest{Name: name, CaptureID: c.ID, EnvID: 2}, auth.LocalSub("alice"), now)
		if err != nil {
			t.Fatal(err)
		}
		r.CaptureEnvID, r.Status, r.Target = 1, capture.Done, name+":1"
		r.Plan = capture.ReplayPlan{Shards: 1, Statements: 150, Captured: 150}
		if r, err = st.CreateReplay(ctx, r); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		w := outcome.NewWriter(&buf)
		for s, kind := range []string{"select", "insert", "update"} {
			for q := range 50 {
				rec := outcome.Record{Session: uint32(s), Seq: uint32(q), Digest: ids[kind], Latency: lat[kind], Rows: 1}
				if e := errno[kind]; e != 0 {
					rec.Errno, rec.Message, rec.Rows = e, "Unknown column 'pad' in 'INSERT INTO'", 0
				}
				if n, ok := rows[kind]; ok && q < 4 {
					rec.Rows = n
				}
				if err := w.Write(&rec); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		if err := files.Put(ctx, layout.ReplayOutcomeKey(r.ID, 0, 0), bytes.NewReader(buf.Bytes())); err != nil {
			t.Fatal(err)
		}
	}
	ms := time.Millisecond
	replay("base", map[string]time.Duration{"select": ms, "insert": ms, "update": ms}, nil, nil)
	replay("candidate", map[string]time.Duration{"select": ms, "insert": ms, "update": 4 * ms}, map[string]uint16{"insert": 1054}, map[string]int64{"select": 0})

	out := m.ok("replay", "report", "2")
	t.Logf("report:\n%s", out)
	if !strings.Contains(out, "150 of 150 statements replayed, 0 skipped, 50 failed, 0 not replayed") ||
		!strings.Contains(out, "error 1054 ×50: Unknown column 'pad' in 'INSERT INTO'") || !strings.Contains(out, digest.Fingerprint(sqls["update"])) {
		t.Errorf("report:\n%s", out)
	}
	if first := strings.Split(out, "\n")[2]; !strings.Contains(first, digest.ID(digest.Fingerprint(sqls["update"]))) {
		t.Errorf("by total, the updates first: %q", first)
	}

	// The CLI's verdicts are the API's.
	var api struct {
		Summary      struct{ Regressed, NewErrors, Diverged int }
		Fingerprints []struct{ ID, Verdict string }
	}
	if err := json.Unmarshal([]byte(m.ok("replay", "compare", "1", "2", "--json")), &api); err != nil {
		t.Fatal(err)
	}
	if api.Summary.Regressed != 1 || api.Summary.NewErrors != 1 || api.Summary.Diverged != 1 || len(api.Fingerprints) != 3 {
		t.Fatalf("the API's compare: %+v", api)
	}
	table := m.ok("replay", "compare", "1", "2")
	t.Logf("compare:\n%s", table)
	if !strings.HasPrefix(table, "candidate 2 against base 1: 1 regressed, 0 improved, 1 with new errors, 1 diverged, 0 same; 54 of 150 statements differ") ||
		!strings.Contains(table, "new error 1054 ×50") {
		t.Errorf("compare:\n%s", table)
	}
	for _, f := range api.Fingerprints {
		var line string
		for _, l := range strings.Split(table, "\n") {
			if strings.Contains(l, f.ID) {
				line = l
			}
		}
		if !strings.HasPrefix(line, f.Verdict+" ") {
			t.Errorf("%s: the API says %s, the CLI %q", f.ID, f.Verdict, line)
		}
	}

	gates := []struct {
		args     []string
		code     int
		inStderr string
	}{
		{[]string{"--fail-on", "regressed"}, exitAPI, "candidate 2 against base 1: 1 fingerprint regressed"},
		{[]string{"--fail-on", "errors,diverged"}, exitAPI, "1 fingerprint with new errors, 54 statements differ"},
		{[]string{"--fail-on", "errors", "--json"}, exitAPI, "new errors"},
		{[]string{"--fail-on", "improved"}, exitUsage, "want regressed, errors or diverged"},
		{[]string{"--sort", "total"}, exitUsage, "want impact"},
	}
	for _, g := range gates {
		code, stdout, stderr := m.run("", append([]string{"replay", "compare", "1", "2"}, g.args...)...)
		if code != g.code || !strings.Contains(stderr, g.inStderr) {
			t.Errorf("compare %v: exit %d, %q, want %d and %q", g.args, code, stderr, g.code, g.inStderr)
		}
		if slices.Contains(g.args, "--json") && !json.Valid([]byte(stdout)) {
			t.Errorf("compare %v: stdout is not the API's JSON: %q", g.args, stdout)
		}
	}
	if code, _, stderr := m.run("", "replay", "compare", "1", "1", "--fail-on", "regressed,errors,diverged"); code != exitOK {
		t.Errorf("a replay against itself fails the gate: exit %d %q", code, stderr)
	}
	if code, _, stderr := m.run("", "replay", "compare", "1"); code != exitUsage {
		t.Errorf("one replay: exit %d %q", code, stderr)
	}
}
