package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/digest"
	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/workload"
)

type digestView struct {
	CaptureID    int64
	Statements   int64
	Sessions     int
	From, To     *string
	Complete     bool
	Fingerprints []struct {
		ID, Fingerprint, Sample string
		Count                   int64
		Share                   float64
		Users, Databases        map[string]int64
	}
	Timeline struct {
		BucketSeconds int64
		Points        []struct {
			Time       string
			Statements int64
		}
	}
}

// workloadLines is a workload file's content: n point selects by app, one insert by etl, and
// a Connect row, which is no statement.
func workloadLines(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	at := time.Now().UTC().Add(-time.Minute)
	line := func(e workload.Event) {
		raw, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(raw)
		b.WriteByte('\n')
	}
	line(workload.Event{Time: at, Thread: 7, User: "app", Command: "Connect", SQL: "app@web on shop"})
	for i := range n {
		line(workload.Event{Time: at.Add(time.Duration(i) * time.Millisecond), Thread: 7 + uint64(i%2), User: "app", Command: "Query",
			SQL: fmt.Sprintf("SELECT total FROM orders WHERE id = %d", i)})
	}
	line(workload.Event{Time: at.Add(time.Second), Thread: 9, User: "etl", Command: "Execute", SQL: "INSERT INTO orders VALUES (1, 2.5)"})
	return gzipped(t, b.String())
}

// TestDigestOfAnOlderCapture: a capture recorded before digests were kept has only its
// workload file. Its digest is folded from it on the first request and kept, so the next
// request reads it alone.
func TestDigestOfAnOlderCapture(t *testing.T) {
	h := newHarness(t)
	env := h.environment("alice", map[string]bool{"bob": false})
	c := recordWorkload(t, h, h.capture("alice", env.ID, "older", nil).ID, h.server.Files.(blob.Dir), workloadLines(t, 40))
	path := pathf("/api/captures/%d/digest", c.ID)

	var first digestView
	if r := h.do("bob", "GET", path, nil); r.Status != 200 {
		t.Fatalf("digest: %d %s", r.Status, r.Body)
	} else if err := json.Unmarshal(r.Body, &first); err != nil {
		t.Fatal(err)
	}
	point := digest.ID("select total from orders where id = ?")
	if first.Statements != 41 || first.Sessions != 3 || !first.Complete || len(first.Fingerprints) != 2 ||
		first.Fingerprints[0].ID != point || first.Fingerprints[0].Count != 40 || first.Fingerprints[0].Share != 0.9756 ||
		first.Fingerprints[0].Users["app"] != 40 || len(first.Fingerprints[0].Databases) != 0 {
		t.Fatalf("digest %+v, want 41 statements in 3 sessions, 40 of them %s by app", first, point)
	}
	if first.From == nil || first.To == nil || first.Timeline.BucketSeconds != 1 || len(first.Timeline.Points) == 0 {
		t.Errorf("window %v–%v, timeline %+v", first.From, first.To, first.Timeline)
	}

	// Kept: with the workload file gone, the same digest is served.
	root := h.server.Files.(blob.Dir).Root
	if err := os.Remove(filepath.Join(root, filepath.FromSlash(layout.WorkloadKey(c)))); err != nil {
		t.Fatal(err)
	}
	if r := h.do("bob", "GET", path, nil); r.Status != 200 || !strings.Contains(string(r.Body), `"statements":41`) {
		t.Errorf("digest from its kept copy: %d %s", r.Status, r.Body)
	}

	// Narrowed to one account, and limited.
	var etl digestView
	if r := h.do("bob", "GET", path+"?user=etl", nil); r.Status != 200 {
		t.Fatalf("?user=etl: %d %s", r.Status, r.Body)
	} else if err := json.Unmarshal(r.Body, &etl); err != nil {
		t.Fatal(err)
	}
	if etl.Statements != 1 || etl.Sessions != 1 || len(etl.Fingerprints) != 1 || etl.Fingerprints[0].Share != 1 {
		t.Errorf("?user=etl: %+v, want the one insert", etl)
	}
	if r := h.do("bob", "GET", path+"?limit=1", nil); r.Status != 200 || strings.Count(string(r.Body), `"fingerprint":`) != 1 {
		t.Errorf("?limit=1: %d %s", r.Status, r.Body)
	}

	// Both files gone: nothing to digest, said plainly.
	if err := os.Remove(filepath.Join(root, filepath.FromSlash(layout.DigestKey(c)))); err != nil {
		t.Fatal(err)
	}
	if r := h.do("bob", "GET", path, nil); r.Status != 404 || !strings.Contains(r.errorMessage(t), "no digest") {
		t.Errorf("digest with its files gone: %d %s", r.Status, r.Body)
	}
}

func TestDigestBadInput(t *testing.T) {
	h := newHarness(t)
	env := h.environment("alice", nil)
	c := h.capture("alice", env.ID, "probed", nil)
	for _, q := range []string{"limit=0", "limit=1001", "limit=ten", "limit=", "limit=1.5", "limit=-1"} {
		r := h.do("alice", "GET", pathf("/api/captures/%d/digest?%s", c.ID, q), nil)
		if r.Status != 400 || r.errorMessage(t) != "limit must be an integer from 1 to 1000" {
			t.Errorf("?%s: %d %s", q, r.Status, r.Body)
		}
	}
	for _, q := range []string{"limit=1", "limit=1000", "user=nobody", "db=x"} {
		if r := h.do("alice", "GET", pathf("/api/captures/%d/digest?%s", c.ID, q), nil); r.Status != 200 {
			t.Errorf("?%s: %d %s", q, r.Status, r.Body)
		}
	}
}

// TestDigestWhileRecording: a running capture's digest is the one kept with its last
// fragment, not complete; a capture that failed before its first fragment has an empty one,
// complete.
func TestDigestWhileRecording(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	env := h.environment("alice", nil)
	id := h.capture("alice", env.ID, "live", nil).ID
	forceStatus(t, h.server.Store, id, capture.Running)
	c, err := h.server.Store.Capture(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	dg := digest.New()
	for i := range 5 {
		dg.Add(digest.Statement{Time: time.Now(), Thread: 1, User: "app", SQL: fmt.Sprintf("select %d", i)})
	}
	files := h.server.Files.(blob.Dir)
	if err := digest.Save(ctx, files, layout.DigestStateKey(c, 1), dg); err != nil {
		t.Fatal(err)
	}
	w := capture.Workload{Watermark: time.Now(), Fragments: 2, Statements: 5}
	if err := h.server.Store.SaveWorkload(ctx, id, c.Workload, w); err != nil {
		t.Fatal(err)
	}
	r := h.do("alice", "GET", pathf("/api/captures/%d/digest", id), nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"statements":5,"sessions":1,`) || !strings.Contains(string(r.Body), `"complete":false`) {
		t.Errorf("running: %d %s", r.Status, r.Body)
	}

	failed := h.capture("alice", env.ID, "failed", nil).ID
	forceStatus(t, h.server.Store, failed, capture.Failed)
	r = h.do("alice", "GET", pathf("/api/captures/%d/digest", failed), nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"statements":0,`) || !strings.Contains(string(r.Body), `"complete":true`) {
		t.Errorf("failed before its first fragment: %d %s", r.Status, r.Body)
	}
}
