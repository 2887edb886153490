package provider_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/push/provider"
	"github.com/parleyim/parley/internal/push/provider/providertest"
)

// newFCM starts a fake FCM and a provider for it, both on clock.
func newFCM(t *testing.T, clock *providertest.Clock) (*providertest.FCM, provider.Provider) {
	t.Helper()
	f := providertest.NewFCM(t)
	f.SetClock(clock.Now)
	p, err := provider.New(f.Credentials(), provider.Options{HTTPClient: f.Client(), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return f, p
}

func TestFCM_Send(t *testing.T) {
	exp := strconv.FormatInt(t0.Add(time.Hour).Unix(), 10)
	tests := []struct {
		name string
		n    provider.Notification
		want string // the message object, with TOKEN for the token
	}{{
		name: "notification",
		n: provider.Notification{Title: "Alice", Body: "hi", Badge: 3, CollapseKey: "c1",
			Data: map[string]string{"m": "1", "f": "alice"}, TTL: time.Hour},
		want: `{"token":"TOKEN","notification":{"title":"Alice","body":"hi"},"data":{"m":"1","f":"alice"},
			"android":{"collapse_key":"c1","priority":"HIGH","ttl":"3600s","notification":{"sound":"default","tag":"c1"}},
			"apns":{"headers":{"apns-push-type":"alert","apns-priority":"10","apns-collapse-id":"c1","apns-expiration":"` + exp + `"},
			        "payload":{"aps":{"badge":3,"sound":"default"}}}}`,
	}, {
		name: "body only, badge unchanged, own sound",
		n:    provider.Notification{Body: "You have a new message", Badge: -1, Sound: "ding.caf"},
		want: `{"token":"TOKEN","notification":{"body":"You have a new message"},
			"android":{"priority":"HIGH","notification":{"sound":"ding.caf"}},
			"apns":{"headers":{"apns-push-type":"alert","apns-priority":"10"},"payload":{"aps":{"sound":"ding.caf"}}}}`,
	}, {
		name: "data only",
		n:    provider.Notification{Badge: 2, Data: map[string]string{"m": "2"}, TTL: 1500 * time.Millisecond},
		want: `{"token":"TOKEN","data":{"m":"2"},"android":{"priority":"NORMAL","ttl":"1.5s"},
			"apns":{"headers":{"apns-push-type":"background","apns-priority":"5","apns-expiration":"` + strconv.FormatInt(t0.Add(1500*time.Millisecond).Unix(), 10) + `"},
			        "payload":{"aps":{"content-available":1}}}}`,
	}, {
		name: "em_apns_ext",
		n: provider.Notification{Title: "Alice", Body: "hi", Badge: 0,
			APNs: json.RawMessage(`{"em_push_title":"New message","em_push_category":"chat","em_push_mutable_content":true,"extern":{"k":1},"custom":"x"}`)},
		want: `{"token":"TOKEN","notification":{"title":"Alice","body":"hi"},
			"android":{"priority":"HIGH","notification":{"sound":"default"}},
			"apns":{"headers":{"apns-push-type":"alert","apns-priority":"10"},
			        "payload":{"aps":{"alert":{"title":"New message","body":"hi"},"badge":0,"sound":"default","category":"chat","mutable-content":1},
			                   "e":{"k":1},"custom":"x"}}}`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, p := newFCM(t, providertest.NewClock(t0))
			tt.n.Token = providertest.DeviceToken()
			if err := p.Send(context.Background(), tt.n); err != nil {
				t.Fatal(err)
			}
			msgs := f.Messages()
			if len(msgs) != 1 {
				t.Fatalf("fake got %d messages, want 1", len(msgs))
			}
			jsonEqual(t, msgs[0].Raw, strings.ReplaceAll(tt.want, "TOKEN", tt.n.Token))
		})
	}
}

func TestFCM_TokenCaching(t *testing.T) {
	clock := providertest.NewClock(t0)
	f, p := newFCM(t, clock)
	n := provider.Notification{Token: providertest.DeviceToken(), Body: "hi", Badge: 1}
	steps := []struct {
		advance    time.Duration
		sends      int
		wantTokens int
	}{
		{0, 5, 1},
		{50 * time.Minute, 3, 1}, // the token lives an hour
		{6 * time.Minute, 1, 2},  // 56 min: within 5 min of expiry, replaced
		{30 * time.Minute, 2, 2}, // the new one is still good
		{2 * time.Hour, 1, 3},    // long idle: expired, replaced before use
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		for range s.sends {
			if err := p.Send(context.Background(), n); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
		if got := f.TokenRequests(); got != s.wantTokens {
			t.Errorf("step %d: %d token requests, want %d", i, got, s.wantTokens)
		}
	}
	if got := f.Unauthorized(); got != 0 {
		t.Errorf("%d sends were answered 401: an expired token was used", got)
	}
	if got := len(f.Messages()); got != 12 {
		t.Errorf("%d messages, want 12", got)
	}
}

func TestFCM_ShortLivedToken(t *testing.T) {
	clock := providertest.NewClock(t0)
	f, p := newFCM(t, clock)
	f.SetTokenLifetime(2 * time.Minute) // replaced a quarter of its life early: after 90 s
	n := provider.Notification{Token: providertest.DeviceToken(), Body: "hi"}
	for i, want := range []int{1, 1, 2} {
		if err := p.Send(context.Background(), n); err != nil {
			t.Fatal(err)
		}
		if got := f.TokenRequests(); got != want {
			t.Errorf("send %d: %d token requests, want %d", i, got, want)
		}
		clock.Advance(50 * time.Second)
	}
}

func TestFCM_ConcurrentSends(t *testing.T) {
	f, p := newFCM(t, providertest.NewClock(t0))
	const n = 32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- p.Send(context.Background(), provider.Notification{Token: providertest.DeviceToken(), Body: strconv.Itoa(i)})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := f.TokenRequests(); got != 1 {
		t.Errorf("%d token requests for %d concurrent sends, want 1", got, n)
	}
	if got := len(f.Messages()); got != n {
		t.Errorf("%d messages, want %d", got, n)
	}
}

func TestFCM_Unauthorized(t *testing.T) {
	t.Run("revoked token is refreshed once for all senders", func(t *testing.T) {
		f, p := newFCM(t, providertest.NewClock(t0))
		n := provider.Notification{Token: providertest.DeviceToken(), Body: "hi"}
		if err := p.Send(context.Background(), n); err != nil {
			t.Fatal(err)
		}
		f.RevokeAccessTokens()
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				if err := p.Send(context.Background(), n); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got := f.TokenRequests(); got != 2 {
			t.Errorf("%d token requests, want 2", got)
		}
		if got := f.Unauthorized(); got < 1 {
			t.Errorf("no send was answered 401: the revocation did not happen")
		}
		if got := len(f.Messages()); got != 9 {
			t.Errorf("%d messages, want 9", got)
		}
	})
	t.Run("still 401 after a refresh", func(t *testing.T) {
		f, p := newFCM(t, providertest.NewClock(t0))
		f.FailSends(2, providertest.Failure{Status: http.StatusUnauthorized})
		err := p.Send(context.Background(), provider.Notification{Token: providertest.DeviceToken(), Body: "hi"})
		if kindOf(err) != "rejected" {
			t.Errorf("err = %v, want ErrCredentialsRejected", err)
		}
		if got := f.TokenRequests(); got != 2 {
			t.Errorf("%d token requests, want 2 (one refresh)", got)
		}
	})
}

func TestFCM_Errors(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(f *providertest.FCM, token string)
		n         provider.Notification
		want      string // kindOf
		wantAfter time.Duration
		wantText  string
	}{
		{name: "503 with Retry-After seconds",
			setup: func(f *providertest.FCM, _ string) {
				f.FailSends(1, providertest.Failure{Status: 503, RetryAfter: "7"})
			}, want: "retry", wantAfter: 7 * time.Second},
		{name: "429 with Retry-After date",
			setup: func(f *providertest.FCM, _ string) {
				f.FailSends(1, providertest.Failure{Status: 429, RetryAfter: t0.Add(30 * time.Second).Format(http.TimeFormat)})
			}, want: "retry", wantAfter: 30 * time.Second},
		{name: "500 without Retry-After",
			setup: func(f *providertest.FCM, _ string) { f.FailSends(1, providertest.Failure{Status: 500}) },
			want:  "retry"},
		{name: "token endpoint 503",
			setup: func(f *providertest.FCM, _ string) {
				f.FailTokenRequests(1, providertest.Failure{Status: 503, RetryAfter: "3"})
			}, want: "retry", wantAfter: 3 * time.Second},
		{name: "unregistered",
			setup: func(f *providertest.FCM, token string) { f.Unregister(token) },
			want:  "invalid"},
		{name: "invalid registration token",
			setup: func(f *providertest.FCM, token string) { f.MarkInvalid(token) },
			want:  "invalid"},
		{name: "empty token", n: provider.Notification{Token: "-"}, want: "invalid"},
		{name: "sender ID mismatch",
			setup: func(f *providertest.FCM, _ string) { f.FailSends(1, providertest.Failure{Status: 403}) },
			want:  "permanent", wantText: "SENDER_ID_MISMATCH"},
		{name: "other 404",
			setup: func(f *providertest.FCM, _ string) {
				f.FailSends(1, providertest.Failure{Status: 404, Reason: "NOT_FOUND"})
			}, want: "permanent", wantText: "404"},
		{name: "reserved data key",
			n:    provider.Notification{Body: "hi", Data: map[string]string{"from": "x"}},
			want: "permanent", wantText: "Invalid data payload key"},
		{name: "bad em_apns_ext",
			n:    provider.Notification{Body: "hi", APNs: json.RawMessage(`{"em_push_badge":"many"}`)},
			want: "permanent", wantText: "em_push_badge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, p := newFCM(t, providertest.NewClock(t0))
			n := errNotification(tt.n)
			if tt.setup != nil {
				tt.setup(f, n.Token)
			}
			err := p.Send(context.Background(), n)
			errCase{tt.want, tt.wantAfter, tt.wantText}.check(t, err)
			if len(f.Messages()) != 0 {
				t.Errorf("the fake accepted a message")
			}
			if tt.want == "retry" {
				// The failure was temporary: the next send goes through.
				if err := p.Send(context.Background(), n); err != nil {
					t.Errorf("send after the failure: %v", err)
				}
			}
		})
	}
}

