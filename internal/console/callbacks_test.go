package console_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
)

// The console lists failed callback deliveries and retries them.
func TestConsole_FailedCallbacks(t *testing.T) {
	s := servertest.StartBackend(t, "sqlite")
	var up atomic.Bool
	var delivered atomic.Int64
	rc := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		delivered.Add(1)
	}))
	t.Cleanup(rc.Close)
	s.Callbacks.HTTPClient = rc.Client()
	s.Callbacks.MaxAttempts = 1
	app := s.App(t, "acme", "cb", tenant.Settings{})
	tok := s.AppToken(t, app)
	for _, u := range []string{"alice", "bob"} {
		s.Do(t, "POST", "/acme/cb/users", tok, map[string]string{"username": u, "password": "pw"})
	}
	if r := s.Do(t, "POST", "/acme/cb/callbacks", tok, map[string]any{"name": "hook", "url": rc.URL, "secret": "0123456789abcdef",
		"events": []string{"chat"}}); r.Status != 200 {
		t.Fatalf("rule: %s", r.Raw)
	}
	if r := s.Do(t, "POST", "/acme/cb/messages/users", tok, map[string]any{"from": "alice", "to": []string{"bob"}, "type": "txt",
		"body": map[string]string{"msg": "hi"}}); r.Status != 200 {
		t.Fatalf("send: %s", r.Raw)
	}
	owner := signedIn(t, s, "owner", servertest.OwnerPassword)
	var list []map[string]any
	deadline := time.Now().Add(10 * time.Second)
	for len(list) == 0 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
		list = items(owner.ok("GET", "/apps/acme/cb/callbacks/failed", nil))
	}
	if len(list) != 1 || list[0]["rule"] != "hook" || list[0]["event"] != "chat" || list[0]["last_error"] != "status 502" {
		t.Fatalf("failed: %v", list)
	}
	expect(t, owner.do("GET", "/apps/acme/cb/callbacks/failed?cursor=x", nil), 400, "illegal_argument")
	expect(t, owner.do("POST", "/apps/acme/cb/callbacks/retry", map[string]any{"id": "999"}), 404, "resource_not_found")
	up.Store(true)
	r := owner.ok("POST", "/apps/acme/cb/callbacks/retry", map[string]any{})
	if !strings.Contains(string(r.Raw), `"requeued":1`) {
		t.Fatalf("retry: %s", r.Raw)
	}
	for delivered.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if delivered.Load() != 1 {
		t.Fatal("the retried delivery did not arrive")
	}
	if list := items(owner.ok("GET", "/apps/acme/cb/callbacks/failed", nil)); len(list) != 0 {
		t.Fatalf("failed after retry: %v", list)
	}
	audit := owner.ok("GET", "/audit", nil)
	if !strings.Contains(string(audit.Raw), "callback.retry") {
		t.Fatalf("audit: %s", audit.Raw)
	}
}
