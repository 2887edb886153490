package parley_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
	parley "github.com/parleyim/parley/sdk/go"
)

// waitStream waits until a device delivered len(want) items of a
// conversation and checks they are exactly want ("seq kind", in order).
func waitStream(t *testing.T, who string, l *parley.EventLog, conv string, want ...string) []parley.Event {
	t.Helper()
	evs := l.WaitFor(t, fmt.Sprintf("%s's %d items of conversation %s", who, len(want), conv), func(evs []parley.Event) bool {
		return len(parley.Stream(evs, conv)) >= len(want)
	})
	checkStream(t, who, evs, conv, want...)
	return evs
}

func checkStream(t *testing.T, who string, evs []parley.Event, conv string, want ...string) {
	t.Helper()
	if got := parley.Stream(evs, conv); !slices.Equal(got, want) {
		t.Fatalf("%s's stream of %s:\n got %q\nwant %q", who, conv, got, want)
	}
}

// lastPeople returns the last stored event of kind a device got.
func lastPeople(t *testing.T, l *parley.EventLog, kind string) *protocol.Event {
	t.Helper()
	evs := l.WaitFor(t, "a "+kind+" event", parley.HasPeople(kind, 1))
	var last *protocol.Event
	for _, e := range parley.People(evs) {
		if e.Kind == kind {
			last = e
		}
	}
	return last
}

// notice returns the notice at seq of a conversation.
func noticeAt(t *testing.T, evs []parley.Event, conv string, seq int64) parley.GroupNoticeEvent {
	t.Helper()
	for _, n := range parley.Notices(evs) {
		if n.Item.ConvID == conv && n.Item.Seq == seq {
			return n
		}
	}
	t.Fatalf("no notice #%d in %s:%s", seq, conv, parley.Describe(evs))
	return parley.GroupNoticeEvent{}
}

func isCode(t *testing.T, what string, err error, kind protocol.ErrorKind) {
	t.Helper()
	if !parley.IsCode(err, kind) {
		t.Fatalf("%s: %v, want %s", what, err, kind.ID)
	}
}

// trio is an app with alice, bob and carol online, and a group of the
// three that alice owns.
type trio struct {
	a                 *app
	alice, bob, carol *parley.Client
	al, bl, cl        *parley.EventLog
	gid, conv         string
}

func newTrio(t *testing.T, s *servertest.Server) *trio {
	t.Helper()
	tr := &trio{a: newApp(t, s, tenant.Settings{}, "alice", "bob", "carol")}
	tr.alice, tr.al = tr.a.dial(t, "alice", "a1")
	tr.bob, tr.bl = tr.a.dial(t, "bob", "b1")
	tr.carol, tr.cl = tr.a.dial(t, "carol", "c1")
	g, err := tr.alice.CreateGroup(ctxT(t), protocol.GroupSettings{}, "bob", "carol")
	if err != nil {
		t.Fatal(err)
	}
	tr.gid, tr.conv = g.ID, g.ConvID
	return tr
}

