// Package storetest is the storage conformance suite. Every backend runs the
// same tests through Run; a backend passes only if it behaves identically.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/parleyim/parley/internal/store"
)

// Opener returns a fresh, empty store; it registers its own cleanup.
type Opener func(t *testing.T) store.Store

// Run runs the whole suite against stores made by open.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Apps_CreateGet", testAppsCreateGet},
		{"Apps_Conflict", testAppsConflict},
		{"Apps_Update", testAppsUpdate},
		{"Users_CreateGet", testUsersCreateGet},
		{"Users_AppIsolation", testUsersAppIsolation},
		{"Users_CreateBatch", testUsersCreateBatch},
		{"Users_List", testUsersList},
		{"Users_Update", testUsersUpdate},
		{"Users_Activation", testUsersActivation},
		{"Users_Delete", testUsersDelete},
		{"Users_Erase", testUsersErase},
		{"Users_Names", testUsersNames},
		{"Users_ConcurrentCreate", testUsersConcurrentCreate},
		{"Admins", testAdmins},
		{"Admins_UpdateDelete", testAdminsUpdateDelete},
		{"Admins_LastOwner", testAdminsLastOwner},
		{"Admins_Sessions", testAdminSessions},
		{"Admins_Audit", testAudit},
		{"Users_Search", testUsersSearch},
		{"Groups_Search", testGroupsSearch},
		{"Rooms_Search", testRoomsSearch},
		{"Files", testFiles},
		{"Social_Contacts", testContacts},
		{"Social_Blocks", testBlocks},
		{"Social_ProfilesAndPresence", testProfilesAndPresence},
		{"Social_MutesAndEvents", testMutesAndEvents},
		{"Groups", testGroups},
		{"Rooms", testRooms},
		{"Push", testPush},
		{"Callbacks", testCallbacks},
		{"Leases", testLeases},
		{"Moderation_Words", testModerationWords},
		{"Moderation_Records", testModerationRecords},
		{"Archive_Span", testArchiveSpan},
	}
	tests = append(tests, messageTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, open(t))
		})
	}
}

var ctx = context.Background()

func mkApp(t *testing.T, s store.Store, org, name string) *store.App {
	t.Helper()
	a := &store.App{UUID: "uuid-" + org + "-" + name, Org: org, Name: name, ClientID: "cid-" + org + "-" + name,
		ClientSecretHash: []byte{1, 2, 3}, TokenKey: []byte{4, 5, 6}, Settings: []byte(`{"x":1}`), Created: 1000, Modified: 1000}
	if err := s.Apps().Create(ctx, a); err != nil {
		t.Fatalf("create app: %v", err)
	}
	if a.ID == 0 {
		t.Fatal("create app: ID not set")
	}
	return a
}

func mkUser(appID int64, name string) *store.User {
	return &store.User{AppID: appID, UUID: fmt.Sprintf("u-%d-%s", appID, name), Username: name, PasswordHash: "h-" + name,
		Activated: true, NotificationDisplayStyle: -1, NoDisturbingStart: -1, NoDisturbingEnd: -1, Created: 2000, Modified: 2000}
}

func mustNotFound(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("want ErrNotFound, got %v", err)
	}
}

func testAppsCreateGet(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	for _, get := range []func() (*store.App, error){
		func() (*store.App, error) { return s.Apps().Get(ctx, a.ID) },
		func() (*store.App, error) { return s.Apps().GetByName(ctx, "acme", "chat") },
		func() (*store.App, error) { return s.Apps().GetByClientID(ctx, a.ClientID) },
	} {
		got, err := get()
		if err != nil {
			t.Fatal(err)
		}
		if got.UUID != a.UUID || string(got.TokenKey) != string(a.TokenKey) || string(got.Settings) != `{"x":1}` ||
			string(got.ClientSecretHash) != string(a.ClientSecretHash) || got.Created != 1000 {
			t.Fatalf("got %+v want %+v", got, a)
		}
	}
	_, err := s.Apps().GetByName(ctx, "acme", "nope")
	mustNotFound(t, err)
	_, err = s.Apps().Get(ctx, a.ID+100)
	mustNotFound(t, err)
	mkApp(t, s, "acme", "chat2")
	list, err := s.Apps().List(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "chat" || list[1].Name != "chat2" {
		t.Fatalf("list: %v %+v", err, list)
	}
}

func testAppsConflict(t *testing.T, s store.Store) {
	mkApp(t, s, "acme", "chat")
	dup := &store.App{UUID: "other", Org: "acme", Name: "chat", ClientID: "other", ClientSecretHash: []byte{1},
		TokenKey: []byte{1}, Settings: []byte(`{}`)}
	if err := s.Apps().Create(ctx, dup); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate org/name: want ErrConflict, got %v", err)
	}
}

