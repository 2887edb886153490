package console_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/console"
	"github.com/parleyim/parley/internal/server/servertest"
)

func sessionCookie(t *testing.T, r *servertest.Response) *http.Cookie {
	t.Helper()
	for _, c := range (&http.Response{Header: r.Header}).Cookies() {
		if c.Name == console.CookieName {
			return c
		}
	}
	return nil
}

func TestConsole_Sessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *servertest.Server) {
		c := newClient(t, s)
		r := c.signIn("owner", servertest.OwnerPassword)
		expect(t, r, 200, "")
		ck := sessionCookie(t, r)
		if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/console" || ck.Secure ||
			ck.MaxAge != 12*3600 || !strings.HasPrefix(ck.Value, "PC.") {
			t.Fatalf("cookie: %+v", ck)
		}
		u := r.Body["user"].(map[string]any)
		if u["username"] != "owner" || u["role"] != "owner" || len(u["apps"].([]any)) != 0 || r.Str("csrf") == "" {
			t.Fatalf("session: %s", r.Raw)
		}
		if g := c.ok("GET", "/session", nil); g.Str("csrf") != c.csrf || g.Body["user"].(map[string]any)["username"] != "owner" {
			t.Fatalf("get session: %s", g.Raw)
		}
		// The stored hash is not the cookie.
		if strings.Contains(s.Log.String(), ck.Value) || strings.Contains(s.Log.String(), c.csrf) {
			t.Fatal("the log holds the session's secret")
		}

		// Sliding: a request a while later moves the expiry and renews the cookie.
		s.Admins.SetClock(func() time.Time { return time.Now().Add(11 * time.Hour) })
		r = c.ok("GET", "/session", nil)
		if ck := sessionCookie(t, r); ck == nil || ck.MaxAge != 12*3600 {
			t.Fatalf("sliding cookie: %v", r.Header)
		}
		s.Admins.SetClock(func() time.Time { return time.Now().Add(22 * time.Hour) })
		c.ok("GET", "/session", nil) // 11 h after the last use: alive
		s.Admins.SetClock(func() time.Time { return time.Now().Add(34*time.Hour + time.Minute) })
		expect(t, c.do("GET", "/session", nil), 401, "unauthorized") // 12 h of silence: gone
		s.Admins.SetClock(time.Now)

		// Sign out ends this session only, and clears the cookie.
		a, b := signedIn(t, s, "owner", servertest.OwnerPassword), signedIn(t, s, "owner", servertest.OwnerPassword)
		r = a.ok("DELETE", "/session", nil)
		if ck := sessionCookie(t, r); ck == nil || ck.MaxAge >= 0 {
			t.Fatalf("sign out cookie: %v", r.Header)
		}
		expect(t, a.do("GET", "/session", nil), 401, "unauthorized")
		b.ok("GET", "/session", nil)

		// Sign out everywhere ends every session, and the management API tokens.
		a = signedIn(t, s, "owner", servertest.OwnerPassword)
		tok := s.Do(t, "POST", "/management/token", "", map[string]string{"grant_type": "password", "username": "owner", "password": servertest.OwnerPassword})
		b.ok("POST", "/session/revoke-all", nil)
		expect(t, a.do("GET", "/session", nil), 401, "unauthorized")
		expect(t, b.do("GET", "/session", nil), 401, "unauthorized")
		if r := s.Do(t, "GET", "/management/orgs/acme/applications", tok.Str("access_token"), nil); r.Status != 401 {
			t.Fatalf("management token after sign out everywhere: %d", r.Status)
		}

		// A password change ends the other sessions, not this one.
		a, b = signedIn(t, s, "owner", servertest.OwnerPassword), signedIn(t, s, "owner", servertest.OwnerPassword)
		expect(t, a.do("POST", "/password", map[string]string{"old": "wrong password!!", "new": "a brand new password"}), 400, "invalid_grant")
		expect(t, a.do("POST", "/password", map[string]string{"old": servertest.OwnerPassword, "new": "short"}), 400, "illegal_argument")
		b.ok("GET", "/session", nil) // failed attempts end nothing
		a.ok("POST", "/password", map[string]string{"old": servertest.OwnerPassword, "new": "a brand new password"})
		a.ok("GET", "/session", nil)
		expect(t, b.do("GET", "/session", nil), 401, "unauthorized")
		expect(t, newClient(t, s).signIn("owner", servertest.OwnerPassword), 400, "invalid_grant")
		signedIn(t, s, "owner", "a brand new password")
		if strings.Contains(s.Log.String(), "a brand new password") {
			t.Fatal("the log holds a password")
		}

		// Accounts: roles, scopes, the last owner.
		a.ok("POST", "/apps", map[string]string{"org": "acme", "app": "one"})
		r = a.ok("POST", "/admins", map[string]any{"username": "ed", "password": pw, "role": "app_admin", "apps": []string{"acme/one"}})
		if r.Str("role") != "app_admin" || fmt.Sprint(r.Body["apps"]) != "[acme/one]" {
			t.Fatalf("create admin: %s", r.Raw)
		}
		expect(t, a.do("POST", "/admins", map[string]any{"username": "ed", "password": pw, "role": "viewer"}), 400, "duplicate_user")
		expect(t, a.do("POST", "/admins", map[string]any{"username": "x", "password": "short", "role": "viewer"}), 400, "illegal_argument")
		expect(t, a.do("POST", "/admins", map[string]any{"username": "x", "password": pw, "role": "god"}), 400, "illegal_argument")
		expect(t, a.do("POST", "/admins", map[string]any{"username": "x", "password": pw, "role": "viewer", "apps": []string{"acme/nope"}}), 404, "app_not_found")
		expect(t, a.do("POST", "/admins", map[string]any{"username": "x", "password": pw, "role": "owner", "apps": []string{"acme/one"}}), 400, "illegal_argument")
		ed := signedIn(t, s, "ed", pw)
		ed.ok("GET", "/apps/acme/one/users", nil)
		r = a.ok("PUT", "/admins/ed", map[string]any{"role": "viewer"})
		if r.Str("role") != "viewer" || fmt.Sprint(r.Body["apps"]) != "[acme/one]" {
			t.Fatalf("update admin: %s", r.Raw)
		}
		// The new role applies to the live session at once.
		expect(t, ed.do("POST", "/apps/acme/one/users", map[string]string{"username": "x", "password": "y"}), 403, "forbidden")
		a.ok("PUT", "/admins/ed", map[string]any{"password": "ed's new password"}) // an owner's reset ends ed's sessions
		expect(t, ed.do("GET", "/session", nil), 401, "unauthorized")
		expect(t, a.do("PUT", "/admins/nobody", map[string]any{"role": "viewer"}), 404, "resource_not_found")
		expect(t, a.do("PUT", "/admins/owner", map[string]any{"role": "viewer"}), 403, "forbidden_op")
		expect(t, a.do("DELETE", "/admins/owner", nil), 403, "forbidden_op")
		a.ok("DELETE", "/admins/ed", nil)
		expect(t, a.do("DELETE", "/admins/ed", nil), 404, "resource_not_found")
		if list := items(a.ok("GET", "/admins", nil)); len(list) != 1 || list[0]["username"] != "owner" || list[0]["created"] == nil {
			t.Fatalf("admins: %v", list)
		}

		var actions []string
		for _, e := range items(a.ok("GET", "/audit?actor=owner", nil)) {
			actions = append(actions, fmt.Sprint(e["action"], ":", e["detail"].(map[string]any)["result"]))
		}
		got := strings.Join(actions, " ")
		for _, want := range []string{"admin.delete:<nil> admin.update:<nil> admin.update:<nil> admin.create:<nil> app.create:<nil>",
			"account.password:<nil>", "session.create:bad_password", "session.revoke_all:<nil>", "session.delete:<nil>", "session.create:ok"} {
			if !strings.Contains(got, want) {
				t.Fatalf("audit lacks %q:\n%s", want, got)
			}
		}
		raw := string(a.ok("GET", "/audit?limit=200", nil).Raw)
		for _, secret := range []string{pw, "ed's new password", "a brand new password", servertest.OwnerPassword} {
			if strings.Contains(raw, secret) {
				t.Fatalf("the audit log holds a password: %s", raw)
			}
		}
	})
}

