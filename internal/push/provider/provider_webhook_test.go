package provider_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/push/provider"
	"github.com/parleyim/parley/internal/push/provider/providertest"
)

func TestWebhook_Send(t *testing.T) {
	tests := []struct {
		name   string
		secret string
		n      provider.Notification
		want   providertest.WebhookRequest
	}{{
		name:   "signed",
		secret: "s3cret",
		n: provider.Notification{Title: "Alice", Body: "hi", Badge: 3, Sound: "ding", CollapseKey: "c1",
			Data: map[string]string{"m": "1"}, APNs: json.RawMessage(`{"em_push_category":"chat"}`), TTL: 90 * time.Second},
		want: providertest.WebhookRequest{Title: "Alice", Body: "hi", Badge: 3, Sound: "ding", CollapseKey: "c1", TTL: 90,
			Data: map[string]string{"m": "1"}, APNs: json.RawMessage(`{"em_push_category":"chat"}`), Timestamp: t0.Unix()},
	}, {
		name: "unsigned, minimal",
		n:    provider.Notification{Badge: -1},
		want: providertest.WebhookRequest{Badge: -1, Data: map[string]string{}, Timestamp: t0.Unix()},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := providertest.NewClock(t0)
			h := providertest.NewWebhook(t, tt.secret)
			h.SetClock(clock.Now)
			p, err := provider.New(h.Credentials(), provider.Options{HTTPClient: h.Client(), Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			tt.n.Token = providertest.DeviceToken()
			if err := p.Send(context.Background(), tt.n); err != nil {
				t.Fatal(err)
			}
			got := h.Requests()
			tt.want.Token = tt.n.Token
			if len(got) != 1 || !reflect.DeepEqual(got[0], tt.want) {
				t.Errorf("requests %+v, want [%+v]", got, tt.want)
			}
		})
	}
}

// The fake checks the signature: a provider with another secret fails.
func TestWebhook_WrongSecret(t *testing.T) {
	h := providertest.NewWebhook(t, "right")
	c := h.Credentials()
	c.Secret = "wrong"
	p, err := provider.New(c, provider.Options{HTTPClient: h.Client()})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Send(context.Background(), provider.Notification{Token: "t", Body: "hi"})
	if kindOf(err) != "permanent" || !strings.Contains(err.Error(), "401") {
		t.Errorf("err = %v, want a permanent 401", err)
	}
}

func TestWebhook_Errors(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(h *providertest.Webhook, token string)
		want      string
		wantAfter time.Duration
	}{
		{"gone", func(h *providertest.Webhook, tok string) { h.Gone(tok) }, "invalid", 0},
		{"503 with Retry-After", func(h *providertest.Webhook, _ string) {
			h.FailNext(1, providertest.Failure{Status: 503, RetryAfter: "12"})
		}, "retry", 12 * time.Second},
		{"429 with a date", func(h *providertest.Webhook, _ string) {
			h.FailNext(1, providertest.Failure{Status: 429, RetryAfter: t0.Add(time.Minute).Format(http.TimeFormat)})
		}, "retry", time.Minute},
		{"502", func(h *providertest.Webhook, _ string) { h.FailNext(1, providertest.Failure{Status: 502}) }, "retry", 0},
		{"400", func(h *providertest.Webhook, _ string) { h.FailNext(1, providertest.Failure{Status: 400}) }, "permanent", 0},
		{"404", func(h *providertest.Webhook, _ string) { h.FailNext(1, providertest.Failure{Status: 404}) }, "permanent", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := providertest.NewClock(t0)
			h := providertest.NewWebhook(t, "k")
			h.SetClock(clock.Now)
			p, err := provider.New(h.Credentials(), provider.Options{HTTPClient: h.Client(), Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			tok := providertest.DeviceToken()
			tt.setup(h, tok)
			err = p.Send(context.Background(), provider.Notification{Token: tok, Body: "hi"})
			errCase{tt.want, tt.wantAfter, ""}.check(t, err)
			if len(h.Requests()) != 0 {
				t.Errorf("the fake recorded a request")
			}
		})
	}
}

// Redirects are not followed: they are a permanent failure.
func TestWebhook_Redirect(t *testing.T) {
	h := providertest.NewWebhook(t, "")
	redir := httptest.NewServer(http.RedirectHandler(h.URL(), http.StatusTemporaryRedirect))
	defer redir.Close()
	p, err := provider.New(provider.Credentials{Kind: provider.Webhook, URL: redir.URL + "/push?key=secret-in-query"},
		provider.Options{HTTPClient: h.Client()})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Send(context.Background(), provider.Notification{Token: "t", Body: "hi"})
	if kindOf(err) != "permanent" || !strings.Contains(err.Error(), "307") {
		t.Errorf("err = %v, want a permanent 307", err)
	}
	if len(h.Requests()) != 0 {
		t.Errorf("the redirect was followed")
	}
}

func TestWebhook_EmptyToken(t *testing.T) {
	h := providertest.NewWebhook(t, "")
	p, err := provider.New(h.Credentials(), provider.Options{HTTPClient: h.Client()})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Send(context.Background(), provider.Notification{Body: "hi"}); kindOf(err) != "invalid" {
		t.Errorf("err = %v, want ErrInvalidToken", err)
	}
}
