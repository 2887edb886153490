package ws_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

func (c *client) roomOp(op string, fields map[string]any) map[string]any {
	c.t.Helper()
	f := map[string]any{"t": "room", "op": op}
	for k, v := range fields {
		f[k] = v
	}
	return c.request(f)
}

func (c *client) roomOK(op string, fields map[string]any) map[string]any {
	c.t.Helper()
	r := c.roomOp(op, fields)
	if r["t"] != "room_result" {
		c.t.Fatalf("room %s: %v", op, r)
	}
	return r
}

// roomSend sends a chat room message and returns the reply.
func (c *client) roomSend(room, cmid, msg, level string) map[string]any {
	c.t.Helper()
	f := text(room, cmid, msg)
	f["chat_type"] = "chatroom"
	if level != "" {
		f["chatroom_msg_level"] = level
	}
	return c.request(f)
}

// nextRoomEvent waits for a room event of a kind.
func (c *client) nextRoomEvent(kind string) map[string]any {
	c.t.Helper()
	for {
		ev := c.next("room_event")["event"].(map[string]any)
		if ev["kind"] == kind {
			return ev
		}
	}
}

func newRoom(t *testing.T, e *env, owner string) string {
	t.Helper()
	r := e.s.Do(t, "POST", "/acme/chat/chatrooms", e.admin, map[string]any{"name": "live", "owner": owner, "maxusers": 5})
	if r.Status != 200 {
		t.Fatalf("create room: %s", r.Raw)
	}
	return r.Body["data"].(map[string]any)["id"].(string)
}

func TestRooms_JoinHistoryAndRules(t *testing.T) {
	e := setup(t, tenant.Settings{RoomRecentMessages: 3}, "host", "a", "b", "c")
	rid := newRoom(t, e, "host")
	host := e.login(t, "host", "p")
	for i := range 5 {
		if r := host.roomSend(rid, fmt.Sprint("h", i), fmt.Sprint("m", i), ""); r["t"] != "ack" || r["seq"] != nil {
			t.Fatalf("host send: %v", r)
		}
	}
	a := e.login(t, "a", "p")
	r := a.roomOK("join", map[string]any{"room": rid})
	var got []string
	for _, it := range r["recent"].([]any) {
		got = append(got, it.(map[string]any)["body"].(map[string]any)["msg"].(string))
	}
	if strings.Join(got, ",") != "m2,m3,m4" {
		t.Fatalf("a joiner gets the last 3 messages, got %v", got)
	}
	if ev := host.nextRoomEvent("members_joined"); fmt.Sprint(ev["users"]) != "[a]" {
		t.Fatalf("join event: %v", ev)
	}
	// A member's message reaches the others, not the sender's device.
	if r := a.roomSend(rid, "a1", "hello room", ""); r["t"] != "ack" {
		t.Fatalf("member send: %v", r)
	}
	if it := host.next("item")["item"].(map[string]any); it["chat_type"] != "chatroom" || it["to"] != rid || it["from"] != "a" {
		t.Fatalf("host got %v", it)
	}
	// Non-members cannot send; muted members cannot; mute-all spares the allow list.
	b := e.login(t, "b", "p")
	if r := b.roomSend(rid, "b1", "let me talk", ""); r["code"] != protocol.ErrNotRoomMember.ID {
		t.Fatalf("non-member: %v", r)
	}
	b.roomOK("join", map[string]any{"room": rid})
	host.roomOK("mute", map[string]any{"room": rid, "users": []string{"b"}, "duration": 60_000})
	if r := b.roomSend(rid, "b2", "muted?", ""); r["code"] != protocol.ErrRoomMuted.ID {
		t.Fatalf("muted: %v", r)
	}
	host.roomOK("mute", map[string]any{"room": rid, "users": []string{"b"}, "duration": 0})
	host.roomOK("mute_all", map[string]any{"room": rid, "on": true})
	host.roomOK("allow", map[string]any{"room": rid, "users": []string{"a"}, "on": true})
	if r := b.roomSend(rid, "b3", "x", ""); r["code"] != protocol.ErrRoomMuted.ID {
		t.Fatalf("mute-all: %v", r)
	}
	if r := a.roomSend(rid, "a2", "allowed", ""); r["t"] != "ack" {
		t.Fatalf("allow-listed during mute-all: %v", r)
	}
	host.roomOK("mute_all", map[string]any{"room": rid, "on": false})
	// Kick: the kicked member is told; block keeps them out.
	host.roomOK("kick", map[string]any{"room": rid, "users": []string{"b"}})
	if ev := b.nextRoomEvent("removed"); ev["room"] != rid {
		t.Fatalf("kicked event: %v", ev)
	}
	host.roomOK("block", map[string]any{"room": rid, "users": []string{"b"}, "on": true})
	if r := b.roomOp("join", map[string]any{"room": rid}); r["code"] != protocol.ErrRoomBlocked.ID {
		t.Fatalf("blocked join: %v", r)
	}
	// Leave; the owner cannot.
	a.roomOK("leave", map[string]any{"room": rid})
	if r := host.roomOp("leave", map[string]any{"room": rid}); r["code"] != protocol.ErrRoomForbidden.ID {
		t.Fatalf("owner leaving: %v", r)
	}
	// maxusers (5): host + c + 3 more would not fit.
	r2 := e.s.Do(t, "POST", "/acme/chat/chatrooms/"+rid+"/users", e.admin, map[string]any{"usernames": []string{"a", "c", "host"}})
	if r2.Status != 200 {
		t.Fatalf("add: %s", r2.Raw)
	}
}