func TestConsole_SignInThrottling(t *testing.T) {
	cfg := servertest.Config(t, "sqlite")
	cfg.HTTP.TrustedProxies = "127.0.0.1"
	s := servertest.Start(t, cfg)
	from := func(ip string) *client {
		c := newClient(t, s)
		c.hdr["X-Forwarded-For"] = "203.0.113.9, " + ip // the first hop is the client's claim; the proxy adds the real one
		return c
	}
	// Per username: five failures, then 429 even with the right password.
	c := from("198.51.100.1")
	for i := range 5 {
		expect(t, c.signIn("owner", fmt.Sprint("wrong password ", i)), 400, "invalid_grant")
	}
	r := c.signIn("owner", servertest.OwnerPassword)
	expect(t, r, 429, "rate_limited")
	if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 890 || ra > 900 {
		t.Fatalf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	expect(t, from("198.51.100.2").signIn("owner", servertest.OwnerPassword), 429, "rate_limited") // per username, from anywhere
	expect(t, from("198.51.100.2").signIn("OWNER", "whatever it is"), 429, "rate_limited")

	// Per IP: twenty failures over any usernames.
	c = from("198.51.100.3")
	for i := range 20 {
		expect(t, c.signIn(fmt.Sprint("user", i), "wrong password"), 400, "invalid_grant")
	}
	expect(t, c.signIn("someone", "wrong password"), 429, "rate_limited")
	expect(t, from("198.51.100.4").signIn("someone", "wrong password"), 400, "invalid_grant") // another address is fine

	// The window passes.
	s.Admins.SetClock(func() time.Time { return time.Now().Add(15*time.Minute + time.Second) })
	from("198.51.100.1").ok("POST", "/session", map[string]string{"username": "owner", "password": servertest.OwnerPassword})
	s.Admins.SetClock(time.Now)

	// The audit log has the attempts that were checked, with the client's address.
	owner := signedIn(t, s, "owner", servertest.OwnerPassword)
	list := items(owner.ok("GET", "/audit?action=session.create&actor=owner&limit=200", nil))
	fails := 0
	for _, e := range list {
		if e["detail"].(map[string]any)["result"] == "bad_password" {
			fails++
			if e["ip"] != "198.51.100.1" {
				t.Fatalf("audit IP: %v", e)
			}
		}
	}
	if fails != 5 {
		t.Fatalf("%d failed sign-ins audited, want 5 (throttled ones are not): %v", fails, list)
	}
	unknown := items(owner.ok("GET", "/audit?actor=user3", nil))
	if len(unknown) != 1 || unknown[0]["detail"].(map[string]any)["result"] != "unknown_account" {
		t.Fatalf("unknown account: %v", unknown)
	}
	if !strings.Contains(s.Log.String(), "console sign-in throttled") {
		t.Fatal("throttled sign-ins are not logged")
	}
}

// A proxy that is not trusted cannot choose the address.
func TestConsole_UntrustedForwardedFor(t *testing.T) {
	s := servertest.StartBackend(t, "sqlite")
	for i := range 5 {
		c := newClient(t, s)
		c.hdr["X-Forwarded-For"] = fmt.Sprint("198.51.100.", i)
		expect(t, c.signIn("nobody", "wrong password"), 400, "invalid_grant")
	}
	owner := signedIn(t, s, "owner", servertest.OwnerPassword)
	for _, e := range items(owner.ok("GET", "/audit?actor=nobody", nil)) {
		if e["ip"] != "127.0.0.1" {
			t.Fatalf("IP taken from an untrusted header: %v", e)
		}
	}
}

func TestConsole_Stats(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *servertest.Server) {
		owner := signedIn(t, s, "owner", servertest.OwnerPassword)
		owner.ok("POST", "/apps", map[string]string{"org": "acme", "app": "chat"})
		for _, n := range []string{"alice", "bob"} {
			owner.ok("POST", "/apps/acme/chat/users", map[string]string{"username": n, "password": pw})
		}
		st := owner.ok("GET", "/stats", nil)
		if st.Body["nodes"] != 1.0 || st.Body["online_users"] != 0.0 || st.Body["connections"] != 0.0 || st.Body["ts"] == nil ||
			st.Body["push"] == nil || st.Body["errors"] == nil {
			t.Fatalf("stats before: %s", st.Raw)
		}
		alice := connect(t, s, "acme", "chat", "alice", pw, "phone")
		connect(t, s, "acme", "chat", "alice", pw, "web")
		connect(t, s, "acme", "chat", "bob", pw, "web")
		for i := range 3 {
			b, _ := json.Marshal(map[string]any{"t": "send", "id": fmt.Sprint(i), "to": "bob", "type": "txt", "body": map[string]string{"msg": "hi"},
				"client_msg_id": fmt.Sprint("c", i)})
			alice.conn.WriteMessage(1, b)
			alice.next("ack")
		}
		st = owner.ok("GET", "/stats", nil)
		msgs := st.Body["messages"].(map[string]any)
		if st.Body["online_users"] != 2.0 || st.Body["connections"] != 3.0 || msgs["total"] != 3.0 || msgs["per_minute"] != 3.0 ||
			msgs["by_type"].(map[string]any)["txt"] != 3.0 {
			t.Fatalf("stats after: %s", st.Raw)
		}

		// The stream sends the same object as an event, repeatedly.
		req, _ := http.NewRequest("GET", s.URL+"/console/api/stats/stream", nil)
		jar, _ := cookiejar.New(nil)
		for _, ck := range owner.hc.Jar.Cookies(req.URL) {
			jar.SetCookies(req.URL, []*http.Cookie{ck})
		}
		resp, err := (&http.Client{Jar: jar}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("stream: %d %v", resp.StatusCode, resp.Header)
		}
		rd := bufio.NewReader(resp.Body)
		event := func() map[string]any {
			t.Helper()
			var name string
			for {
				line, err := rd.ReadString('\n')
				if err != nil {
					t.Fatalf("stream ended: %v", err)
				}
				switch {
				case strings.HasPrefix(line, "event: "):
					name = strings.TrimSpace(strings.TrimPrefix(line, "event: "))
				case strings.HasPrefix(line, "data: "):
					var m map[string]any
					if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &m); err != nil || name != "stats" {
						t.Fatalf("event %q: %q", name, line)
					}
					return m
				}
			}
		}
		first, second := event(), event()
		if first["connections"] != 3.0 || second["ts"].(float64) <= first["ts"].(float64) {
			t.Fatalf("events: %v %v", first, second)
		}
		// Signing out ends the stream.
		owner.ok("DELETE", "/session", nil)
		done := make(chan error, 1)
		go func() {
			for {
				if _, err := rd.ReadString('\n'); err != nil {
					done <- err
					return
				}
			}
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("the stream outlived the session")
		}
	})
}

