package ws_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/internal/transport/ws"
	"github.com/parleyim/parley/protocol"
)

type env struct {
	s     *servertest.Server
	app   *tenant.Created
	admin string
}

func setup(t *testing.T, set tenant.Settings, users ...string) *env {
	t.Helper()
	return setupWith(t, nil, set, users...)
}

// setupWith is setup with a change to the server's configuration (after the
// tests' small send queue of 16 frames, which makes slow consumers quick to
// show).
func setupWith(t *testing.T, change func(*config.Config), set tenant.Settings, users ...string) *env {
	t.Helper()
	cfg := servertest.Config(t, "sqlite")
	cfg.WS.SendQueue = 16
	if change != nil {
		change(&cfg)
	}
	s := servertest.Start(t, cfg)
	app := s.App(t, "acme", "chat", set)
	e := &env{s: s, app: app, admin: s.AppToken(t, app)}
	for _, u := range users {
		if r := s.Do(t, "POST", "/acme/chat/users", e.admin, map[string]string{"username": u, "password": "pw"}); r.Status != 200 {
			t.Fatalf("register %s: %s", u, r.Raw)
		}
	}
	return e
}

func (e *env) token(t *testing.T, user string) string {
	r := e.s.Do(t, "POST", "/acme/chat/token", "", map[string]string{"grant_type": "password", "username": user, "password": "pw"})
	if r.Status != 200 {
		t.Fatalf("token: %s", r.Raw)
	}
	return r.Str("access_token")
}

type client struct {
	t    *testing.T
	conn *websocket.Conn
	n    int
}

func (e *env) dial(t *testing.T) *client {
	t.Helper()
	url := "ws" + strings.TrimPrefix(e.s.URL, "http") + "/ws?v=1"
	conn, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &client{t: t, conn: conn}
}

// login dials and authenticates as user on resource.
func (e *env) login(t *testing.T, user, resource string) *client {
	c := e.dial(t)
	c.send(map[string]any{"t": "auth", "id": "a", "token": e.token(t, user), "resource": resource, "platform": "test"})
	if f := c.next("auth_ok"); f["user"] != user {
		t.Fatalf("auth_ok: %v", f)
	}
	return c
}