// A service account whose key is not the one Google knows is refused by
// the token endpoint, and Send says so.
func TestFCM_WrongKey(t *testing.T) {
	f := providertest.NewFCM(t)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(other)
	var sa map[string]any
	if err := json.Unmarshal(f.ServiceAccount(), &sa); err != nil {
		t.Fatal(err)
	}
	sa["private_key"] = string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	c := f.Credentials()
	c.ServiceAccount, _ = json.Marshal(sa)
	p, err := provider.New(c, provider.Options{HTTPClient: f.Client()})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Send(context.Background(), provider.Notification{Token: providertest.DeviceToken(), Body: "hi"})
	if kindOf(err) != "rejected" || !strings.Contains(err.Error(), "invalid_grant") {
		t.Errorf("err = %v, want ErrCredentialsRejected with invalid_grant", err)
	}
}

// Credentials.ProjectID replaces the JSON's project_id.
func TestFCM_ProjectIDOverride(t *testing.T) {
	f := providertest.NewFCM(t)
	c := f.Credentials()
	c.ProjectID = "another-project"
	p, err := provider.New(c, provider.Options{HTTPClient: f.Client()})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Send(context.Background(), provider.Notification{Token: providertest.DeviceToken(), Body: "hi"})
	if kindOf(err) != "permanent" || !strings.Contains(err.Error(), "another-project") {
		t.Errorf("err = %v, want a permanent 403 naming another-project", err)
	}
}
