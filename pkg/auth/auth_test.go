package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/golang-jwt/jwt/v5"
)

func TestFromClaims(t *testing.T) {
	tests := []struct {
		name   string
		claims map[string]string
		want   Identity
		err    bool
	}{
		{"the Cognito user name first", map[string]string{"sub": "u-1", "cognito:username": "alice", "email": "a@example.com"}, Identity{"u-1", "alice"}, false},
		{"else the email", map[string]string{"sub": "u-1", "email": "a@example.com"}, Identity{"u-1", "a@example.com"}, false},
		{"else the subject", map[string]string{"sub": "u-1"}, Identity{"u-1", "u-1"}, false},
		{"no subject", map[string]string{"cognito:username": "alice", "email": "a@example.com"}, Identity{}, true},
		{"an empty subject", map[string]string{"sub": "", "cognito:username": "alice"}, Identity{}, true},
		{"no claims", nil, Identity{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := FromClaims(tt.claims)
			if tt.err != errors.Is(err, ErrNoIdentity) || got != tt.want {
				t.Errorf("FromClaims(%v) = %+v, %v; want %+v (ErrNoIdentity %v)", tt.claims, got, err, tt.want, tt.err)
			}
		})
	}
}

// gatewayRequest is the request the Lambda adapter builds from an API Gateway HTTP API event.
func gatewayRequest(t *testing.T, ev events.APIGatewayV2HTTPRequest) *http.Request {
	t.Helper()
	r, err := (&core.RequestAccessorV2{}).EventToRequestWithContext(context.Background(), ev)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestAPIGateway(t *testing.T) {
	// The sample event sam local invoke sends, as API Gateway's JWT authorizer fills it in.
	raw, err := os.ReadFile(filepath.Join("..", "..", "events", "get-capture.json"))
	if err != nil {
		t.Fatal(err)
	}
	var sample events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(raw, &sample); err != nil {
		t.Fatal(err)
	}
	withClaims := func(claims map[string]string) events.APIGatewayV2HTTPRequest {
		ev := sample
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims},
		}
		return ev
	}
	noJWT := sample
	noJWT.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{}
	noAuthorizer := sample
	noAuthorizer.RequestContext.Authorizer = nil

	tests := []struct {
		name string
		r    *http.Request
		want Identity
		err  bool
	}{
		{"the sample event", gatewayRequest(t, sample), Identity{"3f0c2a1e-5b7d-4c1a-9e2f-alice0000001", "alice"}, false},
		{"email only", gatewayRequest(t, withClaims(map[string]string{"sub": "u-2", "email": "b@example.com"})), Identity{"u-2", "b@example.com"}, false},
		{"claims without a subject", gatewayRequest(t, withClaims(map[string]string{"cognito:username": "mallory"})), Identity{}, true},
		{"an authorizer without a JWT", gatewayRequest(t, noJWT), Identity{}, true},
		{"no authorizer", gatewayRequest(t, noAuthorizer), Identity{}, true},
		// Outside Lambda there is no event at all: a bearer token is not taken on its word.
		{"a plain request with a token", withBearer(httptest.NewRequest("GET", "/api/captures/1", nil), "x.y.z"), Identity{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := APIGateway(tt.r)
			if tt.err != errors.Is(err, ErrNoIdentity) || got != tt.want {
				t.Errorf("APIGateway = %+v, %v; want %+v (ErrNoIdentity %v)", got, err, tt.want, tt.err)
			}
		})
	}
}

func withBearer(r *http.Request, tok string) *http.Request {
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}

// t0 is the issuer's clock in these tests.
var t0 = time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)

// testIssuer is an issuer with a fresh key file and a clock at t0, and the key it signs with.
func testIssuer(t *testing.T) (*Issuer, []byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys", "token.key")
	i, err := LoadIssuer(path)
	if err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i.now = func() time.Time { return t0 }
	return i, key
}

