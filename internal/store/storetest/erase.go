package storetest

import (
	"errors"
	"testing"

	"github.com/parleyim/parley/internal/store"
)

// testUsersErase: an erased user's messages are tombstones in gap-free
// streams, the other party's are intact, what the database held about them
// is gone (and nothing of anyone else), their files are returned for
// their bytes, and their username registers as a new user.
func testUsersErase(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	other := mkApp(t, s, "acme", "other")
	users := map[string]*store.User{}
	for _, n := range []string{"alice", "bob", "carol"} {
		u := mkUser(a.ID, n)
		if err := s.Users().Create(ctx, u); err != nil {
			t.Fatal(err)
		}
		users[n] = u
	}
	alice, bob, carol := users["alice"].ID, users["bob"].ID, users["carol"].ID
	namesake := mkUser(other.ID, "alice") // same name in another app
	namesake.UUID = "namesake"
	if err := s.Users().Create(ctx, namesake); err != nil {
		t.Fatal(err)
	}

	// Files: one alice uploaded (sent, and shared nowhere else), one bob
	// uploaded that alice forwarded, one of bob's only bob sent.
	file := func(uuid string, owner int64) *store.File {
		f := &store.File{AppID: a.ID, UUID: uuid, Owner: owner, ContentType: "text/plain", Size: 1, Created: 100}
		if err := s.Files().Create(ctx, f); err != nil {
			t.Fatal(err)
		}
		return f
	}
	own, theirs, kept := file("alice-file", alice), file("bob-file", bob), file("bob-kept", bob)

	m1 := msgOp(a.ID, alice, bob, "a1")
	m1.Files = []int64{own.ID}
	m2 := msgOp(a.ID, bob, alice, "b1")
	m2.Files = []int64{kept.ID}
	m3 := msgOp(a.ID, alice, bob, "a2")
	m3.Files = []int64{theirs.ID}
	m4 := msgOp(a.ID, carol, bob, "c1") // a conversation without alice
	// Queued work: a push and a callback of alice's message, a push of
	// bob's (kept).
	m1.Push = &store.PushJob{AppID: a.ID, Kind: "msg", NextAt: 1, Created: 1}
	m1.Callback = &store.CallbackJob{AppID: a.ID, Event: "chat", NextAt: 1, Created: 1}
	m2.Push = &store.PushJob{AppID: a.ID, Kind: "msg", NextAt: 1, Created: 1}
	appendOK(t, s, m1, m2, m3, m4)
	edit := &store.EditOp{AppID: a.ID, TargetID: m3.Item.ID, EditID: nextID.Add(1), Body: []byte(`{"msg":"edited"}`), Created: 5}
	if err := s.Messages().Edit(ctx, edit); err != nil {
		t.Fatal(err)
	}

	// The social graph in both directions, profile, push, moderation.
	if _, err := s.Social().AddContact(ctx, a.ID, alice, bob, 1, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Social().AddContact(ctx, a.ID, bob, carol, 1, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Social().Block(ctx, a.ID, carol, []int64{alice}, 1, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Social().SetAttrs(ctx, a.ID, alice, map[string]string{"city": "Oslo"}, 10, 1,
		[]store.Event{{ID: nextID.Add(1), AppID: a.ID, UserID: alice, Payload: []byte(`{}`), Created: 1}}); err != nil {
		t.Fatal(err)
	}
	if err := s.Social().SetAttrs(ctx, a.ID, bob, map[string]string{"city": "Rome"}, 10, 1, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Push().PutBinding(ctx, &store.Binding{UserID: alice, AppID: a.ID, DeviceID: "d1", Notifier: "n", Token: "tok", Updated: 1}); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		s.Push().PutSetting(ctx, &store.PushSetting{UserID: alice, Scope: "app", AppID: a.ID, Mode: "NONE", Updated: 1}),
		s.Push().PutPrefs(ctx, &store.PushPrefs{UserID: alice, AppID: a.ID, Language: "no", Updated: 1}),
		s.Social().PutRequest(ctx, store.ContactRequest{AppID: a.ID, From: carol, To: alice, Reason: "hi", Created: 1}, nil),
		s.Social().PutRequest(ctx, store.ContactRequest{AppID: a.ID, From: carol, To: bob, Reason: "hi", Created: 1}, nil),
		s.Social().Subscribe(ctx, a.ID, bob, []int64{alice, carol}, 1<<50),
		s.Social().SetMute(ctx, store.Mute{UserID: alice, AppID: a.ID, ChatUntil: 1 << 50, Updated: 1}),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []store.ModerationRecord{{From: "alice", Content: "secret"}, {From: "bob", Reporter: "alice"}, {From: "bob", Content: "kept"}} {
		r.ID, r.AppID, r.Kind, r.Created = nextID.Add(1), a.ID, store.RecordReport, 1
		if err := s.Moderation().AddRecord(ctx, &r); err != nil {
			t.Fatal(err)
		}
	}

	er, err := s.Users().Erase(ctx, a.ID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if er.User.ID != alice || er.Messages != 3 || len(er.Files) != 1 || er.Files[0].UUID != "alice-file" ||
		len(er.Released) != 1 || er.Released[0] != theirs.ID {
		t.Fatalf("erasure: %+v", er)
	}
	_, err = s.Users().Get(ctx, a.ID, "alice")
	mustNotFound(t, err)
	if _, err := s.Users().Get(ctx, other.ID, "alice"); err != nil {
		t.Fatalf("the other app's alice: %v", err)
	}
	_, err = s.Users().Erase(ctx, a.ID, "alice")
	mustNotFound(t, err)

	// The stream: gap-free, alice's items are tombstones, bob's intact.
	items, err := s.Messages().Items(ctx, m1.Item.ConvID, 0, 10)
	if err != nil || len(items) != 4 {
		t.Fatalf("items: %v %+v", err, items)
	}
	for i, it := range items {
		if it.Seq != int64(i+1) {
			t.Fatalf("seq %d at %d", it.Seq, i)
		}
		if it.From == alice && (!it.Recalled || len(it.Body) != 0 || len(it.Ext) != 0 || it.ClientMsgID != "") {
			t.Fatalf("alice's item not a tombstone: %+v", it)
		}
		if it.Kind == store.ItemEdit && len(it.Body) != 0 {
			t.Fatalf("alice's edit keeps its body: %+v", it)
		}
		if it.From == bob && (it.Recalled || string(it.Body) != string(m2.Item.Body)) {
			t.Fatalf("bob's item changed: %+v", it)
		}
	}
	if got, err := s.Messages().Item(ctx, a.ID, m4.Item.ID); err != nil || string(got.Body) != string(m4.Item.Body) {
		t.Fatalf("carol's message: %v %+v", err, got)
	}

	// Files: alice's is gone from the database; bob's forwarded one is
	// unreferenced now; bob's own message still holds its file.
	_, err = s.Files().Get(ctx, a.ID, "alice-file")
	mustNotFound(t, err)
	if _, err := s.Files().DeleteUnreferenced(ctx, theirs.ID); err != nil {
		t.Fatalf("released file: %v", err)
	}
	if _, err := s.Files().DeleteUnreferenced(ctx, kept.ID); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("bob's referenced file: %v", err)
	}

	// The rest.
	if ok, _ := s.Social().IsContact(ctx, bob, alice); ok {
		t.Fatal("bob still lists alice")
	}
	if ok, _ := s.Social().IsContact(ctx, bob, carol); !ok {
		t.Fatal("bob lost carol")
	}
	if ok, _ := s.Social().IsBlocked(ctx, carol, alice); ok {
		t.Fatal("carol still blocks alice")
	}
	profiles, err := s.Social().Profiles(ctx, []int64{alice, bob})
	if err != nil || profiles[alice] != nil || profiles[bob] == nil {
		t.Fatalf("profiles: %v %+v", err, profiles)
	}
	if evs, _ := s.Social().Events(ctx, alice, 0, 10); len(evs) != 0 {
		t.Fatalf("events: %+v", evs)
	}
	if b, _ := s.Push().Bindings(ctx, alice); len(b) != 0 {
		t.Fatalf("bindings: %+v", b)
	}
	recs, err := s.Moderation().Records(ctx, a.ID, store.RecordReport, 0, 10)
	if err != nil || len(recs) != 1 || recs[0].Content != "kept" {
		t.Fatalf("moderation records: %v %+v", err, recs)
	}

	if set, err := s.Push().Settings(ctx, alice); err != nil || len(set) != 0 {
		t.Fatalf("push settings: %v %+v", err, set)
	}
	if prefs, err := s.Push().Prefs(ctx, alice); err == nil && prefs != nil && prefs.Language != "" {
		t.Fatalf("push prefs: %+v", prefs)
	}
	if reqs, err := s.Social().Requests(ctx, alice); err != nil || len(reqs) != 0 {
		t.Fatalf("requests to alice: %v %+v", err, reqs)
	}
	if reqs, err := s.Social().Requests(ctx, bob); err != nil || len(reqs) != 1 {
		t.Fatalf("carol's request to bob: %v %+v", err, reqs)
	}
	if subs, _, err := s.Social().Subscriptions(ctx, bob, 0, 0, 10); err != nil || len(subs) != 1 || subs[0].Target != carol {
		t.Fatalf("bob's subscriptions: %v %+v", err, subs)
	}
	if m, err := s.Social().Mute(ctx, alice); err == nil && m != nil && m.ChatUntil != 0 {
		t.Fatalf("alice's mute: %+v", m)
	}
	jobs, err := s.Push().Claim(ctx, 1, 2, 100, 10)
	if err != nil || len(jobs) != 1 || jobs[0].ItemID != m2.Item.ID {
		t.Fatalf("push jobs left: %v %+v", err, jobs)
	}
	if cb, err := s.Callbacks().Claim(ctx, 1, 2, 100, 10); err != nil || len(cb) != 0 {
		t.Fatalf("callback jobs left: %v %+v", err, cb)
	}

	// The username registers again, as a new user.
	again := mkUser(a.ID, "alice")
	again.UUID = "alice-again"
	if err := s.Users().Create(ctx, again); err != nil || again.ID == alice {
		t.Fatalf("re-register: %v, id %d (was %d)", err, again.ID, alice)
	}
}
