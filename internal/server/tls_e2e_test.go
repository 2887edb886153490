package server_test

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/parleyim/parley/internal/console"
	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/internal/testutil/testcert"
	"github.com/parleyim/parley/protocol"
)

// wsClient is a WebSocket connection speaking the JSON protocol.
type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
	n    int
}

// dialWSS opens wss://addr/ws as a browser does: TLS offering only
// HTTP/1.1 by ALPN (WebSocket needs it; a browser with an HTTP/2
// connection open to the host still dials a new one for WebSocket).
func dialWSS(t *testing.T, addr string, roots *x509.CertPool) *wsClient {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second,
		TLSClientConfig: &tls.Config{RootCAs: roots, NextProtos: []string{"http/1.1"}}}
	conn, resp, err := d.Dial("wss://"+addr+"/ws?v=1", http.Header{"Origin": {"https://" + addr}})
	if err != nil {
		t.Fatalf("wss dial: %v (response %v)", err, resp)
	}
	t.Cleanup(func() { conn.Close() })
	return &wsClient{t: t, conn: conn}
}

// serverCert is the certificate the connection was made with.
func (c *wsClient) serverCert() *x509.Certificate {
	return c.conn.NetConn().(*tls.Conn).ConnectionState().PeerCertificates[0]
}

// request sends a frame and returns the reply with its ID.
func (c *wsClient) request(v map[string]any) map[string]any {
	c.t.Helper()
	c.n++
	id := fmt.Sprint("r", c.n)
	v["id"] = id
	b, _ := json.Marshal(v)
	if err := c.conn.WriteMessage(websocket.TextMessage, b); err != nil {
		c.t.Fatal(err)
	}
	return c.next(func(m map[string]any) bool { return m["id"] == id })
}

// next reads frames until one matches.
func (c *wsClient) next(match func(map[string]any) bool) map[string]any {
	c.t.Helper()
	for {
		c.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, b, err := c.conn.ReadMessage()
		if err != nil {
			c.t.Fatalf("read: %v", err)
		}
		var m map[string]any
		json.Unmarshal(b, &m)
		if match(m) {
			return m
		}
	}
}

// handshakeCert makes a new TLS connection and returns the server's
// certificate.
func handshakeCert(t *testing.T, addr string, roots *x509.CertPool) *x509.Certificate {
	t.Helper()
	c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0]
}

