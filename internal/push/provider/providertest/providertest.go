// Package providertest runs local stand-ins for the push services over
// HTTPS on random ports: FCM (with Google's OAuth2 token endpoint), APNs
// (HTTP/2) and a webhook receiver. They check what the real services
// check — signed assertions and provider tokens against the keys they
// hand out, bearer tokens they issued, headers, payload shape and sizes —
// so a client bug fails a test instead of a production push. They record
// what they accept and can be scripted to fail.
//
// The fakes serve httptest's one test certificate over HTTP/2 and HTTP/1,
// so the Client of any of them reaches all of them (one client can serve
// a push worker that uses several).
//
// Each fake has its own clock (time.Now unless SetClock is called); give
// the fake and provider.Options the same Clock.Now to move time in tests.
package providertest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock by d (back when d < 0).
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// Failure is one scripted answer: Status, and Retry-After when RetryAfter
// is not empty. Reason is the service's error code (FCM errorCode, APNs
// reason); empty for the usual one of Status.
type Failure struct {
	Status     int
	Reason     string
	RetryAfter string
}

// script is a queue of failures, answered one per request.
type script struct {
	queue []Failure
}

func (s *script) add(n int, f Failure) {
	for range n {
		s.queue = append(s.queue, f)
	}
}

func (s *script) next() (Failure, bool) {
	if len(s.queue) == 0 {
		return Failure{}, false
	}
	f := s.queue[0]
	s.queue = s.queue[1:]
	return f, true
}

// jwt is a parsed compact JWS.
type jwt struct {
	header, claims map[string]any
	input          []byte // header.claims, what was signed
	sig            []byte
}

// parseJWT splits and decodes a compact JWS strictly: three parts of
// unpadded base64url, the first two JSON objects.
func parseJWT(s string) (*jwt, error) {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%d parts, want 3", len(parts))
	}
	enc := base64.RawURLEncoding.Strict()
	var j jwt
	for i, dst := range []*map[string]any{&j.header, &j.claims} {
		b, err := enc.DecodeString(parts[i])
		if err != nil {
			return nil, fmt.Errorf("part %d: not base64url: %v", i+1, err)
		}
		if err := json.Unmarshal(b, dst); err != nil || *dst == nil {
			return nil, fmt.Errorf("part %d: not a JSON object", i+1)
		}
	}
	sig, err := enc.DecodeString(parts[2])
	if err != nil {
		return nil, fmt.Errorf("signature: not base64url: %v", err)
	}
	j.input = []byte(parts[0] + "." + parts[1])
	j.sig = sig
	return &j, nil
}

// str returns a string member of m ("" when absent or not a string).
func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// num returns an integral number member of m.
func num(m map[string]any, k string) (int64, error) {
	f, ok := m[k].(float64)
	if !ok {
		return 0, fmt.Errorf("%s: missing or not a number", k)
	}
	if f != float64(int64(f)) {
		return 0, fmt.Errorf("%s: not an integer", k)
	}
	return int64(f), nil
}

// quiet drops the servers' own log lines (TLS handshakes cut short when a
// test ends); what matters reaches the client as an answer.
var quiet = log.New(io.Discard, "", 0)

// randomHex returns n random bytes in hex.
func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// DeviceToken returns a random APNs-style device token (64 hex digits),
// which also serves as an FCM or webhook token in tests.
func DeviceToken() string { return randomHex(32) }

// writeJSON answers status with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// decodeStrict decodes exactly one JSON value into v, refusing unknown
// fields (as Google's APIs do).
func decodeStrict(b []byte, v any) error {
	d := json.NewDecoder(strings.NewReader(string(b)))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return errors.New("data after the JSON value")
	}
	return nil
}
