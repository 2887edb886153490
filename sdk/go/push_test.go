package parley

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/protocol"
)

// noREST fails the test if the Client makes an HTTP request.
type noREST struct{ t *testing.T }

func (n noREST) RoundTrip(r *http.Request) (*http.Response, error) {
	n.t.Errorf("unexpected request %s %s", r.Method, r.URL)
	return nil, http.ErrNotSupported
}

// Push calls the server would refuse, or that would do something else than
// asked (a token without a notifier unbinds), fail without a request.
func TestClient_PushLocalChecks(t *testing.T) {
	f := newFakeServer(t)
	cfg := f.config("alice")
	cfg.HTTPClient = &http.Client{Transport: noREST{t}}
	alice, _ := dialT(t, cfg, nil)
	ctx := context.Background()
	long := strings.Repeat("x", 129)
	setting := func(ch NotificationChange) func() error {
		return func() error { _, err := alice.SetDefaultNotification(ctx, ch); return err }
	}
	tests := []struct {
		name string
		call func() error
	}{
		{"bind without a token", func() error { _, err := alice.BindPushDevice(ctx, "fcm", ""); return err }},
		{"bind without a notifier", func() error { _, err := alice.BindPushDevice(ctx, "", "tok"); return err }},
		{"bind to a notifier with a slash", func() error { _, err := alice.BindPushDevice(ctx, "a/b", "tok"); return err }},
		{"bind to a long notifier", func() error { _, err := alice.BindPushDevice(ctx, long[:65], "tok"); return err }},
		{"bind a long token", func() error {
			_, err := alice.BindPushDevice(ctx, "fcm", strings.Repeat("t", 4097))
			return err
		}},
		{"bind a long device ID", func() error {
			_, err := alice.SetPushBinding(ctx, PushBinding{DeviceID: long, Notifier: "fcm", Token: "tok"})
			return err
		}},
		{"peer setting for nobody", func() error { _, err := alice.PeerNotification(ctx, ""); return err }},
		{"peer setting for oneself", func() error {
			_, err := alice.SetPeerNotification(ctx, "Alice", NotificationChange{Mode: NotifyNone})
			return err
		}},
		{"group setting for no group", func() error {
			_, err := alice.SetGroupNotification(ctx, "", NotificationChange{Mode: NotifyNone})
			return err
		}},
		{"read the setting of no group", func() error { _, err := alice.GroupNotification(ctx, ""); return err }},
		{"an empty change", setting(NotificationChange{})},
		{"an unknown mode", setting(NotificationChange{Mode: "none"})},
		{"quiet hours that start and end together", setting(NotificationChange{QuietHours: &QuietHours{Start: time.Hour, End: time.Hour}})},
		{"quiet hours past the day", setting(NotificationChange{QuietHours: &QuietHours{Start: 22 * time.Hour, End: 24 * time.Hour}})},
		{"quiet hours before midnight", setting(NotificationChange{QuietHours: &QuietHours{Start: -time.Minute, End: time.Hour}})},
		{"quiet hours in seconds", setting(NotificationChange{QuietHours: &QuietHours{Start: time.Hour + time.Second, End: 2 * time.Hour}})},
		{"a negative silence", setting(NotificationChange{Silence: new(-time.Second)})},
		{"a silence over 7 days", setting(NotificationChange{Silence: new(MaxSilence + time.Millisecond)})},
		{"a long language", func() error { return alice.SetPushLanguage(ctx, "en-GB-oxendict-xx") }},
		{"a long template name", func() error { return alice.SetPushTemplate(ctx, strings.Repeat("t", 65)) }},
		{"a long nickname", func() error { return alice.SetPushNickname(ctx, strings.Repeat("é", 101)) }},
		{"a nickname that is not UTF-8", func() error { return alice.SetPushNickname(ctx, "\xff") }},
		{"an unknown display style", func() error { return alice.SetPushDisplayStyle(ctx, 2) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if err == nil {
				t.Fatal("no error")
			}
			var e *Error
			if errors.As(err, &e) || !strings.HasPrefix(err.Error(), "parley: ") {
				t.Fatalf("error %q: want a local error", err)
			}
		})
	}
}

