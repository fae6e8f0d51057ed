package local_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/mycrt/captures/pkg/local/localtest"
)

// site is make run's handler served twice on loopback (two ports), with a console of one
// page, and a token for alice.
type site struct {
	srv, other *httptest.Server
	port, alt  string // srv's and other's ports
	tok        string
}

func startSite(t *testing.T) site {
	t.Helper()
	web := t.TempDir()
	if err := os.WriteFile(filepath.Join(web, "index.html"), []byte("<!doctype html><title>MyCRT</title>"), 0o644); err != nil {
		t.Fatal(err)
	}
	svc, cfg := localtest.Start(t, web)
	s := site{srv: httptest.NewServer(svc.Handler()), other: httptest.NewServer(svc.Handler())}
	t.Cleanup(s.srv.Close)
	t.Cleanup(s.other.Close)
	s.port, s.alt = port(t, s.srv), port(t, s.other)
	issuer, err := cfg.Issuer()
	if err != nil {
		t.Fatal(err)
	}
	if s.tok, err = issuer.Token("alice", time.Hour); err != nil {
		t.Fatal(err)
	}
	return s
}

func port(t *testing.T, srv *httptest.Server) string {
	u, err := url.Parse(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Port()
}

// send sends method path to srv with the Host and Origin given ("" for none) and alice's
// token; it returns the status and body.
func (s site) send(t *testing.T, srv *httptest.Server, method, path, host, origin string) (int, string) {
	t.Helper()
	var body io.Reader
	if method == http.MethodPost || method == http.MethodPut {
		body = strings.NewReader(`{"user":"mallory","envName":"x","name":"x"}`)
	}
	req, err := http.NewRequest(method, srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Host = host
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	req.Header.Set("Authorization", "Bearer "+s.tok)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// routes are one of each kind make run serves: the API (read and write), the local sign-in,
// the console's files, and a path nothing serves.
var routes = []struct{ method, path string }{
	{"GET", "/api/captures"}, {"POST", "/api/environments"}, {"DELETE", "/api/captures/1"}, {"OPTIONS", "/api/captures"},
	{"POST", "/local/token"}, {"GET", "/"}, {"GET", "/index.html"}, {"GET", "/nothing-here"},
}

// TestOwnNamesOnly: make run answers only requests that name it 127.0.0.1, localhost or [::1]
// with the port they came in on; any other Host gets 421 and the JSON error on every route,
// so a page that rebinds its own name to 127.0.0.1 gets nothing (no token, no API, no page).
func TestOwnNamesOnly(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	for _, tc := range []struct {
		name, host string
		srv        *httptest.Server
		served     bool
	}{
		{"127.0.0.1", "127.0.0.1:" + s.port, s.srv, true},
		{"localhost", "localhost:" + s.port, s.srv, true},
		{"localhost in capitals", "LocalHost:" + s.port, s.srv, true},
		{"::1", "[::1]:" + s.port, s.srv, true},
		{"the other port's own name, on the other port", "127.0.0.1:" + s.alt, s.other, true},
		{"a rebound name", "attacker.example:" + s.port, s.srv, false},
		{"a rebound name without a port", "attacker.example", s.srv, false},
		{"the other port", "127.0.0.1:" + s.alt, s.srv, false},
		{"localhost on the other port", "localhost:" + s.alt, s.srv, false},
		{"no port (80)", "localhost", s.srv, false},
		{"an empty port", "localhost:", s.srv, false},
		{"another loopback address", "127.0.0.2:" + s.port, s.srv, false},
		{"the unspecified address", "0.0.0.0:" + s.port, s.srv, false},
		{"IPv4-mapped IPv6", "[::ffff:127.0.0.1]:" + s.port, s.srv, false},
		{"a trailing dot", "localhost.:" + s.port, s.srv, false},
		{"a subdomain of localhost", "attacker.localhost:" + s.port, s.srv, false},
		{"a name ending in an own name", "evil127.0.0.1:" + s.port, s.srv, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, r := range routes {
				code, body := s.send(t, tc.srv, r.method, r.path, tc.host, "")
				if !tc.served {
					var e struct {
						Code    int
						Message string
					}
					if code != http.StatusMisdirectedRequest || json.Unmarshal([]byte(body), &e) != nil || e.Code != 421 ||
						!strings.Contains(e.Message, "answers only to") || strings.Contains(body, "token") {
						t.Errorf("%s %s with Host %s: %d %s, want the 421 JSON error", r.method, r.path, tc.host, code, body)
					}
					continue
				}
				if code == http.StatusMisdirectedRequest {
					t.Errorf("%s %s with Host %s: refused: %s", r.method, r.path, tc.host, body)
				}
			}
			// What an own name gets: a token, the API, the console.
			if code, body := s.send(t, tc.srv, "POST", "/local/token", tc.host, ""); tc.served && (code != 200 || !strings.Contains(body, `"token"`)) {
				t.Errorf("sign-in with Host %s: %d %s", tc.host, code, body)
			}
			if code, body := s.send(t, tc.srv, "GET", "/api/captures", tc.host, ""); tc.served && (code != 200 || !strings.HasPrefix(body, "[")) {
				t.Errorf("captures with Host %s: %d %s", tc.host, code, body)
			}
			if code, body := s.send(t, tc.srv, "GET", "/", tc.host, ""); tc.served && (code != 200 || !strings.Contains(body, "MyCRT")) {
				t.Errorf("the console with Host %s: %d %s", tc.host, code, body)
			}
		})
	}
}

// TestWritesFromOwnOrigin: a write (POST, PUT, DELETE) that carries an Origin other than the
// server's own is refused with 403 and the JSON error, and changes nothing; without Origin
// (curl, the CLI) or from the own origin it goes through, and reads are not held to it.
func TestWritesFromOwnOrigin(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	own := "127.0.0.1:" + s.port
	for _, tc := range []struct {
		name, method, path, host, origin string
		refused                          bool
	}{
		{"no origin", "POST", "/local/token", own, "", false},
		{"the own origin", "POST", "/local/token", own, "http://" + own, false},
		{"localhost's own origin", "POST", "/local/token", "localhost:" + s.port, "http://localhost:" + s.port, false},
		{"a foreign site", "POST", "/local/token", own, "http://attacker.example", true},
		{"a foreign site on the port", "POST", "/local/token", own, "http://attacker.example:" + s.port, true},
		{"a sandboxed frame", "POST", "/local/token", own, "null", true},
		{"another own name", "POST", "/local/token", own, "http://localhost:" + s.port, true},
		{"another port", "POST", "/local/token", own, "http://127.0.0.1:" + s.alt, true},
		{"another scheme", "POST", "/local/token", own, "https://" + own, true},
		{"create an environment", "POST", "/api/environments", own, "http://attacker.example", true},
		{"rename a capture", "PUT", "/api/captures/1", own, "http://attacker.example", true},
		{"delete a capture", "DELETE", "/api/captures/1", own, "http://attacker.example", true},
		{"a read", "GET", "/api/environments", own, "http://attacker.example", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := s.send(t, s.srv, tc.method, tc.path, tc.host, tc.origin)
			var e struct {
				Code    int
				Message string
			}
			refused := code == http.StatusForbidden && json.Unmarshal([]byte(body), &e) == nil && e.Code == 403 && strings.Contains(e.Message, "another origin")
			if refused != tc.refused || (!tc.refused && code >= 400 && tc.path == "/local/token") {
				t.Errorf("%s %s, Origin %q: %d %s, want refused %v", tc.method, tc.path, tc.origin, code, body, tc.refused)
			}
			if tc.refused && strings.Contains(body, "token") {
				t.Errorf("a refused sign-in answered %s", body)
			}
		})
	}
	if code, body := s.send(t, s.srv, "GET", "/api/environments", own, ""); code != 200 || strings.TrimSpace(body) != "[]" {
		t.Errorf("after the refused writes, environments: %d %s, want none", code, body)
	}
}

// TestRebindingGetsNothing: a browser that resolves attacker.example to 127.0.0.1 (as a page
// that rebinds its own name would have it) opens make run under that name, same-origin with
// it as far as the browser knows, and gets neither the console, nor a token, nor the API.
func TestRebindingGetsNothing(t *testing.T) {
	t.Parallel()
	s := startSite(t)
	// The browser resolves the name itself, to loopback: no DNS is asked.
	ctx := browser(t, 1280, 900, chromedp.Flag("host-resolver-rules", "MAP attacker.example 127.0.0.1"))
	page := "http://attacker.example:" + s.port + "/"
	var text string
	var answers []string
	err := chromedp.Run(ctx,
		chromedp.Navigate(page),
		chromedp.Text("body", &text, chromedp.ByQuery),
		chromedp.Evaluate(`Promise.all([
			fetch("/local/token", {method: "POST", headers: {"Content-Type": "application/json"}, body: '{"user":"alice"}'}),
			fetch("/api/captures", {headers: {Authorization: "Bearer `+s.tok+`"}}),
			fetch("/index.html"),
		].map(p => p.then(async r => r.status + " " + await r.text())))`, &answers, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
			return p.WithAwaitPromise(true)
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "answers only to") || strings.Contains(text, "MyCRT") {
		t.Errorf("the page at %s shows %q, want the 421 error", page, text)
	}
	if len(answers) != 3 {
		t.Fatalf("the page's fetches: %q", answers)
	}
	for _, a := range answers {
		if !strings.HasPrefix(a, "421 ") || strings.Contains(a, "token\"") || strings.Contains(a, "MyCRT") {
			t.Errorf("a fetch from the rebound page got %q, want 421", a)
		}
	}
	// The same browser, at the server's own name, gets the console.
	if err := chromedp.Run(ctx, chromedp.Navigate(s.srv.URL+"/"), chromedp.Title(&text)); err != nil || text != "MyCRT" {
		t.Errorf("at %s: title %q, %v", s.srv.URL, text, err)
	}
}
