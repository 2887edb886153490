package console_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/groups"
	"github.com/parleyim/parley/internal/messaging"
	"github.com/parleyim/parley/internal/rooms"
	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
)

// Who may call a route (docs/console.md).
const (
	aPublic = iota // anyone: signing in
	aAny           // any signed-in role
	aOwner         // the owner
	aRead          // a role that sees the app
	aChange        // owner, or app_admin of the app
)

type route struct {
	method, path string // {app} is org/app, {group}, {room}, {msg} are IDs
	body         any
	access       int
}

// matrixRoutes lists every route of the contract.
var matrixRoutes = []route{
	{"POST", "/session", map[string]string{"username": "nobody", "password": "x"}, aPublic},
	{"GET", "/session", nil, aAny},
	{"DELETE", "/session", nil, aAny},
	{"POST", "/session/revoke-all", nil, aAny},
	{"POST", "/password", map[string]string{"old": "wrong password here", "new": "another long password"}, aAny},
	{"GET", "/admins", nil, aOwner},
	{"POST", "/admins", map[string]any{"username": "mallory", "password": pw, "role": "owner"}, aOwner},
	{"PUT", "/admins/ed", map[string]any{"role": "owner"}, aOwner},
	{"DELETE", "/admins/vo", nil, aOwner},
	{"GET", "/audit", nil, aOwner},
	{"GET", "/stats", nil, aAny},
	{"GET", "/stats/stream", nil, aAny},
	{"GET", "/apps", nil, aAny},
	{"POST", "/apps", map[string]string{"org": "evil", "app": "x"}, aOwner},
	{"POST", "/apps/{app}/secret", nil, aChange},
	{"PUT", "/apps/{app}/settings", map[string]any{"settings": map[string]any{"max_devices": 1}}, aChange},
	{"GET", "/apps/{app}/notifiers", nil, aRead},
	{"PUT", "/apps/{app}/notifiers/n1", map[string]any{"provider": "log"}, aChange},
	{"DELETE", "/apps/{app}/notifiers/n0", nil, aChange},
	{"GET", "/apps/{app}/callbacks/failed", nil, aRead},
	{"POST", "/apps/{app}/callbacks/retry", map[string]any{}, aChange},
	{"GET", "/apps/{app}/users", nil, aRead},
	{"POST", "/apps/{app}/users", map[string]string{"username": "mallory", "password": "pw"}, aChange},
	{"GET", "/apps/{app}/users/alice", nil, aRead},
	{"PUT", "/apps/{app}/users/alice", map[string]any{"nickname": "pwned"}, aChange},
	{"POST", "/apps/{app}/users/alice/password", map[string]string{"password": "pwned"}, aChange},
	{"POST", "/apps/{app}/users/alice/ban", nil, aChange},
	{"POST", "/apps/{app}/users/bob/unban", nil, aChange},
	{"POST", "/apps/{app}/users/alice/logout", map[string]string{}, aChange},
	{"POST", "/apps/{app}/users/alice/erase", nil, aChange},
	{"GET", "/apps/{app}/users/alice/friends", nil, aRead},
	{"GET", "/apps/{app}/groups", nil, aRead},
	{"GET", "/apps/{app}/groups/{group}", nil, aRead},
	{"POST", "/apps/{app}/groups/{group}/mute", map[string]any{"usernames": []string{"bob"}, "duration_ms": 60000}, aChange},
	{"PUT", "/apps/{app}/groups/{group}/roles", map[string]string{"username": "bob", "role": "admin"}, aChange},
	{"PUT", "/apps/{app}/groups/{group}/announcement", map[string]string{"announcement": "pwned"}, aChange},
	{"DELETE", "/apps/{app}/groups/{group}", nil, aChange},
	{"GET", "/apps/{app}/rooms", nil, aRead},
	{"GET", "/apps/{app}/rooms/{room}", nil, aRead},
	{"POST", "/apps/{app}/rooms/{room}/mute", map[string]any{"usernames": []string{"bob"}, "duration_ms": 60000}, aChange},
	{"PUT", "/apps/{app}/rooms/{room}/roles", map[string]string{"username": "bob", "role": "admin"}, aChange},
	{"PUT", "/apps/{app}/rooms/{room}/announcement", map[string]string{"announcement": "pwned"}, aChange},
	{"DELETE", "/apps/{app}/rooms/{room}", nil, aChange},
	{"GET", "/apps/{app}/messages?user=alice&peer=bob", nil, aRead},
	{"POST", "/apps/{app}/messages/{msg}/recall", nil, aChange},
	{"POST", "/apps/{app}/broadcasts", map[string]any{"target": "online", "type": "txt", "body": map[string]string{"msg": "pwned"}}, aChange},
	{"GET", "/apps/{app}/moderation/keywords", nil, aRead},
	{"POST", "/apps/{app}/moderation/keywords", map[string]any{"words": []map[string]string{{"word": "pwned", "action": "reject"}}}, aChange},
	{"DELETE", "/apps/{app}/moderation/keywords", map[string]any{"words": []string{"pwned"}}, aChange},
	{"GET", "/apps/{app}/moderation/records", nil, aRead},
}

