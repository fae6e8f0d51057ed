package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/auth"
	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/metrics"
	"github.com/mycrt/captures/pkg/netguard"
	"github.com/mycrt/captures/pkg/secret"
	"github.com/mycrt/captures/pkg/store/storetest"
)

// harness serves the whole API over HTTP on a fresh table, with real local tokens, and checks
// every exchange against the OpenAPI document.
type harness struct {
	t       testing.TB
	url     string
	issuer  *auth.Issuer
	calls   *storetest.Calls
	router  routers.Router
	server  *api.Server
	secrets *secret.Local
	logs    *bytes.Buffer
}

// with is h failing t instead: each subtest passes its own, so that a failure in one stops only
// that one.
func (h *harness) with(t testing.TB) *harness {
	c := *h
	c.t = t
	return &c
}

func newHarness(t testing.TB) *harness {
	t.Helper()
	dir := t.TempDir()
	issuer, err := auth.LoadIssuer(filepath.Join(dir, "token.key"))
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := secret.LoadLocal(filepath.Join(dir, "secrets.key"))
	if err != nil {
		t.Fatal(err)
	}
	calls := &storetest.Calls{}
	logs := &bytes.Buffer{}
	st := storetest.New(t, calls)
	files := blob.Dir{Root: t.TempDir()}
	srv := &api.Server{
		Store:        st,
		Secrets:      sealer,
		Files:        files,
		Metrics:      &metrics.Keeper{Samples: st, Files: files, Now: time.Now},
		Network:      netguard.Policy{AllowLoopback: true, Resolver: testNames},
		Authenticate: issuer.Authenticate,
		Users:        auth.LocalUsers{},
		Log:          slog.New(slog.NewJSONHandler(&lockedWriter{w: logs}, nil)),
		Now:          time.Now,
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)

	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not valid: %v", err)
	}
	doc.Servers = openapi3.Servers{{URL: ts.URL}}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, url: ts.URL, issuer: issuer, calls: calls, router: router, server: srv, secrets: sealer, logs: logs}
}

// lockedWriter lets concurrent requests log into one buffer.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// token returns a bearer token for user; "" stands for an anonymous caller.
func (h *harness) token(user string) string {
	if user == "" {
		return ""
	}
	tok, err := h.issuer.Token(user, time.Hour)
	if err != nil {
		h.t.Fatal(err)
	}
	return tok
}

// response is an answer from the API.
type response struct {
	Status int
	Body   []byte
}

func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// errorMessage returns the message of a JSON error response, failing if it is not one.
func (r response) errorMessage(t *testing.T) string {
	t.Helper()
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	r.decode(t, &e)
	if e.Code != r.Status || e.Message == "" {
		t.Fatalf("error body %s does not match status %d", r.Body, r.Status)
	}
	return e.Message
}

// do sends a request as user. body is sent as is if it is a string, else as JSON.
func (h *harness) do(user, method, path string, body any) response {
	h.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			h.t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, h.url+path, bytes.NewReader(raw))
	if err != nil {
		h.t.Fatal(err)
	}
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok := h.token(user); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	// 502 is the one 5xx the API means: a service it depends on (CloudWatch) failed.
	if resp.StatusCode >= 500 && resp.StatusCode != http.StatusBadGateway {
		h.t.Errorf("%s %s: %d %s", method, path, resp.StatusCode, out)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		h.t.Errorf("%s %s: Content-Type %q, want application/json", method, path, ct)
	}
	h.validate(req, raw, resp, out)
	return response{Status: resp.StatusCode, Body: out}
}

// validate checks the exchange against openapi.yaml: the response always, and the request
// whenever the server accepted it (a request it accepted must be one the document allows).
func (h *harness) validate(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	h.t.Helper()
	ctx := context.Background()
	vreq := req.Clone(ctx)
	vreq.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := h.router.FindRoute(vreq)
	if err != nil {
		if resp.StatusCode != http.StatusNotFound && resp.StatusCode != http.StatusMethodNotAllowed {
			h.t.Errorf("%s %s is not in openapi.yaml: %v", req.Method, req.URL.Path, err)
		}
		return
	}
	in := &openapi3filter.RequestValidationInput{
		Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
	}
	if resp.StatusCode < 300 {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			h.t.Errorf("%s %s was accepted but openapi.yaml rejects it: %v", req.Method, req.URL.Path, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Body:    io.NopCloser(bytes.NewReader(respBody)),
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	if err := openapi3filter.ValidateResponse(ctx, out); err != nil {
		h.t.Errorf("%s %s → %d %s does not match openapi.yaml: %v", req.Method, req.URL.Path, resp.StatusCode, respBody, err)
	}
}

// must sends a request that has to succeed and decodes its JSON answer into out.
func (h *harness) must(user, method, path string, body, out any) {
	h.t.Helper()
	r := h.do(user, method, path, body)
	if r.Status != http.StatusOK {
		h.t.Fatalf("%s %s as %q: %d %s", method, path, user, r.Status, r.Body)
	}
	if out != nil {
		r.decode(h.t, out)
	}
}

type envView struct {
	ID             int64   `json:"id"`
	Name           string  `json:"envName"`
	OwnerID        string  `json:"ownerId"`
	Port           int     `json:"port"`
	Instance       *string `json:"instance"`
	ParameterGroup *string `json:"parameterGroup"`
}

type captureView struct {
	ID             int64   `json:"id"`
	Name           string  `json:"name"`
	Start          *string `json:"start"`
	ScheduledStart *string `json:"scheduledStart"`
	ScheduledEnd   *string `json:"scheduledEnd"`
	End            *string `json:"end"`
	Status         string  `json:"status"`
	EnvID          int64   `json:"envId"`
	Type           string  `json:"type"`
	Reason         *string `json:"reason"`
	OwnerID        string  `json:"ownerId"`
}

// environment creates an environment owned by admin, with the given other members.
func (h *harness) environment(admin string, members map[string]bool) envView {
	h.t.Helper()
	var env envView
	h.must(admin, "POST", "/api/environments", map[string]any{
		"envName": fmt.Sprintf("env %d of %s", envNames.Add(1), admin), "host": "db.internal", "dbName": "shop", "user": "app", "pass": "hunter2",
	}, &env)
	for user, isAdmin := range members {
		h.must(admin, "POST", pathf("/api/environments/%d/users", env.ID), map[string]any{"user": user, "isAdmin": isAdmin}, nil)
	}
	return env
}

func (h *harness) capture(user string, envID int64, name string, extra map[string]any) captureView {
	h.t.Helper()
	body := map[string]any{"name": name, "envId": envID}
	for k, v := range extra {
		body[k] = v
	}
	var c captureView
	h.must(user, "POST", "/api/captures", body, &c)
	return c
}

var pathf = fmt.Sprintf

// envNames numbers the environments the harness makes: an owner's names are unique.
var envNames atomic.Int64

type rawResponse struct {
	StatusCode int
	Body       string
}

// mustRequest sends a request with exactly the Authorization header given.
func mustRequest(t *testing.T, method, url, authorization string) rawResponse {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return rawResponse{resp.StatusCode, string(b)}
}

// testNames resolves the host names the tests use without asking DNS, so that no test sends a
// query off this machine; any other name does not resolve.
var testNames = netguard.Static{
	"localhost": {"127.0.0.1"}, "db.example.com": {"192.0.2.10"}, "db.internal": {"10.1.2.3"},
	"db-prod.example.rds.amazonaws.com": {"192.0.2.20"}, "metadata.test": {"169.254.169.254"},
}