func TestLocalTokens(t *testing.T) {
	i, key := testIssuer(t)
	otherKey := make([]byte, 32)
	if _, err := rand.Read(otherKey); err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	good, err := i.Token("alice", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// claims are what Token signs, changed by edit.
	claims := func(edit func(jwt.MapClaims)) jwt.MapClaims {
		c := jwt.MapClaims{"iss": LocalIssuer, "sub": "alice", "cognito:username": "alice", "iat": t0.Unix(), "exp": t0.Add(time.Hour).Unix()}
		if edit != nil {
			edit(c)
		}
		return c
	}
	sign := func(m jwt.SigningMethod, c jwt.MapClaims, k any) string {
		t.Helper()
		s, err := jwt.NewWithClaims(m, c).SignedString(k)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	tests := []struct {
		name   string
		header string // the Authorization header; none when empty
		want   Identity
		err    bool
	}{
		// Its subject is the name's LocalSub, as Cognito's is not the user name.
		{"a token it issued", "Bearer " + good, Identity{LocalSub("alice"), "alice"}, false},
		{"signed alike by hand", "Bearer " + sign(jwt.SigningMethodHS256, claims(nil), key), Identity{"alice", "alice"}, false},
		{"a subject without a user name", "Bearer " + sign(jwt.SigningMethodHS256, claims(func(c jwt.MapClaims) { delete(c, "cognito:username") }), key), Identity{"alice", "alice"}, false},
		{"no header", "", Identity{}, true},
		{"another scheme", "Basic " + good, Identity{}, true},
		{"an empty bearer", "Bearer ", Identity{}, true},
		{"not a JWT", "Bearer not-a-token", Identity{}, true},
		{"signed with another key", "Bearer " + sign(jwt.SigningMethodHS256, claims(nil), otherKey), Identity{}, true},
		{"the signature altered", "Bearer " + good[:len(good)-2] + flip(good[len(good)-2:]), Identity{}, true},
		{"alg none", "Bearer " + sign(jwt.SigningMethodNone, claims(nil), jwt.UnsafeAllowNoneSignatureType), Identity{}, true},
		{"HS512 with the right key", "Bearer " + sign(jwt.SigningMethodHS512, claims(nil), key), Identity{}, true},
		{"RS256", "Bearer " + sign(jwt.SigningMethodRS256, claims(nil), rsaKey), Identity{}, true},
		{"expired", "Bearer " + sign(jwt.SigningMethodHS256, claims(func(c jwt.MapClaims) { c["exp"] = t0.Add(-time.Second).Unix() }), key), Identity{}, true},
		{"no expiry", "Bearer " + sign(jwt.SigningMethodHS256, claims(func(c jwt.MapClaims) { delete(c, "exp") }), key), Identity{}, true},
		{"not valid yet", "Bearer " + sign(jwt.SigningMethodHS256, claims(func(c jwt.MapClaims) { c["nbf"] = t0.Add(time.Minute).Unix() }), key), Identity{}, true},
		{"another issuer", "Bearer " + sign(jwt.SigningMethodHS256, claims(func(c jwt.MapClaims) { c["iss"] = "https://cognito-idp.us-east-1.amazonaws.com/x" }), key), Identity{}, true},
		{"no issuer", "Bearer " + sign(jwt.SigningMethodHS256, claims(func(c jwt.MapClaims) { delete(c, "iss") }), key), Identity{}, true},
		{"no subject", "Bearer " + sign(jwt.SigningMethodHS256, claims(func(c jwt.MapClaims) { delete(c, "sub") }), key), Identity{}, true},
		{"a subject that is no string", "Bearer " + sign(jwt.SigningMethodHS256, claims(func(c jwt.MapClaims) { c["sub"] = 42 }), key), Identity{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api/captures", nil)
			if tt.header != "" {
				r.Header.Set("Authorization", tt.header)
			}
			got, err := i.Authenticate(r)
			if tt.err != errors.Is(err, ErrNoIdentity) || got != tt.want {
				t.Errorf("Authenticate(%q) = %+v, %v; want %+v (ErrNoIdentity %v)", tt.header, got, err, tt.want, tt.err)
			}
		})
	}
}

// flip changes every character of s, keeping it base64url.
func flip(s string) string {
	b := []byte(s)
	for k := range b {
		if b[k] == 'A' {
			b[k] = 'B'
		} else {
			b[k] = 'A'
		}
	}
	return string(b)
}

// TestTokenLifetime: a token works until its expiry by the issuer's clock, and not after.
func TestTokenLifetime(t *testing.T) {
	i, _ := testIssuer(t)
	tok, err := i.Token("bob", 10*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		at time.Time
		ok bool
	}{
		{t0, true},
		{t0.Add(10*time.Minute - time.Second), true},
		{t0.Add(10*time.Minute + time.Second), false},
	} {
		i.now = func() time.Time { return tt.at }
		id, err := i.Authenticate(withBearer(httptest.NewRequest("GET", "/", nil), tok))
		if tt.ok != (err == nil) || (tt.ok && id != Identity{LocalSub("bob"), "bob"}) {
			t.Errorf("at %s: %+v, %v; want accepted %v", tt.at.Sub(t0), id, err, tt.ok)
		}
	}
	if _, err := i.Token("", time.Hour); err == nil {
		t.Error("a token for nobody was issued")
	}
}

// TestLoadIssuer: the key is made once (0600, in a folder of its own) and read back after, so
// that the server and make token agree; a key too short to be safe is refused.
func TestLoadIssuer(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "token.key")
	first, err := LoadIssuer(path)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil || info.Mode().Perm() != 0o600 || info.Size() != 32 {
		t.Fatalf("the key file: %v %v, want 32 bytes, mode 0600", info, err)
	}
	tok, err := first.Token("carol", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	again, err := LoadIssuer(path)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := again.Authenticate(withBearer(httptest.NewRequest("GET", "/", nil), tok)); err != nil || id != (Identity{LocalSub("carol"), "carol"}) {
		t.Errorf("a token of the first issuer, checked by the second on the same key: %+v, %v", id, err)
	}
	other, err := LoadIssuer(filepath.Join(t.TempDir(), "token.key"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Authenticate(withBearer(httptest.NewRequest("GET", "/", nil), tok)); !errors.Is(err, ErrNoIdentity) {
		t.Errorf("a token checked against another key: %v, want refused", err)
	}
	short := filepath.Join(t.TempDir(), "short.key")
	if err := os.WriteFile(short, []byte("too short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadIssuer(short); err == nil {
		t.Error("a 9-byte key was accepted")
	}
}
