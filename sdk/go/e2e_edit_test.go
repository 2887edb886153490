package parley_test

import (
	"testing"

	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
	parley "github.com/parleyim/parley/sdk/go"
)

func editOf(target string, text string) func([]parley.Event) bool {
	return func(evs []parley.Event) bool {
		for _, ev := range evs {
			if e, ok := ev.(parley.EditEvent); ok && e.Item.Target == target {
				b, err := e.Body()
				if tb, ok := b.(parley.TextBody); err == nil && ok && tb.Msg == text {
					return true
				}
			}
		}
		return false
	}
}

// An edit reaches every device of both users, also one that was offline
// (on sync), in order; history shows the new text and the count; the
// rules hold (sender only, txt/custom only, same type, the app's limit,
// not recalled, editing turned off); an admin edits through REST.
func testEdit(t *testing.T, s *servertest.Server) {
	a := newApp(t, s, tenant.Settings{MaxEdits: 2}, "alice", "bob")
	alice, al := a.dial(t, "alice", "a1")
	_, al2 := a.dial(t, "alice", "a2")
	bob, bl := a.dial(t, "bob", "b1")
	// bob's second device goes offline after the message, before the edit.
	state := parley.NewMemoryState()
	cfg := a.config(t, "bob", "b2")
	cfg.State = state
	bob2, bl2 := dial(t, cfg)
	ack, err := alice.SendText(ctxT(t), "bob", "helo")
	if err != nil {
		t.Fatal(err)
	}
	bl.WaitFor(t, "bob gets the message", parley.HasMessages(1))
	bl2.WaitFor(t, "bob's second device gets the message", parley.HasMessages(1))
	bob2.Close()
	if err := alice.Edit(ctxT(t), ack.MsgID, parley.TextBody{Msg: "hello"}, map[string]any{"fixed": true}); err != nil {
		t.Fatal(err)
	}
	for name, l := range map[string]*parley.EventLog{"alice/a1": al, "alice/a2": al2, "bob/b1": bl} {
		l.WaitFor(t, name+" sees the edit", editOf(ack.MsgID, "hello"))
	}
	_, bl3 := dial(t, cfg) // the same device (its state) back online
	bl3.WaitFor(t, "bob's device that was offline gets the edit on sync", editOf(ack.MsgID, "hello"))
	items, _, err := bob.History(ctxT(t), ack.ConvID, parley.HistoryQuery{Limit: 10})
	if err != nil || len(items) != 1 || string(items[0].Body) != `{"msg":"hello"}` || items[0].Edits != 1 ||
		string(items[0].Ext) != `{"fixed":true}` {
		t.Fatalf("history after the edit: %+v %v", items, err)
	}

	refusals := []struct {
		name string
		c    *parley.Client
		id   string
		body parley.Body
		code protocol.ErrorKind
	}{
		{"not the sender", bob, ack.MsgID, parley.TextBody{Msg: "x"}, protocol.ErrEditNotAllowed},
		{"another type", alice, ack.MsgID, parley.CustomBody{CustomEvent: "e"}, protocol.ErrEditNotAllowed},
		{"unknown message", alice, "12345", parley.TextBody{Msg: "x"}, protocol.ErrMessageNotFound},
	}
	for _, tc := range refusals {
		if err := tc.c.Edit(ctxT(t), tc.id, tc.body, nil); !parley.IsCode(err, tc.code) {
			t.Fatalf("%s: %v, want %s", tc.name, err, tc.code.ID)
		}
	}
	img, err := alice.Send(ctxT(t), parley.OutgoingMessage{To: "bob", Body: parley.LocationBody{Lat: 1, Lng: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.Edit(ctxT(t), img.MsgID, parley.TextBody{Msg: "x"}, nil); !parley.IsCode(err, protocol.ErrEditNotAllowed) {
		t.Fatalf("editing a location: %v", err)
	}

	// An admin edits through REST (Easemob's rewrite), the second and last
	// edit the app allows.
	rewrite := map[string]any{"new_msg": map[string]any{"type": "txt", "msg": "hello!"}, "new_ext": map[string]any{"by": "admin"}}
	if r := s.Do(t, "PUT", a.path("/messages/rewrite/"+ack.MsgID), a.token, rewrite); r.Status != 200 || r.Body["data"] != "success" {
		t.Fatalf("rewrite: %d %s", r.Status, r.Raw)
	}
	bl.WaitFor(t, "bob sees the admin's edit", editOf(ack.MsgID, "hello!"))
	if items, _, _ := bob.History(ctxT(t), ack.ConvID, parley.HistoryQuery{Limit: 10}); string(items[0].Ext) != `{"by":"admin","fixed":true}` {
		t.Fatalf("merged ext: %s", items[0].Ext)
	}
	if err := alice.Edit(ctxT(t), ack.MsgID, parley.TextBody{Msg: "again"}, nil); !parley.IsCode(err, protocol.ErrEditLimit) {
		t.Fatalf("third edit with max_edits 2: %v", err)
	}
	if r := s.Do(t, "PUT", a.path("/messages/rewrite/"+ack.MsgID), a.token, map[string]any{"new_msg": map[string]any{"msg": "x"}}); r.Status != 400 {
		t.Fatalf("rewrite without a type: %d %s", r.Status, r.Raw)
	}
	if r := s.Do(t, "PUT", a.path("/messages/rewrite/"+ack.MsgID), "", rewrite); r.Status != 401 {
		t.Fatalf("rewrite without a token: %d", r.Status)
	}
	// A recalled message cannot be edited.
	ack2, _ := alice.SendText(ctxT(t), "bob", "gone")
	if err := alice.Recall(ctxT(t), ack2.MsgID); err != nil {
		t.Fatal(err)
	}
	if err := alice.Edit(ctxT(t), ack2.MsgID, parley.TextBody{Msg: "x"}, nil); !parley.IsCode(err, protocol.ErrEditNotAllowed) {
		t.Fatalf("editing a recalled message: %v", err)
	}

	// Group: members' devices get the edit.
	g, err := alice.CreateGroup(ctxT(t), protocol.GroupSettings{}, "bob")
	if err != nil {
		t.Fatal(err)
	}
	gack, err := alice.SendGroupText(ctxT(t), g.ID, "group typo")
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.Edit(ctxT(t), gack.MsgID, parley.TextBody{Msg: "group text"}, nil); err != nil {
		t.Fatal(err)
	}
	bl.WaitFor(t, "bob sees the group edit", editOf(gack.MsgID, "group text"))

	// An app with editing turned off.
	off := newApp(t, s, tenant.Settings{EditDisabled: true}, "carol", "dave")
	carol, _ := off.dial(t, "carol", "c1")
	cack, _ := carol.SendText(ctxT(t), "dave", "x")
	if err := carol.Edit(ctxT(t), cack.MsgID, parley.TextBody{Msg: "y"}, nil); !parley.IsCode(err, protocol.ErrEditNotAllowed) {
		t.Fatalf("edit with editing off: %v", err)
	}
}