func testAppsUpdate(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	if err := s.Apps().SetCredentials(ctx, a.ID, []byte("newhash"), []byte("newkey"), 5000); err != nil {
		t.Fatal(err)
	}
	if err := s.Apps().SetSettings(ctx, a.ID, []byte(`{"open":true}`), 6000); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Apps().Get(ctx, a.ID)
	if string(got.ClientSecretHash) != "newhash" || string(got.TokenKey) != "newkey" ||
		string(got.Settings) != `{"open":true}` || got.Modified != 6000 {
		t.Fatalf("after update: %+v", got)
	}
	mustNotFound(t, s.Apps().SetSettings(ctx, a.ID+99, []byte(`{}`), 1))
	mustNotFound(t, s.Apps().SetCredentials(ctx, a.ID+99, []byte{1}, []byte{1}, 1))
}

func testUsersCreateGet(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	u := mkUser(a.ID, "alice")
	u.Nickname = "Alice ☺"
	if err := s.Users().Create(ctx, u); err != nil {
		t.Fatal(err)
	}
	if u.ID == 0 {
		t.Fatal("ID not set")
	}
	got, err := s.Users().Get(ctx, a.ID, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if *got != *u {
		t.Fatalf("got %+v want %+v", got, u)
	}
	byID, err := s.Users().GetByID(ctx, a.ID, u.ID)
	if err != nil || *byID != *u {
		t.Fatalf("by id: %v %+v", err, byID)
	}
	if err := s.Users().Create(ctx, mkUser(a.ID, "alice")); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate: want ErrConflict, got %v", err)
	}
	_, err = s.Users().Get(ctx, a.ID, "bob")
	mustNotFound(t, err)
}

func testUsersAppIsolation(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "one")
	b := mkApp(t, s, "acme", "two")
	ua := mkUser(a.ID, "alice")
	ub := mkUser(b.ID, "alice")
	ub.UUID = "other-uuid"
	if err := s.Users().Create(ctx, ua); err != nil {
		t.Fatal(err)
	}
	if err := s.Users().Create(ctx, ub); err != nil {
		t.Fatalf("same username in another app must be allowed: %v", err)
	}
	_, err := s.Users().GetByID(ctx, b.ID, ua.ID)
	mustNotFound(t, err)
	n, _ := s.Users().Count(ctx, a.ID)
	if n != 1 {
		t.Fatalf("count = %d", n)
	}
	if _, err := s.Users().Delete(ctx, a.ID, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Users().Get(ctx, b.ID, "alice"); err != nil {
		t.Fatalf("delete leaked across apps: %v", err)
	}
}

