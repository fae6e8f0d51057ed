package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
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

// Token returns a token for user, valid for ttl, with the claims Cognito would give: the
// user's name as cognito:username, and as sub an id that is not the name (LocalSub), as
// Cognito's UUIDs are not, so that nothing that should use the id gets by on the name.
func (i *Issuer) Token(user string, ttl time.Duration) (string, error) {
	if user == "" {
		return "", errors.New("token: empty user")
	}
	now := i.now()
	claims := jwt.MapClaims{
		"iss":              LocalIssuer,
		"sub":              LocalSub(user),
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

// localNamespace is the name-based UUIDs' namespace for local users (RFC 9562, version 5).
var localNamespace = [16]byte{0x6d, 0x79, 0x63, 0x72, 0x74, 0x2d, 0x4c, 0x6f, 0x63, 0x61, 0x6c, 0x55, 0x73, 0x65, 0x72, 0x73}

// LocalSub is a local user's id: the version 5 UUID of their name, so it is the same for
// every token of the name, on every machine, and is not the name.
func LocalSub(name string) string {
	h := sha1.New()
	h.Write(localNamespace[:])
	h.Write([]byte(name))
	u := h.Sum(nil)[:16]
	u[6] = u[6]&0x0f | 0x50 // version 5
	u[8] = u[8]&0x3f | 0x80 // RFC 9562 variant
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

// LocalUsers finds users for make run, which has no user directory: any name is a user,
// whose id is LocalSub of it, and a UUID is taken as an id already (its name unknown, so the
// UUID).
type LocalUsers struct{}

// Find returns the id and name of the local user who names.
func (LocalUsers) Find(_ context.Context, who string) (id, name string, err error) {
	if isUUID(who) {
		return strings.ToLower(who), who, nil
	}
	return LocalSub(who), who, nil
}

// isUUID reports whether s is a UUID in its usual text form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range []byte(s) {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}
