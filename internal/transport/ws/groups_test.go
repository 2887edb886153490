package ws_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// grp sends a group frame and returns the reply.
func (c *client) grp(op string, fields map[string]any) map[string]any {
	c.t.Helper()
	f := map[string]any{"t": "group", "op": op}
	for k, v := range fields {
		f[k] = v
	}
	return c.request(f)
}

func (c *client) grpOK(op string, fields map[string]any) map[string]any {
	c.t.Helper()
	r := c.grp(op, fields)
	if r["t"] != "group_result" {
		c.t.Fatalf("group %s: %v", op, r)
	}
	return r
}

// nextMsg waits for a live message item, skipping notices (they are
// delivered asynchronously and may arrive late).
func (c *client) nextMsg() map[string]any {
	c.t.Helper()
	for {
		it := c.next("item")["item"].(map[string]any)
		if it["kind"] != "notice" {
			return it
		}
	}
}

// notices pulls a group conversation and returns its notice types after seq.
func (c *client) notices(convID string, after int) []string {
	c.t.Helper()
	r := c.request(map[string]any{"t": "pull", "conv_id": convID, "after_seq": after, "limit": 100})
	if r["t"] != "items" {
		c.t.Fatalf("pull: %v", r)
	}
	var out []string
	for _, it := range r["items"].([]any) {
		m := it.(map[string]any)
		if m["kind"] == "notice" {
			out = append(out, m["type"].(string))
		} else {
			out = append(out, m["kind"].(string))
		}
	}
	return out
}

func hasKind(evs []map[string]any, kind string) map[string]any {
	for _, e := range evs {
		if e["kind"] == kind {
			return e
		}
	}
	return nil
}

func TestGroups_MembershipLifecycle(t *testing.T) {
	e := setup(t, tenant.Settings{}, "alice", "bob", "carol", "dave", "erin")
	alice := e.login(t, "alice", "phone")
	pub := true
	r := alice.grpOK("create", map[string]any{"users": []string{"bob"},
		"settings": map[string]any{"groupname": "Hikers", "public": pub, "membersonly": true, "maxusers": 10}})
	g := r["group"].(map[string]any)
	gid, conv := g["id"].(string), g["conv_id"].(string)
	if g["owner"] != "alice" || g["affiliations_count"] != float64(2) {
		t.Fatalf("created: %v", g)
	}

	// carol applies (membersonly): alice is asked, accepts; carol is told.
	carol := e.login(t, "carol", "phone")
	if r := carol.grpOK("apply", map[string]any{"group": gid, "reason": "I like hiking"}); r["joined"] == true {
		t.Fatalf("membersonly group let carol in: %v", r)
	}
	if ev := alice.next("event")["event"].(map[string]any); ev["kind"] != "group_apply" || ev["from"] != "carol" || ev["group"] != gid {
		t.Fatalf("alice event: %v", ev)
	}
	alice.grpOK("answer_apply", map[string]any{"group": gid, "user": "carol", "accept": true})
	if ev := hasKind(carol.events(), "group_apply_accepted"); ev == nil {
		t.Fatal("carol not told her application was accepted")
	}

	// dave is invited while offline (invite_need_confirm is on by default).
	alice.grpOK("invite", map[string]any{"group": gid, "users": []string{"dave"}, "reason": "join us"})
	dave := e.login(t, "dave", "phone")
	inv := hasKind(dave.events(), "group_invite")
	if inv == nil || inv["from"] != "alice" || inv["name"] != "Hikers" {
		t.Fatalf("dave's invitation: %v", dave.events())
	}
	dave.grpOK("answer_invite", map[string]any{"group": gid, "accept": true})
	if ev := alice.next("event")["event"].(map[string]any); ev["kind"] != "group_invite_accepted" || ev["from"] != "dave" {
		t.Fatalf("alice not told: %v", ev)
	}

	// bob is offline while he is kicked; he learns it on reconnect.
	alice.grpOK("kick", map[string]any{"group": gid, "users": []string{"bob"}})
	bob := e.login(t, "bob", "phone")
	if ev := hasKind(bob.events(), "group_removed"); ev == nil || ev["group"] != gid {
		t.Fatalf("bob's events: %v", bob.events())
	}
	if r := bob.request(text(gid, "b1", "still here?")); r["t"] != "error" {
		t.Fatalf("a kicked member sent: %v", r)
	}

	carol.grpOK("quit", map[string]any{"group": gid})
	alice.grpOK("admin", map[string]any{"group": gid, "users": []string{"dave"}, "on": true})
	alice.grpOK("transfer", map[string]any{"group": gid, "user": "dave"})
	if r := alice.grp("transfer", map[string]any{"group": gid, "user": "alice"}); r["code"] != protocol.ErrGroupForbidden.ID {
		t.Fatalf("the old owner transferred again: %v", r)
	}
	// Every change since dave joined is a notice in the stream, seen in
	// order by a device of his that was offline the whole time; what came
	// before his join is not his to see.
	dave2 := e.login(t, "dave", "laptop")
	want := "member_joined,member_removed,member_left,admin_added,owner_changed"
	if got := strings.Join(dave2.notices(conv, 0), ","); got != want {
		t.Fatalf("notices:\n got %s\nwant %s", got, want)
	}
	r = dave2.grpOK("info", map[string]any{"group": gid})
	if g := r["group"].(map[string]any); g["owner"] != "dave" || g["affiliations_count"] != float64(2) {
		t.Fatalf("info: %v", g)
	}
	r = dave2.grpOK("members", map[string]any{"group": gid})
	roles := map[string]string{}
	for _, m := range r["members"].([]any) {
		mm := m.(map[string]any)
		roles[mm["user"].(string)] = mm["role"].(string)
	}
	if fmt.Sprint(roles) != "map[alice:admin dave:owner]" {
		t.Fatalf("roles: %v", roles)
	}
	// A dissolved group tells its members.
	dave.grpOK("dissolve", map[string]any{"group": gid})
	if ev := hasKind(alice.events(), "group_destroyed"); ev == nil {
		t.Fatal("alice not told the group was dissolved")
	}
	if r := alice.grp("info", map[string]any{"group": gid}); r["code"] != protocol.ErrGroupNotFound.ID {
		t.Fatalf("info of a dissolved group: %v", r)
	}
}

