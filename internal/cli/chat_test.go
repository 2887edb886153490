package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/internal/testutil"
	"github.com/parleyim/parley/internal/testutil/testcert"
	"github.com/parleyim/parley/protocol"
	parley "github.com/parleyim/parley/sdk/go"
)

func TestParseChatFlags(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want chatOptions
		err  string
	}{
		{"all flags", []string{"--url", "http://h:1", "--org", "o", "--app", "a", "--user", "u", "--password", "p", "--to", "Bob"},
			nil, chatOptions{url: "http://h:1", org: "o", app: "a", user: "u", password: "p", to: "Bob"}, ""},
		{"password from the environment", []string{"--org", "o", "--app", "a", "--user", "u"},
			map[string]string{"PARLEY_PASSWORD": "p"}, chatOptions{url: "http://127.0.0.1:8080", org: "o", app: "a", user: "u", password: "p"}, ""},
		{"ca file", []string{"--url", "https://h", "--ca-file", "ca.pem", "--org", "o", "--app", "a", "--user", "u", "--password", "p"},
			nil, chatOptions{url: "https://h", caFile: "ca.pem", org: "o", app: "a", user: "u", password: "p"}, ""},
		{"missing", []string{"--org", "o"}, nil, chatOptions{}, "missing --app, --user, --password"},
		{"extra arguments", []string{"--org", "o", "x"}, nil, chatOptions{}, "unexpected arguments"},
		{"unknown flag", []string{"--nope"}, nil, chatOptions{}, "not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseChatFlags(tt.args, &bytes.Buffer{}, env(tt.env))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

func TestFormatItem(t *testing.T) {
	ts := time.Date(2024, 1, 2, 15, 4, 5, 0, time.Local).UnixMilli()
	body := func(v any) json.RawMessage { b, _ := json.Marshal(v); return b }
	tests := []struct {
		name string
		it   protocol.Item
		want string
	}{
		{"incoming text", protocol.Item{From: "bob", To: "alice", Seq: 4, MsgID: "99", Type: "txt", TS: ts,
			Body: body(map[string]string{"msg": "hi"})}, "15:04:05 #4 bob: hi [99]"},
		{"own text", protocol.Item{From: "alice", To: "bob", Seq: 5, MsgID: "100", Type: "txt", TS: ts,
			Body: body(map[string]string{"msg": "yo"})}, "15:04:05 #5 you → bob: yo [100]"},
		{"recalled", protocol.Item{From: "bob", Seq: 6, MsgID: "101", Type: "txt", TS: ts, Recalled: true},
			"15:04:05 #6 bob: (recalled) [101]"},
		{"command", protocol.Item{From: "bob", Seq: 7, MsgID: "102", Type: "cmd", TS: ts,
			Body: body(map[string]string{"action": "typing"})}, "15:04:05 #7 bob: (command typing) [102]"},
		{"online only", protocol.Item{From: "bob", Type: "custom", TS: ts, Online: true,
			Body: body(map[string]string{"customEvent": "poke"})}, "15:04:05 bob: (custom poke) (online only)"},
		{"other type", protocol.Item{From: "bob", Seq: 8, MsgID: "103", Type: "img", TS: ts},
			"15:04:05 #8 bob: (img message) [103]"},
	}
	for _, tt := range tests {
		if got := formatItem(&tt.it, "alice"); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}

// syncBuffer is the chat client's output, which a test waits on.
type syncBuffer struct{ testutil.SyncBuffer }

func (s *syncBuffer) waitFor(t *testing.T, re string) []string {
	t.Helper()
	rx := regexp.MustCompile(re)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := rx.FindStringSubmatch(s.String()); m != nil {
			return m
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("output never matched %q:\n%s", re, s.String())
	return nil
}

// eventFeed hands a Client's events to waitFor.
type eventFeed struct{ ch <-chan parley.Event }

func recordEvents(c *parley.Client) *eventFeed { return &eventFeed{ch: c.Events()} }

// waitFor consumes events until match holds for one.
func (f *eventFeed) waitFor(t *testing.T, what string, match func(parley.Event) bool) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-f.ch:
			if !ok {
				t.Fatalf("events closed while waiting for %s", what)
			}
			if match(ev) {
				return
			}
		case <-timeout:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// The terminal client against a real server: alice chats in the terminal,
// bob uses the SDK.
func TestChat_EndToEnd(t *testing.T) {
	s := servertest.StartBackend(t, "sqlite")
	created := s.App(t, "acme", "chat", tenant.Settings{})
	appTok := s.AppToken(t, created)
	if r := s.Do(t, "POST", "/acme/chat/users", appTok, []map[string]string{
		{"username": "alice", "password": "pw-alice"}, {"username": "bob", "password": "pw-bob"}}); r.Status != 200 {
		t.Fatalf("register: %d %s", r.Status, r.Raw)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bob, err := parley.Dial(ctx, parley.Config{BaseURL: s.URL, Org: "acme", App: "chat", Username: "bob", Password: "pw-bob"})
	if err != nil {
		t.Fatal(err)
	}
	defer bob.Close()
	bobEvents := recordEvents(bob)

	in, typing := io.Pipe()
	out := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- runChat(ctx, chatOptions{url: s.URL, org: "acme", app: "chat", user: "alice", password: "pw-alice"}, in, out)
	}()
	say := func(line string) {
		if _, err := io.WriteString(typing, line+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	out.waitFor(t, `signed in as alice`)
	say("hello?")
	out.waitFor(t, `nobody to send to`)
	say("/to bob")
	say("hello bob")
	var sent []*protocol.Item
	bobEvents.waitFor(t, "alice's message", func(ev parley.Event) bool {
		if m, ok := ev.(parley.MessageEvent); ok {
			sent = append(sent, m.Item)
			return true
		}
		return false
	})
	if sent[0].From != "alice" || string(sent[0].Body) != `{"msg":"hello bob"}` {
		t.Fatalf("bob got %+v %s", sent[0], sent[0].Body)
	}
	out.waitFor(t, `#1 you → bob: hello bob \[`+sent[0].MsgID+`\]`)
	if _, err := bob.SendText(ctx, "alice", "hi alice"); err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, `#2 bob: hi alice \[\d+\]`)
	if err := bob.MarkRead(ctx, sent[0].ConvID, 0); err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, `bob read up to #2`)
	say("/history")
	out.waitFor(t, `(?s)history with bob:\n  \S+ #1 you → bob: hello bob.*\n  \S+ #2 bob: hi alice`)
	say("/recall " + sent[0].MsgID)
	bobEvents.waitFor(t, "the recall", func(ev parley.Event) bool {
		r, ok := ev.(parley.RecallEvent)
		return ok && r.Item.Target == sent[0].MsgID
	})
	out.waitFor(t, `alice recalled message `+sent[0].MsgID)
	say("/bogus")
	out.waitFor(t, `unknown command /bogus`)
	say("/quit")
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("chat did not quit")
	}
	typing.Close()
}

// parley chat against a server on TLS with a self-signed certificate:
// --ca-file trusts it; without it, or with a file that holds no
// certificate, the client refuses to start.
func TestChat_TLS(t *testing.T) {
	dir := t.TempDir()
	pair := testcert.New(t, "parley")
	cfg := servertest.Config(t, "sqlite")
	cfg.TLS.CertFile, cfg.TLS.KeyFile = pair.Files(t, dir)
	s := servertest.Start(t, cfg)
	created := s.App(t, "acme", "chat", tenant.Settings{})
	if r := s.Do(t, "POST", "/acme/chat/users", s.AppToken(t, created), map[string]string{"username": "alice", "password": "pw-alice"}); r.Status != 200 {
		t.Fatalf("register: %d %s", r.Status, r.Raw)
	}
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	opts := chatOptions{url: s.URL, org: "acme", app: "chat", user: "alice", password: "pw-alice"}
	for _, tc := range []struct{ name, caFile, want string }{
		{"system roots", "", "certificate"},
		{"not PEM", notPEM, "no PEM certificate"},
		{"missing file", filepath.Join(dir, "none.pem"), "--ca-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := opts
			o.caFile = tc.caFile
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := runChat(ctx, o, strings.NewReader(""), io.Discard); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
	o := opts
	o.caFile = cfg.TLS.CertFile
	out := &syncBuffer{}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := runChat(ctx, o, strings.NewReader("/quit\n"), out); err != nil {
		t.Fatal(err)
	}
	out.waitFor(t, `signed in as alice`)
}
