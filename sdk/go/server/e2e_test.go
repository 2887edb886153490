package parleyserver_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
	ps "github.com/parleyim/parley/sdk/go/server"
)

// The end-to-end tests run the SDK against the real server, in-process on a
// random port, on every storage backend (PostgreSQL when
// PARLEY_TEST_POSTGRES is set). One server per backend, one app per test.
func TestE2E(t *testing.T) {
	tests := []struct {
		name string
		fn   func(*testing.T, *servertest.Server)
	}{
		{"Users", testUsers},
		{"Messages", testMessages},
		{"Files", testFiles},
		{"Social", testSocial},
		{"Groups", testGroups},
		{"Rooms", testRooms},
		{"Broadcasts", testBroadcasts},
		{"Push", testPush},
		{"Management", testManagement},
		{"TokenRefresh", testTokenRefresh},
		{"Errors", testErrors},
		{"AcceptanceFlow", testAcceptanceFlow},
		{"Moderation", testModeration},
	}
	for _, backend := range servertest.Backends {
		t.Run(backend, func(t *testing.T) {
			s := servertest.StartBackend(t, backend)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) { tt.fn(t, s) })
			}
		})
	}
}

var appSeq atomic.Int32

// newApp creates an app and a Client for it, with users.
func newApp(t *testing.T, s *servertest.Server, users ...string) *ps.Client {
	t.Helper()
	name := "app" + string(rune('a'+appSeq.Add(1)))
	created := s.App(t, "acme", name, tenant.Settings{})
	c, err := ps.New(ps.Config{BaseURLs: []string{s.URL}, Org: created.OrgName, App: created.AppName,
		ClientID: created.ClientID, ClientSecret: created.ClientSecret})
	if err != nil {
		t.Fatal(err)
	}
	if len(users) > 0 {
		var list []ps.NewUser
		for _, u := range users {
			list = append(list, ps.NewUser{Username: u, Password: "pw-" + u})
		}
		if _, failed, err := c.RegisterUsers(context.Background(), list); err != nil || len(failed) > 0 {
			t.Fatalf("register: %v %v", failed, err)
		}
	}
	return c
}

// try(f()).must(t) is f's value, failing the test on an error.
func try[T any](v T, err error) result[T] { return result[T]{v, err} }

type result[T any] struct {
	v   T
	err error
}

func (r result[T]) must(t *testing.T) T {
	t.Helper()
	if r.err != nil {
		t.Fatal(r.err)
	}
	return r.v
}

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }

func txt(s string) ps.Message { return ps.Message{Type: "txt", Body: map[string]string{"msg": s}} }

func testUsers(t *testing.T, s *servertest.Server) {
	ctx := context.Background()
	c := newApp(t, s)
	u := try(c.RegisterUser(ctx, ps.NewUser{Username: "Alice", Password: "pw", Nickname: "Al"})).must(t)
	if u.Username != "alice" || !u.Activated || u.UUID == "" {
		t.Fatalf("registered %+v", u)
	}
	created, failed, err := c.RegisterUsers(ctx, []ps.NewUser{{Username: "bob", Password: "pw"}, {Username: "alice", Password: "pw"}})
	if err != nil || len(created) != 1 || len(failed) != 1 || failed[0].Username != "alice" {
		t.Fatalf("batch: %+v %+v", created, failed)
	}
	if got := try(c.GetUser(ctx, "bob")).must(t); got.Username != "bob" {
		t.Fatalf("get %+v", got)
	}
	page := try(c.ListUsers(ctx, ps.Page{Limit: 1})).must(t)
	if len(page.Users) != 1 || page.Cursor == "" {
		t.Fatalf("page %+v", page)
	}
	next := try(c.ListUsers(ctx, ps.Page{Limit: 1, Cursor: page.Cursor})).must(t)
	if len(next.Users) != 1 || next.Users[0].Username == page.Users[0].Username {
		t.Fatalf("next page %+v", next)
	}
	if up := try(c.UpdateUser(ctx, "bob", ps.UserUpdate{Nickname: ptr("Bobby"), NotificationDisplayStyle: ptr(1)})).must(t); up.Nickname != "Bobby" {
		t.Fatalf("update %+v", up)
	}
	ok(t, c.SetPassword(ctx, "bob", "new-pw"))
	tok := try(c.PasswordToken(ctx, "bob", "new-pw", time.Hour)).must(t)
	if tok.AccessToken == "" || tok.ExpiresIn != 3600 || tok.User == nil || tok.User.Username != "bob" {
		t.Fatalf("password token %+v", tok)
	}
	inh := try(c.UserToken(ctx, "carol", true, 0)).must(t)
	if inh.User == nil || inh.User.Username != "carol" {
		t.Fatalf("inherit token %+v", inh)
	}
	if d := try(c.DeactivateUser(ctx, "bob")).must(t); d.Activated {
		t.Fatalf("deactivated %+v", d)
	}
	var e *ps.Error
	if _, err := c.PasswordToken(ctx, "bob", "new-pw", 0); !errors.As(err, &e) || e.Type != "invalid_grant" {
		t.Fatalf("token of a deactivated user: %v", err)
	}
	try(c.ActivateUser(ctx, "bob")).must(t)
	try(c.PasswordToken(ctx, "bob", "new-pw", 0)).must(t)
	if d := try(c.DeleteUser(ctx, "carol")).must(t); d.Username != "carol" {
		t.Fatalf("deleted %+v", d)
	}
	try(c.RegisterUser(ctx, ps.NewUser{Username: "dave", Password: "pw"})).must(t)
	if er := try(c.EraseUser(ctx, "dave")).must(t); er.User.Username != "dave" || er.Messages != 0 || er.GroupsDissolved == nil {
		t.Fatalf("erased %+v", er)
	}
	if _, err := c.EraseUser(ctx, "dave"); !errors.As(err, &e) || e.Status != 404 {
		t.Fatalf("erasing an erased user: %v", err)
	}
	gone := try(c.DeleteOldestUsers(ctx, 1)).must(t)
	if len(gone.Users) != 1 || gone.Users[0].Username != "alice" {
		t.Fatalf("deleted oldest %+v", gone)
	}
}

