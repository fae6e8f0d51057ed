// Package secret seals database passwords before they are stored and opens them when a
// capture needs to connect. Sealed values are bound to their environment, so a sealed
// password copied onto another environment's record does not open.
package secret

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// Local seals with AES-256-GCM under a key kept in a file, for running outside AWS.
type Local struct {
	aead cipher.AEAD
}

// LoadLocal reads the key at path, creating a new random key there (mode 0600) if there is none.
func LoadLocal(path string) (*Local, error) {
	key, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key = make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("generate secrets key: %w", err)
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("create secrets key folder: %w", err)
		}
		if err := os.WriteFile(path, key, 0o600); err != nil {
			return nil, fmt.Errorf("write secrets key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("read secrets key: %w", err)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("secrets key %s: want 32 bytes, have %d", path, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Local{aead: aead}, nil
}

func envAAD(envID int64) []byte { return []byte("mycrt-env:" + strconv.FormatInt(envID, 10)) }

// Seal encrypts plaintext for environment envID.
func (l *Local) Seal(_ context.Context, envID int64, plaintext string) (string, error) {
	nonce := make([]byte, l.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("seal password: %w", err)
	}
	out := l.aead.Seal(nonce, nonce, []byte(plaintext), envAAD(envID))
	return base64.StdEncoding.EncodeToString(out), nil
}

// Open decrypts what Seal returned for the same environment.
func (l *Local) Open(_ context.Context, envID int64, sealed string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(sealed)
	if err != nil || len(raw) < l.aead.NonceSize() {
		return "", fmt.Errorf("open password of environment %d: malformed", envID)
	}
	n := l.aead.NonceSize()
	plain, err := l.aead.Open(nil, raw[:n], raw[n:], envAAD(envID))
	if err != nil {
		return "", fmt.Errorf("open password of environment %d: %w", envID, err)
	}
	return string(plain), nil
}
