package api_test

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/blob/blobtest"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/layout"
)

// recordWorkload stores body as c's workload file, as the recorder leaves it at the stop.
func recordWorkload(t testing.TB, h *harness, id int64, files interface {
	Put(context.Context, string, io.ReadSeeker) error
}, body string) capture.Capture {
	t.Helper()
	ctx := context.Background()
	forceStatus(t, h.server.Store, id, capture.Done)
	c, err := h.server.Store.Capture(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if err := files.Put(ctx, layout.WorkloadKey(c), strings.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	w := capture.Workload{Watermark: time.Now(), Statements: 1, Bytes: int64(len(body))}
	if err := h.server.Store.SaveWorkload(ctx, id, c.Workload, w); err != nil {
		t.Fatal(err)
	}
	c.Workload = w
	return c
}

// get fetches path as user without following redirects.
func (h *harness) get(user, path string) *http.Response {
	h.t.Helper()
	req, _ := http.NewRequest("GET", h.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+h.token(user))
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	h.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func gzipped(t *testing.T, s string) string {
	var b strings.Builder
	w := gzip.NewWriter(&b)
	io.WriteString(w, s)
	w.Close()
	return b.String()
}

func TestWorkloadDownload(t *testing.T) {
	h := newHarness(t)
	env := h.environment("alice", map[string]bool{"bob": false})
	c := h.capture("alice", env.ID, "recorded", nil)
	path := pathf("/api/captures/%d/workload", c.ID)

	// Before the stop there is nothing to download: a JSON 404 saying why.
	if r := h.do("alice", "GET", path, nil); r.Status != 404 || !strings.Contains(r.errorMessage(t), "no workload yet") {
		t.Fatalf("before the stop: %d %s", r.Status, r.Body)
	}
	body := gzipped(t, `{"time":"2026-11-28T12:00:00Z","thread":7,"user":"app","host":"web","command":"Query","sql":"SELECT 1"}`+"\n")
	recordWorkload(t, h, c.ID, h.server.Files.(blob.Dir), body)

	// Locally the API serves the file itself, to any member.
	resp := h.get("bob", path)
	got, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(got) != body || resp.Header.Get("Content-Type") != "application/gzip" {
		t.Fatalf("local download: %d %q (%d bytes)", resp.StatusCode, resp.Header.Get("Content-Type"), len(got))
	}
	if r := h.do("carol", "GET", path, nil); r.Status != 403 {
		t.Errorf("a non-member downloads: %d", r.Status)
	}

	// On AWS it redirects to a short-lived presigned URL of the bucket.
	bucket := blobtest.S3(t, "workloads").Bucket("workloads")
	h.server.Files = bucket
	c2 := h.capture("alice", env.ID, "in the bucket", nil)
	recordWorkload(t, h, c2.ID, bucket, body)
	resp = h.get("bob", pathf("/api/captures/%d/workload", c2.ID))
	loc := resp.Header.Get("Location")
	if resp.StatusCode != 302 || !strings.Contains(loc, "X-Amz-Signature=") || !strings.Contains(loc, "X-Amz-Expires=300") {
		t.Fatalf("AWS download: %d Location %q, want a 302 to a 5-minute presigned URL", resp.StatusCode, loc)
	}
	dl, err := http.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Body.Close()
	if got, _ := io.ReadAll(dl.Body); dl.StatusCode != 200 || string(got) != body {
		t.Fatalf("following the link: %d, %d bytes", dl.StatusCode, len(got))
	}
}

func TestDeleteLogs(t *testing.T) {
	h := newHarness(t)
	env := h.environment("alice", nil)
	files := h.server.Files.(blob.Dir)
	exists := func(c capture.Capture) bool {
		r, err := files.Open(context.Background(), layout.WorkloadKey(c))
		if err == nil {
			r.Close()
		}
		return err == nil
	}
	for _, tc := range []struct {
		query string
		kept  bool
	}{
		{"", true},
		{"?deleteLogs=false", true},
		{"?deleteLogs=true", false},
	} {
		c := h.capture("alice", env.ID, "logs "+strings.TrimPrefix(tc.query, "?deleteLogs="), nil)
		rec := recordWorkload(t, h, c.ID, files, "x")
		h.must("alice", "DELETE", pathf("/api/captures/%d%s", c.ID, tc.query), nil, nil)
		if exists(rec) != tc.kept {
			t.Errorf("delete%s: workload kept = %v, want %v", tc.query, !tc.kept, tc.kept)
		}
	}
}
