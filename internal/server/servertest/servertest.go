// Package servertest starts real Parley servers on random ports for
// end-to-end tests, on SQLite or PostgreSQL, and speaks plain HTTP to them.
package servertest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/atrest"
	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/server"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/internal/testutil"
)

// Backends lists the storage backends e2e tests run on.
var Backends = []string{"sqlite", "postgres"}

// Server is a running test server.
type Server struct {
	*server.Server
	URL string
	// Client is the HTTP client of Do: http.DefaultClient, or on a TLS
	// server one that trusts the certificate in cfg.TLS.CertFile (and
	// negotiates HTTP/2).
	Client *http.Client
	Cfg    config.Config
	Log    *LogBuffer
}

// OwnerPassword is the console owner's password in test servers.
const OwnerPassword = "owner-password-for-tests"

// EncryptionEnv, set to 1, turns encryption at rest on in every test
// server (Config), so any end-to-end suite can run encrypted.
const EncryptionEnv = "PARLEY_TEST_ENCRYPTION"

// Config returns a test configuration: random port, temp data dir, cheap KDF.
func Config(t testing.TB, backend string) config.Config {
	c := config.Default()
	c.Listen = "127.0.0.1:0"
	c.DataDir = t.TempDir()
	c.Log.Level = "debug"
	c.Auth.KDFTime = 1
	c.Auth.KDFMemoryKiB = 1024
	c.SQLite.Synchronous = "normal"
	c.Console.OwnerPassword = OwnerPassword
	// Tests send requests as fast as they can; the rate limit tests turn
	// limits on.
	c.RateLimit.Enabled = false
	if backend == "postgres" {
		c.DB = testutil.PostgresURL(t)
		c.Postgres.MaxConns = 8
	}
	if os.Getenv(EncryptionEnv) == "1" {
		line, err := atrest.NewKeyLine("test")
		if err != nil {
			t.Fatal(err)
		}
		c.Encryption = config.Encryption{Enabled: true, Keys: line}
	}
	return c
}

// Start runs a server with cfg until the test ends.
func Start(t testing.TB, cfg config.Config) *Server {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	logs := &LogBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := server.New(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server shutdown: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("server did not shut down")
		}
	})
	scheme, client := "http://", http.DefaultClient
	if s.TLS() {
		scheme, client = "https://", TLSClient(t, cfg.TLS.CertFile)
	}
	return &Server{Server: s, URL: scheme + s.Addr(), Client: client, Cfg: cfg, Log: logs}
}

// StartBackend is Start(t, Config(t, backend)).
func StartBackend(t testing.TB, backend string) *Server { return Start(t, Config(t, backend)) }

// App creates an app and returns its credentials.
func (s *Server) App(t testing.TB, org, name string, set tenant.Settings) *tenant.Created {
	t.Helper()
	c, err := s.Apps.Create(context.Background(), org, name, set)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Response is a decoded JSON response.
type Response struct {
	Status int
	Header http.Header
	Body   map[string]any
	Raw    []byte
}

// Str returns a top-level string field.
func (r *Response) Str(key string) string { s, _ := r.Body[key].(string); return s }

// Entities returns the entities array.
func (r *Response) Entities() []map[string]any {
	list, _ := r.Body["entities"].([]any)
	out := make([]map[string]any, 0, len(list))
	for _, e := range list {
		m, _ := e.(map[string]any)
		out = append(out, m)
	}
	return out
}

// Do sends a request. body may be nil, a string (sent as is) or any value
// (sent as JSON). token may be empty.
func (s *Server) Do(t testing.TB, method, path, token string, body any) *Response {
	t.Helper()
	return call(t, s.Client, s.URL, method, path, token, body)
}

// Call is Do against any server's base URL (a server in another process).
func Call(t testing.TB, baseURL, method, path, token string, body any) *Response {
	t.Helper()
	return call(t, http.DefaultClient, baseURL, method, path, token, body)
}

// TLSClient is an HTTP client (HTTP/2 when the server offers it) that
// trusts only the certificates in the PEM file caFile.
func TLSClient(t testing.TB, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", caFile)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	tr.ForceAttemptHTTP2 = true
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

func call(t testing.TB, client *http.Client, baseURL, method, path, token string, body any) *Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, baseURL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := &Response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if len(raw) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &r.Body); err != nil {
			t.Fatalf("%s %s: bad JSON %q: %v", method, path, raw, err)
		}
	}
	return r
}

// AppToken gets an app token with the client credentials.
func (s *Server) AppToken(t testing.TB, app *tenant.Created) string {
	t.Helper()
	r := s.Do(t, "POST", "/"+app.OrgName+"/"+app.AppName+"/token", "", map[string]any{
		"grant_type": "client_credentials", "client_id": app.ClientID, "client_secret": app.ClientSecret})
	if r.Status != 200 || r.Str("access_token") == "" {
		t.Fatalf("app token: %d %s", r.Status, r.Raw)
	}
	return r.Str("access_token")
}

// LogBuffer collects log output safely across goroutines.
type LogBuffer = testutil.SyncBuffer

// UseS3 points cfg's file storage at the S3-compatible server of
// $PARLEY_TEST_S3, under a prefix of the test's own (skipped without it,
// unless PARLEY_REQUIRE_S3=1).
func UseS3(t testing.TB, cfg *config.Config) {
	t.Helper()
	o := testutil.S3Options(t)
	cfg.Blob = config.Blob{Driver: "s3", S3Endpoint: o.Endpoint, S3Bucket: o.Bucket, S3Region: o.Region,
		S3AccessKey: o.AccessKey, S3SecretKey: o.SecretKey, S3PathStyle: o.PathStyle, S3Prefix: o.Prefix,
		OrphanAfter: cfg.Blob.OrphanAfter}
}