// The acceptance test of TLS: REST over HTTPS with HTTP/2, the WebSocket
// protocol over wss, the certificate files replaced while the server runs
// (new connections get the new certificate, the open WebSocket
// connections keep working), and old TLS versions refused.
func TestServer_TLS(t *testing.T) {
	dir := t.TempDir()
	first, second := testcert.New(t, "first"), testcert.New(t, "second")
	cfg := servertest.Config(t, "sqlite")
	cfg.TLS.CertFile, cfg.TLS.KeyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	first.Write(t, cfg.TLS.CertFile, cfg.TLS.KeyFile)
	s := servertest.Start(t, cfg)
	addr := s.Addr()
	if !strings.HasPrefix(s.URL, "https://") {
		t.Fatalf("URL %s", s.URL)
	}
	both := x509.NewCertPool()
	both.AddCert(first.Leaf)
	both.AddCert(second.Leaf)

	// REST over HTTPS speaks HTTP/2 and sends HSTS.
	app := s.App(t, "acme", "chat", tenant.Settings{})
	admin := s.AppToken(t, app)
	for _, u := range []string{"alice", "bob"} {
		r := s.Do(t, "POST", "/acme/chat/users", admin, map[string]string{"username": u, "password": "pw"})
		if r.Status != 200 {
			t.Fatalf("register %s: %s", u, r.Raw)
		}
	}
	resp, err := s.Client.Get(s.URL + "/acme/chat/users/alice")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("REST over TLS spoke %s, want HTTP/2", resp.Proto)
	}
	if h := resp.Header.Get("Strict-Transport-Security"); h != "max-age=31536000" {
		t.Fatalf("Strict-Transport-Security %q", h)
	}
	// So do the console's pages, with their strict policy.
	resp, err = s.Client.Get(s.URL + "/console/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 || resp.Header.Get("Strict-Transport-Security") != "max-age=31536000" ||
		resp.Header.Get("Content-Security-Policy") != console.PageCSP {
		t.Fatalf("console over TLS: %s %d %v", resp.Proto, resp.StatusCode, resp.Header)
	}
	token := func(user string) string {
		r := s.Do(t, "POST", "/acme/chat/token", "", map[string]string{"grant_type": "password", "username": user, "password": "pw"})
		if r.Status != 200 {
			t.Fatalf("token: %s", r.Raw)
		}
		return r.Str("access_token")
	}
	login := func(user, resource string) *wsClient {
		c := dialWSS(t, addr, both)
		if r := c.request(map[string]any{"t": "auth", "token": token(user), "resource": resource, "platform": "test"}); r["t"] != "auth_ok" {
			t.Fatalf("auth: %v", r)
		}
		return c
	}
	send := func(from *wsClient, to, cmid string) string {
		ack := from.request(map[string]any{"t": "send", "to": to, "type": "txt", "body": map[string]string{"msg": cmid}, "client_msg_id": cmid})
		if ack["t"] != "ack" {
			t.Fatalf("send: %v", ack)
		}
		return ack["msg_id"].(string)
	}
	receive := func(c *wsClient, msgID string) {
		c.next(func(m map[string]any) bool {
			it, _ := m["item"].(map[string]any)
			return m["t"] == "item" && it["msg_id"] == msgID
		})
	}
	alice, bob := login("alice", "web"), login("bob", "web")
	receive(bob, send(alice, "bob", "before"))

	// Replace the files; a new connection sees the new certificate within
	// a few rechecks.
	second.Write(t, cfg.TLS.CertFile, cfg.TLS.KeyFile)
	deadline := time.Now().Add(10 * time.Second)
	for !handshakeCert(t, addr, both).Equal(second.Leaf) {
		if time.Now().After(deadline) {
			t.Fatal("new connections still get the first certificate")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if strings.Contains(s.Log.String(), "keeping the current certificate") || !strings.Contains(s.Log.String(), "tls certificate reloaded") {
		t.Fatalf("log: %s", s.Log.String())
	}
	// The connections made before the swap are still open, on the first
	// certificate, and carry messages both ways; a new one has the second.
	carol := login("bob", "phone")
	if !alice.serverCert().Equal(first.Leaf) || !bob.serverCert().Equal(first.Leaf) || !carol.serverCert().Equal(second.Leaf) {
		t.Fatal("connections are not on the certificates they were made with")
	}
	id := send(alice, "bob", "after")
	receive(bob, id)
	receive(carol, id)
	receive(alice, send(bob, "alice", "reply"))
	// A client that trusts only the first certificate cannot connect now.
	if _, err := tls.Dial("tcp", addr, first.ClientConfig()); err == nil {
		t.Fatal("the first certificate is still served")
	}
	// REST on a new connection sees the second certificate.
	r, err := servertest.TLSClient(t, cfg.TLS.CertFile).Get(s.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if !r.TLS.PeerCertificates[0].Equal(second.Leaf) || r.ProtoMajor != 2 {
		t.Fatalf("healthz over %s with %s", r.Proto, r.TLS.PeerCertificates[0].Subject)
	}

	// Old protocol versions, and TLS 1.2 without an AEAD suite, are refused.
	refused := []struct {
		name string
		cfg  *tls.Config
	}{
		{"TLS 1.0", &tls.Config{RootCAs: both, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS10}},
		{"TLS 1.1", &tls.Config{RootCAs: both, MinVersion: tls.VersionTLS11, MaxVersion: tls.VersionTLS11}},
		{"TLS 1.2 with CBC suites only", &tls.Config{RootCAs: both, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}}},
	}
	for _, tc := range refused {
		if c, err := tls.Dial("tcp", addr, tc.cfg); err == nil {
			c.Close()
			t.Errorf("%s: handshake succeeded", tc.name)
		}
	}
	// Failed handshakes are logged at debug level only (the internet
	// sends them all day).
	waitLog(t, s, `"level":"DEBUG","msg":"http: TLS handshake error`)
	if strings.Contains(s.Log.String(), `"level":"WARN","msg":"http: TLS handshake error`) {
		t.Fatal("a failed handshake was logged as a warning")
	}
	for _, v := range []uint16{tls.VersionTLS12, tls.VersionTLS13} {
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: both, MinVersion: v, MaxVersion: v})
		if err != nil {
			t.Fatalf("%s: %v", tls.VersionName(v), err)
		}
		c.Close()
	}
	// Plain HTTP to the TLS port gets no API.
	pc, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	fmt.Fprintf(pc, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", addr)
	pc.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 64)
	n, _ := pc.Read(buf)
	if !strings.HasPrefix(string(buf[:n]), "HTTP/1.0 400") {
		t.Fatalf("plain HTTP on the TLS port: %q", buf[:n])
	}
}

