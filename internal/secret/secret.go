// Package secret encrypts secrets at rest (push credentials) with
// AES-256-GCM under one key: from a file (base64, 32 bytes), created with
// a random key on first start if it does not exist. Ciphertexts are
// versioned ("v1:" + base64(nonce | sealed)), so a key rotation can add a
// version later.
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Box seals and opens secrets.
type Box struct{ aead cipher.AEAD }

// Load reads the key file, creating it (mode 0600) with a random key if it
// does not exist.
func Load(path string) (*Box, error) {
	raw, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		enc := base64.StdEncoding.EncodeToString(key) + "\n"
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return Load(path) // another process created it first
		}
		if err != nil {
			return nil, fmt.Errorf("create secrets key: %w", err)
		}
		if _, err := f.WriteString(enc); err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return nil, err
		}
		if err := f.Close(); err != nil {
			return nil, err
		}
		return New(key)
	}
	if err != nil {
		return nil, fmt.Errorf("read secrets key: %w", err)
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil || len(key) != 32 {
		return nil, fmt.Errorf("secrets key %s: want 32 bytes, base64-encoded", path)
	}
	return New(key)
}

// New builds a box from a 32-byte key.
func New(key []byte) (*Box, error) {
	if len(key) != 32 {
		return nil, errors.New("secret: the key must be 32 bytes")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Box{aead: aead}, nil
}

// Seal encrypts plaintext; ad binds it to its context (e.g. the app and
// notifier name), so a ciphertext copied elsewhere does not open.
func (b *Box) Seal(plaintext, ad []byte) string {
	nonce := make([]byte, b.aead.NonceSize())
	rand.Read(nonce)
	return "v1:" + base64.StdEncoding.EncodeToString(b.aead.Seal(nonce, nonce, plaintext, ad))
}

// ErrBadCiphertext: the value is not one this key sealed for this context.
var ErrBadCiphertext = errors.New("secret: cannot decrypt (wrong key or context)")

// Open decrypts what Seal produced with the same ad.
func (b *Box) Open(ciphertext string, ad []byte) ([]byte, error) {
	raw, ok := strings.CutPrefix(ciphertext, "v1:")
	if !ok {
		return nil, ErrBadCiphertext
	}
	data, err := base64.StdEncoding.DecodeString(raw)
	if err != nil || len(data) < b.aead.NonceSize() {
		return nil, ErrBadCiphertext
	}
	out, err := b.aead.Open(nil, data[:b.aead.NonceSize()], data[b.aead.NonceSize():], ad)
	if err != nil {
		return nil, ErrBadCiphertext
	}
	return out, nil
}

// Sealed reports whether v has the form Seal produces (values stored before
// a secret was sealed have not).
func Sealed(v string) bool { return strings.HasPrefix(v, "v1:") }
