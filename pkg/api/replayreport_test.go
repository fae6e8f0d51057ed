package api_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/auth"
	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/digest"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/outcome"
)

// The report's and the compare's answers, as a client reads them.
type (
	latencyMs struct{ Total, P50, P95, P99, Max float64 }
	errorCode struct {
		Count   int64  `json:"count"`
		Message string `json:"message"`
	}
	reportView struct {
		ReplayID   int64 `json:"replayId"`
		CaptureID  int64 `json:"captureId"`
		Complete   bool  `json:"complete"`
		Statements struct {
			Captured, Replayed, Skipped, Errors, NotReplayed int64
		} `json:"statements"`
		Lateness struct {
			P50Ms, P99Ms, MaxMs float64
		} `json:"lateness"`
		RelativeAccuracy float64 `json:"relativeAccuracy"`
		FingerprintCount int     `json:"fingerprintCount"`
		Fingerprints     []struct {
			ID          string               `json:"id"`
			Fingerprint string               `json:"fingerprint"`
			Sample      *string              `json:"sample"`
			Count       int64                `json:"count"`
			Errors      int64                `json:"errors"`
			ErrorCodes  map[string]errorCode `json:"errorCodes"`
			Rows        int64                `json:"rows"`
			LatencyMs   latencyMs            `json:"latencyMs"`
		} `json:"fingerprints"`
	}
	sideView struct {
		Count, Errors, Rows int64
		ErrorCodes          map[string]errorCode `json:"errorCodes"`
		LatencyMs           latencyMs            `json:"latencyMs"`
	}
	compareView struct {
		Base, Candidate, CaptureID int64
		Complete                   bool
		Summary                    struct{ Regressed, Improved, NewErrors, Diverged, Same int }
		Compared, RowsDiffer       int64
		FingerprintCount           int
		Fingerprints               []struct {
			ID          string   `json:"id"`
			Fingerprint string   `json:"fingerprint"`
			Sample      *string  `json:"sample"`
			Base        sideView `json:"base"`
			Candidate   sideView `json:"candidate"`
			P95Ratio    *float64 `json:"p95Ratio"`
			RowsDiffer  int64    `json:"rowsDiffer"`
			NewErrors   int64    `json:"newErrors"`
			Verdict     string   `json:"verdict"`
		} `json:"fingerprints"`
	}
)

// The statements of the replays below, as the capture recorded them.
const (
	selectSQL = "SELECT c FROM sbtest1 WHERE id=5"
	insertSQL = "INSERT INTO sbtest1 (id, k, c, pad) VALUES (5, 1, 'c', 'p')"
	updateSQL = "UPDATE sbtest1 SET k=k+1 WHERE id=5"
)

