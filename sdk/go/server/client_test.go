package parleyserver

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyim/parley/protocol"
)

// fake is a scripted API: token answers and per-path handlers.
type fake struct {
	t         *testing.T
	srv       *httptest.Server
	tokens    atomic.Int32 // tokens issued
	expiresIn int64
	mu        sync.Mutex
	handlers  map[string]http.HandlerFunc // "METHOD /path" (after /o/a)
	valid     map[string]bool             // tokens the fake accepts
}

func newFake(t *testing.T) *fake {
	f := &fake{t: t, handlers: map[string]http.HandlerFunc{}, valid: map[string]bool{}, expiresIn: 3600}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	path := strings.TrimPrefix(r.URL.Path, "/o/a")
	if r.Method == "POST" && path == "/token" {
		var b tokenRequest
		json.NewDecoder(r.Body).Decode(&b)
		if b.ClientID != "id" || b.ClientSecret != "secret" {
			writeErr(w, 400, "invalid_grant", "client_secret does not match", protocol.ErrInvalidGrant.ID)
			return
		}
		n := f.tokens.Add(1)
		tok := "tok" + string(rune('0'+n))
		f.mu.Lock()
		f.valid[tok] = true
		f.mu.Unlock()
		json.NewEncoder(w).Encode(Token{AccessToken: tok, ExpiresIn: f.expiresIn, Application: "uuid"})
		return
	}
	f.mu.Lock()
	ok := f.valid[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	h := f.handlers[r.Method+" "+path]
	f.mu.Unlock()
	if !ok {
		writeErr(w, 401, "unauthorized", "Unable to authenticate due to expired access token", protocol.ErrUnauthorized.ID)
		return
	}
	if h == nil {
		writeErr(w, 404, "not_found", "no API path "+r.URL.Path, protocol.ErrNotFound.ID)
		return
	}
	h(w, r)
}

func (f *fake) handle(pattern string, h http.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.handlers[pattern] = h
}

func (f *fake) revokeAll() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.valid = map[string]bool{}
}

func writeErr(w http.ResponseWriter, status int, typ, desc, code string) {
	w.Header().Set("X-Request-Id", "req-1")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(protocol.ErrorBody{Error: typ, Exception: "E", ErrorDescription: desc, Code: code})
}

func writeData(w http.ResponseWriter, data any) {
	json.NewEncoder(w).Encode(map[string]any{"action": "get", "data": data, "timestamp": 1, "duration": 0})
}

