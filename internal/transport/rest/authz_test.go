package rest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"

	adminsvc "github.com/parleyim/parley/internal/admin"
	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// The authorization matrix: every REST route (the list comes from the
// router, rest.Server.Routes) has an entry in authzMatrix saying who may
// call it. The test calls each route, on a fresh app, as
//
//   - anon:  no token
//   - other: the admin (app token) of another app, on this app's path
//   - bob:   a user of the app acting on alice's things; in none of her groups or rooms
//   - carol: a plain member of alice's group and room, without a role
//   - dave:  for the owner's routes, an admin of alice's group and room
//
// and expects each to be refused (401/403 and the error code of the
// table, default: anon unauthorized, other bad_access_token, bob and carol
// forbidden_op), and a write to have changed nothing (a snapshot of the
// app's state read with the app token is the same before and after the
// refused calls). Then the right principal (the entry's as) must succeed.
// A route without an entry, or an entry without a route, fails the test.

// who is a caller of the matrix.
type who int

const (
	anon  who = iota // no token
	other            // another app's admin
	bob              // a user acting on alice's things
	carol            // a member of alice's group and room, no role
	alice            // the user the routes name; owner of the group and the room
	admin            // this app's admin (app token)
	dave             // another member of the group and the room (a target)
)

var whoNames = map[who]string{anon: "anon", other: "other-app admin", bob: "bob", carol: "carol (member)",
	alice: "alice", admin: "app admin", dave: "dave"}

// authzCase is one route's row.
type authzCase struct {
	// as is the principal that may call the route; everyone in denied
	// (default: anon, other, and bob and carol unless they are as) is refused.
	as who
	// path, under /{org}/{app} (or absolute when it starts with //), with
	// {G} (alice's group), {R} (alice's room), {M} (alice's message to
	// dave), {F} (alice's restricted upload), {S} (a file shared in the
	// group by alice); default: the pattern without its /{org}/{app}.
	path string
	// body is sent as JSON to every caller alike (so a refusal is about
	// the caller, not the body).
	body string
	// upload sends a multipart body with a small file instead of body.
	upload bool
	// setup prepares state the route needs (after the common world).
	setup func(t *testing.T, w *world)
	// codes overrides the expected error code of a refused caller; a
	// caller mapped to "" is not tried (it is allowed, like as).
	codes map[who]string
	// status is the right principal's status (default 200).
	status int
	// mgmt marks a /management route: TestAuthz_Management covers it.
	mgmt bool
}

// Shorthands for codes.
func allow(ws ...who) map[who]string {
	m := map[who]string{}
	for _, w := range ws {
		m[w] = ""
	}
	return m
}

func with(m map[who]string, w who, code string) map[who]string {
	m[w] = code
	return m
}

func codes(kv ...any) map[who]string {
	m := map[who]string{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(who)] = kv[i+1].(string)
	}
	return m
}

// world is a fresh app with alice, bob, carol, dave; alice owns a private
// group and a room with carol and dave as members, and has sent dave a message.
type world struct {
	s      *servertest.Server
	base   string // /org/app
	tok    map[who]string
	group  string
	room   string
	msg    string
	file   string
	shared string
}

var appSeq int

func newWorld(t testing.TB, s *servertest.Server, otherTok string) *world {
	t.Helper()
	appSeq++
	app := s.App(t, "authz", fmt.Sprintf("a%d", appSeq), tenant.Settings{})
	w := &world{s: s, base: "/authz/" + app.AppName, tok: map[who]string{other: otherTok}}
	w.tok[admin] = s.AppToken(t, app)
	w.must(t, "POST", "/users", admin, `[{"username":"alice","password":"pw"},{"username":"bob","password":"pw"},
		{"username":"carol","password":"pw"},{"username":"dave","password":"pw"}]`)
	for u, name := range map[who]string{alice: "alice", bob: "bob", carol: "carol", dave: "dave"} {
		r := s.Do(t, "POST", w.base+"/token", "", map[string]any{"grant_type": "password", "username": name, "password": "pw"})
		if r.Status != 200 {
			t.Fatalf("token of %s: %d %s", name, r.Status, r.Raw)
		}
		w.tok[u] = r.Str("access_token")
	}
	r := w.must(t, "POST", "/chatgroups", admin, `{"groupname":"g","owner":"alice","members":["carol","dave"],"public":false}`)
	w.group = r.Body["data"].(map[string]any)["groupid"].(string)
	r = w.must(t, "POST", "/chatrooms", admin, `{"name":"r","owner":"alice","members":["carol","dave"]}`)
	w.room = r.Body["data"].(map[string]any)["id"].(string)
	r = w.must(t, "POST", "/messages/users", admin, `{"from":"alice","to":["dave"],"type":"txt","body":{"msg":"hi"}}`)
	w.msg = r.Body["data"].(map[string]any)["dave"].(string)
	return w
}

// expand fills the placeholders of a path or body.
func (w *world) expand(s string) string {
	return strings.NewReplacer("{G}", w.group, "{R}", w.room, "{M}", w.msg, "{F}", w.file, "{S}", w.shared).Replace(s)
}

func (w *world) url(path string) string {
	if strings.HasPrefix(path, "//") {
		return w.expand(path[1:])
	}
	return w.base + w.expand(path)
}

// do calls path as u; body is JSON text (or "" for none).
func (w *world) do(t testing.TB, method, path string, u who, body string) *servertest.Response {
	t.Helper()
	var b any
	if body != "" {
		b = w.expand(body)
	}
	return w.s.Do(t, method, w.url(path), w.tok[u], b)
}

func (w *world) must(t testing.TB, method, path string, u who, body string) *servertest.Response {
	t.Helper()
	r := w.do(t, method, path, u, body)
	if r.Status != 200 {
		t.Fatalf("%s %s as %s: %d %s", method, path, whoNames[u], r.Status, r.Raw)
	}
	return r
}

