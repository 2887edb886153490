package rest_test

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// The WebSocket half of the authorization matrix: every client frame kind
// and every group and room op (the lists come from protocol/frames.go: a
// kind DecodeRequest accepts, an op constant) has an entry in wsMatrix. Each
// is sent
//
//   - before auth: the connection closes with CloseAuthFailed
//   - by a user of another app, with this app's IDs: refused
//   - by bob, on alice's conversation, message or group: refused
//   - by carol, a member without the role: refused
//   - for the owner's ops, by dave, an admin of the group and the room: refused
//
// and a refused frame changes nothing (the REST snapshot of the app); then
// the right principal's frame succeeds.
type wsCase struct {
	as    who
	frame string // JSON with {G}, {R}, {M} (alice's message to dave), {C} (their conversation)
	// codes: the error code of each refused caller (default bob and carol
	// forbidden_op, other as given); "" means the caller is allowed.
	codes map[who]string
	// setup prepares state over REST (after the common world).
	setup func(t *testing.T, w *world)
}

var wsMatrix = map[string]wsCase{
	"auth": {as: alice, frame: `{"t":"auth","token":"x"}`},
	"ping": {as: alice, frame: `{"t":"ping"}`, codes: allow(other, bob, carol)},
	// A user sends as themself: there is no "from" to forge.
	"send": {as: alice, frame: `{"t":"send","to":"dave","type":"txt","body":{"msg":"x"},"client_msg_id":"c1"}`,
		codes: allow(bob, carol, other)},
	"sync":          {as: alice, frame: `{"t":"sync"}`, codes: allow(bob, carol, other)},
	"pull":          {as: alice, frame: `{"t":"pull","conv_id":"{C}"}`, codes: notYours()},
	"history":       {as: alice, frame: `{"t":"history","conv_id":"{C}"}`, codes: notYours()},
	"delivered":     {as: alice, frame: `{"t":"delivered","conv_id":"{C}","seq":1}`, codes: notYours()},
	"read":          {as: alice, frame: `{"t":"read","conv_id":"{C}","seq":1}`, codes: notYours()},
	"recall":        {as: alice, frame: `{"t":"recall","msg_id":"{M}"}`, codes: notYoursMsg()},
	"edit":          {as: alice, frame: `{"t":"edit","msg_id":"{M}","type":"txt","body":{"msg":"edited"}}`, codes: notYoursMsg()},
	"conversations": {as: alice, frame: `{"t":"conversations"}`, codes: allow(bob, carol, other)},
	"conv_pin":      {as: alice, frame: `{"t":"conv_pin","conv_id":"{C}","pinned":true}`, codes: notYours()},
	"conv_delete":   {as: alice, frame: `{"t":"conv_delete","conv_id":"{C}"}`, codes: notYours()},
	// People frames act on the session's own user.
	"contact_request":  {as: alice, frame: `{"t":"contact_request","to":"carol"}`, codes: allow(bob, carol, other)},
	"contact_accept":   {as: alice, frame: `{"t":"contact_accept","user":"dave"}`, codes: noRequest(), setup: daveAsks},
	"contact_decline":  {as: alice, frame: `{"t":"contact_decline","user":"dave"}`, codes: noRequest(), setup: daveAsks},
	"contact_remove":   {as: alice, frame: `{"t":"contact_remove","user":"dave"}`, codes: allow(bob, carol, other), setup: friends},
	"contact_remark":   {as: alice, frame: `{"t":"contact_remark","user":"dave","remark":"D"}`, codes: notFriends(), setup: friends},
	"contacts":         {as: alice, frame: `{"t":"contacts"}`, codes: allow(bob, carol, other)},
	"contact_requests": {as: alice, frame: `{"t":"contact_requests"}`, codes: allow(bob, carol, other)},
	"block":            {as: alice, frame: `{"t":"block","users":["carol"]}`, codes: allow(bob, carol, other)},
	"unblock": {as: alice, frame: `{"t":"unblock","user":"carol"}`, codes: notBlocked(),
		setup: func(t *testing.T, w *world) {
			w.must(t, "POST", "/users/alice/blocks/users", admin, `{"usernames":["carol"]}`)
		}},
	"blocks":               {as: alice, frame: `{"t":"blocks"}`, codes: allow(bob, carol, other)},
	"attrs_set":            {as: alice, frame: `{"t":"attrs_set","attrs":{"city":"paris"}}`, codes: allow(bob, carol, other)},
	"attrs_get":            {as: alice, frame: `{"t":"attrs_get","users":["alice"]}`, codes: allow(bob, carol, other)},
	"attrs_delete":         {as: alice, frame: `{"t":"attrs_delete"}`, codes: allow(bob, carol, other)},
	"presence_publish":     {as: alice, frame: `{"t":"presence_publish","status":"busy"}`, codes: allow(bob, carol, other)},
	"presence_subscribe":   {as: alice, frame: `{"t":"presence_subscribe","users":["dave"],"expiry":60}`, codes: allow(bob, carol, other)},
	"presence_unsubscribe": {as: alice, frame: `{"t":"presence_unsubscribe","users":["dave"]}`, codes: allow(bob, carol, other)},
	"presence_get":         {as: alice, frame: `{"t":"presence_get","users":["dave"]}`, codes: allow(bob, carol, other)},
	"events":               {as: alice, frame: `{"t":"events"}`, codes: allow(bob, carol, other)},
	"background":           {as: alice, frame: `{"t":"background","on":true}`, codes: allow(bob, carol, other)},

	// Groups: alice owns {G} (private), carol is a plain member, bob is outside.
	"group:create":   {as: alice, frame: `{"t":"group","op":"create","settings":{"groupname":"h","public":true}}`, codes: allow(bob, carol, other)},
	"group:info":     {as: carol, frame: `{"t":"group","op":"info","group":"{G}"}`, codes: outsider()},
	"group:update":   {as: alice, frame: `{"t":"group","op":"update","group":"{G}","settings":{"groupname":"x"}}`, codes: groupRole()},
	"group:dissolve": {as: alice, frame: `{"t":"group","op":"dissolve","group":"{G}"}`, codes: wsGroupOwner()},
	"group:transfer": {as: alice, frame: `{"t":"group","op":"transfer","group":"{G}","user":"dave"}`, codes: wsGroupOwner()},
	"group:apply": {as: bob, frame: `{"t":"group","op":"apply","group":"{G}","reason":"hi"}`, codes: codes(other, "group_not_found", carol, ""),
		setup: func(t *testing.T, w *world) { w.must(t, "PUT", "/chatgroups/{G}", admin, `{"public":true}`) }},
	"group:answer_apply": {as: alice, frame: `{"t":"group","op":"answer_apply","group":"{G}","user":"bob","accept":true}`, codes: groupRole(), setup: bobApplies},
	"group:invite":       {as: alice, frame: `{"t":"group","op":"invite","group":"{G}","users":["bob"]}`, codes: groupRole()},
	"group:answer_invite": {as: bob, frame: `{"t":"group","op":"answer_invite","group":"{G}","accept":true}`,
		codes: codes(other, "group_not_found", carol, "contact_request_not_found"), setup: aliceInvitesBob},
	"group:quit":     {as: carol, frame: `{"t":"group","op":"quit","group":"{G}"}`, codes: outsider()},
	"group:kick":     {as: alice, frame: `{"t":"group","op":"kick","group":"{G}","users":["dave"]}`, codes: groupRole()},
	"group:admin":    {as: alice, frame: `{"t":"group","op":"admin","group":"{G}","users":["dave"],"on":true}`, codes: wsGroupOwner()},
	"group:mute":     {as: alice, frame: `{"t":"group","op":"mute","group":"{G}","users":["dave"],"duration":60000}`, codes: groupRole()},
	"group:mute_all": {as: alice, frame: `{"t":"group","op":"mute_all","group":"{G}","on":true}`, codes: groupRole()},
	"group:announce": {as: alice, frame: `{"t":"group","op":"announce","group":"{G}","text":"hi"}`, codes: groupRole()},
	"group:shield":   {as: carol, frame: `{"t":"group","op":"shield","group":"{G}","on":true}`, codes: outsider()},
	"group:members":  {as: carol, frame: `{"t":"group","op":"members","group":"{G}"}`, codes: outsider()},
	"group:mine":     {as: alice, frame: `{"t":"group","op":"mine"}`, codes: allow(bob, carol, other)},
	"group:acks":     {as: alice, frame: `{"t":"group","op":"acks","msg_id":"{GM}"}`, codes: codes(other, "message_not_found", bob, "message_not_found", carol, "")},
	"group:block":    {as: alice, frame: `{"t":"group","op":"block","group":"{G}","users":["dave"],"on":true}`, codes: groupRole()},
	"group:allow":    {as: alice, frame: `{"t":"group","op":"allow","group":"{G}","users":["dave"],"on":true}`, codes: groupRole()},

	// Rooms: alice owns {R}, carol is a plain member, bob is outside.
	"room:create": {as: alice, frame: `{"t":"room","op":"create","settings":{"groupname":"s"}}`,
		codes: codes(other, "room_forbidden", bob, "room_forbidden", carol, "room_forbidden"),
		setup: func(t *testing.T, w *world) {
			w.must(t, "POST", "/chatrooms/super_admin", admin, `{"superadmin":"alice"}`)
		}},
	"room:info":         {as: carol, frame: `{"t":"room","op":"info","room":"{R}"}`, codes: codes(other, "room_not_found", bob, "")},
	"room:join":         {as: bob, frame: `{"t":"room","op":"join","room":"{R}"}`, codes: codes(other, "room_not_found", carol, "")},
	"room:leave":        {as: carol, frame: `{"t":"room","op":"leave","room":"{R}"}`, codes: codes(other, "room_not_found", bob, "not_room_member")},
	"room:members":      {as: carol, frame: `{"t":"room","op":"members","room":"{R}"}`, codes: codes(other, "room_not_found", bob, "not_room_member")},
	"room:mine":         {as: alice, frame: `{"t":"room","op":"mine"}`, codes: allow(bob, carol, other)},
	"room:attrs":        {as: carol, frame: `{"t":"room","op":"attrs","room":"{R}"}`, codes: codes(other, "room_not_found", bob, "not_room_member")},
	"room:set_attrs":    {as: carol, frame: `{"t":"room","op":"set_attrs","room":"{R}","attrs":{"k":"v"}}`, codes: codes(other, "room_not_found", bob, "not_room_member")},
	"room:delete_attrs": {as: alice, frame: `{"t":"room","op":"delete_attrs","room":"{R}","keys":["k"],"force":true}`, codes: roomRole()},
	"room:kick":         {as: alice, frame: `{"t":"room","op":"kick","room":"{R}","users":["dave"]}`, codes: roomRole()},
	"room:mute":         {as: alice, frame: `{"t":"room","op":"mute","room":"{R}","users":["dave"],"duration":60000}`, codes: roomRole()},
	"room:mute_all":     {as: alice, frame: `{"t":"room","op":"mute_all","room":"{R}","on":true}`, codes: roomRole()},
	"room:announce":     {as: alice, frame: `{"t":"room","op":"announce","room":"{R}","text":"hi"}`, codes: roomRole()},
	"room:block":        {as: alice, frame: `{"t":"room","op":"block","room":"{R}","users":["dave"],"on":true}`, codes: roomRole()},
	"room:allow":        {as: alice, frame: `{"t":"room","op":"allow","room":"{R}","users":["dave"],"on":true}`, codes: roomRole()},
	"room:admin":        {as: alice, frame: `{"t":"room","op":"admin","room":"{R}","users":["dave"],"on":true}`, codes: wsRoomOwner()},
	"room:delete":       {as: alice, frame: `{"t":"room","op":"delete","room":"{R}"}`, codes: wsRoomOwner()},
	"room:transfer":     {as: alice, frame: `{"t":"room","op":"transfer","room":"{R}","user":"dave"}`, codes: wsRoomOwner()},
	"room:update":       {as: alice, frame: `{"t":"room","op":"update","room":"{R}","settings":{"groupname":"x"}}`, codes: roomRole()},
}

