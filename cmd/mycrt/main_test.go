package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/auth/cognitotest"
	"github.com/mycrt/captures/pkg/local/localtest"
	"github.com/mycrt/captures/pkg/mysqltest"
	"github.com/mycrt/captures/pkg/syncbuf"
)

// mycrt runs the command line in process against url, with a config folder of its own, and
// environment variables env besides MYCRT_URL and MYCRT_CONFIG_DIR.
type mycrt struct {
	t         *testing.T
	url       string
	config    string
	env       map[string]string
	transport http.RoundTripper // nil: Go's own
}

// getenv is the environment m runs in.
func (m mycrt) getenv(k string) string {
	switch k {
	case "MYCRT_URL":
		return m.url
	case "MYCRT_CONFIG_DIR":
		return m.config
	}
	return m.env[k]
}

// run runs args with stdin and returns the exit code, stdout and stderr.
func (m mycrt) run(stdin string, args ...string) (int, string, string) {
	m.t.Helper()
	var out, errOut bytes.Buffer
	c := &cli{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, getenv: m.getenv, transport: m.transport}
	code := c.main(context.Background(), args)
	return code, out.String(), errOut.String()
}

// ok runs args and fails the test unless it exits 0.
func (m mycrt) ok(args ...string) string {
	m.t.Helper()
	code, out, errOut := m.run("", args...)
	if code != 0 {
		m.t.Fatalf("mycrt %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// TestCaptureLife drives a whole capture through the command line against make run's handler,
// DynamoDB Local and a private MariaDB: sign in, environment, capture, wait, statements, stop,
// digest, metrics, download, rename, delete; and the exit codes of a usage and an API error.
func TestCaptureLife(t *testing.T) {
	db := mysqltest.Start(t)
	db.Exec(t, "CREATE DATABASE shop", "CREATE TABLE shop.orders (id INT PRIMARY KEY, total INT)")
	svc, _ := localtest.Start(t, "")
	srv := httptest.NewServer(svc.Handler())
	t.Cleanup(srv.Close)
	m := mycrt{t: t, url: srv.URL, config: t.TempDir()}

	// Before signing in, the API's 401 and a hint.
	if code, _, errOut := m.run("", "env", "list"); code != exitAPI || !strings.Contains(errOut, "mycrt login") {
		t.Errorf("env list before login: exit %d, %q", code, errOut)
	}
	m.ok("login", "--user", "alice")
	if info, err := os.Stat(filepath.Join(m.config, "login.json")); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the kept login: %v %v, want mode 0600", info, err)
	}
	if out := m.ok("env", "list"); !strings.Contains(out, "No environments yet") {
		t.Errorf("empty env list: %q", out)
	}

	code, out, errOut := m.run("\n", "env", "create", "--name", "shop", "--host", db.Host, "--port", fmt.Sprint(db.Port),
		"--db", "shop", "--db-user", "root", "--password-stdin")
	if code != 0 || !strings.Contains(out, "Created environment 1") {
		t.Fatalf("env create: %d %q %q", code, out, errOut)
	}
	// A field the API refuses: its message, exit 1.
	if code, _, errOut := m.run("", "env", "create", "--name", "x", "--host", db.Host, "--db", "shop"); code != exitAPI || !strings.Contains(errOut, "user") {
		t.Errorf("env create without a user: exit %d %q", code, errOut)
	}

	m.ok("capture", "create", "--env", "1", "--name", "cli run", "--duration", "10m")
	m.ok("capture", "wait", "1", "--for", "RUNNING", "--timeout", "30s", "--every", "100ms")
	for i := range 30 {
		db.Exec(t, fmt.Sprintf("INSERT INTO shop.orders VALUES (%d, %d)", i, i*10))
	}
	m.ok("capture", "stop", "1")
	if out := m.ok("capture", "wait", "1", "--timeout", "60s", "--every", "200ms"); !strings.Contains(out, "Status     DONE") {
		t.Fatalf("wait: %q", out)
	}

	// --json prints the API's own body.
	var got struct {
		Status   string
		Workload struct{ Statements int }
	}
	if err := json.Unmarshal([]byte(m.ok("capture", "get", "1", "--json")), &got); err != nil || got.Status != "DONE" || got.Workload.Statements < 30 {
		t.Errorf("capture get --json: %+v %v", got, err)
	}
	if out := m.ok("capture", "list", "--status", "done"); !strings.Contains(out, "cli run") {
		t.Errorf("capture list: %q", out)
	}
	if out := m.ok("capture", "digest", "1"); !strings.Contains(out, "insert into shop.orders values(?+)") || !strings.Contains(out, "30") {
		t.Errorf("digest: %q", out)
	}
	if out := m.ok("capture", "metrics", "1", "--spark"); !strings.Contains(out, "points") {
		t.Errorf("metrics --spark: %q", out)
	}
	file := filepath.Join(t.TempDir(), "w.jsonl.gz")
	m.ok("capture", "download", "1", "-o", file, "-q")
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := io.ReadAll(zr)
	if n := strings.Count(string(all), "INSERT INTO shop.orders"); n != 30 {
		t.Errorf("the downloaded workload holds %d of the 30 inserts", n)
	}

	m.ok("capture", "rename", "1", "renamed run")
	if out := m.ok("capture", "get", "1"); !strings.Contains(out, "renamed run") {
		t.Errorf("after rename: %q", out)
	}
	m.ok("capture", "delete", "1", "--delete-logs")
	if code, _, errOut := m.run("", "capture", "get", "1"); code != exitAPI || !strings.Contains(errOut, "not found") {
		t.Errorf("get after delete: exit %d %q", code, errOut)
	}
	// The flag's old name still parses (the API then finds no such capture), with a word on
	// the new one.
	if code, _, errOut := m.run("", "capture", "delete", "1", "--workload"); code != exitAPI || !strings.Contains(errOut, "use --delete-logs") {
		t.Errorf("delete --workload: exit %d %q", code, errOut)
	}
	// Signed out, the token is gone: the API's 401 and the hint again.
	if out := m.ok("logout"); !strings.Contains(out, "Signed out of "+srv.URL) {
		t.Errorf("logout: %q", out)
	}
	if code, _, errOut := m.run("", "env", "list"); code != exitAPI || !strings.Contains(errOut, "mycrt login") {
		t.Errorf("env list after logout: exit %d, %q", code, errOut)
	}
	// Usage errors exit 2.
	for _, args := range [][]string{{"capture", "get", "abc"}, {"capture", "create", "--at", "someday"}, {"capture", "nope"}, {"env", "list", "--bogus"},
		{"capture", "list", "--status", "finished"}, {"capture", "wait", "1", "--for", "RUNING"}} {
		if code, _, _ := m.run("", args...); code != exitUsage {
			t.Errorf("mycrt %s: exit %d, want %d", strings.Join(args, " "), code, exitUsage)
		}
	}
}

// eventually polls cond every 20 ms until it holds, failing t after within.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(within); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
	}
}

