package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/parleyim/parley/internal/store"
)

func mkGroup(t *testing.T, s store.Store, appID int64, owner int64, members []int64, maxUsers int) *store.Group {
	t.Helper()
	g := &store.Group{AppID: appID, Name: "g", MaxUsers: maxUsers, Owner: owner, InviteNeedConfirm: true, Created: 1, Updated: 1}
	ms := []store.GroupMember{{UserID: owner, Role: store.RoleOwner, Joined: 1}}
	for _, m := range members {
		ms = append(ms, store.GroupMember{UserID: m, Role: store.RoleMember, Joined: 1})
	}
	if err := s.Groups().Create(ctx, g, ms, nextID.Add(1)); err != nil {
		t.Fatal(err)
	}
	return g
}

func noticeOp(g *store.Group, from int64, typ string) *store.AppendOp {
	return &store.AppendOp{Item: store.Item{ID: nextID.Add(1), AppID: g.AppID, ConvID: g.ConvID, From: from, Type: typ,
		Body: []byte(`{"n":1}`), Created: 5}}
}

func testGroups(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	gs := s.Groups()
	g := mkGroup(t, s, a.ID, 1, []int64{2, 3}, 4)
	if g.ID == 0 || g.ConvID == 0 || g.Members != 3 {
		t.Fatalf("created: %+v", g)
	}
	got, err := gs.Get(ctx, a.ID, g.ID)
	if err != nil || got.Owner != 1 || got.Members != 3 || got.MaxUsers != 4 || !got.InviteNeedConfirm {
		t.Fatalf("get: %v %+v", err, got)
	}
	_, err = gs.Get(ctx, a.ID+1, g.ID)
	mustNotFound(t, err)
	// Every member has a row in the group's conversation.
	for _, u := range []int64{1, 2, 3} {
		if _, err := s.Conversations().State(ctx, g.ConvID, u); err != nil {
			t.Fatalf("member %d conversation row: %v", u, err)
		}
	}
	// A group message and a notice go into the one stream.
	msg := &store.AppendOp{Item: store.Item{ID: nextID.Add(1), AppID: a.ID, ConvID: g.ConvID, From: 2, Type: "txt", Body: []byte(`{"msg":"hi"}`), Created: 2}}
	appendOK(t, s, msg)
	if msg.Item.Seq != 1 || msg.Item.ConvID != g.ConvID {
		t.Fatalf("group message: %+v", msg.Item)
	}
	if v, _ := s.Conversations().View(ctx, g.ConvID, 3); v.Unread != 1 || v.Conv.Kind != store.ConvGroup {
		t.Fatalf("member view: %+v", v)
	}

	// Mentions flag the mentioned member's view until they read past it.
	men := &store.AppendOp{Item: store.Item{ID: nextID.Add(1), AppID: a.ID, ConvID: g.ConvID, From: 1, Type: "txt", Body: []byte(`{"msg":"@3"}`), Created: 2},
		Mentions: []int64{3}}
	appendOK(t, s, men)
	if v, _ := s.Conversations().View(ctx, g.ConvID, 3); !v.Mentioned || v.Unread != 2 {
		t.Fatalf("mentioned member: %+v", v.Member)
	}
	if v, _ := s.Conversations().View(ctx, g.ConvID, 2); v.Mentioned {
		t.Fatal("member 2 was not mentioned")
	}
	if _, _, err := s.Conversations().MarkRead(ctx, g.ConvID, 3, men.Item.Seq, nextID.Add(1)); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.Conversations().View(ctx, g.ConvID, 3); v.Mentioned || v.Unread != 0 {
		t.Fatalf("after reading: %+v", v.Member)
	}
	all := &store.AppendOp{Item: store.Item{ID: nextID.Add(1), AppID: a.ID, ConvID: g.ConvID, From: 1, Type: "txt", Body: []byte(`{"msg":"@all"}`), Created: 2},
		MentionAll: true}
	appendOK(t, s, all)
	for _, u := range []int64{2, 3} {
		if v, _ := s.Conversations().View(ctx, g.ConvID, u); !v.Mentioned {
			t.Fatalf("@all: member %d not flagged", u)
		}
	}
	if err := gs.SetShield(ctx, g.ID, 2, true); err != nil {
		t.Fatal(err)
	}
	if m, _ := gs.Member(ctx, g.ID, 2); !m.Shield {
		t.Fatal("shield not stored")
	}
	mustNotFound(t, gs.SetShield(ctx, g.ID, 99, true))

	// Adding beyond max_users adds nobody.
	if _, err := gs.AddMembers(ctx, g, []store.GroupMember{{UserID: 4, Role: store.RoleMember}, {UserID: 5, Role: store.RoleMember}},
		nextID.Add(1), noticeOp(g, 1, "member_joined")); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("over max: %v", err)
	}
	if _, err := gs.Member(ctx, g.ID, 4); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("a member was added over the limit")
	}
	gs.PutRequest(ctx, store.GroupRequest{GroupID: g.ID, UserID: 4, Kind: store.RequestApply, Reason: "let me in", Created: 3})
	if reqs, _ := gs.Requests(ctx, g.ID, store.RequestApply); len(reqs) != 1 || reqs[0].Reason != "let me in" {
		t.Fatalf("requests: %+v", reqs)
	}
	n := noticeOp(g, 1, "member_joined")
	added, err := gs.AddMembers(ctx, g, []store.GroupMember{{UserID: 4, Role: store.RoleMember, Joined: 3}, {UserID: 2, Role: store.RoleMember}}, nextID.Add(1), n)
	if err != nil || fmt.Sprint(added) != "[4]" || g.Members != 4 || n.Item.Seq != 4 || n.Item.Kind != store.ItemNotice {
		t.Fatalf("add: %v %v %+v %+v", err, added, g, n.Item)
	}
	if reqs, _ := gs.Requests(ctx, g.ID, store.RequestApply); len(reqs) != 0 {
		t.Fatalf("a joined user's request should be gone: %+v", reqs)
	}
	// The newcomer does not inherit the history as unread.
	if v, _ := s.Conversations().View(ctx, g.ConvID, 4); v.Unread != 0 || v.ReadSeq != 3 || v.Mentioned {
		t.Fatalf("newcomer view: %+v", v)
	}
	ids, _ := gs.MemberIDs(ctx, g.ID)
	if fmt.Sprint(ids) != "[1 2 3 4]" {
		t.Fatalf("member ids: %v", ids)
	}
	page, _ := gs.Members(ctx, g.ID, 1, 2)
	if len(page) != 2 || page[0].UserID != 2 || page[0].Role != store.RoleMember {
		t.Fatalf("members page: %+v", page)
	}

	if err := gs.SetRole(ctx, g.ID, []int64{2}, store.RoleAdmin, nil); err != nil {
		t.Fatal(err)
	}
	if err := gs.TransferOwner(ctx, g, 1, 3, noticeOp(g, 1, "owner_changed")); err != nil {
		t.Fatal(err)
	}
	for u, role := range map[int64]string{1: store.RoleAdmin, 2: store.RoleAdmin, 3: store.RoleOwner} {
		if m, _ := gs.Member(ctx, g.ID, u); m.Role != role {
			t.Fatalf("user %d role %s, want %s", u, m.Role, role)
		}
	}
	if got, _ := gs.Get(ctx, a.ID, g.ID); got.Owner != 3 {
		t.Fatalf("owner: %d", got.Owner)
	}
	if err := gs.SetMute(ctx, g.ID, []int64{4}, 100, nil); err != nil {
		t.Fatal(err)
	}
	if muted, _ := gs.Muted(ctx, g.ID, 50); len(muted) != 1 || muted[0].UserID != 4 {
		t.Fatalf("muted: %+v", muted)
	}
	if muted, _ := gs.Muted(ctx, g.ID, 150); len(muted) != 0 {
		t.Fatalf("muted after expiry: %+v", muted)
	}
	if err := gs.SetMemberAttrs(ctx, g.ID, 4, map[string]string{"nick": "Four"}); err != nil {
		t.Fatal(err)
	}
	mustNotFound(t, gs.SetMemberAttrs(ctx, g.ID, 99, nil))
	if m, _ := gs.Member(ctx, g.ID, 4); m.Attrs["nick"] != "Four" {
		t.Fatalf("attrs: %+v", m)
	}

	removed, err := gs.RemoveMembers(ctx, g, []int64{4, 99}, noticeOp(g, 3, "member_left"))
	if err != nil || fmt.Sprint(removed) != "[4]" || g.Members != 3 {
		t.Fatalf("remove: %v %v %+v", err, removed, g)
	}
	if _, err := s.Conversations().State(ctx, g.ConvID, 4); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("a removed member keeps the conversation row")
	}

	gs.ListAdd(ctx, g.ID, store.ListBlock, []int64{7, 8}, 1)
	gs.ListAdd(ctx, g.ID, store.ListAllow, []int64{2}, 1)
	if ids, _ := gs.ListUsers(ctx, g.ID, store.ListBlock); fmt.Sprint(ids) != "[7 8]" {
		t.Fatalf("block list: %v", ids)
	}
	gs.ListRemove(ctx, g.ID, store.ListBlock, []int64{7})
	if ok, _ := gs.InList(ctx, g.ID, store.ListBlock, 7); ok {
		t.Fatal("7 still blocked")
	}
	if ok, _ := gs.InList(ctx, g.ID, store.ListAllow, 2); !ok {
		t.Fatal("2 should be allowed")
	}

	gs.PutRequest(ctx, store.GroupRequest{GroupID: g.ID, UserID: 9, Kind: store.RequestInvite, Inviter: 2, Created: 4})
	r, err := gs.TakeRequest(ctx, g.ID, 9, store.RequestInvite)
	if err != nil || r.Inviter != 2 {
		t.Fatalf("take: %v %+v", err, r)
	}
	_, err = gs.TakeRequest(ctx, g.ID, 9, store.RequestInvite)
	mustNotFound(t, err)

	got, _ = gs.Get(ctx, a.ID, g.ID)
	got.Name, got.Announcement, got.MuteAll, got.Updated = "renamed", "hello all", true, 9
	if err := gs.Update(ctx, got, noticeOp(got, 3, "announcement")); err != nil {
		t.Fatal(err)
	}
	if again, _ := gs.Get(ctx, a.ID, g.ID); again.Name != "renamed" || again.Announcement != "hello all" || !again.MuteAll {
		t.Fatalf("update: %+v", again)
	}

	if ok, _ := gs.Ack(ctx, msg.Item.ID, 3, 1); !ok {
		t.Fatal("first ack")
	}
	if ok, _ := gs.Ack(ctx, msg.Item.ID, 3, 2); ok {
		t.Fatal("a repeated ack counts once")
	}
	gs.Ack(ctx, msg.Item.ID, 1, 2)
	if who, n, _ := gs.Acks(ctx, msg.Item.ID, 0, 10); n != 2 || fmt.Sprint(who) != "[1 3]" {
		t.Fatalf("acks: %d %v", n, who)
	}

	// Shared files are not orphans while shared.
	f := mkFile(t, s, a.ID, "shared-1", 1)
	if err := gs.ShareFile(ctx, g.ID, f.ID, 2, 10); err != nil {
		t.Fatal(err)
	}
	if list, err := gs.SharedFiles(ctx, g.ID, 0, 10); err != nil || len(list) != 1 || list[0].File.UUID != "shared-1" || list[0].Owner != 2 {
		t.Fatalf("shared files: %v %+v", err, list)
	}
	if orphans, _ := s.Files().Orphans(ctx, 1000, 10); len(orphans) != 0 {
		t.Fatalf("a shared file counted as an orphan: %+v", orphans)
	}
	if _, err := s.Files().DeleteUnreferenced(ctx, f.ID); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("deleting a shared file: %v", err)
	}
	if ids, _ := gs.SharedFileIDs(ctx, g.ID); len(ids) != 1 || ids[0] != f.ID {
		t.Fatalf("shared ids: %v", ids)
	}
	if err := gs.UnshareFile(ctx, g.ID, f.ID); err != nil {
		t.Fatal(err)
	}
	mustNotFound(t, gs.UnshareFile(ctx, g.ID, f.ID))
	if orphans, _ := s.Files().Orphans(ctx, 1000, 10); len(orphans) != 1 {
		t.Fatalf("an unshared file should be an orphan: %+v", orphans)
	}

	g2 := mkGroup(t, s, a.ID, 2, nil, 10)
	if list, total, _ := gs.OfUser(ctx, a.ID, 2, 0, 10); total != 2 || len(list) != 2 || list[0].ID != g.ID {
		t.Fatalf("groups of user 2: %d %+v", total, list)
	}
	if list, _ := gs.List(ctx, a.ID, 0, 1); len(list) != 1 || list[0].ID != g2.ID {
		t.Fatalf("list newest first: %+v", list)
	}
	if list, _ := gs.List(ctx, a.ID, g2.ID, 10); len(list) != 1 || list[0].ID != g.ID {
		t.Fatalf("list page 2: %+v", list)
	}
	if err := gs.Delete(ctx, a.ID, g.ID); err != nil {
		t.Fatal(err)
	}
	_, err = gs.Get(ctx, a.ID, g.ID)
	mustNotFound(t, err)
	mustNotFound(t, gs.Delete(ctx, a.ID, g.ID))
	if _, err := s.Conversations().State(ctx, g.ConvID, 1); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("members keep the dissolved group's conversation")
	}
	if list, total, _ := gs.OfUser(ctx, a.ID, 2, 0, 10); total != 1 || list[0].ID != g2.ID {
		t.Fatalf("after dissolve: %d %+v", total, list)
	}
}