// Default refusals of the WebSocket matrix.
func notYours() map[who]string {
	return codes(other, "conversation_not_found", bob, "conversation_not_found", carol, "conversation_not_found")
}
func notYoursMsg() map[who]string {
	return codes(other, "message_not_found", bob, "message_not_found", carol, "message_not_found")
}
func noRequest() map[who]string {
	return codes(other, "user_not_found", bob, "contact_request_not_found", carol, "contact_request_not_found")
}
func notFriends() map[who]string {
	return codes(other, "user_not_found", bob, "user_not_found", carol, "user_not_found")
}
func notBlocked() map[who]string {
	return codes(other, "user_not_found", bob, "user_not_found", carol, "user_not_found")
}
func outsider() map[who]string {
	return codes(other, "group_not_found", bob, "not_group_member", carol, "")
}
func groupRole() map[who]string {
	return codes(other, "group_not_found", bob, "group_forbidden", carol, "group_forbidden")
}

// wsGroupOwner and wsRoomOwner: also dave, an admin, is refused.
func wsGroupOwner() map[who]string { return with(groupRole(), dave, "group_forbidden") }
func wsRoomOwner() map[who]string  { return with(roomRole(), dave, "room_forbidden") }

func roomRole() map[who]string {
	return codes(other, "room_not_found", bob, "room_forbidden", carol, "room_forbidden")
}