// upload sends a multipart upload of a small text file as u.
func (w *world) upload(t testing.TB, path string, u who, restrict bool) *servertest.Response {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("file", "note.txt")
	fw.Write([]byte("hello"))
	mw.Close()
	req, _ := http.NewRequest("POST", w.s.URL+w.url(path), &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if restrict {
		req.Header.Set("restrict-access", "true")
	}
	if tok := w.tok[u]; tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := &servertest.Response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	json.Unmarshal(raw, &r.Body)
	return r
}

// withFile uploads a restricted file as alice ({F}).
func withFile(t *testing.T, w *world) {
	r := w.upload(t, "/chatfiles", alice, true)
	if r.Status != 200 {
		t.Fatalf("upload: %d %s", r.Status, r.Raw)
	}
	w.file = r.Entities()[0]["uuid"].(string)
}

// withShared shares a file in alice's group as alice ({S}).
func withShared(t *testing.T, w *world) {
	r := w.upload(t, "/chatgroups/{G}/share_files", alice, false)
	if r.Status != 200 {
		t.Fatalf("share: %d %s", r.Status, r.Raw)
	}
	w.shared = r.Body["data"].(map[string]any)["file_id"].(string)
}

// snapshotPaths are read with the app token before and after the refused
// calls of a write: together they show every state a route can change.
var snapshotPaths = []string{
	"/users?limit=100",
	"/users/alice/contacts/users", "/users/alice/blocks/users", "/metadata/user/alice",
	"/users/alice/user_channels", "/users/dave/user_channels", "/users/alice/joined_chatgroups",
	"/users/alice/push/binding", "/users/alice/notification/language",
	"/chatgroups/{G}", "/chatgroups/{G}/users", "/chatgroups/{G}/admin", "/chatgroups/{G}/mute",
	"/chatgroups/{G}/blocks/users", "/chatgroups/{G}/white/users", "/chatgroups/{G}/share_files",
	"/metadata/chatgroup/{G}/user/carol",
	"/chatrooms/{R}", "/chatrooms/{R}/users", "/chatrooms/{R}/admin", "/chatrooms/{R}/mute",
	"/chatrooms/{R}/blocks/users", "/chatrooms/super_admin",
	"/callbacks", "/moderation/keywords", "/push/notifiers", "/mutes",
	"/users/alice", "/users/dave", "/user/alice/contacts?needReturnRemark=true", "/users/alice/presence/sublist",
	"/users/alice/notification/user/dave", "/users/alice/notification/template", "/mutes/alice",
	"/chatgroups/{G}/announcement", "/chatrooms/{R}/announcement", "/moderation/records",
	"/callbacks/storage/info", "/users/dave/joined_chatgroups", "/users/alice/joined_chatrooms",
	"/notification/template/t", "/chatrooms/{R}/white/users",
	// Reads by POST: "POST path|body".
	`POST /metadata/chatroom/{R}|{"keys":[]}`, `POST /users/alice/presence|{"usernames":["alice"]}`,
}

// volatile are response fields that change between two identical reads.
var volatile = map[string]bool{"timestamp": true, "duration": true, "unixtime": true}

// stable drops the volatile fields of a decoded JSON value.
func stable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if !volatile[k] {
				out[k] = stable(e)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = stable(e)
		}
		return out
	}
	return v
}

func (w *world) snapshot(t *testing.T) map[string]any {
	t.Helper()
	out := map[string]any{}
	for _, p := range snapshotPaths {
		method, path, body := "GET", p, ""
		if rest, ok := strings.CutPrefix(p, "POST "); ok {
			method = "POST"
			path, body, _ = strings.Cut(rest, "|")
		}
		r := w.do(t, method, path, admin, body)
		out[p] = []any{r.Status, stable(map[string]any(r.Body))}
	}
	return out
}

func TestAuthz_Matrix(t *testing.T) {
	s := servertest.StartBackend(t, "sqlite")
	otherApp := s.App(t, "authz-other", "b", tenant.Settings{})
	otherTok := s.AppToken(t, otherApp)

	routes := s.Routes()
	registered := map[string]bool{}
	for _, r := range routes {
		registered[r.Key()] = true
		if _, ok := authzMatrix[r.Key()]; !ok && !hasVariant(r.Key()) {
			t.Errorf("route %s (gate %s) has no entry in authzMatrix: add one (CONTRIBUTING.md, \"Authorization matrix\")", r.Key(), r.Gate)
		}
	}
	keys := make([]string, 0, len(authzMatrix))
	for k := range authzMatrix {
		keys = append(keys, k)
		if route, _, _ := strings.Cut(k, " #"); !registered[route] {
			t.Errorf("authzMatrix entry %q names no registered route", k)
		}
	}
	sort.Strings(keys)

	for _, key := range keys {
		tc := authzMatrix[key]
		if tc.mgmt {
			continue
		}
		t.Run(key, func(t *testing.T) {
			route, _, _ := strings.Cut(key, " #")
			method, pattern, _ := strings.Cut(route, " ")
			path := tc.path
			if path == "" {
				path = strings.TrimPrefix(pattern, "/{org}/{app}")
				if path == pattern {
					path = "/" + pattern // absolute
				}
			}
			w := newWorld(t, s, otherTok)
			if tc.setup != nil {
				tc.setup(t, w)
			}
			if strings.Contains(w.url(path), "{") {
				t.Fatalf("path %q still has pattern parameters: give the entry a path", path)
			}
			call := func(u who) *servertest.Response {
				if tc.upload {
					return w.upload(t, path, u, false)
				}
				return w.do(t, method, path, u, tc.body)
			}
			refused := map[who]string{anon: "unauthorized", other: "bad_access_token", bob: "forbidden_op", carol: "forbidden_op"}
			delete(refused, tc.as)
			for u, code := range tc.codes {
				refused[u] = code
			}
			if _, ok := tc.codes[dave]; ok {
				// dave tries an owner's thing as an admin of the group and the room.
				promoteDave(t, w)
			}
			write := method != "GET" && method != "HEAD"
			var before map[string]any
			if write {
				before = w.snapshot(t)
			}
			for _, u := range []who{anon, other, bob, carol, dave} {
				code, ok := refused[u]
				if !ok || code == "" {
					continue
				}
				r := call(u)
				if method == "HEAD" && r.Status == kindStatus[code] {
					continue // no body to name the error
				}
				if r.Status != 401 && r.Status != 403 || r.Str("code") != code {
					t.Errorf("as %s: %d %s, want refusal %q", whoNames[u], r.Status, r.Raw, code)
				}
			}
			if write {
				if after := w.snapshot(t); !reflect.DeepEqual(before, after) {
					for _, p := range snapshotPaths {
						if !reflect.DeepEqual(before[p], after[p]) {
							t.Errorf("a refused call changed %s:\nbefore %v\nafter  %v", p, before[p], after[p])
						}
					}
				}
			}
			want := tc.status
			if want == 0 {
				want = 200
			}
			if r := call(tc.as); r.Status != want {
				t.Errorf("as %s (allowed): %d %s, want %d", whoNames[tc.as], r.Status, r.Raw, want)
			}
		})
	}
}

// kindStatus is the status of the error codes the matrix expects.
var kindStatus = map[string]int{}

func init() {
	for _, k := range protocol.Registry {
		kindStatus[k.ID] = k.Status
	}
}

func hasVariant(route string) bool {
	for k := range authzMatrix {
		if strings.HasPrefix(k, route+" #") {
			return true
		}
	}
	return false
}