// With tls.require on plain HTTP behind a proxy: the proxy's requests
// marked https are served (with HSTS), others refused in the API's error
// shape, health checks always answered.
func TestServer_TLSRequireBehindProxy(t *testing.T) {
	cfg := servertest.Config(t, "sqlite")
	cfg.TLS.Require = true
	cfg.HTTP.TrustedProxies = "127.0.0.1" // the test client plays the proxy
	s := servertest.Start(t, cfg)
	app := s.App(t, "acme", "chat", tenant.Settings{})
	get := func(path string, proto string) *http.Response {
		req, _ := http.NewRequest("POST", s.URL+path, strings.NewReader(fmt.Sprintf(
			`{"grant_type":"client_credentials","client_id":%q,"client_secret":%q}`, app.ClientID, app.ClientSecret)))
		if proto != "" {
			req.Header.Set("X-Forwarded-Proto", proto)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	tests := []struct {
		name, path, proto string
		status            int
		hsts              bool
	}{
		{"marked https", "/acme/chat/token", "https", 200, true},
		{"marked http", "/acme/chat/token", "http", 403, false},
		{"not marked", "/acme/chat/token", "", 403, false},
		{"health check", "/healthz", "", 405, false}, // served: POST is not allowed there
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(tc.path, tc.proto)
			if resp.StatusCode != tc.status || (resp.Header.Get("Strict-Transport-Security") != "") != tc.hsts {
				t.Fatalf("status %d, HSTS %q", resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
			}
			if tc.status == 403 {
				var body protocol.ErrorBody
				json.NewDecoder(resp.Body).Decode(&body)
				if body.Code != protocol.ErrTLSRequired.ID {
					t.Fatalf("body %+v", body)
				}
			}
		})
	}
	// Links in answers name the scheme the client used, https here,
	// although the proxy reached Parley over plain HTTP.
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	json.NewDecoder(get("/acme/chat/token", "https").Body).Decode(&tok)
	req, _ := http.NewRequest("GET", s.URL+"/acme/chat/users", nil)
	req.Header.Set("X-Forwarded-Proto", "https")
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var env struct {
		URI string `json:"uri"`
	}
	json.NewDecoder(res.Body).Decode(&env)
	res.Body.Close()
	if want := "https://" + strings.TrimPrefix(s.URL, "http://") + "/acme/chat/users"; env.URI != want {
		t.Fatalf("uri %q, want %q", env.URI, want)
	}
	// A refused token request issued no token: the WebSocket upgrade
	// without the header is refused too.
	_, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(s.URL, "http")+"/ws?v=1", nil)
	if err == nil || resp == nil || resp.StatusCode != 403 {
		t.Fatalf("plain ws: %v %v", err, resp)
	}
}

// waitLog waits until the server's log has want (the server logs a failed
// handshake after the client has given up).
func waitLog(t *testing.T, s *servertest.Server, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(s.Log.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("log lacks %s", want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