// A change becomes the REST body the server documents: only the fields
// that are set, quiet hours as H:MM-H:MM, the silence in whole ms.
func TestNotificationChange_Wire(t *testing.T) {
	tests := []struct {
		ch   NotificationChange
		want string
	}{
		{NotificationChange{Mode: NotifyNone}, `{"type":"NONE"}`},
		{NotificationChange{Mode: NotifyMentions, Silence: new(time.Duration(0))}, `{"ignoreDuration":0,"type":"AT"}`},
		{NotificationChange{QuietHours: &QuietHours{Start: 22 * time.Hour, End: 7*time.Hour + 30*time.Minute}},
			`{"ignoreInterval":"22:00-7:30"}`},
		{NotificationChange{QuietHours: &QuietHours{}}, `{"ignoreInterval":""}`},
		{NotificationChange{QuietHours: &QuietHours{Start: 0, End: 23*time.Hour + 59*time.Minute}}, `{"ignoreInterval":"0:00-23:59"}`},
		{NotificationChange{Silence: new(time.Hour)}, `{"ignoreDuration":3600000}`},
		{NotificationChange{Silence: new(time.Microsecond)}, `{"ignoreDuration":1}`}, // rounded up: not "no silence"
		{NotificationChange{Silence: new(MaxSilence)}, `{"ignoreDuration":604800000}`},
		{NotificationChange{Mode: NotifyDefault, QuietHours: &QuietHours{Start: time.Minute, End: 0}, Silence: new(time.Second)},
			`{"ignoreDuration":1000,"ignoreInterval":"0:01-0:00","type":"DEFAULT"}`},
	}
	for _, tt := range tests {
		body, err := tt.ch.wire()
		if err != nil {
			t.Errorf("%+v: %v", tt.ch, err)
			continue
		}
		got, _ := json.Marshal(body)
		if string(got) != tt.want {
			t.Errorf("%+v: body %s, want %s", tt.ch, got, tt.want)
		}
	}
}

// Quiet hours read back as the server accepts them: minutes optional,
// 24 meaning midnight.
func TestParseQuietHours(t *testing.T) {
	tests := []struct {
		in   string
		want *QuietHours // nil: none
		bad  bool
	}{
		{"", nil, false},
		{"22:00-7:30", &QuietHours{22 * time.Hour, 7*time.Hour + 30*time.Minute}, false},
		{"8-9", &QuietHours{8 * time.Hour, 9 * time.Hour}, false},
		{" 8:5 - 24:0", &QuietHours{8*time.Hour + 5*time.Minute, 0}, false},
		{"8:00", nil, true},
		{"8:60-9:00", nil, true},
		{"25:00-1:00", nil, true},
		{"a-b", nil, true},
	}
	for _, tt := range tests {
		got, err := parseQuietHours(tt.in)
		if tt.bad {
			if err == nil {
				t.Errorf("parseQuietHours(%q) = %v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || (got == nil) != (tt.want == nil) || (got != nil && *got != *tt.want) {
			t.Errorf("parseQuietHours(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if got != nil {
			if back, err := parseQuietHours(got.String()); err != nil || *back != *got {
				t.Errorf("%v does not survive a round trip: %v, %v", got, back, err)
			}
		}
	}
}

// framesSince returns a user's frame kinds from index i of the fake's log,
// without pings and delivered receipts.
func (f *fakeServer) framesSince(user string, i int) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, fr := range f.frames[min(i, len(f.frames)):] {
		if t, ok := strings.CutPrefix(fr, user+" "); ok && t != protocol.FramePing && t != protocol.FrameDelivered {
			out = append(out, t)
		}
	}
	return out
}

func (f *fakeServer) frameCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.frames)
}

// reconnectT drops c's connection, waits for the resync after it and
// returns the fake's frame count from before. l must have c's earlier
// resyncs.
func (f *fakeServer) reconnectT(t *testing.T, c *Client, l *EventLog) int {
	t.Helper()
	n := 0
	for _, ev := range l.Events() {
		if ce, ok := ev.(ConnectionEvent); ok && ce.State == Resynced {
			n++
		}
	}
	at := f.frameCount()
	DropConnection(c)
	l.WaitFor(t, "the resync", HasConnState(Resynced, n+1))
	return at
}