// The management API applies the console's roles.
func TestConsole_ManagementRoles(t *testing.T) {
	s := servertest.StartBackend(t, "sqlite")
	owner := signedIn(t, s, "owner", servertest.OwnerPassword)
	owner.ok("POST", "/apps", map[string]string{"org": "acme", "app": "one"})
	owner.ok("POST", "/apps", map[string]string{"org": "acme", "app": "two"})
	owner.ok("POST", "/admins", map[string]any{"username": "ed", "password": pw, "role": "app_admin", "apps": []string{"acme/one"}})
	owner.ok("POST", "/admins", map[string]any{"username": "vi", "password": pw, "role": "viewer"})
	token := func(user string) string {
		r := s.Do(t, "POST", "/management/token", "", map[string]string{"grant_type": "password", "username": user, "password": pw})
		if r.Status != 200 {
			t.Fatalf("token: %s", r.Raw)
		}
		return r.Str("access_token")
	}
	ed, vi := token("ed"), token("vi")
	list := func(tok string) int {
		r := s.Do(t, "GET", "/management/orgs/acme/applications", tok, nil)
		if r.Status != 200 {
			t.Fatalf("list: %s", r.Raw)
		}
		return len(r.Body["data"].([]any))
	}
	if list(ed) != 1 || list(vi) != 2 {
		t.Fatalf("lists: %d %d", list(ed), list(vi))
	}
	for _, tc := range []struct {
		tok, method, path string
		status            int
	}{
		{ed, "POST", "/management/orgs/acme/applications", 403},
		{vi, "POST", "/management/orgs/acme/applications", 403},
		{vi, "POST", "/management/orgs/acme/applications/one/credentials", 403},
		{ed, "POST", "/management/orgs/acme/applications/two/credentials", 403},
		{ed, "POST", "/management/orgs/acme/applications/one/credentials", 200},
	} {
		r := s.Do(t, tc.method, tc.path, tc.tok, map[string]string{"name": "new"})
		if r.Status != tc.status {
			t.Fatalf("%s %s: %d %s", tc.method, tc.path, r.Status, r.Raw)
		}
	}
}

