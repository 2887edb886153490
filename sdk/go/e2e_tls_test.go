package parley_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/internal/testutil/testcert"
	parley "github.com/parleyim/parley/sdk/go"
)

// The SDK against a server with its own (self-signed) certificate: trusted
// through Config.TLSConfig, or through an HTTPClient set up for it, it
// signs in, messages over wss and uploads and downloads over https; without
// either it refuses the certificate.
func TestE2E_TLS(t *testing.T) {
	pair := testcert.New(t, "parley-test")
	cfg := servertest.Config(t, "sqlite")
	cfg.TLS.CertFile, cfg.TLS.KeyFile = pair.Files(t, t.TempDir())
	s := servertest.Start(t, cfg)
	if !strings.HasPrefix(s.URL, "https://") {
		t.Fatal(s.URL)
	}
	a := newApp(t, s, tenant.Settings{}, "alice", "bob")
	// A browser-style configuration offering HTTP/2 first: REST uses it,
	// the WebSocket still gets HTTP/1.1.
	withH2 := pair.ClientConfig()
	withH2.NextProtos = []string{"h2", "http/1.1"}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: pair.ClientConfig(), ForceAttemptHTTP2: true}}
	tests := []struct {
		name string
		set  func(c *parley.Config)
	}{
		{"TLSConfig", func(c *parley.Config) { c.TLSConfig = pair.ClientConfig() }},
		{"TLSConfig offering h2", func(c *parley.Config) { c.TLSConfig = withH2 }},
		{"HTTPClient's TLS config", func(c *parley.Config) { c.HTTPClient = hc }},
		{"wss base URL", func(c *parley.Config) {
			c.TLSConfig = pair.ClientConfig()
			c.BaseURL = "wss://" + strings.TrimPrefix(c.BaseURL, "https://")
		}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ac, bc := a.config(t, "alice", fmt.Sprint("a", i)), a.config(t, "bob", fmt.Sprint("b", i))
			tc.set(&ac)
			tc.set(&bc)
			alice, _ := dial(t, ac)
			bob, bl := dial(t, bc)
			ack, err := alice.SendText(ctxT(t), "bob", "over tls")
			if err != nil {
				t.Fatal(err)
			}
			got := parley.Messages(bl.WaitFor(t, "the message", func(evs []parley.Event) bool {
				for _, m := range parley.Messages(evs) {
					if m.MsgID == ack.MsgID {
						return true
					}
				}
				return false
			}))
			if last := got[len(got)-1]; string(last.Body) != `{"msg":"over tls"}` {
				t.Fatalf("got %s", last.Body)
			}
			content := bytes.Repeat([]byte("parley "), 10_000)
			f := upload(t, alice, content, parley.UploadOptions{Filename: "notes.txt"})
			if !strings.HasPrefix(f.URL, "https://") {
				t.Fatalf("file URL %s", f.URL)
			}
			if d := download(t, bob, f.URL, parley.DownloadOptions{}); !bytes.Equal(d, content) {
				t.Fatal("download differs")
			}
		})
	}
	t.Run("untrusted certificate", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c := a.config(t, "alice", "untrusted")
		c.TLSConfig = &tls.Config{RootCAs: testcert.New(t, "other").Pool}
		cl, err := parley.Dial(ctx, c)
		if err == nil {
			cl.Close()
			t.Fatal("connected to a server it should not trust")
		}
		if !strings.Contains(err.Error(), "certificate") {
			t.Fatalf("error %v does not name the certificate", err)
		}
	})
}
