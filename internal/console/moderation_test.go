package console_test

import (
	"encoding/json"
	"testing"

	"github.com/parleyim/parley/internal/messaging"
	"github.com/parleyim/parley/internal/moderation"
	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
)

func TestConsole_Moderation(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *servertest.Server) {
		f := newFixture(t, s)
		const kw = "/apps/acme/one/moderation/keywords"
		// Changes: owner and the app's app_admin; not viewers, not other apps.
		r := f.ed.ok("POST", kw, map[string]any{"words": []map[string]string{{"word": "Spam", "action": "reject"}, {"word": "坏蛋", "action": "replace"}}})
		if len(r.Body["words"].([]any)) != 2 {
			t.Fatalf("add: %s", r.Raw)
		}
		expect(t, f.vo.do("POST", kw, map[string]any{"words": []map[string]string{{"word": "x", "action": "reject"}}}), 403, "forbidden")
		expect(t, f.ed.do("POST", "/apps/acme/two/moderation/keywords", map[string]any{"words": []map[string]string{{"word": "x", "action": "reject"}}}), 403, "forbidden")
		expect(t, f.owner.do("POST", kw, map[string]any{"words": []map[string]string{{"word": "x", "action": "ban"}}}), 400, "illegal_argument")
		// Reads: any role that sees the app.
		r = f.vo.ok("GET", kw+"?limit=1", nil)
		if list := items(r); len(list) != 1 || list[0]["word"] != "spam" || r.Str("cursor") == "" {
			t.Fatalf("page: %s", r.Raw)
		}
		expect(t, f.ed.do("GET", "/apps/acme/two/moderation/keywords", nil), 403, "forbidden")

		// The list applies to sends at once.
		p := tenant.AdminOf(f.one)
		if _, err := s.Messages.SendAs(ctx, p, "alice", []string{"bob"}, messaging.SendRequest{Type: "txt", Body: json.RawMessage(`{"msg":"buy SPAM"}`)}); err == nil {
			t.Fatal("a rejected word was sent")
		}
		res, err := s.Messages.SendAs(ctx, p, "alice", []string{"bob"}, messaging.SendRequest{Type: "txt", Body: json.RawMessage(`{"msg":"大坏蛋"}`)})
		if err != nil || res[0].Err != nil {
			t.Fatal(err, res)
		}
		if _, err := s.Moderation.ReportMessage(ctx, &tenant.Principal{App: f.one, Admin: true}, s.Users, "bob",
			moderation.Report{MsgID: res[0].Ack.MsgID}); err != nil {
			t.Fatal(err)
		}
		r = f.vo.ok("GET", "/apps/acme/one/moderation/records?kind=report", nil)
		if list := items(r); len(list) != 1 || list[0]["msg_id"] != res[0].Ack.MsgID || list[0]["content"] != `{"msg":"大**"}` {
			t.Fatalf("records: %s", r.Raw)
		}
		expect(t, f.vo.do("GET", "/apps/acme/one/moderation/records?kind=nope", nil), 400, "illegal_argument")

		r = f.ed.ok("DELETE", kw, map[string]any{"words": []string{"spam"}})
		if r.Body["removed"] != float64(1) {
			t.Fatalf("remove: %s", r.Raw)
		}
		audit := items(f.owner.ok("GET", "/audit?action=keyword.add", nil))
		if len(audit) != 1 || audit[0]["actor"] != "ed" {
			t.Fatalf("audit: %v", audit)
		}
	})
}
