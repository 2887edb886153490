package provider_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/push/provider"
	"github.com/parleyim/parley/internal/push/provider/providertest"
)

// newAPNs starts a fake APNs and a provider for it, both on clock.
func newAPNs(t *testing.T, clock *providertest.Clock) (*providertest.APNs, provider.Provider) {
	t.Helper()
	a := providertest.NewAPNs(t)
	a.SetClock(clock.Now)
	p, err := provider.New(a.Credentials(), provider.Options{HTTPClient: a.Client(), Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	return a, p
}

func TestAPNs_Send(t *testing.T) {
	long := strings.Repeat("conversation-", 6)
	sum := sha256.Sum256([]byte(long))
	tests := []struct {
		name                         string
		n                            provider.Notification
		wantType, wantPrio           string
		wantCollapse, wantExpiration string
		wantPayload                  string
	}{{
		name: "alert",
		n: provider.Notification{Title: "Alice", Body: "hi", Badge: 3, CollapseKey: "c1", TTL: time.Hour,
			Data: map[string]string{"f": "alice", "m": "1", "aps": "ignored"}},
		wantType: "alert", wantPrio: "10", wantCollapse: "c1",
		wantExpiration: strconv.FormatInt(t0.Add(time.Hour).Unix(), 10),
		wantPayload:    `{"aps":{"alert":{"title":"Alice","body":"hi"},"badge":3,"sound":"default"},"f":"alice","m":"1"}`,
	}, {
		name:     "body only, badge left alone, own sound",
		n:        provider.Notification{Body: "You have a new message", Badge: -1, Sound: "ding.caf"},
		wantType: "alert", wantPrio: "10",
		wantPayload: `{"aps":{"alert":{"body":"You have a new message"},"sound":"ding.caf"}}`,
	}, {
		name:     "background",
		n:        provider.Notification{Badge: 4, Sound: "ding.caf", Data: map[string]string{"m": "2"}},
		wantType: "background", wantPrio: "5",
		wantPayload: `{"aps":{"content-available":1},"m":"2"}`,
	}, {
		name:     "long collapse key is hashed",
		n:        provider.Notification{Body: "hi", Badge: 0, CollapseKey: long},
		wantType: "alert", wantPrio: "10", wantCollapse: hex.EncodeToString(sum[:]),
		wantPayload: `{"aps":{"alert":{"body":"hi"},"badge":0,"sound":"default"}}`,
	}, {
		name: "em_apns_ext: every mapped key",
		n: provider.Notification{Title: "Alice", Body: "hi", Badge: 3, Data: map[string]string{"m": "1", "k": "data"},
			APNs: json.RawMessage(`{"em_push_title":"T","em_push_content":"C","em_push_sound":"s.caf","em_push_badge":"9",
				"em_push_category":"chat","em_push_mutable_content":1,"extern":{"x":[1]},"k":"ext","em_push_name":"dropped",
				"aps":{"badge":100},"em_push_title_null":null}`)},
		wantType: "alert", wantPrio: "10",
		wantPayload: `{"aps":{"alert":{"title":"T","body":"C"},"badge":9,"sound":"s.caf","category":"chat","mutable-content":1},
			"m":"1","k":"ext","e":{"x":[1]}}`,
	}, {
		name:     "em_apns_ext: content makes an alert of a data push",
		n:        provider.Notification{Badge: -1, APNs: json.RawMessage(`{"em_push_content":"New message","em_push_mutable_content":false}`)},
		wantType: "alert", wantPrio: "10",
		wantPayload: `{"aps":{"alert":{"body":"New message"},"sound":"default"}}`,
	}, {
		name:     "em_apns_ext: null",
		n:        provider.Notification{Body: "hi", Badge: 1, APNs: json.RawMessage(`null`)},
		wantType: "alert", wantPrio: "10",
		wantPayload: `{"aps":{"alert":{"body":"hi"},"badge":1,"sound":"default"}}`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, p := newAPNs(t, providertest.NewClock(t0))
			tt.n.Token = providertest.DeviceToken()
			if err := p.Send(context.Background(), tt.n); err != nil {
				t.Fatal(err)
			}
			pushes := a.Pushes()
			if len(pushes) != 1 {
				t.Fatalf("fake got %d pushes, want 1", len(pushes))
			}
			got := pushes[0]
			if got.Token != tt.n.Token || got.Topic != a.Topic || got.PushType != tt.wantType || got.Priority != tt.wantPrio ||
				got.CollapseID != tt.wantCollapse || got.Expiration != tt.wantExpiration {
				t.Errorf("push %+v,\nwant token %s topic %s type %s priority %s collapse %q expiration %q", got,
					tt.n.Token, a.Topic, tt.wantType, tt.wantPrio, tt.wantCollapse, tt.wantExpiration)
			}
			jsonEqual(t, got.Payload, tt.wantPayload)
		})
	}
}

func TestAPNs_TokenReuse(t *testing.T) {
	clock := providertest.NewClock(t0)
	a, p := newAPNs(t, clock)
	n := provider.Notification{Token: providertest.DeviceToken(), Body: "hi", Badge: 1}
	steps := []struct {
		advance    time.Duration
		sends      int
		wantTokens int
	}{
		{0, 5, 1},
		{49 * time.Minute, 2, 1}, // reused for 50 minutes
		{2 * time.Minute, 2, 2},  // 51: replaced, well before Apple's hour
		{19 * time.Minute, 1, 2}, // never more often than every 20 minutes
		{3 * time.Hour, 1, 3},    // long idle: replaced before use
	}
	for i, s := range steps {
		clock.Advance(s.advance)
		for range s.sends {
			if err := p.Send(context.Background(), n); err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
		}
		if got := a.ProviderTokens(); got != s.wantTokens {
			t.Errorf("step %d: %d provider tokens, want %d", i, got, s.wantTokens)
		}
	}
}

func TestAPNs_ConcurrentSends(t *testing.T) {
	a, p := newAPNs(t, providertest.NewClock(t0))
	const n = 32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			err := p.Send(context.Background(), provider.Notification{Token: providertest.DeviceToken(), Body: strconv.Itoa(i), Badge: i})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := a.ProviderTokens(); got != 1 {
		t.Errorf("%d provider tokens for %d concurrent sends, want 1", got, n)
	}
	if got := len(a.Pushes()); got != n {
		t.Errorf("%d pushes, want %d", got, n)
	}
}

func TestAPNs_ProviderTokenRejected(t *testing.T) {
	clock := providertest.NewClock(t0)
	a, p := newAPNs(t, clock)
	n := provider.Notification{Token: providertest.DeviceToken(), Body: "hi"}
	send := func() error { return p.Send(context.Background(), n) }
	if err := send(); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)

	// Expired: a new token at once, and the push goes through.
	a.ExpireProviderTokens()
	if err := send(); err != nil {
		t.Fatalf("after ExpiredProviderToken: %v", err)
	}
	if got := a.ProviderTokens(); got != 2 {
		t.Fatalf("%d provider tokens, want 2", got)
	}

	// The fresh token rejected too: the credentials are wrong.
	clock.Advance(time.Minute)
	a.FailNext(1, providertest.Failure{Status: http.StatusForbidden, Reason: "InvalidProviderToken"})
	err := send()
	if kindOf(err) != "rejected" {
		t.Fatalf("err = %v, want ErrCredentialsRejected", err)
	}
	// ...and no new token within 20 minutes of the last forced one, so a
	// bad key does not make one per push.
	if err := send(); kindOf(err) != "rejected" {
		t.Fatalf("err = %v, want ErrCredentialsRejected", err)
	}
	if got := a.ProviderTokens(); got != 2 {
		t.Errorf("%d provider tokens, want still 2", got)
	}

	// 20 minutes on, one more try (which works here).
	clock.Advance(20 * time.Minute)
	if err := send(); err != nil {
		t.Fatalf("20 minutes later: %v", err)
	}
	if got := a.ProviderTokens(); got != 3 {
		t.Errorf("%d provider tokens, want 3", got)
	}
	if got := len(a.Pushes()); got != 3 {
		t.Errorf("%d pushes, want 3", got)
	}
}