func (c *client) send(v any) {
	c.t.Helper()
	b, _ := json.Marshal(v)
	if err := c.conn.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) raw(s string) {
	c.t.Helper()
	if err := c.conn.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

// next reads frames until one of kind t (others are skipped).
func (c *client) next(kind string) map[string]any {
	c.t.Helper()
	for {
		c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, b, err := c.conn.ReadMessage()
		if err != nil {
			c.t.Fatalf("waiting for %s: %v", kind, err)
		}
		var m map[string]any
		json.Unmarshal(b, &m)
		if m["t"] == kind {
			return m
		}
	}
}

// closed reads until the connection closes and returns the close code.
func (c *client) closed() int {
	c.t.Helper()
	for {
		c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _, err := c.conn.ReadMessage()
		if err != nil {
			if ce, ok := err.(*websocket.CloseError); ok {
				return ce.Code
			}
			c.t.Fatalf("no close frame: %v", err)
		}
	}
}

func (c *client) request(v map[string]any) map[string]any {
	c.t.Helper()
	c.n++
	id := fmt.Sprint("r", c.n)
	v["id"] = id
	c.send(v)
	for {
		c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, b, err := c.conn.ReadMessage()
		if err != nil {
			c.t.Fatalf("waiting for reply %s: %v", id, err)
		}
		var m map[string]any
		json.Unmarshal(b, &m)
		if m["id"] == id {
			return m
		}
	}
}

func text(to, cmid, msg string) map[string]any {
	return map[string]any{"t": "send", "to": to, "type": "txt", "body": map[string]string{"msg": msg}, "client_msg_id": cmid}
}

func TestWS_SendDeliverReceipts(t *testing.T) {
	e := setup(t, tenant.Settings{}, "alice", "bob")
	a1 := e.login(t, "alice", "web_1")
	a2 := e.login(t, "alice", "web_2")
	b := e.login(t, "bob", "phone")

	ack := a1.request(text("bob", "c1", "hello"))
	if ack["t"] != "ack" || ack["seq"] != float64(1) || ack["msg_id"] == "" {
		t.Fatalf("ack: %v", ack)
	}
	for _, c := range []*client{b, a2} {
		it := c.next("item")["item"].(map[string]any)
		if it["msg_id"] != ack["msg_id"] || it["seq"] != float64(1) || it["from"] != "alice" || it["to"] != "bob" {
			t.Fatalf("item: %v", it)
		}
	}
	conv := ack["conv_id"].(string)
	if r := b.request(map[string]any{"t": "delivered", "conv_id": conv, "seq": 1}); r["t"] != "ok" {
		t.Fatalf("delivered: %v", r)
	}
	if r := a1.next("receipt"); r["kind"] != "delivered" || r["by"] != "bob" {
		t.Fatalf("receipt: %v", r)
	}
	if r := b.request(map[string]any{"t": "read", "msg_id": ack["msg_id"]}); r["t"] != "ok" {
		t.Fatalf("read: %v", r)
	}
	for {
		r := a2.next("receipt")
		if r["kind"] == "read" {
			if r["seq"] != float64(1) || r["msg_id"] != ack["msg_id"] {
				t.Fatalf("read receipt: %v", r)
			}
			break
		}
	}
	// A retry with the same client_msg_id returns the first ack, stores nothing.
	again := a1.request(text("bob", "c1", "hello again"))
	if again["msg_id"] != ack["msg_id"] || again["duplicate"] != true {
		t.Fatalf("retry: %v", again)
	}
	pull := b.request(map[string]any{"t": "pull", "conv_id": conv})
	if items := pull["items"].([]any); len(items) != 1 {
		t.Fatalf("retry stored a message: %v", pull)
	}
}

func TestWS_OfflineSync(t *testing.T) {
	e := setup(t, tenant.Settings{}, "alice", "bob")
	a := e.login(t, "alice", "web_1")
	var conv string
	for i := range 5 {
		ack := a.request(text("bob", fmt.Sprint("m", i), fmt.Sprint("msg ", i)))
		conv = ack["conv_id"].(string)
	}
	b := e.login(t, "bob", "phone")
	res := b.request(map[string]any{"t": "sync", "since": "0", "latest": 3})
	convs := res["conversations"].([]any)
	if len(convs) != 1 || res["more"] != false || res["next"] == "" {
		t.Fatalf("sync: %v", res)
	}
	c := convs[0].(map[string]any)
	if c["peer"] != "alice" || c["unread"] != float64(5) || c["last_seq"] != float64(5) || len(c["recent"].([]any)) != 3 {
		t.Fatalf("conversation: %v", c)
	}
	pull := b.request(map[string]any{"t": "pull", "conv_id": conv, "after_seq": 2, "limit": 2})
	if items := pull["items"].([]any); len(items) != 2 || pull["more"] != true || items[0].(map[string]any)["seq"] != float64(3) {
		t.Fatalf("pull: %v", pull)
	}
	// An incremental sync from the cursor returns the conversation again once it changes.
	next := res["next"].(string)
	a.request(text("bob", "m9", "later"))
	res = b.request(map[string]any{"t": "sync", "since": next})
	if convs := res["conversations"].([]any); len(convs) != 1 || convs[0].(map[string]any)["last_seq"] != float64(6) {
		t.Fatalf("incremental sync: %v", res)
	}
	hist := b.request(map[string]any{"t": "history", "conv_id": conv, "limit": 2})
	if items := hist["items"].([]any); len(items) != 2 || items[1].(map[string]any)["seq"] != float64(6) {
		t.Fatalf("history: %v", hist)
	}
}

func TestWS_BadInput(t *testing.T) {
	e := setup(t, tenant.Settings{}, "alice", "bob")
	a := e.login(t, "alice", "web_1")
	tests := []struct {
		name, frame, code string
	}{
		{"not json", `nope`, "bad_frame"},
		{"unknown kind", `{"t":"teleport","id":"x"}`, "unknown_frame"},
		{"second auth", `{"t":"auth","id":"x","token":"t"}`, "not_authenticated"},
		{"missing field", `{"t":"send","id":"x","to":"bob","type":"txt"}`, "bad_frame"},
		{"unknown recipient", `{"t":"send","id":"x","to":"nobody","type":"txt","body":{"msg":"x"},"client_msg_id":"c"}`, "user_not_found"},
		{"to self", `{"t":"send","id":"x","to":"alice","type":"txt","body":{"msg":"x"},"client_msg_id":"c"}`, "illegal_argument"},
		{"bad type", `{"t":"send","id":"x","to":"bob","type":"hologram","body":{},"client_msg_id":"c"}`, "illegal_argument"},
		{"txt without msg", `{"t":"send","id":"x","to":"bob","type":"txt","body":{},"client_msg_id":"c"}`, "illegal_argument"},
		{"body not object", `{"t":"send","id":"x","to":"bob","type":"txt","body":"hi","client_msg_id":"c"}`, "illegal_argument"},
		{"too large", `{"t":"send","id":"x","to":"bob","type":"txt","body":{"msg":"` + strings.Repeat("a", 6000) + `"},"client_msg_id":"c"}`, "message_too_large"},
		{"bad custom event", `{"t":"send","id":"x","to":"bob","type":"custom","body":{"customEvent":"no spaces"},"client_msg_id":"c"}`, "illegal_argument"},
		{"unknown conversation", `{"t":"pull","id":"x","conv_id":"999"}`, "conversation_not_found"},
		{"bad conv id", `{"t":"pull","id":"x","conv_id":"abc"}`, "illegal_argument"},
		{"recall unknown", `{"t":"recall","id":"x","msg_id":"12345"}`, "message_not_found"},
		{"bad sync cursor", `{"t":"sync","id":"x","since":"zz"}`, "illegal_argument"},
		{"bad limit", `{"t":"history","id":"x","conv_id":"1","limit":1000}`, "conversation_not_found"},
		{"bad direction", `{"t":"history","id":"x","conv_id":"1","direction":"sideways"}`, "illegal_argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a.t = t
			a.raw(tc.frame)
			f := a.next("error")
			if f["code"] != tc.code {
				t.Fatalf("got %v, want %s", f, tc.code)
			}
		})
	}
	a.t = t
	// The connection is still usable and nothing was stored.
	if r := a.request(map[string]any{"t": "ping"}); r["t"] != "pong" {
		t.Fatalf("ping after errors: %v", r)
	}
	if r := a.request(map[string]any{"t": "conversations"}); len(r["conversations"].([]any)) != 0 {
		t.Fatalf("bad input stored something: %v", r)
	}
	// A binary frame is refused too.
	a.conn.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3})
	if f := a.next("error"); f["code"] != "bad_frame" {
		t.Fatalf("binary: %v", f)
	}
	// A frame over 64 KiB closes the connection with 1009. The server may
	// close while the client is still writing, in which case the reset
	// hides the close frame; either way the connection must end.
	a.conn.WriteMessage(websocket.TextMessage, []byte(`{"t":"ping","id":"`+strings.Repeat("x", 70000)+`"}`))
	for {
		a.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, _, err := a.conn.ReadMessage()
		if err == nil {
			continue
		}
		if ce, ok := err.(*websocket.CloseError); ok && ce.Code != websocket.CloseMessageTooBig {
			t.Fatalf("close code %d, want 1009", ce.Code)
		}
		if ne, ok := err.(interface{ Timeout() bool }); ok && ne.Timeout() {
			t.Fatal("connection not closed after an oversized frame")
		}
		break
	}
}