func (f *fake) client(t *testing.T, mod ...func(*Config)) *Client {
	cfg := Config{BaseURLs: []string{f.srv.URL}, Org: "o", App: "a", ClientID: "id", ClientSecret: "secret",
		MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNew_Validation(t *testing.T) {
	ok := Config{BaseURLs: []string{"http://x"}, Org: "o", App: "a", ClientID: "i", ClientSecret: "s"}
	tests := []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"ok", func(*Config) {}, ""},
		{"no base URL", func(c *Config) { c.BaseURLs = nil }, "base URL"},
		{"bad base URL", func(c *Config) { c.BaseURLs = []string{"ftp://x"} }, "not an http(s) URL"},
		{"no org", func(c *Config) { c.Org = "" }, "org and app"},
		{"no secret", func(c *Config) { c.ClientSecret = "" }, "client_secret"},
		{"negative ttl", func(c *Config) { c.TokenTTL = -time.Second }, "TTL"},
		{"every problem at once", func(c *Config) { *c = Config{} }, "base URL is needed; org and app are needed; client_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.mod(&cfg)
			_, err := New(cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// TestClient_InputValidation: bad arguments are refused before any request.
func TestClient_InputValidation(t *testing.T) {
	f := newFake(t)
	c := f.client(t)
	ctx := context.Background()
	long := make([]string, 601)
	for i := range long {
		long[i] = "u"
	}
	txt := Message{Type: "txt", Body: map[string]string{"msg": "hi"}}
	tests := []struct {
		name string
		call func() error
		want string
	}{
		{"register without password", func() error { _, err := c.RegisterUser(ctx, NewUser{Username: "a"}); return err }, "password is empty"},
		{"batch of none", func() error { _, _, err := c.RegisterUsers(ctx, nil); return err }, "1..60"},
		{"get empty username", func() error { _, err := c.GetUser(ctx, " "); return err }, "username is empty"},
		{"delete oldest 0", func() error { _, err := c.DeleteOldestUsers(ctx, 0); return err }, "limit must be 1..100"},
		{"send without type", func() error {
			_, err := c.SendToUsers(ctx, UserMessage{To: []string{"b"}, Message: Message{Body: "x"}})
			return err
		}, "type is empty"},
		{"send to nobody", func() error { _, err := c.SendToUsers(ctx, UserMessage{Message: txt}); return err }, "to is empty"},
		{"send to 601", func() error { _, err := c.SendToUsers(ctx, UserMessage{Message: txt, To: long}); return err }, "at most 600"},
		{"idempotency key with two recipients", func() error {
			_, err := c.SendToUsers(ctx, UserMessage{Message: txt, To: []string{"a", "b"}, ClientMsgID: "k"})
			return err
		}, "exactly one recipient"},
		{"recall batch of 21", func() error { _, err := c.RecallMessages(ctx, make([]Recall, 21)); return err }, "1..20"},
		{"group send to 4", func() error {
			_, err := c.SendToGroups(ctx, GroupMessage{Message: txt, To: []string{"1", "2", "3", "4"}})
			return err
		}, "at most 3"},
		{"list kind", func() error { _, err := c.GroupList(ctx, "1", "grey"); return err }, "list kind"},
		{"mute for 0", func() error { _, err := c.MuteGroupMembers(ctx, "1", 0, "a"); return err }, "at least 1 ms"},
		{"presence status letters", func() error { return c.SetPresence(ctx, "a", "r", "busy", "") }, "digits"},
		{"presence expiry", func() error { _, err := c.SubscribePresence(ctx, "a", []string{"b"}, 0); return err }, "expiry"},
		{"notification chat type", func() error { _, err := c.Notification(ctx, "a", "room", "x"); return err }, "chat type"},
		{"upload without content", func() error { _, err := c.UploadFile(ctx, Upload{Name: "f"}); return err }, "content"},
		{"thumbnail too wide", func() error {
			_, err := c.UploadFile(ctx, Upload{Name: "f", Content: strings.NewReader("x"), ThumbnailWidth: 2000})
			return err
		}, "0..1024"},
		{"room without name", func() error { _, err := c.CreateRoom(ctx, NewRoom{Owner: "a"}); return err }, "room name"},
		{"super_admin as a room ID", func() error { _, _, err := c.RoomDetails(ctx, "super_admin"); return err }, "not a room ID"},
		{"room attributes 11", func() error {
			m := map[string]string{}
			for i := range 11 {
				m[string(rune('a'+i))] = "v"
			}
			_, err := c.SetRoomAttributes(ctx, "1", "a", m, false, false)
			return err
		}, "1..10"},
		{"broadcast level to users", func() error {
			_, err := c.BroadcastToUsers(ctx, Broadcast{Type: "txt", Level: "high"})
			return err
		}, "room broadcasts only"},
		{"rewrite without body", func() error { return c.RewriteMessage(ctx, "1", "txt", Rewrite{}) }, "new_msg"},
		{"quit without a user token", func() error { return c.QuitGroup(ctx, "", "1") }, "user token is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if !errors.Is(err, ErrInvalidArgument) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrInvalidArgument with %q", err, tt.want)
			}
		})
	}
	if n := f.tokens.Load(); n != 0 {
		t.Fatalf("%d tokens fetched: a refused call reached the server", n)
	}
}

func TestClient_TokenCachedAndShared(t *testing.T) {
	f := newFake(t)
	f.handle("GET /users/bob/status", func(w http.ResponseWriter, r *http.Request) { writeData(w, map[string]string{"bob": "online"}) })
	c := f.client(t)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if st, err := c.UserStatus(context.Background(), "bob"); err != nil || st != "online" {
				t.Errorf("status %q, %v", st, err)
			}
		}()
	}
	wg.Wait()
	if n := f.tokens.Load(); n != 1 {
		t.Fatalf("%d tokens fetched, want 1", n)
	}
}

