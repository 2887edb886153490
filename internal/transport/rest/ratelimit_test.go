package rest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
)

// limitedConfig is a test server with rate limits on. Rates of "N/m" let
// N requests through at once and almost nothing more during a test, so the
// counts below do not depend on timing.
func limitedConfig(t *testing.T) config.Config {
	cfg := servertest.Config(t, "sqlite")
	cfg.RateLimit.Enabled = true
	return cfg
}

// expectLimited checks a 429 in the API's error shape with Retry-After.
func expectLimited(t *testing.T, r *servertest.Response, maxRetry int) {
	t.Helper()
	expect(t, r, 429, "resource_limited")
	if r.Str("code") != "rate_limited" {
		t.Fatalf("code %q, want rate_limited: %s", r.Str("code"), r.Raw)
	}
	ra, err := strconv.Atoi(r.Header.Get("Retry-After"))
	if err != nil || ra < 1 || ra > maxRetry {
		t.Fatalf("Retry-After %q, want 1..%d", r.Header.Get("Retry-After"), maxRetry)
	}
}

// One app hammered past its limit gets 429s; another app's requests in the
// same period all succeed.
func TestRateLimit_PerApp(t *testing.T) {
	s := servertest.Start(t, limitedConfig(t))
	hot := s.App(t, "acme", "hot", tenant.Settings{RateLimits: map[string]string{"default": "1/m burst 20"}})
	cold := s.App(t, "acme", "cold", tenant.Settings{})
	hotTok, coldTok := s.AppToken(t, hot), s.AppToken(t, cold)

	const hotN, coldN, workers = 60, 150, 10
	var mu sync.Mutex
	status := map[string]map[int]int{"hot": {}, "cold": {}}
	var limited []*servertest.Response
	var wg sync.WaitGroup
	jobs := make(chan string)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for app := range jobs {
				tok := hotTok
				if app == "cold" {
					tok = coldTok
				}
				r := s.Do(t, "GET", "/acme/"+app+"/users?limit=1", tok, nil)
				mu.Lock()
				status[app][r.Status]++
				if r.Status == 429 {
					limited = append(limited, r)
				}
				mu.Unlock()
			}
		}()
	}
	// Interleaved: the cold app's requests run while the hot app is refused.
	for i := range max(hotN, coldN) {
		if i < hotN {
			jobs <- "hot"
		}
		if i < coldN {
			jobs <- "cold"
		}
	}
	close(jobs)
	wg.Wait()

	if got := status["cold"]; got[200] != coldN {
		t.Fatalf("the other app got %v, want %d × 200", got, coldN)
	}
	// 20 at once, and at most one more per minute the test ran.
	if got := status["hot"]; got[200] < 20 || got[200] > 21 || got[200]+got[429] != hotN {
		t.Fatalf("the hammered app got %v, want 20 × 200 and the rest 429", got)
	}
	for _, r := range limited {
		expectLimited(t, r, 60)
	}
	// Token requests are a class of their own: still allowed.
	s.AppToken(t, hot)
	// The metric counts refusals.
	m := s.Do(t, "GET", "/metrics", "", nil)
	if !strings.Contains(string(m.Raw), `parley_rate_limited_total{limit="app"}`) {
		t.Fatal("metrics lack parley_rate_limited_total")
	}
}

// A user-token caller has a budget of its own.
func TestRateLimit_PerUser(t *testing.T) {
	cfg := limitedConfig(t)
	cfg.RateLimit.User = "1/m burst 3"
	s := servertest.Start(t, cfg)
	app := s.App(t, "acme", "chat", tenant.Settings{})
	admin := s.AppToken(t, app)
	for _, u := range []string{"alice", "bob"} {
		expect(t, s.Do(t, "POST", "/acme/chat/users", admin, map[string]string{"username": u, "password": "pw"}), 200, "")
	}
	tok := func(u string) string {
		r := s.Do(t, "POST", "/acme/chat/token", "", map[string]string{"grant_type": "password", "username": u, "password": "pw"})
		expect(t, r, 200, "")
		return r.Str("access_token")
	}
	alice, bob := tok("alice"), tok("bob")
	for range 3 {
		expect(t, s.Do(t, "GET", "/acme/chat/users/alice", alice, nil), 200, "")
	}
	expectLimited(t, s.Do(t, "GET", "/acme/chat/users/alice", alice, nil), 60)
	// Another user, and the app's own token, are not affected.
	expect(t, s.Do(t, "GET", "/acme/chat/users/bob", bob, nil), 200, "")
	expect(t, s.Do(t, "GET", "/acme/chat/users/alice", admin, nil), 200, "")
	// A refused request changed nothing: alice can still be read.
	if r := s.Do(t, "GET", "/acme/chat/users/alice", admin, nil); r.Entities()[0]["username"] != "alice" {
		t.Fatalf("alice: %s", r.Raw)
	}
}

// doFrom sends a request as if from client address ip, through a trusted
// proxy (the test's loopback address).
func doFrom(t *testing.T, s *servertest.Server, ip, method, path, token string, body any) *servertest.Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, s.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", ip)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := &servertest.Response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	json.Unmarshal(raw, &r.Body)
	return r
}