func TestAPNs_Errors(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(a *providertest.APNs, token string)
		n         provider.Notification
		want      string // kindOf
		wantAfter time.Duration
		wantText  string
	}{
		{name: "unregistered", setup: func(a *providertest.APNs, tok string) { a.Unregister(tok) }, want: "invalid"},
		{name: "bad device token", setup: func(a *providertest.APNs, tok string) { a.BadToken(tok) }, want: "invalid"},
		{name: "400 Unregistered",
			setup: func(a *providertest.APNs, _ string) {
				a.FailNext(1, providertest.Failure{Status: 400, Reason: "Unregistered"})
			},
			want: "invalid"},
		{name: "token not hex", n: provider.Notification{Token: "abc/../../x"}, want: "invalid"},
		{name: "empty token", n: provider.Notification{Token: "-"}, want: "invalid"},
		{name: "503 with Retry-After",
			setup: func(a *providertest.APNs, _ string) {
				a.FailNext(1, providertest.Failure{Status: 503, RetryAfter: "5"})
			},
			want: "retry", wantAfter: 5 * time.Second},
		{name: "429",
			setup: func(a *providertest.APNs, _ string) { a.FailNext(1, providertest.Failure{Status: 429}) },
			want:  "retry", wantText: "TooManyRequests"},
		{name: "500",
			setup: func(a *providertest.APNs, _ string) { a.FailNext(1, providertest.Failure{Status: 500}) },
			want:  "retry"},
		{name: "payload too large", n: provider.Notification{Body: strings.Repeat("x", 5000)},
			want: "permanent", wantText: "PayloadTooLarge"},
		{name: "topic not for the token",
			setup: func(a *providertest.APNs, _ string) {
				a.FailNext(1, providertest.Failure{Status: 400, Reason: "DeviceTokenNotForTopic"})
			}, want: "permanent", wantText: "DeviceTokenNotForTopic"},
		{name: "em_apns_ext not an object", n: provider.Notification{Body: "hi", APNs: json.RawMessage(`[1]`)},
			want: "permanent", wantText: "em_apns_ext"},
		{name: "em_apns_ext badge negative", n: provider.Notification{Body: "hi", APNs: json.RawMessage(`{"em_push_badge":-1}`)},
			want: "permanent", wantText: "em_push_badge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, p := newAPNs(t, providertest.NewClock(t0))
			n := errNotification(tt.n)
			if tt.setup != nil {
				tt.setup(a, n.Token)
			}
			err := p.Send(context.Background(), n)
			errCase{tt.want, tt.wantAfter, tt.wantText}.check(t, err)
			if len(a.Pushes()) != 0 {
				t.Errorf("the fake accepted a push")
			}
		})
	}
}