// wsKinds lists every client frame kind and every group and room op that
// protocol/frames.go defines.
func wsKinds(t *testing.T) []string {
	src, err := os.ReadFile("../../../protocol/frames.go")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range regexp.MustCompile(`(?m)^\s*Frame\w+\s*=\s*"(\w+)"`).FindAllStringSubmatch(string(src), -1) {
		_, err := protocol.DecodeRequest([]byte(`{"t":"` + m[1] + `"}`))
		if de, ok := err.(*protocol.DecodeError); ok && de.Code == protocol.ErrUnknownFrame.ID {
			continue // a server frame
		}
		if m[1] != "group" && m[1] != "room" {
			out = append(out, m[1])
		}
	}
	for _, m := range regexp.MustCompile(`(?m)^\s*(Group|Room)Op\w+\s*=\s*"(\w+)"`).FindAllStringSubmatch(string(src), -1) {
		out = append(out, strings.ToLower(m[1])+":"+m[2])
	}
	return out
}

type wsConn struct {
	t    *testing.T
	conn *websocket.Conn
	n    int
}

func wsDial(t *testing.T, s *servertest.Server) *wsConn {
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.URL, "http")+"/ws?v=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &wsConn{t: t, conn: conn}
}

func wsLogin(t *testing.T, s *servertest.Server, token string) *wsConn {
	c := wsDial(t, s)
	if r := c.request(`{"t":"auth","token":"` + token + `","resource":"r1"}`); r["t"] != "auth_ok" {
		t.Fatalf("auth: %v", r)
	}
	return c
}