func TestRooms_OfflineMembersLeave(t *testing.T) {
	e := setup(t, tenant.Settings{RoomGraceSeconds: 1}, "host", "a", "keep")
	rid := newRoom(t, e, "host")
	host := e.login(t, "host", "p")
	a := e.login(t, "a", "p")
	keep := e.login(t, "keep", "p")
	a.roomOK("join", map[string]any{"room": rid})
	keep.roomOK("join", map[string]any{"room": rid})
	host.roomOK("allow", map[string]any{"room": rid, "users": []string{"keep"}, "on": true})
	a.conn.Close()
	keep.conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := host.roomOK("members", map[string]any{"room": rid})
		var names []string
		for _, m := range r["members"].([]any) {
			names = append(names, m.(map[string]any)["user"].(string))
		}
		if strings.Join(names, ",") == "host,keep" || strings.Join(names, ",") == "keep,host" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("members after the grace period: %v", names)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestRooms_Attributes(t *testing.T) {
	e := setup(t, tenant.Settings{}, "host", "a", "b")
	rid := newRoom(t, e, "host")
	host, a, b := e.login(t, "host", "p"), e.login(t, "a", "p"), e.login(t, "b", "p")
	a.roomOK("join", map[string]any{"room": rid})
	b.roomOK("join", map[string]any{"room": rid})
	r := a.roomOK("set_attrs", map[string]any{"room": rid, "attrs": map[string]string{"seat": "A1", "topic": "go"}, "auto_delete": true})
	if len(r["success"].([]any)) != 2 {
		t.Fatalf("set: %v", r)
	}
	if ev := b.nextRoomEvent("attrs_set"); ev["attrs"].(map[string]any)["seat"] != "A1" || ev["by"] != "a" {
		t.Fatalf("attrs event: %v", ev)
	}
	// b cannot overwrite a's key; the owner can, by force.
	r = b.roomOK("set_attrs", map[string]any{"room": rid, "attrs": map[string]string{"topic": "rust"}})
	if r["errors"].(map[string]any)["topic"] == nil {
		t.Fatalf("overwrite: %v", r)
	}
	if r := b.roomOp("set_attrs", map[string]any{"room": rid, "attrs": map[string]string{"topic": "rust"}, "force": true}); r["code"] != protocol.ErrRoomForbidden.ID {
		t.Fatalf("a member forcing: %v", r)
	}
	host.roomOK("set_attrs", map[string]any{"room": rid, "attrs": map[string]string{"topic": "zig"}, "force": true})
	// a leaves: a's auto-delete keys go ("seat"; "topic" is the host's now).
	a.roomOK("leave", map[string]any{"room": rid})
	if ev := b.nextRoomEvent("attrs_deleted"); fmt.Sprint(ev["keys"]) != "[seat]" {
		t.Fatalf("auto-delete: %v", ev)
	}
	r = b.roomOK("attrs", map[string]any{"room": rid})
	if attrs := r["attrs"].(map[string]any); len(attrs) != 1 || attrs["topic"] != "zig" {
		t.Fatalf("attrs: %v", r)
	}
	// REST with Easemob's shapes.
	rr := e.s.Do(t, "PUT", "/acme/chat/metadata/chatroom/"+rid+"/user/b", e.admin, map[string]any{"metaData": map[string]string{"k": "v"}, "autoDelete": "NO_DELETE"})
	if rr.Status != 200 || fmt.Sprint(rr.Body["data"].(map[string]any)["successKeys"]) != "[k]" {
		t.Fatalf("REST set: %s", rr.Raw)
	}
	rr = e.s.Do(t, "POST", "/acme/chat/metadata/chatroom/"+rid, e.admin, map[string]any{"keys": []string{"k"}})
	if rr.Body["data"].(map[string]any)["k"] != "v" {
		t.Fatalf("REST get: %s", rr.Raw)
	}
}

func TestRooms_Broadcasts(t *testing.T) {
	e := setup(t, tenant.Settings{}, "host", "online", "offline")
	rid := newRoom(t, e, "host")
	host := e.login(t, "host", "p")
	online := e.login(t, "online", "p")
	online.roomOK("join", map[string]any{"room": rid})
	// To every room.
	r := e.s.Do(t, "POST", "/acme/chat/messages/chatrooms/broadcast", e.admin, map[string]any{"msg": map[string]any{"type": "txt", "msg": "to all rooms"},
		"chatroom_msg_level": "high"})
	if r.Status != 200 {
		t.Fatalf("rooms broadcast: %s", r.Raw)
	}
	if it := online.next("item")["item"].(map[string]any); it["chat_type"] != "chatroom" || it["body"].(map[string]any)["msg"] != "to all rooms" {
		t.Fatalf("room broadcast item: %v", it)
	}
	// To online users only, then to everyone (stored).
	r = e.s.Do(t, "POST", "/acme/chat/messages/users/broadcast", e.admin, map[string]any{"msg": map[string]any{"type": "txt", "msg": "online only"}})
	if r.Status != 200 {
		t.Fatalf("online broadcast: %s", r.Raw)
	}
	if ev := host.next("event")["event"].(map[string]any); ev["kind"] != "broadcast" || ev["item"].(map[string]any)["body"].(map[string]any)["msg"] != "online only" || ev["id"] != nil {
		t.Fatalf("online broadcast event: %v", ev)
	}
	r = e.s.Do(t, "POST", "/acme/chat/messages/broadcast", e.admin, map[string]any{"target_type": "users", "msg": map[string]any{"type": "txt", "msg": "to everyone"}})
	if r.Status != 200 {
		t.Fatalf("app broadcast: %s", r.Raw)
	}
	for _, want := range []string{"online only", "to everyone"} {
		ev := online.next("event")["event"].(map[string]any)
		if ev["item"].(map[string]any)["body"].(map[string]any)["msg"] != want || (ev["id"] != nil) != (want == "to everyone") {
			t.Fatalf("online user's broadcast event, want %q: %v", want, ev)
		}
	}
	// The offline user gets the stored broadcast on sync, not the online-only one.
	off := e.login(t, "offline", "p")
	var msgs []string
	for _, ev := range off.events() {
		if ev["kind"] == "broadcast" {
			msgs = append(msgs, ev["item"].(map[string]any)["body"].(map[string]any)["msg"].(string))
		}
	}
	if fmt.Sprint(msgs) != "[to everyone]" {
		t.Fatalf("offline user's broadcasts: %v", msgs)
	}
	// Rate limits: a second app-wide broadcast within 30 minutes is refused.
	r = e.s.Do(t, "POST", "/acme/chat/messages/broadcast", e.admin, map[string]any{"msg": map[string]any{"type": "txt", "msg": "again"}})
	if r.Status != 429 {
		t.Fatalf("second broadcast: %s", r.Raw)
	}
}

func TestRooms_Limits(t *testing.T) {
	e := setup(t, tenant.Settings{}, "host", "a")
	rid := newRoom(t, e, "host")
	many := make([]string, 61)
	for i := range many {
		many[i] = fmt.Sprint("u", i)
	}
	tests := []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"unknown room", "GET", "/acme/chat/chatrooms/999999", nil, 404, "room_not_found"},
		{"create without a name", "POST", "/acme/chat/chatrooms", map[string]any{"owner": "host"}, 400, "illegal_argument"},
		{"maxusers over the app's cap", "POST", "/acme/chat/chatrooms", map[string]any{"name": "x", "owner": "host", "maxusers": 10001}, 400, "illegal_argument"},
		{"name too long", "PUT", "/acme/chat/chatrooms/" + rid, map[string]any{"name": strings.Repeat("n", 129)}, 400, "illegal_argument"},
		{"add over 60", "POST", "/acme/chat/chatrooms/" + rid + "/users", map[string]any{"usernames": many}, 400, "illegal_argument"},
		{"mute with zero duration", "POST", "/acme/chat/chatrooms/" + rid + "/mute", map[string]any{"usernames": []string{"a"}, "mute_duration": 0}, 400, "illegal_argument"},
		{"attrs too many", "PUT", "/acme/chat/metadata/chatroom/" + rid + "/user/host", map[string]any{"metaData": map[string]string{
			"1": "", "2": "", "3": "", "4": "", "5": "", "6": "", "7": "", "8": "", "9": "", "10": "", "11": ""}}, 400, "illegal_argument"},
		{"bad autoDelete", "PUT", "/acme/chat/metadata/chatroom/" + rid + "/user/host", map[string]any{"metaData": map[string]string{"k": "v"}, "autoDelete": "maybe"}, 400, "illegal_argument"},
		{"send to more than 10 rooms", "POST", "/acme/chat/messages/chatrooms", map[string]any{"to": many[:11], "type": "txt", "body": map[string]string{"msg": "x"}}, 400, "illegal_argument"},
		{"bad priority", "POST", "/acme/chat/messages/chatrooms", map[string]any{"to": []string{rid}, "type": "txt", "body": map[string]string{"msg": "x"}, "chatroom_msg_level": "urgent"}, 400, "illegal_argument"},
		{"broadcast without a type", "POST", "/acme/chat/messages/chatrooms/broadcast", map[string]any{"msg": map[string]any{"msg": "x"}}, 400, "illegal_argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.s.Do(t, tc.method, tc.path, e.admin, tc.body)
			if r.Status != tc.status || r.Str("code") != tc.code {
				t.Fatalf("got %d %s", r.Status, r.Raw)
			}
		})
	}
	// A user who is not a super admin cannot create rooms from a client.
	a := e.login(t, "a", "p")
	if r := a.roomOp("create", map[string]any{"settings": map[string]any{"groupname": "mine"}}); r["code"] != protocol.ErrRoomForbidden.ID {
		t.Fatalf("create by a plain user: %v", r)
	}
	if r := e.s.Do(t, "POST", "/acme/chat/chatrooms/super_admin", e.admin, map[string]any{"superadmin": "a"}); r.Status != 200 {
		t.Fatalf("super admin: %s", r.Raw)
	}
	if r := a.roomOK("create", map[string]any{"settings": map[string]any{"groupname": "mine"}}); r["room"].(map[string]any)["owner"] != "a" {
		t.Fatalf("create by a super admin: %v", r)
	}
	if r := e.s.Do(t, "DELETE", "/acme/chat/chatrooms/super_admin/a", e.admin, nil); r.Status != 200 {
		t.Fatalf("remove super admin: %s", r.Raw)
	}
}