// A group's whole membership life through the SDK: create, apply and
// approve (and decline), invite and accept (the invitee offline when
// invited; and decline), kick (the member offline), quit, promote,
// transfer, rejoin, dissolve. Members' devices get the notices of their time as
// members, exactly once and in order, also a device offline the whole
// time; users get the group events meant for them, once per device.
func testGroupLifecycle(t *testing.T, s *servertest.Server) {
	a := newApp(t, s, tenant.Settings{}, "alice", "bob", "carol", "dave", "erin")
	a1, a2 := a.device(t, "alice", "a1"), a.device(t, "alice", "a2").known(t)
	b1, c1, d1, e1 := a.device(t, "bob", "b1"), a.device(t, "carol", "c1"), a.device(t, "dave", "d1").known(t), a.device(t, "erin", "e1")
	alice, al := a1.dial(t)
	bob, bl := b1.dial(t)
	carol, cl := c1.dial(t)
	erin, el := e1.dial(t)
	ctx := ctxT(t)

	g, err := alice.CreateGroup(ctx, protocol.GroupSettings{Name: new("Hikers"), Public: new(true), MembersOnly: new(true),
		MaxUsers: new(10)}, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if g.ID == "" || g.ConvID == "" || g.Owner != "alice" || g.Name != "Hikers" || !g.Public || !g.MembersOnly ||
		g.MaxUsers != 10 || g.Count != 2 {
		t.Fatalf("created %+v", g)
	}
	gid, conv := g.ID, g.ConvID
	evs := waitStream(t, "bob", bl, conv, "1 group_created")
	if n := noticeAt(t, evs, conv, 1); n.Group != gid || n.Owner != "alice" || !slices.Equal(n.Members, []string{"bob"}) ||
		n.By != "alice" || n.Item.ChatType != protocol.ChatTypeGroup {
		t.Fatalf("group_created %+v", n)
	}

	// carol applies and is accepted; erin applies and is declined.
	if joined, err := carol.ApplyToGroup(ctx, gid, "I like hiking"); err != nil || joined {
		t.Fatalf("carol applies: %v, %v", joined, err)
	}
	if e := lastPeople(t, al, protocol.EventGroupApply); e.From != "carol" || e.Group != gid || e.Reason != "I like hiking" {
		t.Fatalf("application %+v", e)
	}
	if err := alice.AnswerApplication(ctx, gid, "carol", true, "welcome"); err != nil {
		t.Fatal(err)
	}
	if e := lastPeople(t, cl, protocol.EventGroupApplyAccepted); e.From != "alice" || e.Group != gid || e.Reason != "welcome" {
		t.Fatalf("acceptance %+v", e)
	}
	// carol's device delivers the group from her join on.
	evs = waitStream(t, "carol", cl, conv, "2 member_joined")
	if n := noticeAt(t, evs, conv, 2); !slices.Equal(n.Users, []string{"carol"}) || n.By != "alice" {
		t.Fatalf("carol's join %+v", n)
	}
	if joined, err := erin.ApplyToGroup(ctx, gid, "me too"); err != nil || joined {
		t.Fatalf("erin applies: %v, %v", joined, err)
	}
	al.WaitFor(t, "erin's application", parley.HasPeople(protocol.EventGroupApply, 2))
	if err := alice.AnswerApplication(ctx, gid, "erin", false, "not now"); err != nil {
		t.Fatal(err)
	}
	if e := lastPeople(t, el, protocol.EventGroupApplyDeclined); e.From != "alice" || e.Reason != "not now" {
		t.Fatalf("decline %+v", e)
	}

	// dave is invited while offline and accepts when he is back; erin
	// declines.
	if added, err := alice.InviteToGroup(ctx, gid, []string{"dave", "erin"}, "join us"); err != nil || len(added) != 0 {
		t.Fatalf("invite: %v, %v", added, err)
	}
	dave, dl := d1.dial(t)
	if e := lastPeople(t, dl, protocol.EventGroupInvite); e.From != "alice" || e.Group != gid || e.Name != "Hikers" ||
		e.Reason != "join us" {
		t.Fatalf("dave's invitation %+v", e)
	}
	el.WaitFor(t, "erin's invitation", parley.HasPeople(protocol.EventGroupInvite, 1))
	if err := dave.AnswerInvitation(ctx, gid, true, ""); err != nil {
		t.Fatal(err)
	}
	if e := lastPeople(t, al, protocol.EventGroupInviteAccepted); e.From != "dave" || e.Group != gid {
		t.Fatalf("dave's acceptance %+v", e)
	}
	if err := erin.AnswerInvitation(ctx, gid, false, "busy"); err != nil {
		t.Fatal(err)
	}
	if e := lastPeople(t, al, protocol.EventGroupInviteDeclined); e.From != "erin" || e.Reason != "busy" {
		t.Fatalf("erin's decline %+v", e)
	}
	waitStream(t, "dave", dl, conv, "3 member_joined")

	// bob is offline while he is kicked: he learns it when he is back, and
	// may no longer send.
	waitStream(t, "bob", bl, conv, "1 group_created", "2 member_joined", "3 member_joined")
	back := goOffline(t, bob, bl)
	if err := alice.KickFromGroup(ctx, gid, "bob"); err != nil {
		t.Fatal(err)
	}
	back()
	if e := lastPeople(t, bl, protocol.EventGroupRemoved); e.From != "alice" || e.Group != gid {
		t.Fatalf("bob's removal %+v", e)
	}
	_, err = bob.SendGroupText(ctx, gid, "still here?")
	isCode(t, "a send after the kick", err, protocol.ErrNotGroupMember)

	if err := carol.QuitGroup(ctx, gid); err != nil {
		t.Fatal(err)
	}
	if err := alice.SetGroupAdmins(ctx, gid, []string{"dave"}, true); err != nil {
		t.Fatal(err)
	}
	if err := alice.TransferGroup(ctx, gid, "dave"); err != nil {
		t.Fatal(err)
	}
	isCode(t, "the old owner transfers again", alice.TransferGroup(ctx, gid, "alice"), protocol.ErrGroupForbidden)

	// bob is invited back: his device goes on from where it was, without
	// what happened while he was out (his own removal included: he learnt
	// it from the group_removed event; the stream resumes at his rejoin).
	if _, err := dave.InviteToGroup(ctx, gid, []string{"bob"}, "come back"); err != nil {
		t.Fatal(err)
	}
	if e := lastPeople(t, bl, protocol.EventGroupInvite); e.From != "dave" || e.Reason != "come back" {
		t.Fatalf("bob's invitation %+v", e)
	}
	if err := bob.AnswerInvitation(ctx, gid, true, "thanks"); err != nil {
		t.Fatal(err)
	}
	dl.WaitFor(t, "bob's acceptance", parley.HasPeople(protocol.EventGroupInviteAccepted, 1))
	waitStream(t, "bob", bl, conv, "1 group_created", "2 member_joined", "3 member_joined", "8 member_joined")

	all := []string{"1 group_created", "2 member_joined", "3 member_joined", "4 member_removed", "5 member_left",
		"6 admin_added", "7 owner_changed", "8 member_joined"}
	evs = waitStream(t, "alice", al, conv, all...)
	for seq, want := range map[int64]parley.GroupNoticeEvent{
		4: {By: "alice", Users: []string{"bob"}},
		5: {By: "carol", Users: []string{"carol"}},
		6: {By: "alice", Users: []string{"dave"}},
		7: {By: "alice", OldOwner: "alice", NewOwner: "dave"},
	} {
		n := noticeAt(t, evs, conv, seq)
		if n.By != want.By || !slices.Equal(n.Users, want.Users) || n.OldOwner != want.OldOwner || n.NewOwner != want.NewOwner {
			t.Fatalf("notice #%d: %+v", seq, n)
		}
	}
	waitStream(t, "dave", dl, conv, all[2:]...)
	// Those who left saw up to their leaving; erin never was a member.
	checkStream(t, "bob", bl.Events(), conv, "1 group_created", "2 member_joined", "3 member_joined", "8 member_joined")
	checkStream(t, "carol", cl.Events(), conv, all[1:4]...)
	checkStream(t, "erin", el.Events(), conv)

	// alice's other device, offline all along, gets the group's whole
	// stream once; a new Client of it, and a reconnect, repeat nothing.
	laptop, ll := a2.dial(t)
	waitStream(t, "alice's laptop", ll, conv, all...)
	reconnect(t, laptop, ll)
	laptop.Close()
	laptop, ll = a2.dial(t)
	checkStream(t, "alice's laptop (new Client)", ll.Events(), conv)
	laptop.Close()

	info, err := dave.GroupInfo(ctx, gid)
	if err != nil || info.Owner != "dave" || info.Count != 3 {
		t.Fatalf("info: %+v, %v", info, err)
	}
	members, err := dave.AllGroupMembers(ctx, gid)
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]string{}
	for _, m := range members {
		roles[m.User] = m.Role
	}
	if !maps.Equal(roles, map[string]string{"alice": "admin", "bob": "member", "dave": "owner"}) {
		t.Fatalf("roles %v", roles)
	}
	if mine, err := alice.AllMyGroups(ctx); err != nil || len(mine) != 1 || mine[0].ID != gid || mine[0].Name != "Hikers" {
		t.Fatalf("alice's groups: %v, %v", mine, err)
	}
	if mine, err := carol.AllMyGroups(ctx); err != nil || len(mine) != 0 {
		t.Fatalf("carol's groups: %v, %v", mine, err)
	}

	// Dissolving tells every member, the owner's own device too.
	if err := dave.DissolveGroup(ctx, gid); err != nil {
		t.Fatal(err)
	}
	for name, l := range map[string]*parley.EventLog{"dave": dl, "alice": al, "bob": bl} {
		if e := lastPeople(t, l, protocol.EventGroupDestroyed); e.Group != gid || e.From != "dave" {
			t.Fatalf("%s: %+v", name, e)
		}
	}
	_, err = alice.GroupInfo(ctx, gid)
	isCode(t, "info of a dissolved group", err, protocol.ErrGroupNotFound)

	alicePeople := []string{protocol.EventGroupApply, protocol.EventGroupApply, protocol.EventGroupInviteAccepted,
		protocol.EventGroupInviteDeclined, protocol.EventGroupDestroyed}
	_, ll = a2.dial(t) // offline when the group was dissolved
	ll.WaitFor(t, "the laptop's destroyed event", parley.HasPeople(protocol.EventGroupDestroyed, 1))
	for _, c := range []struct {
		d    *device
		want []string
	}{
		{a1, alicePeople},
		{a2, alicePeople},
		{b1, []string{protocol.EventGroupRemoved, protocol.EventGroupInvite, protocol.EventGroupDestroyed}},
		{c1, []string{protocol.EventGroupApplyAccepted}},
		{d1, []string{protocol.EventGroupInvite, protocol.EventGroupInviteAccepted, protocol.EventGroupDestroyed}},
		{e1, []string{protocol.EventGroupApplyDeclined, protocol.EventGroupInvite}},
	} {
		c.d.checkPeople(t, c.want...)
	}
}

