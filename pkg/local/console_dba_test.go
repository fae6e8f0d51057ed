package local_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/mycrt/captures/pkg/local/localtest"
	"github.com/mycrt/captures/pkg/mysqltest"
)

// TestConsoleDBAPath walks issue 23's new DBA through the console in Chromium, against make
// run's handler and a private MariaDB, with the browser in New York's time zone: a wrong
// password refused at the form and gone once it is right, two environments, "record here",
// captures back to back (the environment stays chosen; a refused name shown at the form and
// cleared by the next success), a rename typed while the capture records and refreshes, the
// digest's total, its next page, its order and its database filter, the environment's page
// following the general log and listing its captures, members by name, a scheduled capture
// cancelled, and the captures list's pages with an environment made meanwhile shown by name.
// Then every screen at 1280 and 390 px (consoleScreens).
func TestConsoleDBAPath(t *testing.T) {
	if _, err := os.Stat(filepath.Join(webDir, "main.js")); err != nil {
		t.Skip("the console is not built: make web (make test builds it)")
	}
	ctx := browser(t, 1280, 900)
	db := mysqltest.Start(t)
	setup := []string{"CREATE DATABASE shop", "CREATE DATABASE stock", "CREATE TABLE shop.orders (id INT PRIMARY KEY)"}
	for i := 1; i <= 12; i++ {
		setup = append(setup, fmt.Sprintf("CREATE TABLE stock.t%c (id INT)", 'a'+i-1)) // letters: a fingerprint makes digits ?
	}
	db.Exec(t, setup...)
	svc, _ := localtest.Start(t, webDir)
	srv := newServer(t, svc)
	tok, err := svc.Issuer.Token("alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	api := &client{svc: svc, srv: srv, tok: tok, t: t}
	b := &tab{t: t, ctx: ctx, url: srv.URL}

	b.run("sign in, in New York",
		cspWatch(),
		emulation.SetTimezoneOverride("America/New_York"),
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(`#signin input[name=user]`, chromedp.ByQuery),
		chromedp.SendKeys(`#signin input[name=user]`, "alice", chromedp.ByQuery),
		chromedp.Click(`#signin button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`p.empty a[href="#/environments"]`, chromedp.ByQuery),
	)
	if got := b.text("#zone"); got != "Times in America/New_York" {
		t.Errorf("the zone named: %q", got)
	}

	fill := func(name, dbName, pass string) chromedp.Action {
		return chromedp.Tasks{
			typeInto(`#new-environment input[name=envName]`, name),
			typeInto(`#new-environment input[name=host]`, db.Host),
			typeInto(`#new-environment input[name=port]`, fmt.Sprint(db.Port)),
			typeInto(`#new-environment input[name=dbName]`, dbName),
			typeInto(`#new-environment input[name=user]`, "root"),
			typeInto(`#new-environment input[name=pass]`, pass),
		}
	}
	b.run("a wrong password is refused at the form",
		chromedp.Click(`a[href="#/environments"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#new-environment`, chromedp.ByQuery),
		fill("stock", "stock", "wrong"),
		chromedp.Click(`#new-environment button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#new-environment-form-error`, chromedp.ByQuery),
	)
	if got := b.text("#new-environment-form-error"); !strings.Contains(got, "check failed") {
		t.Errorf("the refused environment's error: %q", got)
	}
	var describedBy string
	b.eval(`document.querySelector("#new-environment").getAttribute("aria-describedby")`, &describedBy)
	if describedBy != "new-environment-form-error" {
		t.Errorf("the form is described by %q, not its error", describedBy)
	}
	b.run("the right password: saved, checked, the error gone",
		typeInto(`#new-environment input[name=pass]`, ""),
		chromedp.Click(`#new-environment button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#check-result`, chromedp.ByQuery),
	)
	if got := b.text("#check-result"); !strings.Contains(got, "The check passed") || !strings.Contains(got, "SET GLOBAL") {
		t.Errorf("the check shown after the create: %q", got)
	}
	if n := b.count(".field-error, #error"); n != 0 {
		t.Errorf("%d errors still shown after the create succeeded", n)
	}
	// stock is the older of the two, so not the first a list offers: a form that fell back to
	// the first would show it.
	var stockID string
	b.eval(`location.hash.split("/")[2]`, &stockID)

	b.run("a second environment",
		chromedp.Click(`a[href="#/environments"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#environments tr[data-env]`, chromedp.ByQuery),
		fill("shop", "shop", ""),
		chromedp.Click(`#new-environment button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#record-here`, chromedp.ByQuery),
		chromedp.Navigate(srv.URL+"/#/environments/"+stockID),
		chromedp.WaitVisible(`#record-here[href="#/captures?env=`+stockID+`"]`, chromedp.ByQuery),
	)
	var listed []struct{ ID int64 }
	api.call("GET", "/api/environments", nil, &listed)
	if len(listed) != 2 || fmt.Sprint(listed[0].ID) == stockID {
		t.Fatalf("stock (%s) is the first environment listed: the test needs it not to be", stockID)
	}

	env := `#new-capture select[name=envId]`
	b.run("record here: the Record form on that environment",
		chromedp.Click(`#record-here`, chromedp.ByQuery),
		chromedp.WaitVisible(`#new-capture`, chromedp.ByQuery),
	)
	if got := b.value(env); got != stockID {
		t.Fatalf("record here chose environment %q, want stock's %s", got, stockID)
	}
	create := func(name string) chromedp.Action {
		return chromedp.Tasks{
			typeInto(`#new-capture input[name=name]`, name),
			typeInto(`#new-capture input[name=duration]`, "10"),
			chromedp.Click(`#new-capture button[type=submit]`, chromedp.ByQuery),
		}
	}
	b.run("a capture", create("stock one"), until(`[...document.querySelectorAll("#captures tr")].some(r => r.textContent.includes("stock one"))`))
	if got, status := b.value(env), b.text("#list-status"); got != stockID || !strings.Contains(status, "Created capture stock one") {
		t.Errorf("after the first create: environment %q (want %s), status %q", got, stockID, status)
	}
	if got := b.value(`#new-capture input[name=name]`); got != "" {
		t.Errorf("the name is still %q after the create", got)
	}
	b.run("the same name again: refused at the form", create("stock one"), chromedp.WaitVisible(`#new-capture-form-error`, chromedp.ByQuery))
	if got := b.text("#new-capture-form-error"); !strings.Contains(got, "same name") {
		t.Errorf("the refused create's error: %q", got)
	}
	b.run("back to back: a second capture, the error gone",
		create("stock two"),
		until(`[...document.querySelectorAll("#captures tr")].some(r => r.textContent.includes("stock two")) && !document.querySelector("#new-capture-form-error")`))
	if got := b.value(env); got != stockID {
		t.Errorf("after two creates the form chose environment %q, want stock's %s", got, stockID)
	}
	var caps []struct {
		ID     int64
		Name   string
		EnvID  int64
		Status string
	}
	api.call("GET", "/api/captures", nil, &caps)
	ids := map[string]int64{}
	for _, c := range caps {
		ids[c.Name] = c.ID
		if fmt.Sprint(c.EnvID) != stockID {
			t.Errorf("capture %s went to environment %d, not stock (%s)", c.Name, c.EnvID, stockID)
		}
	}
	if len(caps) != 2 {
		t.Fatalf("%d captures made, want 2: %+v", len(caps), caps)
	}
	var envCells []string
	b.eval(`[...document.querySelectorAll("#captures tbody tr")].map(r => r.cells[1].textContent)`, &envCells)
	if strings.Join(envCells, ",") != "stock,stock" {
		t.Errorf("the list's environments: %q", envCells)
	}

	api.waitStatus(ids["stock one"], "RUNNING", 20*time.Second)
	stop := `#captures button[aria-label="Stop capture stock one"]`
	cell := `document.querySelector(` + js(fmt.Sprintf(`#captures tr[data-capture="%d"]`, ids["stock one"])) + `).cells[5].textContent`
	var counted string
	b.run("focus a row's stop button", until(`!!document.querySelector(`+js(stop)+`)`), chromedp.Focus(stop, chromedp.ByQuery), chromedp.Evaluate(cell, &counted))
	db.Exec(t, "SELECT 'a statement to count'")
	b.run("a refresh counts it", until(cell+` !== `+js(counted)))
	var focused bool
	b.eval(`document.activeElement === document.querySelector(`+js(stop)+`)`, &focused)
	if !focused {
		t.Error("a refresh of the captures list took the focus off a row's stop button")
	}
	b.run("open the first capture", chromedp.Click(`#captures a[href="#/captures/`+fmt.Sprint(ids["stock one"])+`"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#rename input[name=name]`, chromedp.ByQuery))
	before := b.text("#workload")
	b.run("type a new name while it records", typeInto(`#rename input[name=name]`, "stock renamed"))
	// Statements of 24 fingerprints in stock, and 2 more in shop (a session whose database is shop).
	var work []string
	for i := 1; i <= 12; i++ {
		work = append(work, fmt.Sprintf("INSERT INTO stock.t%c VALUES (%d)", 'a'+i-1, i), fmt.Sprintf("SELECT id FROM stock.t%c", 'a'+i-1))
	}
	db.Exec(t, work...)
	shop := db.As(t, "root", "", "shop")
	for _, q := range []string{"INSERT INTO orders VALUES (1)", "SELECT id FROM orders WHERE id = 1"} {
		if _, err := shop.Exec(q); err != nil {
			t.Fatal(err)
		}
	}
	b.run("a refresh shows the collected statements", until(`document.querySelector("#workload").textContent !== `+js(before)))
	var kept struct {
		Value   string
		Focused bool
	}
	b.eval(`(() => { const i = document.querySelector("#rename input[name=name]"); return {value: i.value, focused: document.activeElement === i}; })()`, &kept)
	if kept.Value != "stock renamed" || !kept.Focused {
		t.Errorf("after a refresh the rename field holds %q (focused %v), want what was typed, focused", kept.Value, kept.Focused)
	}
	b.run("rename it", chromedp.Click(`#rename button`, chromedp.ByQuery), until(`document.querySelector("h1").textContent.includes("stock renamed")`))

	consoleDigest(b, api, ids["stock one"])

	b.run("stop it", chromedp.Click(`#stop`, chromedp.ByQuery), chromedp.WaitVisible(`#capture-status [data-status=DONE]`, chromedp.ByQuery))

	b.run("the environment's page follows its general log",
		chromedp.Navigate(srv.URL+"/#/environments/"+stockID),
		chromedp.WaitVisible(`#general-log`, chromedp.ByQuery),
		until(`document.querySelector("#general-log").textContent.includes("on for capture `+fmt.Sprint(ids["stock two"])+`")`),
	)
	if n := b.count(`#captures tr[data-capture]`); n != 2 {
		t.Errorf("the environment's page lists %d captures, want 2", n)
	}
	api.call("POST", fmt.Sprintf("/api/captures/%d/stop", ids["stock two"]), nil, nil)
	b.run("… without a reload", until(`document.querySelector("#general-log").textContent.includes("not held")`))

	b.run("add a member by name",
		chromedp.SendKeys(`#add-member input[name=user]`, "bob", chromedp.ByQuery),
		chromedp.Click(`#add-member button`, chromedp.ByQuery),
		until(`!!document.querySelector("#members button[aria-label='Remove bob']")`),
	)
	var members []string
	b.eval(`[...document.querySelectorAll("#members tbody tr")].map(r => r.cells[0].textContent + "/" + r.cells[1].textContent + "/" + (r.querySelector("button")?.getAttribute("aria-label") ?? "")).sort()`, &members)
	if got := strings.Join(members, " | "); got != "alice (you)/yes/ | bob/no/Remove bob" {
		t.Errorf("members shown (name/admin/button): %s", got)
	}
	if b.count("#delete-environment") != 1 {
		t.Error("alice, the environment's admin by her id, has no delete button")
	}
	b.run("check it again", chromedp.Click(`#check`, chromedp.ByQuery), until(`document.querySelector("#check-result")?.textContent.includes("passed just now")`))
	pass := `#edit-environment input[name=pass]`
	b.run("an edit with a wrong password: refused at its form",
		chromedp.Click(`#edit summary`, chromedp.ByQuery),
		chromedp.WaitVisible(pass, chromedp.ByQuery),
		typeInto(pass, "nope"),
		chromedp.Click(`#edit-environment button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#edit-environment-form-error`, chromedp.ByQuery),
	)
	if got := b.text("#edit-environment-form-error"); !strings.Contains(got, "check failed") {
		t.Errorf("the refused edit's error: %q", got)
	}
	b.run("… and without it: saved and checked, the error gone, the form still open across refreshes",
		typeInto(pass, ""),
		chromedp.Click(`#edit-environment button[type=submit]`, chromedp.ByQuery),
		until(`!document.querySelector("#edit-environment-form-error") && document.querySelector("#check-result").textContent.includes("passed when it was edited")`),
	)
	var open bool
	b.eval(`document.querySelector("#edit").open`, &open)
	if !open {
		t.Error("the edit form closed by itself")
	}

	b.run("schedule a capture at a time in New York",
		chromedp.Navigate(srv.URL+"/#/captures"),
		chromedp.WaitVisible(`#new-capture`, chromedp.ByQuery),
		chromedp.Click(`#new-capture input[value=at]`, chromedp.ByQuery),
		until(`!document.querySelector("#new-capture input[name=at]").disabled`),
		typeInto(`#new-capture input[name=name]`, "nightly later"),
		chromedp.SetValue(`#new-capture input[name=at]`, "2030-06-01T09:00", chromedp.ByQuery),
		chromedp.Click(`#new-capture button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#captures button[aria-label="Stop capture nightly later"]`, chromedp.ByQuery),
	)
	var start struct{ Text, Title string }
	b.eval(`(() => { const t = [...document.querySelectorAll("#captures tr")].find(r => r.textContent.includes("nightly later")).cells[3].querySelector("time"); return {text: t.textContent, title: t.title}; })()`, &start)
	// 09:00 in New York in June is 13:00 UTC (EDT).
	if !regexp.MustCompile(`9:00:00\sAM EDT$`).MatchString(start.Text) || start.Title != "2030-06-01 13:00:00 UTC" {
		t.Errorf("the scheduled start shows %q (hover %q), want 9:00:00 AM EDT and 2030-06-01 13:00:00 UTC", start.Text, start.Title)
	}
	b.run("cancel it", chromedp.Click(`#captures button[aria-label="Stop capture nightly later"]`, chromedp.ByQuery),
		until(`[...document.querySelectorAll("#captures tr")].some(r => r.textContent.includes("nightly later") && r.querySelector("[data-cancelled]"))`))

	consolePaging(b, api)
	if t.Failed() {
		return
	}
	consoleScreens(b, ids["stock one"], stockID)
}
