package ws_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// events fetches a device's stored events from the start.
func (c *client) events() []map[string]any {
	c.t.Helper()
	r := c.request(map[string]any{"t": "events"})
	if r["t"] != "events_result" {
		c.t.Fatalf("events: %v", r)
	}
	var out []map[string]any
	for _, e := range r["events"].([]any) {
		out = append(out, e.(map[string]any))
	}
	return out
}

func kinds(evs []map[string]any) string {
	var k []string
	for _, e := range evs {
		k = append(k, e["kind"].(string))
	}
	return strings.Join(k, ",")
}

func ok(t *testing.T, r map[string]any) {
	t.Helper()
	if r["t"] != "ok" {
		t.Fatalf("want ok, got %v", r)
	}
}

func TestSocial_FriendRequestsReachOfflineDevices(t *testing.T) {
	e := setup(t, tenant.Settings{}, "alice", "bob")
	alice := e.login(t, "alice", "phone")
	ok(t, alice.request(map[string]any{"t": "contact_request", "to": "bob", "reason": "we met at the conference"}))
	// bob was offline: both his devices find the request when they connect.
	for _, res := range []string{"phone", "laptop"} {
		bob := e.login(t, "bob", res)
		evs := bob.events()
		if kinds(evs) != "contact_request" || evs[0]["from"] != "alice" || evs[0]["reason"] != "we met at the conference" {
			t.Fatalf("bob/%s events: %v", res, evs)
		}
		r := bob.request(map[string]any{"t": "contact_requests"})
		if reqs := r["requests"].([]any); len(reqs) != 1 || reqs[0].(map[string]any)["from"] != "alice" {
			t.Fatalf("pending requests: %v", r)
		}
	}
	// alice goes offline; bob accepts; alice's devices learn it on reconnect.
	alice.conn.Close()
	bob := e.login(t, "bob", "phone")
	ok(t, bob.request(map[string]any{"t": "contact_accept", "user": "alice"}))
	for _, res := range []string{"phone", "tablet"} {
		a := e.login(t, "alice", res)
		evs := a.events()
		if kinds(evs) != "contact_request,contact_accepted" || evs[1]["from"] != "alice" || evs[1]["to"] != "bob" {
			t.Fatalf("alice/%s events: %v", res, evs)
		}
		r := a.request(map[string]any{"t": "contacts"})
		if list := r["contacts"].([]any); len(list) != 1 || list[0].(map[string]any)["user"] != "bob" {
			t.Fatalf("contacts: %v", r)
		}
	}
	// A live device gets the event pushed; a cursor gives only what is new.
	tablet := e.login(t, "alice", "tablet")
	r := tablet.request(map[string]any{"t": "events", "since": "now"})
	next := r["next"].(string)
	if len(r["events"].([]any)) != 0 || next == "" {
		t.Fatalf("since now: %v", r)
	}
	ok(t, bob.request(map[string]any{"t": "contact_remove", "user": "alice"}))
	if ev := tablet.next("event")["event"].(map[string]any); ev["kind"] != "contact_removed" {
		t.Fatalf("pushed: %v", ev)
	}
	r = tablet.request(map[string]any{"t": "events", "since": next})
	// The round starts 30 s back (late commits are not missed), so earlier
	// events may repeat; clients drop the IDs they have.
	evs := r["events"].([]any)
	if last := evs[len(evs)-1].(map[string]any); last["kind"] != "contact_removed" || len(evs) > 3 {
		t.Fatalf("events since the cursor: %v", evs)
	}
	// Declined requests and unknown requests.
	ok(t, bob.request(map[string]any{"t": "contact_request", "to": "alice"}))
	ok(t, tablet.request(map[string]any{"t": "contact_decline", "user": "bob"}))
	if r := tablet.request(map[string]any{"t": "contact_accept", "user": "bob"}); r["code"] != protocol.ErrRequestNotFound.ID {
		t.Fatalf("accepting a declined request: %v", r)
	}
}