// matchPattern reports whether path fits a mux pattern's segments.
func matchPattern(pattern, path string) bool {
	ps, xs := strings.Split(pattern, "/"), strings.Split(path, "/")
	if len(ps) != len(xs) {
		return false
	}
	for i, p := range ps {
		if !(p == xs[i] || strings.HasPrefix(p, "{") && xs[i] != "") {
			return false
		}
	}
	return true
}

// Every route the console registers has a line in matrixRoutes, with the access
// it is registered with: a new route cannot escape the matrix.
func TestConsole_RoutesInMatrix(t *testing.T) {
	s := servertest.StartBackend(t, "sqlite")
	access := map[string]int{"public": aPublic, "signed-in": aAny, "owner": aOwner, "app-read": aRead, "app-change": aChange}
	sample := strings.NewReplacer("{app}", "acme/one", "{group}", "1", "{room}", "2", "{msg}", "3")
	covered := map[int]bool{}
	for _, reg := range s.ConsoleRoutes() {
		found := false
		for i, r := range matrixRoutes {
			path, _, _ := strings.Cut(sample.Replace(r.path), "?")
			if r.method == reg.Method && matchPattern(reg.Path, path) {
				found, covered[i] = true, true
				if want, ok := access[reg.Access]; !ok || r.access != want {
					t.Errorf("%s %s is registered as %s; the matrix says %d", reg.Method, reg.Path, reg.Access, r.access)
				}
			}
		}
		if !found {
			t.Errorf("%s %s (%s) has no line in matrixRoutes (auth_test.go)", reg.Method, reg.Path, reg.Access)
		}
	}
	for i, r := range matrixRoutes {
		if !covered[i] {
			t.Errorf("matrixRoutes line %s %s matches no registered route", r.method, r.path)
		}
	}
}

// fixture is a server with two apps, an owner, an app_admin of acme/one
// (ed), a viewer of every app (vi), a viewer of acme/one (vo), two users,
// a group, a room and a message in acme/one.
type fixture struct {
	s                  *servertest.Server
	owner, ed, vi, vo  *client
	group, room, msgID string
	one                *tenant.App
}

