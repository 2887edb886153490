package rest_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
)

func forEachBackend(t *testing.T, fn func(t *testing.T, s *servertest.Server)) {
	for _, b := range servertest.Backends {
		t.Run(b, func(t *testing.T) { fn(t, servertest.StartBackend(t, b)) })
	}
}

func expect(t *testing.T, r *servertest.Response, status int, errCode string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Raw)
	}
	if errCode != "" {
		if r.Str("error") != errCode {
			t.Fatalf("error %q, want %q: %s", r.Str("error"), errCode, r.Raw)
		}
		for _, k := range []string{"exception", "error_description", "timestamp", "duration", "code"} {
			if _, ok := r.Body[k]; !ok {
				t.Fatalf("error body lacks %q: %s", k, r.Raw)
			}
		}
	}
}

// The acceptance flow of the foundation issue, on every backend.
func TestUsers_Flow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *servertest.Server) {
		app := s.App(t, "acme", "chat", tenant.Settings{})
		base := "/acme/chat"
		admin := s.AppToken(t, app)

		r := s.Do(t, "POST", base+"/users", admin, map[string]any{"username": "Alice", "password": "pw-1", "nickname": "Al"})
		expect(t, r, 200, "")
		if e := r.Entities(); len(e) != 1 || e[0]["username"] != "alice" || e[0]["activated"] != true || e[0]["type"] != "user" {
			t.Fatalf("register: %s", r.Raw)
		}
		for _, k := range []string{"action", "application", "path", "uri", "timestamp", "duration", "organization", "applicationName"} {
			if _, ok := r.Body[k]; !ok {
				t.Fatalf("envelope lacks %q: %s", k, r.Raw)
			}
		}

		batch := make([]map[string]string, 60)
		for i := range batch {
			batch[i] = map[string]string{"username": fmt.Sprintf("user%02d", i), "password": "pw"}
		}
		r = s.Do(t, "POST", base+"/users", admin, batch)
		expect(t, r, 200, "")
		if n := len(r.Entities()); n != 60 {
			t.Fatalf("batch created %d, want 60: %s", n, r.Raw)
		}

		// Page through all 61 users with the cursor.
		seen := map[string]bool{}
		cursor := ""
		for pages := 0; ; pages++ {
			if pages > 20 {
				t.Fatal("cursor never ends")
			}
			q := url.Values{"limit": {"7"}}
			if cursor != "" {
				q.Set("cursor", cursor)
			}
			r = s.Do(t, "GET", base+"/users?"+q.Encode(), admin, nil)
			expect(t, r, 200, "")
			for _, e := range r.Entities() {
				name := e["username"].(string)
				if seen[name] {
					t.Fatalf("user %s listed twice", name)
				}
				seen[name] = true
			}
			if r.Body["count"].(float64) != float64(len(r.Entities())) {
				t.Fatalf("count mismatch: %s", r.Raw)
			}
			cursor = r.Str("cursor")
			if cursor == "" {
				break
			}
		}
		if len(seen) != 61 {
			t.Fatalf("listed %d users, want 61", len(seen))
		}

		r = s.Do(t, "PUT", base+"/users/alice", admin, map[string]any{"nickname": "Alice Liddell", "notification_display_style": 1})
		expect(t, r, 200, "")
		if e := r.Entities()[0]; e["nickname"] != "Alice Liddell" || e["notification_display_style"] != float64(1) {
			t.Fatalf("update: %s", r.Raw)
		}

		expect(t, s.Do(t, "PUT", base+"/users/alice/password", admin, map[string]any{"newpassword": "pw-2"}), 200, "")
		expect(t, s.Do(t, "POST", base+"/token", "", map[string]any{"grant_type": "password", "username": "alice", "password": "pw-1"}), 400, "invalid_grant")
		r = s.Do(t, "POST", base+"/token", "", map[string]any{"grant_type": "password", "username": "ALICE", "password": "pw-2"})
		expect(t, r, 200, "")
		userTok := r.Str("access_token")
		if u, _ := r.Body["user"].(map[string]any); u["username"] != "alice" {
			t.Fatalf("user token response: %s", r.Raw)
		}
		expect(t, s.Do(t, "GET", base+"/users/alice", userTok, nil), 200, "")

		r = s.Do(t, "POST", base+"/users/alice/deactivate", admin, nil)
		expect(t, r, 200, "")
		if r.Str("action") != "Deactivate user" || r.Entities()[0]["activated"] != false {
			t.Fatalf("deactivate: %s", r.Raw)
		}
		expect(t, s.Do(t, "GET", base+"/users/alice", userTok, nil), 401, "auth_bad_access_token")
		r = s.Do(t, "POST", base+"/token", "", map[string]any{"grant_type": "password", "username": "alice", "password": "pw-2"})
		expect(t, r, 400, "invalid_grant")
		if !strings.Contains(r.Str("error_description"), "not activated") {
			t.Fatalf("deactivated grant: %s", r.Raw)
		}

		expect(t, s.Do(t, "POST", base+"/users/alice/activate", admin, nil), 200, "")
		r = s.Do(t, "POST", base+"/token", "", map[string]any{"grant_type": "password", "username": "alice", "password": "pw-2"})
		expect(t, r, 200, "")
		// The token revoked by deactivation stays revoked after activation.
		expect(t, s.Do(t, "GET", base+"/users/alice", userTok, nil), 401, "auth_bad_access_token")
		expect(t, s.Do(t, "GET", base+"/users/alice", r.Str("access_token"), nil), 200, "")

		// Delete one, then the oldest two.
		r = s.Do(t, "DELETE", base+"/users/user59", admin, nil)
		expect(t, r, 200, "")
		expect(t, s.Do(t, "GET", base+"/users/user59", admin, nil), 404, "service_resource_not_found")
		r = s.Do(t, "DELETE", base+"/users?limit=2", admin, nil)
		expect(t, r, 200, "")
		if e := r.Entities(); len(e) != 2 || e[0]["username"] != "alice" || e[1]["username"] != "user00" || r.Str("cursor") == "" {
			t.Fatalf("delete oldest: %s", r.Raw)
		}
	})
}

