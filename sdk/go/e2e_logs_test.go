package parley_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/cli"
	"github.com/parleyim/parley/internal/console"
	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
	parley "github.com/parleyim/parley/sdk/go"
)

// A whole session against a server logging at debug level: users with a
// known password, app and user tokens, messages over REST and WebSocket,
// an upload, a console sign-in, push credentials with a device token
// (pushes sent), a callback secret (events delivered). The log then holds
// none of the passwords, tokens, cookies, secrets, push material or
// message texts.
func TestE2ELogs_NoSecrets(t *testing.T) {
	s := servertest.StartBackend(t, "sqlite") // a server of its own: its log is this test's only
	stamp := time.Now().UnixNano()
	mark := func(what string) string { return fmt.Sprintf("%s-%d-x9Q", what, stamp) }
	secrets := map[string]string{} // what -> value that must not be logged
	keep := func(what, v string) string {
		if v == "" {
			t.Fatalf("%s is empty", what)
		}
		secrets[what] = v
		return v
	}
	pw := keep("user password", mark("user-password"))
	keep("console owner password", servertest.OwnerPassword)

	// Receivers of pushes and callbacks; each fails its first request, so
	// the retry paths log too.
	var pushes, events atomic.Int64
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		n := &events
		if strings.HasPrefix(r.URL.Path, "/push") {
			n = &pushes
		}
		if n.Add(1) == 1 {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(200)
	}))
	defer hooks.Close()

	created := s.App(t, "acme", "logs", tenant.Settings{})
	keep("client secret", created.ClientSecret)
	a := &app{s: s, org: "acme", name: "logs"}
	a.token = keep("app token", s.AppToken(t, created))
	rest := func(method, path, token string, body any) *servertest.Response {
		t.Helper()
		r := s.Do(t, method, a.path(path), token, body)
		if r.Status != 200 {
			t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Raw)
		}
		return r
	}
	rest("POST", "/users", a.token, []map[string]string{{"username": "alice", "password": pw}, {"username": "bob", "password": pw}})
	bobToken := keep("bob's token", rest("POST", "/token", "", map[string]string{"grant_type": "password",
		"username": "bob", "password": pw}).Str("access_token"))

	rest("PUT", "/push/notifiers/hook", a.token, map[string]any{"provider": "webhook", "url": hooks.URL + "/push",
		"secret": keep("push webhook secret", mark("push-secret"))})
	rest("PUT", "/users/bob/push/binding", bobToken, map[string]string{"device_id": "phone", "notifier_name": "hook",
		"device_token": keep("device token", mark("device-token"))})
	rest("POST", "/callbacks", a.token, map[string]any{"name": "events", "url": hooks.URL + "/events",
		"secret": keep("callback secret", mark("callback-secret")), "events": []string{"chat", "login", "logout"}})

	// Messages: alice over WebSocket (bob is offline: pushed), the app
	// over REST, and an upload.
	cfg := a.config(t, "alice", "a1")
	cfg.Password = pw
	alice, _ := dial(t, cfg)
	ctx := ctxT(t)
	if _, err := alice.SendText(ctx, "bob", keep("WebSocket message", mark("ws-body"))); err != nil {
		t.Fatal(err)
	}
	rest("POST", "/messages/users", a.token, map[string]any{"from": "alice", "to": []string{"bob"}, "type": "txt",
		"body": map[string]string{"msg": keep("REST message", mark("rest-body"))}})
	f, err := alice.Upload(ctx, bytes.NewReader([]byte(keep("file contents", mark("file-body")))), parley.UploadOptions{Filename: "n.txt"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.SendFile(ctx, "bob", f); err != nil {
		t.Fatal(err)
	}
	// Refused credentials are not logged either.
	for _, body := range []map[string]string{
		{"grant_type": "password", "username": "bob", "password": keep("wrong password", mark("wrong-password"))},
		{"grant_type": "client_credentials", "client_id": created.ClientID, "client_secret": keep("wrong client secret", mark("wrong-secret"))},
	} {
		if r := s.Do(t, "POST", a.path("/token"), "", body); r.Status == 200 {
			t.Fatalf("wrong credentials accepted: %v", body)
		}
	}
	if r := s.Do(t, "GET", a.path("/users/bob"), keep("forged token", mark("forged-token")), nil); r.Status != 401 {
		t.Fatalf("a forged token: %d %s", r.Status, r.Raw)
	}

	// The console: sign in, read, sign out.
	body, _ := json.Marshal(map[string]string{"username": "owner", "password": servertest.OwnerPassword})
	res, err := http.Post(s.URL+console.APIPrefix+"session", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var session struct {
		CSRF string `json:"csrf"`
	}
	json.NewDecoder(res.Body).Decode(&session)
	res.Body.Close()
	keep("CSRF token", session.CSRF)
	var cookie *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == console.CookieName {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatalf("no console cookie: %d", res.StatusCode)
	}
	keep("console session cookie", cookie.Value)
	for _, m := range []string{"GET", "DELETE"} {
		req, _ := http.NewRequest(m, s.URL+console.APIPrefix+"session", nil)
		req.AddCookie(cookie)
		req.Header.Set(console.CSRFHeader, session.CSRF)
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("console %s session: %v %v", m, err, res)
		}
		res.Body.Close()
	}

	waitUntil(t, "pushes and callback events (after a failed attempt each)", func() bool { return pushes.Load() >= 3 && events.Load() >= 3 })
	alice.Close()
	time.Sleep(100 * time.Millisecond) // the logout's log lines

	// servertest logs at debug level into s.Log: make sure the capture
	// saw the session (else the check below would prove nothing).
	logs := s.Log.String()
	for _, want := range []string{`"path":"/acme/logs/token"`, `"path":"/console/api/session"`, `"path":"/acme/logs/chatfiles"`,
		`"path":"/acme/logs/push/notifiers/hook"`, `"path":"/acme/logs/callbacks"`} {
		if !strings.Contains(logs, want) {
			t.Fatalf("the log lacks %s: the check below would prove nothing:\n%s", want, logs)
		}
	}
	for what, v := range secrets {
		for _, line := range strings.Split(logs, "\n") {
			if strings.Contains(line, v) {
				t.Errorf("the log holds the %s: %s", what, line)
			}
		}
	}
}

// A server that cannot reach its database says so without the password of
// the database URL.
func TestLogs_DatabaseURLPassword(t *testing.T) {
	secret := fmt.Sprintf("db-password-%d", time.Now().UnixNano())
	var out, errOut bytes.Buffer
	code := cli.Main([]string{"serve", "--listen", "127.0.0.1:0", "--data", t.TempDir(),
		"--db", "postgres://parley:" + secret + "@127.0.0.1:1/parley?sslmode=disable&connect_timeout=2"},
		&out, &errOut, func(string) string { return "" })
	if code == 0 {
		t.Fatal("serve without a database succeeded")
	}
	if !strings.Contains(errOut.String(), "postgres") {
		t.Fatalf("no error about the database: %q", errOut.String())
	}
	if strings.Contains(out.String()+errOut.String(), secret) {
		t.Fatalf("the output holds the database password: %s", errOut.String())
	}
}
