package rest_test

import (
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
)

// An edit cannot bring in what a send could not: edits pass the keyword list.
func TestModeration_Edits(t *testing.T) {
	s := servertest.StartBackend(t, "sqlite")
	app := s.App(t, "acme", "chat", tenant.Settings{})
	admin := s.AppToken(t, app)
	base := "/acme/chat"
	for _, u := range []string{"alice", "bob"} {
		expect(t, s.Do(t, "POST", base+"/users", admin, map[string]string{"username": u, "password": "pw"}), 200, "")
	}
	expect(t, s.Do(t, "POST", base+"/moderation/keywords", admin, map[string]any{"words": []map[string]string{
		{"word": "forbidden", "action": "reject"}, {"word": "坏蛋", "action": "replace"}, {"word": "refund", "action": "review"}}}), 200, "")
	r := s.Do(t, "POST", base+"/messages/users", admin, map[string]any{"from": "alice", "to": []string{"bob"}, "type": "txt",
		"body": map[string]string{"msg": "hello"}})
	expect(t, r, 200, "")
	id := r.Body["data"].(map[string]any)["bob"].(string)
	edit := func(text string) *servertest.Response {
		return s.Do(t, "PUT", base+"/messages/rewrite/"+id, admin, map[string]any{"new_msg": map[string]string{"type": "txt", "msg": text}})
	}
	r = edit("now it is FORBIDDEN")
	expect(t, r, 403, "forbidden_op")
	if r.Str("code") != "content_rejected" {
		t.Fatalf("code: %s", r.Raw)
	}
	expect(t, edit("你是坏蛋, refund"), 200, "")
	raw := lookup(t, s, "alice", "bob")
	if !strings.Contains(raw, "你是**, refund") || strings.Contains(raw, "坏蛋") || strings.Contains(raw, "FORBIDDEN") {
		t.Fatalf("history after edits: %s", raw)
	}
	r = s.Do(t, "GET", base+"/moderation/records?kind=flag", admin, nil)
	recs := r.Body["data"].(map[string]any)["records"].([]any)
	if len(recs) != 1 || recs[0].(map[string]any)["msg_id"] != id {
		t.Fatalf("edit flag: %s", r.Raw)
	}
}
