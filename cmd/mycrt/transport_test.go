package main

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// seen is a request as it would have left: its URL and whether it carried a bearer token.
type seen struct {
	url    string
	bearer bool
}

// fakeNet stands for the network, so that nothing leaves the process: it records every
// request and answers those it has a response for (by URL) with it, the rest with an error.
type fakeNet struct {
	mu        sync.Mutex
	requests  []seen
	responses map[string]*http.Response
}

func (f *fakeNet) RoundTrip(r *http.Request) (*http.Response, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, seen{r.URL.String(), r.Header.Get("Authorization") != ""})
	if resp, ok := f.responses[r.URL.String()]; ok {
		resp.Request = r
		return resp, nil
	}
	return nil, errors.New("fakeNet: nothing answers here")
}

func (f *fakeNet) seen() []seen {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]seen(nil), f.requests...)
}

func answer(status int, location, body string) *http.Response {
	h := http.Header{"Content-Type": {"application/json"}}
	if location != "" {
		h.Set("Location", location)
	}
	return &http.Response{StatusCode: status, Status: http.StatusText(status), Header: h, Body: io.NopCloser(strings.NewReader(body)), ProtoMajor: 1, ProtoMinor: 1}
}

// TestBearerOnlyOverTLSOrLoopback: mycrt sends a bearer token (or signs in) only over https or
// plain http to this machine: to any other host over http it exits 2, saying why, before
// anything is sent; nor does it follow a redirect that would carry the token over http, nor
// renew a token at a sign-in service over http.
func TestBearerOnlyOverTLSOrLoopback(t *testing.T) {
	env := "/api/environments"
	for _, tc := range []struct {
		name      string
		url       string
		token     string
		kept      *token // a kept login for url
		args      []string
		responses map[string]*http.Response
		code      int
		stderr    string
		want      []seen // what went out
	}{
		{name: "http elsewhere", url: "http://db.example:3000", token: "t", args: []string{"env", "list"}, code: exitUsage, stderr: "refusing to send the bearer token to http://db.example:3000 over http"},
		{name: "http to a private address", url: "http://10.0.0.5:3000", token: "t", args: []string{"env", "list"}, code: exitUsage, stderr: "use https"},
		{name: "http to a name like loopback's", url: "http://127.0.0.1.example", token: "t", args: []string{"env", "list"}, code: exitUsage, stderr: "use https"},
		{name: "no scheme", url: "db.example:3000", token: "t", args: []string{"env", "list"}, code: exitUsage, stderr: "not an https URL"},
		{name: "a kept login for http elsewhere", url: "http://db.example", kept: &token{User: "a", Token: "t", Expires: time.Now().Add(time.Hour)}, args: []string{"env", "list"}, code: exitUsage, stderr: "use https"},
		{name: "signing in over http elsewhere", url: "http://db.example", args: []string{"login", "--user", "alice"}, code: exitUsage, stderr: "refusing to send a sign-in"},
		{name: "https", url: "https://api.example", token: "t", args: []string{"env", "list"}, code: exitAPI,
			want: []seen{{"https://api.example" + env, true}}},
		{name: "http to 127.0.0.1", url: "http://127.0.0.1:3000", token: "t", args: []string{"env", "list"}, code: exitAPI,
			want: []seen{{"http://127.0.0.1:3000" + env, true}}},
		{name: "http to 127.0.0.9", url: "http://127.0.0.9:3000", token: "t", args: []string{"env", "list"}, code: exitAPI,
			want: []seen{{"http://127.0.0.9:3000" + env, true}}},
		{name: "http to localhost", url: "http://localhost:3000", token: "t", args: []string{"env", "list"}, code: exitAPI,
			want: []seen{{"http://localhost:3000" + env, true}}},
		{name: "http to ::1", url: "http://[::1]:3000", token: "t", args: []string{"env", "list"}, code: exitAPI,
			want: []seen{{"http://[::1]:3000" + env, true}}},
		{name: "http elsewhere without a token", url: "http://db.example", args: []string{"env", "list"}, code: exitAPI,
			want: []seen{{"http://db.example" + env, false}}},
		{name: "a redirect to http", url: "https://api.example", token: "t", args: []string{"env", "list"}, code: exitAPI, stderr: "refusing to follow a redirect to http://api.example/elsewhere",
			responses: map[string]*http.Response{"https://api.example" + env: answer(302, "http://api.example/elsewhere?X-Amz-Signature=secret", "")},
			want:      []seen{{"https://api.example" + env, true}}},
		{name: "a redirect over https", url: "https://api.example", token: "t", args: []string{"env", "list"}, code: exitOK,
			responses: map[string]*http.Response{"https://api.example" + env: answer(302, "https://api.example/v2", ""), "https://api.example/v2": answer(200, "", "[]")},
			want:      []seen{{"https://api.example" + env, true}, {"https://api.example/v2", true}}},
		{name: "a redirect to http on another host (Go drops the token)", url: "https://api.example", token: "t", args: []string{"env", "list"}, code: exitOK,
			responses: map[string]*http.Response{"https://api.example" + env: answer(302, "http://files.example/w", ""), "http://files.example/w": answer(200, "", "[]")},
			want:      []seen{{"https://api.example" + env, true}, {"http://files.example/w", false}}},
		{name: "renewing at a sign-in service over http", url: "https://api.example", code: exitAPI, stderr: "the sign-in could not be renewed (refusing to send a sign-in credential to http://auth.example",
			kept: &token{User: "a", Token: "old", Expires: time.Now().Add(-time.Hour), Refresh: "r", Domain: "http://auth.example", ClientID: "c"}, args: []string{"env", "list"},
			want: []seen{{"https://api.example" + env, false}}},
		{name: "revoking at a sign-in service over http", url: "https://api.example", code: exitAPI, stderr: "not revoked (refusing to send a sign-in credential to http://auth.example",
			kept: &token{User: "a", Token: "old", Expires: time.Now().Add(time.Hour), Refresh: "r", Domain: "http://auth.example", ClientID: "c"}, args: []string{"logout"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			net := &fakeNet{responses: tc.responses}
			m := mycrt{t: t, url: tc.url, config: t.TempDir(), env: map[string]string{"MYCRT_TOKEN": tc.token}, transport: net}
			if tc.kept != nil {
				if err := saveLogin(m.getenv, login{URL: tc.url, Tokens: map[string]token{tc.url: *tc.kept}}); err != nil {
					t.Fatal(err)
				}
			}
			code, _, stderr := m.run("", tc.args...)
			if code != tc.code || !strings.Contains(stderr, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.stderr)
			}
			if strings.Contains(stderr, "secret") {
				t.Errorf("stderr shows a redirect's query: %q", stderr)
			}
			got := net.seen()
			if len(got) != len(tc.want) {
				t.Fatalf("sent %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("request %d: %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// TestSaveLoginAtomic: the login file is written to a new file nobody named and renamed into
// place: a link planted at the old fixed temporary name, or at the login's own name, is not
// followed (the file it points at is left as it was), the login ends up a regular file of
// mode 0600, and no temporary file is left behind.
func TestSaveLoginAtomic(t *testing.T) {
	for _, tc := range []struct{ name, link string }{
		{"a link at the old temporary name", "login.json.tmp"},
		{"a link at the login's name", "login.json"},
		{"no link", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			victim := filepath.Join(t.TempDir(), "victim")
			if err := os.WriteFile(victim, []byte("untouched"), 0o644); err != nil {
				t.Fatal(err)
			}
			if tc.link != "" {
				if err := os.Symlink(victim, filepath.Join(dir, tc.link)); err != nil {
					t.Fatal(err)
				}
			}
			getenv := func(k string) string { return map[string]string{"MYCRT_CONFIG_DIR": dir}[k] }
			for i := range 3 { // again over its own file
				l := login{URL: "http://127.0.0.1:3000", Tokens: map[string]token{"http://127.0.0.1:3000": {User: "alice", Token: strings.Repeat("x", i+1)}}}
				if err := saveLogin(getenv, l); err != nil {
					t.Fatal(err)
				}
				got, err := loadLogin(getenv)
				if err != nil || got.Tokens["http://127.0.0.1:3000"].Token != l.Tokens["http://127.0.0.1:3000"].Token {
					t.Fatalf("read back %+v, %v", got, err)
				}
			}
			if b, _ := os.ReadFile(victim); string(b) != "untouched" {
				t.Errorf("the linked file now holds %q", b)
			}
			info, err := os.Lstat(filepath.Join(dir, "login.json"))
			if err != nil || !info.Mode().IsRegular() || info.Mode().Perm() != 0o600 {
				t.Errorf("login.json: %v %v, want a regular file of mode 0600", info, err)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "login-*")); len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
		})
	}
}

// TestNothingListensSaysWhatToDo: with nothing listening at the API's URL (make run not up, or
// up on another PORT), signing in and any command say how to name the right URL.
func TestNothingListensSaysWhatToDo(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close() // a port nothing listens on now
	m := mycrt{t: t, url: url, config: t.TempDir(), env: map[string]string{"MYCRT_TOKEN": "x"}}
	for _, args := range [][]string{{"login", "--user", "alice"}, {"env", "list"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, _, errOut := m.run("", args...)
			if code != exitAPI || !strings.Contains(errOut, "reach "+url) || !strings.Contains(errOut, "--url or MYCRT_URL") {
				t.Errorf("exit %d %q, want %d, the URL and how to name another", code, errOut, exitAPI)
			}
		})
	}
}