// cognitoSignIn runs mycrt login against the console URL m names, whose /config.json names a
// Cognito fake, playing the browser: it opens the address login printed and follows Cognito
// back to login's loopback callback. It fails t unless login signs in as user.
func cognitoSignIn(t *testing.T, m mycrt, user string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errOut syncbuf.Buffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"login", "--no-browser"}, strings.NewReader(""), &out, &errOut, m.getenv)
	}()
	var signIn string
	eventually(t, 10*time.Second, "login printed where to sign in", func() bool {
		if _, rest, ok := strings.Cut(errOut.String(), "Sign in at:\n  "); ok && strings.Contains(rest, "\n") {
			signIn, _, _ = strings.Cut(rest, "\n")
		}
		return signIn != ""
	})
	if !strings.HasPrefix(signIn, m.url+"/cognito/oauth2/authorize?") {
		t.Fatalf("login printed %q", errOut.String())
	}
	resp, err := http.Get(signIn)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if code := <-done; code != 0 || !strings.Contains(out.String(), "as "+user) || !strings.Contains(string(page), "Signed in") {
		t.Fatalf("login: exit %d, %q %q; callback page %q", code, out.String(), errOut.String(), page)
	}
}

// TestLoginThroughCognito: against a console URL whose /config.json names Cognito, mycrt login
// signs in through the Hosted UI (code grant + PKCE, answered on its loopback callback; the
// test plays the browser), keeps the tokens with mode 0600, and a later command renews the ID
// token with the refresh token once it is about to expire; mycrt logout revokes the refresh
// token and forgets the tokens.
func TestLoginThroughCognito(t *testing.T) {
	// A free port for login's callback, not the stack's (which another process may hold).
	defer func(addr string) { callbackListen = addr }(callbackListen)
	callbackListen = "localhost:0"
	svc, _ := localtest.Start(t, "")
	fake := &cognitotest.Server{T: t, ClientID: "cli-client", ExpiresIn: 30, IDToken: func() string {
		tok, _ := svc.Issuer.Token("carol", time.Hour)
		return tok
	}}
	srv := fake.Site(t, svc.Handler())
	m := mycrt{t: t, url: srv.URL, config: t.TempDir()}
	cognitoSignIn(t, m, "carol")
	if info, err := os.Stat(filepath.Join(m.config, "login.json")); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("the kept login: %v %v, want mode 0600", info, err)
	}
	// The ID token lives 30 s, less than the minute before expiry at which it is renewed.
	if got := m.ok("env", "list"); !strings.Contains(got, "No environments yet") {
		t.Errorf("env list after login: %q", got)
	}
	if fake.Exchanged() != 1 || fake.Refreshed() != 1 {
		t.Errorf("%d codes exchanged and %d refreshes, want 1 and 1", fake.Exchanged(), fake.Refreshed())
	}
	kept := keptLogin(t, m)
	if kept.Refresh != "the-refresh-token-1" {
		t.Errorf("the refresh token was not kept across the refresh: %+v", kept)
	}

	if out := m.ok("logout"); !strings.Contains(out, "Signed out of "+srv.URL) {
		t.Errorf("logout: %q", out)
	}
	if fake.Revoked() != 1 || renew(t, srv.URL, "cli-client", kept.Refresh) != http.StatusBadRequest {
		t.Errorf("after logout: %d refresh tokens revoked, and the kept one renews", fake.Revoked())
	}
	if raw, _ := os.ReadFile(filepath.Join(m.config, "login.json")); strings.Contains(string(raw), kept.Refresh) || strings.Contains(string(raw), kept.Token) {
		t.Errorf("after logout the login still holds the tokens: %s", raw)
	}
	if code, _, errOut := m.run("", "env", "list"); code != exitAPI || !strings.Contains(errOut, "mycrt login") {
		t.Errorf("env list after logout: exit %d, %q", code, errOut)
	}
	if out := m.ok("logout"); !strings.Contains(out, "Not signed in") {
		t.Errorf("a second logout: %q", out)
	}

	// A revocation Cognito refuses (the kept client is not its): exit 1, saying so, and the
	// tokens are forgotten all the same.
	cognitoSignIn(t, m, "carol")
	l, _ := loadLogin(m.getenv)
	tok := l.Tokens[srv.URL]
	tok.ClientID = "someone-else"
	l.Tokens[srv.URL] = tok
	if err := saveLogin(m.getenv, l); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := m.run("", "logout")
	if code != exitAPI || !strings.Contains(errOut, "not revoked") || fake.Revoked() != 1 {
		t.Errorf("a refused revocation: exit %d %q, %d revoked", code, errOut, fake.Revoked())
	}
	if _, ok := keptLogins(t, m)[srv.URL]; ok {
		t.Error("a refused revocation kept the tokens")
	}
}