func TestWS_AuthFailures(t *testing.T) {
	e := setup(t, tenant.Settings{}, "alice")
	tests := []struct {
		name  string
		frame string
		code  int
	}{
		{"garbage token", `{"t":"auth","token":"P1.bad.bad"}`, protocol.CloseAuthFailed},
		{"not auth first", `{"t":"ping"}`, protocol.CloseAuthFailed},
		{"app token", `{"t":"auth","token":"` + e.admin + `"}`, protocol.CloseAuthFailed},
		{"bad resource", `{"t":"auth","token":"` + e.token(t, "alice") + `","resource":"no spaces"}`, protocol.CloseAuthFailed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dial(t)
			c.raw(tc.frame)
			c.next("error")
			if code := c.closed(); code != tc.code {
				t.Fatalf("close %d, want %d", code, tc.code)
			}
		})
	}
	// Another protocol version: closed with 4003, which tells clients not
	// to reconnect.
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(e.s.URL, "http")+"/ws?v=2", nil)
	if err != nil {
		t.Fatal(err)
	}
	if code := (&client{t: t, conn: conn}).closed(); code != protocol.CloseBadProtocol {
		t.Fatalf("v=2: close %d, want 4003", code)
	}
	conn.Close()
	// A request that is not a WebSocket handshake is answered in the API's
	// error shape.
	r := servertest.Call(t, e.s.URL, "GET", "/ws", "", nil)
	if r.Status != 400 || r.Str("code") != protocol.ErrIllegalArgument.ID || r.Str("error_description") == "" {
		t.Fatalf("GET /ws without a handshake: %d %s", r.Status, r.Raw)
	}
}