// Unknown API paths and methods answer in the error shape; the front end
// is served with its security headers.
func TestConsole_PathsAndFiles(t *testing.T) {
	s := servertest.StartBackend(t, "sqlite")
	c := signedIn(t, s, "owner", servertest.OwnerPassword)
	expect(t, c.do("GET", "/nothing", nil), 404, "resource_not_found")
	r := c.do("PATCH", "/session", nil)
	expect(t, r, 405, "method_not_allowed")
	if r.Header.Get("Allow") == "" {
		t.Fatal("405 without Allow")
	}
	expect(t, c.do("POST", "/session", `{"username":`), 400, "invalid_request_body")
	expect(t, c.do("POST", "/session", `[1]`), 400, "invalid_request_body")
	expect(t, c.do("POST", "/session", strings.Repeat(" ", 2<<20)), 400, "invalid_request_body")
	if r := c.ok("GET", "/session", nil); r.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("API answers may be cached: %v", r.Header)
	}

	resp, err := http.Get(s.URL + "/console/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") ||
		resp.Header.Get("X-Frame-Options") != "DENY" || !strings.Contains(resp.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("index: %d %v", resp.StatusCode, resp.Header)
	}
	resp, err = http.Get(s.URL + "/console")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/console/" {
		t.Fatalf("/console: %d %s", resp.StatusCode, resp.Request.URL)
	}
	resp, err = http.Post(s.URL+"/console/index.html", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Fatalf("POST to a file: %d", resp.StatusCode)
	}
	resp, err = http.Get(s.URL + "/console/i18n/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("directory listing: %d", resp.StatusCode)
	}
	resp, err = http.Get(s.URL + "/console/no-such-file.js")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("missing file: %d", resp.StatusCode)
	}
}

// The management API's sign-in counts towards the same per-username limit.
func TestConsole_ManagementTokenThrottled(t *testing.T) {
	s := servertest.StartBackend(t, "sqlite")
	for i := range 5 {
		r := s.Do(t, "POST", "/management/token", "", map[string]string{"grant_type": "password", "username": "owner", "password": fmt.Sprint("bad ", i)})
		if r.Status != 400 {
			t.Fatalf("attempt %d: %s", i, r.Raw)
		}
	}
	r := s.Do(t, "POST", "/management/token", "", map[string]string{"grant_type": "password", "username": "owner", "password": servertest.OwnerPassword})
	if r.Status != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("sixth attempt: %d %v %s", r.Status, r.Header, r.Raw)
	}
	expect(t, newClient(t, s).signIn("owner", servertest.OwnerPassword), 429, "rate_limited")
}
