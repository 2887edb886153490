package rest_test

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/messaging"
	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
)

func TestModeration_Flow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *servertest.Server) {
		app := s.App(t, "acme", "chat", tenant.Settings{})
		admin := s.AppToken(t, app)
		base := "/acme/chat"
		for _, u := range []string{"alice", "bob"} {
			expect(t, s.Do(t, "POST", base+"/users", admin, map[string]string{"username": u, "password": "pw"}), 200, "")
		}
		r := s.Do(t, "POST", base+"/moderation/keywords", admin, map[string]any{"words": []map[string]string{
			{"word": "Forbidden", "action": "reject"}, {"word": "坏蛋", "action": "replace"}, {"word": "darn", "action": "replace"},
			{"word": "refund", "action": "review"}, {"word": "禁词", "action": "reject"}}})
		expect(t, r, 200, "")
		send := func(typ string, body map[string]any) *servertest.Response {
			return s.Do(t, "POST", base+"/messages/users", admin, map[string]any{"from": "alice", "to": []string{"bob"}, "type": typ, "body": body})
		}
		// Reject: the sender gets content_rejected, nothing is stored.
		expect(t, send("txt", map[string]any{"msg": "this is FORBIDDEN talk"}), 403, "forbidden_op")
		r = send("txt", map[string]any{"msg": "这是禁词吗"}) // a Chinese word inside a sentence without spaces
		expect(t, r, 403, "forbidden_op")
		if r.Str("code") != "content_rejected" {
			t.Fatalf("code: %s", r.Raw)
		}
		expect(t, send("custom", map[string]any{"customEvent": "gift", "customExts": map[string]string{"note": "a forbidden gift"}}), 403, "forbidden_op")
		// Replace: masked in what is stored and delivered.
		r = send("txt", map[string]any{"msg": "你这个坏蛋, darn it"})
		expect(t, r, 200, "")
		maskedID := r.Body["data"].(map[string]any)["bob"].(string)
		r = send("custom", map[string]any{"customEvent": "gift", "customExts": map[string]string{"note": "Darn坏蛋"}})
		expect(t, r, 200, "")
		// Review: delivered as is, and flagged.
		expect(t, send("txt", map[string]any{"msg": "I want a REFUND"}), 200, "")

		raw := lookup(t, s, "alice", "bob")
		for _, want := range []string{`你这个**, **** it`, `"note":"******"`, `I want a REFUND`} {
			if !strings.Contains(raw, want) {
				t.Errorf("history lacks %q: %s", want, raw)
			}
		}
		if strings.Contains(raw, "坏蛋") || strings.Contains(strings.ToLower(raw), "forbidden") {
			t.Errorf("history holds a masked or rejected word: %s", raw)
		}
		bobTok := userToken(t, s, base, "bob")

		// Nicknames: reject and mask.
		expect(t, s.Do(t, "PUT", base+"/users/alice", admin, map[string]string{"nickname": "forbidden one"}), 403, "forbidden_op")
		expect(t, s.Do(t, "POST", base+"/users", admin, map[string]string{"username": "carol", "password": "pw", "nickname": "禁词"}), 403, "forbidden_op")
		r = s.Do(t, "PUT", base+"/users/alice", admin, map[string]string{"nickname": "小坏蛋"})
		expect(t, r, 200, "")
		if !strings.Contains(string(r.Raw), `"nickname":"小**"`) {
			t.Fatalf("nickname not masked: %s", r.Raw)
		}

		// Reports: by the user (own token) and by the app; a stranger may not report a 1:1 message.
		expect(t, s.Do(t, "POST", base+"/user/bob/moderation/report/message", bobTok,
			map[string]string{"msgId": maskedID, "type": "abuse", "reason": "rude"}), 200, "")
		expect(t, s.Do(t, "POST", base+"/user/bob/moderation/report/message", admin, map[string]string{"msgId": maskedID}), 200, "")
		expect(t, s.Do(t, "POST", base+"/users", admin, map[string]string{"username": "dave", "password": "pw"}), 200, "")
		expect(t, s.Do(t, "POST", base+"/user/dave/moderation/report/message", userToken(t, s, base, "dave"),
			map[string]string{"msgId": maskedID}), 404, "")
		expect(t, s.Do(t, "POST", base+"/user/alice/moderation/report/message", bobTok, map[string]string{"msgId": maskedID}), 403, "")

		r = s.Do(t, "GET", base+"/moderation/records?kind=report", admin, nil)
		expect(t, r, 200, "")
		recs := r.Body["data"].(map[string]any)["records"].([]any)
		if len(recs) != 2 {
			t.Fatalf("reports: %s", r.Raw)
		}
		rep := recs[1].(map[string]any)
		if rep["msg_id"] != maskedID || rep["reporter"] != "bob" || rep["reason"] != "abuse: rude" || rep["from"] != "alice" ||
			rep["to"] != "bob" || !strings.Contains(rep["content"].(string), "**") {
			t.Fatalf("report: %v", rep)
		}
		r = s.Do(t, "GET", base+"/moderation/records?kind=flag", admin, nil)
		recs = r.Body["data"].(map[string]any)["records"].([]any)
		if len(recs) != 1 || recs[0].(map[string]any)["words"] != "refund" || recs[0].(map[string]any)["from"] != "alice" {
			t.Fatalf("flags: %s", r.Raw)
		}
		expect(t, s.Do(t, "GET", base+"/moderation/records", bobTok, nil), 403, "")

		// Listing, search and paging; removal lets the word through.
		r = s.Do(t, "GET", base+"/moderation/keywords?limit=2", admin, nil)
		expect(t, r, 200, "")
		words := r.Body["data"].(map[string]any)["words"].([]any)
		cursor := r.Str("cursor")
		if len(words) != 2 || cursor == "" {
			t.Fatalf("page 1: %s", r.Raw)
		}
		seen := len(words)
		for cursor != "" {
			r = s.Do(t, "GET", base+"/moderation/keywords?limit=2&cursor="+url.QueryEscape(cursor), admin, nil)
			expect(t, r, 200, "")
			seen += len(r.Body["data"].(map[string]any)["words"].([]any))
			cursor = r.Str("cursor")
		}
		if seen != 5 {
			t.Fatalf("paged through %d words", seen)
		}
		r = s.Do(t, "GET", base+"/moderation/keywords?q="+url.QueryEscape("坏"), admin, nil)
		if words := r.Body["data"].(map[string]any)["words"].([]any); len(words) != 1 || words[0].(map[string]any)["action"] != "replace" {
			t.Fatalf("search: %s", r.Raw)
		}
		r = s.Do(t, "DELETE", base+"/moderation/keywords", admin, map[string]any{"words": []string{"FORBIDDEN", "nope"}})
		expect(t, r, 200, "")
		if r.Body["data"].(map[string]any)["removed"] != float64(1) {
			t.Fatalf("remove: %s", r.Raw)
		}
		expect(t, send("txt", map[string]any{"msg": "forbidden no more"}), 200, "")
	})
}