// startsWith fails unless a user's frames from index at start with kinds.
func (f *fakeServer) startsWith(t *testing.T, what, user string, at int, kinds ...string) {
	t.Helper()
	got := f.framesSince(user, at)
	if len(got) < len(kinds) || !slices.Equal(got[:len(kinds)], kinds) {
		t.Fatalf("%s: frames %v, want %v first", what, got, kinds)
	}
}

// The server forgets the background state with each connection: the Client
// tells every new connection right after auth, before it syncs, while the
// application is in the background, and nothing while it is not.
func TestClient_BackgroundRestored(t *testing.T) {
	f := newFakeServer(t)
	cfg := f.config("alice")
	cfg.Background = true
	alice, l := dialT(t, cfg, nil)
	l.WaitFor(t, "the first sync", HasConnState(Resynced, 1))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	restored := []string{protocol.FrameAuth, protocol.FrameBackground, protocol.FrameSync}
	f.startsWith(t, "Config.Background", "alice", 0, restored...)
	at := f.reconnectT(t, alice, l)
	f.startsWith(t, "after a reconnect", "alice", at, restored...)

	at = f.frameCount()
	if err := alice.SetBackground(ctx, false); err != nil {
		t.Fatal(err)
	}
	f.startsWith(t, "SetBackground(false)", "alice", at, protocol.FrameBackground)
	if f.background("alice") {
		t.Fatal("the server was not told the foreground")
	}
	at = f.reconnectT(t, alice, l)
	if got := f.framesSince("alice", at); slices.Contains(got, protocol.FrameBackground) {
		t.Fatalf("a Client in the foreground sent the background state: %v", got)
	}

	if err := alice.SetBackground(ctx, true); err != nil {
		t.Fatal(err)
	}
	at = f.reconnectT(t, alice, l)
	f.startsWith(t, "after SetBackground(true) and a reconnect", "alice", at, restored...)
	if !f.background("alice") {
		t.Fatal("the server was not told the background")
	}
}

// The state is kept when SetBackground cannot reach the server (its
// context ends while the Client is offline), and the next connection gets
// it. Concurrent calls are applied one at a time: the server ends with the
// state the Client keeps.
func TestClient_BackgroundWhileOffline(t *testing.T) {
	f := newFakeServer(t)
	alice, l := dialT(t, f.config("alice"), nil)
	offline := make(chan struct{})
	SetBeforeDial(alice, func() error {
		select {
		case <-offline:
			return nil
		default:
			return errors.New("offline")
		}
	})
	at := f.frameCount()
	DropConnection(alice)
	l.WaitFor(t, "the disconnect", HasConnState(Disconnected, 1))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	err := alice.SetBackground(ctx, true)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SetBackground offline: %v, want the context's error", err)
	}
	close(offline)
	l.WaitFor(t, "the resync", HasConnState(Resynced, 2))
	f.startsWith(t, "after reconnecting", "alice", at, protocol.FrameAuth, protocol.FrameBackground, protocol.FrameSync)

	// Offline again: a call waits for the connection while a later one
	// gives up waiting for its turn; the server still ends with the later
	// state.
	offline = make(chan struct{})
	DropConnection(alice)
	l.WaitFor(t, "the disconnect", HasConnState(Disconnected, 2))
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	first := make(chan error, 1)
	go func() { first <- alice.SetBackground(ctx, true) }()
	for len(alice.bgTurn) == 0 { // the first call has its turn
		time.Sleep(time.Millisecond)
	}
	short, stop := context.WithTimeout(ctx, 50*time.Millisecond)
	err = alice.SetBackground(short, false)
	stop()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("SetBackground waiting for its turn: %v, want the context's error", err)
	}
	close(offline)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	if f.background("alice") {
		t.Fatal("the server was left in the background; the application said foreground last")
	}

	errs := make(chan error, 20)
	for i := range 20 {
		go func() { errs <- alice.SetBackground(ctx, i%2 == 0) }()
	}
	for range 20 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	alice.mu.Lock()
	on := alice.background
	alice.mu.Unlock()
	if got := f.background("alice"); got != on {
		t.Fatalf("the Client keeps background=%v, the server was told %v last", on, got)
	}
}
