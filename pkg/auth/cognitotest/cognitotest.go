// Package cognitotest plays the Cognito Hosted UI's OAuth endpoints for tests of the clients
// that sign in through it (the web console, mycrt login): the authorization code grant with
// PKCE, the refresh grant, token revocation, and logout. It is an http.Handler to mount where the tests want it.
package cognitotest

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// Server answers /oauth2/authorize (sending the browser straight back with a code, as if the
// person signed in), /oauth2/token (tokens only for that code and the verifier whose S256
// challenge came with it, or for the refresh token it gave while it is not revoked),
// /oauth2/revoke (a POSTed form of token and client_id revokes that refresh token, as Cognito
// does) and /logout.
type Server struct {
	T        testing.TB
	ClientID string
	// IDToken makes the ID token for each grant: one the API under test accepts.
	IDToken func() string
	// ExpiresIn is the tokens' life in seconds: 3600 when zero.
	ExpiresIn int

	mu        sync.Mutex
	challenge string
	exchanged int
	refreshed int
	revoked   int
	// refresh tokens given, each valid until revoked
	live map[string]bool
}

const code = "the-code"

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	switch r.URL.Path {
	case "/oauth2/authorize":
		if q.Get("response_type") != "code" || q.Get("client_id") != s.ClientID || q.Get("code_challenge_method") != "S256" ||
			q.Get("code_challenge") == "" || q.Get("state") == "" {
			s.T.Errorf("cognitotest: authorize %v: want the code grant with an S256 challenge and a state", q)
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.challenge = q.Get("code_challenge")
		s.mu.Unlock()
		http.Redirect(w, r, q.Get("redirect_uri")+"?code="+code+"&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
	case "/oauth2/token":
		_ = r.ParseForm()
		f := r.PostForm
		s.mu.Lock()
		defer s.mu.Unlock()
		sum := sha256.Sum256([]byte(f.Get("code_verifier")))
		switch {
		case f.Get("client_id") != s.ClientID:
		case f.Get("grant_type") == "authorization_code" && f.Get("code") == code && base64.RawURLEncoding.EncodeToString(sum[:]) == s.challenge:
			s.exchanged++
			s.tokens(w, true)
			return
		case f.Get("grant_type") == "refresh_token" && s.live[f.Get("refresh_token")]:
			s.refreshed++
			s.tokens(w, false) // Cognito sends no new refresh token on a refresh
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
	case "/oauth2/revoke":
		s.revoke(w, r)
	case "/logout":
		http.Redirect(w, r, q.Get("logout_uri"), http.StatusFound)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) tokens(w http.ResponseWriter, withRefresh bool) {
	life := s.ExpiresIn
	if life == 0 {
		life = 3600
	}
	out := map[string]any{"id_token": s.IDToken(), "access_token": "unused", "expires_in": life, "token_type": "Bearer"}
	if withRefresh {
		// Each sign-in its own: revoking one leaves the others working.
		tok := fmt.Sprintf("the-refresh-token-%d", s.exchanged)
		if s.live == nil {
			s.live = map[string]bool{}
		}
		s.live[tok] = true
		out["refresh_token"] = tok
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(out)
}

// revoke answers as Cognito's revocation endpoint does: 200 with an empty body for a
// revocation from the client (of the refresh token it gave, or of a token it does not know,
// which revokes nothing), 400 with an OAuth error otherwise.
func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, e string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": e})
	}
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") || r.ParseForm() != nil {
		fail(http.StatusBadRequest, "invalid_request")
		return
	}
	f := r.PostForm
	switch {
	case f.Get("client_id") != s.ClientID:
		fail(http.StatusBadRequest, "invalid_client")
		return
	case f.Get("token") == "":
		fail(http.StatusBadRequest, "invalid_request")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live[f.Get("token")] {
		s.live[f.Get("token")] = false
		s.revoked++
	}
	w.WriteHeader(http.StatusOK)
}

// Revoked is how many refresh tokens were revoked.
func (s *Server) Revoked() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.revoked
}

// Exchanged is how many codes were traded for tokens.
func (s *Server) Exchanged() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exchanged
}

// Refreshed is how many refresh grants were answered.
func (s *Server) Refreshed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshed
}

// Site serves next as the stack's site does, on one origin: with s under /cognito/ and a
// /config.json naming it (the Cognito domain and client the console and mycrt login read). It
// is stopped when t ends.
func (s *Server) Site(t testing.TB, next http.Handler) *httptest.Server {
	mux := http.NewServeMux()
	mux.Handle("/", next)
	mux.Handle("/cognito/", http.StripPrefix("/cognito", s))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	mux.HandleFunc("GET /config.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"cognito": map[string]string{"domain": srv.URL + "/cognito", "clientId": s.ClientID}})
	})
	return srv
}