func TestClient_TokenRefreshedBeforeExpiry(t *testing.T) {
	f := newFake(t)
	f.expiresIn = 1 // a tenth of it is the margin: the token is stale after 0.9 s
	f.handle("GET /users/bob/status", func(w http.ResponseWriter, r *http.Request) { writeData(w, map[string]string{"bob": "offline"}) })
	c := f.client(t)
	ctx := context.Background()
	if _, err := c.UserStatus(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(950 * time.Millisecond)
	if _, err := c.UserStatus(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if n := f.tokens.Load(); n != 2 {
		t.Fatalf("%d tokens fetched, want 2", n)
	}
}

func TestClient_TokenRefreshedOnceOn401(t *testing.T) {
	f := newFake(t)
	f.handle("GET /users/bob/status", func(w http.ResponseWriter, r *http.Request) { writeData(w, map[string]string{"bob": "offline"}) })
	c := f.client(t)
	ctx := context.Background()
	if _, err := c.UserStatus(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	f.revokeAll() // as when the secret is rotated
	if _, err := c.UserStatus(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	if n := f.tokens.Load(); n != 2 {
		t.Fatalf("%d tokens fetched, want 2", n)
	}
	// A 401 that survives the new token is returned, not looped on.
	f.handle("GET /users/eve/status", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, 401, "unauthorized", "nope", protocol.ErrUnauthorized.ID)
	})
	_, err := c.UserStatus(ctx, "eve")
	if !IsCode(err, protocol.ErrUnauthorized) {
		t.Fatalf("err = %v", err)
	}
	if n := f.tokens.Load(); n != 3 {
		t.Fatalf("%d tokens fetched, want 3", n)
	}
}

func TestClient_BadCredentials(t *testing.T) {
	f := newFake(t)
	c := f.client(t, func(c *Config) { c.ClientSecret = "wrong" })
	_, err := c.GetUser(context.Background(), "bob")
	var e *Error
	if !errors.As(err, &e) || e.Status != 400 || e.Type != "invalid_grant" || e.Code != protocol.ErrInvalidGrant.ID {
		t.Fatalf("err = %#v", err)
	}
}

// TestClient_Retry429 is the brief's unit test: 429 then 200, Retry-After
// honoured.
func TestClient_Retry429(t *testing.T) {
	f := newFake(t)
	var calls atomic.Int32
	var first time.Time
	f.handle("GET /users/bob", func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			writeErr(w, 429, "too_many_requests", "slow down", protocol.ErrRateLimited.ID)
			return
		}
		if d := time.Since(first); d < 900*time.Millisecond {
			t.Errorf("retried after %v, before Retry-After", d)
		}
		json.NewEncoder(w).Encode(map[string]any{"entities": []User{{Username: "bob", Activated: true}}})
	})
	u, err := f.client(t).GetUser(context.Background(), "bob")
	if err != nil || u.Username != "bob" || calls.Load() != 2 {
		t.Fatalf("user %+v, err %v, %d calls", u, err, calls.Load())
	}
}

func TestClient_Retry5xxAndGiveUp(t *testing.T) {
	f := newFake(t)
	var calls atomic.Int32
	f.handle("GET /users/bob", func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		writeErr(w, 503, "service_unavailable", "busy", protocol.ErrUnavailable.ID)
	})
	c := f.client(t, func(c *Config) { c.MaxRetries = 2 })
	_, err := c.GetUser(context.Background(), "bob")
	var e *Error
	if !errors.As(err, &e) || e.Status != 503 || e.RequestID != "req-1" || calls.Load() != 3 {
		t.Fatalf("err %v, %d calls (want 3)", err, calls.Load())
	}
}

func TestClient_PostRetriedOnlyWithIdempotencyKey(t *testing.T) {
	f := newFake(t)
	var calls atomic.Int32
	f.handle("POST /messages/users", func(w http.ResponseWriter, r *http.Request) {
		var b map[string]any
		json.NewDecoder(r.Body).Decode(&b)
		if calls.Add(1)%2 == 1 {
			writeErr(w, 503, "service_unavailable", "busy", protocol.ErrUnavailable.ID)
			return
		}
		writeData(w, map[string]string{"bob": "m1"})
	})
	c := f.client(t)
	ctx := context.Background()
	m := UserMessage{Message: Message{Type: "txt", Body: map[string]string{"msg": "hi"}}, To: []string{"bob"}}
	if _, err := c.SendToUsers(ctx, m); err == nil || calls.Load() != 1 {
		t.Fatalf("a send without a key: err %v after %d calls, want one failed call", err, calls.Load())
	}
	calls.Store(0)
	m.ClientMsgID = "k1"
	res, err := c.SendToUsers(ctx, m)
	if err != nil || res.IDs["bob"] != "m1" || calls.Load() != 2 {
		t.Fatalf("a send with a key: %+v, %v after %d calls", res, err, calls.Load())
	}
}

