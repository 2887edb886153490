package provider

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// APNs service addresses.
const (
	APNsProduction = "https://api.push.apple.com"
	APNsSandbox    = "https://api.sandbox.push.apple.com"
)

const (
	// apnsTokenReuse is how long one provider token is used: Apple refuses
	// tokens older than an hour and updates more often than every 20
	// minutes.
	apnsTokenReuse = 50 * time.Minute
	// apnsForcedGap: a token made because Apple rejected the previous one
	// is not replaced again on rejection within this time.
	apnsForcedGap = 20 * time.Minute
	// apnsMaxCollapseID is the longest apns-collapse-id Apple accepts.
	apnsMaxCollapseID = 64
)

// apnsProvider sends through APNs over HTTP/2 with token (.p8) auth.
type apnsProvider struct {
	base   string // no trailing slash
	topic  string
	client *http.Client
	now    func() time.Time
	token  *cachedToken
}

func newAPNs(c Credentials, opts Options) (Provider, error) {
	var p problems
	var key *ecdsa.PrivateKey
	if strings.TrimSpace(c.KeyP8) == "" {
		p.add("key_p8", "missing")
	} else if k, err := parseP256Key(c.KeyP8); err != nil {
		p.add("key_p8", "%v", err)
	} else {
		key = k
	}
	keyID, teamID, topic := strings.TrimSpace(c.KeyID), strings.TrimSpace(c.TeamID), strings.TrimSpace(c.Topic)
	if keyID == "" {
		p.add("key_id", "missing")
	}
	if teamID == "" {
		p.add("team_id", "missing")
	}
	if topic == "" {
		p.add("topic", "missing (the app's bundle ID)")
	}
	base := APNsProduction
	if c.Sandbox {
		base = APNsSandbox
	}
	if c.Endpoint != "" {
		p.checkURL("endpoint", c.Endpoint, true)
		base = strings.TrimRight(c.Endpoint, "/")
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	a := &apnsProvider{
		base:   base,
		topic:  topic,
		client: httpClient(opts.HTTPClient, func() http.RoundTripper { return newTransport(true) }),
		now:    opts.Now,
	}
	header := struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
	}{"ES256", keyID}
	sign := signES256(key)
	a.token = newCachedToken(opts.Now, apnsForcedGap, func(context.Context) (string, time.Time, error) {
		iat := a.now()
		claims := struct {
			Iss string `json:"iss"`
			Iat int64  `json:"iat"`
		}{teamID, iat.Unix()}
		tok, err := signJWT(header, claims, sign)
		return tok, iat.Add(apnsTokenReuse), err
	})
	return a, nil
}

// apnsError is the body of an APNs failure.
type apnsError struct {
	Reason string `json:"reason"`
}

// Send posts n to /3/device/{token}. See apnsPayload for the payload.
func (a *apnsProvider) Send(ctx context.Context, n Notification) error {
	if !isHex(n.Token) {
		return fmt.Errorf("apns: %w: not a hex device token", ErrInvalidToken)
	}
	payload, alert, err := apnsPayload(n, false)
	if err != nil {
		return fmt.Errorf("apns: %w", err)
	}
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("apns: %w", err)
	}
	jwt, err := a.token.get(ctx, "")
	if err != nil {
		return fmt.Errorf("apns: provider token: %w", err)
	}
	r, err := a.post(ctx, jwt, n, alert, body)
	if err != nil {
		return err
	}
	if reason := apnsReason(r); r.status == http.StatusForbidden && (reason == "ExpiredProviderToken" || reason == "InvalidProviderToken") {
		fresh, err := a.token.get(ctx, jwt)
		if err == errRefreshTooSoon {
			return fmt.Errorf("apns: %w: %s (a new token was made less than %s ago)", ErrCredentialsRejected, reason, apnsForcedGap)
		}
		if err != nil {
			return fmt.Errorf("apns: provider token: %w", err)
		}
		if r, err = a.post(ctx, fresh, n, alert, body); err != nil {
			return err
		}
	}
	return a.result(r)
}

func (a *apnsProvider) post(ctx context.Context, jwt string, n Notification, alert bool, body []byte) (*response, error) {
	req, err := http.NewRequest(http.MethodPost, a.base+"/3/device/"+n.Token, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("apns: %w", err)
	}
	h := req.Header
	h.Set("Authorization", "bearer "+jwt)
	h.Set("Content-Type", "application/json")
	h.Set("apns-topic", a.topic)
	if alert {
		h.Set("apns-push-type", "alert")
		h.Set("apns-priority", "10")
	} else {
		h.Set("apns-push-type", "background")
		h.Set("apns-priority", "5")
	}
	if n.CollapseKey != "" {
		h.Set("apns-collapse-id", collapseID(n.CollapseKey))
	}
	if n.TTL > 0 {
		h.Set("apns-expiration", strconv.FormatInt(a.now().Add(n.TTL).Unix(), 10))
	}
	r, err := do(ctx, a.client, req)
	if err != nil {
		return nil, fmt.Errorf("apns: %w", err)
	}
	return r, nil
}

// result maps APNs' answer to Send's error.
func (a *apnsProvider) result(r *response) error {
	reason := apnsReason(r)
	switch {
	case r.status == http.StatusOK:
		return nil
	case r.status == http.StatusGone,
		r.status == http.StatusBadRequest && (reason == "BadDeviceToken" || reason == "Unregistered"):
		return fmt.Errorf("apns: %w (%d %s)", ErrInvalidToken, r.status, reason)
	case r.status == http.StatusForbidden && (reason == "ExpiredProviderToken" || reason == "InvalidProviderToken"):
		return fmt.Errorf("apns: %w: %s", ErrCredentialsRejected, reason)
	case temporary(r.status):
		return retryError(r, a.now(), fmt.Errorf("apns: %s", reason))
	default:
		return fmt.Errorf("apns: status %d: %s", r.status, reason)
	}
}

// apnsReason is the reason of an APNs failure, or the start of the body
// when it has none.
func apnsReason(r *response) string {
	if r.status == http.StatusOK {
		return ""
	}
	var e apnsError
	if json.Unmarshal(r.body, &e) == nil && e.Reason != "" {
		return e.Reason
	}
	return snippet(r.body)
}

// collapseID returns key, or for a key longer than Apple allows, the hex
// SHA-256 of it (64 characters): equal keys still collapse.
func collapseID(key string) string {
	if len(key) <= apnsMaxCollapseID {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// isHex reports whether s is a non-empty string of hex digits: the form
// of every APNs device token (and nothing that could escape the URL path).
func isHex(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
