package push_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleyim/parley/internal/push/provider/providertest"
	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
)

// env is a server with an app whose notifier is a local fake, and users.
type env struct {
	s     *servertest.Server
	admin string
	base  string
}

func newEnv(t *testing.T, client *http.Client, notifier string, creds any, users ...string) *env {
	t.Helper()
	s := servertest.StartBackend(t, "sqlite")
	s.Push.HTTPClient = client
	app := s.App(t, "acme", "chat", tenant.Settings{})
	e := &env{s: s, admin: s.AppToken(t, app), base: "/acme/chat"}
	if r := s.Do(t, "PUT", e.base+"/push/notifiers/"+notifier, e.admin, creds); r.Status != 200 {
		t.Fatalf("notifier: %s", r.Raw)
	}
	for _, u := range users {
		if r := s.Do(t, "POST", e.base+"/users", e.admin, map[string]string{"username": u, "password": "pw"}); r.Status != 200 {
			t.Fatalf("register %s: %s", u, r.Raw)
		}
	}
	return e
}

func (e *env) bind(t *testing.T, user, device, notifier, token string) {
	t.Helper()
	r := e.s.Do(t, "PUT", e.base+"/users/"+user+"/push/binding", e.admin, map[string]string{"device_id": device,
		"notifier_name": notifier, "device_token": token})
	if r.Status != 200 {
		t.Fatalf("bind: %s", r.Raw)
	}
}

// send sends a text over REST from one user to another (app token).
func (e *env) send(t *testing.T, from, to, msg string, ext map[string]any) {
	t.Helper()
	body := map[string]any{"from": from, "to": []string{to}, "type": "txt", "body": map[string]string{"msg": msg}}
	if ext != nil {
		body["ext"] = ext
	}
	if r := e.s.Do(t, "POST", e.base+"/messages/users", e.admin, body); r.Status != 200 {
		t.Fatalf("send: %s", r.Raw)
	}
}

// login connects a user's device over WebSocket.
func (e *env) login(t *testing.T, user string) *websocket.Conn {
	t.Helper()
	tok := e.s.Do(t, "POST", e.base+"/token", "", map[string]string{"grant_type": "password", "username": user, "password": "pw"}).Str("access_token")
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.s.URL, "http")+"/ws?v=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.WriteJSON(map[string]any{"t": "auth", "id": "a", "token": tok, "resource": "phone"})
	var m map[string]any
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if err := conn.ReadJSON(&m); err != nil || m["t"] != "auth_ok" {
		t.Fatalf("auth: %v %v", m, err)
	}
	return conn
}

// waitFor polls until n() reaches want (or fails after 5 s), then checks it
// stays there for a moment.
func waitFor(t *testing.T, what string, n func() int, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for n() < want && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // a second push would show up here
	if got := n(); got != want {
		t.Fatalf("%s: %d pushes, want %d", what, got, want)
	}
}

