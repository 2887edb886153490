package console_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/groups"
	"github.com/parleyim/parley/internal/messaging"
	"github.com/parleyim/parley/internal/rooms"
	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

func TestConsole_Apps(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *servertest.Server) {
		owner := signedIn(t, s, "owner", servertest.OwnerPassword)
		r := owner.ok("POST", "/apps", map[string]string{"org": "acme", "app": "chat"})
		secret := r.Str("client_secret")
		if r.Str("org") != "acme" || r.Str("app") != "chat" || r.Str("appkey") != "acme#chat" || r.Str("client_id") == "" || secret == "" {
			t.Fatalf("created app: %s", r.Raw)
		}
		app := &tenant.Created{OrgName: "acme", AppName: "chat", ClientID: r.Str("client_id"), ClientSecret: secret}
		tok := s.AppToken(t, app) // the secret works at once
		expect(t, owner.do("POST", "/apps", map[string]string{"org": "acme", "app": "chat"}), 400, "illegal_argument")
		expect(t, owner.do("POST", "/apps", map[string]string{"org": "console", "app": "x"}), 400, "illegal_argument")
		expect(t, owner.do("POST", "/apps", `{"org":"acme","app":"x","extra":1}`), 400, "illegal_argument")

		list := items(owner.ok("GET", "/apps", nil))
		if len(list) != 1 || list[0]["appkey"] != "acme#chat" || list[0]["client_secret"] != nil || list[0]["settings"] == nil {
			t.Fatalf("apps: %v", list)
		}

		// Settings: the named keys change, the others stay.
		r = owner.ok("PUT", "/apps/acme/chat/settings", map[string]any{"settings": map[string]any{"max_devices": 2, "friends_only": true}})
		set := r.Body["settings"].(map[string]any)
		if set["max_devices"] != 2.0 || set["friends_only"] != true {
			t.Fatalf("settings: %s", r.Raw)
		}
		r = owner.ok("PUT", "/apps/acme/chat/settings", map[string]any{"settings": map[string]any{"open_registration": true}})
		if set = r.Body["settings"].(map[string]any); set["max_devices"] != 2.0 || set["open_registration"] != true {
			t.Fatalf("settings kept: %s", r.Raw)
		}
		if a := resolve(t, s, "acme", "chat"); a.Settings.MaxDevices != 2 || !a.Settings.FriendsOnly || !a.Settings.OpenRegistration {
			t.Fatalf("stored settings: %+v", a.Settings)
		}
		expect(t, owner.do("PUT", "/apps/acme/chat/settings", map[string]any{"settings": map[string]any{"no_such": 1}}), 400, "illegal_argument")
		expect(t, owner.do("PUT", "/apps/acme/chat/settings", map[string]any{"settings": map[string]any{"max_devices": "two"}}), 400, "illegal_argument")
		expect(t, owner.do("PUT", "/apps/acme/chat/settings", map[string]any{"settings": map[string]any{"max_devices": 1000}}), 400, "illegal_argument")
		expect(t, owner.do("PUT", "/apps/acme/chat/settings", map[string]any{"settings": map[string]any{}}), 400, "illegal_argument")

		// Push notifiers: stored, listed without secrets, removed.
		r = owner.ok("PUT", "/apps/acme/chat/notifiers/hook", map[string]any{"provider": "webhook", "url": "https://push.example/x", "secret": "s3cr3t-webhook"})
		if r.Str("name") != "hook" || r.Str("provider") != "webhook" || strings.Contains(string(r.Raw), "s3cr3t") {
			t.Fatalf("put notifier: %s", r.Raw)
		}
		owner.ok("PUT", "/apps/acme/chat/notifiers/dev", map[string]any{"provider": "log"})
		expect(t, owner.do("PUT", "/apps/acme/chat/notifiers/bad", map[string]any{"provider": "apns"}), 400, "illegal_argument")
		r = owner.ok("GET", "/apps/acme/chat/notifiers", nil)
		if list := items(r); len(list) != 2 || strings.Contains(string(r.Raw), "s3cr3t") || list[0]["updated"] == nil {
			t.Fatalf("notifiers: %s", r.Raw)
		}
		owner.ok("DELETE", "/apps/acme/chat/notifiers/dev", nil)
		expect(t, owner.do("DELETE", "/apps/acme/chat/notifiers/dev", nil), 404, "resource_not_found")
		if list := items(owner.ok("GET", "/apps/acme/chat/notifiers", nil)); len(list) != 1 {
			t.Fatalf("after delete: %v", list)
		}

		// A new secret revokes every token of the app.
		r = owner.ok("POST", "/apps/acme/chat/secret", nil)
		if r.Str("client_secret") == "" || r.Str("client_secret") == secret {
			t.Fatalf("rotate: %s", r.Raw)
		}
		if r := s.Do(t, "GET", "/acme/chat/users", tok, nil); r.Status != 401 {
			t.Fatalf("old app token still works: %d", r.Status)
		}
		app.ClientSecret = r.Str("client_secret")
		s.AppToken(t, app)

		// The audit log has every change, and no secret.
		audit := owner.ok("GET", "/audit", nil)
		for _, secret := range []string{secret, app.ClientSecret, "s3cr3t-webhook", servertest.OwnerPassword} {
			if strings.Contains(string(audit.Raw), secret) {
				t.Fatalf("the audit log holds a secret: %s", audit.Raw)
			}
		}
		var actions []string
		for _, e := range items(audit) {
			actions = append(actions, fmt.Sprint(e["action"], " ", e["app"], " ", e["target"]))
		}
		want := []string{"app.rotate_secret acme/chat acme/chat", "notifier.delete acme/chat dev", "notifier.put acme/chat dev",
			"notifier.put acme/chat hook", "app.settings acme/chat acme/chat", "app.settings acme/chat acme/chat",
			"app.create acme/chat acme/chat", "session.create  "}
		if fmt.Sprint(actions) != fmt.Sprint(want) {
			t.Fatalf("audit:\n got %q\nwant %q", actions, want)
		}
	})
}