// TestGroups_Permissions: each admin action as owner, admin, member and
// outsider.
func TestGroups_Permissions(t *testing.T) {
	e := setup(t, tenant.Settings{}, "owner", "admin", "member", "outsider", "target", "t2")
	owner := e.login(t, "owner", "p")
	r := owner.grpOK("create", map[string]any{"users": []string{"admin", "member", "target", "t2"}})
	gid := r["group"].(map[string]any)["id"].(string)
	owner.grpOK("admin", map[string]any{"group": gid, "users": []string{"admin"}, "on": true})
	clients := map[string]*client{"owner": owner, "admin": e.login(t, "admin", "p"), "member": e.login(t, "member", "p"),
		"outsider": e.login(t, "outsider", "p")}
	forbidden := protocol.ErrGroupForbidden.ID
	tests := []struct {
		op     string
		fields map[string]any
		allow  map[string]bool // roles allowed; others get forbidden
	}{
		{"update", map[string]any{"settings": map[string]any{"description": "d"}}, map[string]bool{"owner": true, "admin": true}},
		{"announce", map[string]any{"text": "hello"}, map[string]bool{"owner": true, "admin": true}},
		{"mute", map[string]any{"users": []string{"target"}, "duration": 1000}, map[string]bool{"owner": true, "admin": true}},
		{"mute_all", map[string]any{"on": false}, map[string]bool{"owner": true, "admin": true}},
		{"block", map[string]any{"users": []string{"outsider"}, "on": false}, map[string]bool{"owner": true, "admin": true}},
		{"allow", map[string]any{"users": []string{"target"}, "on": true}, map[string]bool{"owner": true, "admin": true}},
		{"admin", map[string]any{"users": []string{"target"}, "on": false}, map[string]bool{"owner": true}},
		{"invite", map[string]any{"users": []string{"outsider"}}, map[string]bool{"owner": true, "admin": true}},
		{"transfer", map[string]any{"user": "owner"}, map[string]bool{"owner": true}},
		{"dissolve", map[string]any{}, map[string]bool{"owner": true}}, // the owner's is not run here
	}
	for _, tc := range tests {
		for _, who := range []string{"outsider", "member", "admin", "owner"} {
			if tc.op == "dissolve" && who == "owner" {
				continue
			}
			t.Run(tc.op+"/"+who, func(t *testing.T) {
				f := map[string]any{"group": gid}
				for k, v := range tc.fields {
					f[k] = v
				}
				r := clients[who].grp(tc.op, f)
				if tc.allow[who] {
					if r["t"] != "group_result" {
						t.Fatalf("%s may %s: %v", who, tc.op, r)
					}
				} else if r["code"] != forbidden {
					t.Fatalf("%s must not %s: %v", who, tc.op, r)
				}
			})
		}
	}
	// The owner cannot be kicked or blocked; an admin cannot kick an admin.
	if r := clients["admin"].grp("kick", map[string]any{"group": gid, "users": []string{"owner"}}); r["code"] != forbidden {
		t.Fatalf("kicking the owner: %v", r)
	}
	if r := clients["admin"].grp("block", map[string]any{"group": gid, "users": []string{"owner"}, "on": true}); r["code"] != forbidden {
		t.Fatalf("blocking the owner: %v", r)
	}
	if r := clients["member"].grp("kick", map[string]any{"group": gid, "users": []string{"t2"}}); r["code"] != forbidden {
		t.Fatalf("a member kicked: %v", r)
	}
	clients["admin"].grpOK("kick", map[string]any{"group": gid, "users": []string{"t2"}})
	// A blocked user cannot rejoin.
	owner.grpOK("block", map[string]any{"group": gid, "users": []string{"t2"}, "on": true})
	if r := owner.grp("invite", map[string]any{"group": gid, "users": []string{"t2"}}); r["code"] != protocol.ErrGroupBlocked.ID {
		t.Fatalf("inviting a blocked user: %v", r)
	}
}

