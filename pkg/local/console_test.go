package local_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/mycrt/captures/pkg/auth/cognitotest"
	"github.com/mycrt/captures/pkg/local"
	"github.com/mycrt/captures/pkg/local/localtest"
	"github.com/mycrt/captures/pkg/mysqltest"
)

// webDir is the console make builds (make run and make test build it first).
var webDir = filepath.Join("..", "..", "web", "dist")

// screenshots is where the browser test leaves a picture of each main screen (the README
// names it).
var screenshots = filepath.Join("..", "..", "web", "screenshots")

// browser starts headless Chromium at width×height, with any further options, stopped when t
// ends.
func browser(t *testing.T, width, height int, more ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		t.Skip("no chromium: .ci/deps installs it (make test runs it)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox, // root in CI containers
		chromedp.WindowSize(width, height),
		chromedp.Flag("disable-dev-shm-usage", true),
	)
	opts = append(opts, more...)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(cancelCtx)
	// The page's console and uncaught errors go to the test's log, shown when it fails.
	chromedp.ListenTarget(ctx, func(ev any) {
		switch e := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			for _, a := range e.Args {
				t.Logf("console.%s: %s %s", e.Type, a.Value, a.Description)
			}
		case *runtime.EventExceptionThrown:
			t.Logf("page error: %s", e.ExceptionDetails.Error())
		}
	})
	ctx, cancelTimeout := context.WithTimeout(ctx, 5*time.Minute)
	t.Cleanup(cancelTimeout)
	// Started here, on this context: a step's own shorter one then ends only that step.
	if err := chromedp.Run(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// shot saves the page as web/screenshots/name.png.
func shot(name string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var png []byte
		// Quality 100 makes a PNG; below, a JPEG.
		if err := chromedp.FullScreenshot(&png, 100).Do(ctx); err != nil {
			return err
		}
		if err := os.MkdirAll(screenshots, 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(screenshots, name+".png"), png, 0o644)
	})
}

// seriesPixels counts, in the canvases under selector, the pixels drawn in the series colour
// (#1f6fb4): data, not the axes or grid.
const seriesPixels = `(sel) => [...document.querySelectorAll(sel + " canvas")].reduce((n, c) => {
  const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
  for (let i = 0; i < d.length; i += 4) {
    if (Math.abs(d[i] - 31) < 12 && Math.abs(d[i + 1] - 111) < 12 && Math.abs(d[i + 2] - 180) < 12 && d[i + 3] > 200) n++;
  }
  return n;
}, 0)`

