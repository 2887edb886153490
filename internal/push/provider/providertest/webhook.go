package providertest

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/push/provider"
)

// Webhook is a receiver of the webhook provider's requests (the format is
// documented in package provider) that checks them as a careful receiver
// would: POST with Content-Type application/json; X-Parley-Timestamp a
// Unix time within 5 minutes of the fake's clock and equal to the body's
// timestamp; with a secret, X-Parley-Signature the hex HMAC-SHA256 of the
// raw body (without one, no signature); a body with exactly the
// documented fields and types, a token and a data object. Failures of
// the signature or timestamp answer 401, of the body 400. Accepted
// requests are recorded and answered 204.
type Webhook struct {
	Secret string

	srv *httptest.Server

	mu       sync.Mutex
	now      func() time.Time
	requests []WebhookRequest
	fails    script
	gone     map[string]bool
}

// WebhookRequest is the body of a webhook request.
type WebhookRequest struct {
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

// NewWebhook starts a fake webhook receiver over HTTPS that wants
// requests signed with secret ("" for unsigned); it stops when the test
// ends.
func NewWebhook(t testing.TB, secret string) *Webhook {
	t.Helper()
	h := &Webhook{Secret: secret, now: time.Now, gone: make(map[string]bool)}
	mux := http.NewServeMux()
	mux.HandleFunc("/push", h.receive)
	h.srv = httptest.NewUnstartedServer(mux)
	h.srv.EnableHTTP2 = true // so its Client, like the others', also reaches APNs
	h.srv.Config.ErrorLog = quiet
	h.srv.StartTLS()
	t.Cleanup(h.srv.Close)
	return h
}

// URL is the address to post to.
func (h *Webhook) URL() string { return h.srv.URL + "/push" }

// Client returns an HTTP client that trusts the fake's certificate.
func (h *Webhook) Client() *http.Client { return h.srv.Client() }

// Credentials returns webhook credentials for the fake.
func (h *Webhook) Credentials() provider.Credentials {
	return provider.Credentials{Kind: provider.Webhook, URL: h.URL(), Secret: h.Secret}
}

// SetClock sets the fake's clock (timestamp checks).
func (h *Webhook) SetClock(now func() time.Time) {
	h.mu.Lock()
	h.now = now
	h.mu.Unlock()
}

// FailNext makes the next n valid requests answer fail.
func (h *Webhook) FailNext(n int, fail Failure) {
	h.mu.Lock()
	h.fails.add(n, fail)
	h.mu.Unlock()
}

// Gone makes requests for token answer 410.
func (h *Webhook) Gone(token string) {
	h.mu.Lock()
	h.gone[token] = true
	h.mu.Unlock()
}

// Requests returns the accepted requests, in order.
func (h *Webhook) Requests() []WebhookRequest {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]WebhookRequest(nil), h.requests...)
}

func (h *Webhook) receive(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		http.Error(w, "Content-Type must be application/json", http.StatusUnsupportedMediaType)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 64<<10))
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	ts, err := strconv.ParseInt(r.Header.Get("X-Parley-Timestamp"), 10, 64)
	if err != nil {
		http.Error(w, "bad X-Parley-Timestamp", http.StatusUnauthorized)
		return
	}
	if d := h.now().Unix() - ts; d > 300 || d < -300 {
		http.Error(w, "stale X-Parley-Timestamp", http.StatusUnauthorized)
		return
	}
	sig := r.Header.Get("X-Parley-Signature")
	if h.Secret == "" {
		if sig != "" {
			http.Error(w, "signed, but no secret is set", http.StatusUnauthorized)
			return
		}
	} else {
		got, err := hex.DecodeString(sig)
		m := hmac.New(sha256.New, []byte(h.Secret))
		m.Write(body)
		if err != nil || !hmac.Equal(got, m.Sum(nil)) {
			http.Error(w, "bad X-Parley-Signature", http.StatusUnauthorized)
			return
		}
	}
	var req WebhookRequest
	if err := decodeStrict(body, &req); err != nil {
		http.Error(w, "bad body: "+err.Error(), http.StatusBadRequest)
		return
	}
	var fields map[string]json.RawMessage
	_ = json.Unmarshal(body, &fields)
	for _, k := range []string{"token", "title", "body", "badge", "sound", "collapse_key", "ttl", "data", "timestamp"} {
		if _, ok := fields[k]; !ok {
			http.Error(w, "bad body: no "+k, http.StatusBadRequest)
			return
		}
	}
	switch {
	case req.Token == "":
		http.Error(w, "bad body: empty token", http.StatusBadRequest)
		return
	case req.Data == nil:
		http.Error(w, "bad body: data is not an object", http.StatusBadRequest)
		return
	case req.Timestamp != ts:
		http.Error(w, "bad body: timestamp differs from X-Parley-Timestamp", http.StatusBadRequest)
		return
	}
	if fail, ok := h.fails.next(); ok {
		if fail.RetryAfter != "" {
			w.Header().Set("Retry-After", fail.RetryAfter)
		}
		http.Error(w, "scripted failure", fail.Status)
		return
	}
	if h.gone[req.Token] {
		http.Error(w, "gone", http.StatusGone)
		return
	}
	h.requests = append(h.requests, req)
	w.WriteHeader(http.StatusNoContent)
}