func newFixture(t *testing.T, s *servertest.Server) *fixture {
	t.Helper()
	f := &fixture{s: s}
	f.owner = signedIn(t, s, "owner", servertest.OwnerPassword)
	f.owner.ok("POST", "/apps", map[string]string{"org": "acme", "app": "one"})
	f.owner.ok("POST", "/apps", map[string]string{"org": "acme", "app": "two"})
	for _, a := range []map[string]any{
		{"username": "ed", "password": pw, "role": "app_admin", "apps": []string{"acme/one"}},
		{"username": "vi", "password": pw, "role": "viewer", "apps": []string{}},
		{"username": "vo", "password": pw, "role": "viewer", "apps": []string{"acme/one"}},
	} {
		f.owner.ok("POST", "/admins", a)
	}
	f.ed, f.vi, f.vo = signedIn(t, s, "ed", pw), signedIn(t, s, "vi", pw), signedIn(t, s, "vo", pw)
	for _, u := range []string{"alice", "bob"} {
		f.owner.ok("POST", "/apps/acme/one/users", map[string]string{"username": u, "password": pw})
	}
	f.one = resolve(t, s, "acme", "one")
	p := tenant.AdminOf(f.one)
	g, err := s.Groups.Create(ctx, p, "alice", []string{"bob"}, groups.Settings{Name: ptr("Go Lovers")})
	if err != nil {
		t.Fatal(err)
	}
	rm, err := s.Rooms.Create(ctx, p, "alice", []string{"bob"}, rooms.Settings{Name: ptr("Live Music")})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.Messages.SendAs(ctx, p, "alice", []string{"bob"}, messaging.SendRequest{Type: "txt", Body: json.RawMessage(`{"msg":"hi"}`)})
	if err != nil || res[0].Err != nil {
		t.Fatal(err, res)
	}
	f.group, f.room, f.msgID = strconv.FormatInt(g.ID, 10), rm.ID, res[0].Ack.MsgID
	return f
}

func (f *fixture) path(r route, app string) string {
	return strings.NewReplacer("{app}", app, "{group}", f.group, "{room}", f.room, "{msg}", f.msgID).Replace(r.path)
}