func TestGroups_MutesAndAllowList(t *testing.T) {
	e := setup(t, tenant.Settings{}, "owner", "m1", "m2")
	owner := e.login(t, "owner", "p")
	gid := owner.grpOK("create", map[string]any{"users": []string{"m1", "m2"}})["group"].(map[string]any)["id"].(string)
	m1, m2 := e.login(t, "m1", "p"), e.login(t, "m2", "p")
	send := func(c *client, cmid string) map[string]any {
		f := text(gid, cmid, "hi")
		f["chat_type"] = "groupchat"
		return c.request(f)
	}
	if r := send(m1, "a"); r["t"] != "ack" {
		t.Fatalf("member send: %v", r)
	}
	owner.grpOK("mute", map[string]any{"group": gid, "users": []string{"m1"}, "duration": 60_000})
	if r := send(m1, "b"); r["code"] != protocol.ErrGroupMuted.ID {
		t.Fatalf("muted member: %v", r)
	}
	if r := send(m2, "c"); r["t"] != "ack" {
		t.Fatalf("unmuted member: %v", r)
	}
	owner.grpOK("mute", map[string]any{"group": gid, "users": []string{"m1"}, "duration": 0})
	owner.grpOK("mute_all", map[string]any{"group": gid, "on": true})
	owner.grpOK("allow", map[string]any{"group": gid, "users": []string{"m2"}, "on": true})
	if r := send(m1, "d"); r["code"] != protocol.ErrGroupMuted.ID {
		t.Fatalf("mute-all, plain member: %v", r)
	}
	if r := send(m2, "e"); r["t"] != "ack" {
		t.Fatalf("mute-all, allow-listed member: %v", r)
	}
	if r := send(owner, "f"); r["t"] != "ack" {
		t.Fatalf("mute-all, owner: %v", r)
	}
	owner.grpOK("mute_all", map[string]any{"group": gid, "on": false})
	if r := send(m1, "g"); r["t"] != "ack" {
		t.Fatalf("after mute-all: %v", r)
	}
}

