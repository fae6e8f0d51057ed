package local_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mycrt/captures/pkg/local/localtest"
	"github.com/mycrt/captures/pkg/mysqltest"
)

// replayView is what these tests read of a replay.
type replayView struct {
	ID       int64
	Name     string
	EnvID    int64
	Status   string
	Speed    float64
	Mode     string
	Reason   *string
	Progress struct{ Statements, Of, Errors int64 }
}

// TestConsoleReplay replays a capture from its screen in Chromium: a target whose account may
// not switch the general log, refused as a capture's environment and taken as only a replay
// target; a target on the capture's own server refused at the form, then a replay into a second MariaDB at twice the speed; its
// screen (target, speed, mode) following it to DONE without a reload (progress, plan, and the
// rows in the target), a rename, the capture's list of its replays, one scheduled at a time and
// cancelled, the replays list by capture name, the two compared (the same one twice refused at
// the field), and a delete; the replay screens at 1280 and 390 px. consoleReport and
// consoleCompare read the report and the comparison of a second replay into the same target.
func TestConsoleReplay(t *testing.T) {
	if _, err := os.Stat(filepath.Join(webDir, "main.js")); err != nil {
		t.Skip("the console is not built: make web (make test builds it)")
	}
	ctx := browser(t, 1280, 900)
	db, target := mysqltest.Start(t), mysqltest.Start(t)
	for _, d := range []*mysqltest.Server{db, target} {
		d.Exec(t, "CREATE DATABASE shop", "CREATE TABLE shop.orders (id INT PRIMARY KEY)")
	}
	svc, _ := localtest.Start(t, webDir)
	srv := newServer(t, svc)
	tok, err := svc.Issuer.Token("alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	api := &client{svc: svc, srv: srv, tok: tok, t: t}
	b := &tab{t: t, ctx: ctx, url: srv.URL}

	newEnv := func(body map[string]any) int64 {
		var env struct{ ID int64 }
		if code := api.call("POST", "/api/environments", body, &env); code != 200 {
			t.Fatalf("create environment %v: %d", body["envName"], code)
		}
		return env.ID
	}
	shop := newEnv(map[string]any{"envName": "shop", "host": db.Host, "port": db.Port, "dbName": "shop", "user": "root", "pass": ""})
	sameServer := newEnv(map[string]any{"envName": "same box", "host": db.Host, "port": db.Port, "dbName": "other", "user": "root", "check": false})
	// The target's account may write its tables but not switch or read the general log.
	target.Exec(t, "CREATE USER replayer IDENTIFIED BY 'rp-pw'", "GRANT ALL ON shop.* TO replayer")
	var c captureView
	if code := api.call("POST", "/api/captures", map[string]any{"name": "to replay", "envId": shop}, &c); code != 200 {
		t.Fatalf("create capture: %d", code)
	}
	api.waitStatus(c.ID, "RUNNING", 20*time.Second)
	for i := range 5 {
		db.Exec(t, fmt.Sprintf("INSERT INTO shop.orders VALUES (%d)", i))
	}
	eventually(t, 10*time.Second, "a tick collected the inserts", func() bool {
		got := api.get(c.ID)
		return got.Workload != nil && got.Workload.Statements >= 5
	})
	api.call("POST", fmt.Sprintf("/api/captures/%d/stop", c.ID), nil, nil)
	api.waitStatus(c.ID, "DONE", 20*time.Second)

	form := `#new-replay`
	envForm := `#new-environment`
	b.run("sign in, and a target whose account cannot switch the log: refused as a capture's environment",
		cspWatch(),
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(`#signin input[name=user]`, chromedp.ByQuery),
		chromedp.SendKeys(`#signin input[name=user]`, "alice", chromedp.ByQuery),
		chromedp.Click(`#signin button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#captures`, chromedp.ByQuery),
		chromedp.Navigate(srv.URL+"/#/environments"),
		chromedp.WaitVisible(envForm, chromedp.ByQuery),
		typeInto(envForm+` input[name=envName]`, "candidate"),
		typeInto(envForm+` input[name=host]`, target.Host),
		typeInto(envForm+` input[name=port]`, fmt.Sprint(target.Port)),
		typeInto(envForm+` input[name=dbName]`, "shop"),
		typeInto(envForm+` input[name=user]`, "replayer"),
		typeInto(envForm+` input[name=pass]`, "rp-pw"),
		chromedp.Click(envForm+` button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#new-environment-form-error`, chromedp.ByQuery),
	)
	if got := b.text("#new-environment-form-error"); !strings.Contains(got, "check failed") {
		t.Errorf("a target without the log's privileges, unmarked: %q", got)
	}
	b.run("… and taken as only a replay target",
		chromedp.Click(envForm+` input[name=target]`, chromedp.ByQuery),
		chromedp.Click(envForm+` button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#check-result`, chromedp.ByQuery),
	)
	if got := b.text("#check-result"); !strings.Contains(got, "The check passed") {
		t.Errorf("the replay target's check: %q", got)
	}
	var hash string
	b.eval(`location.hash`, &hash)
	var candidate int64
	if _, err := fmt.Sscanf(hash, "#/environments/%d", &candidate); err != nil {
		t.Fatalf("after creating the target the console shows %q", hash)
	}
	b.run("open the capture",
		chromedp.Navigate(fmt.Sprintf("%s/#/captures/%d", srv.URL, c.ID)),
		chromedp.WaitVisible(form, chromedp.ByQuery),
	)
	if got := b.text("#no-replays"); got != "Not replayed yet." {
		t.Errorf("the capture's replays before any: %q", got)
	}
	if got := b.value(form + ` select[name=envId]`); got == fmt.Sprint(shop) {
		t.Errorf("the replay form offers the capture's own environment (%s) first", got)
	}
	b.run("a target on the capture's own server: refused at the form",
		choose(form+` select[name=envId]`, fmt.Sprint(sameServer)),
		typeInto(form+` input[name=name]`, "same box run"),
		chromedp.Click(form+` button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#new-replay-form-error`, chromedp.ByQuery),
	)
	if got := b.text("#new-replay-form-error"); got != "Cannot replay into the server the capture recorded" {
		t.Errorf("the refused replay's error: %q", got)
	}
	b.run("into the candidate, twice as fast",
		choose(form+` select[name=envId]`, fmt.Sprint(candidate)),
		typeInto(form+` input[name=name]`, "candidate run"),
		typeInto(form+` input[name=speed]`, "2"),
		chromedp.Click(form+` button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#replay-status .badge`, chromedp.ByQuery),
	)
	var rs []replayView
	api.call("GET", fmt.Sprintf("/api/replays?captureId=%d", c.ID), nil, &rs)
	if len(rs) != 1 || rs[0].EnvID != candidate || rs[0].Speed != 2 || rs[0].Mode != "all" {
		t.Fatalf("the replays made: %+v, want one into %d at speed 2, all", rs, candidate)
	}
	rep := rs[0]
	b.eval(`location.hash`, &hash)
	if hash != fmt.Sprintf("#/replays/%d", rep.ID) {
		t.Errorf("after the create the console shows %q", hash)
	}
	facts := b.text("#app dl.facts")
	for _, want := range []string{fmt.Sprintf("candidate (%s:%d, database shop)", target.Host, target.Port), "2× the captured timing", "all of them"} {
		if !strings.Contains(facts, want) {
			t.Errorf("the replay's facts %q lack %q", facts, want)
		}
	}
	b.run("it runs to DONE without a reload", until(`!!document.querySelector("#replay-status [data-status=DONE]")`))
	var done replayView
	api.call("GET", fmt.Sprintf("/api/replays/%d", rep.ID), nil, &done)
	if got, want := b.text("#progress-words"), "5 of 5 statements, 0 errors"; got != want || done.Status != "DONE" {
		t.Errorf("the replay's progress reads %q (API status %s), want %q", got, done.Status, want)
	}
	if got := b.text("#plan"); !strings.HasPrefix(got, "5 of the 5 statements captured, 5 sessions in 1 shard") {
		t.Errorf("the replay's plan reads %q", got)
	}
	// The target is no RDS instance: the API answers its series empty, which the screen says
	// in words rather than as charts of nothing.
	b.run("the target's metrics: none, said so", until(`document.querySelector("#metrics p.empty")?.textContent.includes("CloudWatch has them for RDS targets") && !document.querySelector("#metrics figure")`))
	var rows int
	if err := target.Root(t).QueryRow("SELECT COUNT(*) FROM shop.orders").Scan(&rows); err != nil || rows != 5 {
		t.Errorf("the target holds %d replayed rows (%v), want 5", rows, err)
	}
	b.run("rename it", typeInto(`#rename-replay input[name=name]`, "candidate v2"),
		chromedp.Click(`#rename-replay button`, chromedp.ByQuery), until(`document.querySelector("h1").textContent.includes("candidate v2")`))
	if n := b.count("#stop-replay"); n != 0 {
		t.Error("a DONE replay offers to stop")
	}
	consoleReport(b, api, rep.ID)

	b.run("the capture lists it", chromedp.Click(`a[href="#/captures/`+fmt.Sprint(c.ID)+`"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#replays tr[data-replay]`, chromedp.ByQuery))
	var row []string
	b.eval(`[...document.querySelector("#replays tr[data-replay]").cells].map(c => c.textContent)`, &row)
	if len(row) < 3 || !strings.HasPrefix(row[0], "candidate v2") || row[1] != "to replay" || row[2] != "candidate" {
		t.Errorf("the capture's replay row: %q", row)
	}
	b.run("one at a time",
		choose(form+` select[name=envId]`, fmt.Sprint(candidate)),
		typeInto(form+` input[name=name]`, "nightly replay"),
		chromedp.Click(form+` input[value=at]`, chromedp.ByQuery),
		until(`!document.querySelector("#new-replay input[name=at]").disabled`),
		chromedp.SetValue(form+` input[name=at]`, "2030-06-01T09:00", chromedp.ByQuery),
		chromedp.Click(form+` button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#replay-status [data-status=SCHEDULED]`, chromedp.ByQuery),
		chromedp.Click(`#stop-replay`, chromedp.ByQuery),
		chromedp.WaitVisible(`#replay-status [data-cancelled]`, chromedp.ByQuery),
	)
	b.run("the replays list, by the capture's name", chromedp.Click(`a[data-nav=replays]`, chromedp.ByQuery),
		until(`[...document.querySelectorAll("#replays tr[data-replay]")].filter(r => r.cells[1].textContent === "to replay").length === 2`))
	// The same workload again into the same target: every INSERT meets the rows the first left.
	var again replayView
	if code := api.call("POST", "/api/replays", map[string]any{"name": "again run", "captureId": c.ID, "envId": candidate, "speed": 0}, &again); code != 200 {
		t.Fatalf("create the second replay: %d", code)
	}
	eventually(t, 30*time.Second, "the second replay is DONE", func() bool {
		var v replayView
		api.call("GET", fmt.Sprintf("/api/replays/%d", again.ID), nil, &v)
		return v.Status == "DONE"
	})
	b.run("the target's page lists the replays into it",
		chromedp.Navigate(fmt.Sprintf("%s/#/environments/%d", srv.URL, candidate)),
		until(`document.querySelectorAll("#replays tr[data-replay]").length === 3`))
	b.run("compare a replay with itself: refused at the field",
		chromedp.Navigate(fmt.Sprintf("%s/#/captures/%d", srv.URL, c.ID)),
		chromedp.WaitVisible(`#compare`, chromedp.ByQuery),
		choose(`#compare select[name=base]`, fmt.Sprint(rep.ID)),
		choose(`#compare select[name=candidate]`, fmt.Sprint(rep.ID)),
		chromedp.Click(`#compare button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#compare-candidate-error`, chromedp.ByQuery),
	)
	var invalid string
	b.eval(`document.querySelector("#compare select[name=candidate]").getAttribute("aria-describedby")`, &invalid)
	if invalid != "compare-candidate-error" {
		t.Errorf("the candidate field is described by %q, not its error", invalid)
	}
	b.run("compare the two",
		choose(`#compare select[name=candidate]`, fmt.Sprint(again.ID)),
		chromedp.Click(`#compare button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#sides`, chromedp.ByQuery),
	)
	var sides [][]string
	b.eval(`[...document.querySelectorAll("#sides tbody tr")].map(r => [...r.cells].map(c => c.textContent))`, &sides)
	if len(sides) < 3 || strings.Join(sides[0], "|") != "Replay|candidate v2|again run" || strings.Join(sides[1], "|") != "Target|candidate|candidate" ||
		strings.Join(sides[2], "|") != "Status|DONE|DONE" {
		t.Errorf("the comparison's sides: %q", sides)
	}
	b.run("the targets' metrics: none, said so", until(`document.querySelector("#metrics p.empty")?.textContent.includes("No metrics for these targets") && !document.querySelector("#metrics figure")`))
	consoleCompare(b, api, rep.ID, again.ID)
	lookAt(b, []screenAt{
		{"compare", fmt.Sprintf("#/compare?base=%d&candidate=%d", rep.ID, again.ID), `#comparison tr[data-fingerprint]`, "replays"},
		{"replay", fmt.Sprintf("#/replays/%d", rep.ID), `#report tr[data-fingerprint]`, "replays"},
		{"replays", "#/replays", `#replays tr[data-replay]`, "replays"},
		{"capture-replays", fmt.Sprintf("#/captures/%d", c.ID), `#new-replay`, "captures"},
	})
	b.run("delete it",
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(fmt.Sprintf("%s/#/replays/%d", srv.URL, rep.ID)),
		chromedp.WaitVisible(`#delete-replay`, chromedp.ByQuery),
		chromedp.Evaluate(`window.confirm = () => true`, nil),
		chromedp.Click(`#delete-replay`, chromedp.ByQuery),
		until(`location.hash === "#/captures/`+fmt.Sprint(c.ID)+`" && document.querySelectorAll("#replays tr[data-replay]").length === 2`),
	)
	if code := api.call("GET", fmt.Sprintf("/api/replays/%d", rep.ID), nil, nil); code != 404 {
		t.Errorf("the deleted replay reads %d, want 404", code)
	}
}