func testMessages(t *testing.T, s *servertest.Server) {
	ctx := context.Background()
	c := newApp(t, s, "alice", "bob", "carol")
	m := ps.UserMessage{Message: txt("hello"), To: []string{"bob"}, ClientMsgID: "k-1"}
	m.From = "alice"
	r1 := try(c.SendToUsers(ctx, m)).must(t)
	r2 := try(c.SendToUsers(ctx, m)).must(t)
	if r1.IDs["bob"] == "" || r1.IDs["bob"] != r2.IDs["bob"] {
		t.Fatalf("idempotent send: %v then %v", r1.IDs, r2.IDs)
	}
	multi := try(c.SendToUsers(ctx, ps.UserMessage{Message: txt("to all"), To: []string{"bob", "carol", "nobody"}})).must(t)
	if len(multi.IDs) != 2 || multi.Failed["nobody"] == "" {
		t.Fatalf("multi send %+v", multi)
	}
	if n := try(c.UndeliveredCount(ctx, "bob")).must(t); n != 2 {
		t.Fatalf("undelivered %d", n)
	}
	convs := try(c.Conversations(ctx, "bob", ps.Page{Limit: 10})).must(t)
	if len(convs.Conversations) != 2 {
		t.Fatalf("conversations %+v", convs)
	}
	ok(t, c.PinConversation(ctx, "bob", "alice", true))
	convs = try(c.Conversations(ctx, "bob", ps.Page{})).must(t)
	if convs.Conversations[0].Peer != "alice" || !convs.Conversations[0].Pinned {
		t.Fatalf("pinned first: %+v", convs.Conversations[0])
	}
	ok(t, c.PinConversation(ctx, "bob", "alice", false))
	ok(t, c.RewriteMessage(ctx, r1.IDs["bob"], "txt", ps.Rewrite{NewMsg: map[string]any{"msg": "hello, edited"}}))
	rec := try(c.RecallMessage(ctx, ps.Recall{MsgID: r1.IDs["bob"], Force: true})).must(t)
	if rec.Recalled != "yes" {
		t.Fatalf("recall %+v", rec)
	}
	recs := try(c.RecallMessages(ctx, []ps.Recall{{MsgID: multi.IDs["bob"], Force: true}, {MsgID: "999999", Force: true}})).must(t)
	if len(recs) != 2 || recs[0].Recalled != "yes" || recs[1].Recalled == "yes" {
		t.Fatalf("batch recall %+v", recs)
	}
	ok(t, c.DeleteConversation(ctx, "bob", "alice"))
	convs = try(c.Conversations(ctx, "bob", ps.Page{})).must(t)
	for _, cv := range convs.Conversations {
		if cv.Peer == "alice" && !cv.Deleted {
			t.Fatalf("conversation not deleted: %+v", cv)
		}
	}
	if st := try(c.UserStatus(ctx, "bob")).must(t); st != "offline" {
		t.Fatalf("status %q", st)
	}
	if sts := try(c.UsersStatus(ctx, []string{"bob", "carol"})).must(t); sts["bob"] != "offline" || sts["carol"] != "offline" {
		t.Fatalf("statuses %v", sts)
	}
	if devs := try(c.UserDevices(ctx, "bob")).must(t); len(devs) != 0 {
		t.Fatalf("devices %v", devs)
	}
	ok(t, c.DisconnectUser(ctx, "bob"))
	ok(t, c.DisconnectDevice(ctx, "bob", "phone"))
}

