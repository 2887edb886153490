package admin

import (
	"strings"
	"sync"
	"time"
)

// Sign-in throttling limits (docs/console.md).
const (
	ThrottleWindow      = 15 * time.Minute
	ThrottlePerUsername = 5
	ThrottlePerIP       = 20
	throttleMaxKeys     = 100_000
)

// Throttle counts failed sign-ins per username and per client IP over a
// sliding window. It lives in the memory of one node: in a cluster each
// node counts its own, so the limits apply per node (docs/operations.md).
type Throttle struct {
	Window      time.Duration
	PerUsername int
	PerIP       int

	mu       sync.Mutex
	failures map[string][]time.Time // "u:<name>" or "ip:<addr>" -> recent failures, oldest first
}

// NewThrottle builds a throttle with the documented limits.
func NewThrottle() *Throttle {
	return &Throttle{Window: ThrottleWindow, PerUsername: ThrottlePerUsername, PerIP: ThrottlePerIP,
		failures: map[string][]time.Time{}}
}

func userKey(name string) string {
	if len(name) > MaxUsernameBytes { // no such account; bound the key
		name = name[:MaxUsernameBytes] + "…"
	}
	return "u:" + strings.ToLower(name)
}
func ipKey(ip string) string { return "ip:" + ip }

// recent drops failures older than the window and returns the rest (mu held).
func (t *Throttle) recent(key string, now time.Time) []time.Time {
	list := t.failures[key]
	i := 0
	for i < len(list) && now.Sub(list[i]) >= t.Window {
		i++
	}
	if i == len(list) {
		delete(t.failures, key)
		return nil
	}
	if i > 0 {
		list = append([]time.Time(nil), list[i:]...)
		t.failures[key] = list
	}
	return list
}

// keys are the counters an attempt touches: the username's, and the
// address's unless it is unknown ("").
func (t *Throttle) keys(username, ip string) []struct {
	key   string
	limit int
} {
	ks := []struct {
		key   string
		limit int
	}{{userKey(username), t.PerUsername}}
	if ip != "" {
		ks = append(ks, struct {
			key   string
			limit int
		}{ipKey(ip), t.PerIP})
	}
	return ks
}

// Wait returns how long a sign-in as username from ip ("": unknown) must
// wait; zero if it may go ahead.
func (t *Throttle) Wait(username, ip string, now time.Time) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	var wait time.Duration
	for _, k := range t.keys(username, ip) {
		list := t.recent(k.key, now)
		if len(list) >= k.limit {
			// The attempt is allowed again when the oldest failure that
			// keeps the count at the limit leaves the window.
			w := list[len(list)-k.limit].Add(t.Window).Sub(now)
			wait = max(wait, w)
		}
	}
	return wait
}

// Failed records a failed sign-in.
func (t *Throttle) Failed(username, ip string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.failures) >= throttleMaxKeys {
		for k := range t.failures {
			t.recent(k, now)
		}
		if len(t.failures) >= throttleMaxKeys {
			// Still full of live keys (a flood from many addresses): forget
			// the per-IP counts first, keeping the per-username ones, which
			// protect the accounts.
			for k := range t.failures {
				if strings.HasPrefix(k, "ip:") {
					delete(t.failures, k)
				}
			}
		}
	}
	for _, k := range t.keys(username, ip) {
		t.failures[k.key] = append(t.recent(k.key, now), now)
	}
}

// Succeeded forgets the username's failures (not the IP's).
func (t *Throttle) Succeeded(username string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.failures, userKey(username))
}