// TestConsole drives the web console in a real browser against make run's handler, DynamoDB
// Local and a private MariaDB: sign in, add an environment (a field's validation message
// first), create a capture and see it go RUNNING without a reload, run statements, stop it and
// see DONE, open it (its metric charts drew data, its digest's top fingerprint is the inserts),
// rename it, delete it; and the captures list at a phone's 390 px without sideways scrolling.
func TestConsole(t *testing.T) {
	if _, err := os.Stat(filepath.Join(webDir, "main.js")); err != nil {
		t.Skip("the console is not built: make web (make test builds it)")
	}
	ctx := browser(t, 1280, 900)
	db := mysqltest.Start(t)
	db.Exec(t, "CREATE DATABASE shop", "CREATE TABLE shop.orders (id INT PRIMARY KEY, total INT)")
	svc, _ := localtest.Start(t, webDir)
	srv := newServer(t, svc)

	// Each step gets 30 s, so that a step that fails leaves the browser up to show the page.
	run := func(step string, actions ...chromedp.Action) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
		if err := chromedp.Run(sctx, actions...); err != nil {
			var page string
			if perr := chromedp.Run(ctx, chromedp.OuterHTML("main", &page, chromedp.ByQuery)); perr != nil {
				page = perr.Error()
			}
			t.Fatalf("%s: %v\npage: %s", step, err, page)
		}
	}
	var text string
	run("sign in",
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(`input[name=user]`, chromedp.ByQuery),
		shot("signin"),
		chromedp.SendKeys(`input[name=user]`, "alice", chromedp.ByQuery),
		chromedp.Click(`form button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`p.empty a[href="#/environments"]`, chromedp.ByQuery),
		chromedp.Text(`#who`, &text, chromedp.ByQuery),
	)
	if !strings.Contains(text, "alice") {
		t.Errorf("signed in as %q, want alice", text)
	}

	run("a missing field is named at the field",
		chromedp.Click(`a[href="#/environments"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#new-environment`, chromedp.ByQuery),
		chromedp.Click(`#new-environment button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#new-environment .field-error`, chromedp.ByQuery),
		chromedp.Text(`#new-environment .field-error`, &text, chromedp.ByQuery),
	)
	if text != "Name is required." {
		t.Errorf("empty form: %q", text)
	}
	run("add an environment",
		chromedp.SendKeys(`input[name=envName]`, "shop", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=host]`, db.Host, chromedp.ByQuery),
		chromedp.SendKeys(`input[name=port]`, fmt.Sprint(db.Port), chromedp.ByQuery),
		chromedp.SendKeys(`input[name=dbName]`, "shop", chromedp.ByQuery),
		chromedp.SendKeys(`input[name=user]`, "root", chromedp.ByQuery),
		chromedp.Click(`#new-environment button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#general-log`, chromedp.ByQuery),
		chromedp.Text(`#general-log`, &text, chromedp.ByQuery),
		shot("environment"),
	)
	if !strings.Contains(text, "not held") {
		t.Errorf("general log before any capture: %q", text)
	}

	run("create a capture and see it run without a reload",
		chromedp.Click(`a[href="#/captures"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#new-capture`, chromedp.ByQuery),
		chromedp.SendKeys(`#new-capture input[name=name]`, "browser run", chromedp.ByQuery),
		chromedp.SendKeys(`#new-capture input[name=duration]`, "10", chromedp.ByQuery),
		chromedp.Click(`#new-capture button[type=submit]`, chromedp.ByQuery),
		chromedp.WaitVisible(`tr[data-capture] [data-status=RUNNING]`, chromedp.ByQuery),
	)
	for i := range 30 {
		db.Exec(t, fmt.Sprintf("INSERT INTO shop.orders VALUES (%d, %d)", i, i*10))
	}
	// A tick collects the inserts, sampling the counters: the metrics then have points inside
	// the window. The table is new, so the capture is the first.
	tok, err := svc.Issuer.Token("alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	api := &client{svc: svc, srv: srv, tok: tok, t: t}
	eventually(t, 10*time.Second, "a tick collected the inserts", func() bool {
		c := api.get(1)
		return c.Workload != nil && c.Workload.Statements >= 30
	})
	run("stop it and see DONE",
		chromedp.Click(`tr[data-capture] td.actions button`, chromedp.ByQuery),
		chromedp.WaitVisible(`tr[data-capture] [data-status=DONE]`, chromedp.ByQuery),
		shot("captures"),
	)

	var drawn int
	run("open it: charts and digest",
		chromedp.Click(`tr[data-capture] a`, chromedp.ByQuery),
		chromedp.WaitVisible(`#digest tr[data-fingerprint]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#metrics canvas`, chromedp.ByQuery),
		chromedp.Text(`#digest tbody tr:first-child`, &text, chromedp.ByQuery),
		chromedp.Evaluate(`(`+seriesPixels+`)("#metrics")`, &drawn),
		shot("capture"),
	)
	if !strings.Contains(text, "insert into shop.orders values(?+)") || !strings.Contains(text, "30") {
		t.Errorf("the digest's top fingerprint: %q", text)
	}
	if drawn < 20 {
		t.Errorf("the metric charts drew %d pixels of data: empty", drawn)
	}
	var timeline int
	run("the statements timeline", chromedp.Evaluate(`(`+seriesPixels+`)("#timeline")`, &timeline))
	if timeline < 10 {
		t.Errorf("the statements-per-second chart drew %d pixels of data", timeline)
	}
	var download bool
	run("a workload to download", chromedp.Evaluate(`!document.querySelector("button[disabled]") || ![...document.querySelectorAll("button")].some(b => b.textContent === "Download workload" && b.disabled)`, &download))
	if !download {
		t.Error("the download button is disabled for a DONE capture with a workload")
	}

	run("rename it",
		chromedp.SetValue(`#rename input[name=name]`, "renamed run", chromedp.ByQuery),
		chromedp.Click(`#rename button`, chromedp.ByQuery),
		chromedp.WaitVisible(`//h1[contains(., "renamed run")]`, chromedp.BySearch),
	)

	var overflow bool
	run("a phone's width",
		chromedp.EmulateViewport(390, 844),
		chromedp.Navigate(srv.URL+"/#/captures"),
		chromedp.WaitVisible(`tr[data-capture]`, chromedp.ByQuery),
		chromedp.Evaluate(`document.documentElement.scrollWidth > 390`, &overflow),
		shot("first-captures-390"),
		chromedp.EmulateViewport(1280, 900),
	)
	if overflow {
		t.Error("the captures list scrolls sideways at 390 px")
	}

	run("delete it",
		chromedp.Click(`tr[data-capture] a`, chromedp.ByQuery),
		chromedp.WaitVisible(`#rename`, chromedp.ByQuery),
		chromedp.Evaluate(`window.confirm = () => true`, nil),
		chromedp.Click(`input[name=deleteLogs]`, chromedp.ByQuery),
		chromedp.Click(`button.danger`, chromedp.ByQuery),
		chromedp.WaitVisible(`p.empty`, chromedp.ByQuery),
		chromedp.Text(`p.empty`, &text, chromedp.ByQuery),
	)
	if !strings.Contains(text, "No captures match") {
		t.Errorf("after the delete: %q", text)
	}
}

// newServer serves what make run serves: the API, the local sign-in and the console.
func newServer(t *testing.T, svc *local.Service) *httptest.Server {
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	return srv
}

// TestConsoleCognitoSignIn: where the stack wrote a /config.json naming Cognito, the console
// signs in through the Hosted UI with the code grant and PKCE (the token endpoint holds it to
// its verifier), keeps no code in the address bar, shows the user the ID token names, calls the
// API with it, and signs out by revoking the refresh token and through the Hosted UI's logout.
func TestConsoleCognitoSignIn(t *testing.T) {
	if _, err := os.Stat(filepath.Join(webDir, "main.js")); err != nil {
		t.Skip("the console is not built: make web (make test builds it)")
	}
	ctx := browser(t, 1280, 900)
	svc, _ := localtest.Start(t, webDir)
	fake := &cognitotest.Server{T: t, ClientID: "console-client", IDToken: func() string {
		tok, _ := svc.Issuer.Token("carol", time.Hour)
		return tok
	}}
	// On the console's own origin, which the local content security policy allows.
	srv := fake.Site(t, svc.Handler())

	var who, search string
	err := chromedp.Run(ctx,
		chromedp.Navigate(srv.URL+"/"),
		chromedp.WaitVisible(`#cognito-sign-in`, chromedp.ByQuery),
		chromedp.Click(`#cognito-sign-in`, chromedp.ByQuery),
		chromedp.WaitVisible(`p.empty a[href="#/environments"]`, chromedp.ByQuery),
		chromedp.Text(`#who`, &who, chromedp.ByQuery),
		chromedp.Evaluate(`location.search`, &search),
	)
	if err != nil {
		t.Fatal(err)
	}
	if fake.Exchanged() != 1 || !strings.Contains(who, "carol") || search != "" {
		t.Errorf("signed in: %d codes exchanged, who %q, address bar query %q", fake.Exchanged(), who, search)
	}
	var refresh string
	err = chromedp.Run(ctx,
		chromedp.Evaluate(`sessionStorage.getItem("mycrt.refresh") ?? ""`, &refresh),
		chromedp.Click(`#who button`, chromedp.ByQuery),
		chromedp.WaitVisible(`#cognito-sign-in`, chromedp.ByQuery),
		chromedp.Text(`#who`, &who, chromedp.ByQuery),
	)
	if err != nil || strings.TrimSpace(who) != "" {
		t.Errorf("signed out: %v, who %q", err, who)
	}
	// Signing out revoked the refresh token: it renews nothing now.
	resp, err := http.PostForm(srv.URL+"/cognito/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"console-client"}, "refresh_token": {refresh}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if refresh == "" || fake.Revoked() != 1 || resp.StatusCode != http.StatusBadRequest {
		t.Errorf("after signing out: refresh token %q, %d revoked, renewing it answered %d, want it revoked", refresh, fake.Revoked(), resp.StatusCode)
	}
}
