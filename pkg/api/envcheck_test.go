package api_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

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