func TestClient_ErrorMapping(t *testing.T) {
	f := newFake(t)
	f.handle("GET /chatgroups/9", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, 404, "resource_not_found", "group 9 not found", protocol.ErrGroupNotFound.ID)
	})
	_, _, err := f.client(t).GroupDetails(context.Background(), "9")
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v", err)
	}
	if e.Status != 404 || e.Type != "resource_not_found" || e.Description != "group 9 not found" ||
		e.Code != protocol.ErrGroupNotFound.ID || e.Exception != "E" || e.RequestID != "req-1" {
		t.Fatalf("error %+v", e)
	}
	if !IsCode(err, protocol.ErrGroupNotFound) || !errors.Is(err, &Error{Code: protocol.ErrGroupNotFound.ID}) {
		t.Fatal("IsCode / errors.Is do not match")
	}
	if !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), "group 9 not found") {
		t.Fatalf("message %q", err.Error())
	}
}

func TestClient_NonJSONError(t *testing.T) {
	f := newFake(t)
	f.handle("GET /users/bob", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(418)
		io.WriteString(w, "teapot")
	})
	_, err := f.client(t).GetUser(context.Background(), "bob")
	var e *Error
	if !errors.As(err, &e) || e.Status != 418 || e.Description != "teapot" {
		t.Fatalf("err = %#v", err)
	}
}

func TestClient_RotatesBaseURLs(t *testing.T) {
	f := newFake(t)
	f.handle("GET /users/bob/status", func(w http.ResponseWriter, r *http.Request) { writeData(w, map[string]string{"bob": "online"}) })
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close() // connection refused
	c := f.client(t, func(c *Config) { c.BaseURLs = []string{dead.URL, f.srv.URL} })
	// The token request is a retried POST: it moves on to the live server.
	if st, err := c.UserStatus(context.Background(), "bob"); err != nil || st != "online" {
		t.Fatalf("%q, %v", st, err)
	}
}

func TestClient_ContextCancelsBackoff(t *testing.T) {
	f := newFake(t)
	f.handle("GET /users/bob", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		writeErr(w, 429, "too_many_requests", "slow down", protocol.ErrRateLimited.ID)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := f.client(t).GetUser(ctx, "bob")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Fatalf("err %v after %v", err, time.Since(start))
	}
}

func TestClient_RetryAfterBeyondLimitReturned(t *testing.T) {
	f := newFake(t)
	f.handle("GET /users/bob", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		writeErr(w, 429, "too_many_requests", "slow down", protocol.ErrRateLimited.ID)
	})
	_, err := f.client(t).GetUser(context.Background(), "bob")
	var e *Error
	if !errors.As(err, &e) || e.Status != 429 || e.RetryAfter != time.Hour {
		t.Fatalf("err = %v", err)
	}
}

func TestClient_PathEscaping(t *testing.T) {
	f := newFake(t)
	var got string
	f.handle("DELETE /chatgroups/7/users/a,b c", func(w http.ResponseWriter, r *http.Request) {
		got = r.URL.EscapedPath()
		writeData(w, []MemberResult{{Result: true, User: "a"}})
	})
	if _, err := f.client(t).RemoveGroupMembers(context.Background(), "7", "a", "b c"); err != nil {
		t.Fatal(err)
	}
	if got != "/o/a/chatgroups/7/users/a,b%20c" {
		t.Fatalf("path %q", got)
	}
}

// A call waiting for another's token fetch gives up with its context.
func TestClient_TokenWaitHonoursContext(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-release
		json.NewEncoder(w).Encode(Token{AccessToken: "t", ExpiresIn: 60})
	}))
	defer srv.Close()
	defer close(release)
	c, err := New(Config{BaseURLs: []string{srv.URL}, Org: "o", App: "a", ClientID: "id", ClientSecret: "s"})
	if err != nil {
		t.Fatal(err)
	}
	go c.AppToken(context.Background()) // holds the fetch
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := c.AppToken(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}