func TestModeration_Validation(t *testing.T) {
	s := servertest.StartBackend(t, "sqlite")
	app := s.App(t, "acme", "chat", tenant.Settings{})
	admin := s.AppToken(t, app)
	base := "/acme/chat"
	expect(t, s.Do(t, "POST", base+"/users", admin, map[string]string{"username": "bob", "password": "pw"}), 200, "")
	bob := userToken(t, s, base, "bob")
	long := strings.Repeat("长", 65)
	tests := []struct {
		name, method, path, token string
		body                      any
		status                    int
		code                      string
	}{
		{"no words", "POST", "/moderation/keywords", admin, map[string]any{"words": []any{}}, 400, "illegal_argument"},
		{"bad action", "POST", "/moderation/keywords", admin, map[string]any{"words": []map[string]string{{"word": "x", "action": "ban"}}}, 400, "illegal_argument"},
		{"empty word", "POST", "/moderation/keywords", admin, map[string]any{"words": []map[string]string{{"word": "  ", "action": "reject"}}}, 400, "illegal_argument"},
		{"long word", "POST", "/moderation/keywords", admin, map[string]any{"words": []map[string]string{{"word": long, "action": "reject"}}}, 400, "illegal_argument"},
		{"unknown field", "POST", "/moderation/keywords", admin, map[string]any{"list": []string{"x"}}, 400, "illegal_argument"},
		{"not JSON", "POST", "/moderation/keywords", admin, "{", 400, "invalid_request_body"},
		{"user token", "POST", "/moderation/keywords", bob, map[string]any{"words": []map[string]string{{"word": "x", "action": "reject"}}}, 403, "forbidden_op"},
		{"no token", "GET", "/moderation/keywords", "", nil, 401, "unauthorized"},
		{"bad limit", "GET", "/moderation/keywords?limit=0x", admin, nil, 400, "illegal_argument"},
		{"limit too big", "GET", "/moderation/keywords?limit=5000", admin, nil, 400, "illegal_argument"},
		{"bad cursor", "GET", "/moderation/keywords?cursor=%25%25", admin, nil, 400, "illegal_argument"},
		{"remove none", "DELETE", "/moderation/keywords", admin, map[string]any{"words": []string{}}, 400, "illegal_argument"},
		{"bad kind", "GET", "/moderation/records?kind=spam", admin, nil, 400, "illegal_argument"},
		{"bad record cursor", "GET", "/moderation/records?cursor=x", admin, nil, 400, "illegal_argument"},
		{"report bad id", "POST", "/user/bob/moderation/report/message", bob, map[string]string{"msgId": "abc"}, 400, "illegal_argument"},
		{"report missing", "POST", "/user/bob/moderation/report/message", bob, map[string]string{"msgId": "12345"}, 404, "service_resource_not_found"},
		{"report long reason", "POST", "/user/bob/moderation/report/message", bob, map[string]string{"msgId": "1", "reason": strings.Repeat("x", 501)}, 400, "illegal_argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, s.Do(t, tc.method, base+tc.path, tc.token, tc.body), tc.status, tc.code)
		})
	}
}

func userToken(t *testing.T, s *servertest.Server, base, u string) string {
	t.Helper()
	r := s.Do(t, "POST", base+"/token", "", map[string]string{"grant_type": "password", "username": u, "password": "pw"})
	expect(t, r, 200, "")
	return r.Str("access_token")
}

// lookup returns the 1:1 conversation of user and peer of app acme/chat as
// the console's lookup shows it (JSON, newest first).
func lookup(t *testing.T, s *servertest.Server, user, peer string) string {
	t.Helper()
	ctx := context.Background()
	app, err := s.Apps.Resolve(ctx, "acme", "chat")
	if err != nil {
		t.Fatal(err)
	}
	page, err := s.Messages.Lookup(ctx, &tenant.Principal{App: app, Admin: true}, messaging.LookupQuery{User: user, Peer: peer, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(page.Items)
	return string(b)
}