func TestPush_FCM(t *testing.T) {
	fcm := providertest.NewFCM(t)
	e := newEnv(t, fcm.Client(), "fcm", fcm.Credentials(), "alice", "bob", "carol")
	e.bind(t, "bob", "bob-phone", "fcm", "tok-bob")
	msgs := func() int { return len(fcm.Messages()) }

	// An offline user gets one push: generic display style, badge 1.
	e.send(t, "alice", "bob", "hello bob", nil)
	waitFor(t, "offline user", msgs, 1)
	m := fcm.Messages()[0]
	if m.Token != "tok-bob" || m.Notification == nil || m.Notification.Body != "You have a new message" ||
		m.Data["sender"] != "alice" || m.Data["msg_id"] == "" {
		t.Fatalf("push: %s", m.Raw)
	}
	if !strings.Contains(string(m.Raw), `"badge":1`) {
		t.Fatalf("badge 1 expected: %s", m.Raw)
	}
	// Display style 1 shows the sender's nickname and the text.
	e.s.Do(t, "PUT", e.base+"/users/bob", e.admin, map[string]any{"notification_display_style": 1})
	e.s.Do(t, "PUT", e.base+"/users/alice", e.admin, map[string]any{"nickname": "Alice A."})
	e.send(t, "alice", "bob", "are you there?", nil)
	waitFor(t, "display style", msgs, 2)
	if n := fcm.Messages()[1].Notification; n.Title != "Alice A." || n.Body != "are you there?" || !strings.Contains(string(fcm.Messages()[1].Raw), `"badge":2`) {
		t.Fatalf("push: %s", fcm.Messages()[1].Raw)
	}
	// em_ignore_notification: none; em_push_ext overrides the text.
	e.send(t, "alice", "bob", "silent", map[string]any{"em_ignore_notification": true})
	e.send(t, "alice", "bob", "custom", map[string]any{"em_push_ext": map[string]any{"title": "T", "content": "C"}})
	waitFor(t, "ext controls", msgs, 3)
	if n := fcm.Messages()[2].Notification; n.Title != "T" || n.Body != "C" {
		t.Fatalf("em_push_ext: %s", fcm.Messages()[2].Raw)
	}

	// A user with a device online gets none.
	bob := e.login(t, "bob")
	e.send(t, "alice", "bob", "you are online", nil)
	waitFor(t, "online user", msgs, 3)
	// ... unless the device says it is in the background.
	bob.WriteJSON(map[string]any{"t": "background", "id": "b", "on": true})
	time.Sleep(100 * time.Millisecond)
	e.send(t, "alice", "bob", "you are in the background", nil)
	waitFor(t, "background device", msgs, 4)
	bob.Close()
	time.Sleep(100 * time.Millisecond)

	// NONE for the chat with alice, then quiet hours (now, UTC) for everything.
	put := func(path string, body map[string]any) {
		if r := e.s.Do(t, "PUT", e.base+path, e.admin, body); r.Status != 200 {
			t.Fatalf("%s: %s", path, r.Raw)
		}
	}
	put("/users/bob/notification/user/alice", map[string]any{"type": "NONE"})
	e.send(t, "alice", "bob", "muted chat", nil)
	e.bind(t, "carol", "carol-phone", "fcm", "tok-carol")
	e.send(t, "carol", "bob", "from carol", nil) // another chat still pushes
	waitFor(t, "mode NONE", msgs, 5)
	now := time.Now().UTC()
	put("/users/bob/notification/user/bob", map[string]any{"ignoreInterval": fmt.Sprintf("%d:%d-%d:%d", now.Hour(), now.Minute(),
		now.Add(2*time.Hour).Hour(), now.Minute())})
	e.send(t, "carol", "bob", "quiet hours", nil)
	waitFor(t, "quiet hours", msgs, 5)
	e.send(t, "carol", "bob", "urgent", map[string]any{"em_force_notification": true})
	waitFor(t, "forced through quiet hours", msgs, 6)
	put("/users/bob/notification/user/bob", map[string]any{"ignoreInterval": ""})

	// 503 then 200: delivered once.
	fcm.FailSends(1, providertest.Failure{Status: 503, RetryAfter: "1"})
	e.send(t, "carol", "bob", "after a 503", nil)
	deadline := time.Now().Add(10 * time.Second)
	for msgs() < 7 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	waitFor(t, "503 then 200", msgs, 7)
	if n := fcm.Messages()[6].Notification; n.Body != "after a 503" {
		t.Fatalf("retried push: %s", fcm.Messages()[6].Raw)
	}

	// An invalid token is unbound.
	fcm.Unregister("tok-bob")
	e.send(t, "carol", "bob", "to a dead token", nil)
	deadline = time.Now().Add(5 * time.Second)
	for {
		r := e.s.Do(t, "GET", e.base+"/users/bob/push/binding", e.admin, nil)
		if len(r.Entities()) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the dead token is still bound: %s", r.Raw)
		}
		time.Sleep(50 * time.Millisecond)
	}
	m2 := string(e.s.Do(t, "GET", "/metrics", "", nil).Raw)
	for _, want := range []string{`parley_push_total{outcome="sent",provider="fcm"} 7`, `parley_push_total{outcome="invalid_token",provider="fcm"} 1`} {
		if !strings.Contains(m2, want) {
			t.Fatalf("metrics lack %s", want)
		}
	}
}

func TestPush_GroupMentionsInATMode(t *testing.T) {
	fcm := providertest.NewFCM(t)
	e := newEnv(t, fcm.Client(), "fcm", fcm.Credentials(), "owner", "bob", "carol")
	r := e.s.Do(t, "POST", e.base+"/chatgroups", e.admin, map[string]any{"owner": "owner", "public": false, "members": []string{"bob", "carol"}})
	gid := r.Body["data"].(map[string]any)["groupid"].(string)
	e.bind(t, "bob", "bob-phone", "fcm", "tok-bob")
	e.bind(t, "carol", "carol-phone", "fcm", "tok-carol")
	if r := e.s.Do(t, "PUT", e.base+"/users/bob/notification/chatgroup/"+gid, e.admin, map[string]any{"type": "AT"}); r.Status != 200 {
		t.Fatalf("AT: %s", r.Raw)
	}
	sendGroup := func(msg string, ext map[string]any) {
		body := map[string]any{"from": "owner", "to": []string{gid}, "type": "txt", "body": map[string]string{"msg": msg}}
		if ext != nil {
			body["ext"] = ext
		}
		if r := e.s.Do(t, "POST", e.base+"/messages/chatgroups", e.admin, body); r.Status != 200 {
			t.Fatalf("group send: %s", r.Raw)
		}
	}
	to := func(token string) func() int {
		return func() int {
			n := 0
			for _, m := range fcm.Messages() {
				if m.Token == token {
					n++
				}
			}
			return n
		}
	}
	sendGroup("hello all", nil)
	waitFor(t, "carol, mode ALL", to("tok-carol"), 1)
	waitFor(t, "bob, mode AT, not mentioned", to("tok-bob"), 0)
	sendGroup("@bob look", map[string]any{"em_at_list": []string{"bob"}})
	waitFor(t, "bob mentioned", to("tok-bob"), 1)
	sendGroup("@all look", map[string]any{"em_at_list": "all"})
	waitFor(t, "bob, @all", to("tok-bob"), 2)
	waitFor(t, "carol, three messages", to("tok-carol"), 3)
	if m := fcm.Messages(); m[len(m)-1].Data["group"] != gid {
		t.Fatalf("group push data: %s", m[len(m)-1].Raw)
	}
}