func testUsersCreateBatch(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	if err := s.Users().Create(ctx, mkUser(a.ID, "taken")); err != nil {
		t.Fatal(err)
	}
	batch := []*store.User{mkUser(a.ID, "b1"), mkUser(a.ID, "taken"), mkUser(a.ID, "b2"), mkUser(a.ID, "b1")}
	batch[3].UUID = "dup-in-batch"
	errs, err := s.Users().CreateBatch(ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	want := []bool{true, false, true, false}
	for i, ok := range want {
		if ok != (errs[i] == nil) {
			t.Fatalf("item %d: err %v", i, errs[i])
		}
		if !ok && !errors.Is(errs[i], store.ErrConflict) {
			t.Fatalf("item %d: want ErrConflict, got %v", i, errs[i])
		}
		if ok && batch[i].ID == 0 {
			t.Fatalf("item %d: ID not set", i)
		}
	}
	n, _ := s.Users().Count(ctx, a.ID)
	if n != 3 {
		t.Fatalf("count = %d, want 3", n)
	}
	errs, err = s.Users().CreateBatch(ctx, nil)
	if err != nil || len(errs) != 0 {
		t.Fatalf("empty batch: %v %v", errs, err)
	}
}

func testUsersList(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	other := mkApp(t, s, "acme", "other")
	for i := range 25 {
		if err := s.Users().Create(ctx, mkUser(a.ID, fmt.Sprintf("user%02d", i))); err != nil {
			t.Fatal(err)
		}
		o := mkUser(other.ID, fmt.Sprintf("user%02d", i))
		o.UUID += "-o"
		if err := s.Users().Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	var all []string
	after := int64(0)
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("too many pages")
		}
		page, err := s.Users().List(ctx, a.ID, after, 10)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range page {
			all = append(all, u.Username)
			after = u.ID
		}
		if len(page) < 10 {
			break
		}
	}
	if len(all) != 25 || all[0] != "user00" || all[24] != "user24" {
		t.Fatalf("listed %v", all)
	}
}

func testUsersUpdate(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	if err := s.Users().Create(ctx, mkUser(a.ID, "alice")); err != nil {
		t.Fatal(err)
	}
	nick, style, dnd, start := "Ally", 1, true, 22
	u, err := s.Users().Update(ctx, a.ID, "alice", store.UserPatch{Nickname: &nick, NotificationDisplayStyle: &style,
		NoDisturbing: &dnd, NoDisturbingStart: &start}, 3000)
	if err != nil {
		t.Fatal(err)
	}
	if u.Nickname != "Ally" || u.NotificationDisplayStyle != 1 || !u.NoDisturbing || u.NoDisturbingStart != 22 ||
		u.NoDisturbingEnd != -1 || u.Modified != 3000 || u.PasswordHash != "h-alice" {
		t.Fatalf("updated: %+v", u)
	}
	if err := s.Users().SetPassword(ctx, a.ID, "alice", "newhash", 4000); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Users().Get(ctx, a.ID, "alice")
	if got.PasswordHash != "newhash" || got.Nickname != "Ally" || got.Modified != 4000 {
		t.Fatalf("after password: %+v", got)
	}
	_, err = s.Users().Update(ctx, a.ID, "ghost", store.UserPatch{Nickname: &nick}, 1)
	mustNotFound(t, err)
	mustNotFound(t, s.Users().SetPassword(ctx, a.ID, "ghost", "x", 1))
}

func testUsersActivation(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	if err := s.Users().Create(ctx, mkUser(a.ID, "alice")); err != nil {
		t.Fatal(err)
	}
	u, err := s.Users().SetActivated(ctx, a.ID, "alice", false, true, 5000)
	if err != nil || u.Activated || u.TokenEpoch != 1 {
		t.Fatalf("deactivate: %v %+v", err, u)
	}
	u, err = s.Users().SetActivated(ctx, a.ID, "alice", true, false, 6000)
	if err != nil || !u.Activated || u.TokenEpoch != 1 || u.Modified != 6000 {
		t.Fatalf("activate: %v %+v", err, u)
	}
	_, err = s.Users().SetActivated(ctx, a.ID, "ghost", true, false, 1)
	mustNotFound(t, err)
}