func testFiles(t *testing.T, s *servertest.Server) {
	ctx := context.Background()
	c := newApp(t, s, "alice")
	content := bytes.Repeat([]byte("parley "), 50_000) // 350 KB, streamed
	f := try(c.UploadFile(ctx, ps.Upload{Name: "notes.txt", Content: bytes.NewReader(content), Restrict: true})).must(t)
	if f.UUID == "" || f.ShareSecret == "" || f.FileLength != int64(len(content)) || !f.Restricted || f.URL == "" {
		t.Fatalf("upload %+v", f)
	}
	d := try(c.DownloadFile(ctx, f.UUID, ps.DownloadOptions{})).must(t)
	got, err := io.ReadAll(d.Body)
	d.Body.Close()
	if err != nil || !bytes.Equal(got, content) || d.Status != 200 {
		t.Fatalf("download: %d bytes, status %d, %v", len(got), d.Status, err)
	}
	part := try(c.DownloadFile(ctx, f.UUID, ps.DownloadOptions{ShareSecret: f.ShareSecret, Range: "bytes=7-13"})).must(t)
	got, _ = io.ReadAll(part.Body)
	part.Body.Close()
	if part.Status != 206 || string(got) != "parley " {
		t.Fatalf("range: %d %q", part.Status, got)
	}
	info := try(c.StatFile(ctx, f.UUID, ps.DownloadOptions{})).must(t)
	if info.ContentLength != int64(len(content)) || !strings.HasPrefix(info.ContentType, "text/plain") {
		t.Fatalf("stat %+v", info)
	}
	// Group shared files.
	gid := try(c.CreateGroup(ctx, ps.NewGroup{Owner: "alice"})).must(t)
	sf := try(c.ShareGroupFile(ctx, gid, ps.Upload{Name: "a.bin", Content: strings.NewReader("shared bytes")})).must(t)
	if sf.FileID == "" || sf.FileSize != 12 {
		t.Fatalf("shared %+v", sf)
	}
	list := try(c.GroupFiles(ctx, gid, ps.PageNum{Num: 1, Size: 10})).must(t)
	if len(list) != 1 || list[0].FileID != sf.FileID || list[0].Owner == "" && list[0].FileName != "a.bin" {
		t.Fatalf("shared list %+v", list)
	}
	gd := try(c.DownloadGroupFile(ctx, gid, sf.FileID, ps.DownloadOptions{})).must(t)
	got, _ = io.ReadAll(gd.Body)
	gd.Body.Close()
	if string(got) != "shared bytes" {
		t.Fatalf("shared download %q", got)
	}
	ok(t, c.DeleteGroupFile(ctx, gid, sf.FileID))
	if list := try(c.GroupFiles(ctx, gid, ps.PageNum{})).must(t); len(list) != 0 {
		t.Fatalf("after delete %+v", list)
	}
}

func testSocial(t *testing.T, s *servertest.Server) {
	ctx := context.Background()
	c := newApp(t, s, "alice", "bob", "carol", "dave")
	ok(t, c.AddContact(ctx, "alice", "bob"))
	ok(t, c.SetContactRemark(ctx, "alice", "bob", "Bobby"))
	page := try(c.Contacts(ctx, "alice", ps.Page{Limit: 10})).must(t)
	if len(page.Contacts) != 1 || page.Contacts[0].Username != "bob" || page.Contacts[0].Remark == nil || *page.Contacts[0].Remark != "Bobby" {
		t.Fatalf("contacts %+v", page)
	}
	imp := try(c.ImportContacts(ctx, "alice", []string{"carol", "nobody"})).must(t)
	if !slices.Equal(imp.Success, []string{"carol"}) || !slices.Equal(imp.NotExistFailed, []string{"nobody"}) {
		t.Fatalf("import %+v", imp)
	}
	all := try(c.AllContacts(ctx, "alice")).must(t)
	slices.Sort(all)
	if !slices.Equal(all, []string{"bob", "carol"}) {
		t.Fatalf("all contacts %v", all)
	}
	ok(t, c.RemoveContact(ctx, "alice", "carol"))
	// Friend requests need the users' own tokens.
	dave := try(c.UserToken(ctx, "dave", false, 0)).must(t).AccessToken
	carol := try(c.UserToken(ctx, "carol", false, 0)).must(t).AccessToken
	ok(t, c.RequestContacts(ctx, dave, "dave", []string{"carol"}, "hi"))
	ok(t, c.AnswerContactRequest(ctx, carol, "carol", "dave", true))
	if all := try(c.AllContacts(ctx, "dave")).must(t); !slices.Equal(all, []string{"carol"}) {
		t.Fatalf("after accept %v", all)
	}
	if err := c.RequestContacts(ctx, dave, "dave", []string{"alice"}, ""); err != nil {
		t.Fatal(err)
	}
	ok(t, c.AnswerContactRequest(ctx, try(c.UserToken(ctx, "alice", false, 0)).must(t).AccessToken, "alice", "dave", false))
	// Blocks.
	blocked, failed, err := c.Block(ctx, "alice", []string{"dave", "nobody"})
	if err != nil || !slices.Equal(blocked, []string{"dave"}) || failed["nobody"] == "" {
		t.Fatalf("block %v %v %v", blocked, failed, err)
	}
	if bl := try(c.Blocked(ctx, "alice", ps.Page{Limit: 10})).must(t); !slices.Equal(bl.Usernames, []string{"dave"}) {
		t.Fatalf("blocked %+v", bl)
	}
	ok(t, c.Unblock(ctx, "alice", "dave"))
	// Attributes.
	set := try(c.SetUserAttributes(ctx, "alice", map[string]string{"nickname": "Al", "city": "Oslo"})).must(t)
	if set["city"] != "Oslo" {
		t.Fatalf("set attrs %v", set)
	}
	if got := try(c.UserAttributes(ctx, "alice")).must(t); got["nickname"] != "Al" || got["city"] != "Oslo" {
		t.Fatalf("attrs %v", got)
	}
	if got := try(c.UsersAttributes(ctx, []string{"alice", "bob"}, "city")).must(t); got["alice"]["city"] != "Oslo" || len(got["alice"]) != 1 {
		t.Fatalf("batch attrs %v", got)
	}
	if n := try(c.UserAttributesCapacity(ctx)).must(t); n <= 0 {
		t.Fatalf("capacity %d", n)
	}
	ok(t, c.DeleteUserAttributes(ctx, "alice"))
	if got := try(c.UserAttributes(ctx, "alice")).must(t); len(got) != 0 {
		t.Fatalf("after delete %v", got)
	}
	// Presence.
	ok(t, c.SetPresence(ctx, "bob", "phone", "2", "in a meeting"))
	subs := try(c.SubscribePresence(ctx, "alice", []string{"bob"}, 3600)).must(t)
	if len(subs) != 1 || subs[0].UID != "bob" || subs[0].Ext != "in a meeting" {
		t.Fatalf("subscribe %+v", subs)
	}
	if got := try(c.GetPresence(ctx, "alice", []string{"bob"})).must(t); len(got) != 1 || got[0].Ext != "in a meeting" {
		t.Fatalf("presence %+v", got)
	}
	list, total, err := c.PresenceSubscriptions(ctx, "alice", ps.PageNum{Num: 1, Size: 10})
	if err != nil || total != 1 || len(list) != 1 || list[0].UID != "bob" {
		t.Fatalf("sublist %+v %d %v", list, total, err)
	}
	ok(t, c.UnsubscribePresence(ctx, "alice", []string{"bob"}))
	if _, total, _ := c.PresenceSubscriptions(ctx, "alice", ps.PageNum{}); total != 0 {
		t.Fatalf("after unsubscribe: %d", total)
	}
	// Global mutes.
	ok(t, c.SetGlobalMute(ctx, ps.GlobalMute{Username: "bob", Chat: ptr(int64(600)), GroupChat: ptr(int64(-1))}))
	st := try(c.GlobalMuteStatus(ctx, "bob")).must(t)
	if st.Chat <= 0 || st.GroupChat != -1 || st.ChatRoom != 0 {
		t.Fatalf("mute status %+v", st)
	}
	if muted := try(c.GlobalMutes(ctx, ps.PageNum{})).must(t); len(muted) != 1 || muted[0].Username != "bob" {
		t.Fatalf("mutes %+v", muted)
	}
	_, err = c.SendToUsers(ctx, ps.UserMessage{Message: txt("x"), To: []string{"alice"}})
	ok(t, err) // app-token sends ignore mutes
}