// Group messages reach every member's devices (the sender's other ones
// too, and one that was offline) exactly once and in order; a member added
// while offline gets what came after their join. Read receipts reach the
// sender as GroupAckEvents and GroupReaders lists the readers. Directed
// messages reach only the members named; a shielded member gets the
// group's items on sync only.
func testGroupMessages(t *testing.T, s *servertest.Server) {
	a := newApp(t, s, tenant.Settings{}, "alice", "bob", "carol", "dave")
	alice, al := a.dial(t, "alice", "a1")
	_, al2 := a.dial(t, "alice", "a2")
	bob, bl := a.dial(t, "bob", "b1")
	carol, cl := a.device(t, "carol", "c1").dial(t)
	dv := a.device(t, "dave", "d1").known(t)
	ctx := ctxT(t)

	g, err := alice.CreateGroup(ctx, protocol.GroupSettings{InviteNeedConfirm: new(false)}, "bob", "carol")
	if err != nil {
		t.Fatal(err)
	}
	gid, conv := g.ID, g.ConvID
	waitStream(t, "carol", cl, conv, "1 group_created")
	back := goOffline(t, carol, cl)
	var acks []*protocol.Ack
	for _, m := range []struct {
		c *parley.Client
		m parley.OutgoingMessage
	}{
		{alice, parley.OutgoingMessage{Body: parley.TextBody{Msg: "one"}}},
		{bob, parley.OutgoingMessage{Body: parley.TextBody{Msg: "two"}, NeedGroupAck: true}},
		// An empty ext with a group ack: the SDK leaves it out.
		{alice, parley.OutgoingMessage{Body: parley.TextBody{Msg: "three"}, NeedGroupAck: true, Ext: map[string]any{}}},
	} {
		m.m.To, m.m.ChatType = gid, protocol.ChatTypeGroup
		ack, err := m.c.Send(ctx, m.m)
		if err != nil {
			t.Fatal(err)
		}
		if ack.ConvID != conv {
			t.Fatalf("ack %+v", ack)
		}
		acks = append(acks, ack)
	}
	back()
	want := []string{"1 group_created", "2 msg", "3 msg", "4 msg"}
	for name, l := range map[string]*parley.EventLog{"alice": al, "alice's other device": al2, "bob": bl, "carol": cl} {
		evs := waitStream(t, name, l, conv, want...)
		msgs := parley.Messages(evs)
		for i, it := range msgs {
			ev := parley.MessageEvent{Item: it}
			if it.ChatType != protocol.ChatTypeGroup || ev.Group() != gid || it.MsgID != acks[i].MsgID ||
				it.NeedGroupAck != (i > 0) {
				t.Fatalf("%s: message %d: %+v", name, i, it)
			}
		}
		if b, err := (parley.MessageEvent{Item: msgs[1]}).Body(); err != nil || b.(parley.TextBody).Msg != "two" || msgs[1].From != "bob" {
			t.Fatalf("%s: second message %+v: %v", name, msgs[1], err)
		}
	}

	// dave is added while offline: his device starts at his join.
	if added, err := alice.InviteToGroup(ctx, gid, []string{"dave"}, ""); err != nil || !slices.Equal(added, []string{"dave"}) {
		t.Fatalf("invite without confirmation: %v, %v", added, err)
	}
	ack5, err := alice.SendGroupText(ctx, gid, "five")
	if err != nil {
		t.Fatal(err)
	}
	_, dl := dv.dial(t)
	waitStream(t, "dave", dl, conv, "5 member_joined", "6 msg")
	if items, _, err := alice.History(ctx, conv, parley.HistoryQuery{Limit: 1}); err != nil || len(items) != 1 || items[0].MsgID != ack5.MsgID {
		t.Fatalf("history: %v, %v", items, err)
	}

	// Group read receipts, for messages that asked for them.
	m3 := acks[2].MsgID
	if err := carol.MarkMessageRead(ctx, m3); err != nil {
		t.Fatal(err)
	}
	if err := bob.MarkMessageRead(ctx, m3); err != nil {
		t.Fatal(err)
	}
	if err := bob.MarkMessageRead(ctx, acks[0].MsgID); err != nil { // no receipt asked
		t.Fatal(err)
	}
	if err := alice.MarkMessageRead(ctx, acks[1].MsgID); err != nil {
		t.Fatal(err)
	}
	for name, l := range map[string]*parley.EventLog{"alice": al, "alice's other device": al2} {
		evs := l.WaitFor(t, name+"'s group acks", func(evs []parley.Event) bool { return len(parley.GroupAcks(evs)) >= 2 })
		got := parley.GroupAcks(evs)
		if len(got) != 2 || got[0].From != "carol" || got[0].Count != 1 || got[1].From != "bob" || got[1].Count != 2 ||
			got[0].MsgID != m3 || got[1].MsgID != m3 || got[0].Group != gid || got[0].ID != "" {
			t.Fatalf("%s: acks %+v %+v", name, got[0], got[len(got)-1])
		}
	}
	if got := parley.GroupAcks(bl.WaitFor(t, "bob's group ack", func(evs []parley.Event) bool { return len(parley.GroupAcks(evs)) >= 1 })); got[0].From != "alice" ||
		got[0].MsgID != acks[1].MsgID {
		t.Fatalf("bob's ack %+v", got[0])
	}
	readers, count, next, err := alice.GroupReaders(ctx, m3, 1, "")
	if err != nil || !slices.Equal(readers, []string{"bob"}) || count != 2 || next == "" {
		t.Fatalf("readers page: %v %d %q %v", readers, count, next, err)
	}
	if all, err := carol.AllGroupReaders(ctx, m3); err != nil || !slices.Equal(all, []string{"bob", "carol"}) {
		t.Fatalf("all readers: %v, %v", all, err)
	}

	// A directed message: bob gets it, live and not stored; carol does not.
	dack, err := alice.Send(ctx, parley.OutgoingMessage{To: gid, ChatType: protocol.ChatTypeGroup, DirectedTo: []string{"bob"},
		Body: parley.TextBody{Msg: "psst"}})
	if err != nil || dack.Seq != 0 {
		t.Fatalf("directed send: %+v, %v", dack, err)
	}
	evs := bl.WaitFor(t, "the directed message", func(evs []parley.Event) bool {
		return slices.ContainsFunc(parley.Messages(evs), func(it *protocol.Item) bool { return it.MsgID == dack.MsgID })
	})
	for _, it := range parley.Messages(evs) {
		if it.MsgID == dack.MsgID && (!it.Directed || it.Seq != 0 || it.ChatType != protocol.ChatTypeGroup) {
			t.Fatalf("directed item %+v", it)
		}
	}

	// A shielded member gets the group's items with the next sync.
	if err := bob.ShieldGroup(ctx, gid, true); err != nil {
		t.Fatal(err)
	}
	ack7, err := alice.SendGroupText(ctx, gid, "seven")
	if err != nil {
		t.Fatal(err)
	}
	want = append(want, "5 member_joined", "6 msg")
	waitStream(t, "carol", cl, conv, append(want, "7 msg")...)
	if _, err := bob.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	checkStream(t, "bob (shielded)", bl.Events(), conv, want...)
	reconnect(t, bob, bl)
	want = append(want, "7 msg")
	evs = waitStream(t, "bob", bl, conv, want...)
	if m := parley.Messages(evs); m[len(m)-1].MsgID != ack7.MsgID {
		t.Fatalf("bob's last message %+v", m[len(m)-1])
	}
	if err := bob.ShieldGroup(ctx, gid, false); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.SendGroupText(ctx, gid, "eight"); err != nil {
		t.Fatal(err)
	}
	want = append(want, "8 msg")
	waitStream(t, "bob (unshielded)", bl, conv, want...)
	waitStream(t, "alice", al, conv, want...)

	for name, l := range map[string]*parley.EventLog{"carol": cl, "dave": dl, "alice": al} {
		for _, it := range parley.Messages(l.Events()) {
			if it.Directed {
				t.Fatalf("%s got the directed message", name)
			}
		}
	}
}

