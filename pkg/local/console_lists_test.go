package local_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/dbtls"
	"github.com/mycrt/captures/pkg/local/localtest"
)

// TestConsoleListsAreTheCodes: the built console offers exactly Go's lists (every status to
// search by, STARTED too; every TLS mode) and holds capture names to capture.NamePattern as
// they are typed, with the API's own message: its lists and rule come from openapi.yaml
// through the generated api.gen.ts, and this catches a console that writes its own.
func TestConsoleListsAreTheCodes(t *testing.T) {
	if _, err := os.Stat(filepath.Join(webDir, "main.js")); err != nil {
		t.Skip("the console is not built: make web (make test builds it)")
	}
	ctx := browser(t, 1280, 900)
	svc, _ := localtest.Start(t, webDir)
	srv := newServer(t, svc)
	run := func(step string, actions ...chromedp.Action) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Run(sctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	options := func(sel string, out *[]string) chromedp.Action {
		return chromedp.Evaluate(`[...document.querySelectorAll(`+"`"+sel+" option`"+`)].map(o => o.value).filter(v => v)`, out)
	}
	awaited := func(p *runtime.EvaluateParams) *runtime.EvaluateParams { return p.WithAwaitPromise(true) }

	var created int
	run("sign in, and an environment to record",
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(`input[name=user]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=user]`, "alice", chromedp.ByQuery),
		chromedp.Click(`form button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`p.empty a[href="#/environments"]`, chromedp.ByQuery),
		// Through the API, as the page would: the capture form shows once there is one.
		chromedp.Evaluate(`fetch("/api/environments", {method: "POST", headers: {Authorization: "Bearer " + sessionStorage.getItem("mycrt.token")},
			body: JSON.stringify({envName: "lists", host: "127.0.0.1", port: 1, dbName: "shop", user: "root", pass: "", check: false})}).then(r => r.status)`, &created, awaited),
	)
	if created != 200 {
		t.Fatalf("create the environment: %d", created)
	}

	var searchStatuses, tlsModes []string
	run("the list's search offers every status",
		chromedp.Navigate(srv.URL+"/#/captures"),
		chromedp.Reload(),
		chromedp.WaitVisible(`#new-capture`, chromedp.ByQuery),
		options(`form.search select[name=status]`, &searchStatuses),
	)
	want := make([]string, len(capture.Statuses))
	for i, s := range capture.Statuses {
		want[i] = string(s)
	}
	if !slices.Equal(searchStatuses, want) {
		t.Errorf("the search's statuses are %q, want %q", searchStatuses, want)
	}

	var validity struct {
		Bad     bool   `json:"bad"`
		Message string `json:"message"`
	}
	check := `(() => { const i = document.querySelector("#new-capture input[name=name]"); return {bad: !i.checkValidity(), message: i.validationMessage}; })()`
	run("a name the rule refuses, as it is typed",
		chromedp.SendKeys(`#new-capture input[name=name]`, "ab!", chromedp.ByQuery),
		chromedp.Evaluate(check, &validity),
	)
	if !validity.Bad || validity.Message != capture.ErrNameInvalid.Error() {
		t.Errorf("name %q: invalid %v, message %q; want invalid with %q", "ab!", validity.Bad, validity.Message, capture.ErrNameInvalid)
	}
	run("a name the rule takes",
		chromedp.Evaluate(`document.querySelector("#new-capture input[name=name]").value = ""`, nil),
		chromedp.SendKeys(`#new-capture input[name=name]`, "nightly run: 1_a-b", chromedp.ByQuery),
		chromedp.Evaluate(check, &validity),
	)
	if validity.Bad {
		t.Errorf("name %q refused: %q", "nightly run: 1_a-b", validity.Message)
	}

	run("the environment form offers every TLS mode",
		chromedp.Navigate(srv.URL+"/#/environments"),
		chromedp.WaitVisible(`#new-environment`, chromedp.ByQuery),
		options(`#new-environment select[name=tls]`, &tlsModes),
	)
	wantModes := make([]string, len(dbtls.Modes))
	for i, m := range dbtls.Modes {
		wantModes[i] = string(m)
	}
	if !slices.Equal(tlsModes, wantModes) {
		t.Errorf("the TLS modes offered are %q, want %q", tlsModes, wantModes)
	}
}
