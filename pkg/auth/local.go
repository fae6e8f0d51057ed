package auth

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// LocalIssuer is the name local tokens carry as their issuer.
const LocalIssuer = "mycrt-local"

// Issuer signs and verifies local bearer tokens (HS256) with a key kept in a file.
type Issuer struct {
	key []byte
	now func() time.Time
}

// LoadIssuer reads the signing key at path, creating a random one there (mode 0600) if there
// is none, so that the server and `make token` agree as long as they share the data folder.
func LoadIssuer(path string) (*Issuer, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("generate token key: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create token key folder: %w", err)
		}
		if err := os.WriteFile(path, key, 0o600); err != nil {
			return nil, fmt.Errorf("write token key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("read token key: %w", err)
	}
	if len(key) < 32 {
		return nil, fmt.Errorf("token key %s is shorter than 32 bytes", path)
	}
	return &Issuer{key: key, now: time.Now}, nil
}

// Token returns a token for user, valid for ttl, with the claims Cognito would give.
func (i *Issuer) Token(user string, ttl time.Duration) (string, error) {
	if user == "" {
		return "", errors.New("token: empty user")
	}
	now := i.now()
	claims := jwt.MapClaims{
		"iss":              LocalIssuer,
		"sub":              user,
		"cognito:username": user,
		"iat":              now.Unix(),
		"exp":              now.Add(ttl).Unix(),
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(i.key)
}

// Authenticate verifies the request's bearer token, as the API Gateway JWT authorizer does on AWS.
func (i *Issuer) Authenticate(r *http.Request) (Identity, error) {
	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok || raw == "" {
		return Identity{}, ErrNoIdentity
	}
	tok, err := jwt.Parse(raw, func(*jwt.Token) (any, error) { return i.key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(LocalIssuer),
		jwt.WithExpirationRequired(),
		jwt.WithTimeFunc(i.now),
	)
	if err != nil {
		return Identity{}, fmt.Errorf("%w: %v", ErrNoIdentity, err)
	}
	mc, _ := tok.Claims.(jwt.MapClaims)
	claims := make(map[string]string, len(mc))
	for k, v := range mc {
		if s, ok := v.(string); ok {
			claims[k] = s
		}
	}
	return FromClaims(claims)
}