func testGroups(t *testing.T, s *servertest.Server) {
	ctx := context.Background()
	c := newApp(t, s, "alice", "bob", "carol", "dave", "erin")
	gid := try(c.CreateGroup(ctx, ps.NewGroup{Owner: "alice", Members: []string{"bob"},
		GroupSettings: protocol.GroupSettings{Name: ptr("Team"), Public: ptr(true), MembersOnly: ptr(true), AllowInvites: ptr(true), MaxUsers: ptr(50)}})).must(t)
	if page := try(c.ListGroups(ctx, ps.Page{Limit: 10})).must(t); len(page.Groups) != 1 || page.Groups[0].GroupID != gid {
		t.Fatalf("list %+v", page)
	}
	gs, failed, err := c.GroupDetails(ctx, gid, "424242")
	if err != nil || len(gs) != 1 || gs[0].Name != "Team" || gs[0].Owner != "alice" || failed["424242"] == "" {
		t.Fatalf("details %+v %v %v", gs, failed, err)
	}
	changed := try(c.ModifyGroup(ctx, gid, protocol.GroupSettings{Description: ptr("the team")})).must(t)
	if !slices.Contains(changed, "description") {
		t.Fatalf("changed %v", changed)
	}
	ok(t, c.SetGroupAnnouncement(ctx, gid, "hello all"))
	if a := try(c.GroupAnnouncement(ctx, gid)).must(t); a != "hello all" {
		t.Fatalf("announcement %q", a)
	}
	if added := try(c.AddGroupMembers(ctx, gid, "carol", "dave")).must(t); len(added) != 2 {
		t.Fatalf("added %v", added)
	}
	try(c.AddGroupMember(ctx, gid, "erin")).must(t)
	if ms := try(c.GroupMembers(ctx, gid, ps.PageNum{Num: 1, Size: 100})).must(t); len(ms) != 5 {
		t.Fatalf("members %+v", ms)
	}
	if joined := try(c.IsGroupMember(ctx, gid, "erin")).must(t); !joined {
		t.Fatal("erin is not a member")
	}
	if res := try(c.RemoveGroupMembers(ctx, gid, "erin")).must(t); len(res) != 1 || !res[0].Result {
		t.Fatalf("remove %+v", res)
	}
	ok(t, c.AddGroupAdmin(ctx, gid, "bob"))
	if ad := try(c.GroupAdmins(ctx, gid)).must(t); !slices.Equal(ad, []string{"bob"}) {
		t.Fatalf("admins %v", ad)
	}
	ok(t, c.RemoveGroupAdmin(ctx, gid, "bob"))
	try(c.AddToGroupList(ctx, gid, ps.AllowList, "carol", "bob")).must(t)
	try(c.AddToGroupList(ctx, gid, ps.BlockList, "erin")).must(t)
	if wl := try(c.GroupList(ctx, gid, ps.AllowList)).must(t); len(wl) != 2 {
		t.Fatalf("allow list %v", wl)
	}
	if bl := try(c.GroupList(ctx, gid, ps.BlockList)).must(t); !slices.Contains(bl, "erin") {
		t.Fatalf("block list %v", bl)
	}
	try(c.RemoveFromGroupList(ctx, gid, ps.BlockList, "erin")).must(t)
	try(c.RemoveFromGroupList(ctx, gid, ps.AllowList, "carol", "bob")).must(t)
	try(c.MuteGroupMembers(ctx, gid, time.Minute, "dave")).must(t)
	if mu := try(c.GroupMutes(ctx, gid)).must(t); len(mu) != 1 || mu[0].User != "dave" {
		t.Fatalf("mutes %+v", mu)
	}
	try(c.UnmuteGroupMembers(ctx, gid, "dave")).must(t)
	ok(t, c.MuteAllGroup(ctx, gid, true))
	ok(t, c.MuteAllGroup(ctx, gid, false))
	try(c.SetGroupMemberAttributes(ctx, gid, "bob", map[string]string{"role": "dev"})).must(t)
	if at := try(c.GroupMemberAttributes(ctx, gid, "bob")).must(t); at["role"] != "dev" {
		t.Fatalf("member attrs %v", at)
	}
	okList, failList, err := c.SetGroupMembersAttributes(ctx, gid, []ps.MemberAttributes{
		{Username: "carol", Metadata: map[string]string{"role": "qa"}}, {Username: "erin", Metadata: map[string]string{"role": "x"}}})
	if err != nil || !slices.Equal(okList, []string{"carol"}) || len(failList) != 1 {
		t.Fatalf("batch member attrs %v %v %v", okList, failList, err)
	}
	if at := try(c.GroupMembersAttributes(ctx, gid, []string{"bob", "carol"}, "role")).must(t); at["carol"]["role"] != "qa" || at["bob"]["role"] != "dev" {
		t.Fatalf("member attrs batch %v", at)
	}
	m := ps.GroupMessage{Message: txt("hi team"), To: []string{gid}}
	m.From = "alice"
	if res := try(c.SendToGroups(ctx, m)).must(t); res.IDs[gid] == "" {
		t.Fatalf("group send %+v", res)
	}
	try(c.SendToGroupMembers(ctx, gid, []string{"bob"}, txt("psst"))).must(t)
	groups, total, err := c.UserGroups(ctx, "bob", ps.PageNum{Num: 1, Size: 10})
	if err != nil || total != 1 || len(groups) != 1 || groups[0].GroupID != gid {
		t.Fatalf("user groups %+v %d %v", groups, total, err)
	}
	// Client flows with user tokens.
	erin := try(c.UserToken(ctx, "erin", false, 0)).must(t).AccessToken
	ok(t, c.ApplyToGroup(ctx, erin, gid, "let me in"))
	ok(t, c.AnswerGroupApplication(ctx, "", gid, "erin", true, ""))
	if !try(c.IsGroupMember(ctx, gid, "erin")).must(t) {
		t.Fatal("erin not admitted")
	}
	ok(t, c.ShieldGroup(ctx, erin, gid, true))
	ok(t, c.ShieldGroup(ctx, erin, gid, false))
	ok(t, c.QuitGroup(ctx, erin, gid))
	bob := try(c.UserToken(ctx, "bob", false, 0)).must(t).AccessToken
	ok(t, c.InviteToGroup(ctx, bob, gid, []string{"erin"}, "come back"))
	ok(t, c.AnswerGroupInvitation(ctx, erin, gid, "erin", true, ""))
	if !try(c.IsGroupMember(ctx, gid, "erin")).must(t) {
		t.Fatal("erin did not join by invitation")
	}
	ok(t, c.TransferGroup(ctx, gid, "bob"))
	if gs, _, _ := c.GroupDetails(ctx, gid); gs[0].Owner != "bob" {
		t.Fatalf("owner %q", gs[0].Owner)
	}
	ok(t, c.DisableGroup(ctx, gid, true))
	if gs, _, _ := c.GroupDetails(ctx, gid); !gs[0].Disabled {
		t.Fatal("the group is not disabled")
	}
	ok(t, c.DisableGroup(ctx, gid, false))
	ok(t, c.DissolveGroup(ctx, gid))
	if _, _, err := c.GroupDetails(ctx, gid); !ps.IsCode(err, protocol.ErrGroupNotFound) {
		t.Fatalf("after dissolve: %v", err)
	}
}