// Token requests, management sign-ins and WebSocket connection attempts
// share one budget per client address; requests without a token have
// another; the client address is taken from X-Forwarded-For behind a
// trusted proxy, and loopback is exempt by default.
func TestRateLimit_PerAddress(t *testing.T) {
	cfg := limitedConfig(t)
	cfg.HTTP.TrustedProxies = "127.0.0.1"
	cfg.RateLimit.SignIn = "1/m burst 3"
	cfg.RateLimit.Anonymous = "1/m burst 2"
	s := servertest.Start(t, cfg)
	app := s.App(t, "acme", "chat", tenant.Settings{})
	admin := s.AppToken(t, app)
	expect(t, s.Do(t, "POST", "/acme/chat/users", admin, map[string]string{"username": "alice", "password": "pw"}), 200, "")
	login := map[string]string{"grant_type": "password", "username": "alice", "password": "pw"}
	wrong := map[string]string{"grant_type": "password", "username": "alice", "password": "wrong"}
	const a, b = "198.51.100.1", "198.51.100.2"

	// Three sign-ins from a (right or wrong), then 429 for every kind.
	expect(t, doFrom(t, s, a, "POST", "/acme/chat/token", "", login), 200, "")
	expect(t, doFrom(t, s, a, "POST", "/acme/chat/token", "", wrong), 400, "")
	expect(t, doFrom(t, s, a, "POST", "/acme/chat/token", "", login), 200, "")
	expectLimited(t, doFrom(t, s, a, "POST", "/acme/chat/token", "", login), 60)
	expectLimited(t, doFrom(t, s, a, "POST", "/management/token", "",
		map[string]string{"grant_type": "password", "username": "owner", "password": servertest.OwnerPassword}), 60)
	hdr := http.Header{"X-Forwarded-For": {a}}
	conn, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.URL, "http")+"/ws?v=1", hdr)
	if err == nil {
		conn.Close()
		t.Fatal("a WebSocket connection attempt over the sign-in limit was accepted")
	}
	if resp == nil || resp.StatusCode != 429 || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("WebSocket attempt over the limit: %v %v", resp, err)
	}
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	if body["code"] != "rate_limited" || body["error"] != "resource_limited" {
		t.Fatalf("WebSocket refusal body: %v", body)
	}

	// Another address, and loopback (exempt), still sign in.
	expect(t, doFrom(t, s, b, "POST", "/acme/chat/token", "", login), 200, "")
	for range 5 {
		expect(t, s.Do(t, "POST", "/acme/chat/token", "", login), 200, "")
	}

	// Requests without a (valid) token: two from b, then 429; a token
	// request from b is still allowed (a separate budget), and b's
	// requests with a valid token are not limited per address.
	expect(t, doFrom(t, s, b, "GET", "/acme/chat/users", "", nil), 401, "")
	expect(t, doFrom(t, s, b, "GET", "/acme/chat/users", "not-a-token", nil), 401, "")
	expectLimited(t, doFrom(t, s, b, "GET", "/acme/chat/users", "", nil), 60)
	expect(t, doFrom(t, s, b, "POST", "/acme/chat/token", "", login), 200, "")
	for range 5 {
		expect(t, doFrom(t, s, b, "GET", "/acme/chat/users", admin, nil), 200, "")
	}
}

// An app's rate_limits are validated, merged class by class and visible in
// its settings; unknown classes and bad rates change nothing.
func TestRateLimit_Settings(t *testing.T) {
	set := tenant.Settings{RateLimits: map[string]string{"token": "10/s"}}
	for _, tc := range []struct {
		patch   string
		want    map[string]string
		wantErr string
	}{
		{`{"rate_limits":{"default":"5/s burst 9"}}`, map[string]string{"token": "10/s", "default": "5/s burst 9"}, ""},
		{`{"rate_limits":{"token":null}}`, map[string]string{}, ""},
		{`{"rate_limits":{"ws_send":"off"}}`, map[string]string{"token": "10/s", "ws_send": "off"}, ""},
		{`{"rate_limits":{"nope":"5/s"}}`, nil, "unknown class"},
		{`{"rate_limits":{"token":"5/h"}}`, nil, "rate_limits.token"},
		{`{"rate_limits":{"token":5}}`, nil, "rate_limits must be an object"},
		{`{"rate_limits":[1]}`, nil, "rate_limits must be an object"},
	} {
		t.Run(tc.patch, func(t *testing.T) {
			var p map[string]json.RawMessage
			json.Unmarshal([]byte(tc.patch), &p)
			got, err := set.Patch(p)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				if len(set.RateLimits) != 1 || set.RateLimits["token"] != "10/s" {
					t.Fatalf("a refused patch changed the settings: %v", set.RateLimits)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got.RateLimits) != len(tc.want) {
				t.Fatalf("rate_limits = %v, want %v", got.RateLimits, tc.want)
			}
			for k, v := range tc.want {
				if got.RateLimits[k] != v {
					t.Fatalf("rate_limits = %v, want %v", got.RateLimits, tc.want)
				}
			}
		})
	}
	if r := set.RateLimit("token"); r.PerSecond != 10 || r.Burst != 10 {
		t.Fatalf("token limit %+v", r)
	}
	if r := set.RateLimit("history"); r.String() != tenant.DefaultRateLimits["history"] {
		t.Fatalf("history default %v", r)
	}
}
