package ratelimit

import (
	"errors"
	"net/http"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/protocol"
)

func TestParseRate(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Rate
		str     string
		wantErr bool
	}{
		{"100/s", Rate{100, 100}, "100/s", false},
		{"10/m", Rate{10.0 / 60, 10}, "10/m", false},
		{"100/s burst 200", Rate{100, 200}, "100/s burst 200", false},
		{" 5/s  BURST 1 ", Rate{5, 1}, "5/s burst 1", false},
		{"off", Rate{}, "off", false},
		{"OFF", Rate{}, "off", false},
		{"", Rate{}, "", true},
		{"0/s", Rate{}, "", true},
		{"-1/s", Rate{}, "", true},
		{"1000001/s", Rate{}, "", true},
		{"10/h", Rate{}, "", true},
		{"10", Rate{}, "", true},
		{"10/s burst", Rate{}, "", true},
		{"10/s burst 0", Rate{}, "", true},
		{"10/s burst x", Rate{}, "", true},
		{"10/s bursty 3", Rate{}, "", true},
		{"1.5/s", Rate{}, "", true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseRate(tc.in)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if s := got.String(); s != tc.str {
				t.Fatalf("String() = %q, want %q", s, tc.str)
			}
			if back, err := ParseRate(got.String()); err != nil || back != got {
				t.Fatalf("round trip: %+v, %v", back, err)
			}
		})
	}
}

func TestRate_Share(t *testing.T) {
	for _, tc := range []struct {
		r    Rate
		n    int
		want Rate
	}{
		{Rate{100, 200}, 1, Rate{100, 200}},
		{Rate{100, 200}, 0, Rate{100, 200}},
		{Rate{100, 200}, 4, Rate{25, 50}},
		{Rate{3, 3}, 4, Rate{0.75, 1}},
		{Rate{}, 3, Rate{}},
	} {
		if got := tc.r.Share(tc.n); got != tc.want {
			t.Errorf("%+v.Share(%d) = %+v, want %+v", tc.r, tc.n, got, tc.want)
		}
	}
}

func TestBucket_Take(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	type step struct {
		at   time.Duration // since t0
		r    Rate
		want time.Duration // 0: allowed
	}
	r := Rate{PerSecond: 10, Burst: 3}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"burst then refused", []step{{0, r, 0}, {0, r, 0}, {0, r, 0}, {0, r, 100 * time.Millisecond}}},
		{"refill at the rate", []step{{0, r, 0}, {0, r, 0}, {0, r, 0}, {50 * time.Millisecond, r, 50 * time.Millisecond},
			{100 * time.Millisecond, r, 0}, {100 * time.Millisecond, r, 100 * time.Millisecond}}},
		{"refill capped at the burst", []step{{0, r, 0}, {time.Hour, r, 0}, {time.Hour, r, 0}, {time.Hour, r, 0},
			{time.Hour, r, 100 * time.Millisecond}}},
		{"refused takes nothing", []step{{0, Rate{1, 1}, 0}, {500 * time.Millisecond, Rate{1, 1}, 500 * time.Millisecond},
			{500 * time.Millisecond, Rate{1, 1}, 500 * time.Millisecond}, {time.Second, Rate{1, 1}, 0}}},
		{"unlimited", []step{{0, Rate{}, 0}, {0, Rate{}, 0}, {0, Rate{}, 0}}},
		{"burst lowered", []step{{0, Rate{10, 100}, 0}, {0, Rate{10, 1}, 0}, {0, Rate{10, 1}, 100 * time.Millisecond}}},
		{"per minute", []step{{0, Rate{1.0 / 6, 1}, 0}, {time.Second, Rate{1.0 / 6, 1}, 5 * time.Second},
			{6 * time.Second, Rate{1.0 / 6, 1}, 0}}},
		{"clock going back", []step{{time.Second, r, 0}, {0, r, 0}, {0, r, 0}, {0, r, 100 * time.Millisecond}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b Bucket
			for i, s := range tc.steps {
				got := b.Take(s.r, t0.Add(s.at))
				if d := got - s.want; d < -time.Millisecond || d > time.Millisecond {
					t.Fatalf("step %d: Take = %v, want %v", i, got, s.want)
				}
			}
		})
	}
}

func TestLimiter_Take(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	r := Rate{PerSecond: 1, Burst: 2}
	l := NewLimiter(1000)
	// Keys are independent.
	for _, k := range []string{"a", "a", "b", "b"} {
		if w := l.Take(k, r, t0); w != 0 {
			t.Fatalf("%s refused early: %v", k, w)
		}
	}
	if w := l.Take("a", r, t0); w == 0 {
		t.Fatal("a over its burst was let through")
	}
	if w := l.Take("c", r, t0); w != 0 {
		t.Fatal("a fresh key was refused")
	}
}

// Buckets that have refilled are forgotten; the map never exceeds MaxKeys.
func TestLimiter_Bounded(t *testing.T) {
	t0 := time.Unix(1_000_000, 0)
	r := Rate{PerSecond: 10, Burst: 10}
	for _, tc := range []struct {
		name     string
		keys     int
		max      int
		later    time.Duration // one more Take this long after the flood
		wantLeft int           // buckets left after it (-1: any up to max)
	}{
		{"idle buckets expire", 500, 1000, sweepEvery + time.Second, 1},
		{"live buckets are kept", 500, 1000, 100 * time.Millisecond, 501},
		{"flood of keys stays bounded", 5000, 1000, 0, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := NewLimiter(tc.max)
			for i := range tc.keys {
				l.Take("k"+strconv.Itoa(i), r, t0)
				if n := l.Len(); n > tc.max {
					t.Fatalf("%d buckets held, max %d", n, tc.max)
				}
			}
			l.Take("last", r, t0.Add(tc.later))
			n := l.Len()
			if tc.wantLeft >= 0 && n != tc.wantLeft {
				t.Fatalf("%d buckets left, want %d", n, tc.wantLeft)
			}
			if n > tc.max {
				t.Fatalf("%d buckets held, max %d", n, tc.max)
			}
		})
	}
}

