package api_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/workload"
)

var linkNext = regexp.MustCompile(`^<([^>]+)>; rel="next"$`)

// pages follows path's Link headers as user to the last page, failing t if a page is not 200,
// holds more than most or its next page is not the same path; it returns the pages' bodies.
func (h *harness) pages(user, path string, most int) [][]byte {
	h.t.Helper()
	var out [][]byte
	for path != "" {
		req, _ := http.NewRequest("GET", h.url+path, nil)
		req.Header.Set("Authorization", "Bearer "+h.token(user))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			h.t.Fatal(err)
		}
		var items []json.RawMessage
		err = json.NewDecoder(resp.Body).Decode(&items)
		resp.Body.Close()
		if resp.StatusCode != 200 || err != nil || len(items) > most {
			h.t.Fatalf("GET %s: %d, %d items (%v), want 200 and at most %d", path, resp.StatusCode, len(items), err, most)
		}
		b, _ := json.Marshal(items)
		out = append(out, b)
		next := ""
		if link := resp.Header.Get("Link"); link != "" {
			m := linkNext.FindStringSubmatch(link)
			if m == nil {
				h.t.Fatalf("GET %s: Link %q is no rel=\"next\"", path, link)
			}
			u, err := url.Parse(m[1])
			if err != nil || u.Path != strings.Split(path, "?")[0] || u.Query().Get("cursor") == "" {
				h.t.Fatalf("GET %s: next page %q, want the same path with a cursor", path, m[1])
			}
			next = m[1]
			if len(items) != most {
				h.t.Errorf("GET %s: a page of %d with more after it, want %d", path, len(items), most)
			}
		}
		path = next
	}
	return out
}

// TestCapturesPage: 3,000 captures over six environments, their starts in another order than
// their ids, come 100 a page through the Link header's cursors, each once, newest start first
// (upcoming ones by their scheduled start), the environments' lists merged; one environment's
// alone too; a cancelled plan sits where it was cancelled. Other parameters ride along with
// the cursor.
func TestCapturesPage(t *testing.T) {
	h := newHarness(t)
	h.server.Store.Quotas.LiveCaptures = 10_000
	var envs []int64
	for i := range 6 {
		members := map[string]bool{}
		if i == 0 {
			members["bob"] = false
		}
		envs = append(envs, h.environment("alice", members).ID)
	}
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	type made struct {
		id    int64
		at    time.Time
		envID int64
	}
	var (
		mu  sync.Mutex
		all []made
		wg  sync.WaitGroup
	)
	// A writer an environment: each create adds to its environment's live captures, one
	// item, which concurrent creates would mostly retry on.
	for w, envID := range envs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				n := w*500 + i
				// An hour out at the least: however long these creates take, the plan cancelled
				// after them is listed below every one.
				start := now.Add(time.Hour + time.Duration(n*7919%3000)*time.Minute)
				c, err := capture.New(capture.Request{Name: fmt.Sprintf("capture %04d", n), EnvID: envID, ScheduledStart: &start}, "alice", now)
				if err == nil {
					c, err = h.server.Store.CreateCapture(ctx, c)
				}
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				all = append(all, made{c.ID, start, envID})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	// One more, cancelled: it is listed at its cancellation, below every plan.
	cancelled := h.capture("alice", envs[0], "cancelled one", map[string]any{"status": "SCHEDULED", "scheduledStart": now.Add(9999 * time.Minute).Format(time.RFC3339)})
	h.must("alice", "POST", pathf("/api/captures/%d/stop", cancelled.ID), nil, nil)
	slices.SortFunc(all, func(a, b made) int { return cmp.Or(b.at.Compare(a.at), cmp.Compare(b.id, a.id)) })
	all = append(all, made{cancelled.ID, time.Now(), envs[0]}) // cancelled now, before every plan's start
	for _, tt := range []struct {
		name, user, path string
		envID            int64 // 0: all
		per              int
	}{
		{"every environment", "alice", "/api/captures", 0, 100},
		{"one environment", "bob", pathf("/api/captures?envId=%d", envs[0]), envs[0], 100},
		{"bob's environments", "bob", "/api/captures?limit=1000", envs[0], 1000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			var got []int64
			for _, b := range h.pages(tt.user, tt.path, tt.per) {
				var page []captureView
				if err := json.Unmarshal(b, &page); err != nil {
					t.Fatal(err)
				}
				for _, c := range page {
					got = append(got, c.ID)
				}
			}
			var want []int64
			for _, m := range all {
				if tt.envID == 0 || m.envID == tt.envID {
					want = append(want, m.id)
				}
			}
			if !slices.Equal(got, want) {
				for i := range min(len(got), len(want)) {
					if got[i] != want[i] {
						t.Logf("first difference at %d: got %v, want %v", i, got[max(0, i-2):min(len(got), i+3)], want[max(0, i-2):min(len(want), i+3)])
						break
					}
				}
				t.Fatalf("%d captures listed (first %v), want the %d newest start first (first %v)", len(got), got[:min(5, len(got))], len(want), want[:5])
			}
		})
	}
	// Parameters go on with the cursor: a name narrows every page.
	pages := h.pages("alice", "/api/captures?limit=1&name=capture+0042", 1)
	if len(pages) != 1 || !strings.Contains(string(pages[0]), `"name":"capture 0042"`) {
		t.Errorf("?name= with a limit: %s", pages)
	}
}