func testRooms(t *testing.T, s *servertest.Server) {
	ctx := context.Background()
	c := newApp(t, s, "alice", "bob", "carol", "dave")
	id := try(c.CreateRoom(ctx, ps.NewRoom{Owner: "alice", Members: []string{"bob"},
		RoomSettings: ps.RoomSettings{Name: ptr("Lobby"), MaxUsers: ptr(100)}})).must(t)
	if page := try(c.ListRooms(ctx, ps.Page{})).must(t); len(page.Rooms) != 1 || page.Rooms[0].ID != id {
		t.Fatalf("rooms %+v", page)
	}
	rs, _, err := c.RoomDetails(ctx, id)
	if err != nil || len(rs) != 1 || rs[0].Name != "Lobby" {
		t.Fatalf("details %+v %v", rs, err)
	}
	ok(t, c.ModifyRoom(ctx, id, ps.RoomSettings{Description: ptr("welcome")}))
	ok(t, c.SetRoomAnnouncement(ctx, id, "be nice"))
	if a := try(c.RoomAnnouncement(ctx, id)).must(t); a != "be nice" {
		t.Fatalf("announcement %q", a)
	}
	try(c.AddRoomMembers(ctx, id, "carol")).must(t)
	try(c.AddRoomMember(ctx, id, "dave")).must(t)
	if ms := try(c.RoomMembers(ctx, id, ps.PageNum{})).must(t); len(ms) != 4 {
		t.Fatalf("members %+v", ms)
	}
	if ur := try(c.UserRooms(ctx, "carol", ps.PageNum{})).must(t); len(ur) != 1 || ur[0].ID != id {
		t.Fatalf("user rooms %+v", ur)
	}
	try(c.RemoveRoomMembers(ctx, id, "dave")).must(t)
	ok(t, c.AddRoomAdmin(ctx, id, "bob"))
	if ad := try(c.RoomAdmins(ctx, id)).must(t); !slices.Equal(ad, []string{"bob"}) {
		t.Fatalf("admins %v", ad)
	}
	ok(t, c.RemoveRoomAdmin(ctx, id, "bob"))
	try(c.AddToRoomList(ctx, id, ps.BlockList, "dave")).must(t)
	try(c.AddToRoomList(ctx, id, ps.AllowList, "bob", "carol")).must(t)
	if bl := try(c.RoomList(ctx, id, ps.BlockList)).must(t); !slices.Equal(bl, []string{"dave"}) {
		t.Fatalf("block list %v", bl)
	}
	try(c.RemoveFromRoomList(ctx, id, ps.BlockList, "dave")).must(t)
	try(c.RemoveFromRoomList(ctx, id, ps.AllowList, "bob", "carol")).must(t)
	try(c.MuteRoomMembers(ctx, id, -1, "carol")).must(t)
	if mu := try(c.RoomMutes(ctx, id)).must(t); len(mu) != 1 || mu[0].User != "carol" {
		t.Fatalf("mutes %+v", mu)
	}
	try(c.UnmuteRoomMembers(ctx, id, "carol")).must(t)
	ok(t, c.MuteAllRoom(ctx, id, true))
	ok(t, c.MuteAllRoom(ctx, id, false))
	res := try(c.SetRoomAttributes(ctx, id, "bob", map[string]string{"topic": "go"}, true, false)).must(t)
	if !slices.Equal(res.SuccessKeys, []string{"topic"}) {
		t.Fatalf("set attrs %+v", res)
	}
	if at := try(c.RoomAttributes(ctx, id)).must(t); at["topic"] != "go" {
		t.Fatalf("attrs %v", at)
	}
	if res := try(c.SetRoomAttributes(ctx, id, "carol", map[string]string{"topic": "rust"}, false, false)).must(t); len(res.ErrorKeys) != 1 {
		t.Fatalf("someone else's key taken without force: %+v", res)
	}
	try(c.SetRoomAttributes(ctx, id, "alice", map[string]string{"topic": "zig"}, false, true)).must(t)
	if at := try(c.RoomAttributes(ctx, id, "topic")).must(t); at["topic"] != "zig" {
		t.Fatalf("forced attrs %v", at)
	}
	try(c.DeleteRoomAttributes(ctx, id, "alice", []string{"topic"}, true)).must(t)
	try(c.DeleteRoomAttributes(ctx, id, "bob", []string{"none"}, false)).must(t)
	ok(t, c.AddSuperAdmin(ctx, "bob"))
	if sa := try(c.SuperAdmins(ctx)).must(t); !slices.Equal(sa, []string{"bob"}) {
		t.Fatalf("super admins %v", sa)
	}
	ok(t, c.RemoveSuperAdmin(ctx, "bob"))
	m := ps.RoomMessage{Message: txt("hi room"), To: []string{id}, Level: "high"}
	if r := try(c.SendToRooms(ctx, m)).must(t); r.IDs[id] == "" {
		t.Fatalf("room send %+v", r)
	}
	ok(t, c.TransferRoom(ctx, id, "bob"))
	ok(t, c.DeleteRoom(ctx, id))
	if _, _, err := c.RoomDetails(ctx, id); err == nil {
		t.Fatal("a deleted room has details")
	}
}

