package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/parleyim/parley/internal/store"
)

func testRooms(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	rs := s.Rooms()
	r := &store.Room{AppID: a.ID, Name: "live", MaxUsers: 3, Owner: 1, Created: 1, Updated: 1}
	if err := rs.Create(ctx, r, []store.RoomMember{{UserID: 1, Role: store.RoleOwner, Joined: 1}}); err != nil {
		t.Fatal(err)
	}
	if r.ID == 0 || r.Members != 1 {
		t.Fatalf("created: %+v", r)
	}
	added, err := rs.AddMembers(ctx, r, []store.RoomMember{{UserID: 2, Role: store.RoleMember}, {UserID: 3, Role: store.RoleMember}, {UserID: 1, Role: store.RoleMember}})
	if err != nil || fmt.Sprint(added) != "[2 3]" || r.Members != 3 {
		t.Fatalf("add: %v %v %+v", err, added, r)
	}
	if _, err := rs.AddMembers(ctx, r, []store.RoomMember{{UserID: 4, Role: store.RoleMember}}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("over max: %v", err)
	}
	if m, err := rs.Member(ctx, r.ID, 1); err != nil || m.Role != store.RoleOwner {
		t.Fatalf("member: %v %+v", err, m)
	}
	_, err = rs.Member(ctx, r.ID, 4)
	mustNotFound(t, err)
	if ms, _ := rs.Members(ctx, r.ID, 1, 10); len(ms) != 2 || ms[0].UserID != 2 {
		t.Fatalf("members: %+v", ms)
	}
	rs.SetRole(ctx, r.ID, []int64{2}, store.RoleAdmin)
	rs.SetMute(ctx, r.ID, []int64{3}, 99)
	if m, _ := rs.Member(ctx, r.ID, 3); m.MuteUntil != 99 {
		t.Fatalf("mute: %+v", m)
	}
	if m, _ := rs.Member(ctx, r.ID, 2); m.Role != store.RoleAdmin {
		t.Fatalf("role: %+v", m)
	}

	// Attributes: owners protect their keys unless forced; auto-delete
	// keys go with their member.
	refused, err := rs.PutAttrs(ctx, r.ID, []store.RoomAttr{{Key: "topic", Value: "go", Owner: 2, Updated: 1},
		{Key: "seat", Value: "A1", Owner: 3, AutoDelete: true, Updated: 1}}, false)
	if err != nil || len(refused) != 0 {
		t.Fatalf("put: %v %v", err, refused)
	}
	if refused, _ := rs.PutAttrs(ctx, r.ID, []store.RoomAttr{{Key: "topic", Value: "rust", Owner: 3, Updated: 2}}, false); fmt.Sprint(refused) != "[topic]" {
		t.Fatalf("overwriting another's key: %v", refused)
	}
	if refused, _ := rs.PutAttrs(ctx, r.ID, []store.RoomAttr{{Key: "topic", Value: "zig", Owner: 3, Updated: 3}}, true); len(refused) != 0 {
		t.Fatalf("forced: %v", refused)
	}
	attrs, _ := rs.Attrs(ctx, r.ID, []string{"topic"})
	if len(attrs) != 1 || attrs[0].Value != "zig" || attrs[0].Owner != 3 {
		t.Fatalf("attrs: %+v", attrs)
	}
	deleted, refusedDel, err := rs.DeleteAttrs(ctx, r.ID, 2, []string{"topic", "nope"}, false)
	if err != nil || len(deleted) != 0 || len(refusedDel) != 2 {
		t.Fatalf("delete another's: %v %v %v", err, deleted, refusedDel)
	}
	removed, keys, err := rs.RemoveMembers(ctx, r, []int64{3, 9})
	if err != nil || fmt.Sprint(removed) != "[3]" || fmt.Sprint(keys) != "[seat]" || r.Members != 2 {
		t.Fatalf("remove: %v %v %v %+v", err, removed, keys, r)
	}
	if all, _ := rs.Attrs(ctx, r.ID, nil); len(all) != 1 || all[0].Key != "topic" {
		t.Fatalf("after leave: %+v", all)
	}
	deleted, _, _ = rs.DeleteAttrs(ctx, r.ID, 2, []string{"topic"}, true)
	if fmt.Sprint(deleted) != "[topic]" {
		t.Fatalf("forced delete: %v", deleted)
	}

	rs.ListAdd(ctx, r.ID, store.ListBlock, []int64{7}, 1)
	if ids, _ := rs.ListUsers(ctx, r.ID, store.ListBlock); fmt.Sprint(ids) != "[7]" {
		t.Fatalf("block list: %v", ids)
	}
	rs.ListRemove(ctx, r.ID, store.ListBlock, []int64{7})
	if ids, _ := rs.ListUsers(ctx, r.ID, store.ListBlock); len(ids) != 0 {
		t.Fatalf("after remove: %v", ids)
	}

	got, _ := rs.Get(ctx, a.ID, r.ID)
	got.Announcement, got.MuteAll, got.Owner = "welcome", true, 2
	if err := rs.Update(ctx, got); err != nil {
		t.Fatal(err)
	}
	if again, _ := rs.Get(ctx, a.ID, r.ID); again.Announcement != "welcome" || !again.MuteAll || again.Owner != 2 {
		t.Fatalf("update: %+v", again)
	}
	r2 := &store.Room{AppID: a.ID, Name: "second", MaxUsers: 10, Owner: 2, Created: 2, Updated: 2}
	rs.Create(ctx, r2, []store.RoomMember{{UserID: 2, Role: store.RoleOwner}})
	if list, _ := rs.List(ctx, a.ID, 0, 1); len(list) != 1 || list[0].ID != r2.ID {
		t.Fatalf("list: %+v", list)
	}
	if ids, _ := rs.All(ctx, a.ID); len(ids) != 2 {
		t.Fatalf("all: %v", ids)
	}
	if mine, _ := rs.OfUser(ctx, a.ID, 2, 0, 10); len(mine) != 2 || mine[0].ID != r2.ID {
		t.Fatalf("of user: %+v", mine)
	}
	if err := rs.Delete(ctx, a.ID, r.ID); err != nil {
		t.Fatal(err)
	}
	mustNotFound(t, rs.Delete(ctx, a.ID, r.ID))
	if mine, _ := rs.OfUser(ctx, a.ID, 2, 0, 10); len(mine) != 1 {
		t.Fatalf("after delete: %+v", mine)
	}

	rs.SetSuperAdmin(ctx, a.ID, 5, true, 1)
	if ok, _ := rs.IsSuperAdmin(ctx, a.ID, 5); !ok {
		t.Fatal("super admin")
	}
	if ids, _ := rs.SuperAdmins(ctx, a.ID); fmt.Sprint(ids) != "[5]" {
		t.Fatalf("super admins: %v", ids)
	}
	rs.SetSuperAdmin(ctx, a.ID, 5, false, 1)
	mustNotFound(t, rs.SetSuperAdmin(ctx, a.ID, 5, false, 1))

	for i := range 3 {
		b := &store.Broadcast{ID: nextID.Add(1), AppID: a.ID, From: 1, Type: "txt", Body: []byte(fmt.Sprintf(`{"msg":"b%d"}`, i)), Created: int64(10 + i)}
		if err := rs.AddBroadcast(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	all, _ := rs.Broadcasts(ctx, a.ID, 0, 0, 10)
	if len(all) != 3 || string(all[0].Body) != `{"msg":"b0"}` {
		t.Fatalf("broadcasts: %+v", all)
	}
	if recent, _ := rs.Broadcasts(ctx, a.ID, all[0].ID, 12, 10); len(recent) != 1 || recent[0].Created != 12 {
		t.Fatalf("recent broadcasts: %+v", recent)
	}
}
