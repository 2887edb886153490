package rest_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
)

func TestMessages_REST(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *servertest.Server) {
		app := s.App(t, "acme", "chat", tenant.Settings{})
		admin := s.AppToken(t, app)
		base := "/acme/chat"
		for _, u := range []string{"alice", "bob", "carol"} {
			expect(t, s.Do(t, "POST", base+"/users", admin, map[string]string{"username": u, "password": "pw"}), 200, "")
		}
		r := s.Do(t, "POST", base+"/messages/users", admin, map[string]any{
			"from": "alice", "to": []string{"bob", "carol", "ghost"}, "type": "txt",
			"body": map[string]string{"msg": "hello"}, "ext": map[string]any{"em_ignore_notification": true}})
		expect(t, r, 200, "")
		data := r.Body["data"].(map[string]any)
		if len(data) != 2 || data["bob"] == "" || data["carol"] == "" || data["bob"] == data["carol"] {
			t.Fatalf("send data: %s", r.Raw)
		}
		if failed := r.Body["failed"].(map[string]any); !strings.Contains(failed["ghost"].(string), "not found") {
			t.Fatalf("failed: %s", r.Raw)
		}
		// Without from, the message comes from the system user "admin".
		expect(t, s.Do(t, "POST", base+"/messages/users", admin, map[string]any{
			"to": []string{"bob"}, "type": "cmd", "body": map[string]string{"action": "refresh"}}), 200, "")

		r = s.Do(t, "GET", base+"/users/bob/offline_msg_count", admin, nil)
		if r.Body["data"].(map[string]any)["bob"] != float64(2) {
			t.Fatalf("offline count: %s", r.Raw)
		}
		r = s.Do(t, "GET", base+"/users/bob/user_channels", admin, nil)
		expect(t, r, 200, "")
		chans := r.Body["data"].(map[string]any)["channel_infos"].([]any)
		if len(chans) != 2 || chans[0].(map[string]any)["peer"] != "admin" {
			t.Fatalf("channels: %s", r.Raw)
		}
		// The user may read their own list with a user token, not someone else's.
		bobTok := s.Do(t, "POST", base+"/token", "", map[string]string{"grant_type": "password", "username": "bob", "password": "pw"}).Str("access_token")
		expect(t, s.Do(t, "GET", base+"/users/bob/user_channels", bobTok, nil), 200, "")
		expect(t, s.Do(t, "GET", base+"/users/carol/user_channels", bobTok, nil), 403, "forbidden_op")

		// Admin recall: the msg_recall form, then the array form.
		r = s.Do(t, "POST", base+"/messages/msg_recall", admin, map[string]any{"msg_id": data["bob"], "to": "bob", "chat_type": "chat", "from": "alice"})
		expect(t, r, 200, "")
		if r.Body["data"].(map[string]any)["recalled"] != "yes" {
			t.Fatalf("recall: %s", r.Raw)
		}
		r = s.Do(t, "POST", base+"/messages/recall", admin, map[string]any{"msgs": []map[string]any{
			{"msg_id": data["bob"], "to": "bob", "chat_type": "chat"}, {"msg_id": data["carol"], "to": "carol", "chat_type": "chat", "force": true}}})
		expect(t, r, 200, "")
		msgs := r.Body["data"].(map[string]any)["msgs"].([]any)
		if msgs[0].(map[string]any)["recalled"] == "yes" || msgs[1].(map[string]any)["recalled"] != "yes" {
			t.Fatalf("batch recall: %s", r.Raw)
		}
		r = s.Do(t, "GET", base+"/users/bob/offline_msg_count", admin, nil)
		if r.Body["data"].(map[string]any)["bob"] != float64(1) {
			t.Fatalf("offline count after recall: %s", r.Raw)
		}

		// Pin the conversation with carol... there is none yet for bob: 404.
		expect(t, s.Do(t, "POST", base+"/users/bob/user_channel/top", bobTok, map[string]any{"channel": "carol"}), 404, "service_resource_not_found")
		expect(t, s.Do(t, "POST", base+"/users/bob/user_channel/top", bobTok, map[string]any{"channel": "alice"}), 200, "")
		r = s.Do(t, "GET", base+"/users/bob/user_channels", bobTok, nil)
		if c := r.Body["data"].(map[string]any)["channel_infos"].([]any)[0].(map[string]any); c["peer"] != "alice" || c["pinned"] != true {
			t.Fatalf("pinned first: %s", r.Raw)
		}
		expect(t, s.Do(t, "DELETE", base+"/users/bob/user_channel/top", admin, map[string]any{"channel": "alice"}), 200, "")
		r = s.Do(t, "DELETE", base+"/users/bob/user_channel", admin, map[string]any{"channel": "admin", "type": "chat", "delete_roam": true})
		expect(t, r, 200, "")
		r = s.Do(t, "GET", base+"/users/bob/user_channels", admin, nil)
		if chans := r.Body["data"].(map[string]any)["channel_infos"].([]any); len(chans) != 1 {
			t.Fatalf("channels after delete: %s", r.Raw)
		}

		too := make([]string, 601)
		for i := range too {
			too[i] = fmt.Sprint("u", i)
		}
		tests := []struct {
			name, method, path, token string
			body                      any
			status                    int
			code, desc                string
		}{
			{"user token cannot send as others", "POST", base + "/messages/users", bobTok, map[string]any{"from": "alice", "to": []string{"carol"}, "type": "txt", "body": map[string]string{"msg": "x"}}, 403, "forbidden_op", ""},
			{"no recipients", "POST", base + "/messages/users", admin, map[string]any{"from": "alice", "to": []string{}, "type": "txt", "body": map[string]string{"msg": "x"}}, 400, "illegal_argument", "to"},
			{"601 recipients", "POST", base + "/messages/users", admin, map[string]any{"from": "alice", "to": too, "type": "txt", "body": map[string]string{"msg": "x"}}, 400, "illegal_argument", "600"},
			{"unknown sender", "POST", base + "/messages/users", admin, map[string]any{"from": "nobody", "to": []string{"bob"}, "type": "txt", "body": map[string]string{"msg": "x"}}, 404, "service_resource_not_found", ""},
			{"bad type", "POST", base + "/messages/users", admin, map[string]any{"from": "alice", "to": []string{"bob"}, "type": "smell", "body": map[string]string{}}, 400, "illegal_argument", "smell"},
			{"null ext", "POST", base + "/messages/users", admin, `{"from":"alice","to":["bob"],"type":"txt","body":{"msg":"x"},"ext":null}`, 400, "illegal_argument", "ext"},
			{"too large", "POST", base + "/messages/users", admin, map[string]any{"from": "alice", "to": []string{"bob"}, "type": "txt", "body": map[string]string{"msg": strings.Repeat("x", 5200)}}, 400, "exceed_limit", "limit"},
			{"bad routetype", "POST", base + "/messages/users", admin, map[string]any{"from": "alice", "to": []string{"bob"}, "type": "txt", "body": map[string]string{"msg": "x"}, "routetype": "ROUTE_NOWHERE"}, 400, "illegal_argument", "routetype"},
			{"recall without msg_id", "POST", base + "/messages/msg_recall", admin, map[string]any{"to": "bob"}, 400, "illegal_argument", "msg_id"},
			{"recall by user token", "POST", base + "/messages/msg_recall", bobTok, map[string]any{"msg_id": "1"}, 403, "forbidden_op", ""},
			{"status of unknown user", "GET", base + "/users/ghost/status", admin, nil, 404, "service_resource_not_found", ""},
			{"batch status too many", "POST", base + "/users/batch/status", admin, map[string]any{"usernames": too[:101]}, 400, "illegal_argument", "100"},
			{"delete channel without peer", "DELETE", base + "/users/bob/user_channel", admin, map[string]any{}, 400, "illegal_argument", "channel"},
			{"delete unknown channel", "DELETE", base + "/users/bob/user_channel", admin, map[string]any{"channel": "carol"}, 404, "service_resource_not_found", ""},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				r := s.Do(t, tc.method, tc.path, tc.token, tc.body)
				expect(t, r, tc.status, tc.code)
				if tc.desc != "" && !strings.Contains(r.Str("error_description"), tc.desc) {
					t.Fatalf("description %q does not mention %q", r.Str("error_description"), tc.desc)
				}
			})
		}
	})
}