func TestSocial_BlockedUserCannotSend(t *testing.T) {
	e := setup(t, tenant.Settings{}, "alice", "bob", "carol")
	alice := e.login(t, "alice", "phone")
	bob := e.login(t, "bob", "phone")
	ok(t, bob.request(map[string]any{"t": "block", "users": []string{"alice"}}))
	r := alice.request(text("bob", "c1", "hello?"))
	if r["t"] != "error" || r["code"] != protocol.ErrBlocked.ID {
		t.Fatalf("send to a blocker: %v", r)
	}
	if r := alice.request(map[string]any{"t": "contact_request", "to": "bob"}); r["code"] != protocol.ErrBlocked.ID {
		t.Fatalf("request to a blocker: %v", r)
	}
	// Nothing was stored or delivered: bob's stream is empty, and the
	// undelivered count is zero.
	if r := bob.request(map[string]any{"t": "sync"}); len(r["conversations"].([]any)) != 0 {
		t.Fatalf("bob has conversations: %v", r)
	}
	if r := e.s.Do(t, "GET", "/acme/chat/users/bob/offline_msg_count", e.admin, nil); r.Body["data"].(map[string]any)["bob"] != float64(0) {
		t.Fatalf("offline count: %s", r.Raw)
	}
	// bob can still write to alice, and carol to bob.
	if r := bob.request(text("alice", "c2", "I blocked you")); r["t"] != "ack" {
		t.Fatalf("blocker sends: %v", r)
	}
	carol := e.login(t, "carol", "phone")
	if r := carol.request(text("bob", "c3", "hi")); r["t"] != "ack" {
		t.Fatalf("third party: %v", r)
	}
	r = bob.request(map[string]any{"t": "blocks"})
	if users := r["users"].([]any); len(users) != 1 || users[0] != "alice" {
		t.Fatalf("block list: %v", r)
	}
	ok(t, bob.request(map[string]any{"t": "unblock", "user": "alice"}))
	if r := alice.request(text("bob", "c4", "hello again")); r["t"] != "ack" {
		t.Fatalf("after unblock: %v", r)
	}
}

func TestSocial_MutesAndFriendsOnly(t *testing.T) {
	e := setup(t, tenant.Settings{FriendsOnly: true}, "alice", "bob")
	alice := e.login(t, "alice", "phone")
	if r := alice.request(text("bob", "c1", "hi")); r["code"] != protocol.ErrNotContacts.ID {
		t.Fatalf("stranger in a friends-only app: %v", r)
	}
	if r := e.s.Do(t, "POST", "/acme/chat/users/alice/contacts/users/bob", e.admin, nil); r.Status != 200 {
		t.Fatalf("add contact: %s", r.Raw)
	}
	if r := alice.request(text("bob", "c2", "hi friend")); r["t"] != "ack" {
		t.Fatalf("friends: %v", r)
	}
	if r := e.s.Do(t, "POST", "/acme/chat/mutes", e.admin, map[string]any{"username": "alice", "chat": 60}); r.Status != 200 {
		t.Fatalf("mute: %s", r.Raw)
	}
	if r := alice.request(text("bob", "c3", "muted?")); r["code"] != protocol.ErrUserMuted.ID {
		t.Fatalf("muted send: %v", r)
	}
	r := e.s.Do(t, "GET", "/acme/chat/mutes/alice", e.admin, nil)
	if d := r.Body["data"].(map[string]any); d["chat"].(float64) < 59 || d["groupchat"] != float64(0) {
		t.Fatalf("mute status: %s", r.Raw)
	}
	e.s.Do(t, "POST", "/acme/chat/mutes", e.admin, map[string]any{"username": "alice", "chat": 0})
	if r := alice.request(text("bob", "c4", "unmuted")); r["t"] != "ack" {
		t.Fatalf("after unmute: %v", r)
	}
}

func TestSocial_AttributesReachOtherDevices(t *testing.T) {
	e := setup(t, tenant.Settings{}, "alice", "bob")
	phone := e.login(t, "alice", "phone")
	laptop := e.login(t, "alice", "laptop")
	r := phone.request(map[string]any{"t": "attrs_set", "attrs": map[string]string{"nickname": "Ali", "avatarurl": "https://x/a.png", "team": "blue"}})
	if r["t"] != "attrs_result" {
		t.Fatalf("attrs_set: %v", r)
	}
	ev := laptop.next("event")["event"].(map[string]any)
	if ev["kind"] != "attrs" || ev["attrs"].(map[string]any)["nickname"] != "Ali" {
		t.Fatalf("laptop event: %v", ev)
	}
	bob := e.login(t, "bob", "phone")
	r = bob.request(map[string]any{"t": "attrs_get", "users": []string{"alice", "bob"}, "keys": []string{"nickname", "team"}})
	got := r["attrs"].(map[string]any)
	if a := got["alice"].(map[string]any); a["nickname"] != "Ali" || a["team"] != "blue" || a["avatarurl"] != nil || len(got["bob"].(map[string]any)) != 0 {
		t.Fatalf("attrs_get: %v", r)
	}
	// Over 2 KB in total is refused and changes nothing.
	r = phone.request(map[string]any{"t": "attrs_set", "attrs": map[string]string{"bio": strings.Repeat("x", 2040)}})
	if r["code"] != protocol.ErrAttrsTooLarge.ID {
		t.Fatalf("oversized: %v", r)
	}
	rr := e.s.Do(t, "GET", "/acme/chat/metadata/user/alice", e.admin, nil)
	if d := rr.Body["data"].(map[string]any); d["bio"] != nil || d["team"] != "blue" {
		t.Fatalf("after a refused set: %s", rr.Raw)
	}
}

