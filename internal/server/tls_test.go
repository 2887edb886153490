package server

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/config"
	"github.com/parleyim/parley/internal/testutil"
	"github.com/parleyim/parley/internal/testutil/testcert"
	"github.com/parleyim/parley/protocol"
)

func serialOf(t *testing.T, c *tls.Certificate) string {
	t.Helper()
	leaf, err := parseLeaf(c)
	if err != nil {
		t.Fatal(err)
	}
	return leaf.SerialNumber.String()
}

// A reloader keeps its certificate until the files change and load; a
// pair that does not load (or files that are gone) keeps the old one and
// is logged, and a later good pair is taken.
func TestCertReloader_GetCertificate(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	first, second, third := testcert.New(t, "first"), testcert.New(t, "second"), testcert.New(t, "third")
	first.Write(t, certFile, keyFile)
	logs := &testutil.SyncBuffer{}
	r, err := newCertReloader(certFile, keyFile, slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	r.now = func() time.Time { return now }
	steps := []struct {
		name    string
		change  func()
		advance time.Duration
		want    *testcert.Pair
		log     string // expected in the log after the step
	}{
		{"unchanged", func() {}, 2 * time.Second, first, ""},
		{"new pair, looked at too soon", func() { second.Write(t, certFile, keyFile) }, 0, first, ""},
		{"new pair, a second later", func() {}, certRecheck, second, "tls certificate reloaded"},
		{"key of another certificate", func() {
			os.WriteFile(keyFile, third.KeyPEM, 0o600) // the cert is still second's
		}, certRecheck, second, "do not load; keeping the current certificate"},
		{"garbage certificate", func() { os.WriteFile(certFile, []byte("-----BEGIN CERT"), 0o600) }, certRecheck, second, "do not load"},
		{"files gone", func() { os.Remove(certFile) }, certRecheck, second, "unreadable; keeping the current certificate"},
		{"good pair again", func() { third.Write(t, certFile, keyFile) }, certRecheck, third, "tls certificate reloaded"},
	}
	for _, st := range steps {
		before := len(logs.String())
		st.change()
		now = now.Add(st.advance)
		got, err := r.GetCertificate(&tls.ClientHelloInfo{})
		if err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if serialOf(t, got) != st.want.Leaf.SerialNumber.String() {
			t.Fatalf("%s: served the certificate with serial %s, want %s's", st.name, serialOf(t, got), st.want.Leaf.Subject.CommonName)
		}
		if logged := logs.String()[before:]; st.log != "" && !strings.Contains(logged, st.log) {
			t.Fatalf("%s: log %q lacks %q", st.name, logged, st.log)
		}
	}
	// A bad pair, or missing files, are logged once, not on every handshake.
	for _, bad := range []struct {
		change func()
		log    string
	}{
		{func() { os.WriteFile(keyFile, []byte("nope"), 0o600) }, "do not load"},
		{func() { os.Remove(keyFile) }, "unreadable"},
	} {
		bad.change()
		before := len(logs.String())
		for range 3 {
			now = now.Add(certRecheck)
			r.GetCertificate(&tls.ClientHelloInfo{})
		}
		if n := strings.Count(logs.String()[before:], bad.log); n != 1 {
			t.Fatalf("%q was logged %d times, want once", bad.log, n)
		}
	}
}

func TestNewCertReloader_Errors(t *testing.T) {
	dir := t.TempDir()
	cert, key := testcert.New(t, "a").Files(t, dir)
	_, otherKey := testcert.New(t, "b").Files(t, dir)
	tests := []struct {
		name, cert, key, want string
	}{
		{"missing cert", filepath.Join(dir, "none.crt"), key, "tls.cert_file"},
		{"missing key", cert, filepath.Join(dir, "none.key"), "tls.key_file"},
		{"mismatch", cert, otherKey, "private key does not match"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := newCertReloader(tc.cert, tc.key, slog.New(slog.DiscardHandler))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

// The guard sends HSTS on requests that came over TLS (directly or from a
// trusted proxy saying so) and, with tls.require, refuses other plain-HTTP
// requests unless they come from this host or are health checks.
func TestTransportGuard_ServeHTTP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	tests := []struct {
		name       string
		require    bool
		remote     string
		tls        bool
		xfp        []string
		path       string
		wantStatus int
		wantHSTS   bool
	}{
		{"direct TLS", true, "203.0.113.9:5000", true, nil, "/acme/chat/users", 200, true},
		{"plain from the internet", true, "203.0.113.9:5000", false, nil, "/acme/chat/users", 403, false},
		{"plain from the internet, not required", false, "203.0.113.9:5000", false, nil, "/acme/chat/users", 200, false},
		{"untrusted client claiming https", true, "203.0.113.9:5000", false, []string{"https"}, "/acme/chat/users", 403, false},
		{"trusted proxy, https", true, "10.1.2.3:5000", false, []string{"https"}, "/console/", 200, true},
		{"trusted proxy, HTTPS in capitals", true, "10.1.2.3:5000", false, []string{"HTTPS"}, "/ws", 200, true},
		{"trusted proxy, http", true, "10.1.2.3:5000", false, []string{"http"}, "/ws", 403, false},
		{"trusted proxy, no header", true, "10.1.2.3:5000", false, nil, "/acme/chat/token", 403, false},
		{"trusted proxy, last hop says http", true, "10.1.2.3:5000", false, []string{"https, http"}, "/", 403, false},
		{"trusted proxy, https, not required", false, "10.1.2.3:5000", false, []string{"https"}, "/", 200, true},
		{"loopback client", true, "127.0.0.1:5000", false, nil, "/acme/chat/users", 200, false},
		{"loopback v6 client", true, "[::1]:5000", false, nil, "/console/", 200, false},
		{"health check from anywhere", true, "203.0.113.9:5000", false, nil, "/healthz", 200, false},
		{"readiness from a proxy", true, "10.1.2.3:5000", false, nil, "/readyz", 200, false},
		{"metrics", true, "203.0.113.9:5000", false, nil, "/metrics", 200, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			served := false
			g := newTransportGuard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { served = true }),
				config.TLS{Require: tc.require, HSTS: config.Duration(24 * time.Hour)}, trusted)
			r := httptest.NewRequest("GET", tc.path, nil)
			r.RemoteAddr = tc.remote
			if !tc.tls {
				r.TLS = nil
			} else {
				r.TLS = &tls.ConnectionState{}
			}
			for _, v := range tc.xfp {
				r.Header.Add("X-Forwarded-Proto", v)
			}
			w := httptest.NewRecorder()
			g.ServeHTTP(w, r)
			if w.Code != tc.wantStatus || served != (tc.wantStatus == 200) {
				t.Fatalf("status %d served %v, want %d", w.Code, served, tc.wantStatus)
			}
			if hsts := w.Header().Get("Strict-Transport-Security"); (hsts == "max-age=86400") != tc.wantHSTS {
				t.Fatalf("Strict-Transport-Security %q, want it: %v", hsts, tc.wantHSTS)
			}
			if tc.wantStatus == 403 {
				var body protocol.ErrorBody
				if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Code != protocol.ErrTLSRequired.ID ||
					body.Error != "forbidden_op" || body.ErrorDescription == "" {
					t.Fatalf("body %s", w.Body)
				}
			}
		})
	}
}