// TestMessages_DeletedRecipient: recipients are resolved through a cache;
// deleting a user (and re-creating the name) takes effect at once.
func TestMessages_DeletedRecipient(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *servertest.Server) {
		app := s.App(t, "acme", "chat", tenant.Settings{})
		admin := s.AppToken(t, app)
		base := "/acme/chat"
		for _, u := range []string{"alice", "bob"} {
			expect(t, s.Do(t, "POST", base+"/users", admin, map[string]string{"username": u, "password": "pw"}), 200, "")
		}
		send := func() *servertest.Response {
			return s.Do(t, "POST", base+"/messages/users", admin, map[string]any{
				"from": "alice", "to": []string{"bob"}, "type": "txt", "body": map[string]string{"msg": "hi"}})
		}
		r := send()
		if r.Body["data"].(map[string]any)["bob"] == nil {
			t.Fatalf("first send: %s", r.Raw)
		}
		expect(t, s.Do(t, "DELETE", base+"/users/bob", admin, nil), 200, "")
		if r := send(); !strings.Contains(fmt.Sprint(r.Body["failed"]), "not found") {
			t.Fatalf("send to a deleted user: %s", r.Raw)
		}
		expect(t, s.Do(t, "POST", base+"/users", admin, map[string]string{"username": "bob", "password": "pw"}), 200, "")
		send()
		r = s.Do(t, "GET", base+"/users/bob/offline_msg_count", admin, nil)
		if r.Body["data"].(map[string]any)["bob"] != float64(1) {
			t.Fatalf("the new bob should have exactly the one message sent after he was created: %s", r.Raw)
		}
	})
}