func TestWS_AuthTimeout(t *testing.T) {
	cfg := servertest.Config(t, "sqlite")
	cfg.WS.AuthTimeout = 1_000_000_000
	s := servertest.Start(t, cfg)
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c := &client{t: t, conn: conn}
	if code := c.closed(); code != protocol.CloseAuthTimeout {
		t.Fatalf("close %d, want 4002", code)
	}
}

func TestWS_DeviceLimits(t *testing.T) {
	e := setup(t, tenant.Settings{MaxDevices: 2}, "alice")
	d1 := e.login(t, "alice", "d1")
	e.login(t, "alice", "d2")
	e.login(t, "alice", "d3") // pushes d1 out
	if k := d1.next("kicked"); k["code"] != float64(protocol.CloseTooMany) {
		t.Fatalf("kicked: %v", k)
	}
	if code := d1.closed(); code != protocol.CloseTooMany {
		t.Fatalf("oldest device close %d", code)
	}
	d3b := e.login(t, "alice", "d3") // same resource replaces the old one
	_ = d3b
	r := e.s.Do(t, "GET", "/acme/chat/users/alice/resources", e.admin, nil)
	if data := r.Body["data"].([]any); len(data) != 2 {
		t.Fatalf("resources: %s", r.Raw)
	}

	rej := setup(t, tenant.Settings{MaxDevices: 1, DeviceOverflow: tenant.OverflowReject}, "bob")
	rej.login(t, "bob", "first")
	c := rej.dial(t)
	c.send(map[string]any{"t": "auth", "token": rej.token(t, "bob"), "resource": "second"})
	if f := c.next("error"); f["code"] != "too_many_devices" {
		t.Fatalf("reject: %v", f)
	}
	if code := c.closed(); code != protocol.CloseTooMany {
		t.Fatalf("reject close %d", code)
	}
}