func idOf(t testing.TB, sql string) uint64 {
	d, err := outcome.ParseDigest(digest.ID(digest.Fingerprint(sql)))
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// keepDigest stores a digest of the statements for the done capture id, as its workload's.
func (h *harness) keepDigest(id int64, sqls ...string) {
	h.t.Helper()
	c, err := h.server.Store.Capture(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	d := digest.New()
	for i, sql := range sqls {
		d.Add(digest.Statement{Time: time.Unix(int64(i), 0), Thread: 1, User: "app", SQL: sql})
	}
	if err := digest.Save(context.Background(), h.server.Files.(blob.Dir), layout.DigestKey(c), d); err != nil {
		h.t.Fatal(err)
	}
}

// replayed stores a replay of capture done in status st, with one shard per element of shards,
// each shard's records its outcome file.
func (h *harness) replayed(done captureView, sourceEnv, target int64, name string, st capture.Status, shards ...[]outcome.Record) int64 {
	h.t.Helper()
	ctx := context.Background()
	r, err := capture.NewReplay(capture.ReplayRequest{Name: name, CaptureID: done.ID, EnvID: target}, auth.LocalSub("alice"), time.Now())
	if err != nil {
		h.t.Fatal(err)
	}
	var n int64
	for _, recs := range shards {
		n += int64(len(recs))
	}
	r.CaptureEnvID, r.Status, r.Target = sourceEnv, st, pathf("target-of-%s:1", name)
	r.Plan = capture.ReplayPlan{Shards: len(shards), Statements: n, Captured: n + 7}
	r.Progress = capture.ReplayProgress{Statements: n, Of: n}
	if r, err = h.server.Store.CreateReplay(ctx, r); err != nil {
		h.t.Fatal(err)
	}
	for i, recs := range shards {
		var buf bytes.Buffer
		w := outcome.NewWriter(&buf)
		for j := range recs {
			if err := w.Write(&recs[j]); err != nil {
				h.t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			h.t.Fatal(err)
		}
		if err := h.server.Files.(blob.Dir).Put(ctx, layout.ReplayOutcomeKey(r.ID, i, 0), bytes.NewReader(buf.Bytes())); err != nil {
			h.t.Fatal(err)
		}
	}
	return r.ID
}

// outcomes are session s's statements: n of sql, each taking lat and returning rows, the
// first errs failing with errno.
func outcomes(t testing.TB, session uint32, sql string, n int, lat time.Duration, rows int64, errno uint16, errs int) []outcome.Record {
	out := make([]outcome.Record, n)
	for i := range out {
		out[i] = outcome.Record{Session: session, Seq: uint32(i), Digest: idOf(t, sql), Latency: lat, Rows: rows, Start: time.Duration(i) * time.Millisecond}
		if i < errs {
			out[i].Errno, out[i].Message, out[i].Rows = errno, "Unknown column 'pad' in 'INSERT INTO'", 0
		}
	}
	return out
}

func TestReplayReportAndCompare(t *testing.T) {
	h := newHarness(t)
	h.server.Store.Quotas.Environments = 100
	ms := time.Millisecond
	source := h.environment("alice", nil)
	target := h.targetEnv("alice", map[string]bool{"tom": false}) // tom reads the replays, not the capture
	done := h.doneCapture("alice", source.ID, "recorded")
	h.keepDigest(done.ID, selectSQL, insertSQL, updateSQL)
	base := h.replayed(done, source.ID, target.ID, "base", capture.Done,
		append(outcomes(t, 0, selectSQL, 50, ms, 1, 0, 0), outcomes(t, 1, updateSQL, 40, ms, 1, 0, 0)...),
		outcomes(t, 2, insertSQL, 30, 2*ms, 1, 0, 0))
	slowSelect := outcomes(t, 0, selectSQL, 50, ms, 1, 0, 0)
	for i := range 5 {
		slowSelect[10+i].Rows = 0 // the rows a failed insert left missing
	}
	cand := h.replayed(done, source.ID, target.ID, "candidate", capture.Done,
		slowSelect, outcomes(t, 1, updateSQL, 40, 3*ms, 1, 0, 0), outcomes(t, 2, insertSQL, 30, 2*ms, 1, 1054, 30))

	t.Run("report", func(t *testing.T) {
		var r reportView
		h.must("alice", "GET", pathf("/api/replays/%d/report", cand), nil, &r)
		if r.ReplayID != cand || r.CaptureID != done.ID || !r.Complete || r.RelativeAccuracy != 0.01 || r.FingerprintCount != 3 {
			t.Errorf("report %+v", r)
		}
		if s := r.Statements; s.Replayed != 120 || s.Errors != 30 || s.Captured != 127 || s.NotReplayed != 7 {
			t.Errorf("statements %+v", s)
		}
		// by total: the updates (120 ms), then the selects and inserts (50 and 60 ms)
		first := r.Fingerprints[0]
		if first.ID != digest.ID(digest.Fingerprint(updateSQL)) || first.Fingerprint != digest.Fingerprint(updateSQL) ||
			first.Sample == nil || *first.Sample != updateSQL || first.LatencyMs.Total != 120 || first.LatencyMs.Max != 3 {
			t.Errorf("first row %+v", first)
		}
		if p95 := first.LatencyMs.P95; p95 < 2.97 || p95 > 3.03 {
			t.Errorf("p95 %v, want 3 within 1 %%", p95)
		}
		var byErrors reportView
		h.must("alice", "GET", pathf("/api/replays/%d/report?sort=errors&limit=1", cand), nil, &byErrors)
		if len(byErrors.Fingerprints) != 1 || byErrors.FingerprintCount != 3 {
			t.Fatalf("limit 1: %+v", byErrors)
		}
		ins := byErrors.Fingerprints[0]
		if e := ins.ErrorCodes["1054"]; ins.Errors != 30 || e.Count != 30 || e.Message != "Unknown column 'pad' in 'INSERT INTO'" {
			t.Errorf("inserts %+v", ins)
		}
		var tom reportView
		h.must("tom", "GET", pathf("/api/replays/%d/report", cand), nil, &tom)
		if len(tom.Fingerprints) != 3 || tom.Fingerprints[0].Sample != nil {
			t.Errorf("a reader of the target only sees samples: %+v", tom.Fingerprints)
		}
		var tomErrors reportView // nor the literals a server's message quotes
		h.must("tom", "GET", pathf("/api/replays/%d/report?sort=errors&limit=1", cand), nil, &tomErrors)
		if e := tomErrors.Fingerprints[0].ErrorCodes["1054"]; e.Count != 30 || e.Message != "Unknown column '?' in '?'" {
			t.Errorf("the inserts' errors, as tom: %+v", e)
		}
	})

	t.Run("compare", func(t *testing.T) {
		var c compareView
		h.must("alice", "GET", pathf("/api/replays/compare?base=%d&candidate=%d&sort=verdict", base, cand), nil, &c)
		if c.Base != base || c.Candidate != cand || c.CaptureID != done.ID || !c.Complete || c.Compared != 120 || c.RowsDiffer != 35 {
			t.Errorf("compare %+v", c)
		}
		if s := c.Summary; s.Regressed != 1 || s.NewErrors != 1 || s.Diverged != 1 || s.Improved != 0 || s.Same != 0 {
			t.Errorf("summary %+v", s)
		}
		want := []struct {
			sql     string
			verdict string
			differ  int64
		}{{insertSQL, "errors", 30}, {selectSQL, "diverged", 5}, {updateSQL, "regressed", 0}}
		for i, w := range want {
			f := c.Fingerprints[i]
			if f.ID != digest.ID(digest.Fingerprint(w.sql)) || f.Verdict != w.verdict || f.RowsDiffer != w.differ {
				t.Errorf("row %d: %s %s %d differ, want %s %d", i, f.Fingerprint, f.Verdict, f.RowsDiffer, w.verdict, w.differ)
			}
		}
		if up := c.Fingerprints[2]; up.P95Ratio == nil || *up.P95Ratio < 2.9 || *up.P95Ratio > 3.1 {
			t.Errorf("the updates' ratio %v", up.P95Ratio)
		}
		if ins := c.Fingerprints[0]; ins.NewErrors != 30 || ins.Candidate.ErrorCodes["1054"].Count != 30 || len(ins.Base.ErrorCodes) != 0 {
			t.Errorf("the inserts %+v", ins)
		}
		var only compareView
		h.must("tom", "GET", pathf("/api/replays/compare?base=%d&candidate=%d&verdict=regressed", base, cand), nil, &only)
		if only.FingerprintCount != 1 || len(only.Fingerprints) != 1 || only.Fingerprints[0].Verdict != "regressed" ||
			only.Fingerprints[0].Sample != nil || only.Summary != c.Summary {
			t.Errorf("regressed only, as tom: %+v", only)
		}
		var tomErrors compareView
		h.must("tom", "GET", pathf("/api/replays/compare?base=%d&candidate=%d&verdict=errors", base, cand), nil, &tomErrors)
		if len(tomErrors.Fingerprints) != 1 || tomErrors.Fingerprints[0].Candidate.ErrorCodes["1054"].Message != "Unknown column '?' in '?'" {
			t.Errorf("the inserts' errors, as tom: %+v", tomErrors.Fingerprints)
		}
	})

	t.Run("errors", func(t *testing.T) {
		other := h.doneCapture("alice", source.ID, "another")
		elsewhere := h.replayed(other, source.ID, target.ID, "of another capture", capture.Done)
		stranger := h.environment("sam", nil)
		mine := h.doneCapture("sam", stranger.ID, "sams")
		private := h.replayed(mine, stranger.ID, stranger.ID, "sams replay", capture.Done)
		cases := []struct {
			user, path string
			status     int
			message    string
		}{
			{"alice", pathf("/api/replays/%d/report?sort=lastSeen", cand), 400, "sort must be one of total, p95, errors, count"},
			{"alice", pathf("/api/replays/%d/report?limit=0", cand), 400, "limit must be an integer from 1 to 1000"},
			{"alice", pathf("/api/replays/%d/report?limit=1001", cand), 400, "limit must be an integer from 1 to 1000"},
			{"alice", "/api/replays/999/report", 404, "Replay not found"},
			{"alice", "/api/replays/x/report", 400, "Replay id must be a positive integer"},
			{"alice", pathf("/api/replays/%d/report", private), 403, ""},
			{"alice", pathf("/api/replays/compare?candidate=%d", cand), 400, "base must be a positive integer"},
			{"alice", pathf("/api/replays/compare?base=%d&candidate=0", base), 400, "candidate must be a positive integer"},
			{"alice", pathf("/api/replays/compare?base=%d&candidate=%d", base, elsewhere), 400, "Replays of different captures cannot be compared"},
			{"alice", pathf("/api/replays/compare?base=%d&candidate=%d&sort=total", base, cand), 400, "sort must be one of impact, p95Ratio, verdict, rowsDiffer"},
			{"alice", pathf("/api/replays/compare?base=%d&candidate=%d&verdict=worse", base, cand), 400, "verdict must be one of errors, diverged, regressed, improved, same"},
			{"alice", pathf("/api/replays/compare?base=%d&candidate=%d&limit=x", base, cand), 400, "limit must be an integer from 1 to 1000"},
			{"alice", pathf("/api/replays/compare?base=%d&candidate=999", base), 404, "Replay not found"},
			{"alice", pathf("/api/replays/compare?base=%d&candidate=%d", base, private), 403, ""},
		}
		for _, c := range cases {
			t.Run(c.path, func(t *testing.T) {
				r := h.do(c.user, "GET", c.path, nil)
				if r.Status != c.status {
					t.Fatalf("%d %s, want %d", r.Status, r.Body, c.status)
				}
				if msg := r.errorMessage(t); c.message != "" && msg != c.message {
					t.Errorf("message %q, want %q", msg, c.message)
				}
			})
		}
	})

	t.Run("live", func(t *testing.T) {
		running := h.replayed(done, source.ID, target.ID, "running", capture.Running, outcomes(t, 0, selectSQL, 3, ms, 1, 0, 0))
		var r reportView
		h.must("alice", "GET", pathf("/api/replays/%d/report", running), nil, &r)
		if r.Complete || r.Statements.Replayed != 3 {
			t.Errorf("a running replay's report: %+v", r)
		}
		var c compareView
		h.must("alice", "GET", pathf("/api/replays/compare?base=%d&candidate=%d", base, running), nil, &c)
		if c.Complete {
			t.Errorf("a compare with a running replay is complete")
		}
	})
}