func TestTokens_Grants(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *servertest.Server) {
		app := s.App(t, "acme", "chat", tenant.Settings{})
		admin := s.AppToken(t, app)
		base := "/acme/chat"

		// inherit: an app mints a user token, creating the user on request.
		r := s.Do(t, "POST", base+"/token", admin, map[string]any{"grant_type": "inherit", "username": "carol", "autoCreateUser": true, "ttl": 0})
		expect(t, r, 200, "")
		if r.Body["expires_in"] != float64(0) {
			t.Fatalf("ttl 0: %s", r.Raw)
		}
		carol := r.Str("access_token")
		expect(t, s.Do(t, "GET", base+"/users/carol", carol, nil), 200, "")
		// A user token may not read another user or list users.
		expect(t, s.Do(t, "GET", base+"/users/dave", carol, nil), 403, "forbidden_op")
		expect(t, s.Do(t, "GET", base+"/users", carol, nil), 403, "forbidden_op")
		expect(t, s.Do(t, "POST", base+"/token", carol, map[string]any{"grant_type": "inherit", "username": "x"}), 403, "forbidden_op")
		// Without autoCreateUser an unknown user is refused with 404.
		expect(t, s.Do(t, "POST", base+"/token", admin, map[string]any{"grant_type": "inherit", "username": "nobody"}), 404, "invalid_grant")

		// Form-encoded token requests work too.
		r = s.Do(t, "POST", base+"/token", "", nil)
		expect(t, r, 400, "invalid_request_body")

		// An app token of one app never works on another app.
		other := s.App(t, "acme", "other", tenant.Settings{})
		otherTok := s.AppToken(t, other)
		expect(t, s.Do(t, "GET", base+"/users", otherTok, nil), 401, "auth_bad_access_token")
		expect(t, s.Do(t, "GET", "/acme/other/users/carol", carol, nil), 401, "auth_bad_access_token")

		// Rotating the secret revokes every token of the app.
		if _, err := s.Apps.RotateSecret(t.Context(), "acme", "chat"); err != nil {
			t.Fatal(err)
		}
		expect(t, s.Do(t, "GET", base+"/users", admin, nil), 401, "auth_bad_access_token")
		expect(t, s.Do(t, "GET", base+"/users/carol", carol, nil), 401, "auth_bad_access_token")
		expect(t, s.Do(t, "POST", base+"/token", "", map[string]any{"grant_type": "client_credentials",
			"client_id": app.ClientID, "client_secret": app.ClientSecret}), 400, "invalid_grant")
	})
}

