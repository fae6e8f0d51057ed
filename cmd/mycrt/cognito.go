package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// callbackAddr and callbackURL are where `mycrt login` hears back from the Cognito Hosted UI: the
// stack names this URL among its client's callbacks (infra.CLICallback).
const (
	callbackAddr = "localhost:8976"
	callbackURL  = "http://" + callbackAddr + "/callback"
)

// callbackListen is the address login listens on for the Hosted UI's answer: callbackAddr, but
// tests take a free port ("localhost:0"), which the redirect then names (callbackFor).
var callbackListen = callbackAddr

// callbackFor is the callback URL that reaches listener ln: callbackURL's host at ln's port, so
// callbackURL itself when ln listens on callbackAddr.
func callbackFor(ln net.Listener) string {
	host, _, _ := net.SplitHostPort(callbackAddr)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return "http://" + net.JoinHostPort(host, port) + "/callback"
}

// cognitoConfig is how a deployed console signs in, as its /config.json says.
type cognitoConfig struct {
	Domain   string `json:"domain"`
	ClientID string `json:"clientId"`
}

// discoverCognito reads <url>/config.json, which the stack writes beside the console; nil
// when there is none (make run, or an API URL that is not the console's).
func discoverCognito(ctx context.Context, hc *http.Client, base string) (*cognitoConfig, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(base, "/")+"/config.json", nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reach %s: %w%s", base, err, refusedHint(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil
	}
	var cfg struct{ Cognito *cognitoConfig }
	if json.NewDecoder(resp.Body).Decode(&cfg) != nil || cfg.Cognito == nil || cfg.Cognito.Domain == "" {
		return nil, nil
	}
	return cfg.Cognito, nil
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// cognitoLogin signs in through the Hosted UI with the authorization code grant and PKCE:
// it listens on the loopback callback, sends the person's browser to the sign-in page (or
// prints its address), and trades the code that comes back for tokens.
func cognitoLogin(ctx context.Context, hc *http.Client, cfg cognitoConfig, stderr io.Writer, openBrowser bool) (token, error) {
	verifier, state := randomString(48), randomString(16)
	sum := sha256.Sum256([]byte(verifier))
	ln, err := net.Listen("tcp", callbackListen)
	if err != nil {
		return token{}, fmt.Errorf("listen for the sign-in's answer on %s: %w", callbackListen, err)
	}
	callback := callbackFor(ln)
	codes := make(chan string, 1)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/callback" || q.Get("state") != state || q.Get("code") == "" {
			http.Error(w, "This is not the answer to the sign-in mycrt started.", http.StatusBadRequest)
			return
		}
		fmt.Fprintln(w, "Signed in to MyCRT Captures: you can close this tab.")
		select {
		case codes <- q.Get("code"):
		default:
		}
	})}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	q := url.Values{
		"response_type": {"code"}, "client_id": {cfg.ClientID}, "redirect_uri": {callback},
		"scope": {"openid email profile"}, "code_challenge_method": {"S256"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "state": {state},
	}
	signIn := strings.TrimSuffix(cfg.Domain, "/") + "/oauth2/authorize?" + q.Encode()
	fmt.Fprintf(stderr, "Sign in at:\n  %s\n", signIn)
	if openBrowser {
		open(signIn)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	select {
	case code := <-codes:
		return exchange(ctx, hc, cfg, url.Values{"grant_type": {"authorization_code"}, "code": {code},
			"redirect_uri": {callback}, "code_verifier": {verifier}}, "")
	case <-ctx.Done():
		return token{}, errors.New("no sign-in within 5 minutes")
	}
}

// open tries the system's way of opening a URL; the printed address is there if it fails.
func open(u string) {
	cmd := "xdg-open"
	switch runtime.GOOS {
	case "darwin":
		cmd = "open"
	case "windows":
		_ = exec.Command("rundll32", "url.dll,FileProtocolHandler", u).Start()
		return
	}
	_ = exec.Command(cmd, u).Start()
}

// exchange asks the token endpoint for tokens: the ID token is the API's bearer token (it
// names the user), the refresh token renews it. refresh is kept when Cognito sends none back
// (it does not on a refresh).
func exchange(ctx context.Context, hc *http.Client, cfg cognitoConfig, form url.Values, refresh string) (token, error) {
	resp, err := post(ctx, hc, cfg, "/oauth2/token", form)
	if err != nil {
		return token{}, err
	}
	defer resp.Body.Close()
	var out struct {
		IDToken      string `json:"id_token"`
		RefreshToken string `json:"refresh_token"`
		ExpiresIn    int    `json:"expires_in"`
		Error        string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK || out.IDToken == "" {
		return token{}, &apiError{Code: resp.StatusCode, Message: "sign-in refused: " + first(out.Error, resp.Status)}
	}
	t := token{Token: out.IDToken, Refresh: first(out.RefreshToken, refresh), Expires: time.Now().Add(time.Duration(out.ExpiresIn) * time.Second),
		Domain: cfg.Domain, ClientID: cfg.ClientID}
	t.User = userOf(out.IDToken)
	return t, nil
}

// post sends form, with the client's id, to the sign-in service's endpoint path: only over
// https (or plain http to this machine), since it carries a code or a refresh token.
func post(ctx context.Context, hc *http.Client, cfg cognitoConfig, path string, form url.Values) (*http.Response, error) {
	if err := plainText(cfg.Domain, "a sign-in credential"); err != nil {
		return nil, err
	}
	form.Set("client_id", cfg.ClientID)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(cfg.Domain, "/")+path, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("reach the sign-in service: %w", err)
	}
	return resp, nil
}

// revoke asks the sign-in service to revoke the refresh token (Cognito's /oauth2/revoke),
// after which it renews nothing.
func revoke(ctx context.Context, hc *http.Client, cfg cognitoConfig, refresh string) error {
	resp, err := post(ctx, hc, cfg, "/oauth2/revoke", url.Values{"token": {refresh}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var out struct {
			Error string `json:"error"`
		}
		_ = json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&out)
		return &apiError{Code: resp.StatusCode, Message: "the sign-in service refused: " + first(out.Error, resp.Status)}
	}
	return nil
}

// userOf is the user an ID token names, read without checking it (the API checks it).
func userOf(idToken string) string {
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var claims map[string]any
	_ = json.Unmarshal(b, &claims)
	for _, k := range []string{"cognito:username", "email", "sub"} {
		if s, ok := claims[k].(string); ok && s != "" {
			return s
		}
	}
	return ""
}