// authzMatrix: one entry per route ("METHOD pattern", as registered; a
// route dispatching on a path segment has one entry per variant, "METHOD
// pattern #variant").
var authzMatrix = map[string]authzCase{
	// Health and metrics answer anyone (the metrics carry no tenant data).
	"GET /healthz": {as: anon, path: "//healthz", codes: allow(other, bob, carol)},
	"GET /readyz":  {as: anon, path: "//readyz", codes: allow(other, bob, carol)},
	"GET /metrics": {as: anon, path: "//metrics", codes: allow(other, bob, carol)},

	// Users.
	"POST /{org}/{app}/token": {as: anon, body: `{"grant_type":"password","username":"alice","password":"pw"}`,
		codes: allow(bob, carol)},
	"POST /{org}/{app}/users":                       {as: admin, body: `{"username":"zed","password":"pw"}`},
	"GET /{org}/{app}/users":                        {as: admin},
	"DELETE /{org}/{app}/users":                     {as: admin, path: "/users?limit=1"},
	"GET /{org}/{app}/users/{username}":             {as: alice, path: "/users/alice"},
	"PUT /{org}/{app}/users/{username}":             {as: alice, path: "/users/alice", body: `{"nickname":"Al"}`},
	"DELETE /{org}/{app}/users/{username}":          {as: admin, path: "/users/alice"},
	"PUT /{org}/{app}/users/{username}/password":    {as: alice, path: "/users/alice/password", body: `{"newpassword":"pw2"}`},
	"POST /{org}/{app}/users/{username}/password":   {as: alice, path: "/users/alice/password", body: `{"newpassword":"pw2"}`},
	"POST /{org}/{app}/users/{username}/deactivate": {as: admin, path: "/users/alice/deactivate"},
	"POST /{org}/{app}/users/{username}/activate":   {as: admin, path: "/users/alice/activate"},

	// 1:1 messages and conversations.
	"POST /{org}/{app}/messages/users": {as: admin, body: `{"from":"alice","to":["dave"],"type":"txt","body":{"msg":"x"}}`},
	"POST /{org}/{app}/messages/msg_recall": {as: admin,
		body: `{"msg_id":"{M}","to":"dave","chat_type":"chat","from":"alice"}`},
	"POST /{org}/{app}/messages/recall": {as: admin,
		body: `{"msgs":[{"msg_id":"{M}","to":"dave","chat_type":"chat","from":"alice"}]}`},
	"POST /{org}/{app}/messages/batch_recall": {as: admin,
		body: `{"msgs":[{"msg_id":"{M}","to":"dave","chat_type":"chat","from":"alice"}]}`},
	"PUT /{org}/{app}/messages/rewrite/{msg_id}": {as: admin, path: "/messages/rewrite/{M}",
		body: `{"user":"alice","new_msg":{"type":"txt","msg":"edited"}}`},
	"GET /{org}/{app}/users/{username}/status":                   {as: admin, path: "/users/alice/status"},
	"POST /{org}/{app}/users/batch/status":                       {as: admin, body: `{"usernames":["alice"]}`},
	"GET /{org}/{app}/users/{username}/resources":                {as: admin, path: "/users/alice/resources"},
	"GET /{org}/{app}/users/{username}/disconnect":               {as: admin, path: "/users/alice/disconnect"},
	"DELETE /{org}/{app}/users/{username}/disconnect/{resource}": {as: admin, path: "/users/alice/disconnect/web"},
	"GET /{org}/{app}/users/{username}/offline_msg_count":        {as: admin, path: "/users/alice/offline_msg_count"},
	"GET /{org}/{app}/users/{username}/user_channels":            {as: alice, path: "/users/alice/user_channels"},
	"DELETE /{org}/{app}/users/{username}/user_channel": {as: alice, path: "/users/alice/user_channel",
		body: `{"channel":"dave","type":"chat","delete_roam":true}`},
	"POST /{org}/{app}/users/{username}/user_channel/top": {as: alice, path: "/users/alice/user_channel/top",
		body: `{"channel":"dave","type":"chat"}`},
	"DELETE /{org}/{app}/users/{username}/user_channel/top": {as: alice, path: "/users/alice/user_channel/top",
		body: `{"channel":"dave","type":"chat"}`, setup: func(t *testing.T, w *world) {
			w.must(t, "POST", "/users/alice/user_channel/top", alice, `{"channel":"dave","type":"chat"}`)
		}},

	// Files: any user of the app uploads; a restricted file opens for its
	// owner, the app admin, or its share-secret.
	"POST /{org}/{app}/chatfiles":        {as: alice, upload: true, codes: allow(bob, carol)},
	"GET /{org}/{app}/chatfiles/{uuid}":  {as: alice, path: "/chatfiles/{F}", setup: withFile, codes: denyFile()},
	"HEAD /{org}/{app}/chatfiles/{uuid}": {as: alice, path: "/chatfiles/{F}", setup: withFile, codes: denyFile()},
	"POST /{org}/{app}/chatgroups/{id}/share_files": {as: carol, path: "/chatgroups/{G}/share_files", upload: true,
		codes: codes(bob, "not_group_member")},
	"GET /{org}/{app}/chatgroups/{id}/share_files": {as: carol, path: "/chatgroups/{G}/share_files",
		codes: codes(bob, "not_group_member")},
	"DELETE /{org}/{app}/chatgroups/{id}/share_files/{file}": {as: alice, path: "/chatgroups/{G}/share_files/{S}",
		setup: withShared, codes: groupAdmin()},
	"GET /{org}/{app}/chatgroups/{id}/share_files/{file}": {as: carol, path: "/chatgroups/{G}/share_files/{S}",
		setup: withShared, codes: codes(bob, "not_group_member")},

	// Contacts, blocks, attributes, presence, mutes: a user acts on their own.
	"POST /{org}/{app}/users/{username}/contacts/users/{friend}":   {as: admin, path: "/users/alice/contacts/users/dave"},
	"DELETE /{org}/{app}/users/{username}/contacts/users/{friend}": {as: alice, path: "/users/alice/contacts/users/dave", setup: friends},
	"PUT /{org}/{app}/user/{username}/contacts/users/{friend}": {as: alice, path: "/user/alice/contacts/users/dave",
		body: `{"remark":"D"}`, setup: friends},
	"PUT /{org}/{app}/users/{username}/contacts/users/{friend}": {as: alice, path: "/users/alice/contacts/users/dave",
		body: `{"remark":"D"}`, setup: friends},
	"GET /{org}/{app}/user/{username}/contacts":        {as: alice, path: "/user/alice/contacts"},
	"GET /{org}/{app}/users/{username}/contacts":       {as: alice, path: "/users/alice/contacts"},
	"GET /{org}/{app}/users/{username}/contacts/users": {as: alice, path: "/users/alice/contacts/users"},
	"POST /{org}/{app}/users/{username}/contacts/import": {as: admin, path: "/users/alice/contacts/import",
		body: `{"usernames":["dave"]}`},
	"POST /{org}/{app}/users/{username}/contacts/apply": {as: alice, path: "/users/alice/contacts/apply",
		body: `{"usernames":["dave"],"reason":"hi"}`},
	"POST /{org}/{app}/users/{username}/contacts/accept/users/{from}": {as: alice,
		path: "/users/alice/contacts/accept/users/dave", setup: daveAsks},
	"POST /{org}/{app}/users/{username}/contacts/decline/users/{from}": {as: alice,
		path: "/users/alice/contacts/decline/users/dave", setup: daveAsks},
	"POST /{org}/{app}/users/{username}/blocks/users": {as: alice, path: "/users/alice/blocks/users",
		body: `{"usernames":["dave"]}`},
	"GET /{org}/{app}/users/{username}/blocks/users": {as: alice, path: "/users/alice/blocks/users"},
	"DELETE /{org}/{app}/users/{username}/blocks/users/{blocked}": {as: alice, path: "/users/alice/blocks/users/dave",
		setup: func(t *testing.T, w *world) {
			w.must(t, "POST", "/users/alice/blocks/users", admin, `{"usernames":["dave"]}`)
		}},
	"PUT /{org}/{app}/metadata/user/{username}": {as: alice, path: "/metadata/user/alice", body: `city=paris`},
	// User attributes are a public profile: any token reads them.
	"GET /{org}/{app}/metadata/user/{username}":    {as: alice, path: "/metadata/user/alice", codes: allow(bob, carol)},
	"POST /{org}/{app}/metadata/user/get":          {as: alice, body: `{"targets":["alice"],"properties":[]}`, codes: allow(bob, carol)},
	"DELETE /{org}/{app}/metadata/user/{username}": {as: alice, path: "/metadata/user/alice", setup: aliceAttrs},
	"GET /{org}/{app}/metadata/user/capacity":      {as: admin},
	"POST /{org}/{app}/users/{username}/presence/{resource}/{status}": {as: alice, path: "/users/alice/presence/web/1",
		body: `{"ext":"busy"}`},
	"POST /{org}/{app}/users/{username}/presence/{expiry}": {as: alice, path: "/users/alice/presence/3600",
		body: `{"usernames":["dave"]}`},
	// Anyone's presence, for any token (the path's user is not consulted).
	"POST /{org}/{app}/users/{username}/presence": {as: alice, path: "/users/alice/presence", body: `{"usernames":["dave"]}`,
		codes: allow(bob, carol)},
	"DELETE /{org}/{app}/users/{username}/presence": {as: alice, path: "/users/alice/presence", body: `["dave"]`,
		setup: func(t *testing.T, w *world) {
			w.must(t, "POST", "/users/alice/presence/3600", alice, `{"usernames":["dave"]}`)
		}},
	"GET /{org}/{app}/users/{username}/presence/sublist": {as: alice, path: "/users/alice/presence/sublist"},
	"POST /{org}/{app}/mutes":                            {as: admin, body: `{"username":"alice","chat":3600}`},
	"GET /{org}/{app}/mutes/{username}":                  {as: admin, path: "/mutes/alice"},
	"GET /{org}/{app}/mutes":                             {as: admin},

	// Groups: the owner and group admins manage, members read.
	"POST /{org}/{app}/chatgroups": {as: alice, body: `{"groupname":"h","owner":"alice","public":true}`, codes: allow(bob, carol)},
	"GET /{org}/{app}/chatgroups":  {as: admin},
	// Regression: the details of a private group, with its members, went to any user.
	"GET /{org}/{app}/chatgroups/{id}":          {as: carol, path: "/chatgroups/{G}", codes: codes(bob, "not_group_member")},
	"PUT /{org}/{app}/chatgroups/{id}":          {as: alice, path: "/chatgroups/{G}", body: `{"groupname":"renamed"}`, codes: groupAdmin()},
	"DELETE /{org}/{app}/chatgroups/{id}":       {as: alice, path: "/chatgroups/{G}", codes: groupOwner()},
	"POST /{org}/{app}/chatgroups/{id}/disable": {as: admin, path: "/chatgroups/{G}/disable"},
	"POST /{org}/{app}/chatgroups/{id}/enable":  {as: admin, path: "/chatgroups/{G}/enable"},
	"GET /{org}/{app}/chatgroups/{id}/{sub} #announcement": {as: carol, path: "/chatgroups/{G}/announcement",
		codes: codes(bob, "not_group_member")},
	"GET /{org}/{app}/chatgroups/{id}/{sub} #users": {as: carol, path: "/chatgroups/{G}/users",
		codes: codes(bob, "not_group_member")},
	"GET /{org}/{app}/chatgroups/{id}/{sub} #admin": {as: carol, path: "/chatgroups/{G}/admin",
		codes: codes(bob, "not_group_member")},
	"GET /{org}/{app}/chatgroups/{id}/{sub} #mute":        {as: alice, path: "/chatgroups/{G}/mute", codes: groupAdmin()},
	"GET /{org}/{app}/chatgroups/{id}/{sub} #user":        {as: alice, path: "/chatgroups/user/alice"},
	"GET /{org}/{app}/users/{username}/joined_chatgroups": {as: alice, path: "/users/alice/joined_chatgroups"},
	// Regression: is_joined told anyone who is in a private group.
	"GET /{org}/{app}/chatgroups/{id}/user/{username}/is_joined": {as: carol, path: "/chatgroups/{G}/user/alice/is_joined",
		codes: codes(bob, "not_group_member")},
	"POST /{org}/{app}/chatgroups/{id}/user/{username}/is_joined": {as: carol, path: "/chatgroups/{G}/user/alice/is_joined",
		codes: codes(bob, "not_group_member")},
	"POST /{org}/{app}/chatgroups/{id}/announcement": {as: alice, path: "/chatgroups/{G}/announcement",
		body: `{"announcement":"hello"}`, codes: groupAdmin()},
	"POST /{org}/{app}/chatgroups/{id}/users": {as: alice, path: "/chatgroups/{G}/users", body: `{"usernames":["bob"]}`,
		codes: groupAdmin()},
	"POST /{org}/{app}/chatgroups/{id}/users/{username}":    {as: alice, path: "/chatgroups/{G}/users/bob", codes: groupAdmin()},
	"DELETE /{org}/{app}/chatgroups/{id}/users/{usernames}": {as: alice, path: "/chatgroups/{G}/users/dave", codes: groupAdmin()},
	"POST /{org}/{app}/chatgroups/{id}/admin": {as: alice, path: "/chatgroups/{G}/admin", body: `{"newadmin":"dave"}`,
		codes: groupOwner()},
	"DELETE /{org}/{app}/chatgroups/{id}/admin/{username}": {as: alice, path: "/chatgroups/{G}/admin/dave",
		setup: daveGroupAdmin, codes: groupOwner()},
	"GET /{org}/{app}/chatgroups/{id}/blocks/users": {as: alice, path: "/chatgroups/{G}/blocks/users", codes: groupAdmin()},
	"POST /{org}/{app}/chatgroups/{id}/blocks/users": {as: alice, path: "/chatgroups/{G}/blocks/users",
		body: `{"usernames":["dave"]}`, codes: groupAdmin()},
	"POST /{org}/{app}/chatgroups/{id}/blocks/users/{username}": {as: alice, path: "/chatgroups/{G}/blocks/users/dave",
		codes: groupAdmin()},
	"DELETE /{org}/{app}/chatgroups/{id}/blocks/users/{usernames}": {as: alice, path: "/chatgroups/{G}/blocks/users/bob",
		setup: func(t *testing.T, w *world) { w.must(t, "POST", "/chatgroups/{G}/blocks/users/bob", admin, "") },
		codes: groupAdmin()},
	"GET /{org}/{app}/chatgroups/{id}/white/users": {as: alice, path: "/chatgroups/{G}/white/users", codes: groupAdmin()},
	"POST /{org}/{app}/chatgroups/{id}/white/users": {as: alice, path: "/chatgroups/{G}/white/users",
		body: `{"usernames":["dave"]}`, codes: groupAdmin()},
	"POST /{org}/{app}/chatgroups/{id}/white/users/{username}": {as: alice, path: "/chatgroups/{G}/white/users/dave",
		codes: groupAdmin()},
	"DELETE /{org}/{app}/chatgroups/{id}/white/users/{usernames}": {as: alice, path: "/chatgroups/{G}/white/users/dave",
		setup: func(t *testing.T, w *world) { w.must(t, "POST", "/chatgroups/{G}/white/users/dave", admin, "") },
		codes: groupAdmin()},
	"POST /{org}/{app}/chatgroups/{id}/mute": {as: alice, path: "/chatgroups/{G}/mute",
		body: `{"usernames":["dave"],"mute_duration":60000}`, codes: groupAdmin()},
	"DELETE /{org}/{app}/chatgroups/{id}/mute/{usernames}": {as: alice, path: "/chatgroups/{G}/mute/dave",
		setup: func(t *testing.T, w *world) {
			w.must(t, "POST", "/chatgroups/{G}/mute", admin, `{"usernames":["dave"],"mute_duration":60000}`)
		}, codes: groupAdmin()},
	"POST /{org}/{app}/chatgroups/{id}/ban":   {as: alice, path: "/chatgroups/{G}/ban", codes: groupAdmin()},
	"DELETE /{org}/{app}/chatgroups/{id}/ban": {as: alice, path: "/chatgroups/{G}/ban", codes: groupAdmin()},
	"PUT /{org}/{app}/metadata/chatgroup/{id}/user/{username}": {as: carol, path: "/metadata/chatgroup/{G}/user/carol",
		body: `{"metaData":{"nick":"C"}}`, codes: codes(bob, "group_forbidden")},
	"GET /{org}/{app}/metadata/chatgroup/{id}/user/{username}": {as: carol, path: "/metadata/chatgroup/{G}/user/carol",
		codes: codes(bob, "not_group_member")},
	// Per-member results: bob's attempt is a failed item (see TestAuthz_GroupAttrsBatch); anon is refused (regression).
	"PUT /{org}/{app}/metadata/chatgroup/{id}/users/batch": {as: admin, path: "/metadata/chatgroup/{G}/users/batch",
		body: `[{"username":"carol","metadata":{"nick":"C"}}]`, codes: allow(bob, carol)},
	"POST /{org}/{app}/metadata/chatgroup/{id}/get": {as: carol, path: "/metadata/chatgroup/{G}/get",
		body: `{"targets":["carol"],"properties":[]}`, codes: codes(bob, "not_group_member")},
	"POST /{org}/{app}/chatgroups/{id}/apply": {as: bob, path: "/chatgroups/{G}/apply", body: `{"message":"let me in"}`,
		codes: allow(carol), setup: func(t *testing.T, w *world) { w.must(t, "PUT", "/chatgroups/{G}", admin, `{"public":true}`) }},
	"POST /{org}/{app}/chatgroups/{id}/apply_verify": {as: alice, path: "/chatgroups/{G}/apply_verify",
		body: `{"applicant":"bob","verifyResult":true}`, setup: bobApplies, codes: groupAdmin()},
	"POST /{org}/{app}/chatgroups/{id}/invite": {as: alice, path: "/chatgroups/{G}/invite", body: `{"usernames":["bob"]}`,
		codes: groupAdmin()},
	"POST /{org}/{app}/chatgroups/{id}/invite_verify": {as: bob, path: "/chatgroups/{G}/invite_verify",
		body: `{"invitee":"bob","verifyResult":true}`, setup: aliceInvitesBob},
	"DELETE /{org}/{app}/chatgroups/{id}/quit":   {as: carol, path: "/chatgroups/{G}/quit", codes: codes(bob, "not_group_member")},
	"POST /{org}/{app}/chatgroups/{id}/shield":   {as: carol, path: "/chatgroups/{G}/shield", codes: codes(bob, "not_group_member")},
	"DELETE /{org}/{app}/chatgroups/{id}/shield": {as: carol, path: "/chatgroups/{G}/shield", codes: codes(bob, "not_group_member")},
	"POST /{org}/{app}/messages/chatgroups": {as: admin,
		body: `{"from":"carol","to":["{G}"],"type":"txt","body":{"msg":"x"}}`},
	"POST /{org}/{app}/messages/chatgroups/users": {as: admin,
		body: `{"from":"alice","to":["{G}"],"type":"txt","body":{"msg":"x"},"users":["dave"]}`},

	// Rooms: the owner and room admins manage; members read.
	"POST /{org}/{app}/chatrooms": {as: admin, body: `{"name":"s","owner":"alice"}`, codes: codes(bob, "room_forbidden", carol, "room_forbidden")},
	"GET /{org}/{app}/chatrooms":  {as: admin},
	// Rooms are public: any user reads their details, but the member list
	// is for members (regression: it was in the details).
	"GET /{org}/{app}/chatrooms/{id}":                     {as: carol, path: "/chatrooms/{R}", codes: allow(bob)},
	"GET /{org}/{app}/chatrooms/{id} #super_admin":        {as: admin, path: "/chatrooms/super_admin"},
	"PUT /{org}/{app}/chatrooms/{id}":                     {as: alice, path: "/chatrooms/{R}", body: `{"name":"renamed"}`, codes: roomAdmin()},
	"DELETE /{org}/{app}/chatrooms/{id}":                  {as: alice, path: "/chatrooms/{R}", codes: roomOwner()},
	"GET /{org}/{app}/users/{username}/joined_chatrooms":  {as: alice, path: "/users/alice/joined_chatrooms"},
	"GET /{org}/{app}/chatrooms/{id}/{sub} #announcement": {as: carol, path: "/chatrooms/{R}/announcement", codes: allow(bob)},
	"GET /{org}/{app}/chatrooms/{id}/{sub} #users": {as: carol, path: "/chatrooms/{R}/users",
		codes: codes(bob, "not_room_member")},
	"GET /{org}/{app}/chatrooms/{id}/{sub} #admin": {as: carol, path: "/chatrooms/{R}/admin", codes: allow(bob)},
	"GET /{org}/{app}/chatrooms/{id}/{sub} #mute":  {as: alice, path: "/chatrooms/{R}/mute", codes: roomAdmin()},
	"POST /{org}/{app}/chatrooms/{id}/announcement": {as: alice, path: "/chatrooms/{R}/announcement",
		body: `{"announcement":"hello"}`, codes: roomAdmin()},
	"POST /{org}/{app}/chatrooms/{id}/users": {as: alice, path: "/chatrooms/{R}/users", body: `{"usernames":["bob"]}`,
		codes: roomAdmin()},
	"POST /{org}/{app}/chatrooms/{id}/users/{username}":    {as: alice, path: "/chatrooms/{R}/users/bob", codes: roomAdmin()},
	"DELETE /{org}/{app}/chatrooms/{id}/users/{usernames}": {as: alice, path: "/chatrooms/{R}/users/dave", codes: roomAdmin()},
	"POST /{org}/{app}/chatrooms/{id}/admin": {as: alice, path: "/chatrooms/{R}/admin", body: `{"newadmin":"dave"}`,
		codes: roomOwner()},
	"DELETE /{org}/{app}/chatrooms/{id}/admin/{username}": {as: alice, path: "/chatrooms/{R}/admin/dave",
		setup: daveRoomAdmin, codes: roomOwner()},
	"GET /{org}/{app}/chatrooms/{id}/blocks/users": {as: alice, path: "/chatrooms/{R}/blocks/users", codes: roomAdmin()},
	"POST /{org}/{app}/chatrooms/{id}/blocks/users": {as: alice, path: "/chatrooms/{R}/blocks/users",
		body: `{"usernames":["dave"]}`, codes: roomAdmin()},
	"POST /{org}/{app}/chatrooms/{id}/blocks/users/{username}": {as: alice, path: "/chatrooms/{R}/blocks/users/dave",
		codes: roomAdmin()},
	"DELETE /{org}/{app}/chatrooms/{id}/blocks/users/{usernames}": {as: alice, path: "/chatrooms/{R}/blocks/users/bob",
		setup: func(t *testing.T, w *world) { w.must(t, "POST", "/chatrooms/{R}/blocks/users/bob", admin, "") },
		codes: roomAdmin()},
	"GET /{org}/{app}/chatrooms/{id}/white/users": {as: alice, path: "/chatrooms/{R}/white/users", codes: roomAdmin()},
	"POST /{org}/{app}/chatrooms/{id}/white/users": {as: alice, path: "/chatrooms/{R}/white/users",
		body: `{"usernames":["dave"]}`, codes: roomAdmin()},
	"POST /{org}/{app}/chatrooms/{id}/white/users/{username}": {as: alice, path: "/chatrooms/{R}/white/users/dave",
		codes: roomAdmin()},
	"DELETE /{org}/{app}/chatrooms/{id}/white/users/{usernames}": {as: alice, path: "/chatrooms/{R}/white/users/dave",
		setup: func(t *testing.T, w *world) { w.must(t, "POST", "/chatrooms/{R}/white/users/dave", admin, "") },
		codes: roomAdmin()},
	"POST /{org}/{app}/chatrooms/{id}/mute": {as: alice, path: "/chatrooms/{R}/mute",
		body: `{"usernames":["dave"],"mute_duration":60000}`, codes: roomAdmin()},
	"DELETE /{org}/{app}/chatrooms/{id}/mute/{usernames}": {as: alice, path: "/chatrooms/{R}/mute/dave",
		setup: func(t *testing.T, w *world) {
			w.must(t, "POST", "/chatrooms/{R}/mute", admin, `{"usernames":["dave"],"mute_duration":60000}`)
		}, codes: roomAdmin()},
	"POST /{org}/{app}/chatrooms/{id}/ban":          {as: alice, path: "/chatrooms/{R}/ban", codes: roomAdmin()},
	"DELETE /{org}/{app}/chatrooms/{id}/{sub} #ban": {as: alice, path: "/chatrooms/{R}/ban", codes: roomAdmin()},
	"DELETE /{org}/{app}/chatrooms/{id}/{sub} #super_admin": {as: admin, path: "/chatrooms/super_admin/dave",
		setup: func(t *testing.T, w *world) {
			w.must(t, "POST", "/chatrooms/super_admin", admin, `{"superadmin":"dave"}`)
		}},
	"POST /{org}/{app}/metadata/chatroom/{id}": {as: carol, path: "/metadata/chatroom/{R}", body: `{"keys":[]}`,
		codes: codes(bob, "not_room_member")},
	"PUT /{org}/{app}/metadata/chatroom/{id}/user/{username}": {as: carol, path: "/metadata/chatroom/{R}/user/carol",
		body: `{"metaData":{"k":"v"}}`},
	"PUT /{org}/{app}/metadata/chatroom/{id}/user/{username}/forced": {as: alice, path: "/metadata/chatroom/{R}/user/alice/forced",
		body: `{"metaData":{"k":"v"}}`},
	"DELETE /{org}/{app}/metadata/chatroom/{id}/user/{username}": {as: carol, path: "/metadata/chatroom/{R}/user/carol",
		body: `{"keys":["k"]}`, setup: roomAttr},
	"DELETE /{org}/{app}/metadata/chatroom/{id}/user/{username}/forced": {as: alice, path: "/metadata/chatroom/{R}/user/alice/forced",
		body: `{"keys":["k"]}`, setup: roomAttr},
	"POST /{org}/{app}/chatrooms/super_admin":        {as: admin, body: `{"superadmin":"dave"}`},
	"POST /{org}/{app}/messages/chatrooms":           {as: admin, body: `{"from":"carol","to":["{R}"],"type":"txt","body":{"msg":"x"}}`},
	"POST /{org}/{app}/messages/chatrooms/broadcast": {as: admin, body: `{"from":"alice","msg":{"type":"txt","msg":"x"}}`},
	"POST /{org}/{app}/messages/broadcast":           {as: admin, body: `{"from":"alice","msg":{"type":"txt","msg":"x"}}`},
	"POST /{org}/{app}/messages/users/broadcast":     {as: admin, body: `{"from":"alice","msg":{"type":"txt","msg":"x"}}`},

	// Push: a user's devices and preferences are their own; templates and
	// notifiers are the app's.
	"PUT /{org}/{app}/users/{username}/push/binding": {as: alice, path: "/users/alice/push/binding",
		body: `{"device_id":"d1","notifier_name":"hook","device_token":"t1"}`, setup: notifier},
	"GET /{org}/{app}/users/{username}/push/binding": {as: alice, path: "/users/alice/push/binding"},
	"PUT /{org}/{app}/users/{username}/notification/{chattype}/{key}": {as: alice,
		path: "/users/alice/notification/user/dave", body: `{"type":"NONE"}`},
	"GET /{org}/{app}/users/{username}/notification/{chattype}/{key}": {as: alice, path: "/users/alice/notification/user/dave"},
	"PUT /{org}/{app}/users/{username}/notification/language": {as: alice, path: "/users/alice/notification/language",
		body: `{"translationLanguage":"fr"}`},
	"GET /{org}/{app}/users/{username}/notification/language": {as: alice, path: "/users/alice/notification/language"},
	"PUT /{org}/{app}/users/{username}/notification/template": {as: alice, path: "/users/alice/notification/template",
		body: `{"templateName":"t"}`, setup: template},
	"GET /{org}/{app}/users/{username}/notification/template": {as: alice, path: "/users/alice/notification/template"},
	"POST /{org}/{app}/notification/template": {as: admin,
		body: `{"name":"t","title_pattern":"{0}","content_pattern":"{1}"}`},
	"GET /{org}/{app}/notification/template/{name}": {as: admin, path: "/notification/template/t", setup: template,
		codes: allow(bob, carol)}, // any token: a client renders pushes with it
	"DELETE /{org}/{app}/notification/template/{name}": {as: admin, path: "/notification/template/t", setup: template},
	"PUT /{org}/{app}/push/notifiers/{name}": {as: admin, path: "/push/notifiers/hook",
		body: `{"provider":"webhook","url":"https://push.example.com/hook"}`},
	"GET /{org}/{app}/push/notifiers":           {as: admin},
	"DELETE /{org}/{app}/push/notifiers/{name}": {as: admin, path: "/push/notifiers/hook", setup: notifier},

	// Callbacks, moderation, history: the app's.
	"POST /{org}/{app}/callbacks": {as: admin,
		body: `{"name":"cb","url":"https://cb.example.com/","secret":"a-callback-secret-0123","events":["chat"]}`},
	"GET /{org}/{app}/callbacks":                {as: admin},
	"GET /{org}/{app}/callbacks/{name}":         {as: admin, path: "/callbacks/cb", setup: callbackRule},
	"PUT /{org}/{app}/callbacks/{name}":         {as: admin, path: "/callbacks/cb", setup: callbackRule, body: `{"fail_open":true}`},
	"DELETE /{org}/{app}/callbacks/{name}":      {as: admin, path: "/callbacks/cb", setup: callbackRule},
	"GET /{org}/{app}/callbacks/storage/info":   {as: admin},
	"POST /{org}/{app}/callbacks/storage/retry": {as: admin, body: `{}`},
	"POST /{org}/{app}/moderation/keywords":     {as: admin, body: `{"words":[{"word":"spam","action":"reject"}]}`},
	"DELETE /{org}/{app}/moderation/keywords":   {as: admin, body: `{"words":["spam"]}`, setup: keyword},
	"GET /{org}/{app}/moderation/keywords":      {as: admin},
	"GET /{org}/{app}/moderation/records":       {as: admin},
	"POST /{org}/{app}/user/{username}/moderation/report/message": {as: dave, path: "/user/dave/moderation/report/message",
		body: `{"msgId":"{M}","type":"spam","reason":"x"}`, codes: codes(bob, "forbidden_op", carol, "forbidden_op")},
	"GET /{org}/{app}/chatmessages/{time}": {as: admin, path: "/chatmessages/2026010100"},
	"POST /{org}/{app}/messages/users/import": {as: admin,
		body: `{"from":"alice","target":"dave","type":"txt","body":{"msg":"old"}}`},
	"POST /{org}/{app}/messages/chatgroups/import": {as: admin,
		body: `{"from":"alice","target":"{G}","type":"txt","body":{"msg":"old"}}`},

	// The management API has its own callers: see TestAuthz_Management.
	"POST /management/token":                                     {mgmt: true},
	"POST /management/orgs/{org}/applications":                   {mgmt: true},
	"GET /management/orgs/{org}/applications":                    {mgmt: true},
	"POST /management/orgs/{org}/applications/{app}/credentials": {mgmt: true},
}