func TestConsole_Users(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *servertest.Server) {
		owner := signedIn(t, s, "owner", servertest.OwnerPassword)
		owner.ok("POST", "/apps", map[string]string{"org": "acme", "app": "chat"})
		const u = "/apps/acme/chat/users"
		r := owner.ok("POST", u, map[string]string{"username": "Alice", "password": pw, "nickname": "Al"})
		if r.Str("username") != "alice" || r.Str("nickname") != "Al" || r.Body["activated"] != true || r.Body["created"] == nil {
			t.Fatalf("create: %s", r.Raw)
		}
		for _, n := range []string{"bob", "alfred", "carol"} {
			owner.ok("POST", u, map[string]string{"username": n, "password": pw})
		}
		expect(t, owner.do("POST", u, map[string]string{"username": "bob", "password": pw}), 400, "duplicate_user")
		expect(t, owner.do("POST", u, map[string]string{"username": "bad name", "password": pw}), 400, "illegal_argument")

		names := func(r *servertest.Response) string {
			var out []string
			for _, it := range items(r) {
				out = append(out, it["username"].(string))
			}
			return strings.Join(out, ",")
		}
		if got := names(owner.ok("GET", u, nil)); got != "alice,bob,alfred,carol" {
			t.Fatalf("list: %s", got)
		}
		r = owner.ok("GET", u+"?limit=3", nil)
		if names(r) != "alice,bob,alfred" || r.Str("cursor") == "" {
			t.Fatalf("page 1: %s", r.Raw)
		}
		if r = owner.ok("GET", u+"?limit=3&cursor="+r.Str("cursor"), nil); names(r) != "carol" || r.Str("cursor") != "" {
			t.Fatalf("page 2: %s", r.Raw)
		}
		if got := names(owner.ok("GET", u+"?q=AL", nil)); got != "alfred,alice" {
			t.Fatalf("search: %s", got)
		}
		r = owner.ok("GET", u+"?q=al&limit=1", nil)
		if names(r) != "alfred" || r.Str("cursor") == "" {
			t.Fatalf("search page 1: %s", r.Raw)
		}
		if r = owner.ok("GET", u+"?q=al&limit=1&cursor="+r.Str("cursor"), nil); names(r) != "alice" {
			t.Fatalf("search page 2: %s", r.Raw)
		}
		expect(t, owner.do("GET", u+"?limit=201", nil), 400, "illegal_argument")
		expect(t, owner.do("GET", u+"?limit=x", nil), 400, "illegal_argument")
		expect(t, owner.do("GET", u+"?cursor=nope", nil), 400, "illegal_argument")

		// Details, with devices, friends and blocks.
		app := resolve(t, s, "acme", "chat")
		p := tenant.AdminOf(app)
		if err := s.Social.AddContact(ctx, p, "alice", "bob"); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.Social.Block(ctx, p, "alice", []string{"carol"}); err != nil {
			t.Fatal(err)
		}
		dev := connect(t, s, "acme", "chat", "alice", pw, "phone")
		r = owner.ok("GET", u+"/alice", nil)
		devs := r.Body["devices"].([]any)
		if r.Str("username") != "alice" || r.Body["friends"] != 1.0 || r.Body["blocked"] != 1.0 || len(devs) != 1 ||
			devs[0].(map[string]any)["res"] != "phone" || devs[0].(map[string]any)["platform"] != "test" {
			t.Fatalf("details: %s", r.Raw)
		}
		expect(t, owner.do("GET", u+"/nobody", nil), 404, "user_not_found")
		if list := items(owner.ok("GET", u+"/alice/friends", nil)); len(list) != 1 || list[0]["username"] != "bob" {
			t.Fatalf("friends: %v", list)
		}

		// Nickname and attributes (replaced as a whole).
		r = owner.ok("PUT", u+"/alice", map[string]any{"nickname": "Alice A.", "attributes": map[string]string{"city": "Oslo", "sign": "hi"}})
		if r.Str("nickname") != "Alice A." || r.Body["attributes"].(map[string]any)["city"] != "Oslo" {
			t.Fatalf("update: %s", r.Raw)
		}
		r = owner.ok("PUT", u+"/alice", map[string]any{"attributes": map[string]string{"city": "Bergen"}})
		if a := r.Body["attributes"].(map[string]any); len(a) != 1 || a["city"] != "Bergen" || r.Str("nickname") != "Alice A." {
			t.Fatalf("replace attributes: %s", r.Raw)
		}
		expect(t, owner.do("PUT", u+"/alice", map[string]any{"attributes": map[string]string{"gender": "x"}}), 400, "illegal_argument")
		expect(t, owner.do("PUT", u+"/alice", map[string]any{"nickname": 5}), 400, "illegal_argument")

		// Password.
		owner.ok("POST", u+"/alice/password", map[string]string{"password": "new-alice-password"})
		if r := userToken(t, s, "acme", "chat", "alice", "new-alice-password"); r.Status != 200 {
			t.Fatalf("new password: %s", r.Raw)
		}
		expect(t, owner.do("POST", u+"/alice/password", map[string]string{}), 400, "illegal_argument")

		// Force logout: the device is closed.
		owner.ok("POST", u+"/alice/logout", map[string]string{"resource": "phone"})
		if code := dev.closed(); code != protocol.CloseKicked {
			t.Fatalf("close code %d", code)
		}

		// Ban and unban.
		r = owner.ok("POST", u+"/bob/ban", nil)
		if r.Body["activated"] != false {
			t.Fatalf("ban: %s", r.Raw)
		}
		if r := userToken(t, s, "acme", "chat", "bob", pw); r.Status == 200 {
			t.Fatalf("a banned user got a token: %s", r.Raw)
		}
		if r = owner.ok("POST", u+"/bob/unban", nil); r.Body["activated"] != true {
			t.Fatalf("unban: %s", r.Raw)
		}
		if r := userToken(t, s, "acme", "chat", "bob", pw); r.Status != 200 {
			t.Fatalf("unbanned: %s", r.Raw)
		}

		audit := owner.ok("GET", "/audit?app=acme/chat", nil)
		if strings.Contains(string(audit.Raw), "new-alice-password") || strings.Contains(string(audit.Raw), pw) ||
			strings.Contains(string(audit.Raw), "Bergen") {
			t.Fatalf("the audit log holds a password or personal data: %s", audit.Raw)
		}
		var actions []string
		for _, e := range items(audit) {
			actions = append(actions, fmt.Sprint(e["action"], " ", e["target"]))
		}
		want := "[user.unban bob user.ban bob user.logout alice user.password alice user.update alice user.update alice " +
			"user.create carol user.create alfred user.create bob user.create alice app.create acme/chat]"
		if fmt.Sprint(actions) != want {
			t.Fatalf("audit: %v", actions)
		}
		if list := items(owner.ok("GET", "/audit?action=user.ban", nil)); len(list) != 1 || list[0]["ip"] != "127.0.0.1" || list[0]["actor"] != "owner" {
			t.Fatalf("audit by action: %v", list)
		}
	})
}

