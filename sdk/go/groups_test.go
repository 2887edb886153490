package parley

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/parleyim/parley/protocol"
)

// failsLocally fails the test unless call fails (with want, unless nil)
// without sending a frame to f.
func failsLocally(t *testing.T, f *fakeServer, call func() error, want error) {
	t.Helper()
	f.mu.Lock()
	before := len(f.frames)
	f.mu.Unlock()
	err := call()
	if err == nil || want != nil && !errors.Is(err, want) {
		t.Fatalf("got %v, want %v", err, want)
	}
	f.mu.Lock()
	after := len(f.frames)
	f.mu.Unlock()
	if after != before {
		t.Fatalf("%d frames were sent", after-before)
	}
}

// Group calls the server would refuse as malformed, or that name too many
// users, fail without sending anything.
func TestClient_GroupLocalChecks(t *testing.T) {
	f := newFakeServer(t)
	alice, _ := dialT(t, f.config("alice"), nil)
	many := make([]string, MaxGroupUsersPerCall+1)
	for i := range many {
		many[i] = fmt.Sprint("u", i)
	}
	ctx := context.Background()
	one := []string{"bob"}
	tests := []struct {
		name string
		call func() error
		want error // nil: any error
	}{
		{"create with 61", func() error { _, err := alice.CreateGroup(ctx, protocol.GroupSettings{}, many...); return err },
			ErrTooManyGroupUsers},
		{"create with an empty name", func() error { _, err := alice.CreateGroup(ctx, protocol.GroupSettings{}, "bob", ""); return err }, nil},
		{"info of no group", func() error { _, err := alice.GroupInfo(ctx, ""); return err }, nil},
		{"update no group", func() error { return alice.UpdateGroup(ctx, "", protocol.GroupSettings{Name: new("x")}) }, nil},
		{"dissolve no group", func() error { return alice.DissolveGroup(ctx, "") }, nil},
		{"transfer to nobody", func() error { return alice.TransferGroup(ctx, "1", "") }, nil},
		{"transfer no group", func() error { return alice.TransferGroup(ctx, "", "bob") }, nil},
		{"apply to no group", func() error { _, err := alice.ApplyToGroup(ctx, "", "hi"); return err }, nil},
		{"answer nobody's application", func() error { return alice.AnswerApplication(ctx, "1", "", true, "") }, nil},
		{"invite 61", func() error { _, err := alice.InviteToGroup(ctx, "1", many, ""); return err }, ErrTooManyGroupUsers},
		{"invite nobody", func() error { _, err := alice.InviteToGroup(ctx, "1", nil, ""); return err }, nil},
		{"invite to no group", func() error { _, err := alice.InviteToGroup(ctx, "", one, ""); return err }, nil},
		{"answer an invitation to no group", func() error { return alice.AnswerInvitation(ctx, "", true, "") }, nil},
		{"quit no group", func() error { return alice.QuitGroup(ctx, "") }, nil},
		{"kick 61", func() error { return alice.KickFromGroup(ctx, "1", many...) }, ErrTooManyGroupUsers},
		{"kick nobody", func() error { return alice.KickFromGroup(ctx, "1") }, nil},
		{"admins 61", func() error { return alice.SetGroupAdmins(ctx, "1", many, true) }, ErrTooManyGroupUsers},
		{"mute 61", func() error { return alice.MuteGroupMembers(ctx, "1", many, time.Minute) }, ErrTooManyGroupUsers},
		{"mute for a negative time", func() error { return alice.MuteGroupMembers(ctx, "1", one, -time.Second) }, nil},
		{"mute all in no group", func() error { return alice.MuteGroup(ctx, "", true) }, nil},
		{"announce in no group", func() error { return alice.SetGroupAnnouncement(ctx, "", "x") }, nil},
		{"shield no group", func() error { return alice.ShieldGroup(ctx, "", true) }, nil},
		{"block 61", func() error { return alice.SetGroupBlocked(ctx, "1", many, true) }, ErrTooManyGroupUsers},
		{"allow 61", func() error { return alice.SetGroupAllowed(ctx, "1", many, true) }, ErrTooManyGroupUsers},
		{"allow nobody", func() error { return alice.SetGroupAllowed(ctx, "1", nil, true) }, nil},
		{"members of no group", func() error { _, _, err := alice.GroupMembers(ctx, "", 0, ""); return err }, nil},
		{"readers of no message", func() error { _, _, _, err := alice.GroupReaders(ctx, "", 0, ""); return err }, nil},
		{"group ack in a 1:1 chat", func() error {
			_, err := alice.Send(ctx, OutgoingMessage{To: "bob", Body: TextBody{Msg: "x"}, NeedGroupAck: true})
			return err
		}, nil},
		{"mentions in a 1:1 chat", func() error {
			_, err := alice.Send(ctx, OutgoingMessage{To: "bob", Body: TextBody{Msg: "x"}, Mentions: one})
			return err
		}, nil},
		{"directed 1:1 message", func() error {
			_, err := alice.Send(ctx, OutgoingMessage{To: "bob", Body: TextBody{Msg: "x"}, DirectedTo: one})
			return err
		}, nil},
		{"directed to 21", func() error {
			_, err := alice.Send(ctx, OutgoingMessage{To: "1", ChatType: protocol.ChatTypeGroup, Body: TextBody{Msg: "x"},
				DirectedTo: many[:MaxDirected+1]})
			return err
		}, nil},
		{"mentions with an ext that is not an object", func() error {
			_, err := alice.Send(ctx, OutgoingMessage{To: "1", ChatType: protocol.ChatTypeGroup, Body: TextBody{Msg: "x"},
				Ext: []string{"x"}, MentionAll: true})
			return err
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { failsLocally(t, f, tt.call, tt.want) })
	}
}

// Group sends: the frame carries chat_type, need_group_ack and the
// mentions merged into ext; the sender's own item says the same.
func TestOutgoingMessage_Group(t *testing.T) {
	tests := []struct {
		name    string
		m       OutgoingMessage
		wantExt string // "" for none
		wantAck bool
	}{
		{"plain", OutgoingMessage{}, "", false},
		{"group ack", OutgoingMessage{NeedGroupAck: true, Ext: map[string]int{"k": 1}}, `{"k":1}`, true},
		{"group ack with an empty ext", OutgoingMessage{NeedGroupAck: true, Ext: map[string]any{}}, "", true},
		{"empty ext without group ack", OutgoingMessage{Ext: json.RawMessage(`{}`)}, `{}`, false},
		{"mentions", OutgoingMessage{Mentions: []string{"bob", "carol"}}, `{"em_at_list":["bob","carol"]}`, false},
		{"mention all, keeping ext", OutgoingMessage{MentionAll: true, Mentions: []string{"bob"},
			Ext: json.RawMessage(`{"em_at_list":["x"],"k":"v"}`)}, `{"em_at_list":"all","k":"v"}`, false},
		{"mentions with a null ext", OutgoingMessage{Mentions: []string{"bob"}, Ext: json.RawMessage(`null`)},
			`{"em_at_list":["bob"]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.m
			m.To, m.ChatType, m.Body = "77", protocol.ChatTypeGroup, TextBody{Msg: "hi"}
			req, err := m.request()
			if err != nil {
				t.Fatal(err)
			}
			if req.ChatType != protocol.ChatTypeGroup || req.To != "77" || req.NeedGroupAck != tt.wantAck || string(req.Ext) != tt.wantExt {
				t.Fatalf("request %+v, ext %s", req, req.Ext)
			}
			o := &outgoing{req: req}
			it := o.item(&protocol.Ack{MsgID: "5", ConvID: "9", Seq: 3}, "alice")
			if it.ChatType != protocol.ChatTypeGroup || it.To != "77" || it.NeedGroupAck != tt.wantAck ||
				(MessageEvent{Item: it}).Group() != "77" {
				t.Fatalf("own item %+v", it)
			}
		})
	}
	if g := (MessageEvent{Item: &protocol.Item{ChatType: protocol.ChatTypeChat, To: "bob"}}).Group(); g != "" {
		t.Fatalf("a 1:1 message's group: %q", g)
	}
}