// Refusals of group and room roles.
func groupAdmin() map[who]string {
	return codes(bob, "group_forbidden", carol, "group_forbidden")
}
func groupOwner() map[who]string { return with(groupAdmin(), dave, "group_forbidden") } // dave: a group admin
func roomAdmin() map[who]string  { return codes(bob, "room_forbidden", carol, "room_forbidden") }
func roomOwner() map[who]string  { return with(roomAdmin(), dave, "room_forbidden") } // dave: a room admin

// A restricted file: bob and carol lack its share-secret.
func denyFile() map[who]string {
	return codes(anon, "file_access_denied", bob, "file_access_denied", carol, "file_access_denied")
}

func friends(t *testing.T, w *world) {
	w.must(t, "POST", "/users/alice/contacts/users/dave", admin, "")
}
func daveAsks(t *testing.T, w *world) {
	w.must(t, "POST", "/users/dave/contacts/apply", dave, `{"usernames":["alice"],"reason":"hi"}`)
}
func aliceAttrs(t *testing.T, w *world) {
	w.must(t, "PUT", "/metadata/user/alice", admin, `city=paris`)
}
func promoteDave(t *testing.T, w *world) {
	for _, p := range []string{"/chatgroups/{G}/admin", "/chatrooms/{R}/admin"} {
		if r := w.do(t, "POST", p, admin, `{"newadmin":"dave"}`); r.Status != 200 && r.Str("code") != "conflict" {
			w.must(t, "POST", p, admin, `{"newadmin":"dave"}`)
		}
	}
}