func TestWS_KickAndPresence(t *testing.T) {
	e := setup(t, tenant.Settings{}, "alice", "bob")
	a := e.login(t, "alice", "web_1")
	r := e.s.Do(t, "POST", "/acme/chat/users/batch/status", e.admin, map[string]any{"usernames": []string{"alice", "bob", "ghost"}})
	if fmt.Sprint(r.Body["data"]) != "[map[alice:online] map[bob:offline] map[ghost:offline]]" {
		t.Fatalf("batch status: %s", r.Raw)
	}
	r = e.s.Do(t, "GET", "/acme/chat/users/alice/disconnect", e.admin, nil)
	if r.Status != 200 {
		t.Fatalf("disconnect: %s", r.Raw)
	}
	if k := a.next("kicked"); k["code"] != float64(protocol.CloseKicked) {
		t.Fatalf("kicked: %v", k)
	}
	if code := a.closed(); code != protocol.CloseKicked {
		t.Fatalf("close %d", code)
	}
	// Deactivation closes the user's connections too.
	b := e.login(t, "bob", "phone")
	e.s.Do(t, "POST", "/acme/chat/users/bob/deactivate", e.admin, nil)
	if code := b.closed(); code != protocol.CloseKicked {
		t.Fatalf("deactivated close %d", code)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		r = e.s.Do(t, "GET", "/acme/chat/users/alice/status", e.admin, nil)
		if fmt.Sprint(r.Body["data"]) == "map[alice:offline]" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("status after kick: %s", r.Raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestWS_SlowConsumer(t *testing.T) {
	e := setup(t, tenant.Settings{}, "alice", "bob")
	slow := e.login(t, "bob", "slow") // never reads
	big := strings.Repeat("x", 4000)
	// Send through REST so the sender is not slowed by its own socket. Once
	// the socket buffers are full, the queue (16 frames here) overflows.
	for i := range 3000 {
		r := e.s.Do(t, "POST", "/acme/chat/messages/users", e.admin, map[string]any{
			"from": "alice", "to": []string{"bob"}, "type": "txt", "body": map[string]string{"msg": big}})
		if r.Status != 200 {
			t.Fatalf("send %d: %s", i, r.Raw)
		}
		if i%100 == 99 {
			m := e.s.Do(t, "GET", "/metrics", "", nil)
			if strings.Contains(string(m.Raw), `parley_ws_closes_total{code="4008"} 1`) {
				break
			}
		}
	}
	if code := slow.closed(); code != protocol.CloseSlowConsumer {
		t.Fatalf("close %d, want 4008", code)
	}
}

func TestWS_TokenExpiryEndsSession(t *testing.T) {
	e := setup(t, tenant.Settings{}, "alice")
	r := e.s.Do(t, "POST", "/acme/chat/token", "", map[string]any{"grant_type": "password", "username": "alice", "password": "pw", "ttl": 2})
	c := e.dial(t)
	c.send(map[string]any{"t": "auth", "token": r.Str("access_token"), "resource": "r1"})
	c.next("auth_ok")
	if k := c.next("kicked"); k["code"] != float64(protocol.CloseAuthFailed) {
		t.Fatalf("kicked: %v", k)
	}
	if code := c.closed(); code != protocol.CloseAuthFailed {
		t.Fatalf("close %d, want 4001", code)
	}
}

// TestWS_PipelinedSends: a client sends without waiting for acks. Messages
// are stored in the order sent (per conversation), each send is acked once,
// an immediate retry is a duplicate, and a later request's reply comes after
// the acks of the sends before it.
func TestWS_PipelinedSends(t *testing.T) {
	// The default send queue: one commit may hold many of the pipelined
	// sends, and announces their items to bob at once — more than 16 when
	// the machine is busy, which would close bob as a slow consumer.
	e := setupWith(t, func(c *config.Config) { c.WS.SendQueue = config.Default().WS.SendQueue }, tenant.Settings{}, "alice", "bob", "carol")
	alice := e.login(t, "alice", "phone")
	bob := e.login(t, "bob", "phone")
	const n = 200
	frames := make(chan map[string]any, 4*n)
	go func() {
		for {
			alice.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			_, b, err := alice.conn.ReadMessage()
			if err != nil {
				t.Logf("read: %v", err)
				close(frames)
				return
			}
			var m map[string]any
			json.Unmarshal(b, &m)
			frames <- m
		}
	}()
	for i := range n {
		to := []string{"bob", "carol"}[i%2]
		f := text(to, fmt.Sprint("c", i), fmt.Sprint("m", i))
		f["id"] = fmt.Sprint("s", i)
		alice.send(f)
		if i == 10 {
			f["id"] = "retry"
			alice.send(f)
		}
	}
	alice.send(map[string]any{"t": "conversations", "id": "list"})
	acks := map[string]map[string]any{}
	for f := range frames {
		if f["t"] == "conversations" || f["id"] == "list" {
			if len(acks) != n+1 {
				t.Fatalf("reply to a later request after %d of %d acks", len(acks), n+1)
			}
			break
		}
		if f["t"] == "error" {
			t.Fatalf("error frame: %v", f)
		}
		if f["t"] == "ack" {
			if acks[f["id"].(string)] != nil {
				t.Fatalf("ack %v twice", f["id"])
			}
			acks[f["id"].(string)] = f
		}
	}
	if len(acks) != n+1 {
		t.Fatalf("%d acks, want %d", len(acks), n+1)
	}
	if r, o := acks["retry"], acks["s10"]; r["duplicate"] != true || r["msg_id"] != o["msg_id"] {
		t.Fatalf("retry %v, original %v", r, o)
	}
	last := map[any]float64{}
	for i := range n {
		a := acks[fmt.Sprint("s", i)]
		if seq := a["seq"].(float64); seq != last[a["conv_id"]]+1 {
			t.Fatalf("send %d got seq %v after %v: not in send order", i, seq, last[a["conv_id"]])
		}
		last[a["conv_id"]] = a["seq"].(float64)
	}
	for i := 0; i < n; i += 2 {
		it := bob.next("item")["item"].(map[string]any)
		if body := it["body"].(map[string]any); body["msg"] != fmt.Sprint("m", i) {
			t.Fatalf("bob got %v, want m%d", body["msg"], i)
		}
	}
}

// TestWS_MessageTypes: every message type, sent over the protocol and over
// REST, reaches the recipient's device with its body and ext intact.
func TestWS_MessageTypes(t *testing.T) {
	e := setup(t, tenant.Settings{}, "alice", "bob")
	alice := e.login(t, "alice", "phone")
	bob := e.login(t, "bob", "phone")
	bodies := []struct {
		typ  string
		body string
	}{
		{"txt", `{"msg":"你好 👋"}`},
		{"cmd", `{"action":"typing"}`},
		{"custom", `{"customEvent":"gift/rose","customExts":{"count":"3"},"x":[1,2]}`},
		{"img", `{"url":"https://cdn.example.com/cat.png","filename":"cat.png","secret":"s","size":{"width":640,"height":480},"file_length":12345}`},
		{"audio", `{"url":"https://cdn.example.com/v.amr","filename":"v.amr","length":12,"file_length":2048}`},
		{"video", `{"url":"https://cdn.example.com/v.mp4","thumb":"https://cdn.example.com/v.jpg","length":30,"file_length":1000000,"secret":"a","thumb_secret":"b"}`},
		{"file", `{"url":"https://cdn.example.com/r.pdf","filename":"report.pdf","file_length":777}`},
		{"loc", `{"lat":"39.9042","lng":116.4074,"addr":"Beijing","buildingName":"Forbidden City"}`},
		{"combine", `{"url":"https://cdn.example.com/c.bin","title":"History","summary":"a: hi\nb: hello","combineLevel":1,"subType":"sub_combine"}`},
	}
	ext := `{"em_push_ext":{"title":"t"},"em_ignore_notification":true,"mine":{"k":[1,"2"]}}`
	same := func(a, b string) bool {
		var x, y any
		json.Unmarshal([]byte(a), &x)
		json.Unmarshal([]byte(b), &y)
		return fmt.Sprint(x) == fmt.Sprint(y)
	}
	for _, via := range []string{"ws", "rest"} {
		for _, b := range bodies {
			t.Run(via+"/"+b.typ, func(t *testing.T) {
				if via == "ws" {
					r := alice.request(map[string]any{"t": "send", "to": "bob", "type": b.typ, "client_msg_id": "c-" + b.typ,
						"body": json.RawMessage(b.body), "ext": json.RawMessage(ext)})
					if r["t"] != "ack" {
						t.Fatalf("send: %v", r)
					}
				} else {
					r := e.s.Do(t, "POST", "/acme/chat/messages/users", e.admin, map[string]any{"from": "alice", "to": []string{"bob"},
						"type": b.typ, "body": json.RawMessage(b.body), "ext": json.RawMessage(ext)})
					if r.Status != 200 {
						t.Fatalf("send: %s", r.Raw)
					}
				}
				it := bob.next("item")["item"].(map[string]any)
				gotBody, _ := json.Marshal(it["body"])
				gotExt, _ := json.Marshal(it["ext"])
				if it["type"] != b.typ || !same(string(gotBody), b.body) || !same(string(gotExt), ext) {
					t.Fatalf("bob got %v %s %s", it["type"], gotBody, gotExt)
				}
			})
		}
	}
}

// A panic behind one frame answers that frame with an internal error and
// leaves the session, the node and its other connections running.
func TestSession_PanicIsAnInternalError(t *testing.T) {
	t.Cleanup(ws.SetFrameHook(func(req *protocol.Request) {
		if req.T == protocol.FrameBlocks {
			panic("injected")
		}
	}))
	e := setup(t, tenant.Settings{}, "alice", "bob")
	a := e.login(t, "alice", "r1")
	if r := a.request(map[string]any{"t": "blocks"}); r["t"] != "error" || r["code"] != protocol.ErrInternal.ID {
		t.Fatalf("blocks with a panic: %v", r)
	}
	if r := a.request(map[string]any{"t": "ping"}); r["t"] != "pong" {
		t.Fatalf("the session after the panic: %v", r)
	}
	b := e.login(t, "bob", "r1")
	if r := b.request(map[string]any{"t": "contacts"}); r["t"] != "contacts_result" {
		t.Fatalf("another connection after the panic: %v", r)
	}
	if !strings.Contains(e.s.Log.String(), "panic handling a frame") {
		t.Fatal("the panic was not logged")
	}
}
