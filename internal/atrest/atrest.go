// Package atrest encrypts data at rest (message bodies in the database,
// file contents in the blob store) with AES-256-GCM under a keyring: every
// listed key decrypts, the active one (the last listed) encrypts. Each
// ciphertext names its key's ID, so adding a key rotates new writes to it
// while old data stays readable until it is re-encrypted.
//
// Keys are written one per entry as ID:BASE64, where ID is 1-16 of
// [A-Za-z0-9_-] and BASE64 is 32 random bytes in standard base64 (see
// NewKeyLine). Entries are separated by newlines, commas or spaces; in a
// file, a '#' starts a comment. The last entry is the active key.
//
// Two formats:
//
//   - Values (database columns): "pe1:" + ID + ":" + base64(nonce | sealed),
//     sealed with additional data naming the column (and row), so a value
//     copied to another column or row does not open. A value without the
//     "pe1:" prefix is plaintext (data written before encryption was on).
//   - Streams (files): see stream.go.
package atrest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"
)

// KeySize is the size of every key: AES-256.
const KeySize = 32

// MaxIDLen bounds a key ID (it is repeated in every ciphertext).
const MaxIDLen = 16

// ValuePrefix starts every encrypted value.
const ValuePrefix = "pe1:"

var (
	// ErrUnknownKey: the ciphertext names a key the keyring does not hold
	// (it was removed before everything was re-encrypted).
	ErrUnknownKey = errors.New("atrest: ciphertext under a key that is not configured")
	// ErrCorrupt: the ciphertext is malformed or does not authenticate
	// (tampered, truncated, or moved to another place).
	ErrCorrupt = errors.New("atrest: ciphertext does not authenticate")
)

type key struct {
	id   string
	raw  []byte
	aead cipher.AEAD
}

// Keyring holds the keys. It is safe for concurrent use.
type Keyring struct {
	keys   map[string]*key
	order  []string
	active *key
}

// Parse reads keys in the documented format; '#' starts a comment that runs
// to the end of the line. It needs at least one key, and rejects repeated
// IDs.
func Parse(text string) (*Keyring, error) {
	k := &Keyring{keys: map[string]*key{}}
	for n, line := range strings.Split(text, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		for _, entry := range strings.FieldsFunc(line, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\r' }) {
			id, b64, ok := strings.Cut(entry, ":")
			if !ok || !ValidID(id) {
				return nil, fmt.Errorf("line %d: want ID:BASE64 with an ID of 1-%d letters, digits, - or _", n+1, MaxIDLen)
			}
			raw, err := base64.StdEncoding.DecodeString(b64)
			if err != nil || len(raw) != KeySize {
				return nil, fmt.Errorf("line %d: key %q: want %d bytes, base64-encoded", n+1, id, KeySize)
			}
			if k.keys[id] != nil {
				return nil, fmt.Errorf("line %d: key ID %q is listed twice", n+1, id)
			}
			block, err := aes.NewCipher(raw)
			if err != nil {
				return nil, err
			}
			aead, err := cipher.NewGCM(block)
			if err != nil {
				return nil, err
			}
			kk := &key{id: id, raw: raw, aead: aead}
			k.keys[id] = kk
			k.order = append(k.order, id)
			k.active = kk
		}
	}
	if k.active == nil {
		return nil, errors.New("no keys")
	}
	return k, nil
}

// Load builds the keyring from a key file and/or an inline list (the
// environment variable); keys from the file come first, so the inline
// list's last key is active when both are given.
func Load(file, inline string) (*Keyring, error) {
	var text string
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("encryption keys: %w", err)
		}
		text = string(b)
	}
	if inline != "" {
		text += "\n" + inline
	}
	k, err := Parse(text)
	if err != nil {
		return nil, fmt.Errorf("encryption keys: %w", err)
	}
	return k, nil
}

// ValidID reports whether id can name a key.
func ValidID(id string) bool {
	if id == "" || len(id) > MaxIDLen {
		return false
	}
	for i := range len(id) {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// NewKeyLine returns a new random key as an "ID:BASE64" entry.
func NewKeyLine(id string) (string, error) {
	if !ValidID(id) {
		return "", fmt.Errorf("key ID %q: want 1-%d letters, digits, - or _", id, MaxIDLen)
	}
	raw := make([]byte, KeySize)
	rand.Read(raw)
	return id + ":" + base64.StdEncoding.EncodeToString(raw), nil
}

// Active returns the ID of the key that encrypts.
func (k *Keyring) Active() string { return k.active.id }

// IDs returns the key IDs in the order listed (the last is active).
func (k *Keyring) IDs() []string { return append([]string(nil), k.order...) }

// Has reports whether the keyring holds the key id.
func (k *Keyring) Has(id string) bool { return k.keys[id] != nil }

// Seal encrypts plaintext under the active key, bound to ad (the place the
// value is stored, e.g. "items.body:123").
func (k *Keyring) Seal(plaintext, ad []byte) string {
	a := k.active.aead
	nonce := make([]byte, a.NonceSize(), a.NonceSize()+len(plaintext)+a.Overhead())
	rand.Read(nonce)
	sealed := a.Seal(nonce, nonce, plaintext, ad)
	var b strings.Builder
	b.Grow(len(ValuePrefix) + len(k.active.id) + 1 + base64.StdEncoding.EncodedLen(len(sealed)))
	b.WriteString(ValuePrefix)
	b.WriteString(k.active.id)
	b.WriteByte(':')
	b.WriteString(base64.StdEncoding.EncodeToString(sealed))
	return b.String()
}

// Open decrypts what Seal produced with the same ad. A value without the
// prefix is returned as it is (plaintext written before encryption).
func (k *Keyring) Open(value string, ad []byte) ([]byte, error) {
	id, rest, sealed := splitValue(value)
	if !sealed {
		return []byte(value), nil
	}
	if k == nil {
		return nil, ErrUnknownKey
	}
	kk := k.keys[id]
	if kk == nil {
		return nil, fmt.Errorf("%w (key %q)", ErrUnknownKey, id)
	}
	data, err := base64.StdEncoding.DecodeString(rest)
	a := kk.aead
	if err != nil || len(data) < a.NonceSize()+a.Overhead() {
		return nil, ErrCorrupt
	}
	out, err := a.Open(nil, data[:a.NonceSize()], data[a.NonceSize():], ad)
	if err != nil {
		return nil, ErrCorrupt
	}
	return out, nil
}

// KeyOf returns the key ID a stored value is encrypted under, and false
// for plaintext.
func KeyOf(value string) (string, bool) {
	id, _, ok := splitValue(value)
	return id, ok
}

func splitValue(v string) (id, rest string, ok bool) {
	s, ok := strings.CutPrefix(v, ValuePrefix)
	if !ok {
		return "", "", false
	}
	id, rest, ok = strings.Cut(s, ":")
	if !ok || !ValidID(id) {
		return "", "", false
	}
	return id, rest, true
}
