package parley

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/parleyim/parley/protocol"
)

// Chat room calls the server would refuse as malformed, or that name too
// many users or attributes, fail without sending anything.
func TestClient_RoomLocalChecks(t *testing.T) {
	f := newFakeServer(t)
	alice, _ := dialT(t, f.config("alice"), nil)
	many := make([]string, MaxRoomUsersPerCall+1)
	for i := range many {
		many[i] = fmt.Sprint("u", i)
	}
	attrs := map[string]string{}
	var keys []string
	for i := range MaxRoomAttrsPerCall + 1 {
		attrs[fmt.Sprint("k", i)] = "v"
		keys = append(keys, fmt.Sprint("k", i))
	}
	ctx := context.Background()
	one := []string{"bob"}
	name := "live"
	tests := []struct {
		name string
		call func() error
		want error // nil: any error
	}{
		{"create without a name", func() error { _, err := alice.CreateRoom(ctx, RoomSettings{}); return err }, nil},
		{"create with an empty name", func() error { _, err := alice.CreateRoom(ctx, RoomSettings{Name: new("")}); return err }, nil},
		{"create with 61", func() error { _, err := alice.CreateRoom(ctx, RoomSettings{Name: &name}, many...); return err },
			ErrTooManyRoomUsers},
		{"create with an empty member", func() error { _, err := alice.CreateRoom(ctx, RoomSettings{Name: &name}, "bob", ""); return err }, nil},
		{"join no room", func() error { _, _, err := alice.JoinRoom(ctx, ""); return err }, nil},
		{"leave no room", func() error { return alice.LeaveRoom(ctx, "") }, nil},
		{"info of no room", func() error { _, err := alice.RoomInfo(ctx, ""); return err }, nil},
		{"members of no room", func() error { _, _, err := alice.RoomMembers(ctx, "", 0, ""); return err }, nil},
		{"attributes of no room", func() error { _, err := alice.RoomAttributes(ctx, ""); return err }, nil},
		{"set 11 attributes", func() error { _, _, err := alice.SetRoomAttributes(ctx, "1", attrs, false, false); return err },
			ErrTooManyRoomAttrs},
		{"set no attributes", func() error { _, _, err := alice.SetRoomAttributes(ctx, "1", nil, false, false); return err }, nil},
		{"set an empty key", func() error {
			_, _, err := alice.SetRoomAttributes(ctx, "1", map[string]string{"": "v"}, false, false)
			return err
		}, nil},
		{"set in no room", func() error {
			_, _, err := alice.SetRoomAttributes(ctx, "", map[string]string{"k": "v"}, false, false)
			return err
		}, nil},
		{"delete 11 attributes", func() error { _, _, err := alice.DeleteRoomAttributes(ctx, "1", keys, false); return err },
			ErrTooManyRoomAttrs},
		{"delete no attributes", func() error { _, _, err := alice.DeleteRoomAttributes(ctx, "1", nil, true); return err }, nil},
		{"kick 61", func() error { return alice.KickFromRoom(ctx, "1", many...) }, ErrTooManyRoomUsers},
		{"kick nobody", func() error { return alice.KickFromRoom(ctx, "1") }, nil},
		{"kick from no room", func() error { return alice.KickFromRoom(ctx, "", "bob") }, nil},
		{"mute 61", func() error { return alice.MuteRoomMembers(ctx, "1", many, time.Minute) }, ErrTooManyRoomUsers},
		{"mute for a negative time", func() error { return alice.MuteRoomMembers(ctx, "1", one, -time.Second) }, nil},
		{"mute all in no room", func() error { return alice.MuteRoom(ctx, "", true) }, nil},
		{"announce in no room", func() error { return alice.SetRoomAnnouncement(ctx, "", "x") }, nil},
		{"block 61", func() error { return alice.SetRoomBlocked(ctx, "1", many, true) }, ErrTooManyRoomUsers},
		{"allow 61", func() error { return alice.SetRoomAllowed(ctx, "1", many, true) }, ErrTooManyRoomUsers},
		{"allow nobody", func() error { return alice.SetRoomAllowed(ctx, "1", nil, true) }, nil},
		{"admins 61", func() error { return alice.SetRoomAdmins(ctx, "1", many, true) }, ErrTooManyRoomUsers},
		{"admins with an empty user", func() error { return alice.SetRoomAdmins(ctx, "1", []string{""}, true) }, nil},
		{"delete no room", func() error { return alice.DeleteRoom(ctx, "") }, nil},
		{"transfer to nobody", func() error { return alice.TransferRoom(ctx, "1", "") }, nil},
		{"update with no setting", func() error { return alice.UpdateRoom(ctx, "1", RoomSettings{}) }, nil},
		{"update no room", func() error { return alice.UpdateRoom(ctx, "", RoomSettings{Name: &name}) }, nil},
		{"a priority outside a room", func() error {
			_, err := alice.Send(ctx, OutgoingMessage{To: "bob", Body: TextBody{Msg: "x"}, Priority: PriorityHigh})
			return err
		}, nil},
		{"an unknown priority", func() error {
			_, err := alice.Send(ctx, OutgoingMessage{To: "1", ChatType: protocol.ChatTypeRoom, Body: TextBody{Msg: "x"}, Priority: "urgent"})
			return err
		}, nil},
		{"an unknown chat type", func() error {
			_, err := alice.Send(ctx, OutgoingMessage{To: "1", ChatType: "channel", Body: TextBody{Msg: "x"}})
			return err
		}, nil},
		{"mentions in a room", func() error {
			_, err := alice.Send(ctx, OutgoingMessage{To: "1", ChatType: protocol.ChatTypeRoom, Body: TextBody{Msg: "x"}, MentionAll: true})
			return err
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { failsLocally(t, f, tt.call, tt.want) })
	}
}

// Room sends carry chat_type chatroom and the priority.
func TestOutgoingMessage_Room(t *testing.T) {
	for _, p := range []string{"", PriorityHigh, PriorityNormal, PriorityLow} {
		m := OutgoingMessage{To: "42", ChatType: protocol.ChatTypeRoom, Body: TextBody{Msg: "hi"}, Priority: p}
		req, err := m.request()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(req)
		var wire map[string]any
		json.Unmarshal(b, &wire)
		if wire["chat_type"] != "chatroom" || wire["to"] != "42" || (p != "" && wire["chatroom_msg_level"] != p) ||
			(p == "" && wire["chatroom_msg_level"] != nil) {
			t.Fatalf("priority %q: frame %s", p, b)
		}
		if _, err := protocol.DecodeRequest(b); err != nil {
			t.Fatalf("priority %q: the server would refuse the frame: %v", p, err)
		}
	}
	ev := RoomMessageEvent{Item: &protocol.Item{To: "42"}}
	if ev.Room() != "42" || ev.Priority() != PriorityNormal {
		t.Fatalf("room %q, priority %q", ev.Room(), ev.Priority())
	}
}

func roomItem(room, msgID string) *protocol.Item {
	return &protocol.Item{Kind: protocol.ItemMsg, MsgID: msgID, ChatType: protocol.ChatTypeRoom, From: "host", To: room,
		Type: protocol.MsgText, Body: json.RawMessage(`{"msg":"` + msgID + `"}`)}
}

// Each room message reaches the application once, either as a
// RoomMessageEvent or in JoinRoom's recent list, also when it arrives live
// while the join is under way (before the reply) or after the reply that
// listed it. The same msg_id in another room (a broadcast to every room)
// is another message.
func TestClient_RoomJoinOverlap(t *testing.T) {
	f := newFakeServer(t)
	var joined *fakeConn // the connection of the last join
	f.room = func(c *fakeConn, req *protocol.Request) {
		f.mu.Lock()
		joined = c
		f.mu.Unlock()
		if req.Op != protocol.RoomOpJoin || req.Room != "r1" {
			c.send(protocol.Error{T: protocol.FrameError, ID: req.ID, Code: protocol.ErrRoomNotFound.ID})
			return
		}
		// m2 was sent just after alice became a member: live before the
		// reply, and in its recent list. m3 too, but arrives live after the
		// reply.
		c.send(protocol.ItemFrame{T: protocol.FrameItem, Item: roomItem("r1", "m2")})
		c.send(protocol.ItemFrame{T: protocol.FrameItem, Item: roomItem("r2", "m2")})
		c.send(protocol.RoomResult{T: protocol.FrameRoomResult, ID: req.ID, Op: req.Op, Room: &protocol.RoomInfo{ID: "r1"},
			Recent: []*protocol.Item{roomItem("r1", "m1"), roomItem("r1", "m2"), roomItem("r1", "m3")}})
		c.send(protocol.ItemFrame{T: protocol.FrameItem, Item: roomItem("r1", "m3")})
	}
	alice, al := dialT(t, f.config("alice"), nil)
	for range 20 {
		info, recent, err := alice.JoinRoom(context.Background(), "r1")
		if err != nil || info.ID != "r1" {
			t.Fatalf("join: %+v, %v", info, err)
		}
		f.mu.Lock()
		jc := joined
		f.mu.Unlock()
		jc.send(protocol.ItemFrame{T: protocol.FrameItem, Item: roomItem("r1", "m4")})
		evs := al.WaitFor(t, "m4", func(evs []Event) bool {
			return slices.ContainsFunc(RoomMessages(evs), func(it *protocol.Item) bool { return it.MsgID == "m4" })
		})
		// Each message once, wherever it came; m1 only in recent (it never
		// came live), m4 and r2's m2 only as events.
		where := map[string][]string{}
		for _, it := range recent {
			where[it.To+"/"+it.MsgID] = append(where[it.To+"/"+it.MsgID], "recent")
		}
		for _, it := range RoomMessages(evs) {
			where[it.To+"/"+it.MsgID] = append(where[it.To+"/"+it.MsgID], "event")
		}
		for _, k := range []string{"r1/m1", "r1/m2", "r1/m3", "r1/m4", "r2/m2"} {
			if len(where[k]) != 1 {
				t.Fatalf("%s delivered %v", k, where[k])
			}
		}
		if len(where) != 5 || where["r1/m1"][0] != "recent" || where["r1/m4"][0] != "event" || where["r2/m2"][0] != "event" {
			t.Fatalf("delivered %v", where)
		}
		// The next join starts from a Client that knows nothing of the room.
		alice.Close()
		alice, al = dialT(t, f.config("alice"), nil)
	}
	if _, _, err := alice.JoinRoom(context.Background(), "r9"); !IsCode(err, protocol.ErrRoomNotFound) {
		t.Fatalf("join of an unknown room: %v", err)
	}
	if n := len(alice.rooms.joins); n != 0 {
		t.Fatalf("%d rooms still watched after the joins ended", n)
	}
}

// The window forgets the oldest messages beyond its size.
func TestRoomWindow_Bound(t *testing.T) {
	w := newRoomWindow()
	for i := range roomWindowSize + 10 {
		if !w.deliver(roomItem("r", fmt.Sprint(i))) {
			t.Fatalf("message %d seen before", i)
		}
	}
	if len(w.seen) != roomWindowSize || len(w.order) != roomWindowSize {
		t.Fatalf("window holds %d (%d in order)", len(w.seen), len(w.order))
	}
	if w.deliver(roomItem("r", fmt.Sprint(roomWindowSize+9))) {
		t.Fatal("a recent message delivered twice")
	}
	if !w.deliver(roomItem("r", "0")) {
		t.Fatal("the oldest message was not forgotten")
	}
}