func TestGroups_MessagesRecallMentionsReceipts(t *testing.T) {
	e := setup(t, tenant.Settings{}, "owner", "m1", "m2")
	owner := e.login(t, "owner", "p")
	g := owner.grpOK("create", map[string]any{"users": []string{"m1", "m2"}})["group"].(map[string]any)
	gid, conv := g["id"].(string), g["conv_id"].(string)
	m1, m2 := e.login(t, "m1", "p"), e.login(t, "m2", "p")
	m1b := e.login(t, "m1", "tablet")
	// A message reaches every member's devices (and the sender's other ones).
	f := text(gid, "x1", "hello group")
	f["chat_type"], f["ext"], f["need_group_ack"] = "groupchat", map[string]any{"em_at_list": []string{"m2"}}, true
	ack := m1.request(f)
	if ack["t"] != "ack" || ack["conv_id"] != conv {
		t.Fatalf("group send: %v", ack)
	}
	for name, c := range map[string]*client{"owner": owner, "m2": m2, "m1 tablet": m1b} {
		it := c.nextMsg()
		if it["chat_type"] != "groupchat" || it["to"] != gid || it["from"] != "m1" || it["need_group_ack"] != true {
			t.Fatalf("%s got %v", name, it)
		}
	}
	// The mention is surfaced to m2 only.
	mentioned := func(c *client) bool {
		for _, cv := range c.request(map[string]any{"t": "conversations"})["conversations"].([]any) {
			if m := cv.(map[string]any); m["conv_id"] == conv {
				return m["mentioned"] == true
			}
		}
		t.Fatal("group not in the conversation list")
		return false
	}
	if !mentioned(m2) || mentioned(owner) {
		t.Fatal("mention flags wrong")
	}
	// Group read receipts: m2 reads, m1 is told, and the readers are listed.
	ok(t, m2.request(map[string]any{"t": "read", "msg_id": ack["msg_id"]}))
	if ev := m1.next("event")["event"].(map[string]any); ev["kind"] != "group_ack" || ev["from"] != "m2" || ev["count"] != float64(1) {
		t.Fatalf("group ack: %v", ev)
	}
	if mentioned(m2) {
		t.Fatal("the mention stays after reading")
	}
	r := m1.grpOK("acks", map[string]any{"msg_id": ack["msg_id"]})
	if r["count"] != float64(1) || fmt.Sprint(r["users"]) != "[m2]" {
		t.Fatalf("acks: %v", r)
	}
	// Recall: a member may not recall another's message; the owner may.
	ack2 := m2.request(map[string]any{"t": "send", "to": gid, "chat_type": "groupchat", "type": "txt", "body": map[string]string{"msg": "oops"}, "client_msg_id": "x2"})
	if r := m1.request(map[string]any{"t": "recall", "msg_id": ack2["msg_id"]}); r["code"] != protocol.ErrRecallNotAllowed.ID {
		t.Fatalf("member recalling another's message: %v", r)
	}
	ok(t, owner.request(map[string]any{"t": "recall", "msg_id": ack2["msg_id"]}))
	ok(t, m1.request(map[string]any{"t": "recall", "msg_id": ack["msg_id"]}))
	deadline := time.Now().Add(2 * time.Second)
	for {
		items := m2.request(map[string]any{"t": "history", "conv_id": conv, "limit": 10})["items"].([]any)
		recalled := 0
		for _, it := range items {
			if it.(map[string]any)["recalled"] == true {
				recalled++
			}
		}
		if recalled == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("history after recalls: %v", items)
		}
	}
}