func testBroadcasts(t *testing.T, s *servertest.Server) {
	ctx := context.Background()
	c := newApp(t, s, "alice")
	try(c.CreateRoom(ctx, ps.NewRoom{Owner: "alice", RoomSettings: ps.RoomSettings{Name: ptr("r")}})).must(t)
	b := ps.Broadcast{Type: "txt", Body: map[string]any{"msg": "maintenance at noon"}}
	for name, send := range map[string]func(context.Context, ps.Broadcast) (string, error){
		"rooms": c.BroadcastToRooms, "users": c.BroadcastToUsers, "online": c.BroadcastToOnlineUsers,
	} {
		if id, err := send(ctx, b); err != nil || id == "" {
			t.Fatalf("%s: %q %v", name, id, err)
		}
	}
	// Over the limit (1 per 30 minutes): 429, returned at once since
	// broadcasts are not retried, with Retry-After.
	_, err := c.BroadcastToUsers(ctx, b)
	var e *ps.Error
	if !errors.As(err, &e) || e.Status != http.StatusTooManyRequests || !ps.IsCode(err, protocol.ErrRateLimited) {
		t.Fatalf("second broadcast: %v", err)
	}
}

func testPush(t *testing.T, s *servertest.Server) {
	ctx := context.Background()
	c := newApp(t, s, "alice", "bob")
	n := try(c.PutNotifier(ctx, "hook", ps.NotifierCredentials{Provider: "webhook", URL: "https://example.com/push", Secret: "s3cret"})).must(t)
	if n.Name != "hook" || n.Provider != "webhook" {
		t.Fatalf("notifier %+v", n)
	}
	if list := try(c.Notifiers(ctx)).must(t); len(list) != 1 || list[0].Name != "hook" {
		t.Fatalf("notifiers %+v", list)
	}
	bs := try(c.BindDevice(ctx, "alice", ps.Binding{DeviceID: "phone", NotifierName: "hook", DeviceToken: "t1"})).must(t)
	if len(bs) != 1 || bs[0].DeviceToken != "t1" {
		t.Fatalf("bind %+v", bs)
	}
	if bs := try(c.Bindings(ctx, "alice")).must(t); len(bs) != 1 || bs[0].DeviceID != "phone" {
		t.Fatalf("bindings %+v", bs)
	}
	st := try(c.SetNotification(ctx, "alice", ps.NotifyUser, "bob", ps.NotificationSetting{Type: ptr("NONE"), IgnoreInterval: ptr("22:00-7:00")})).must(t)
	if st.Type != "NONE" {
		t.Fatalf("set notification %+v", st)
	}
	if got := try(c.Notification(ctx, "alice", ps.NotifyUser, "bob")).must(t); got.Type != "NONE" || got.IgnoreInterval == "" {
		t.Fatalf("notification %+v", got)
	}
	ok(t, c.SetPushLanguage(ctx, "alice", "en"))
	try(c.PutPushTemplate(ctx, ps.PushTemplate{Name: "welcome", TitlePattern: "Hi {0}", ContentPattern: "{1}"})).must(t)
	ok(t, c.SetPushTemplate(ctx, "alice", "welcome"))
	if p := try(c.PushPreferences(ctx, "alice")).must(t); p.Language != "en" || p.TemplateName != "welcome" {
		t.Fatalf("prefs %+v", p)
	}
	if tpl := try(c.GetPushTemplate(ctx, "welcome")).must(t); tpl.TitlePattern != "Hi {0}" || tpl.CreateAt == 0 {
		t.Fatalf("template %+v", tpl)
	}
	ok(t, c.DeletePushTemplate(ctx, "welcome"))
	if _, err := c.GetPushTemplate(ctx, "welcome"); err == nil {
		t.Fatal("a deleted template is still there")
	}
	try(c.BindDevice(ctx, "alice", ps.Binding{DeviceID: "phone"})).must(t)
	ok(t, c.DeleteNotifier(ctx, "hook"))
}

