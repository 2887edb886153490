package provider

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"-5", 0},
		{" 120 ", 2 * time.Minute},
		{"99999999999", 24 * time.Hour}, // capped
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0},
		{"Thu, 01 Jan 2026 12:00:30 GMT", 30 * time.Second},
		{"soon", 0},
	}
	for _, tt := range tests {
		if got := retryAfter(tt.in, now); got != tt.want {
			t.Errorf("retryAfter(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// The default APNs transport speaks HTTP/2 only.
func TestNewTransport_HTTP2(t *testing.T) {
	protos := make(chan string, 2)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { protos <- r.Proto }))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	defer srv.Close()
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	for _, http2Only := range []bool{true, false} {
		tr := newTransport(http2Only)
		tr.TLSClientConfig.RootCAs = pool
		resp, err := (&http.Client{Transport: tr}).Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if proto := <-protos; proto != "HTTP/2.0" {
			t.Errorf("http2Only %v: the server saw %s, want HTTP/2.0", http2Only, proto)
		}
	}
	// And an HTTP/1-only server is refused rather than spoken to in HTTP/1.
	h1 := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	h1.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	h1.StartTLS()
	defer h1.Close()
	pool.AddCert(h1.Certificate())
	tr := newTransport(true)
	tr.TLSClientConfig.RootCAs = pool
	if resp, err := (&http.Client{Transport: tr}).Get(h1.URL); err == nil {
		resp.Body.Close()
		t.Errorf("an HTTP/2-only transport talked to an HTTP/1 server (%s)", resp.Proto)
	}
}

func TestCachedToken_WaitHonoursContext(t *testing.T) {
	release := make(chan struct{})
	minted := 0
	c := newCachedToken(time.Now, 0, func(context.Context) (string, time.Time, error) {
		minted++
		<-release
		return "tok", time.Now().Add(time.Hour), nil
	})
	done := make(chan error)
	go func() {
		_, err := c.get(context.Background(), "")
		done <- err
	}()
	// Wait until the first caller holds the refresh.
	for len(c.sem) == 0 {
		time.Sleep(time.Millisecond)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.get(ctx, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("a waiter with a cancelled context got %v, want context.Canceled", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if tok, err := c.get(context.Background(), ""); tok != "tok" || err != nil || minted != 1 {
		t.Errorf("get = %q, %v after %d mints; want the cached token from one mint", tok, err, minted)
	}
}

func TestTokenHint(t *testing.T) {
	for in, want := range map[string]string{
		"":                     "…(0)",
		"short":                "…(5)",
		"0123456789abcdef0123": "012345…(20)",
	} {
		if got := tokenHint(in); got != want {
			t.Errorf("tokenHint(%q) = %q, want %q", in, got, want)
		}
	}
}