// The fake speaks for Apple: a client that does not speak HTTP/2 fails.
func TestAPNs_NeedsHTTP2(t *testing.T) {
	a := providertest.NewAPNs(t)
	c := a.Client()
	tr := c.Transport.(*http.Transport).Clone()
	tr.ForceAttemptHTTP2 = false
	tr.TLSClientConfig.NextProtos = nil // offer http/1.1 only
	var h1 http.Protocols
	h1.SetHTTP1(true)
	tr.Protocols = &h1
	p, err := provider.New(a.Credentials(), provider.Options{HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Send(context.Background(), provider.Notification{Token: providertest.DeviceToken(), Body: "hi"})
	if err == nil || !strings.Contains(err.Error(), "HTTP2Required") {
		t.Errorf("err = %v, want HTTP2Required", err)
	}
}

// Without Endpoint, Sandbox picks Apple's address.
func TestAPNs_Endpoint(t *testing.T) {
	a := providertest.NewAPNs(t)
	for _, tt := range []struct {
		sandbox  bool
		endpoint string
		want     string
	}{
		{false, "", "api.push.apple.com"},
		{true, "", "api.sandbox.push.apple.com"},
		{true, "https://apns.example.com:8443/", "apns.example.com:8443"},
	} {
		c := a.Credentials()
		c.Sandbox, c.Endpoint = tt.sandbox, tt.endpoint
		var got string
		client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			got = r.URL.Host + " " + r.URL.Path
			return nil, errors.New("not sending")
		})}
		p, err := provider.New(c, provider.Options{HTTPClient: client})
		if err != nil {
			t.Fatal(err)
		}
		tok := providertest.DeviceToken()
		err = p.Send(context.Background(), provider.Notification{Token: tok, Body: "hi"})
		if kindOf(err) != "retry" {
			t.Errorf("err = %v, want a retry for a network failure", err)
		}
		if strings.Contains(err.Error(), tok) {
			t.Errorf("the error %q shows the device token", err)
		}
		if want := tt.want + " /3/device/" + tok; got != want {
			t.Errorf("sandbox %v endpoint %q: request to %q, want %q", tt.sandbox, tt.endpoint, got, want)
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