func testManagement(t *testing.T, s *servertest.Server) {
	ctx := context.Background()
	m, err := ps.NewManagement(ps.ManagementConfig{BaseURLs: []string{s.URL}, Username: "owner", Password: servertest.OwnerPassword})
	ok(t, err)
	created := try(m.CreateApp(ctx, "mgmt", "made", false)).must(t)
	if created.ClientSecret == "" || created.AppKey != "mgmt#made" {
		t.Fatalf("created %+v", created)
	}
	apps := try(m.ListApps(ctx, "mgmt")).must(t)
	if len(apps) != 1 || apps[0].AppName != "made" {
		t.Fatalf("apps %+v", apps)
	}
	c := try(ps.New(created.Config(s.URL))).must(t)
	try(c.RegisterUser(ctx, ps.NewUser{Username: "u1", Password: "pw"})).must(t)
	rotated := try(m.RotateCredentials(ctx, "mgmt", "made")).must(t)
	if rotated.ClientSecret == created.ClientSecret {
		t.Fatal("the secret did not change")
	}
	// The old client's token is revoked; getting a new one with the old
	// secret fails with the server's error.
	_, err = c.GetUser(ctx, "u1")
	var e *ps.Error
	if !errors.As(err, &e) || e.Type != "invalid_grant" || e.Status != 400 {
		t.Fatalf("old credentials: %v", err)
	}
	c2 := try(ps.New(rotated.Config(s.URL))).must(t)
	try(c2.GetUser(ctx, "u1")).must(t)
	if tok := try(m.AdminToken(ctx, "owner", servertest.OwnerPassword, time.Hour)).must(t); tok.AccessToken == "" || tok.ExpiresIn != 3600 {
		t.Fatalf("admin token %+v", tok)
	}
}

// countingTransport counts token requests.
type countingTransport struct{ tokens atomic.Int32 }

func (ct *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.URL.Path, "/token") {
		ct.tokens.Add(1)
	}
	return http.DefaultTransport.RoundTrip(r)
}

func testTokenRefresh(t *testing.T, s *servertest.Server) {
	ctx := context.Background()
	created := s.App(t, "acme", "refresh", tenant.Settings{})
	ct := &countingTransport{}
	c := try(ps.New(ps.Config{BaseURLs: []string{s.URL}, Org: created.OrgName, App: created.AppName,
		ClientID: created.ClientID, ClientSecret: created.ClientSecret, TokenTTL: 2 * time.Second,
		HTTPClient: &http.Client{Transport: ct}})).must(t)
	try(c.RegisterUser(ctx, ps.NewUser{Username: "u", Password: "pw"})).must(t)
	try(c.GetUser(ctx, "u")).must(t)
	if n := ct.tokens.Load(); n != 1 {
		t.Fatalf("%d tokens, want 1", n)
	}
	time.Sleep(2100 * time.Millisecond) // the token has expired
	try(c.GetUser(ctx, "u")).must(t)
	if n := ct.tokens.Load(); n != 2 {
		t.Fatalf("%d tokens, want 2 (a refresh)", n)
	}
}

func testErrors(t *testing.T, s *servertest.Server) {
	ctx := context.Background()
	c := newApp(t, s, "alice")
	_, err := c.GetUser(ctx, "nobody")
	var e *ps.Error
	if !errors.As(err, &e) || e.Status != 404 || e.Code != protocol.ErrUserNotFound.ID || e.Type == "" ||
		e.Description == "" || e.RequestID == "" {
		t.Fatalf("unknown user: %#v", err)
	}
	_, err = c.RegisterUser(ctx, ps.NewUser{Username: "alice", Password: "pw"})
	if !errors.As(err, &e) || e.Status != 400 || e.Code == "" {
		t.Fatalf("duplicate: %v", err)
	}
	// A user token cannot do app things: 403.
	tok := try(c.UserToken(ctx, "alice", false, 0)).must(t).AccessToken
	err = c.RequestContacts(ctx, tok, "bob", []string{"alice"}, "")
	if !errors.As(err, &e) || e.Status != 403 {
		t.Fatalf("someone else's request: %v", err)
	}
	// Wrong app: 404 organization_application_not_found.
	bad := try(ps.New(ps.Config{BaseURLs: []string{s.URL}, Org: "none", App: "none", ClientID: "x", ClientSecret: "y"})).must(t)
	if _, err := bad.GetUser(ctx, "a"); !errors.As(err, &e) || e.Status != 404 {
		t.Fatalf("unknown app: %v", err)
	}
}