func TestPush_APNs(t *testing.T) {
	apns := providertest.NewAPNs(t)
	e := newEnv(t, apns.Client(), "apns", apns.Credentials(), "alice", "bob")
	token := strings.Repeat("ab", 32)
	e.bind(t, "bob", "iphone", "apns", token)
	e.s.Do(t, "PUT", e.base+"/users/bob", e.admin, map[string]any{"notification_display_style": 1})
	e.send(t, "alice", "bob", "hi from alice", map[string]any{"em_push_collapse_key": "c1"})
	waitFor(t, "apns push", func() int { return len(apns.Pushes()) }, 1)
	p := apns.Pushes()[0]
	var payload struct {
		APS struct {
			Alert struct{ Title, Body string } `json:"alert"`
			Badge int                          `json:"badge"`
		} `json:"aps"`
	}
	json.Unmarshal(p.Payload, &payload)
	if p.Token != token || p.PushType != "alert" || p.CollapseID != "c1" || payload.APS.Alert.Title != "alice" ||
		payload.APS.Alert.Body != "hi from alice" || payload.APS.Badge != 1 {
		t.Fatalf("apns push: %+v %s", p, p.Payload)
	}
}

func TestPush_BadCredentials(t *testing.T) {
	fcm := providertest.NewFCM(t)
	e := newEnv(t, fcm.Client(), "fcm", fcm.Credentials())
	tests := []struct {
		name  string
		body  any
		field string
	}{
		{"fcm: not a service account", map[string]any{"provider": "fcm", "service_account": map[string]string{"type": "user"}}, "service_account"},
		{"fcm: bad key", map[string]any{"provider": "fcm", "service_account": map[string]string{"type": "service_account",
			"project_id": "p", "client_email": "x@y", "private_key": "not a key", "token_uri": "https://t"}}, "private_key"},
		{"apns: missing key id", map[string]any{"provider": "apns", "key_p8": "x", "team_id": "T", "topic": "com.x"}, "key"},
		{"webhook: relative url", map[string]any{"provider": "webhook", "url": "/push"}, "url"},
		{"unknown provider", map[string]any{"provider": "pager"}, "provider"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.s.Do(t, "PUT", e.base+"/push/notifiers/bad", e.admin, tc.body)
			if r.Status != 400 || !strings.Contains(strings.ToLower(r.Str("error_description")), tc.field) {
				t.Fatalf("got %d %s", r.Status, r.Raw)
			}
		})
	}
	// Secrets are never shown.
	r := e.s.Do(t, "GET", e.base+"/push/notifiers", e.admin, nil)
	if strings.Contains(string(r.Raw), "PRIVATE KEY") || !strings.Contains(string(r.Raw), "fcm") {
		t.Fatalf("notifiers: %s", r.Raw)
	}
	if r := e.s.Do(t, "GET", e.base+"/push/notifiers/bad", e.admin, nil); r.Status == 200 {
		t.Fatalf("a refused notifier was stored: %s", r.Raw)
	}
}

// When the provider refuses the notifier's own credentials, the device's
// binding is kept (the token is not at fault) and the failure is counted.
func TestPush_CredentialsRejectedKeepsBinding(t *testing.T) {
	fcm := providertest.NewFCM(t)
	e := newEnv(t, fcm.Client(), "fcm", fcm.Credentials(), "alice", "bob")
	e.bind(t, "bob", "bob-phone", "fcm", "tok-bob")
	fcm.FailSends(10, providertest.Failure{Status: 401})
	e.send(t, "alice", "bob", "hello", nil)
	deadline := time.Now().Add(5 * time.Second)
	for {
		m := string(e.s.Do(t, "GET", "/metrics", "", nil).Raw)
		if strings.Contains(m, `parley_push_total{outcome="credentials_rejected",provider="fcm"} 1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no credentials_rejected outcome counted")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := len(fcm.Messages()); n != 0 {
		t.Fatalf("%d pushes delivered with refused credentials", n)
	}
	if r := e.s.Do(t, "GET", e.base+"/users/bob/push/binding", e.admin, nil); len(r.Entities()) != 1 {
		t.Fatalf("the binding was dropped: %s", r.Raw)
	}
}
