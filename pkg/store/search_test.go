package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/store"
)

// TestCapturesSearchAndWindow: a search keeps names containing the text in any case, a window
// keeps captures listed in [From, To), and paging through either gives each match exactly once,
// newest first, however many captures a page must read past.
func TestCapturesSearchAndWindow(t *testing.T) {
	st, envID := newStoreWithEnv(t)
	ctx := context.Background()
	base := time.Now().UTC().Add(time.Hour).Truncate(time.Minute)
	store.SetMaxExamined(t, 200)
	const n = 210 // more than one search page reads of an environment
	for i := range n {
		at := base.Add(time.Duration(i) * time.Minute)
		name := fmt.Sprintf("nightly %04d", i)
		if i%50 == 7 {
			name = fmt.Sprintf("Upgrade-Check %04d", i)
		}
		// Planned and cancelled at once (listed at its cancellation), so the environment's
		// quota of live captures is never reached.
		c, err := capture.New(capture.Request{Name: name, EnvID: envID, ScheduledStart: &at}, "a", time.Now())
		if err == nil {
			c, err = st.CreateCapture(ctx, c)
		}
		if err != nil {
			t.Fatal(err)
		}
		cancelled, err := capture.Stop(c, at)
		if err == nil {
			err = st.Move(ctx, cancelled, c.Status)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	all := func(t *testing.T, q store.CaptureQuery, limit int) (names []string, pages int) {
		t.Helper()
		after := ""
		for {
			page, next, err := st.CapturesPage(ctx, []int64{envID}, q, after, limit)
			if err != nil {
				t.Fatal(err)
			}
			if len(page) > limit {
				t.Fatalf("a page of %d, limit %d", len(page), limit)
			}
			for _, c := range page {
				names = append(names, c.Name)
			}
			pages++
			if next == "" {
				return names, pages
			}
			if pages > 100 {
				t.Fatal("paging does not end")
			}
			after = next
		}
	}
	for _, tt := range []struct {
		name  string
		q     store.CaptureQuery
		limit int
		want  func(i int, name string) bool
		pages int // how many pages it takes, where that is the point
	}{
		{"search any case", store.CaptureQuery{Search: "upgrade-CHECK"}, 2, func(i int, name string) bool { return i%50 == 7 }, 0},
		{"window", store.CaptureQuery{From: base.Add(100 * time.Minute), To: base.Add(150 * time.Minute)}, 20, func(i int, _ string) bool { return i >= 100 && i < 150 }, 0},
		{"search in a window", store.CaptureQuery{Search: "nightly 01", From: base.Add(90 * time.Minute), To: base.Add(120 * time.Minute)}, 7, func(i int, name string) bool {
			return i >= 100 && i < 120 && i%50 != 7
		}, 0},
		{"window after everything", store.CaptureQuery{From: base.Add(n * time.Hour)}, 10, func(int, string) bool { return false }, 1},
		// No match: the first page reads maxExamined (200 here) captures and ends there, empty, with
		// a next position; the second reads the last 10.
		{"search reads a bounded page", store.CaptureQuery{Search: "weekly"}, 10, func(int, string) bool { return false }, 2},
		{"exact name and search", store.CaptureQuery{Name: "Upgrade-Check 0107", Search: "check"}, 10, func(i int, _ string) bool { return i == 107 }, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var want []string
			for i := n - 1; i >= 0; i-- {
				name := fmt.Sprintf("nightly %04d", i)
				if i%50 == 7 {
					name = fmt.Sprintf("Upgrade-Check %04d", i)
				}
				if tt.want(i, name) {
					want = append(want, name)
				}
			}
			got, pages := all(t, tt.q, tt.limit)
			if !slices.Equal(got, want) {
				t.Fatalf("got %d captures %v…, want %d %v…", len(got), head(got), len(want), head(want))
			}
			if tt.pages != 0 && pages != tt.pages {
				t.Errorf("%d pages, want %d", pages, tt.pages)
			}
		})
	}
}

func head(s []string) []string { return s[:min(len(s), 5)] }