// TestGroups_Limits: bad input answers with the documented errors (REST).
func TestGroups_Limits(t *testing.T) {
	e := setup(t, tenant.Settings{}, "alice", "bob", "carol")
	r := e.s.Do(t, "POST", "/acme/chat/chatgroups", e.admin, map[string]any{"owner": "alice", "public": true, "maxusers": 2, "members": []string{"bob"}})
	if r.Status != 200 {
		t.Fatalf("create: %s", r.Raw)
	}
	gid := r.Body["data"].(map[string]any)["groupid"].(string)
	many := make([]string, 61)
	for i := range many {
		many[i] = fmt.Sprint("u", i)
	}
	tests := []struct {
		name, method, path string
		body               any
		status             int
		code               string
	}{
		{"unknown group", "GET", "/acme/chat/chatgroups/999999", nil, 404, "group_not_found"},
		{"not a group id", "PUT", "/acme/chat/chatgroups/abc", map[string]any{"description": "x"}, 404, "group_not_found"},
		{"batch over 60", "POST", "/acme/chat/chatgroups/" + gid + "/users", map[string]any{"usernames": many}, 400, "illegal_argument"},
		{"maxusers exceeded", "POST", "/acme/chat/chatgroups/" + gid + "/users/carol", nil, 403, "group_full"},
		{"custom too long", "PUT", "/acme/chat/chatgroups/" + gid, map[string]any{"custom": strings.Repeat("c", 1025)}, 400, "illegal_argument"},
		{"name too long", "PUT", "/acme/chat/chatgroups/" + gid, map[string]any{"groupname": strings.Repeat("n", 129)}, 400, "illegal_argument"},
		{"maxusers below members", "PUT", "/acme/chat/chatgroups/" + gid, map[string]any{"maxusers": 1}, 400, "illegal_argument"},
		{"maxusers over the limit", "POST", "/acme/chat/chatgroups", map[string]any{"owner": "alice", "public": true, "maxusers": 10001}, 400, "illegal_argument"},
		{"create without public", "POST", "/acme/chat/chatgroups", map[string]any{"owner": "alice"}, 400, "illegal_argument"},
		{"create with an unknown owner", "POST", "/acme/chat/chatgroups", map[string]any{"owner": "ghost", "public": true}, 404, "user_not_found"},
		{"announcement too long", "POST", "/acme/chat/chatgroups/" + gid + "/announcement", map[string]any{"announcement": strings.Repeat("a", 513)}, 400, "illegal_argument"},
		{"send to more than 3 groups", "POST", "/acme/chat/messages/chatgroups", map[string]any{"to": []string{"1", "2", "3", "4"}, "type": "txt", "body": map[string]string{"msg": "x"}}, 400, "illegal_argument"},
		{"mute without duration", "POST", "/acme/chat/chatgroups/" + gid + "/mute", map[string]any{"usernames": []string{"bob"}}, 400, "illegal_argument"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.s.Do(t, tc.method, tc.path, e.admin, tc.body)
			if r.Status != tc.status || r.Str("code") != tc.code {
				t.Fatalf("got %d %s", r.Status, r.Raw)
			}
		})
	}
	// Nothing changed.
	r = e.s.Do(t, "GET", "/acme/chat/chatgroups/"+gid, e.admin, nil)
	d := r.Body["data"].([]any)[0].(map[string]any)
	if d["affiliations_count"] != float64(2) || d["custom"] != "" || d["name"] != "" || d["maxusers"] != float64(2) {
		t.Fatalf("group changed: %s", r.Raw)
	}
	// REST group messages reach members; an app-token send needs no membership.
	r = e.s.Do(t, "POST", "/acme/chat/messages/chatgroups", e.admin, map[string]any{"to": []string{gid}, "type": "txt", "body": map[string]string{"msg": "notice"}})
	if r.Status != 200 || r.Body["data"].(map[string]any)[gid] == nil {
		t.Fatalf("REST group send: %s", r.Raw)
	}
}

func TestGroups_SharedFiles(t *testing.T) {
	e := setup(t, tenant.Settings{}, "owner", "m1", "outsider")
	r := e.s.Do(t, "POST", "/acme/chat/chatgroups", e.admin, map[string]any{"owner": "owner", "public": false, "members": []string{"m1"}})
	gid := r.Body["data"].(map[string]any)["groupid"].(string)
	base := "/acme/chat/chatgroups/" + gid + "/share_files"
	tok := map[string]string{"owner": e.token(t, "owner"), "m1": e.token(t, "m1"), "outsider": e.token(t, "outsider")}
	upload := func(user string) *servertest.Response {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		pw, _ := mw.CreateFormFile("file", "plan.txt")
		pw.Write([]byte("the plan"))
		mw.Close()
		req, _ := http.NewRequest("POST", e.s.URL+base, &buf)
		req.Header.Set("Authorization", "Bearer "+tok[user])
		req.Header.Set("Content-Type", mw.FormDataContentType())
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		out := &servertest.Response{Status: res.StatusCode}
		out.Raw, _ = io.ReadAll(res.Body)
		json.Unmarshal(out.Raw, &out.Body)
		return out
	}
	if r := upload("outsider"); r.Status != 403 {
		t.Fatalf("an outsider shared a file: %s", r.Raw)
	}
	r = upload("m1")
	if r.Status != 200 {
		t.Fatalf("share: %s", r.Raw)
	}
	fid := r.Body["data"].(map[string]any)["file_id"].(string)
	list := e.s.Do(t, "GET", base, tok["owner"], nil)
	if d := list.Body["data"].([]any); len(d) != 1 || d[0].(map[string]any)["file_owner"] != "m1" {
		t.Fatalf("list: %s", list.Raw)
	}
	if r := e.s.Do(t, "GET", base+"/"+fid, tok["outsider"], nil); r.Status != 403 {
		t.Fatalf("an outsider downloaded: %d", r.Status)
	}
	if r := e.s.Do(t, "GET", base+"/"+fid, tok["owner"], nil); r.Status != 200 || string(r.Raw) != "the plan" {
		t.Fatalf("member download: %d %s", r.Status, r.Raw)
	}
	// The plain chatfiles URL needs the share-secret: shared files are restricted.
	if r := e.s.Do(t, "GET", "/acme/chat/chatfiles/"+fid, "", nil); r.Status != 403 {
		t.Fatalf("public download of a shared file: %d", r.Status)
	}
	if r := e.s.Do(t, "DELETE", base+"/"+fid, tok["owner"], nil); r.Status != 200 {
		t.Fatalf("owner delete: %s", r.Raw)
	}
	if r := e.s.Do(t, "GET", base+"/"+fid, tok["m1"], nil); r.Status != 404 {
		t.Fatalf("after delete: %d", r.Status)
	}
	if r := e.s.Do(t, "GET", "/acme/chat/chatfiles/"+fid, tok["m1"], nil); r.Status != 404 {
		t.Fatalf("the file's bytes survived: %d", r.Status)
	}
}