func testUsersNames(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	b := mkApp(t, s, "acme", "other")
	var ids []int64
	for i := range 3 {
		u := mkUser(a.ID, fmt.Sprintf("n%d", i))
		if err := s.Users().Create(ctx, u); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	other := mkUser(b.ID, "x")
	other.UUID = "other-x"
	s.Users().Create(ctx, other)
	got, err := s.Users().Names(ctx, a.ID, append(ids, other.ID, 999999))
	if err != nil || len(got) != 3 || got[ids[0]] != "n0" || got[ids[2]] != "n2" {
		t.Fatalf("names: %v %v", err, got)
	}
	if got, _ := s.Users().Names(ctx, a.ID, nil); len(got) != 0 {
		t.Fatalf("no ids: %v", got)
	}
}

func testUsersDelete(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	for i := range 5 {
		if err := s.Users().Create(ctx, mkUser(a.ID, fmt.Sprintf("u%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	u, err := s.Users().Delete(ctx, a.ID, "u2")
	if err != nil || u.Username != "u2" {
		t.Fatalf("delete: %v %+v", err, u)
	}
	_, err = s.Users().Delete(ctx, a.ID, "u2")
	mustNotFound(t, err)
	old, err := s.Users().DeleteOldest(ctx, a.ID, 2)
	if err != nil || len(old) != 2 || old[0].Username != "u0" || old[1].Username != "u1" {
		t.Fatalf("delete oldest: %v %+v", err, old)
	}
	n, _ := s.Users().Count(ctx, a.ID)
	if n != 2 {
		t.Fatalf("count = %d", n)
	}
	// A deleted username can be registered again, as a new user.
	again := mkUser(a.ID, "u0")
	again.UUID = "fresh"
	if err := s.Users().Create(ctx, again); err != nil {
		t.Fatal(err)
	}
	// IDs are never reused, not even the newest one's: a new user must not
	// inherit a deleted user's conversations.
	newest, err := s.Users().Get(ctx, a.ID, "u0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Users().Delete(ctx, a.ID, "u0"); err != nil {
		t.Fatal(err)
	}
	next := mkUser(a.ID, "u0")
	next.UUID = "fresher"
	if err := s.Users().Create(ctx, next); err != nil {
		t.Fatal(err)
	}
	if next.ID <= newest.ID {
		t.Fatalf("new user got ID %d, the deleted newest user had %d", next.ID, newest.ID)
	}
}

func testUsersConcurrentCreate(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	const n = 8
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := mkUser(a.ID, "same")
			u.UUID = fmt.Sprintf("c%d", i)
			errs[i] = s.Users().Create(ctx, u)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, store.ErrConflict):
			t.Fatalf("unexpected error: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d creates succeeded, want exactly 1", ok)
	}
}

func testAdmins(t *testing.T, s store.Store) {
	n, err := s.Admins().Count(ctx)
	if err != nil || n != 0 {
		t.Fatalf("count: %d %v", n, err)
	}
	a := &store.Admin{Username: "owner", PasswordHash: "h", Role: "owner", Created: 1, Modified: 1}
	if err := s.Admins().Create(ctx, a); err != nil || a.ID == 0 {
		t.Fatalf("create: %v", err)
	}
	if err := s.Admins().Create(ctx, &store.Admin{Username: "owner", PasswordHash: "h", Role: "owner"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("dup: %v", err)
	}
	got, err := s.Admins().Get(ctx, "owner")
	if err != nil || got.Role != "owner" {
		t.Fatalf("get: %v %+v", err, got)
	}
	_, err = s.Admins().Get(ctx, "nobody")
	mustNotFound(t, err)

	if err := s.Admins().CreateToken(ctx, []byte("h1"), a.ID, 100, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Admins().CreateToken(ctx, []byte("h2"), a.ID, 200, 1); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Admins().GetToken(ctx, []byte("h1"), 99); err != nil || got.Username != "owner" {
		t.Fatalf("get token: %v %+v", err, got)
	}
	_, err = s.Admins().GetToken(ctx, []byte("h1"), 100) // expired
	mustNotFound(t, err)
	_, err = s.Admins().GetToken(ctx, []byte("nope"), 0)
	mustNotFound(t, err)
	if err := s.Admins().DeleteTokens(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Admins().GetToken(ctx, []byte("h2"), 0)
	mustNotFound(t, err)
}
