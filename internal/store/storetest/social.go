package storetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/parleyim/parley/internal/store"
)

func ev(appID, user int64, payload string) store.Event {
	return store.Event{ID: nextID.Add(1), AppID: appID, UserID: user, Payload: []byte(payload), Created: 1000}
}

func eventPayloads(t *testing.T, s store.Store, user int64) []string {
	t.Helper()
	evs, err := s.Social().Events(ctx, user, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range evs {
		out = append(out, string(e.Payload))
	}
	return out
}

func testContacts(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	so := s.Social()
	if err := so.PutRequest(ctx, store.ContactRequest{AppID: a.ID, From: 1, To: 2, Reason: "hi", Created: 10},
		[]store.Event{ev(a.ID, 2, `req`), ev(a.ID, 1, `req-sent`)}); err != nil {
		t.Fatal(err)
	}
	// A repeated request refreshes the reason.
	if err := so.PutRequest(ctx, store.ContactRequest{AppID: a.ID, From: 1, To: 2, Reason: "hello", Created: 11}, nil); err != nil {
		t.Fatal(err)
	}
	so.PutRequest(ctx, store.ContactRequest{AppID: a.ID, From: 3, To: 2, Reason: "", Created: 12}, nil)
	reqs, err := so.Requests(ctx, 2)
	if err != nil || len(reqs) != 2 || reqs[0].From != 1 || reqs[0].Reason != "hello" || reqs[1].From != 3 {
		t.Fatalf("requests: %v %+v", err, reqs)
	}
	added, err := so.AddContact(ctx, a.ID, 2, 1, 20, []store.Event{ev(a.ID, 1, `added`), ev(a.ID, 2, `added`)})
	if err != nil || !added {
		t.Fatalf("add: %v %v", added, err)
	}
	// Adding again changes nothing and records no events.
	if added, err := so.AddContact(ctx, a.ID, 1, 2, 21, []store.Event{ev(a.ID, 1, `again`)}); err != nil || added {
		t.Fatalf("add again: %v %v", added, err)
	}
	if got := fmt.Sprint(eventPayloads(t, s, 1)); got != "[req-sent added]" {
		t.Fatalf("user 1 events: %s", got)
	}
	if reqs, _ := so.Requests(ctx, 2); len(reqs) != 1 || reqs[0].From != 3 {
		t.Fatalf("the accepted request should be gone: %+v", reqs)
	}
	_, err = so.DeleteRequest(ctx, 1, 2, nil)
	mustNotFound(t, err)
	r, err := so.DeleteRequest(ctx, 3, 2, []store.Event{ev(a.ID, 3, `declined`)})
	if err != nil || r.From != 3 || r.To != 2 {
		t.Fatalf("delete request: %v %+v", err, r)
	}
	for _, pair := range [][2]int64{{1, 2}, {2, 1}} {
		if ok, err := so.IsContact(ctx, pair[0], pair[1]); !ok || err != nil {
			t.Fatalf("is contact %v: %v %v", pair, ok, err)
		}
	}
	if ok, _ := so.IsContact(ctx, 1, 3); ok {
		t.Fatal("1 and 3 are not friends")
	}
	if err := so.SetRemark(ctx, 1, 2, "Bobby"); err != nil {
		t.Fatal(err)
	}
	mustNotFound(t, so.SetRemark(ctx, 1, 3, "x"))
	for f := int64(10); f < 15; f++ {
		so.AddContact(ctx, a.ID, 1, f, 30, nil)
	}
	page, err := so.Contacts(ctx, 1, 0, 3)
	if err != nil || len(page) != 3 || page[0].Friend != 2 || page[0].Remark != "Bobby" || page[1].Friend != 10 {
		t.Fatalf("contacts page 1: %v %+v", err, page)
	}
	page, _ = so.Contacts(ctx, 1, page[2].Friend, 10)
	if len(page) != 3 || page[2].Friend != 14 {
		t.Fatalf("contacts page 2: %+v", page)
	}
	if n, _ := so.CountContacts(ctx, 1); n != 6 {
		t.Fatalf("count = %d", n)
	}
	if c, _ := so.Contacts(ctx, 2, 0, 10); len(c) != 1 || c[0].Remark != "" {
		t.Fatalf("remarks are per side: %+v", c)
	}
	if err := so.RemoveContact(ctx, 2, 1, []store.Event{ev(a.ID, 1, `removed`)}); err != nil {
		t.Fatal(err)
	}
	mustNotFound(t, so.RemoveContact(ctx, 2, 1, nil))
	if ok, _ := so.IsContact(ctx, 1, 2); ok {
		t.Fatal("still friends after remove")
	}
}

func testBlocks(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	so := s.Social()
	so.PutRequest(ctx, store.ContactRequest{AppID: a.ID, From: 5, To: 1, Created: 1}, nil)
	if err := so.Block(ctx, a.ID, 1, []int64{7, 5, 6}, 10, []store.Event{ev(a.ID, 1, `blocked`)}); err != nil {
		t.Fatal(err)
	}
	if err := so.Block(ctx, a.ID, 1, []int64{5}, 11, nil); err != nil {
		t.Fatalf("blocking again: %v", err)
	}
	if reqs, _ := so.Requests(ctx, 1); len(reqs) != 0 {
		t.Fatalf("a blocked user's request should be gone: %+v", reqs)
	}
	ids, err := so.Blocked(ctx, 1, 0, 2)
	if err != nil || fmt.Sprint(ids) != "[5 6]" {
		t.Fatalf("blocked: %v %v", err, ids)
	}
	ids, _ = so.Blocked(ctx, 1, 6, 10)
	if fmt.Sprint(ids) != "[7]" {
		t.Fatalf("blocked page 2: %v", ids)
	}
	if ok, _ := so.IsBlocked(ctx, 1, 5); !ok {
		t.Fatal("5 should be blocked")
	}
	if ok, _ := so.IsBlocked(ctx, 5, 1); ok {
		t.Fatal("blocks are one-way")
	}
	if err := so.Unblock(ctx, 1, 5, []store.Event{ev(a.ID, 1, `unblocked`)}); err != nil {
		t.Fatal(err)
	}
	mustNotFound(t, so.Unblock(ctx, 1, 5, nil))
	if n, _ := so.CountBlocked(ctx, 1); n != 2 {
		t.Fatalf("count = %d", n)
	}
	if got := fmt.Sprint(eventPayloads(t, s, 1)); got != "[blocked unblocked]" {
		t.Fatalf("events: %s", got)
	}
}

func testProfilesAndPresence(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	b := mkApp(t, s, "acme", "other")
	so := s.Social()
	if err := so.SetAttrs(ctx, a.ID, 1, map[string]string{"nickname": "Al", "ext": "{}"}, 15, 5, []store.Event{ev(a.ID, 1, `attrs`)}); err != nil {
		t.Fatal(err)
	}
	if err := so.SetStatus(ctx, a.ID, 1, "busy", 6); err != nil {
		t.Fatal(err)
	}
	if err := so.SetStatus(ctx, a.ID, 2, "away", 7); err != nil {
		t.Fatal(err)
	}
	so.SetAttrs(ctx, b.ID, 9, map[string]string{"k": "v"}, 2, 5, nil)
	// Replacing attributes keeps the status.
	if err := so.SetAttrs(ctx, a.ID, 1, map[string]string{"nickname": "Alice"}, 13, 8, nil); err != nil {
		t.Fatal(err)
	}
	ps, err := so.Profiles(ctx, []int64{1, 2, 3})
	if err != nil || len(ps) != 2 || ps[1].Attrs["nickname"] != "Alice" || len(ps[1].Attrs) != 1 || ps[1].Bytes != 13 ||
		ps[1].Status != "busy" || ps[1].StatusUpdated != 6 || ps[2].Status != "away" || len(ps[2].Attrs) != 0 {
		t.Fatalf("profiles: %v %+v %+v", err, ps[1], ps[2])
	}
	if n, err := so.AttrsBytes(ctx, a.ID); err != nil || n != 13 {
		t.Fatalf("app bytes: %d %v", n, err)
	}

	if err := so.Subscribe(ctx, a.ID, 1, []int64{2, 3, 4}, 1000); err != nil {
		t.Fatal(err)
	}
	so.Subscribe(ctx, a.ID, 5, []int64{2}, 500)
	so.Subscribe(ctx, a.ID, 1, []int64{4}, 2000) // renewed
	subs, total, err := so.Subscriptions(ctx, 1, 900, 0, 2)
	if err != nil || total != 3 || len(subs) != 2 || subs[0].Target != 2 {
		t.Fatalf("subscriptions: %v %d %+v", err, total, subs)
	}
	if subs, total, _ := so.Subscriptions(ctx, 1, 1500, 0, 10); total != 1 || subs[0].Target != 4 || subs[0].Expires != 2000 {
		t.Fatalf("after expiry: %d %+v", total, subs)
	}
	if who, _ := so.Subscribers(ctx, 2, 400); fmt.Sprint(who) != "[1 5]" {
		t.Fatalf("subscribers at 400: %v", who)
	}
	if who, _ := so.Subscribers(ctx, 2, 600); fmt.Sprint(who) != "[1]" {
		t.Fatalf("subscribers at 600: %v", who)
	}
	so.Unsubscribe(ctx, 1, []int64{2, 99})
	if who, _ := so.Subscribers(ctx, 2, 0); fmt.Sprint(who) != "[5]" {
		t.Fatalf("after unsubscribe: %v", who)
	}
}

func testMutesAndEvents(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	so := s.Social()
	_, err := so.Mute(ctx, 1)
	mustNotFound(t, err)
	if err := so.SetMute(ctx, store.Mute{UserID: 1, AppID: a.ID, ChatUntil: 100, ChatRoomUntil: 50, Updated: 1}); err != nil {
		t.Fatal(err)
	}
	so.SetMute(ctx, store.Mute{UserID: 2, AppID: a.ID, GroupChatUntil: 30, Updated: 1})
	m, err := so.Mute(ctx, 1)
	if err != nil || m.ChatUntil != 100 || m.ChatRoomUntil != 50 || m.GroupChatUntil != 0 {
		t.Fatalf("mute: %v %+v", err, m)
	}
	if list, _ := so.Mutes(ctx, a.ID, 40, 0, 10); len(list) != 1 || list[0].UserID != 1 {
		t.Fatalf("mutes at 40: %+v", list)
	}
	if list, _ := so.Mutes(ctx, a.ID, 10, 1, 10); len(list) != 1 || list[0].UserID != 2 {
		t.Fatalf("mutes at 10, offset 1: %+v", list)
	}
	so.SetMute(ctx, store.Mute{UserID: 1, AppID: a.ID})
	_, err = so.Mute(ctx, 1)
	mustNotFound(t, err)

	var evs []store.Event
	for i := range 5 {
		e := ev(a.ID, 8, fmt.Sprint("e", i))
		e.Created = int64(i)
		evs = append(evs, e)
	}
	if err := so.AddEvents(ctx, evs); err != nil {
		t.Fatal(err)
	}
	got, err := so.Events(ctx, 8, evs[1].ID, 2)
	if err != nil || len(got) != 2 || string(got[0].Payload) != "e2" || got[1].ID != evs[3].ID {
		t.Fatalf("events: %v %+v", err, got)
	}
	if n, err := so.PruneEvents(ctx, 3); err != nil || n != 3 {
		t.Fatalf("prune: %d %v", n, err)
	}
	if got := eventPayloads(t, s, 8); fmt.Sprint(got) != "[e3 e4]" {
		t.Fatalf("after prune: %v", got)
	}
	if err := so.AddEvents(ctx, []store.Event{{ID: evs[4].ID, AppID: a.ID, UserID: 8, Payload: []byte("dup")}}); !errors.Is(err, store.ErrConflict) && err == nil {
		t.Fatal("an event ID is unique")
	}
}