// Acceptance 3: the console's API refuses missing and forged sessions,
// expired ones, changes without the CSRF token, cross-site requests, and
// roles outside their rights; nothing changes when it refuses.
func TestConsole_AuthorizationMatrix(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *servertest.Server) {
		f := newFixture(t, s)
		expired := signedIn(t, s, "vi", pw)
		forged := newClient(t, s)
		forged.hdr["Cookie"] = "parley_console=PC.forged"
		forged.csrf = "forged"
		anon := newClient(t, s)

		t.Run("anonymous", func(t *testing.T) {
			for _, r := range matrixRoutes {
				if r.access != aPublic {
					expect(t, anon.do(r.method, f.path(r, "acme/one"), r.body), 401, "unauthorized")
				}
			}
		})
		t.Run("forged cookie", func(t *testing.T) {
			for _, r := range matrixRoutes {
				if r.access != aPublic {
					expect(t, forged.do(r.method, f.path(r, "acme/one"), r.body), 401, "unauthorized")
				}
			}
		})
		t.Run("expired session", func(t *testing.T) {
			s.Admins.SetClock(func() time.Time { return time.Now().Add(12*time.Hour + time.Minute) })
			defer s.Admins.SetClock(time.Now)
			for _, r := range matrixRoutes {
				if r.access != aPublic {
					expect(t, expired.do(r.method, f.path(r, "acme/one"), r.body), 401, "unauthorized")
				}
			}
		})
		t.Run("missing and wrong CSRF token", func(t *testing.T) {
			for _, token := range []string{"", "wrong", f.vi.csrf} { // another session's token is wrong too
				c := *f.owner
				c.csrf = token
				for _, r := range matrixRoutes {
					if r.method != "GET" && r.access != aPublic {
						expect(t, c.do(r.method, f.path(r, "acme/one"), r.body), 403, "csrf")
					}
				}
			}
		})
		t.Run("cross-site", func(t *testing.T) {
			for _, h := range []map[string]string{
				{"Origin": "http://evil.example"},
				{"Origin": "null"},
				{"Origin": "http://" + strings.TrimPrefix(s.URL, "http://") + ".evil.example"},
				{"Sec-Fetch-Site": "cross-site"},
			} {
				c := *f.owner
				c.hdr = h
				for _, r := range matrixRoutes {
					expect(t, c.do(r.method, f.path(r, "acme/one"), r.body), 403, "csrf")
				}
			}
		})
		t.Run("viewer changes nothing", func(t *testing.T) {
			for _, v := range []*client{f.vi, f.vo} {
				for _, r := range matrixRoutes {
					if r.access == aOwner || r.access == aChange {
						expect(t, v.do(r.method, f.path(r, "acme/one"), r.body), 403, "forbidden")
					}
				}
			}
		})
		t.Run("scoped accounts outside their apps", func(t *testing.T) {
			for _, c := range []*client{f.ed, f.vo} {
				for _, r := range matrixRoutes {
					switch r.access {
					case aRead, aChange:
						expect(t, c.do(r.method, f.path(r, "acme/two"), r.body), 403, "forbidden")
						expect(t, c.do(r.method, f.path(r, "acme/nope"), r.body), 403, "forbidden")
					case aOwner:
						expect(t, c.do(r.method, f.path(r, "acme/one"), r.body), 403, "forbidden")
					}
				}
			}
			// Their lists hold their apps only.
			for _, c := range []*client{f.ed, f.vo} {
				if list := items(c.ok("GET", "/apps", nil)); len(list) != 1 || list[0]["app"] != "one" {
					t.Fatalf("apps of a scoped account: %v", list)
				}
			}
			if list := items(f.vi.ok("GET", "/apps", nil)); len(list) != 2 {
				t.Fatalf("apps of a viewer of every app: %v", list)
			}
		})
		t.Run("allowed reads", func(t *testing.T) {
			for _, c := range []*client{f.owner, f.ed, f.vi, f.vo} {
				for _, r := range matrixRoutes {
					if r.method == "GET" && (r.access == aRead || r.access == aAny) && r.path != "/stats/stream" {
						c.ok(r.method, f.path(r, "acme/one"), nil)
					}
				}
			}
			expect(t, f.owner.do("GET", "/apps/acme/nope/users", nil), 404, "app_not_found")
			expect(t, f.vi.do("GET", "/apps/acme/nope/users", nil), 404, "app_not_found")
		})

		// Nothing the refused calls tried happened.
		alice := f.owner.ok("GET", "/apps/acme/one/users/alice", nil)
		if alice.Body["activated"] != true || alice.Body["nickname"] != "" {
			t.Fatalf("alice changed: %s", alice.Raw)
		}
		g := f.owner.ok("GET", "/apps/acme/one/groups/"+f.group, nil)
		if g.Body["announcement"] != nil && g.Body["announcement"] != "" {
			t.Fatalf("group changed: %s", g.Raw)
		}
		for _, m := range g.Body["members"].([]any) {
			if mm := m.(map[string]any); mm["username"] == "bob" && (mm["role"] != "member" || mm["muted_until"] != 0.0) {
				t.Fatalf("bob changed: %v", mm)
			}
		}
		f.owner.ok("GET", "/apps/acme/one/rooms/"+f.room, nil)
		if list := items(f.owner.ok("GET", "/admins", nil)); len(list) != 4 {
			t.Fatalf("admins changed: %v", list)
		}
		for _, a := range items(f.owner.ok("GET", "/admins", nil)) {
			if a["username"] == "ed" && a["role"] != "app_admin" {
				t.Fatalf("ed promoted: %v", a)
			}
		}
		if list := items(f.owner.ok("GET", "/apps", nil)); len(list) != 2 {
			t.Fatalf("apps changed: %v", list)
		}
		if list := items(f.owner.ok("GET", "/apps/acme/one/messages?user=alice&peer=bob", nil)); len(list) != 1 || list[0]["recalled"] != nil {
			t.Fatalf("message changed: %v", list)
		}
		// The audit log holds the fixture's changes and sign-ins only.
		for _, e := range items(f.owner.ok("GET", "/audit?limit=200", nil)) {
			if e["actor"] != "owner" && e["action"] != "session.create" {
				t.Fatalf("a refused call was carried out: %v", e)
			}
		}
	})
}