// hsts 0 sends no header.
func TestTransportGuard_NoHSTS(t *testing.T) {
	g := newTransportGuard(http.NotFoundHandler(), config.TLS{}, nil)
	r := httptest.NewRequest("GET", "/", nil)
	r.TLS = &tls.ConnectionState{}
	w := httptest.NewRecorder()
	g.ServeHTTP(w, r)
	if h := w.Header().Get("Strict-Transport-Security"); h != "" {
		t.Fatalf("got %q", h)
	}
}

// Handshakes racing with reloads always get a whole certificate, one of
// the pairs written, never nil (run with -race).
func TestCertReloader_Concurrent(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	pairs := []*testcert.Pair{testcert.New(t, "a"), testcert.New(t, "b")}
	pairs[0].Write(t, certFile, keyFile)
	r, err := newCertReloader(certFile, keyFile, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	r.now = func() time.Time { return time.Unix(0, clock.Add(int64(certRecheck/4))) }
	known := map[string]bool{pairs[0].Leaf.SerialNumber.String(): true, pairs[1].Leaf.SerialNumber.String(): true}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for range 8 {
		wg.Go(func() {
			for range 200 {
				c, err := r.GetCertificate(&tls.ClientHelloInfo{})
				if err != nil || c == nil {
					errs <- fmt.Sprint("no certificate: ", err)
					return
				}
				if leaf, err := parseLeaf(c); err != nil || !known[leaf.SerialNumber.String()] {
					errs <- fmt.Sprint("unknown certificate: ", err)
					return
				}
			}
		})
	}
	for i := range 20 {
		pairs[i%2].Write(t, certFile, keyFile)
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
}
