package api_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/mysqltest"
	"github.com/mycrt/captures/pkg/recording"
)

// TestEnvironmentCheckShapes drives create, edit and check against a real MariaDB with the
// recorder's own check, every exchange held to openapi.yaml: the answers' check objects, a
// failure's 400, a failed re-check's 200 with ok false, a rename refused, a duplicate name.
func TestEnvironmentCheckShapes(t *testing.T) {
	db := mysqltest.Start(t)
	db.Exec(t, "CREATE DATABASE shop", "CREATE USER capturer IDENTIFIED BY 'cap-pw'", "GRANT SUPER ON *.* TO capturer",
		"GRANT SELECT ON mysql.general_log TO capturer", "GRANT SELECT ON shop.* TO capturer")
	h := newHarness(t)
	h.server.Checker = &recording.Recorder{Network: h.server.Network, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	body := map[string]any{"envName": "checked", "host": db.Host, "port": db.Port, "dbName": "shop", "user": "capturer", "pass": "cap-pw"}

	var created struct {
		ID    int64 `json:"id"`
		Check struct {
			OK       bool    `json:"ok"`
			Problem  *string `json:"problem"`
			Rotation string  `json:"rotation"`
		} `json:"check"`
	}
	h.must("alice", "POST", "/api/environments", body, &created)
	if !created.Check.OK || created.Check.Problem != nil || created.Check.Rotation != "none" {
		t.Errorf("created %+v, want checked ok, no rotation procedures", created)
	}
	body["envName"] = "Checked"
	if r := h.do("alice", "POST", "/api/environments", body); r.Status != 409 {
		t.Errorf("a name taken in another case: %d %s", r.Status, r.Body)
	}
	body["envName"], body["pass"] = "wrong one", "nope"
	if r := h.do("alice", "POST", "/api/environments", body); r.Status != 400 || !strings.Contains(r.errorMessage(t), "Access denied") {
		t.Errorf("a wrong password: %d %s", r.Status, r.Body)
	}
	path := pathf("/api/environments/%d", created.ID)
	if r := h.do("alice", "PUT", path, map[string]any{"pass": "nope"}); r.Status != 400 || !strings.Contains(r.errorMessage(t), "Access denied") {
		t.Errorf("an edit to a wrong password: %d %s", r.Status, r.Body)
	}
	var ok struct{ OK bool }
	if r := h.do("alice", "POST", path+"/check", nil); r.Status != 200 || json.Unmarshal(r.Body, &ok) != nil || !ok.OK {
		t.Errorf("the password kept after a refused edit checks: %d %s", r.Status, r.Body)
	}
	if r := h.do("alice", "PUT", path, map[string]any{"envName": "renamed"}); r.Status != 400 || !strings.Contains(r.errorMessage(t), "envName cannot be changed") {
		t.Errorf("a rename: %d %s", r.Status, r.Body)
	}
	if r := h.do("alice", "PUT", path, map[string]any{"user": "nobody", "check": false}); r.Status != 200 || !strings.Contains(string(r.Body), `"check":null`) {
		t.Errorf("an unchecked edit: %d %s", r.Status, r.Body)
	}
	if r := h.do("alice", "POST", path+"/check", nil); r.Status != 200 || !strings.Contains(string(r.Body), `"ok":false`) || !strings.Contains(string(r.Body), "nobody") {
		t.Errorf("a re-check that fails: %d %s", r.Status, r.Body)
	}
	if r := h.do("bob", "POST", path+"/check", nil); r.Status != 403 {
		t.Errorf("a check by a non-member: %d", r.Status)
	}
	h.server.Checker = nil
	if r := h.do("alice", "POST", path+"/check", nil); r.Status != 502 {
		t.Errorf("a check where none can be made: %d %s", r.Status, r.Body)
	}
}

// TestTargetEnvironmentCheck: a replay target's user needs no general log privileges: with
// "target": true the environment is saved and the check says what the user lacks; without it
// the capture check refuses the same user; a wrong password is refused either way.
func TestTargetEnvironmentCheck(t *testing.T) {
	db := mysqltest.Start(t)
	db.Exec(t, "CREATE DATABASE shop", "CREATE USER replayer IDENTIFIED BY 'rep-pw'", "GRANT ALL ON shop.* TO replayer")
	h := newHarness(t)
	h.server.Checker = &recording.Recorder{Network: h.server.Network, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	body := func(name, pass string, target any) map[string]any {
		b := map[string]any{"envName": name, "host": db.Host, "port": db.Port, "dbName": "shop", "user": "replayer", "pass": pass}
		if target != nil {
			b["target"] = target
		}
		return b
	}
	var created struct {
		ID    int64 `json:"id"`
		Check struct {
			OK         bool `json:"ok"`
			Version    string
			Privileges struct {
				SwitchLog *string `json:"switchLog"`
				ReadLog   bool    `json:"readLog"`
			} `json:"privileges"`
		} `json:"check"`
	}
	h.must("alice", "POST", "/api/environments", body("candidate", "rep-pw", true), &created)
	if !created.Check.OK || created.Check.Version == "" || created.Check.Privileges.SwitchLog != nil || created.Check.Privileges.ReadLog {
		t.Errorf("a target: %+v, want checked, the log's privileges reported missing", created.Check)
	}
	for _, tt := range []struct {
		name, pass string
		target     any
		want       string
	}{
		{"as a capture's", "rep-pw", nil, "SUPER"},
		{"as a capture's, target false", "rep-pw", false, "SUPER"},
		{"a target's wrong password", "nope", true, "Access denied"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			if r := h.do("alice", "POST", "/api/environments", body(tt.name, tt.pass, tt.target)); r.Status != 400 || !strings.Contains(r.errorMessage(t), tt.want) {
				t.Errorf("%d %s, want 400 naming %q", r.Status, r.Body, tt.want)
			}
		})
	}
	// The environment keeps that it is a target: GET says so, an edit that does not say
	// otherwise and the check route check it as a target's; an edit to target false is
	// checked as a capture's, and refused for this user.
	path := pathf("/api/environments/%d", created.ID)
	var got struct {
		Target bool `json:"target"`
	}
	if h.must("alice", "GET", path, nil, &got); !got.Target {
		t.Errorf("GET %s: target false, want true", path)
	}
	if r := h.do("alice", "PUT", path, map[string]any{"pass": "rep-pw"}); r.Status != 200 {
		t.Errorf("an edit of a target checked as a capture's: %d %s", r.Status, r.Body)
	}
	var check struct {
		OK bool `json:"ok"`
	}
	if h.must("alice", "POST", path+"/check", nil, &check); !check.OK {
		t.Errorf("the check route on a target: %+v, want ok", check)
	}
	if r := h.do("alice", "PUT", path, map[string]any{"pass": "rep-pw", "target": false}); r.Status != 400 || !strings.Contains(r.errorMessage(t), "SUPER") {
		t.Errorf("an edit to target false: %d %s, want 400 naming SUPER", r.Status, r.Body)
	}
	if h.must("alice", "GET", path, nil, &got); !got.Target {
		t.Errorf("a refused edit changed target")
	}
}

// A capture in an environment that is only a replay target is refused, saying how to make it
// one that may be captured; one in the same environment once it is not a target is made.
func TestCaptureRefusedOnATarget(t *testing.T) {
	h := newHarness(t)
	var env envView
	h.must("alice", "POST", "/api/environments", map[string]any{
		"envName": "only a target", "host": "db.example.com", "port": 3306, "dbName": "shop", "user": "app", "pass": "hunter2",
		"target": true,
	}, &env)
	path := pathf("/api/environments/%d", env.ID)
	for _, tt := range []struct {
		name   string
		target bool
		status int
	}{
		{"a target", true, 400},
		{"no longer a target", false, 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := h.with(t)
			h.must("alice", "PUT", path, map[string]any{"target": tt.target}, nil)
			r := h.do("alice", "POST", "/api/captures", map[string]any{"name": "on " + tt.name, "envId": env.ID})
			if r.Status != tt.status {
				t.Fatalf("%d %s, want %d", r.Status, r.Body, tt.status)
			}
			if tt.status == 400 && r.errorMessage(t) != capture.ErrEnvTargetOnly.Message {
				t.Errorf("message %q, want %q", r.errorMessage(t), capture.ErrEnvTargetOnly.Message)
			}
		})
	}
}