func TestGroups_MemberAttributes(t *testing.T) {
	e := setup(t, tenant.Settings{}, "owner", "m1", "m2")
	r := e.s.Do(t, "POST", "/acme/chat/chatgroups", e.admin, map[string]any{"owner": "owner", "public": false, "members": []string{"m1", "m2"}})
	gid := r.Body["data"].(map[string]any)["groupid"].(string)
	base := "/acme/chat/metadata/chatgroup/" + gid
	m1 := e.token(t, "m1")
	if r := e.s.Do(t, "PUT", base+"/user/m1", m1, map[string]any{"metaData": map[string]string{"nick": "One", "color": "red"}}); r.Status != 200 {
		t.Fatalf("set own: %s", r.Raw)
	}
	if r := e.s.Do(t, "PUT", base+"/user/m2", m1, map[string]any{"metaData": map[string]string{"nick": "x"}}); r.Status != 403 {
		t.Fatalf("a member set another's: %s", r.Raw)
	}
	tests := []struct {
		name  string
		attrs map[string]string
	}{
		{"key too long", map[string]string{strings.Repeat("k", 17): "v"}},
		{"value too long", map[string]string{"k": strings.Repeat("v", 513)}},
	}
	for _, tc := range tests {
		if r := e.s.Do(t, "PUT", base+"/user/m1", m1, map[string]any{"metaData": tc.attrs}); r.Status != 400 {
			t.Fatalf("%s: %s", tc.name, r.Raw)
		}
	}
	r = e.s.Do(t, "PUT", base+"/users/batch", e.admin, []map[string]any{{"username": "m2", "metadata": map[string]string{"nick": "Two"}},
		{"username": "ghost", "metadata": map[string]string{"nick": "?"}}})
	if d := r.Body["data"].(map[string]any); fmt.Sprint(d["updateMetadataSucceeded"]) != "[m2]" || len(d["updateMetadataFailed"].([]any)) != 1 {
		t.Fatalf("batch set: %s", r.Raw)
	}
	r = e.s.Do(t, "POST", base+"/get", m1, map[string]any{"targets": []string{"m1", "m2"}, "properties": []string{"nick"}})
	d := r.Body["data"].(map[string]any)
	if d["m1"].(map[string]any)["nick"] != "One" || d["m1"].(map[string]any)["color"] != nil || d["m2"].(map[string]any)["nick"] != "Two" {
		t.Fatalf("batch get: %s", r.Raw)
	}
}