// TestRooms_ShedLowPriorityFirst: a member who stops reading gets room
// messages dropped (low priority first, counted) instead of being cut off.
func TestRooms_ShedLowPriorityFirst(t *testing.T) {
	e := setup(t, tenant.Settings{}, "host", "slow")
	rid := newRoom(t, e, "host")
	host := e.login(t, "host", "p")
	slow := e.login(t, "slow", "p")
	slow.roomOK("join", map[string]any{"room": rid})
	big := strings.Repeat("x", 4000)
	for i := 0; i < 3000; i++ {
		level := "low"
		if i%10 == 0 {
			level = "normal"
		}
		f := text(rid, fmt.Sprint("s", i), big)
		f["chat_type"], f["chatroom_msg_level"], f["id"] = "chatroom", level, fmt.Sprint("s", i)
		host.send(f)
		if i%200 == 199 {
			m := e.s.Do(t, "GET", "/metrics", "", nil)
			if strings.Contains(string(m.Raw), `parley_room_dropped_total{level="low"}`) {
				break
			}
		}
	}
	host.request(map[string]any{"t": "ping"}) // every send above is acked before the pong
	m := string(e.s.Do(t, "GET", "/metrics", "", nil).Raw)
	low, normal := metricValue(m, `parley_room_dropped_total{level="low"}`), metricValue(m, `parley_room_dropped_total{level="normal"}`)
	if low == 0 {
		t.Fatalf("no low-priority message was shed:\n%s", m)
	}
	if normal > low {
		t.Fatalf("normal shed more than low: %v > %v", normal, low)
	}
	if strings.Contains(m, `parley_ws_closes_total{code="4008"}`) {
		t.Fatal("room traffic closed a slow member's connection")
	}
}

func metricValue(metrics, name string) float64 {
	for _, line := range strings.Split(metrics, "\n") {
		if strings.HasPrefix(line, name+" ") {
			var v float64
			fmt.Sscanf(strings.TrimPrefix(line, name+" "), "%g", &v)
			return v
		}
	}
	return 0
}
