package cognitotest_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/mycrt/captures/pkg/auth/cognitotest"
)

// TestRevoke: the fake's revocation endpoint revokes a refresh token for its client only, and
// a revoked token renews nothing, while another sign-in's token still does.
func TestRevoke(t *testing.T) {
	fake := &cognitotest.Server{T: t, ClientID: "c", IDToken: func() string { return "a.b.c" }}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path string, form url.Values) (int, map[string]any) {
		t.Helper()
		resp, err := http.PostForm(srv.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	signIn := func() string {
		t.Helper()
		sum := sha256.Sum256([]byte("verifier"))
		q := url.Values{"response_type": {"code"}, "client_id": {"c"}, "code_challenge_method": {"S256"},
			"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "state": {"s"}, "redirect_uri": {"http://127.0.0.1/cb"}}
		resp, err := noRedirect.Get(srv.URL + "/oauth2/authorize?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		code, out := post("/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {"c"}, "code": {"the-code"}, "code_verifier": {"verifier"}})
		tok, _ := out["refresh_token"].(string)
		if code != 200 || tok == "" {
			t.Fatalf("sign-in: %d %v", code, out)
		}
		return tok
	}
	renew := func(tok string) int {
		code, _ := post("/oauth2/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"c"}, "refresh_token": {tok}})
		return code
	}
	first, second := signIn(), signIn()
	for _, tc := range []struct {
		name          string
		form          url.Values
		status        int
		first, second int // renewing each afterwards
		revokedByThen int
	}{
		{"another client", url.Values{"client_id": {"x"}, "token": {first}}, 400, 200, 200, 0},
		{"no token", url.Values{"client_id": {"c"}}, 400, 200, 200, 0},
		{"a token it never gave", url.Values{"client_id": {"c"}, "token": {"nope"}}, 200, 200, 200, 0},
		{"the first sign-in's", url.Values{"client_id": {"c"}, "token": {first}}, 200, 400, 200, 1},
		{"again", url.Values{"client_id": {"c"}, "token": {first}}, 200, 400, 200, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, out := post("/oauth2/revoke", tc.form); code != tc.status {
				t.Errorf("revoke: %d %v, want %d", code, out, tc.status)
			}
			if a, b := renew(first), renew(second); a != tc.first || b != tc.second {
				t.Errorf("renewing afterwards: %d and %d, want %d and %d", a, b, tc.first, tc.second)
			}
			if fake.Revoked() != tc.revokedByThen {
				t.Errorf("%d revoked, want %d", fake.Revoked(), tc.revokedByThen)
			}
		})
	}
	resp, err := http.Get(srv.URL + "/oauth2/revoke?client_id=c&token=" + url.QueryEscape(second))
	if err == nil {
		resp.Body.Close()
	}
	if err != nil || resp.StatusCode != 400 || renew(second) != 200 || !strings.HasPrefix(second, "the-refresh-token") {
		t.Errorf("a GET revocation: %v %v; it must revoke nothing", resp, err)
	}
}
