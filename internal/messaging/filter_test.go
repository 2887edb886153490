package messaging_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/messaging"
	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// words refuses "forbidden" and masks "darn" in text messages; it can also
// break a message by returning a body of the wrong shape.
type words struct{ seen []string }

func (w *words) FilterSend(_ context.Context, m *messaging.Outgoing) error {
	w.seen = append(w.seen, m.ChatType+":"+m.From+"->"+strings.Join(m.To, ","))
	if m.Type != protocol.MsgText {
		return nil
	}
	var b struct{ Msg string }
	json.Unmarshal(m.Body, &b)
	switch {
	case strings.Contains(b.Msg, "forbidden"):
		return errs.New(protocol.ErrForbidden, "this message contains a forbidden word")
	case strings.Contains(b.Msg, "darn"):
		m.Body, _ = json.Marshal(map[string]string{"msg": strings.ReplaceAll(b.Msg, "darn", "****")})
	case strings.Contains(b.Msg, "break"):
		m.Body = json.RawMessage(`{"nomsg":1}`)
	}
	return nil
}

func TestFilters(t *testing.T) {
	s := servertest.StartBackend(t, "sqlite")
	f := &words{}
	s.Messages.Filters = append(s.Messages.Filters, f)
	app := s.App(t, "acme", "chat", tenant.Settings{})
	tok := s.AppToken(t, app)
	for _, u := range []string{"alice", "bob"} {
		s.Do(t, "POST", "/acme/chat/users", tok, map[string]string{"username": u, "password": "pw"})
	}
	send := func(text string) *servertest.Response {
		return s.Do(t, "POST", "/acme/chat/messages/users", tok, map[string]any{"from": "alice", "to": []string{"bob"},
			"type": "txt", "body": map[string]string{"msg": text}})
	}
	history := func() []string {
		r := s.Do(t, "GET", "/acme/chat/users/bob/user_channels", tok, nil)
		return []string{string(r.Raw)}
	}
	tests := []struct {
		text, stored string
		refused      bool
		status       int
	}{
		{"hello", "hello", false, 200},
		{"oh darn it", "oh **** it", false, 200},
		{"a forbidden word", "", true, 403},
		{"break the body", "", true, 400}, // a filter cannot store an invalid body
	}
	for _, tc := range tests {
		r := send(tc.text)
		if tc.refused {
			if r.Status != tc.status || r.Str("error_description") == "" {
				t.Fatalf("%q: %d %s, want %d", tc.text, r.Status, r.Raw, tc.status)
			}
			continue
		}
		if r.Status != 200 {
			t.Fatalf("%q: %d %s", tc.text, r.Status, r.Raw)
		}
		if h := history(); !strings.Contains(h[0], tc.stored) {
			t.Fatalf("%q: stored as %s", tc.text, h[0])
		}
	}
	if len(f.seen) != len(tests) || f.seen[0] != "chat:alice->bob" {
		t.Fatalf("filter saw %v", f.seen)
	}
	if h := history(); strings.Contains(h[0], "forbidden") || strings.Contains(h[0], "darn") {
		t.Fatalf("refused or masked text stored: %s", h[0])
	}
}