// testAcceptanceFlow is scripts/acceptance.sh's walk-through (the
// foundation acceptance, with curl there) through the SDK.
func testAcceptanceFlow(t *testing.T, s *servertest.Server) {
	ctx := context.Background()
	m := try(ps.NewManagement(ps.ManagementConfig{BaseURLs: []string{s.URL}, Username: "owner", Password: servertest.OwnerPassword})).must(t)
	creds := try(m.CreateApp(ctx, "acme", "accept", false)).must(t)
	c := try(ps.New(creds.Config(s.URL))).must(t)
	try(c.RegisterUser(ctx, ps.NewUser{Username: "alice", Password: "old-pass", Nickname: "Alice"})).must(t)
	var batch []ps.NewUser
	for i := range 60 {
		batch = append(batch, ps.NewUser{Username: "user" + string(rune('a'+i/26)) + string(rune('a'+i%26)), Password: "pw"})
	}
	created, failed, err := c.RegisterUsers(ctx, batch)
	if err != nil || len(created) != 60 || len(failed) != 0 {
		t.Fatalf("batch: %d created, %v, %v", len(created), failed, err)
	}
	total, pages := 0, 0
	for p := (ps.Page{Limit: 25}); ; pages++ {
		page := try(c.ListUsers(ctx, p)).must(t)
		total += len(page.Users)
		if page.Cursor == "" || pages > 10 {
			break
		}
		p.Cursor = page.Cursor
	}
	if total != 61 {
		t.Fatalf("paged %d users in %d pages, want 61", total, pages)
	}
	if u := try(c.UpdateUser(ctx, "alice", ps.UserUpdate{Nickname: ptr("Alice L.")})).must(t); u.Nickname != "Alice L." {
		t.Fatalf("nickname %q", u.Nickname)
	}
	ok(t, c.SetPassword(ctx, "alice", "new-pass"))
	var e *ps.Error
	if _, err := c.PasswordToken(ctx, "alice", "old-pass", 0); !errors.As(err, &e) || e.Status != 400 || e.Type != "invalid_grant" {
		t.Fatalf("old password: %v", err)
	}
	utok := try(c.PasswordToken(ctx, "alice", "new-pass", 0)).must(t).AccessToken
	try(c.DeactivateUser(ctx, "alice")).must(t)
	// The user token stops working (any user-token call shows it).
	if err := c.RequestContacts(ctx, utok, "alice", []string{"usera"}, ""); !errors.As(err, &e) || e.Status != 401 || e.Type != "auth_bad_access_token" {
		t.Fatalf("revoked token: %v", err)
	}
	if _, err := c.PasswordToken(ctx, "alice", "new-pass", 0); !errors.As(err, &e) || e.Status != 400 || e.Description != "user not activated" {
		t.Fatalf("deactivated grant: %v", err)
	}
	try(c.ActivateUser(ctx, "alice")).must(t)
	try(c.PasswordToken(ctx, "alice", "new-pass", 0)).must(t)
}

func testModeration(t *testing.T, s *servertest.Server) {
	ctx := context.Background()
	c := newApp(t, s, "alice", "bob")
	words := try(c.AddKeywords(ctx, []ps.Keyword{{Word: "Spam", Action: ps.KeywordReject}, {Word: "darn", Action: ps.KeywordReplace}})).must(t)
	if len(words) != 2 {
		t.Fatalf("added %+v", words)
	}
	page := try(c.Keywords(ctx, "sp", ps.Page{Limit: 10})).must(t)
	if len(page.Words) != 1 || page.Words[0].Word != "spam" || page.Words[0].Action != ps.KeywordReject {
		t.Fatalf("search %+v", page)
	}
	m := ps.UserMessage{Message: txt("buy spam now"), To: []string{"bob"}}
	m.From = "alice"
	_, err := c.SendToUsers(ctx, m)
	var e *ps.Error
	if !errors.As(err, &e) || e.Status != 403 && e.Status != 400 {
		t.Fatalf("a rejected word: %v", err)
	}
	m.Message = txt("oh darn")
	m.From = "alice"
	sent := try(c.SendToUsers(ctx, m)).must(t)
	rec := try(c.ReportMessage(ctx, "bob", sent.IDs["bob"], "abuse", "rude")).must(t)
	if rec.Kind != "report" || rec.MsgID != sent.IDs["bob"] || !strings.HasPrefix(rec.Reporter, "bob") ||
		rec.From != "alice" || !strings.Contains(rec.Content, "****") {
		t.Fatalf("report %+v", rec)
	}
	recs := try(c.ModerationRecords(ctx, "report", ps.Page{})).must(t)
	if len(recs.Records) != 1 || recs.Records[0].ID != rec.ID {
		t.Fatalf("records %+v", recs)
	}
	if n := try(c.RemoveKeywords(ctx, []string{"spam", "darn", "absent"})).must(t); n != 2 {
		t.Fatalf("removed %d", n)
	}
}