func TestRegistration_Modes(t *testing.T) {
	s := servertest.StartBackend(t, "sqlite")
	open := s.App(t, "acme", "open", tenant.Settings{OpenRegistration: true})
	closed := s.App(t, "acme", "closed", tenant.Settings{})
	expect(t, s.Do(t, "POST", "/acme/open/users", "", map[string]any{"username": "u1", "password": "p"}), 200, "")
	r := s.Do(t, "POST", "/acme/closed/users", "", map[string]any{"username": "u1", "password": "p"})
	expect(t, r, 401, "unauthorized")
	if !strings.Contains(r.Str("error_description"), "Open registration doesn't allow") {
		t.Fatalf("%s", r.Raw)
	}
	_ = open
	expect(t, s.Do(t, "POST", "/acme/closed/users", s.AppToken(t, closed), map[string]any{"username": "u1", "password": "p"}), 200, "")
}

func TestUsers_BatchPartialFailure(t *testing.T) {
	s := servertest.StartBackend(t, "sqlite")
	app := s.App(t, "acme", "chat", tenant.Settings{})
	admin := s.AppToken(t, app)
	expect(t, s.Do(t, "POST", "/acme/chat/users", admin, map[string]any{"username": "taken", "password": "p"}), 200, "")
	r := s.Do(t, "POST", "/acme/chat/users", admin, []map[string]string{
		{"username": "ok1", "password": "p"}, {"username": "TAKEN", "password": "p"},
		{"username": "bad name", "password": "p"}, {"username": "nopw"}, {"username": "ok2", "password": "p"},
	})
	expect(t, r, 200, "")
	if len(r.Entities()) != 2 {
		t.Fatalf("created: %s", r.Raw)
	}
	data, _ := r.Body["data"].([]any)
	if len(data) != 3 {
		t.Fatalf("failures: %s", r.Raw)
	}
	for _, d := range data {
		m := d.(map[string]any)
		if m["registerUserFailReason"] == "" {
			t.Fatalf("failure without reason: %s", r.Raw)
		}
	}
}

