package provider

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Webhook request format.
//
// For each notification the webhook provider sends one request:
//
//	POST <url>
//	Content-Type: application/json
//	User-Agent: parley-push
//	X-Parley-Timestamp: 1767225600
//	X-Parley-Signature: 3f2a…  (only when a secret is set)
//
//	{"token":"…","title":"…","body":"…","badge":3,"sound":"",
//	 "collapse_key":"…","ttl":3600,"data":{"k":"v"},
//	 "apns":{…},"timestamp":1767225600}
//
// Body fields: token is the device token of the binding; title and body
// may be empty; badge is the user's unread total, -1 meaning "leave the
// badge alone"; sound is "" for the default sound; collapse_key is ""
// for none (a newer notification with the same key replaces an older
// one); ttl is in seconds, 0 for the receiver's default; data is always
// an object (custom keys for the app, string values); apns is the
// message's em_apns_ext, passed through untouched, and absent when the
// message has none; timestamp is the Unix time of sending, the same as
// X-Parley-Timestamp.
//
// X-Parley-Signature is the lowercase hex HMAC-SHA256 of the exact body
// bytes, keyed with the secret. Receivers should compute it over the raw
// body before parsing, compare in constant time, and reject a timestamp
// far from their clock (say more than 5 minutes): the timestamp is inside
// the signed body, so a replayed request cannot carry a fresh one.
//
// The answer: any 2xx is success; 410 Gone means the token is dead (the
// binding is dropped); 429 and 5xx are retried later, honouring
// Retry-After (seconds or an HTTP date); anything else, including
// redirects (never followed), fails this notification for good.
type webhookBody struct {
	Token       string            `json:"token"`
	Title       string            `json:"title"`
	Body        string            `json:"body"`
	Badge       int               `json:"badge"`
	Sound       string            `json:"sound"`
	CollapseKey string            `json:"collapse_key"`
	TTL         int64             `json:"ttl"`
	Data        map[string]string `json:"data"`
	APNs        json.RawMessage   `json:"apns,omitempty"`
	Timestamp   int64             `json:"timestamp"`
}

// webhookProvider posts notifications to a URL of the app's own.
type webhookProvider struct {
	url    string
	secret []byte
	client *http.Client
	now    func() time.Time
}

func newWebhook(c Credentials, opts Options) (Provider, error) {
	var p problems
	u := strings.TrimSpace(c.URL)
	if u == "" {
		p.add("url", "missing")
	} else {
		p.checkURL("url", u, false)
	}
	if err := p.err(); err != nil {
		return nil, err
	}
	return &webhookProvider{
		url:    u,
		secret: []byte(c.Secret),
		client: httpClient(opts.HTTPClient, func() http.RoundTripper { return sharedTransport() }),
		now:    opts.Now,
	}, nil
}

// Send posts n in the format above.
func (w *webhookProvider) Send(ctx context.Context, n Notification) error {
	if n.Token == "" {
		return fmt.Errorf("webhook: %w: empty", ErrInvalidToken)
	}
	ts := w.now().Unix()
	data := n.Data
	if data == nil {
		data = map[string]string{}
	}
	var apns json.RawMessage
	if raw := bytes.TrimSpace(n.APNs); len(raw) > 0 && string(raw) != "null" {
		if !json.Valid(raw) {
			return errors.New("webhook: em_apns_ext is not valid JSON")
		}
		apns = raw
	}
	body, err := json.Marshal(webhookBody{
		Token: n.Token, Title: n.Title, Body: n.Body, Badge: n.Badge, Sound: n.Sound,
		CollapseKey: n.CollapseKey, TTL: int64(n.TTL / time.Second), Data: data, APNs: apns,
		Timestamp: ts,
	})
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	req, err := http.NewRequest(http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "parley-push")
	req.Header.Set("X-Parley-Timestamp", strconv.FormatInt(ts, 10))
	if len(w.secret) > 0 {
		req.Header.Set("X-Parley-Signature", webhookSignature(w.secret, body))
	}
	r, err := do(ctx, w.client, req)
	if err != nil {
		return fmt.Errorf("webhook: %w", err)
	}
	switch {
	case r.status >= 200 && r.status < 300:
		return nil
	case r.status == http.StatusGone:
		return fmt.Errorf("webhook: %w (410)", ErrInvalidToken)
	case temporary(r.status):
		return retryError(r, w.now(), fmt.Errorf("webhook: status %d: %s", r.status, snippet(r.body)))
	default:
		return fmt.Errorf("webhook: status %d: %s", r.status, snippet(r.body))
	}
}

// webhookSignature returns the X-Parley-Signature of body: the lowercase
// hex HMAC-SHA256 of body keyed with secret.
func webhookSignature(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}