// TestCallbackForTheStacksAddress: listening on the stack's callback address, login names
// Cognito the very callback the stack registers; on another port, that port.
func TestCallbackForTheStacksAddress(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"127.0.0.1:8976", callbackURL},
		{"[::1]:8976", callbackURL},
		{"127.0.0.1:41234", "http://localhost:41234/callback"},
	} {
		if got := callbackFor(fixedAddr(tc.addr)); got != tc.want {
			t.Errorf("listening on %s: callback %q, want %q", tc.addr, got, tc.want)
		}
	}
}

// fixedAddr is a listener that only tells its address.
type fixedAddr string

func (a fixedAddr) Accept() (net.Conn, error) { return nil, net.ErrClosed }
func (a fixedAddr) Close() error              { return nil }
func (a fixedAddr) Addr() net.Addr {
	addr, _ := net.ResolveTCPAddr("tcp", string(a))
	return addr
}

// keptLogins reads m's login file.
func keptLogins(t *testing.T, m mycrt) map[string]token {
	t.Helper()
	l, err := loadLogin(m.getenv)
	if err != nil {
		t.Fatal(err)
	}
	return l.Tokens
}

// keptLogin is m's kept login for its URL.
func keptLogin(t *testing.T, m mycrt) token {
	t.Helper()
	tok, ok := keptLogins(t, m)[m.url]
	if !ok {
		t.Fatalf("no login kept for %s", m.url)
	}
	return tok
}

// renew asks the Cognito fake on site for tokens with a refresh token, and returns the status.
func renew(t *testing.T, site, clientID, refresh string) int {
	t.Helper()
	resp, err := http.PostForm(site+"/cognito/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {refresh}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
