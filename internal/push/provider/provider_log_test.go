package provider_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/push/provider"
)

func TestLog_Send(t *testing.T) {
	var buf bytes.Buffer
	p, err := provider.New(provider.Credentials{Kind: provider.Log}, provider.Options{Log: slog.New(slog.NewJSONHandler(&buf, nil))})
	if err != nil {
		t.Fatal(err)
	}
	const token = "f00dfeedcafe0123456789abcdef0123456789abcdef"
	n := provider.Notification{Token: token, Title: "Alice", Body: "the secret plan", Badge: 2,
		Data: map[string]string{"m": "1"}}
	if err := p.Send(context.Background(), n); err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("log %q: %v", buf.String(), err)
	}
	want := map[string]any{"component": "push", "provider": "log", "title_len": 5.0, "body_len": 15.0, "badge": 2.0, "data_keys": 1.0}
	for k, v := range want {
		if rec[k] != v {
			t.Errorf("%s = %v, want %v", k, rec[k], v)
		}
	}
	if tok, _ := rec["token"].(string); !strings.HasPrefix(tok, token[:6]) {
		t.Errorf("token = %q, want the token's start", tok)
	}
	for _, secret := range []string{token, token[:13], "Alice", "secret plan"} {
		if strings.Contains(buf.String(), secret) {
			t.Errorf("the log shows %q: %s", secret, buf.String())
		}
	}
}
