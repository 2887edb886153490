package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleyim/parley/internal/console"
	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
)

func TestMain(m *testing.M) {
	console.StreamEvery = 100 * time.Millisecond
	os.Exit(m.Run())
}

const pw = "correct horse battery staple"

// client speaks to the console API like the browser does: a cookie jar,
// and the CSRF token on every change.
type client struct {
	t    testing.TB
	base string
	hc   *http.Client
	csrf string
	// hdr is sent with every request (Origin, Sec-Fetch-Site, Cookie...).
	hdr map[string]string
}

func newClient(t testing.TB, s *servertest.Server) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: s.URL, hc: &http.Client{Jar: jar}, hdr: map[string]string{}}
}

// do calls /console/api+path. body may be nil, a string (sent as is) or a
// value (sent as JSON).
func (c *client) do(method, path string, body any) *servertest.Response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.base+"/console/api"+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if method != "GET" && method != "HEAD" && c.csrf != "" {
		req.Header.Set(console.CSRFHeader, c.csrf)
	}
	for k, v := range c.hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := &servertest.Response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &r.Body); err != nil {
			c.t.Fatalf("%s %s: bad JSON %q: %v", method, path, raw, err)
		}
	}
	return r
}

// ok calls and fails the test unless the answer is 200.
func (c *client) ok(method, path string, body any) *servertest.Response {
	c.t.Helper()
	r := c.do(method, path, body)
	if r.Status != 200 {
		c.t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Raw)
	}
	return r
}

func (c *client) signIn(user, password string) *servertest.Response {
	c.t.Helper()
	r := c.do("POST", "/session", map[string]string{"username": user, "password": password})
	if r.Status == 200 {
		c.csrf = r.Str("csrf")
	}
	return r
}

func signedIn(t testing.TB, s *servertest.Server, user, password string) *client {
	t.Helper()
	c := newClient(t, s)
	if r := c.signIn(user, password); r.Status != 200 || c.csrf == "" {
		t.Fatalf("sign in %s: %d %s", user, r.Status, r.Raw)
	}
	return c
}

// expect checks the status and, for errors, the code and the REST error
// shape.
func expect(t testing.TB, r *servertest.Response, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Raw)
	}
	if code != "" {
		if r.Str("code") != code {
			t.Fatalf("code %q, want %q: %s", r.Str("code"), code, r.Raw)
		}
		for _, k := range []string{"error", "error_description", "exception", "timestamp"} {
			if _, ok := r.Body[k]; !ok {
				t.Fatalf("error body lacks %q: %s", k, r.Raw)
			}
		}
	}
}

func items(r *servertest.Response) []map[string]any {
	list, _ := r.Body["items"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, x := range list {
		m, _ := x.(map[string]any)
		out = append(out, m)
	}
	return out
}

func forEachBackend(t *testing.T, fn func(t *testing.T, s *servertest.Server)) {
	for _, b := range servertest.Backends {
		t.Run(b, func(t *testing.T) { fn(t, servertest.StartBackend(t, b)) })
	}
}

var ctx = context.Background()

func resolve(t testing.TB, s *servertest.Server, org, name string) *tenant.App {
	t.Helper()
	a, err := s.Apps.Resolve(ctx, org, name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// userToken gets a user token through the REST API.
func userToken(t testing.TB, s *servertest.Server, org, app, user, password string) *servertest.Response {
	t.Helper()
	return s.Do(t, "POST", "/"+org+"/"+app+"/token", "", map[string]string{"grant_type": "password", "username": user, "password": password})
}

// wsClient is a connected device.
type wsClient struct {
	t    testing.TB
	conn *websocket.Conn
}

func connect(t testing.TB, s *servertest.Server, org, app, user, password, resource string) *wsClient {
	t.Helper()
	r := userToken(t, s, org, app, user, password)
	if r.Status != 200 {
		t.Fatalf("token for %s: %s", user, r.Raw)
	}
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.URL, "http")+"/ws?v=1", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &wsClient{t: t, conn: conn}
	b, _ := json.Marshal(map[string]any{"t": "auth", "id": "a", "token": r.Str("access_token"), "resource": resource, "platform": "test"})
	if err := conn.WriteMessage(websocket.TextMessage, b); err != nil {
		t.Fatal(err)
	}
	c.next("auth_ok")
	return c
}

// next reads frames until one of the kind (others are skipped).
func (c *wsClient) next(kind string) map[string]any {
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
func (c *wsClient) closed() int {
	c.t.Helper()
	for {
		c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, _, err := c.conn.ReadMessage(); err != nil {
			if ce, ok := err.(*websocket.CloseError); ok {
				return ce.Code
			}
			c.t.Fatalf("no close frame: %v", err)
		}
	}
}

func ptr[T any](v T) *T { return &v }