func TestGroups_DirectedMessages(t *testing.T) {
	e := setup(t, tenant.Settings{}, "owner", "m1", "m2")
	owner := e.login(t, "owner", "p")
	g := owner.grpOK("create", map[string]any{"users": []string{"m1", "m2"}})["group"].(map[string]any)
	gid, conv := g["id"].(string), g["conv_id"].(string)
	m1, m2 := e.login(t, "m1", "p"), e.login(t, "m2", "p")
	f := text(gid, "d1", "psst")
	f["chat_type"], f["users"] = "groupchat", []string{"m2"}
	if r := owner.request(f); r["t"] != "ack" || r["seq"] != nil {
		t.Fatalf("directed send: %v", r)
	}
	if it := m2.nextMsg(); it["directed"] != true || it["to"] != gid {
		t.Fatalf("m2 got %v", it)
	}
	if r := m1.request(map[string]any{"t": "ping"}); r["t"] != "pong" {
		t.Fatalf("m1 got something before its pong: %v", r)
	}
	if items := m2.request(map[string]any{"t": "pull", "conv_id": conv, "after_seq": 0})["items"].([]any); len(items) != 1 {
		t.Fatalf("a directed message was stored: %v", items) // only the group_created notice
	}
	// REST: to one group and some of its members; over 20 or a non-member refused.
	r := e.s.Do(t, "POST", "/acme/chat/messages/chatgroups/users", e.admin, map[string]any{"to": []string{gid}, "users": []string{"m1"},
		"type": "txt", "body": map[string]string{"msg": "hi m1"}})
	if r.Status != 200 || r.Body["data"].(map[string]any)[gid] == nil {
		t.Fatalf("REST directed: %s", r.Raw)
	}
	if it := m1.nextMsg(); it["directed"] != true {
		t.Fatalf("m1 got %v", it)
	}
	many := make([]string, 21)
	for i := range many {
		many[i] = "m1"
	}
	for name, users := range map[string][]string{"over 20": many, "non-member": {"nobody"}} {
		r := e.s.Do(t, "POST", "/acme/chat/messages/chatgroups/users", e.admin, map[string]any{"to": []string{gid}, "users": users,
			"type": "txt", "body": map[string]string{"msg": "x"}})
		if r.Status == 200 && r.Body["failed"] == nil {
			t.Fatalf("%s accepted: %s", name, r.Raw)
		}
	}
}

// TestGroups_Regressions: an empty ext with need_group_ack keeps the stream
// valid; a join notice names only who joined; app-admin notices are by
// "admin"; a member who quits is told on their devices.
func TestGroups_Regressions(t *testing.T) {
	e := setup(t, tenant.Settings{}, "owner", "m1", "m2")
	owner := e.login(t, "owner", "p")
	g := owner.grpOK("create", map[string]any{"users": []string{"m1"}, "settings": map[string]any{"invite_need_confirm": false}})["group"].(map[string]any)
	gid, conv := g["id"].(string), g["conv_id"].(string)
	f := text(gid, "e1", "ack me")
	f["chat_type"], f["ext"], f["need_group_ack"] = "groupchat", map[string]any{}, true
	if r := owner.request(f); r["t"] != "ack" {
		t.Fatalf("send: %v", r)
	}
	r := owner.request(map[string]any{"t": "pull", "conv_id": conv, "after_seq": 0})
	items := r["items"].([]any)
	if r["t"] != "items" || items[len(items)-1].(map[string]any)["need_group_ack"] != true {
		t.Fatalf("pull after an empty-ext group-ack message: %v", r)
	}
	owner.grpOK("invite", map[string]any{"group": gid, "users": []string{"m1", "m2"}}) // m1 is a member already
	if rr := e.s.Do(t, "DELETE", "/acme/chat/chatgroups/"+gid+"/users/m2", e.admin, nil); rr.Status != 200 {
		t.Fatalf("admin remove: %s", rr.Raw)
	}
	items = owner.request(map[string]any{"t": "pull", "conv_id": conv, "after_seq": 0})["items"].([]any)
	var joined, removedBy any
	for _, it := range items {
		m := it.(map[string]any)
		switch m["type"] {
		case "member_joined":
			if m["from"] == "owner" {
				joined = m["body"].(map[string]any)["users"]
			}
		case "member_removed":
			removedBy = m["from"]
		}
	}
	if fmt.Sprint(joined) != "[m2]" || removedBy != "admin" {
		t.Fatalf("join notice users %v (want [m2]); removal by %v (want admin)", joined, removedBy)
	}
	m1 := e.login(t, "m1", "p")
	m1.grpOK("quit", map[string]any{"group": gid})
	if ev := hasKind(e.login(t, "m1", "tablet").events(), "group_left"); ev == nil || ev["group"] != gid {
		t.Fatal("the quitter's devices were not told")
	}
}
