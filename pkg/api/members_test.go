package api_test

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/mycrt/captures/pkg/auth"
	"github.com/mycrt/captures/pkg/auth/cognitotest"
	"github.com/mycrt/captures/pkg/awscognito"
	"github.com/mycrt/captures/pkg/capture"
)

type memberView struct {
	User, Name string
	IsAdmin    bool
}

// TestMembersByName on the Cognito fake: a member added by user name, or by email, is stored
// by the sub Cognito has for them, so their own token (whose sub it is) finds the environment;
// members, owners and captures show names beside ids; a member is removed by name too. Nobody
// by that name is 404, an email two users share 400, a pool that cannot be asked 502 without
// AWS's text.
func TestMembersByName(t *testing.T) {
	h := newHarness(t)
	dir := &cognitotest.Directory{Pool: "eu-west-1_Pool", Users: []cognitotest.User{
		{Username: "robert", Email: "bob@example.com", Sub: auth.LocalSub("bob")},
		{Username: "carol", Email: "shared@example.com", Sub: auth.LocalSub("carol")},
		{Username: "dave", Email: "shared@example.com", Sub: auth.LocalSub("dave")},
	}}
	idp := httptest.NewServer(dir)
	t.Cleanup(idp.Close)
	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("k", "s", "")}
	h.server.Users = awscognito.New(cfg, idp.URL, dir.Pool)

	env := h.environment("alice", nil)
	users := pathf("/api/environments/%d/users", env.ID)
	if r := h.do("bob", "GET", pathf("/api/environments/%d", env.ID), nil); r.Status != 403 {
		t.Fatalf("bob before he is added: %d", r.Status)
	}
	var added memberView
	h.must("alice", "POST", users, map[string]any{"user": "robert"}, &added)
	if added.User != auth.LocalSub("bob") || added.Name != "robert" {
		t.Errorf("added %+v, want robert's sub and name", added)
	}
	if r := h.do("bob", "GET", pathf("/api/environments/%d", env.ID), nil); r.Status != 200 {
		t.Errorf("bob, added by his user name, reads the environment: %d %s", r.Status, r.Body)
	}
	h.must("alice", "POST", users, map[string]any{"user": "carol", "isAdmin": true}, nil)
	var members []memberView
	h.must("alice", "GET", users, nil, &members)
	names := map[string]string{}
	for _, m := range members {
		names[m.User] = m.Name
	}
	if len(members) != 3 || names[auth.LocalSub("alice")] != "alice" || names[auth.LocalSub("bob")] != "robert" || names[auth.LocalSub("carol")] != "carol" {
		t.Errorf("members %+v, want alice, robert and carol by their subs", members)
	}
	var shown struct {
		OwnerID   string  `json:"ownerId"`
		OwnerName *string `json:"ownerName"`
	}
	h.must("bob", "GET", pathf("/api/environments/%d", env.ID), nil, &shown)
	if shown.OwnerID != auth.LocalSub("alice") || shown.OwnerName == nil || *shown.OwnerName != "alice" {
		t.Errorf("environment's owner %+v, want alice's sub and name", shown)
	}
	c := h.capture("bob", env.ID, "bobs capture", nil)
	h.must("alice", "GET", pathf("/api/captures/%d", c.ID), nil, &shown)
	if shown.OwnerID != auth.LocalSub("bob") || shown.OwnerName == nil || *shown.OwnerName != "bob" {
		t.Errorf("capture's owner %+v, want bob's sub and his token's name", shown)
	}

	for _, tt := range []struct {
		user   string
		status int
		msg    string
	}{
		{"robert", 409, ""},
		{"bob@example.com", 409, ""},
		{"nobody", 404, capture.ErrNoSuchUser.Message},
		{"shared@example.com", 400, capture.ErrUserAmbiguous.Message},
	} {
		r := h.do("alice", "POST", users, map[string]any{"user": tt.user})
		if r.Status != tt.status || (tt.msg != "" && r.errorMessage(t) != tt.msg) {
			t.Errorf("add %q: %d %s, want %d %q", tt.user, r.Status, r.Body, tt.status, tt.msg)
		}
	}
	// Removed by email; carol leaves by her own name.
	h.must("alice", "DELETE", users+"/bob@example.com", nil, nil)
	if r := h.do("bob", "GET", pathf("/api/environments/%d", env.ID), nil); r.Status != 403 {
		t.Errorf("bob after he is removed by email: %d", r.Status)
	}
	h.must("carol", "DELETE", users+"/carol", nil, nil)
	if r := h.do("alice", "DELETE", users+"/robert", nil); r.Status != 404 {
		t.Errorf("remove robert again: %d %s", r.Status, r.Body)
	}

	h.server.Users = awscognito.New(cfg, idp.URL, "eu-west-1_Gone")
	r := h.do("alice", "POST", users, map[string]any{"user": "robert"})
	if r.Status != 502 || r.errorMessage(t) != capture.ErrUsersUnavailable.Message || strings.Contains(string(r.Body), "Gone") {
		t.Errorf("pool that cannot be asked: %d %s", r.Status, r.Body)
	}
	if n := len(dir.Requests()); n == 0 {
		t.Error("no ListUsers reached the fake")
	}
}

// TestLocalTokensAreNotNames: make run's tokens carry a sub that is not the name, as
// Cognito's do, the same for every token of a name; members added by name are stored by it.
func TestLocalTokensAreNotNames(t *testing.T) {
	h := newHarness(t)
	env := h.environment("alice", map[string]bool{"bob": false})
	var members []memberView
	h.must("bob", "GET", pathf("/api/environments/%d/users", env.ID), nil, &members)
	b, _ := json.Marshal(members)
	for _, m := range members {
		if m.User == m.Name || m.User != auth.LocalSub(m.Name) || len(m.User) != 36 {
			t.Errorf("member %+v: want a UUID derived from the name, not the name", m)
		}
	}
	if len(members) != 2 || auth.LocalSub("alice") == auth.LocalSub("bob") {
		t.Errorf("members %s", b)
	}
}
