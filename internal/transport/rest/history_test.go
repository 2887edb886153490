package rest_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/messaging"
	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
)

// exportLines fetches GET /chatmessages/{hour} and the file it links to.
func exportLines(t *testing.T, s *servertest.Server, base, admin, hour string) []messaging.ExportRecord {
	t.Helper()
	r := s.Do(t, "GET", base+"/chatmessages/"+hour, admin, nil)
	expect(t, r, 200, "")
	data := r.Body["data"].([]any)
	link := data[0].(map[string]any)["url"].(string)
	resp, err := http.Get(link) // the link alone opens it (share-secret in the query)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		raw, _ := io.ReadAll(resp.Body)
		t.Fatalf("download %s: %d %s", link, resp.StatusCode, raw)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var out []messaging.ExportRecord
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		var rec messaging.ExportRecord
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, rec)
	}
	return out
}

func TestHistory_ExportAndImport(t *testing.T) {
	forEachBackend(t, func(t *testing.T, s *servertest.Server) {
		app := s.App(t, "acme", "chat", tenant.Settings{})
		admin := s.AppToken(t, app)
		base := "/acme/chat"
		for _, u := range []string{"alice", "bob", "carol"} {
			expect(t, s.Do(t, "POST", base+"/users", admin, map[string]string{"username": u, "password": "pw"}), 200, "")
		}
		r := s.Do(t, "POST", base+"/chatgroups", admin, map[string]any{"groupname": "g", "public": true, "maxusers": 100, "owner": "alice", "members": []string{"bob"}})
		expect(t, r, 200, "")
		gid := r.Body["data"].(map[string]any)["groupid"].(string)

		// Import: a 1:1 conversation and a group, two hours in the past, in timestamp order.
		hourStart := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Hour)
		t0 := hourStart.Add(10 * time.Minute).UnixMilli()
		imp := func(path string, body map[string]any) *servertest.Response {
			return s.Do(t, "POST", base+path, admin, body)
		}
		var ids []string
		for i, m := range []string{"first", "second", "third"} {
			from, to := "alice", "bob"
			if i == 1 {
				from, to = "bob", "alice"
			}
			r := imp("/messages/users/import", map[string]any{"from": from, "target": to, "type": "txt",
				"body": map[string]string{"msg": m}, "msg_timestamp": t0 + int64(i)*60_000, "ext": map[string]string{"k": m}})
			expect(t, r, 200, "")
			ids = append(ids, r.Body["data"].(map[string]any)["msg_id"].(string))
		}
		expect(t, imp("/messages/chatgroups/import", map[string]any{"from": "alice", "target": gid, "type": "custom",
			"body": map[string]any{"customEvent": "gift", "customExts": map[string]string{"n": "1"}}, "msg_timestamp": t0 + 30_000}), 200, "")
		// Older than the conversation's last message: refused (seq order = time order).
		r = imp("/messages/users/import", map[string]any{"from": "alice", "target": "bob", "type": "txt",
			"body": map[string]string{"msg": "late"}, "msg_timestamp": t0})
		expect(t, r, 400, "illegal_argument")
		// A live message now, then the export of the imported hour and of this hour.
		expect(t, s.Do(t, "POST", base+"/messages/users", admin, map[string]any{"from": "carol", "to": []string{"bob"}, "type": "txt",
			"body": map[string]string{"msg": "live"}}), 200, "")

		lines := exportLines(t, s, base, admin, hourStart.Format("2006010215"))
		if len(lines) != 4 {
			t.Fatalf("export of the imported hour: %+v", lines)
		}
		if l := lines[0]; l.MsgID != ids[0] || l.Timestamp != t0 || l.From != "alice" || l.To != "bob" || l.ChatType != "chat" ||
			l.Direction != "outgoing" || l.Payload.From != "alice" || l.Payload.To != "bob" || len(l.Payload.Bodies) != 1 ||
			string(l.Payload.Bodies[0]) != `{"msg":"first","type":"txt"}` || string(l.Payload.Ext) != `{"k":"first"}` {
			t.Fatalf("line 0: %+v", l)
		}
		if l := lines[1]; l.ChatType != "groupchat" || l.To != gid || l.Timestamp != t0+30_000 ||
			!strings.Contains(string(l.Payload.Bodies[0]), `"customEvent":"gift"`) || string(l.Payload.Ext) != `{}` {
			t.Fatalf("line 1 (group): %+v", l)
		}
		if lines[2].From != "bob" || lines[3].MsgID != ids[2] {
			t.Fatalf("order: %+v", lines)
		}
		now := exportLines(t, s, base, admin, time.Now().UTC().Format("2006010215"))
		if len(now) < 1 || now[len(now)-1].From != "carol" || !bytes.Contains(now[len(now)-1].Payload.Bodies[0], []byte(`"live"`)) {
			t.Fatalf("export of this hour: %+v", now)
		}
		if len(exportLines(t, s, base, admin, hourStart.Add(-24*time.Hour).Format("2006010215"))) != 0 {
			t.Fatal("an hour without messages is not empty")
		}

		// Roaming history by time shows the imports at their original times.
		ctx := context.Background()
		a, _ := s.Apps.Resolve(ctx, "acme", "chat")
		bob, err := s.Users.Lookup(ctx, a, "bob")
		if err != nil {
			t.Fatal(err)
		}
		p := &tenant.Principal{App: a, UserID: bob.ID, Username: "bob"}
		conv := lookupConv(t, s, p, "alice")
		items, err := s.Messages.History(ctx, p, conv, messaging.HistoryQuery{Time: t0 + 60_000, Forward: true, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(items.Items) != 2 || items.Items[0].MsgID != ids[1] || items.Items[0].TS != t0+60_000 || items.Items[1].TS != t0+120_000 {
			b, _ := json.Marshal(items)
			t.Fatalf("history from t0+1m: %s", b)
		}
		items, err = s.Messages.History(ctx, p, conv, messaging.HistoryQuery{Time: t0 + 60_000, Limit: 10})
		if err != nil || len(items.Items) != 1 || items.Items[0].MsgID != ids[0] || items.Items[0].TS != t0 {
			b, _ := json.Marshal(items)
			t.Fatalf("history before t0+1m: %s %v", b, err)
		}
	})
}

// lookupConv finds the caller's 1:1 conversation with peer in its list.
func lookupConv(t *testing.T, s *servertest.Server, p *tenant.Principal, peer string) string {
	t.Helper()
	list, err := s.Messages.Conversations(context.Background(), p, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list.Conversations {
		if c.Peer == peer {
			return c.ConvID
		}
	}
	t.Fatalf("no conversation with %s", peer)
	return ""
}

func TestHistory_Validation(t *testing.T) {
	s := servertest.StartBackend(t, "sqlite")
	app := s.App(t, "acme", "chat", tenant.Settings{})
	admin := s.AppToken(t, app)
	base := "/acme/chat"
	for _, u := range []string{"alice", "bob"} {
		expect(t, s.Do(t, "POST", base+"/users", admin, map[string]string{"username": u, "password": "pw"}), 200, "")
	}
	bob := userToken(t, s, base, "bob")
	ok := func(m map[string]any) map[string]any {
		out := map[string]any{"from": "alice", "target": "bob", "type": "txt", "body": map[string]string{"msg": "x"}}
		for k, v := range m {
			if v == nil {
				delete(out, k)
			} else {
				out[k] = v
			}
		}
		return out
	}
	future := time.Now().Add(time.Hour).UnixMilli()
	tests := []struct {
		name, method, path, token string
		body                      any
		status                    int
		code                      string
	}{
		{"export bad hour", "GET", "/chatmessages/2024-01-01", admin, nil, 400, "illegal_argument"},
		{"export hour 24", "GET", "/chatmessages/2024010124", admin, nil, 400, "illegal_argument"},
		{"export user token", "GET", "/chatmessages/2024010100", bob, nil, 403, "forbidden_op"},
		{"export no token", "GET", "/chatmessages/2024010100", "", nil, 401, "unauthorized"},
		{"import user token", "POST", "/messages/users/import", bob, ok(nil), 403, "forbidden_op"},
		{"import no from", "POST", "/messages/users/import", admin, ok(map[string]any{"from": nil}), 400, "illegal_argument"},
		{"import no target", "POST", "/messages/users/import", admin, ok(map[string]any{"target": nil}), 400, "illegal_argument"},
		{"import to self", "POST", "/messages/users/import", admin, ok(map[string]any{"target": "alice"}), 400, "illegal_argument"},
		{"import unknown user", "POST", "/messages/users/import", admin, ok(map[string]any{"target": "ghost"}), 404, "service_resource_not_found"},
		{"import future", "POST", "/messages/users/import", admin, ok(map[string]any{"msg_timestamp": future}), 400, "illegal_argument"},
		{"import negative time", "POST", "/messages/users/import", admin, ok(map[string]any{"msg_timestamp": -5}), 400, "illegal_argument"},
		{"import bad body", "POST", "/messages/users/import", admin, ok(map[string]any{"body": "hi"}), 400, "illegal_argument"},
		{"import null ext", "POST", "/messages/users/import", admin, `{"from":"alice","target":"bob","type":"txt","body":{"msg":"x"},"ext":null}`, 400, "illegal_argument"},
		{"import need_download", "POST", "/messages/users/import", admin, ok(map[string]any{"need_download": true}), 400, "illegal_argument"},
		{"import unknown field", "POST", "/messages/users/import", admin, ok(map[string]any{"to": "bob"}), 400, "illegal_argument"},
		{"import not JSON", "POST", "/messages/users/import", admin, "{", 400, "invalid_request_body"},
		{"import bad group", "POST", "/messages/chatgroups/import", admin, ok(map[string]any{"target": "nope"}), 404, ""},
		{"import missing group", "POST", "/messages/chatgroups/import", admin, ok(map[string]any{"target": "123"}), 404, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			expect(t, s.Do(t, tc.method, base+tc.path, tc.token, tc.body), tc.status, tc.code)
		})
	}
}