func TestConsole_GroupsAndRooms(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *servertest.Server) {
		owner := signedIn(t, s, "owner", servertest.OwnerPassword)
		owner.ok("POST", "/apps", map[string]string{"org": "acme", "app": "chat"})
		for _, n := range []string{"alice", "bob", "carol"} {
			owner.ok("POST", "/apps/acme/chat/users", map[string]string{"username": n, "password": pw})
		}
		p := tenant.AdminOf(resolve(t, s, "acme", "chat"))
		g1, err := s.Groups.Create(ctx, p, "alice", []string{"bob", "carol"}, groups.Settings{Name: ptr("Go Lovers"), Public: ptr(true)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Groups.Create(ctx, p, "bob", nil, groups.Settings{Name: ptr("Rustaceans")}); err != nil {
			t.Fatal(err)
		}
		r1, err := s.Rooms.Create(ctx, p, "alice", []string{"bob", "carol"}, rooms.Settings{Name: ptr("Live Music")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Rooms.Create(ctx, p, "bob", nil, rooms.Settings{Name: ptr("News")}); err != nil {
			t.Fatal(err)
		}
		for _, k := range []struct{ kind, id, q, name string }{
			{"groups", fmt.Sprint(g1.ID), "lovers", "Go Lovers"},
			{"rooms", r1.ID, "MUSIC", "Live Music"},
		} {
			t.Run(k.kind, func(t *testing.T) {
				base := "/apps/acme/chat/" + k.kind
				if list := items(owner.ok("GET", base, nil)); len(list) != 2 {
					t.Fatalf("list: %v", list)
				}
				for _, q := range []string{k.q, k.id} {
					list := items(owner.ok("GET", base+"?q="+q, nil))
					if len(list) != 1 || list[0]["id"] != k.id || list[0]["name"] != k.name || list[0]["owner"] != "alice" || list[0]["members"] != 3.0 {
						t.Fatalf("search %q: %v", q, list)
					}
				}
				r := owner.ok("GET", base+"?limit=1", nil)
				if len(items(r)) != 1 || r.Str("cursor") == "" {
					t.Fatalf("page: %s", r.Raw)
				}
				one := base + "/" + k.id
				r = owner.ok("GET", one, nil)
				if r.Str("id") != k.id || r.Str("name") != k.name || r.Body["affiliations_count"] != 3.0 || len(r.Body["members"].([]any)) != 3 {
					t.Fatalf("details: %s", r.Raw)
				}
				member := func(name string) map[string]any {
					for _, m := range owner.ok("GET", one, nil).Body["members"].([]any) {
						if mm := m.(map[string]any); mm["username"] == name {
							return mm
						}
					}
					t.Fatalf("no member %s", name)
					return nil
				}
				if m := member("alice"); m["role"] != "owner" {
					t.Fatalf("owner: %v", m)
				}
				owner.ok("POST", one+"/mute", map[string]any{"usernames": []string{"bob"}, "duration_ms": 60000})
				if m := member("bob"); m["muted_until"].(float64) < float64(time.Now().UnixMilli()) {
					t.Fatalf("muted: %v", m)
				}
				owner.ok("POST", one+"/mute", map[string]any{"usernames": []string{"bob"}, "duration_ms": 0})
				if m := member("bob"); m["muted_until"] != 0.0 {
					t.Fatalf("unmuted: %v", m)
				}
				expect(t, owner.do("POST", one+"/mute", map[string]any{"usernames": []string{"bob"}}), 400, "illegal_argument")
				owner.ok("PUT", one+"/roles", map[string]string{"username": "carol", "role": "admin"})
				if m := member("carol"); m["role"] != "admin" {
					t.Fatalf("role: %v", m)
				}
				owner.ok("PUT", one+"/roles", map[string]string{"username": "carol", "role": "member"})
				expect(t, owner.do("PUT", one+"/roles", map[string]string{"username": "carol", "role": "owner"}), 400, "illegal_argument")
				owner.ok("PUT", one+"/announcement", map[string]string{"announcement": "welcome"})
				if r := owner.ok("GET", one, nil); r.Str("announcement") != "welcome" {
					t.Fatalf("announcement: %s", r.Raw)
				}
				owner.ok("DELETE", one, nil)
				r = owner.do("GET", one, nil)
				if r.Status != 404 {
					t.Fatalf("after delete: %s", r.Raw)
				}
				noun := strings.TrimSuffix(k.kind, "s")
				var actions []string
				for _, e := range items(owner.ok("GET", "/audit?app=acme/chat", nil)) {
					if strings.HasPrefix(e["action"].(string), noun+".") {
						actions = append(actions, fmt.Sprint(e["action"], " ", e["target"]))
					}
				}
				want := fmt.Sprintf("[%[1]s.delete %[2]s %[1]s.announcement %[2]s %[1]s.role %[2]s %[1]s.role %[2]s %[1]s.mute %[2]s %[1]s.mute %[2]s]", noun, k.id)
				if fmt.Sprint(actions) != want {
					t.Fatalf("audit: %v", actions)
				}
			})
		}
	})
}

func TestConsole_MessagesAndBroadcasts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *servertest.Server) {
		owner := signedIn(t, s, "owner", servertest.OwnerPassword)
		owner.ok("POST", "/apps", map[string]string{"org": "acme", "app": "chat"})
		for _, n := range []string{"alice", "bob"} {
			owner.ok("POST", "/apps/acme/chat/users", map[string]string{"username": n, "password": pw})
		}
		p := tenant.AdminOf(resolve(t, s, "acme", "chat"))
		send := func(from, to, typ, body string) string {
			t.Helper()
			res, err := s.Messages.SendAs(ctx, p, from, []string{to}, messaging.SendRequest{Type: typ, Body: json.RawMessage(body)})
			if err != nil || res[0].Err != nil {
				t.Fatal(err, res)
			}
			return res[0].Ack.MsgID
		}
		var ids []string
		for i := range 5 {
			ids = append(ids, send("alice", "bob", "txt", fmt.Sprintf(`{"msg":"m%d"}`, i)))
			time.Sleep(2 * time.Millisecond) // distinct times, for the time window below
			ids = append(ids, send("bob", "alice", "custom", `{"customEvent":"ping"}`))
			time.Sleep(2 * time.Millisecond)
		}
		const m = "/apps/acme/chat/messages"
		seqs := func(r *servertest.Response) string {
			var out []string
			for _, it := range items(r) {
				out = append(out, fmt.Sprint(it["seq"]))
			}
			return strings.Join(out, ",")
		}
		r := owner.ok("GET", m+"?user=alice&peer=bob", nil)
		if seqs(r) != "10,9,8,7,6,5,4,3,2,1" || r.Str("cursor") != "" {
			t.Fatalf("lookup: %s", r.Raw)
		}
		if first := items(r)[9]; first["from"] != "alice" || first["to"] != "bob" || first["body"].(map[string]any)["msg"] != "m0" {
			t.Fatalf("oldest: %v", first)
		}
		if seqs(owner.ok("GET", m+"?user=bob&peer=alice&type=txt", nil)) != "9,7,5,3,1" {
			t.Fatal("by type")
		}
		if seqs(owner.ok("GET", m+"?user=alice&peer=bob&from=bob", nil)) != "10,8,6,4,2" {
			t.Fatal("by sender")
		}
		r = owner.ok("GET", m+"?user=alice&peer=bob&type=txt&limit=2", nil)
		if seqs(r) != "9,7" || r.Str("cursor") == "" {
			t.Fatalf("page 1: %s", r.Raw)
		}
		if r = owner.ok("GET", m+"?user=alice&peer=bob&type=txt&limit=2&cursor="+r.Str("cursor"), nil); seqs(r) != "5,3" {
			t.Fatalf("page 2: %s", r.Raw)
		}
		all := items(owner.ok("GET", m+"?user=alice&peer=bob", nil))
		since, until := int64(all[7]["ts"].(float64)), int64(all[2]["ts"].(float64))
		window := items(owner.ok("GET", fmt.Sprintf("%s?user=alice&peer=bob&since=%d&until=%d", m, since, until), nil))
		has3 := false
		for _, it := range window {
			ts := int64(it["ts"].(float64))
			if ts < since || ts >= until {
				t.Fatalf("time window [%d, %d): %v", since, until, it)
			}
			has3 = has3 || it["seq"] == 3.0
		}
		if !has3 {
			t.Fatalf("time window [%d, %d) lacks seq 3: %v", since, until, window)
		}
		expect(t, owner.do("GET", m+"?user=alice&peer=nobody", nil), 404, "user_not_found")
		expect(t, owner.do("GET", m+"?user=alice", nil), 400, "illegal_argument")
		expect(t, owner.do("GET", m+"?user=alice&peer=bob&group=1", nil), 400, "illegal_argument")
		expect(t, owner.do("GET", m+"?group=999", nil), 404, "group_not_found")
		expect(t, owner.do("GET", m+"?user=alice&peer=bob&cursor=x", nil), 400, "illegal_argument")

		// Recall: any time, by the admin; the lookup shows it recalled.
		dev := connect(t, s, "acme", "chat", "bob", pw, "web")
		owner.ok("POST", m+"/"+ids[0]+"/recall", nil)
		if it := dev.next("item")["item"].(map[string]any); it["kind"] != "recall" || it["target"] != ids[0] {
			t.Fatalf("recall item: %v", it)
		}
		list := items(owner.ok("GET", m+"?user=alice&peer=bob", nil))
		if oldest := list[len(list)-1]; oldest["recalled"] != true || oldest["body"] != nil {
			t.Fatalf("recalled message: %v", oldest)
		}
		expect(t, owner.do("POST", m+"/"+ids[0]+"/recall", nil), 403, "recall_not_allowed")
		expect(t, owner.do("POST", m+"/123/recall", nil), 404, "message_not_found")

		// Group conversations.
		g, err := s.Groups.Create(ctx, p, "alice", []string{"bob"}, groups.Settings{Name: ptr("g")})
		if err != nil {
			t.Fatal(err)
		}
		res, err := s.Messages.SendAs(ctx, p, "alice", []string{fmt.Sprint(g.ID)}, messaging.SendRequest{ChatType: protocol.ChatTypeGroup, Type: "txt",
			Body: json.RawMessage(`{"msg":"to the group"}`)})
		if err != nil || res[0].Err != nil {
			t.Fatal(err, res)
		}
		gl := items(owner.ok("GET", fmt.Sprintf("%s?group=%d", m, g.ID), nil))
		if len(gl) == 0 || gl[0]["chat_type"] != "groupchat" || gl[0]["body"].(map[string]any)["msg"] != "to the group" {
			t.Fatalf("group lookup: %v", gl)
		}

		// An app-wide broadcast reaches a connected client.
		r = owner.ok("POST", "/apps/acme/chat/broadcasts", map[string]any{"target": "online", "type": "txt", "body": map[string]string{"msg": "hello all"}})
		if r.Str("id") == "" {
			t.Fatalf("broadcast: %s", r.Raw)
		}
		ev := dev.next("event")["event"].(map[string]any)
		if ev["kind"] != "broadcast" || ev["item"].(map[string]any)["body"].(map[string]any)["msg"] != "hello all" {
			t.Fatalf("broadcast event: %v", ev)
		}
		expect(t, owner.do("POST", "/apps/acme/chat/broadcasts", map[string]any{"target": "online", "type": "txt", "body": map[string]string{"msg": "again"}}),
			429, "rate_limited")
		expect(t, owner.do("POST", "/apps/acme/chat/broadcasts", map[string]any{"target": "mars", "type": "txt", "body": map[string]string{"msg": "x"}}),
			400, "illegal_argument")
		expect(t, owner.do("POST", "/apps/acme/chat/broadcasts", map[string]any{"target": "users", "type": "txt", "body": "x"}), 400, "illegal_argument")

		audit := owner.ok("GET", "/audit?app=acme/chat&action=broadcast.send", nil)
		if list := items(audit); len(list) != 1 || strings.Contains(string(audit.Raw), "hello all") {
			t.Fatalf("broadcast audit: %s", audit.Raw)
		}
		if list := items(owner.ok("GET", "/audit?action=message.recall", nil)); len(list) != 1 || list[0]["target"] != ids[0] {
			t.Fatalf("recall audit: %v", list)
		}
	})
}
