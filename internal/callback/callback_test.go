package callback_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleyim/parley/internal/callback"
	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
)

const testSecret = "a-signing-secret-of-some-length"

// receiver is a local HTTPS endpoint that verifies every call's signature
// and records the bodies it accepted.
type receiver struct {
	t   *testing.T
	srv *httptest.Server
	// handle answers a verified call (nil: 200 {}).
	handle atomic.Pointer[func(w http.ResponseWriter, event string, body map[string]any)]

	mu       sync.Mutex
	accepted []map[string]any
	calls    int
	badSigs  int
}

func newReceiver(t *testing.T) *receiver {
	rc := &receiver{t: t}
	rc.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.calls++
		ok := callback.Verify([]byte(testSecret), r.Header.Get(callback.HeaderTimestamp), raw, r.Header.Get(callback.HeaderSignature))
		if !ok {
			rc.badSigs++
		}
		rc.mu.Unlock()
		if !ok {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var body map[string]any
		if err := json.Unmarshal(raw, &body); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		if body["id"] != r.Header.Get(callback.HeaderEventID) || body["eventType"] != r.Header.Get(callback.HeaderEvent) {
			t.Errorf("headers do not match the body: %v %v", r.Header, body)
		}
		if h := rc.handle.Load(); h != nil {
			rec := httptest.NewRecorder()
			(*h)(rec, r.Header.Get(callback.HeaderEvent), body)
			if rec.Code/100 == 2 {
				rc.mu.Lock()
				rc.accepted = append(rc.accepted, body)
				rc.mu.Unlock()
			}
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			w.Write(rec.Body.Bytes())
			return
		}
		rc.mu.Lock()
		rc.accepted = append(rc.accepted, body)
		rc.mu.Unlock()
		w.Write([]byte(`{}`))
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) setHandler(h func(w http.ResponseWriter, event string, body map[string]any)) {
	rc.handle.Store(&h)
}

func (rc *receiver) events(kind string) []map[string]any {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var out []map[string]any
	for _, b := range rc.accepted {
		if b["eventType"] == kind {
			out = append(out, b)
		}
	}
	return out
}

type env struct {
	s     *servertest.Server
	rc    *receiver
	admin string
	base  string
}

func newEnv(t *testing.T, users ...string) *env {
	t.Helper()
	return newEnvOn(t, "sqlite", users...)
}

func newEnvOn(t *testing.T, backend string, users ...string) *env {
	t.Helper()
	s := servertest.StartBackend(t, backend)
	rc := newReceiver(t)
	s.Callbacks.HTTPClient = rc.srv.Client()
	app := s.App(t, "acme", "chat", tenant.Settings{})
	e := &env{s: s, rc: rc, admin: s.AppToken(t, app), base: "/acme/chat"}
	for _, u := range users {
		if r := s.Do(t, "POST", e.base+"/users", e.admin, map[string]string{"username": u, "password": "pw"}); r.Status != 200 {
			t.Fatalf("register %s: %s", u, r.Raw)
		}
	}
	return e
}

func (e *env) rule(t *testing.T, body map[string]any) {
	t.Helper()
	if _, ok := body["url"]; !ok {
		body["url"] = e.rc.srv.URL + "/hook"
	}
	if _, ok := body["secret"]; !ok {
		body["secret"] = testSecret
	}
	if r := e.s.Do(t, "POST", e.base+"/callbacks", e.admin, body); r.Status != 200 {
		t.Fatalf("rule: %s", r.Raw)
	}
}

func (e *env) send(t *testing.T, from, to, msg string) *servertest.Response {
	t.Helper()
	return e.s.Do(t, "POST", e.base+"/messages/users", e.admin,
		map[string]any{"from": from, "to": []string{to}, "type": "txt", "body": map[string]string{"msg": msg}})
}

func errorID(r *servertest.Response) string {
	s, _ := r.Body["error"].(string)
	d, _ := r.Body["error_description"].(string)
	return s + " | " + d
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// A pre-send rule allows, refuses (the sender sees its code and message)
// and replaces a message; the stored message is the replaced one.
func TestPreSend_DenyAndReplace(t *testing.T) {
	e := newEnv(t, "alice", "bob")
	e.rule(t, map[string]any{"name": "check", "events": []string{"pre_send"}})
	e.rule(t, map[string]any{"name": "events", "events": []string{"chat"}})
	e.rc.setHandler(func(w http.ResponseWriter, event string, b map[string]any) {
		if event != "pre_send" {
			w.Write([]byte(`{}`))
			return
		}
		p, _ := b["payload"].(map[string]any)
		body, _ := p["body"].(map[string]any)
		if b["from"] != "alice" || fmt.Sprint(b["to"]) != "[bob]" || b["chat_type"] != "chat" || p["type"] != "txt" ||
			!strings.HasPrefix(fmt.Sprint(b["callId"]), "acme#chat_") {
			t.Errorf("pre-send body: %v", b)
		}
		switch body["msg"] {
		case "buy cheap pills":
			w.Write([]byte(`{"valid": false, "code": "spam", "message": "no advertising"}`))
		case "darn it":
			w.Write([]byte(`{"valid": true, "payload": {"body": {"msg": "**** it"}, "ext": {"moderated": true}}}`))
		default:
			w.Write([]byte(`{"valid": true}`))
		}
	})
	hello := e.send(t, "alice", "bob", "hello")
	if hello.Status != 200 {
		t.Fatalf("allowed send: %s", hello.Raw)
	}
	r := e.send(t, "alice", "bob", "buy cheap pills")
	if r.Status != 403 || !strings.Contains(errorID(r), "spam: no advertising") {
		t.Fatalf("denied send: %d %s", r.Status, r.Raw)
	}
	if r := e.send(t, "alice", "bob", "darn it"); r.Status != 200 {
		t.Fatalf("replaced send: %s", r.Raw)
	}
	waitFor(t, 10*time.Second, "two chat events", func() bool { return len(e.rc.events("chat")) == 2 })
	time.Sleep(300 * time.Millisecond)
	chats := e.rc.events("chat")
	if len(chats) != 2 {
		t.Fatalf("chat events: %v", chats)
	}
	got := map[string]string{}
	for _, c := range chats {
		b, _ := json.Marshal(c["payload"])
		got[fmt.Sprint(c["msg_id"])] = string(b)
	}
	var bodies []string
	for _, b := range got {
		bodies = append(bodies, b)
	}
	all := strings.Join(bodies, " ")
	if !strings.Contains(all, `"msg":"hello"`) || !strings.Contains(all, `"msg":"**** it"`) || !strings.Contains(all, `"moderated":true`) ||
		strings.Contains(all, "pills") || strings.Contains(all, "darn") {
		t.Fatalf("stored messages: %s", all)
	}

	// An edit passes the same check: refused, or its new content replaced.
	id, _ := hello.Body["data"].(map[string]any)["bob"].(string)
	rewrite := func(text string) *servertest.Response {
		return e.s.Do(t, "PUT", e.base+"/messages/rewrite/"+id, e.admin, map[string]any{"new_msg": map[string]any{"type": "txt", "msg": text}})
	}
	if r := rewrite("buy cheap pills"); r.Status != 403 || !strings.Contains(errorID(r), "spam: no advertising") {
		t.Fatalf("denied edit: %d %s", r.Status, r.Raw)
	}
	if r := rewrite("darn it"); r.Status != 200 {
		t.Fatalf("replaced edit: %d %s", r.Status, r.Raw)
	}
	st := e.s.Do(t, "GET", e.base+"/users/bob/user_channels", e.admin, nil)
	if strings.Contains(string(st.Raw), "darn") || strings.Contains(string(st.Raw), "pills") {
		t.Fatalf("an edit bypassed the pre-send check: %s", st.Raw)
	}
}

// A receiver slower than the rule's timeout: a fail-open rule lets the
// message through, a fail-closed one refuses it, both within the timeout.
func TestPreSend_TimeoutFailOpenAndClosed(t *testing.T) {
	e := newEnv(t, "alice", "bob")
	e.rule(t, map[string]any{"name": "slow", "events": []string{"pre_send"}, "timeout_ms": 300, "fail_open": true})
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	e.rc.setHandler(func(w http.ResponseWriter, event string, b map[string]any) {
		select {
		case <-time.After(3 * time.Second):
		case <-release:
		}
		w.Write([]byte(`{"valid": false, "code": "late"}`))
	})
	start := time.Now()
	if r := e.send(t, "alice", "bob", "hello"); r.Status != 200 {
		t.Fatalf("fail-open send: %s", r.Raw)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("fail-open send took %v", d)
	}
	if r := e.s.Do(t, "PUT", e.base+"/callbacks/slow", e.admin, map[string]any{"fail_open": false}); r.Status != 200 {
		t.Fatalf("update: %s", r.Raw)
	}
	start = time.Now()
	r := e.send(t, "alice", "bob", "hello again")
	if r.Status != 503 || !strings.Contains(errorID(r), "pre-send check did not answer") {
		t.Fatalf("fail-closed send: %d %s", r.Status, r.Raw)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("fail-closed send took %v", d)
	}
	// A receiver answering garbage is a failure too.
	e.rc.setHandler(func(w http.ResponseWriter, event string, b map[string]any) { w.Write([]byte(`{"valid": "yes"}`)) })
	if r := e.send(t, "alice", "bob", "third"); r.Status != 503 {
		t.Fatalf("garbage answer, fail closed: %d %s", r.Status, r.Raw)
	}
}

// Post-send events reach a receiver that is down for 5 s once it is back:
// each event exactly once, signed, with the documented fields. On both
// storage backends.
func TestEvents_DeliveredOnceAfterOutage(t *testing.T) {
	for _, backend := range servertest.Backends {
		t.Run(backend, func(t *testing.T) { testDeliveredOnceAfterOutage(t, backend) })
	}
}

func testDeliveredOnceAfterOutage(t *testing.T, backend string) {
	e := newEnvOn(t, backend, "alice", "bob", "carol")
	e.rule(t, map[string]any{"name": "all", "events": []string{"chat", "chat_offline", "recall", "login", "logout", "group_member",
		"room_member"}})
	down := time.Now().Add(5 * time.Second)
	var refused atomic.Int64
	e.rc.setHandler(func(w http.ResponseWriter, event string, b map[string]any) {
		if time.Now().Before(down) {
			refused.Add(1)
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(`{}`))
	})
	// A message to bob, who is offline: chat and chat_offline.
	r := e.send(t, "alice", "bob", "hello")
	if r.Status != 200 {
		t.Fatalf("send: %s", r.Raw)
	}
	data, _ := r.Body["data"].(map[string]any)
	msgID := fmt.Sprint(data["bob"])
	if r := e.s.Do(t, "POST", e.base+"/messages/msg_recall", e.admin, map[string]any{"msg_id": msgID, "to": "bob", "from": "alice",
		"chat_type": "chat", "force": true}); r.Status != 200 || !strings.Contains(string(r.Raw), `"recalled":"yes"`) {
		t.Fatalf("recall: %s", r.Raw)
	}
	// A group with members.
	if r := e.s.Do(t, "POST", e.base+"/chatgroups", e.admin, map[string]any{"groupname": "g", "owner": "alice", "public": true,
		"members": []string{"bob"}}); r.Status != 200 {
		t.Fatalf("group: %s", r.Raw)
	}
	// A chat room that bob joins.
	r = e.s.Do(t, "POST", e.base+"/chatrooms", e.admin, map[string]any{"name": "room", "description": "d", "owner": "alice"})
	if r.Status != 200 {
		t.Fatalf("room: %s", r.Raw)
	}
	room, _ := r.Body["data"].(map[string]any)
	roomID := fmt.Sprint(room["id"])
	if r := e.s.Do(t, "POST", e.base+"/chatrooms/"+roomID+"/users/bob", e.admin, nil); r.Status != 200 {
		t.Fatalf("join room: %s", r.Raw)
	}
	// carol logs in and out.
	conn := login(t, e, "carol")
	time.Sleep(200 * time.Millisecond)
	conn.Close()

	waitFor(t, 30*time.Second, "every event", func() bool {
		return len(e.rc.events("chat")) >= 1 && len(e.rc.events("chat_offline")) >= 1 && len(e.rc.events("group_member")) >= 1 &&
			len(e.rc.events("login")) >= 1 && len(e.rc.events("logout")) >= 1 && len(e.rc.events("recall")) >= 1 &&
			len(e.rc.events("room_member")) >= 1
	})
	time.Sleep(1500 * time.Millisecond) // nothing more arrives
	if refused.Load() == 0 {
		t.Fatal("the outage refused nothing")
	}
	e.rc.mu.Lock()
	defer e.rc.mu.Unlock()
	if e.rc.badSigs != 0 {
		t.Fatalf("%d calls with a bad signature", e.rc.badSigs)
	}
	seen := map[string]int{}
	rooms := 0
	for _, b := range e.rc.accepted {
		seen[fmt.Sprint(b["id"])]++
		if b["eventType"] == "room_member" {
			rooms++
		}
		if b["appkey"] != "acme#chat" || b["timestamp"] == nil {
			t.Errorf("event fields: %v", b)
		}
		switch b["eventType"] {
		case "chat", "chat_offline":
			if b["from"] != "alice" || b["to"] != "bob" || b["msg_id"] != msgID {
				t.Errorf("chat event: %v", b)
			}
		case "recall":
			if b["msg_id"] != msgID {
				t.Errorf("recall event: %v", b)
			}
		case "login", "logout":
			if b["user"] != "carol" {
				t.Errorf("%s event: %v", b["eventType"], b)
			}
		case "room_member":
			if b["room_id"] != roomID || b["change"] == "members_joined" && !strings.Contains(fmt.Sprint(b["users"]), "bob") {
				t.Errorf("room event: %v", b)
			}
		case "group_member":
			if b["change"] != "group_created" || fmt.Sprint(b["users"]) != "[bob]" {
				t.Errorf("group event: %v", b)
			}
		}
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("event %s accepted %d times", id, n)
		}
	}
	if len(seen)-rooms != 6 {
		t.Fatalf("events: %v", e.rc.accepted)
	}
}

// Deliveries that use up their attempts are listed as failed and go out
// again when retried (one, then all).
func TestEvents_FailedListAndRetry(t *testing.T) {
	e := newEnv(t, "alice", "bob")
	e.s.Callbacks.MaxAttempts = 2
	e.s.Callbacks.Backoff = func(int) time.Duration { return 50 * time.Millisecond }
	e.rule(t, map[string]any{"name": "chat", "events": []string{"chat"}})
	var up atomic.Bool
	e.rc.setHandler(func(w http.ResponseWriter, event string, b map[string]any) {
		if !up.Load() {
			http.Error(w, "broken", http.StatusInternalServerError)
			return
		}
		w.Write([]byte(`{}`))
	})
	for i := range 3 {
		if r := e.send(t, "alice", "bob", fmt.Sprint("m", i)); r.Status != 200 {
			t.Fatal(r.Raw)
		}
	}
	var list []any
	waitFor(t, 10*time.Second, "three failed deliveries", func() bool {
		r := e.s.Do(t, "GET", e.base+"/callbacks/storage/info", e.admin, nil)
		list, _ = r.Body["data"].([]any)
		return len(list) == 3
	})
	first, _ := list[0].(map[string]any)
	if first["rule"] != "chat" || first["event"] != "chat" || first["last_error"] != "status 500" || first["attempts"] != float64(2) {
		t.Fatalf("failed delivery: %v", first)
	}
	up.Store(true)
	if r := e.s.Do(t, "POST", e.base+"/callbacks/storage/retry", e.admin, map[string]any{"id": first["id"]}); r.Status != 200 ||
		fmt.Sprint(r.Body["data"]) != "map[requeued:1]" {
		t.Fatalf("retry one: %s", r.Raw)
	}
	waitFor(t, 10*time.Second, "the retried delivery", func() bool { return len(e.rc.events("chat")) == 1 })
	if r := e.s.Do(t, "POST", e.base+"/callbacks/storage/retry", e.admin, nil); r.Status != 200 ||
		fmt.Sprint(r.Body["data"]) != "map[requeued:2]" {
		t.Fatalf("retry all: %s", r.Raw)
	}
	waitFor(t, 10*time.Second, "every delivery", func() bool { return len(e.rc.events("chat")) == 3 })
	if r := e.s.Do(t, "GET", e.base+"/callbacks/storage/info", e.admin, nil); fmt.Sprint(r.Body["data"]) != "[]" && r.Body["data"] != nil {
		t.Fatalf("failed after retry: %s", r.Raw)
	}
	if r := e.s.Do(t, "POST", e.base+"/callbacks/storage/retry", e.admin, map[string]any{"id": "12345"}); r.Status != 404 {
		t.Fatalf("retry unknown: %s", r.Raw)
	}
}

func login(t *testing.T, e *env, user string) *websocket.Conn {
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

// A group message's chat_offline event names the members (but the
// sender) without a device; one online member is left out.
func TestEvents_GroupOffline(t *testing.T) {
	e := newEnv(t, "alice", "bob", "carol")
	e.rule(t, map[string]any{"name": "off", "events": []string{"chat_offline"}})
	r := e.s.Do(t, "POST", e.base+"/chatgroups", e.admin, map[string]any{"groupname": "g", "owner": "alice", "public": true,
		"members": []string{"bob", "carol"}})
	if r.Status != 200 {
		t.Fatalf("group: %s", r.Raw)
	}
	data, _ := r.Body["data"].(map[string]any)
	gid := fmt.Sprint(data["groupid"])
	login(t, e, "carol")
	if r := e.s.Do(t, "POST", e.base+"/messages/chatgroups", e.admin, map[string]any{"from": "alice", "to": []string{gid},
		"type": "txt", "body": map[string]string{"msg": "hi all"}}); r.Status != 200 {
		t.Fatalf("send: %s", r.Raw)
	}
	waitFor(t, 10*time.Second, "the offline event", func() bool { return len(e.rc.events("chat_offline")) == 1 })
	ev := e.rc.events("chat_offline")[0]
	if ev["chat_type"] != "groupchat" || ev["group_id"] != gid || ev["to"] != gid || ev["from"] != "alice" ||
		fmt.Sprint(ev["offline_users"]) != "[bob]" {
		t.Fatalf("event: %v", ev)
	}
	if len(e.rc.events("chat")) != 0 {
		t.Fatal("a chat event for a rule that did not ask for it")
	}
}

// Two nodes on one PostgreSQL database share the queue (both workers
// claim from it): every event is delivered once, whichever node stored it.
func TestEvents_TwoNodesDeliverOnce(t *testing.T) {
	cfg := servertest.Config(t, "postgres")
	cfg.NodeID = 1
	a := servertest.Start(t, cfg)
	cfg2 := cfg
	cfg2.NodeID, cfg2.DataDir = 2, t.TempDir()
	cfg2.Secrets.KeyFile = cfg.DataDir + "/secret.key"
	b := servertest.Start(t, cfg2)
	rc := newReceiver(t)
	a.Callbacks.HTTPClient, b.Callbacks.HTTPClient = rc.srv.Client(), rc.srv.Client()
	app := a.App(t, "acme", "chat", tenant.Settings{})
	tok := a.AppToken(t, app)
	for _, u := range []string{"alice", "bob"} {
		a.Do(t, "POST", "/acme/chat/users", tok, map[string]string{"username": u, "password": "pw"})
	}
	if r := a.Do(t, "POST", "/acme/chat/callbacks", tok, map[string]any{"name": "all", "url": rc.srv.URL, "secret": testSecret,
		"events": []string{"chat"}}); r.Status != 200 {
		t.Fatalf("rule: %s", r.Raw)
	}
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			node := a
			if i%2 == 1 {
				node = b
			}
			if r := node.Do(t, "POST", "/acme/chat/messages/users", tok, map[string]any{"from": "alice", "to": []string{"bob"},
				"type": "txt", "body": map[string]string{"msg": fmt.Sprint(i)}}); r.Status != 200 {
				t.Errorf("send: %s", r.Raw)
			}
		}()
	}
	wg.Wait()
	waitFor(t, 20*time.Second, "every event", func() bool { return len(rc.events("chat")) >= n })
	time.Sleep(time.Second)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	seen := map[string]int{}
	for _, ev := range rc.accepted {
		seen[fmt.Sprint(ev["id"])]++
	}
	if len(seen) != n || len(rc.accepted) != n || rc.badSigs != 0 {
		t.Fatalf("%d events, %d deliveries, %d bad signatures", len(seen), len(rc.accepted), rc.badSigs)
	}
}