// Every documented failure answers in the error shape with its status, and
// changes nothing.
func TestErrors_Table(t *testing.T) {
	s := servertest.StartBackend(t, "sqlite")
	app := s.App(t, "acme", "chat", tenant.Settings{})
	admin := s.AppToken(t, app)
	base := "/acme/chat"
	expect(t, s.Do(t, "POST", base+"/users", admin, map[string]any{"username": "alice", "password": "pw"}), 200, "")
	r := s.Do(t, "POST", base+"/token", "", map[string]any{"grant_type": "password", "username": "alice", "password": "pw"})
	alice := r.Str("access_token")
	long := strings.Repeat("a", 65)
	big := `{"username":"x","password":"` + strings.Repeat("p", 2<<20) + `"}`
	batch61 := make([]map[string]string, 61)
	for i := range batch61 {
		batch61[i] = map[string]string{"username": fmt.Sprintf("b%d", i), "password": "p"}
	}

	tests := []struct {
		name, method, path, token string
		body                      any
		status                    int
		code, desc                string
	}{
		{"unknown app", "GET", "/acme/nope/users", admin, nil, 404, "organization_application_not_found", "acme/nope"},
		{"unknown org", "POST", "/zzz/chat/token", "", map[string]any{"grant_type": "password"}, 404, "organization_application_not_found", ""},
		{"unknown path", "GET", base + "/nothing/here/at/all", admin, nil, 404, "service_resource_not_found", ""},
		{"wrong method", "PATCH", base + "/users", admin, nil, 405, "method_not_allowed", "PATCH"},
		{"no token on admin call", "GET", base + "/users", "", nil, 401, "unauthorized", ""},
		{"garbage token", "GET", base + "/users", "not-a-token", nil, 401, "auth_bad_access_token", ""},
		{"tampered token", "GET", base + "/users", admin[:len(admin)-2] + "xx", nil, 401, "auth_bad_access_token", ""},
		{"user token on admin call", "DELETE", base + "/users/alice", alice, nil, 403, "forbidden_op", ""},
		{"user token on other user", "PUT", base + "/users/bob", alice, map[string]any{"nickname": "x"}, 403, "forbidden_op", ""},
		{"malformed json", "POST", base + "/users", admin, `{"username":`, 400, "invalid_request_body", "JSON"},
		{"not json", "POST", base + "/users", admin, `username=bob`, 400, "invalid_request_body", ""},
		{"empty body", "POST", base + "/users", admin, " ", 400, "invalid_request_body", "empty"},
		{"trailing data", "POST", base + "/users", admin, `{"username":"t1","password":"p"} {}`, 400, "invalid_request_body", "after"},
		{"wrong type", "POST", base + "/users", admin, `{"username":"bob","password":123}`, 400, "illegal_argument", "password"},
		{"unknown field", "POST", base + "/users", admin, `{"username":"bob","password":"p","age":3}`, 400, "illegal_argument", "age"},
		{"oversized body", "POST", base + "/users", admin, big, 400, "invalid_request_body", "larger than"},
		{"username missing", "POST", base + "/users", admin, map[string]any{"password": "p"}, 400, "illegal_argument", "username"},
		{"username too long", "POST", base + "/users", admin, map[string]any{"username": long, "password": "p"}, 400, "illegal_argument", "USERNAME_TOO_LONG"},
		{"username bad chars", "POST", base + "/users", admin, map[string]any{"username": "bob smith", "password": "p"}, 400, "illegal_argument", "only letters"},
		{"password missing", "POST", base + "/users", admin, map[string]any{"username": "bob"}, 400, "illegal_argument", "password"},
		{"password too long", "POST", base + "/users", admin, map[string]any{"username": "bob", "password": long}, 400, "illegal_argument", "password"},
		{"nickname too long", "POST", base + "/users", admin, map[string]any{"username": "bob", "password": "p", "nickname": strings.Repeat("好", 101)}, 400, "illegal_argument", "NICKNAME_TOO_LONG"},
		{"duplicate user", "POST", base + "/users", admin, map[string]any{"username": "ALICE", "password": "p"}, 400, "duplicate_unique_property_exists", "alice"},
		{"batch too big", "POST", base + "/users", admin, batch61, 400, "illegal_argument", "60"},
		{"batch empty", "POST", base + "/users", admin, `[]`, 400, "illegal_argument", "empty"},
		{"batch of wrong shape", "POST", base + "/users", admin, `[1,2]`, 400, "invalid_request_body", ""},
		{"limit not a number", "GET", base + "/users?limit=ten", admin, nil, 400, "illegal_argument", "limit"},
		{"limit too big", "GET", base + "/users?limit=101", admin, nil, 400, "illegal_argument", "limit"},
		{"bad cursor", "GET", base + "/users?cursor=zz", admin, nil, 400, "illegal_argument", "cursor"},
		{"malformed query", "GET", base + "/users?cursor=%%%", admin, nil, 400, "illegal_argument", "query"},
		{"get unknown user", "GET", base + "/users/bob", admin, nil, 404, "service_resource_not_found", "bob"},
		{"delete unknown user", "DELETE", base + "/users/bob", admin, nil, 404, "service_resource_not_found", ""},
		{"password unknown user", "PUT", base + "/users/bob/password", admin, map[string]any{"newpassword": "x"}, 404, "service_resource_not_found", ""},
		{"newpassword missing", "PUT", base + "/users/alice/password", admin, map[string]any{}, 400, "illegal_argument", "newpassword"},
		{"newpassword empty", "PUT", base + "/users/alice/password", admin, map[string]any{"newpassword": ""}, 400, "illegal_argument", "password"},
		{"update nothing", "PUT", base + "/users/alice", admin, map[string]any{}, 400, "illegal_argument", "nothing to update"},
		{"display style out of range", "PUT", base + "/users/alice", admin, map[string]any{"notification_display_style": 2}, 400, "illegal_argument", "0 or 1"},
		{"dnd hour out of range", "PUT", base + "/users/alice", admin, map[string]any{"notification_no_disturbing_start": 24}, 400, "illegal_argument", "0..23"},
		{"deactivate unknown", "POST", base + "/users/bob/deactivate", admin, nil, 404, "service_resource_not_found", ""},
		{"grant type missing", "POST", base + "/token", "", map[string]any{}, 400, "illegal_argument", "grant_type"},
		{"grant type unknown", "POST", base + "/token", "", map[string]any{"grant_type": "magic"}, 400, "illegal_argument", "magic"},
		{"client id missing", "POST", base + "/token", "", map[string]any{"grant_type": "client_credentials"}, 400, "illegal_argument", "client_id must be provided"},
		{"client id wrong", "POST", base + "/token", "", map[string]any{"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"}, 400, "invalid_grant", "client_id does not match"},
		{"client secret wrong", "POST", base + "/token", "", map[string]any{"grant_type": "client_credentials", "client_id": app.ClientID, "client_secret": "y"}, 400, "invalid_grant", "client_secret does not match"},
		{"password grant wrong password", "POST", base + "/token", "", map[string]any{"grant_type": "password", "username": "alice", "password": "nope"}, 400, "invalid_grant", ""},
		{"password grant unknown user", "POST", base + "/token", "", map[string]any{"grant_type": "password", "username": "bob", "password": "p"}, 404, "invalid_grant", "user not found"},
		{"inherit without token", "POST", base + "/token", "", map[string]any{"grant_type": "inherit", "username": "alice"}, 401, "unauthorized", ""},
		{"negative ttl", "POST", base + "/token", "", map[string]any{"grant_type": "password", "username": "alice", "password": "pw", "ttl": -5}, 400, "illegal_argument", "ttl"},
		{"ttl as string", "POST", base + "/token", "", `{"grant_type":"password","username":"alice","password":"pw","ttl":"60"}`, 400, "illegal_argument", "ttl"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Do(t, tc.method, tc.path, tc.token, tc.body)
			expect(t, r, tc.status, tc.code)
			if tc.desc != "" && !strings.Contains(r.Str("error_description"), tc.desc) {
				t.Fatalf("description %q does not mention %q", r.Str("error_description"), tc.desc)
			}
		})
	}
	// Nothing above changed anything: still exactly one user, still alice's password.
	r = s.Do(t, "GET", base+"/users?limit=100", admin, nil)
	if len(r.Entities()) != 1 {
		t.Fatalf("failed requests changed state: %s", r.Raw)
	}
	expect(t, s.Do(t, "POST", base+"/token", "", map[string]any{"grant_type": "password", "username": "alice", "password": "pw"}), 200, "")
}