// TestPagingBadInput: limits out of 1 to 1000 and cursors this list did not give are 400s.
func TestPagingBadInput(t *testing.T) {
	h := newHarness(t)
	env := h.environment("alice", nil)
	h.environment("alice", nil)
	c := h.capture("alice", env.ID, "probed", nil)
	r := h.do("alice", "GET", "/api/environments?limit=1", nil)
	var envs []envView
	if r.Status != 200 || json.Unmarshal(r.Body, &envs) != nil || len(envs) != 1 {
		t.Fatalf("environments, one a page: %d %s", r.Status, r.Body)
	}
	req, _ := http.NewRequest("GET", h.url+"/api/environments?limit=1", nil)
	req.Header.Set("Authorization", "Bearer "+h.token("alice"))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	envCursor := ""
	if m := linkNext.FindStringSubmatch(resp.Header.Get("Link")); m != nil {
		u, _ := url.Parse(m[1])
		envCursor = u.Query().Get("cursor")
	}
	if envCursor == "" {
		t.Fatalf("environments, one a page, of two: Link %q", resp.Header.Get("Link"))
	}
	for _, path := range []string{"/api/captures", "/api/environments", pathf("/api/captures/%d/digest", c.ID)} {
		for _, q := range []string{"limit=0", "limit=1001", "limit=ten", "limit=", "limit=-1"} {
			if r := h.do("alice", "GET", path+"?"+q, nil); r.Status != 400 || r.errorMessage(t) != "limit must be an integer from 1 to 1000" {
				t.Errorf("%s?%s: %d %s", path, q, r.Status, r.Body)
			}
		}
		for _, cur := range []string{"x", "%00", "Y2FwdHVyZXM6MQ", envCursor} {
			if path == "/api/environments" && cur == envCursor {
				continue
			}
			if r := h.do("alice", "GET", path+"?cursor="+cur, nil); r.Status != 400 || !strings.HasPrefix(r.errorMessage(t), "cursor is not one this list gave") {
				t.Errorf("%s?cursor=%s: %d %s", path, cur, r.Status, r.Body)
			}
		}
	}
	if r := h.do("alice", "GET", pathf("/api/captures/%d/digest?sort=size", c.ID), nil); r.Status != 400 || !strings.Contains(r.errorMessage(t), "count, firstSeen, lastSeen, fingerprint") {
		t.Errorf("?sort=size: %d %s", r.Status, r.Body)
	}
}