func TestSocial_PresenceEvents(t *testing.T) {
	e := setup(t, tenant.Settings{}, "alice", "bob")
	alice := e.login(t, "alice", "phone")
	r := alice.request(map[string]any{"t": "presence_subscribe", "users": []string{"bob"}, "expiry": 3600})
	if p := r["presence"].([]any)[0].(map[string]any); r["t"] != "presence_result" || p["online"] != false || p["expiry"].(float64) == 0 {
		t.Fatalf("subscribe: %v", r)
	}
	within := func(what string, check func(p map[string]any) bool) {
		t.Helper()
		start := time.Now()
		for {
			f := alice.next("event")["event"].(map[string]any)
			if p, _ := f["presence"].(map[string]any); f["kind"] == "presence" && check(p) {
				if d := time.Since(start); d > time.Second {
					t.Fatalf("%s after %v", what, d)
				}
				return
			}
		}
	}
	bob := e.login(t, "bob", "phone")
	within("online", func(p map[string]any) bool { return p["user"] == "bob" && p["online"] == true })
	ok(t, bob.request(map[string]any{"t": "presence_publish", "status": "in a meeting"}))
	within("custom status", func(p map[string]any) bool { return p["status"] == "in a meeting" })
	bob.conn.Close()
	within("offline", func(p map[string]any) bool { return p["online"] == false && p["status"] == "in a meeting" })
	r = alice.request(map[string]any{"t": "presence_get", "users": []string{"bob"}})
	if p := r["presence"].([]any)[0].(map[string]any); p["online"] != false || p["status"] != "in a meeting" {
		t.Fatalf("presence_get: %v", r)
	}
	ok(t, alice.request(map[string]any{"t": "presence_unsubscribe", "users": []string{"bob"}}))
	e.login(t, "bob", "laptop")
	r = alice.request(map[string]any{"t": "ping"}) // no presence event may come before the pong
	if r["t"] != "pong" {
		t.Fatalf("after unsubscribe: %v", r)
	}
}

func TestSocial_DeactivationDisconnectsEverywhere(t *testing.T) {
	e := setup(t, tenant.Settings{}, "alice")
	devices := []*client{e.login(t, "alice", "phone"), e.login(t, "alice", "laptop")}
	start := time.Now()
	if r := e.s.Do(t, "POST", "/acme/chat/users/alice/deactivate", e.admin, nil); r.Status != 200 {
		t.Fatalf("deactivate: %s", r.Raw)
	}
	for i, d := range devices {
		if code := d.closed(); code != protocol.CloseKicked {
			t.Fatalf("device %d closed with %d", i, code)
		}
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("disconnected after %v", d)
	}
	r := e.s.Do(t, "POST", "/acme/chat/token", "", map[string]string{"grant_type": "password", "username": "alice", "password": "pw"})
	if r.Status == 200 {
		t.Fatalf("a deactivated user got a token: %s", r.Raw)
	}
}

// formPut sends a form-urlencoded PUT with the app token.
func (e *env) formPut(t *testing.T, path, form string) *servertest.Response {
	t.Helper()
	req, _ := http.NewRequest("PUT", e.s.URL+path, strings.NewReader(form))
	req.Header.Set("Authorization", "Bearer "+e.admin)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	r := &servertest.Response{Status: res.StatusCode}
	r.Raw, _ = io.ReadAll(res.Body)
	json.Unmarshal(r.Raw, &r.Body)
	return r
}

