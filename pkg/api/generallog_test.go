package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/lease"
)

// TestGeneralLogShowsOnlyTheCallersOwn: two users' environments that proved they reach one
// server share its lease. Each sees only its own environments' captures among the holders,
// and a restore's reason, which names hosts and users, only when every environment that
// reached the server is theirs.
func TestGeneralLogShowsOnlyTheCallersOwn(t *testing.T) {
	h := newHarness(t)
	alices := h.environment("alice", nil)
	mallorys := h.environment("mallory", nil)
	a := h.capture("alice", alices.ID, "alice records", nil)
	m := h.capture("mallory", mallorys.ID, "mallory records", nil)
	ctx := context.Background()
	st := h.server.Store
	key := lease.ServerGroup{Claim: "mariadb/db:3306/1", ID: "0123456789abcdef"}.Server()
	now := time.Now()
	for _, hold := range []struct{ env, capture int64 }{{alices.ID, a.ID}, {mallorys.ID, m.ID}} {
		if err := st.SetEnvironmentLease(ctx, hold.env, key); err != nil {
			t.Fatal(err)
		}
		if err := st.HoldLog(ctx, key, hold.capture, hold.env, map[string]string{"general_log": "0"}, 0, now, now); err != nil {
			t.Fatal(err)
		}
	}
	type view struct {
		GeneralLog struct {
			Holders   []int64 `json:"holders"`
			LastError *string `json:"lastError"`
		} `json:"generalLog"`
	}
	for _, tc := range []struct {
		user string
		env  int64
		want int64
	}{{"alice", alices.ID, a.ID}, {"mallory", mallorys.ID, m.ID}} {
		var got view
		h.must(tc.user, "GET", pathf("/api/environments/%d", tc.env), nil, &got)
		if len(got.GeneralLog.Holders) != 1 || got.GeneralLog.Holders[0] != tc.want {
			t.Errorf("%s sees holders %v, want only [%d]", tc.user, got.GeneralLog.Holders, tc.want)
		}
	}

	// Both let go; the restore through Alice's environment fails with a reason naming it.
	for _, id := range []int64{a.ID, m.ID} {
		if _, err := st.ReleaseLog(ctx, key, id, now); err != nil {
			t.Fatal(err)
		}
	}
	until := now.Add(time.Minute)
	if _, err := st.ClaimRestore(ctx, key, now, until); err != nil {
		t.Fatal(err)
	}
	secret := "cannot connect to alices-db.internal:3306 as capturer"
	if err := st.RestoreFailed(ctx, key, until, secret, now, now); err != nil {
		t.Fatal(err)
	}
	var got view
	h.must("mallory", "GET", pathf("/api/environments/%d", mallorys.ID), nil, &got)
	if e := got.GeneralLog.LastError; e == nil || strings.Contains(*e, "alices-db") {
		t.Errorf("mallory sees the restore's reason %v, want one that names nobody's host", e)
	}
	// Once Mallory is a member of Alice's environment too, both are his: he sees the reason.
	h.must("alice", "POST", pathf("/api/environments/%d/users", alices.ID), map[string]any{"user": "mallory", "isAdmin": false}, nil)
	h.must("mallory", "GET", pathf("/api/environments/%d", mallorys.ID), nil, &got)
	if e := got.GeneralLog.LastError; e == nil || *e != secret {
		t.Errorf("a member of both environments sees %v, want the reason", e)
	}
}