// TestEnvironmentsPage: seven environments, three a page, newest first, each once.
func TestEnvironmentsPage(t *testing.T) {
	h := newHarness(t)
	var want []int64
	for range 7 {
		want = append([]int64{h.environment("alice", nil).ID}, want...)
	}
	h.environment("bob", nil) // not alice's
	var got []int64
	for _, b := range h.pages("alice", "/api/environments?limit=3", 3) {
		var page []envView
		json.Unmarshal(b, &page)
		for _, e := range page {
			got = append(got, e.ID)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("environments %v, want %v", got, want)
	}
}

// TestDigestPages: 250 fingerprints come 100 a page in every sort, each once, in that sort's
// order, with the total beside them; ?database= narrows as ?db= does.
func TestDigestPages(t *testing.T) {
	h := newHarness(t)
	env := h.environment("alice", nil)
	var b strings.Builder
	at := time.Now().UTC().Add(-time.Hour)
	letters := func(i int) string {
		return string(rune('a'+i/26%26)) + string(rune('a'+i%26)) + string(rune('a'+i/676))
	}
	for i := range 250 {
		for n := range 1 + i%7 {
			db := "shop"
			if i%2 == 1 {
				db = "crm"
			}
			raw, _ := json.Marshal(workload.Event{Time: at.Add(time.Duration((i*37%250)*10+n) * time.Second), Thread: 1, User: "app", DB: db,
				Command: "Query", SQL: fmt.Sprintf("SELECT col_%s FROM orders WHERE id = %d", letters(i), n)})
			b.Write(raw)
			b.WriteByte('\n')
		}
	}
	c := recordWorkload(t, h, h.capture("alice", env.ID, "many kinds", nil).ID, h.server.Files.(blob.Dir), gzipped(t, b.String()))
	type row struct {
		ID, Fingerprint     string
		Count               int64
		FirstSeen, LastSeen string
	}
	for _, tt := range []struct {
		query string
		total int
		order func(a, b row) int
	}{
		{"", 250, func(a, b row) int { return cmp.Or(cmp.Compare(b.Count, a.Count), cmp.Compare(a.ID, b.ID)) }},
		{"sort=firstSeen", 250, func(a, b row) int { return cmp.Or(cmp.Compare(a.FirstSeen, b.FirstSeen), cmp.Compare(a.ID, b.ID)) }},
		{"sort=lastSeen", 250, func(a, b row) int { return cmp.Or(cmp.Compare(b.LastSeen, a.LastSeen), cmp.Compare(a.ID, b.ID)) }},
		{"sort=fingerprint&database=crm", 125, func(a, b row) int { return cmp.Or(cmp.Compare(a.Fingerprint, b.Fingerprint), cmp.Compare(a.ID, b.ID)) }},
		{"sort=fingerprint&db=crm", 125, func(a, b row) int { return cmp.Or(cmp.Compare(a.Fingerprint, b.Fingerprint), cmp.Compare(a.ID, b.ID)) }},
	} {
		t.Run(tt.query, func(t *testing.T) {
			h := h.with(t)
			path := pathf("/api/captures/%d/digest?limit=100&%s", c.ID, tt.query)
			var got []row
			for path != "" {
				req, _ := http.NewRequest("GET", h.url+path, nil)
				req.Header.Set("Authorization", "Bearer "+h.token("alice"))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				var d struct {
					FingerprintCount int
					Fingerprints     []row
				}
				err = json.NewDecoder(resp.Body).Decode(&d)
				resp.Body.Close()
				if resp.StatusCode != 200 || err != nil || d.FingerprintCount != tt.total || len(d.Fingerprints) > 100 {
					t.Fatalf("%s: %d %v, %d of %d fingerprints, want at most 100 of %d", path, resp.StatusCode, err, len(d.Fingerprints), d.FingerprintCount, tt.total)
				}
				got = append(got, d.Fingerprints...)
				path = ""
				if m := linkNext.FindStringSubmatch(resp.Header.Get("Link")); m != nil {
					path = m[1]
				}
			}
			ids := map[string]bool{}
			for _, r := range got {
				ids[r.ID] = true
			}
			if len(got) != tt.total || len(ids) != tt.total || !slices.IsSortedFunc(got, tt.order) {
				t.Errorf("%d fingerprints (%d distinct), sorted %v; want each of %d once, in order", len(got), len(ids), slices.IsSortedFunc(got, tt.order), tt.total)
			}
		})
	}
}