// TestSocial_Limits: batch limits, bad usernames and sizes answer with the
// documented errors and change nothing.
func TestSocial_Limits(t *testing.T) {
	e := setup(t, tenant.Settings{}, "alice", "bob")
	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprint("u", i)
	}
	bigForm := "nickname=" + strings.Repeat("n", 65)
	tests := []struct {
		name, method, path string
		body               any
		status             int
		errCode            string
	}{
		{"attributes over 2 KB", "PUT", "/acme/chat/metadata/user/alice", "ext=" + strings.Repeat("x", 2049), 400, "exceed_limit"},
		{"nickname too long", "PUT", "/acme/chat/metadata/user/alice", bigForm, 400, "exceed_limit"},
		{"bad gender", "PUT", "/acme/chat/metadata/user/alice", "gender=7", 400, "illegal_argument"},
		{"batch attributes over 100 targets", "POST", "/acme/chat/metadata/user/get", map[string]any{"targets": many}, 400, "illegal_argument"},
		{"batch attributes bad username", "POST", "/acme/chat/metadata/user/get", map[string]any{"targets": []string{"bad name!"}}, 400, "illegal_argument"},
		{"block over 100", "POST", "/acme/chat/users/alice/blocks/users", map[string]any{"usernames": many}, 400, "illegal_argument"},
		{"block bad username", "POST", "/acme/chat/users/alice/blocks/users", map[string]any{"usernames": []string{"a b"}}, 400, "illegal_argument"},
		{"block yourself", "POST", "/acme/chat/users/alice/blocks/users", map[string]any{"usernames": []string{"alice"}}, 400, "illegal_argument"},
		{"import over 10", "POST", "/acme/chat/users/alice/contacts/import", map[string]any{"usernames": many[:11]}, 400, "illegal_argument"},
		{"presence over 100", "POST", "/acme/chat/users/alice/presence", map[string]any{"usernames": many}, 400, "illegal_argument"},
		{"presence expiry too long", "POST", "/acme/chat/users/alice/presence/2592001", map[string]any{"usernames": []string{"bob"}}, 400, "illegal_argument"},
		{"remark too long", "PUT", "/acme/chat/user/alice/contacts/users/bob", map[string]any{"remark": strings.Repeat("r", 101)}, 400, "illegal_argument"},
		{"remark on a stranger", "PUT", "/acme/chat/user/alice/contacts/users/bob", map[string]any{"remark": "x"}, 404, "service_resource_not_found"},
		{"contact with a bad username", "POST", "/acme/chat/users/alice/contacts/users/no%20way", nil, 400, "illegal_argument"},
		{"contact with nobody", "POST", "/acme/chat/users/alice/contacts/users/ghost", nil, 404, "service_resource_not_found"},
		{"contacts page too big", "GET", "/acme/chat/user/alice/contacts?limit=51", nil, 400, "illegal_argument"},
		{"mute with a bad duration", "POST", "/acme/chat/mutes", map[string]any{"username": "alice", "chat": -5}, 400, "illegal_argument"},
		{"mute list page too big", "GET", "/acme/chat/mutes?pageSize=51", nil, 400, "illegal_argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r *servertest.Response
			if form, isForm := tc.body.(string); isForm {
				r = e.formPut(t, tc.path, form)
			} else {
				r = e.s.Do(t, tc.method, tc.path, e.admin, tc.body)
			}
			if r.Status != tc.status || r.Str("error") != tc.errCode {
				t.Fatalf("got %d %s", r.Status, r.Raw)
			}
		})
	}
	// Nothing changed.
	r := e.s.Do(t, "GET", "/acme/chat/metadata/user/alice", e.admin, nil)
	if len(r.Body["data"].(map[string]any)) != 0 {
		t.Fatalf("attributes changed: %s", r.Raw)
	}
	r = e.s.Do(t, "GET", "/acme/chat/users/alice/blocks/users", e.admin, nil)
	if len(r.Body["data"].([]any)) != 0 {
		t.Fatalf("block list changed: %s", r.Raw)
	}
	// A user token acts only for its own user.
	tok := e.token(t, "bob")
	if r := e.s.Do(t, "POST", "/acme/chat/users/alice/blocks/users", tok, map[string]any{"usernames": []string{"bob"}}); r.Status != 403 {
		t.Fatalf("bob blocking for alice: %s", r.Raw)
	}
}
