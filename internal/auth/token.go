package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"strings"
	"time"
)

// Token layout (version 1):
//
//	"P1." + base64url(payload) + "." + base64url(HMAC-SHA256(app token key, "parley-token-v1" || payload))
//
// payload = kind (1 byte: 1 app, 2 user) | uvarint app ID | uvarint user ID
// (0 for app tokens) | varint issued-at (Unix s) | varint expiry (Unix s, 0 =
// never) | uvarint user token epoch | 8 random bytes.
//
// Revocation: replacing the app's token key (secret rotation) invalidates
// every token of the app; bumping a user's token epoch (deactivation)
// invalidates that user's tokens. Tokens carry the app ID, so one app's
// token never verifies on another app.

// Kind tells app tokens from user tokens.
type Kind byte

const (
	KindApp  Kind = 1
	KindUser Kind = 2
)

// Claims are what a token says.
type Claims struct {
	Kind      Kind
	AppID     int64
	UserID    int64
	IssuedAt  int64 // Unix seconds
	ExpiresAt int64 // Unix seconds; 0 = never
	Epoch     int64 // user token epoch at issue
}

const tokenPrefix = "P1."

var macContext = []byte("parley-token-v1")

// ErrBadToken is returned for every malformed or unverifiable token; callers
// should not tell the client which check failed.
var ErrBadToken = errors.New("auth: bad token")

// MaxTokenLen bounds the tokens Parse accepts.
const MaxTokenLen = 256

// Sign encodes and signs c with key.
func Sign(c Claims, key []byte) string {
	buf := make([]byte, 0, 64)
	buf = append(buf, byte(c.Kind))
	buf = binary.AppendUvarint(buf, uint64(c.AppID))
	buf = binary.AppendUvarint(buf, uint64(c.UserID))
	buf = binary.AppendVarint(buf, c.IssuedAt)
	buf = binary.AppendVarint(buf, c.ExpiresAt)
	buf = binary.AppendUvarint(buf, uint64(c.Epoch))
	var nonce [8]byte
	rand.Read(nonce[:])
	buf = append(buf, nonce[:]...)
	enc := base64.RawURLEncoding
	return tokenPrefix + enc.EncodeToString(buf) + "." + enc.EncodeToString(mac(key, buf))
}

func mac(key, payload []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(macContext)
	m.Write(payload)
	return m.Sum(nil)
}

// Parsed is a decoded but not yet verified token.
type Parsed struct {
	Claims
	payload, sig []byte
}

// Parse decodes a token without verifying it, so the caller can find the
// app whose key verifies it.
func Parse(tok string) (*Parsed, error) {
	if len(tok) > MaxTokenLen || !strings.HasPrefix(tok, tokenPrefix) {
		return nil, ErrBadToken
	}
	p64, s64, ok := strings.Cut(tok[len(tokenPrefix):], ".")
	if !ok {
		return nil, ErrBadToken
	}
	enc := base64.RawURLEncoding.Strict() // one encoding per token: no malleable padding bits
	payload, err := enc.DecodeString(p64)
	if err != nil {
		return nil, ErrBadToken
	}
	sig, err := enc.DecodeString(s64)
	if err != nil || len(sig) != sha256.Size {
		return nil, ErrBadToken
	}
	if len(payload) < 1 {
		return nil, ErrBadToken
	}
	c := Claims{Kind: Kind(payload[0])}
	if c.Kind != KindApp && c.Kind != KindUser {
		return nil, ErrBadToken
	}
	rest := payload[1:]
	var fields [5]int64
	for i := range fields {
		var v int64
		var n int
		if i == 2 || i == 3 {
			v, n = binary.Varint(rest)
		} else {
			var u uint64
			u, n = binary.Uvarint(rest)
			if u > 1<<62 {
				return nil, ErrBadToken
			}
			v = int64(u)
		}
		if n <= 0 {
			return nil, ErrBadToken
		}
		fields[i] = v
		rest = rest[n:]
	}
	if len(rest) != 8 {
		return nil, ErrBadToken
	}
	c.AppID, c.UserID, c.IssuedAt, c.ExpiresAt, c.Epoch = fields[0], fields[1], fields[2], fields[3], fields[4]
	if c.AppID <= 0 || (c.Kind == KindUser) != (c.UserID > 0) {
		return nil, ErrBadToken
	}
	return &Parsed{Claims: c, payload: payload, sig: sig}, nil
}

// Verify checks the signature with key and the expiry against now.
func (p *Parsed) Verify(key []byte, now time.Time) error {
	if !hmac.Equal(mac(key, p.payload), p.sig) {
		return ErrBadToken
	}
	if p.ExpiresAt != 0 && now.Unix() >= p.ExpiresAt {
		return ErrBadToken
	}
	return nil
}