func daveGroupAdmin(t *testing.T, w *world) {
	w.must(t, "POST", "/chatgroups/{G}/admin", admin, `{"newadmin":"dave"}`)
}
func daveRoomAdmin(t *testing.T, w *world) {
	w.must(t, "POST", "/chatrooms/{R}/admin", admin, `{"newadmin":"dave"}`)
}
func bobApplies(t *testing.T, w *world) {
	w.must(t, "PUT", "/chatgroups/{G}", admin, `{"public":true,"membersonly":true}`)
	w.must(t, "POST", "/chatgroups/{G}/apply", bob, `{"message":"let me in"}`)
}
func aliceInvitesBob(t *testing.T, w *world) {
	w.must(t, "POST", "/chatgroups/{G}/invite", alice, `{"usernames":["bob"]}`)
}
func roomAttr(t *testing.T, w *world) {
	w.must(t, "PUT", "/metadata/chatroom/{R}/user/carol", carol, `{"metaData":{"k":"v"}}`)
	w.must(t, "PUT", "/metadata/chatroom/{R}/user/alice", alice, `{"metaData":{"k":"v"}}`)
}
func template(t *testing.T, w *world) {
	w.must(t, "POST", "/notification/template", admin, `{"name":"t","title_pattern":"{0}","content_pattern":"{1}"}`)
}
func notifier(t *testing.T, w *world) {
	w.must(t, "PUT", "/push/notifiers/hook", admin, `{"provider":"webhook","url":"https://push.example.com/hook"}`)
}
func callbackRule(t *testing.T, w *world) {
	w.must(t, "POST", "/callbacks", admin, `{"name":"cb","url":"https://cb.example.com/","secret":"a-callback-secret-0123","events":["chat"]}`)
}
func keyword(t *testing.T, w *world) {
	w.must(t, "POST", "/moderation/keywords", admin, `{"words":[{"word":"spam","action":"reject"}]}`)
}