// Mentions: the mentioned member's message event and conversation say so
// (until they read), the others' do not; "all" mentions everyone.
func testGroupMentions(t *testing.T, s *servertest.Server) {
	tr := newTrio(t, s)
	alice, bob, carol, al, bl, cl, gid, conv := tr.alice, tr.bob, tr.carol, tr.al, tr.bl, tr.cl, tr.gid, tr.conv
	ctx := ctxT(t)
	if _, err := alice.Send(ctx, parley.OutgoingMessage{To: gid, ChatType: protocol.ChatTypeGroup, Body: parley.TextBody{Msg: "@bob look"},
		Mentions: []string{"bob"}, Ext: map[string]string{"k": "v"}}); err != nil {
		t.Fatal(err)
	}
	mentioned := func(who string, l *parley.EventLog, seq int64) bool {
		t.Helper()
		for _, ev := range waitStream(t, who, l, conv, parley.Stream(l.Events(), conv)...) {
			if m, ok := ev.(parley.MessageEvent); ok && m.Item.ConvID == conv && m.Item.Seq == seq {
				return m.Mentioned
			}
		}
		t.Fatalf("%s has no message #%d", who, seq)
		return false
	}
	for _, l := range []*parley.EventLog{al, bl, cl} {
		l.WaitFor(t, "the mention", parley.HasMessages(1))
	}
	if !mentioned("bob", bl, 2) || mentioned("carol", cl, 2) || mentioned("alice", al, 2) {
		t.Fatal("the mention flags of the message events are wrong")
	}
	var ext map[string]any
	if err := json.Unmarshal(parley.Messages(bl.Events())[0].Ext, &ext); err != nil || ext["k"] != "v" ||
		fmt.Sprint(ext["em_at_list"]) != "[bob]" {
		t.Fatalf("ext as received: %v, %v", ext, err)
	}
	convOf := func(c *parley.Client) *protocol.Conversation {
		t.Helper()
		list, _, err := c.Conversations(ctx, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, cv := range list {
			if cv.ConvID == conv {
				if cv.ChatType != protocol.ChatTypeGroup || cv.Group != gid {
					t.Fatalf("conversation %+v", cv)
				}
				return cv
			}
		}
		t.Fatal("the group is not in the conversation list")
		return nil
	}
	if !convOf(bob).Mentioned || convOf(carol).Mentioned || convOf(alice).Mentioned {
		t.Fatal("the mention flags of the conversations are wrong")
	}
	if err := bob.MarkRead(ctx, conv, 0); err != nil {
		t.Fatal(err)
	}
	if convOf(bob).Mentioned {
		t.Fatal("bob's mention stays after reading")
	}

	if _, err := alice.Send(ctx, parley.OutgoingMessage{To: gid, ChatType: protocol.ChatTypeGroup, Body: parley.TextBody{Msg: "all hands"},
		MentionAll: true}); err != nil {
		t.Fatal(err)
	}
	for _, l := range []*parley.EventLog{al, bl, cl} {
		l.WaitFor(t, "the mention of all", parley.HasMessages(2))
	}
	if !mentioned("bob", bl, 3) || !mentioned("carol", cl, 3) || mentioned("alice", al, 3) {
		t.Fatal("the flags of a mention of all are wrong")
	}
	if !convOf(carol).Mentioned || !convOf(bob).Mentioned {
		t.Fatal("a mention of all does not flag the conversations")
	}
	// A sync reports the conversation with its group and mention.
	reconnect(t, carol, cl)
	var synced *protocol.Conversation
	for _, ev := range cl.Events() {
		if c, ok := ev.(parley.ConversationEvent); ok && c.FromSync && c.Conversation.ConvID == conv {
			synced = c.Conversation
		}
	}
	if synced == nil || synced.Group != gid || !synced.Mentioned || synced.ChatType != protocol.ChatTypeGroup {
		t.Fatalf("synced conversation %+v", synced)
	}
}

// Recalls in a group: by the sender, and by the owner or an admin of
// anyone's message (a plain member may not); every member's devices get
// the recall in order.
func testGroupRecall(t *testing.T, s *servertest.Server) {
	tr := newTrio(t, s)
	alice, bob, carol, al, bl, cl, gid, conv := tr.alice, tr.bob, tr.carol, tr.al, tr.bl, tr.cl, tr.gid, tr.conv
	ctx := ctxT(t)
	send := func(c *parley.Client, text string) string {
		t.Helper()
		ack, err := c.SendGroupText(ctx, gid, text)
		if err != nil {
			t.Fatal(err)
		}
		return ack.MsgID
	}
	m1 := send(bob, "oops")
	if err := bob.Recall(ctx, m1); err != nil {
		t.Fatal(err)
	}
	m2 := send(carol, "spam")
	isCode(t, "a member recalls another's message", bob.Recall(ctx, m2), protocol.ErrRecallNotAllowed)
	if err := alice.Recall(ctx, m2); err != nil {
		t.Fatal(err)
	}
	if err := alice.SetGroupAdmins(ctx, gid, []string{"bob"}, true); err != nil {
		t.Fatal(err)
	}
	m3 := send(carol, "more spam")
	if err := bob.Recall(ctx, m3); err != nil {
		t.Fatalf("an admin recalls: %v", err)
	}
	want := []string{"1 group_created", "2 msg", "3 recall", "4 msg", "5 recall", "6 admin_added", "7 msg", "8 recall"}
	// The recall item names the message's sender, whoever recalled it.
	recalls := map[string]string{m1: "bob", m2: "carol", m3: "carol"}
	for name, l := range map[string]*parley.EventLog{"alice": al, "bob": bl, "carol": cl} {
		for _, ev := range waitStream(t, name, l, conv, want...) {
			if r, ok := ev.(parley.RecallEvent); ok && (recalls[r.Item.Target] != r.Item.From || r.Group() != gid) {
				t.Fatalf("%s: recall %+v", name, r.Item)
			}
		}
	}
	items, _, err := carol.History(ctx, conv, parley.HistoryQuery{})
	if err != nil || len(items) != 3 {
		t.Fatalf("history: %d, %v", len(items), err)
	}
	for _, it := range items {
		if !it.Recalled {
			t.Fatalf("not recalled: %+v", it)
		}
	}
}

// Mutes: a muted member's sends, and plain members' during mute-all (but
// not the owner's or the allow list's), fail with typed errors and store
// nothing; members see the notices.
func testGroupMutes(t *testing.T, s *servertest.Server) {
	tr := newTrio(t, s)
	alice, bob, carol, bl, gid, conv := tr.alice, tr.bob, tr.carol, tr.bl, tr.gid, tr.conv
	ctx := ctxT(t)
	send := func(c *parley.Client, want protocol.ErrorKind) {
		t.Helper()
		_, err := c.SendGroupText(ctx, gid, "hi")
		if want.ID == "" {
			if err != nil {
				t.Fatalf("%s sends: %v", c.User(), err)
			}
			return
		}
		isCode(t, c.User()+" sends", err, want)
	}
	none := protocol.ErrorKind{}

	before := time.Now()
	if err := alice.MuteGroupMembers(ctx, gid, []string{"carol"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	send(carol, protocol.ErrGroupMuted)
	send(bob, none)
	if err := alice.MuteGroupMembers(ctx, gid, []string{"carol"}, 0); err != nil {
		t.Fatal(err)
	}
	send(carol, none)

	if err := alice.MuteGroup(ctx, gid, true); err != nil {
		t.Fatal(err)
	}
	send(bob, protocol.ErrGroupMuted)
	send(alice, none)
	if err := alice.SetGroupAllowed(ctx, gid, []string{"bob"}, true); err != nil {
		t.Fatal(err)
	}
	send(bob, none)
	send(carol, protocol.ErrGroupMuted)
	if err := alice.MuteGroup(ctx, gid, false); err != nil {
		t.Fatal(err)
	}
	send(carol, none)

	// A global mute for group messages (an app admin's).
	mute := func(secs int) {
		if r := s.Do(t, "POST", tr.a.path("/mutes"), tr.a.token, map[string]any{"username": "carol", "groupchat": secs}); r.Status != 200 {
			t.Fatalf("mute: %d %s", r.Status, r.Raw)
		}
	}
	mute(60)
	send(carol, protocol.ErrUserMuted)
	mute(0)
	send(carol, none)

	evs := waitStream(t, "bob", bl, conv, "1 group_created", "2 member_muted", "3 msg", "4 member_unmuted", "5 msg",
		"6 mute_all", "7 msg", "8 msg", "9 unmute_all", "10 msg", "11 msg")
	n := noticeAt(t, evs, conv, 2)
	if n.By != "alice" || !slices.Equal(n.Users, []string{"carol"}) || n.Until < before.Add(59*time.Second).UnixMilli() ||
		n.Until > time.Now().Add(61*time.Second).UnixMilli() {
		t.Fatalf("member_muted %+v", n)
	}
	if n := noticeAt(t, evs, conv, 6); n.By != "alice" {
		t.Fatalf("mute_all %+v", n)
	}
}

// Refusals come back as typed errors (or, over the limits, before anything
// is sent), change nothing, and leave the connection usable.
func testGroupRefusals(t *testing.T, s *servertest.Server) {
	a := newApp(t, s, tenant.Settings{}, "alice", "bob", "carol")
	alice, al := a.dial(t, "alice", "a1")
	bob, bl := a.dial(t, "bob", "b1")
	carol, _ := a.dial(t, "carol", "c1")
	ctx := ctxT(t)
	g, err := alice.CreateGroup(ctx, protocol.GroupSettings{Name: new("Club"), MaxUsers: new(2), InviteNeedConfirm: new(false)}, "bob")
	if err != nil {
		t.Fatal(err)
	}
	gid, conv := g.ID, g.ConvID
	waitStream(t, "bob", bl, conv, "1 group_created")
	direct, err := alice.SendText(ctx, "bob", "a 1:1 message")
	if err != nil {
		t.Fatal(err)
	}
	many := make([]string, parley.MaxGroupUsersPerCall+1)
	for i := range many {
		many[i] = fmt.Sprint("u", i)
	}
	forbidden, notMember := &parley.Error{Code: protocol.ErrGroupForbidden.ID}, &parley.Error{Code: protocol.ErrNotGroupMember.ID}
	illegal := &parley.Error{Code: protocol.ErrIllegalArgument.ID}
	tests := []struct {
		name string
		call func() error
		want error
	}{
		{"an outsider sends", func() error { _, err := carol.SendGroupText(ctx, gid, "hi"); return err }, notMember},
		{"a send to no group", func() error { _, err := alice.SendGroupText(ctx, "999999999", "hi"); return err },
			&parley.Error{Code: protocol.ErrGroupNotFound.ID}},
		{"an outsider changes settings", func() error { return carol.UpdateGroup(ctx, gid, protocol.GroupSettings{Name: new("x")}) }, forbidden},
		{"an outsider mutes", func() error { return carol.MuteGroup(ctx, gid, true) }, forbidden},
		{"an outsider reads a private group", func() error { _, err := carol.GroupInfo(ctx, gid); return err }, notMember},
		{"an outsider lists its members", func() error { _, err := carol.AllGroupMembers(ctx, gid); return err }, notMember},
		{"an outsider applies to a private group", func() error { _, err := carol.ApplyToGroup(ctx, gid, ""); return err }, forbidden},
		{"an answer without an invitation", func() error { return carol.AnswerInvitation(ctx, gid, true, "") },
			&parley.Error{Code: protocol.ErrRequestNotFound.ID}},
		{"a member kicks", func() error { return bob.KickFromGroup(ctx, gid, "alice") }, forbidden},
		{"a member announces", func() error { return bob.SetGroupAnnouncement(ctx, gid, "hello") }, forbidden},
		{"a member transfers", func() error { return bob.TransferGroup(ctx, gid, "bob") }, forbidden},
		{"a member dissolves", func() error { return bob.DissolveGroup(ctx, gid) }, forbidden},
		{"a member names admins", func() error { return bob.SetGroupAdmins(ctx, gid, []string{"bob"}, true) }, forbidden},
		{"the owner quits", func() error { return alice.QuitGroup(ctx, gid) }, forbidden},
		{"the owner kicks an outsider", func() error { return alice.KickFromGroup(ctx, gid, "carol") }, notMember},
		{"the owner mutes the owner", func() error { return alice.MuteGroupMembers(ctx, gid, []string{"alice"}, time.Minute) }, forbidden},
		{"the owner invites beyond maxusers", func() error { _, err := alice.InviteToGroup(ctx, gid, []string{"carol"}, ""); return err },
			&parley.Error{Code: protocol.ErrGroupFull.ID}},
		{"the owner invites nobody known", func() error { _, err := alice.InviteToGroup(ctx, gid, []string{"ghost"}, ""); return err },
			&parley.Error{Code: protocol.ErrUserNotFound.ID}},
		{"invite 61", func() error { _, err := alice.InviteToGroup(ctx, gid, many, ""); return err }, parley.ErrTooManyGroupUsers},
		{"kick 61", func() error { return alice.KickFromGroup(ctx, gid, many...) }, parley.ErrTooManyGroupUsers},
		{"create with 61", func() error { _, err := alice.CreateGroup(ctx, protocol.GroupSettings{}, many...); return err },
			parley.ErrTooManyGroupUsers},
		{"an announcement over 512", func() error { return alice.SetGroupAnnouncement(ctx, gid, strings.Repeat("a", 513)) }, illegal},
		{"maxusers below the members", func() error { return alice.UpdateGroup(ctx, gid, protocol.GroupSettings{MaxUsers: new(1)}) }, illegal},
		{"a name over 128", func() error {
			return alice.UpdateGroup(ctx, gid, protocol.GroupSettings{Name: new(strings.Repeat("n", 129))})
		}, illegal},
		{"readers of a 1:1 message", func() error { _, _, _, err := alice.GroupReaders(ctx, direct.MsgID, 0, ""); return err },
			&parley.Error{Code: protocol.ErrMessageNotFound.ID}},
		{"a directed message to an outsider", func() error {
			_, err := alice.Send(ctx, parley.OutgoingMessage{To: gid, ChatType: protocol.ChatTypeGroup, DirectedTo: []string{"carol"},
				Body: parley.TextBody{Msg: "x"}})
			return err
		}, notMember},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	info, err := alice.GroupInfo(ctx, gid)
	if err != nil || info.Name != "Club" || info.MaxUsers != 2 || info.Count != 2 || info.Announcement != "" || info.Mute ||
		info.Owner != "alice" {
		t.Fatalf("the group changed: %+v, %v", info, err)
	}
	members, err := alice.AllGroupMembers(ctx, gid)
	if err != nil || len(members) != 2 || members[0].MuteUntil != 0 || members[1].MuteUntil != 0 {
		t.Fatalf("members changed: %+v, %v", members, err)
	}
	if mine, err := carol.AllMyGroups(ctx); err != nil || len(mine) != 0 {
		t.Fatalf("carol's groups: %v, %v", mine, err)
	}
	// Nothing was added to the stream: the next item is #2.
	ack, err := bob.SendGroupText(ctx, gid, "after the refusals")
	if err != nil || ack.Seq != 2 {
		t.Fatalf("a send after the refusals: %+v, %v", ack, err)
	}
	waitStream(t, "bob", bl, conv, "1 group_created", "2 msg")
	if n := countConn(al, parley.Connected); n != 1 {
		t.Fatalf("the refusals cost alice %d reconnects", n-1)
	}
	if got := parley.PeopleKinds(al.Events()); len(got) != 0 {
		t.Fatalf("refusals made events %v", got)
	}

	// A disabled group accepts no messages, from members nor through REST.
	a.rest(t, "POST", "/chatgroups/"+gid+"/disable", nil)
	if _, err := bob.SendGroupText(ctx, gid, "while disabled"); !parley.IsCode(err, protocol.ErrGroupMuted) {
		t.Fatalf("a member's send to a disabled group: %v", err)
	}
	restSend := map[string]any{"from": "alice", "to": []string{gid}, "type": "txt", "body": map[string]string{"msg": "x"}}
	r := a.rest(t, "POST", "/messages/chatgroups", restSend)
	if failed, _ := r.Body["failed"].(map[string]any); failed[gid] != "group "+gid+" is disabled" {
		t.Fatalf("a REST send to a disabled group: %s", r.Raw)
	}
	a.rest(t, "POST", "/chatgroups/"+gid+"/enable", nil)
	if _, err := bob.SendGroupText(ctx, gid, "enabled again"); err != nil {
		t.Fatalf("a send after enabling: %v", err)
	}
}

// A group call whose reply is lost is repeated when repeating it is
// harmless, and fails with ErrConnectionLost otherwise (it happened all
// the same).
func testGroupRetries(t *testing.T, s *servertest.Server) {
	a := newApp(t, s, tenant.Settings{}, "alice", "bob")
	alice, _ := a.dial(t, "alice", "a1")
	bob, _ := a.dial(t, "bob", "b1")
	ctx := ctxT(t)
	g, err := alice.CreateGroup(ctx, protocol.GroupSettings{}, "bob")
	if err != nil {
		t.Fatal(err)
	}
	drop := func(c *parley.Client, op string) {
		dropped := false
		parley.SetDropReply(c, func(req *protocol.Request) bool {
			if req.T == protocol.FrameGroup && req.Op == op && !dropped {
				dropped = true
				return true
			}
			return false
		})
	}
	drop(alice, protocol.GroupOpAnnounce)
	if err := alice.SetGroupAnnouncement(ctx, g.ID, "repeated"); err != nil {
		t.Fatalf("an announcement whose reply was lost: %v", err)
	}
	drop(bob, protocol.GroupOpQuit)
	if err := bob.QuitGroup(ctx, g.ID); !errors.Is(err, parley.ErrConnectionLost) {
		t.Fatalf("a quit whose reply was lost: %v", err)
	}
	info, err := alice.GroupInfo(ctx, g.ID)
	if err != nil || info.Announcement != "repeated" || info.Count != 1 {
		t.Fatalf("info: %+v, %v", info, err)
	}
}