func TestPolicy(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	loop := netip.MustParsePrefix("127.0.0.0/8")
	nodes := 1
	var refused []string
	p := NewPolicy(Policy{Enabled: true, User: Rate{1, 2}, Anonymous: Rate{1, 1}, SignIn: Rate{1, 3},
		Exempt: []netip.Prefix{loop}, Nodes: func() int { return nodes }, Now: func() time.Time { return now },
		OnRefused: func(l string) { refused = append(refused, l) }}, 1000)
	type call func() error
	app := func(id int64, r Rate) call { return func() error { return p.App(id, "o#a", "default", r) } }
	user := func(app, u int64) call { return func() error { return p.UserRequest(app, u) } }
	signIn := func(ip string) call { return func() error { return p.SignInAttempt(ip) } }
	anon := func(ip string) call { return func() error { return p.AnonymousRequest(ip) } }
	for _, tc := range []struct {
		name    string
		nodes   int
		calls   []call
		refused []bool
	}{
		{"app burst", 1, []call{app(1, Rate{10, 3}), app(1, Rate{10, 3}), app(1, Rate{10, 3}), app(1, Rate{10, 3}), app(2, Rate{10, 3})},
			[]bool{false, false, false, true, false}},
		{"app share of three nodes", 3, []call{app(3, Rate{30, 6}), app(3, Rate{30, 6}), app(3, Rate{30, 6})},
			[]bool{false, false, true}},
		{"app unlimited", 1, []call{app(4, Rate{}), app(4, Rate{}), app(4, Rate{})}, []bool{false, false, false}},
		{"user", 1, []call{user(1, 1), user(1, 1), user(1, 1), user(1, 2), user(2, 1)}, []bool{false, false, true, false, false}},
		{"sign-in per address", 1, []call{signIn("10.0.0.1"), signIn("10.0.0.1"), signIn("10.0.0.1"), signIn("10.0.0.1"), signIn("10.0.0.2")},
			[]bool{false, false, false, true, false}},
		{"sign-in and anonymous are separate", 1, []call{anon("10.0.0.3"), signIn("10.0.0.3"), anon("10.0.0.3")},
			[]bool{false, false, true}},
		{"IPv6 /64 shares a bucket", 1, []call{anon("2001:db8::1"), anon("2001:db8::2"), anon("2001:db8:0:1::1")},
			[]bool{false, true, false}},
		{"exempt address", 1, []call{anon("127.0.0.1"), anon("127.0.0.1"), anon("127.0.0.1")}, []bool{false, false, false}},
		{"unknown address", 1, []call{anon(""), anon(""), anon("")}, []bool{false, false, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nodes = tc.nodes
			for i, c := range tc.calls {
				err := c()
				if (err != nil) != tc.refused[i] {
					t.Fatalf("call %d: err = %v, want refused %v", i, err, tc.refused[i])
				}
				if err == nil {
					continue
				}
				var le *Error
				if !errors.As(err, &le) || le.RetryAfter <= 0 || le.RetrySeconds() < 1 {
					t.Fatalf("call %d: %#v is not a rate limit error with a retry time", i, err)
				}
				if !errs.Is(err, protocol.ErrRateLimited) {
					t.Fatalf("call %d: %v is not rate_limited", i, err)
				}
			}
		})
	}
	if len(refused) == 0 {
		t.Fatal("OnRefused was never called")
	}
	var off *Policy
	if err := off.App(1, "o#a", "default", Rate{1, 1}); err != nil {
		t.Fatal("a nil policy limited")
	}
	disabled := NewPolicy(Policy{User: Rate{1, 1}}, 10)
	for range 3 {
		if disabled.UserRequest(1, 1) != nil {
			t.Fatal("a disabled policy limited")
		}
	}
}

func TestClientIP(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, tc := range []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"direct", "203.0.113.5:1234", nil, "203.0.113.5"},
		{"direct ignores X-Forwarded-For", "203.0.113.5:1234", []string{"198.51.100.1"}, "203.0.113.5"},
		{"through a trusted proxy", "10.0.0.2:1234", []string{"198.51.100.1"}, "198.51.100.1"},
		{"spoofed hop before the real one", "10.0.0.2:1234", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		{"two trusted proxies", "10.0.0.2:1234", []string{"198.51.100.1", "10.0.0.9"}, "198.51.100.1"},
		{"garbage hop stops", "10.0.0.2:1234", []string{"198.51.100.1, junk"}, "10.0.0.2"},
		{"IPv4-mapped", "[::ffff:203.0.113.5]:1", nil, "203.0.113.5"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &http.Request{RemoteAddr: tc.remote, Header: http.Header{}}
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := ClientIP(r, proxies); got != tc.want {
				t.Fatalf("ClientIP = %q, want %q", got, tc.want)
			}
		})
	}
}
