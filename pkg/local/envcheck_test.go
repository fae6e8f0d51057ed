package local_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/mysqltest"
)

type checkView struct {
	OK      bool
	Problem *string
	Version *string
	TLS     struct {
		Mode      string
		Encrypted bool
	}
	Privileges struct {
		SwitchLog *string
		ReadLog   bool
	}
	Rotation *string
}

type envView struct {
	ID    int64
	User  string
	Port  int
	Check *checkView
}

// TestEnvironmentsAreChecked against a real MariaDB through make run's handler: a wrong
// password is a 400 naming the failure and saves nothing, unless check is false; a good
// environment answers what the check found; a duplicate name is a 409; the check re-runs on
// demand (members too) and says what failed; an edit is checked too (a user without the
// privilege is refused, the environment left as it was), is refused while a capture records,
// and mends the environment whose password was wrong.
func TestEnvironmentsAreChecked(t *testing.T) {
	db := mysqltest.Start(t)
	accounts(t, db, "shop", "CREATE TABLE shop.orders (id INT PRIMARY KEY, total INT)")
	db.Exec(t, "CREATE USER reader IDENTIFIED BY 'rd-pw'", "GRANT SELECT ON mysql.general_log TO reader", "GRANT SELECT ON shop.* TO reader")
	l := startLocal(t)
	body := func(name, user, pass string, extra ...any) map[string]any {
		b := map[string]any{"envName": name, "host": db.Host, "port": db.Port, "dbName": "shop", "user": user, "pass": pass}
		for i := 0; i+1 < len(extra); i += 2 {
			b[extra[i].(string)] = extra[i+1]
		}
		return b
	}
	errorOf := func(method, path string, b any) (int, string) {
		resp := l.do(method, path, b)
		defer resp.Body.Close()
		var e struct{ Message string }
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e.Message
	}

	if code, msg := errorOf("POST", "/api/environments", body("shop", "capturer", "wrong")); code != 400 || !strings.Contains(msg, "Access denied") || !strings.Contains(msg, "check") {
		t.Errorf("a wrong password: %d %q, want 400 saying access was denied", code, msg)
	}
	var envs []envView
	if l.call("GET", "/api/environments", nil, &envs); len(envs) != 0 {
		t.Fatalf("a refused environment was saved: %+v", envs)
	}
	var unchecked, good envView
	if code := l.call("POST", "/api/environments", body("later", "capturer", "wrong", "check", false), &unchecked); code != 200 || unchecked.Check != nil {
		t.Fatalf("check false: %d %+v, want saved unchecked", code, unchecked)
	}
	if code := l.call("POST", "/api/environments", body("shop", "capturer", "cap-pw"), &good); code != 200 || good.Check == nil {
		t.Fatalf("a good environment: %d %+v", code, good)
	}
	if ch := good.Check; !ch.OK || ch.Version == nil || !strings.Contains(*ch.Version, "MariaDB") || ch.TLS.Mode != "PREFERRED" ||
		ch.Privileges.SwitchLog == nil || *ch.Privileges.SwitchLog != "SET GLOBAL" || !ch.Privileges.ReadLog || ch.Rotation == nil || *ch.Rotation != "MyCRT procedures" {
		t.Errorf("the check found %+v", *good.Check)
	}
	if code, msg := errorOf("POST", "/api/environments", body("SHOP", "capturer", "cap-pw")); code != 409 || !strings.Contains(msg, "already have an environment of that name") {
		t.Errorf("a duplicate name: %d %q", code, msg)
	}

	// Checked again on demand, by a member too.
	if code := l.call("POST", fmt.Sprintf("/api/environments/%d/users", unchecked.ID), map[string]any{"user": "bob"}, nil); code != 200 {
		t.Fatalf("add bob: %d", code)
	}
	var again checkView
	if code := l.as("bob").call("POST", fmt.Sprintf("/api/environments/%d/check", unchecked.ID), nil, &again); code != 200 ||
		again.OK || again.Problem == nil || !strings.Contains(*again.Problem, "Access denied") {
		t.Errorf("checking the unchecked one: %d %+v, want ok false naming the failure", code, again)
	}
	if code := l.as("bob").call("PUT", fmt.Sprintf("/api/environments/%d", unchecked.ID), map[string]any{"pass": "cap-pw"}, nil); code != 403 {
		t.Errorf("an edit by a member who is no admin: %d, want 403", code)
	}

	// Edits are checked: a user who may not switch the log is refused, nothing changes.
	path := fmt.Sprintf("/api/environments/%d", unchecked.ID)
	if code, msg := errorOf("PUT", path, map[string]any{"user": "reader", "pass": "rd-pw"}); code != 400 || !strings.Contains(msg, "lacks the SUPER privilege") {
		t.Errorf("an edit to a user without SUPER: %d %q", code, msg)
	}
	var same envView
	if l.call("GET", path, nil, &same); same.User != "capturer" {
		t.Errorf("after a refused edit the user is %q", same.User)
	}
	// The right password mends it.
	var mended envView
	if code := l.call("PUT", path, map[string]any{"pass": "cap-pw"}, &mended); code != 200 || mended.Check == nil || !mended.Check.OK {
		t.Fatalf("the right password: %d %+v", code, mended)
	}
	if code := l.call("POST", path+"/check", nil, &again); code != 200 || !again.OK {
		t.Errorf("check after mending: %d %+v", code, again)
	}

	// Not while a capture records; again once it is done.
	var c captureView
	if code := l.call("POST", "/api/captures", map[string]any{"name": "holding", "envId": unchecked.ID}, &c); code != 200 {
		t.Fatalf("create capture: %d", code)
	}
	l.waitStatus(c.ID, "RUNNING", 10*time.Second)
	if code, msg := errorOf("PUT", path, map[string]any{"port": db.Port}); code != 409 || !strings.Contains(msg, "captures recording") {
		t.Errorf("an edit while recording: %d %q", code, msg)
	}
	l.call("POST", fmt.Sprintf("/api/captures/%d/stop", c.ID), nil, nil)
	l.waitStatus(c.ID, "DONE", 10*time.Second)
	if code := l.call("PUT", path, map[string]any{"port": db.Port, "check": false}, &mended); code != 200 || mended.Check != nil {
		t.Errorf("an edit once done: %d %+v", code, mended)
	}
}