// request sends frame with an id and returns the reply with that id.
func (c *wsConn) request(frame string) map[string]any {
	c.t.Helper()
	c.n++
	id := fmt.Sprint("q", c.n)
	frame = strings.Replace(frame, `{"t":`, `{"id":"`+id+`","t":`, 1)
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		c.t.Fatal(err)
	}
	for {
		c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, b, err := c.conn.ReadMessage()
		if err != nil {
			c.t.Fatalf("waiting for the reply to %s: %v", frame, err)
		}
		var m map[string]any
		json.Unmarshal(b, &m)
		if m["id"] == id {
			return m
		}
	}
}

func TestAuthz_WebSocket(t *testing.T) {
	s := servertest.StartBackend(t, "sqlite")
	otherApp := s.App(t, "authz-ws-other", "b", tenant.Settings{})
	ow := &world{s: s, base: "/authz-ws-other/b", tok: map[who]string{admin: s.AppToken(t, otherApp)}}
	ow.must(t, "POST", "/users", admin, `{"username":"mallory","password":"pw"}`)
	r := s.Do(t, "POST", ow.base+"/token", "", map[string]any{"grant_type": "password", "username": "mallory", "password": "pw"})
	mallory := r.Str("access_token")

	kinds := wsKinds(t)
	for _, k := range kinds {
		if _, ok := wsMatrix[k]; !ok {
			t.Errorf("WebSocket %s has no entry in wsMatrix: add one (CONTRIBUTING.md, \"Authorization matrix\")", k)
		}
	}
	for k := range wsMatrix {
		found := false
		for _, kk := range kinds {
			found = found || kk == k
		}
		if !found {
			t.Errorf("wsMatrix entry %q is no frame kind or op", k)
		}
	}
	keys := make([]string, 0, len(wsMatrix))
	for k := range wsMatrix {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, key := range keys {
		tc := wsMatrix[key]
		t.Run(key, func(t *testing.T) {
			w := newWorld(t, s, "")
			if tc.setup != nil {
				tc.setup(t, w)
			}
			// alice's conversation with dave and a group message, over the socket.
			a := wsLogin(t, s, w.tok[alice])
			ack := a.request(`{"t":"send","to":"dave","type":"txt","body":{"msg":"hi"},"client_msg_id":"m1"}`)
			conv, msg := ack["conv_id"].(string), ack["msg_id"].(string)
			gack := a.request(`{"t":"send","to":"` + w.group + `","chat_type":"groupchat","type":"txt","body":{"msg":"hi"},"client_msg_id":"m2","need_group_ack":true}`)
			gmsg, _ := gack["msg_id"].(string)
			frame := strings.NewReplacer("{C}", conv, "{M}", msg, "{GM}", gmsg).Replace(w.expand(tc.frame))
			if key == "auth" {
				// Anonymous is the whole point of auth: a bad token closes.
				c := wsDial(t, s)
				c.conn.WriteMessage(websocket.TextMessage, []byte(`{"t":"auth","token":"`+w.tok[admin]+`"}`))
				if code := wsClosed(t, c); code != protocol.CloseAuthFailed {
					t.Errorf("an app token closed with %d", code)
				}
				return
			}
			// Before auth: closed.
			c := wsDial(t, s)
			c.conn.WriteMessage(websocket.TextMessage, []byte(frame))
			if code := wsClosed(t, c); code != protocol.CloseAuthFailed {
				t.Errorf("before auth: closed with %d, want %d", code, protocol.CloseAuthFailed)
			}
			refused := map[who]string{bob: "forbidden_op", carol: "forbidden_op"}
			delete(refused, tc.as)
			for u, code := range tc.codes {
				refused[u] = code
			}
			if _, ok := tc.codes[dave]; ok {
				promoteDave(t, w)
			}
			before := w.snapshot(t)
			for _, u := range []who{other, bob, carol, dave} {
				code, ok := refused[u]
				if !ok || code == "" {
					continue
				}
				tok := w.tok[u]
				if u == other {
					tok = mallory
				}
				if r := wsLogin(t, s, tok).request(frame); r["t"] != "error" || r["code"] != code {
					t.Errorf("as %s: %v, want error %q", whoNames[u], r, code)
				}
			}
			if after := w.snapshot(t); !reflect.DeepEqual(before, after) {
				for _, p := range snapshotPaths {
					if !reflect.DeepEqual(before[p], after[p]) {
						t.Errorf("a refused frame changed %s:\nbefore %v\nafter  %v", p, before[p], after[p])
					}
				}
			}
			conn := a
			if tc.as != alice {
				conn = wsLogin(t, s, w.tok[tc.as])
			}
			if r := conn.request(frame); r["t"] == "error" {
				t.Errorf("as %s (allowed): %v", whoNames[tc.as], r)
			}
		})
	}
}

func wsClosed(t *testing.T, c *wsConn) int {
	for {
		c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, _, err := c.conn.ReadMessage(); err != nil {
			if ce, ok := err.(*websocket.CloseError); ok {
				return ce.Code
			}
			t.Fatalf("no close frame: %v", err)
		}
	}
}
