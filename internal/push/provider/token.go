package provider

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"time"
)

// signJWT returns header.claims.signature (RFC 7519, compact form), with
// sign given the signing input.
func signJWT(header, claims any, sign func(input []byte) ([]byte, error)) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	input := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	sig, err := sign([]byte(input))
	if err != nil {
		return "", err
	}
	return input + "." + enc.EncodeToString(sig), nil
}

// signRS256 is RSASSA-PKCS1-v1_5 with SHA-256 (JWS "RS256").
func signRS256(key *rsa.PrivateKey) func([]byte) ([]byte, error) {
	return func(input []byte) ([]byte, error) {
		sum := sha256.Sum256(input)
		return rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	}
}

// signES256 is ECDSA P-256 with SHA-256 (JWS "ES256"): the signature is
// r and s as 32 big-endian bytes each (RFC 7518 §3.4), not ASN.1.
func signES256(key *ecdsa.PrivateKey) func([]byte) ([]byte, error) {
	return func(input []byte) ([]byte, error) {
		sum := sha256.Sum256(input)
		r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
		if err != nil {
			return nil, err
		}
		sig := make([]byte, 64)
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
		return sig, nil
	}
}

// errRefreshTooSoon: a rejected token may not be replaced yet (see
// cachedToken.forcedGap).
var errRefreshTooSoon = errors.New("token refreshed too recently")

// cachedToken holds one bearer token and makes at most one at a time:
// callers that find it missing or due wait for the one refresh (or their
// context) and share its result.
type cachedToken struct {
	now  func() time.Time
	mint func(ctx context.Context) (tok string, refreshAt time.Time, err error)
	// forcedGap > 0: a token that was itself made because the service
	// rejected its predecessor is not replaced again, on rejection, within
	// forcedGap (APNs refuses updates more often than every 20 minutes; a
	// key that is wrong stays wrong).
	forcedGap time.Duration

	sem       chan struct{} // one holder reads or refreshes the fields
	tok       string
	refreshAt time.Time
	forcedAt  time.Time // when the current token replaced a rejected one
}

func newCachedToken(now func() time.Time, forcedGap time.Duration, mint func(context.Context) (string, time.Time, error)) *cachedToken {
	return &cachedToken{now: now, mint: mint, forcedGap: forcedGap, sem: make(chan struct{}, 1)}
}

// get returns the current token, making a new one when there is none, it
// is due, or it is rejected: the token the caller saw the service refuse
// ("" for none). When another caller already replaced rejected, get
// returns the replacement without minting.
func (c *cachedToken) get(ctx context.Context, rejected string) (string, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-c.sem }()
	now := c.now()
	forced := rejected != "" && rejected == c.tok
	if c.tok != "" && !forced && now.Before(c.refreshAt) {
		return c.tok, nil
	}
	if forced && c.forcedGap > 0 && !c.forcedAt.IsZero() && now.Sub(c.forcedAt) < c.forcedGap {
		return "", errRefreshTooSoon
	}
	tok, refreshAt, err := c.mint(ctx)
	if err != nil {
		return "", err
	}
	c.tok, c.refreshAt = tok, refreshAt
	if forced {
		c.forcedAt = now
	} else {
		c.forcedAt = time.Time{}
	}
	return tok, nil
}