func TestOps_HealthMetricsLogs(t *testing.T) {
	s := servertest.StartBackend(t, "sqlite")
	app := s.App(t, "acme", "chat", tenant.Settings{})
	expect(t, s.Do(t, "GET", "/healthz", "", nil), 200, "")
	expect(t, s.Do(t, "GET", "/readyz", "", nil), 200, "")
	admin := s.AppToken(t, app)
	r := s.Do(t, "POST", "/acme/chat/users", admin, map[string]any{"username": "alice", "password": "secret-pw"})
	id := r.Header.Get("X-Request-Id")
	if id == "" {
		t.Fatal("no X-Request-Id")
	}
	m := s.Do(t, "GET", "/metrics", "", nil)
	for _, want := range []string{
		`parley_http_requests_total{code="200",method="POST",route="POST /{org}/{app}/token"} 1`,
		`parley_http_request_duration_seconds_bucket{method="POST",route="POST /{org}/{app}/users"`,
	} {
		if !strings.Contains(string(m.Raw), want) {
			t.Fatalf("metrics lack %s", want)
		}
	}
	// Every log line of the request carries its ID; no secret reaches the log.
	logs := s.Log.String()
	found := false
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line not JSON: %q", line)
		}
		if rec["path"] == "/acme/chat/users" {
			found = true
			if rec["request_id"] != id {
				t.Fatalf("log line without the request id: %s", line)
			}
		}
	}
	if !found {
		t.Fatal("no access log line for the request")
	}
	for _, secret := range []string{"secret-pw", admin, app.ClientSecret} {
		if strings.Contains(logs, secret) {
			t.Fatalf("log contains a secret")
		}
	}
}