// Rooms are public, their member lists are not: a user outside the room
// reads its details without the members (regression).
func TestAuthz_RoomDetails(t *testing.T) {
	s := servertest.StartBackend(t, "sqlite")
	w := newWorld(t, s, "")
	for _, tc := range []struct {
		as      who
		members bool
	}{{bob, false}, {carol, true}, {admin, true}} {
		r := w.must(t, "GET", "/chatrooms/{R}", tc.as, "")
		d := r.Body["data"].([]any)[0].(map[string]any)
		if _, has := d["affiliations"]; has != tc.members || d["affiliations_count"] != float64(3) {
			t.Errorf("as %s: members listed %v, want %v: %s", whoNames[tc.as], has, tc.members, r.Raw)
		}
	}
}

// The batch of group member attributes answers per member: a user who may
// not set a member's attributes gets a failed item, and nothing changes.
func TestAuthz_GroupAttrsBatch(t *testing.T) {
	s := servertest.StartBackend(t, "sqlite")
	w := newWorld(t, s, "")
	before := w.must(t, "GET", "/metadata/chatgroup/{G}/user/carol", admin, "").Body["data"]
	r := w.must(t, "PUT", "/metadata/chatgroup/{G}/users/batch", bob, `[{"username":"carol","metadata":{"nick":"B"}}]`)
	d := r.Body["data"].(map[string]any)
	if len(d["updateMetadataSucceeded"].([]any)) != 0 || len(d["updateMetadataFailed"].([]any)) != 1 {
		t.Fatalf("bob's batch: %s", r.Raw)
	}
	if after := w.must(t, "GET", "/metadata/chatgroup/{G}/user/carol", admin, "").Body["data"]; !reflect.DeepEqual(before, after) {
		t.Fatalf("carol's attributes changed: %v -> %v", before, after)
	}
}

// The management API's callers are console accounts: the owner, an
// app_admin of one app, a viewer; an app token is no management token.
func TestAuthz_Management(t *testing.T) {
	s := servertest.StartBackend(t, "sqlite")
	one := s.App(t, "mgmt", "one", tenant.Settings{})
	s.App(t, "mgmt", "two", tenant.Settings{})
	mgmtToken := func(user, password string) string {
		r := s.Do(t, "POST", "/management/token", "", map[string]any{"grant_type": "password", "username": user, "password": password})
		if r.Status != 200 {
			t.Fatalf("management token of %s: %d %s", user, r.Status, r.Raw)
		}
		return r.Str("access_token")
	}
	ownerTok := mgmtToken("owner", servertest.OwnerPassword)
	owner, err := s.Admins.Authenticate(context.Background(), "Bearer "+ownerTok)
	if err != nil {
		t.Fatal(err)
	}
	const pw = "a long enough password"
	for _, a := range []adminsvc.NewAdmin{
		{Username: "ed", Password: pw, Role: adminsvc.RoleAppAdmin, Apps: []string{"mgmt/two"}},
		{Username: "vi", Password: pw, Role: adminsvc.RoleViewer, Apps: []string{}},
	} {
		if _, err := s.Admins.CreateAdmin(context.Background(), owner, a); err != nil {
			t.Fatal(err)
		}
	}
	tokens := map[string]string{"anon": "", "app token": s.AppToken(t, one), "viewer": mgmtToken("vi", pw),
		"app_admin of another app": mgmtToken("ed", pw), "owner": ownerTok}
	callers := []string{"anon", "app token", "viewer", "app_admin of another app", "owner"}

	for _, tc := range []struct {
		route, path, body string
		want              map[string]string // caller -> error code ("" allowed)
	}{
		{"POST /management/token", "/management/token", `{"grant_type":"password","username":"owner","password":"wrong"}`,
			map[string]string{"anon": "invalid_grant", "app token": "invalid_grant", "viewer": "invalid_grant",
				"app_admin of another app": "invalid_grant", "owner": "invalid_grant"}}, // a password, not a token, decides
		{"POST /management/orgs/{org}/applications", "/management/orgs/mgmt/applications", `{"name":"three"}`,
			map[string]string{"anon": "unauthorized", "app token": "bad_access_token", "viewer": "forbidden",
				"app_admin of another app": "forbidden", "owner": ""}},
		{"GET /management/orgs/{org}/applications", "/management/orgs/mgmt/applications", "",
			map[string]string{"anon": "unauthorized", "app token": "bad_access_token", "viewer": "",
				"app_admin of another app": "", "owner": ""}},
		{"POST /management/orgs/{org}/applications/{app}/credentials", "/management/orgs/mgmt/applications/one/credentials", "",
			map[string]string{"anon": "unauthorized", "app token": "bad_access_token", "viewer": "forbidden",
				"app_admin of another app": "forbidden", "owner": ""}},
	} {
		if e, ok := authzMatrix[tc.route]; !ok || !e.mgmt {
			t.Errorf("%s is not a management entry of authzMatrix", tc.route)
		}
		t.Run(tc.route, func(t *testing.T) {
			for _, who := range callers {
				code := tc.want[who]
				if who == "owner" && strings.HasSuffix(tc.route, "/credentials") {
					s.AppToken(t, one) // the refused rotations left the secret alone
				}
				var body any
				if tc.body != "" {
					body = tc.body
				}
				r := s.Do(t, "POST", tc.path, tokens[who], body)
				if strings.HasPrefix(tc.route, "GET") {
					r = s.Do(t, "GET", tc.path, tokens[who], nil)
				}
				if code == "" && r.Status != 200 || code != "" && (r.Status < 400 || r.Str("code") != code) {
					t.Errorf("as %s: %d %s, want %q", who, r.Status, r.Raw, code)
				}
			}
		})
	}
	// A viewer of every app sees them all, an app_admin only theirs.
	for who, want := range map[string]int{"viewer": 3, "app_admin of another app": 1, "owner": 3} {
		if r := s.Do(t, "GET", "/management/orgs/mgmt/applications", tokens[who], nil); len(r.Body["data"].([]any)) != want {
			t.Errorf("%s lists %s", who, r.Raw)
		}
	}
}
