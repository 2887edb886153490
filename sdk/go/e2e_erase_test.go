package parley_test

import (
	"bytes"
	"database/sql"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/groups"
	"github.com/parleyim/parley/internal/rooms"
	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
	parley "github.com/parleyim/parley/sdk/go"
)

// grepData reports which files under dir contain marker (the SQLite
// database with its WAL, and the local file store).
func grepData(t *testing.T, dir string, marker []byte) []string {
	t.Helper()
	var hits []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if b, err := os.ReadFile(p); err == nil && bytes.Contains(b, marker) {
			hits = append(hits, p)
		}
		return nil
	})
	return hits
}

// A full erasure (DELETE /users/{u}?erase=true): the peer's history keeps
// gap-free seqs with the erased user's messages as tombstones, their files
// are gone, the groups and rooms they owned are gone and they left the
// others, their contacts are gone, no copy of their text is left in the
// data directory (SQLite), and the username registers as a new user.
func testErase(t *testing.T, s *servertest.Server) {
	a := newApp(t, s, tenant.Settings{}, "alice", "bob", "carol")
	marker := fmt.Sprintf("erase-marker-%d", time.Now().UnixNano())
	ctx := ctxT(t)
	app, err := s.Apps.Resolve(ctx, a.org, a.name)
	if err != nil {
		t.Fatal(err)
	}
	admin := tenant.AdminOf(app)

	name := func(s string) *string { return &s }
	owned, err := s.Groups.Create(ctx, admin, "alice", []string{"bob"}, groups.Settings{Name: name("alice's")})
	if err != nil {
		t.Fatal(err)
	}
	joined, err := s.Groups.Create(ctx, admin, "bob", []string{"alice"}, groups.Settings{Name: name("bob's")})
	if err != nil {
		t.Fatal(err)
	}
	ownedRoom, err := s.Rooms.Create(ctx, admin, "alice", []string{"bob"}, rooms.Settings{Name: name("alice's room")})
	if err != nil {
		t.Fatal(err)
	}
	joinedRoom, err := s.Rooms.Create(ctx, admin, "bob", []string{"alice"}, rooms.Settings{Name: name("bob's room")})
	if err != nil {
		t.Fatal(err)
	}
	alice, al := a.dial(t, "alice", "a1")
	bob, _ := a.dial(t, "bob", "b1")
	var acks []*protocol.Ack
	for i := range 2 {
		ack, err := alice.SendText(ctx, "bob", fmt.Sprintf("%s text %d", marker, i))
		if err != nil {
			t.Fatal(err)
		}
		acks = append(acks, ack)
	}
	if _, err := bob.SendText(ctx, "alice", "bob keeps this"); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.SendRoomText(ctx, joinedRoom.ID, marker+" in a room"); err != nil {
		t.Fatal(err)
	}
	if _, err := bob.SendRoomText(ctx, joinedRoom.ID, "bob in a room"); err != nil {
		t.Fatal(err)
	}
	f := upload(t, alice, []byte(marker+" file contents"), parley.UploadOptions{Filename: "notes.txt"})
	if _, err := alice.SendFile(ctx, "bob", f); err != nil {
		t.Fatal(err)
	}
	for _, r := range []*servertest.Response{
		s.Do(t, "POST", a.path("/users/alice/contacts/users/bob"), a.token, nil),
		s.Do(t, "PUT", a.path("/users/alice"), a.token, map[string]string{"nickname": marker}),
	} {
		if r.Status != 200 {
			t.Fatalf("setup: %d %s", r.Status, r.Raw)
		}
	}
	sqlite := s.Cfg.DB == ""
	if sqlite {
		// Move the pages into the database file (a checkpoint, as the
		// server does as its WAL grows), so the scan below also proves
		// that the erasure overwrote them there, not only in the WAL.
		db, err := sql.Open("sqlite", "file:"+filepath.Join(s.Cfg.DataDir, "parley.db"))
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
		if hits := grepData(t, s.Cfg.DataDir, []byte(marker)); !slices.Contains(hits, filepath.Join(s.Cfg.DataDir, "parley.db")) {
			t.Fatalf("the marker is not in the database file before the erasure (%v): the scan below would prove nothing", hits)
		}
	}

	// Refusals change nothing.
	bobToken := s.Do(t, "POST", a.path("/token"), "", map[string]string{"grant_type": "password", "username": "bob",
		"password": password}).Str("access_token")
	for _, tc := range []struct {
		name, path, token string
		status            int
	}{
		{"bad flag", "/users/alice?erase=maybe", a.token, 400},
		{"user token", "/users/alice?erase=true", bobToken, 403},
		{"unknown user", "/users/nobody?erase=true", a.token, 404},
	} {
		if r := s.Do(t, "DELETE", a.path(tc.path), tc.token, nil); r.Status != tc.status {
			t.Fatalf("%s: %d %s, want %d", tc.name, r.Status, r.Raw, tc.status)
		}
	}
	if items, _, err := bob.History(ctx, acks[0].ConvID, parley.HistoryQuery{Limit: 10}); err != nil || len(items) != 4 ||
		!strings.Contains(string(items[0].Body), marker) {
		t.Fatalf("history after refusals: %v %+v", err, items)
	}

	r := s.Do(t, "DELETE", a.path("/users/alice?erase=true"), a.token, nil)
	if r.Status != 200 {
		t.Fatalf("erase: %d %s", r.Status, r.Raw)
	}
	data, _ := r.Body["data"].(map[string]any)
	if data["erased"] != true || data["messages"] != 3.0 || data["files"] != 1.0 || data["groups_left"] != 1.0 ||
		data["rooms_left"] != 1.0 || fmt.Sprint(data["groups_dissolved"]) != fmt.Sprintf("[%d]", owned.ID) ||
		fmt.Sprint(data["rooms_deleted"]) != fmt.Sprintf("[%s]", ownedRoom.ID) || r.Entities()[0]["username"] != "alice" {
		t.Fatalf("erase answer: %s", r.Raw)
	}
	waitFinal(t, al, protocol.CloseKicked)

	// Bob's history: the same seqs, alice's messages are tombstones.
	items, _, err := bob.History(ctx, acks[0].ConvID, parley.HistoryQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	checkSeqs(t, "bob", items, []int64{1, 2, 3, 4})
	for _, it := range items {
		switch {
		case it.From == "bob" && (it.Recalled || !strings.Contains(string(it.Body), "bob keeps this")):
			t.Fatalf("bob's message changed: %+v", it)
		case it.From != "bob" && (!it.Recalled || len(it.Body) != 0 || len(it.Ext) != 0):
			t.Fatalf("alice's message is not a tombstone: %+v", it)
		}
	}
	if n, err := bob.Download(ctx, f.URL, io.Discard, parley.DownloadOptions{}); !parley.IsCode(err, protocol.ErrFileNotFound) || n != 0 {
		t.Fatalf("download of alice's file: %d bytes, %v", n, err)
	}
	if _, err := s.Groups.Info(ctx, admin, fmt.Sprint(owned.ID)); err == nil {
		t.Fatal("alice's group survived")
	}
	if ok, err := s.Groups.IsJoined(ctx, admin, fmt.Sprint(joined.ID), "bob"); err != nil || !ok {
		t.Fatalf("bob's group: %v %v", ok, err)
	}
	if _, missing, err := s.Rooms.Details(ctx, admin, []string{ownedRoom.ID}); err != nil || len(missing) != 1 {
		t.Fatalf("alice's room survived: %v", err)
	}
	if found, _, err := s.Rooms.Details(ctx, admin, []string{joinedRoom.ID}); err != nil || len(found) != 1 || found[0].Count != 1 {
		t.Fatalf("bob's room: %v %+v", err, found)
	}
	carol, _ := a.dial(t, "carol", "c1")
	if _, recent, err := carol.JoinRoom(ctx, joinedRoom.ID); err != nil || len(recent) != 1 || recent[0].From != "bob" {
		t.Fatalf("a joiner's recent room messages: %v %+v", err, recent)
	}
	if r := s.Do(t, "GET", a.path("/users/bob/contacts/users"), a.token, nil); strings.Contains(string(r.Raw), "alice") {
		t.Fatalf("bob's contacts: %s", r.Raw)
	}
	if sqlite {
		if hits := grepData(t, s.Cfg.DataDir, []byte(marker)); len(hits) != 0 {
			t.Fatalf("the marker survives the erasure in %v", hits)
		}
	}

	// The name registers again as a new user with nothing of the old one.
	if r := s.Do(t, "POST", a.path("/users"), a.token, map[string]string{"username": "alice", "password": password}); r.Status != 200 {
		t.Fatalf("re-register: %d %s", r.Status, r.Raw)
	}
	again, _ := a.dial(t, "alice", "a2")
	if list, _, err := again.Conversations(ctx, 10, ""); err != nil || len(list) != 0 {
		t.Fatalf("the new alice's conversations: %v %+v", err, list)
	}
	if r := s.Do(t, "GET", a.path("/users/alice/contacts/users"), a.token, nil); strings.Contains(string(r.Raw), "bob") {
		t.Fatalf("the new alice's contacts: %s", r.Raw)
	}
	if ok, err := s.Groups.IsJoined(ctx, admin, fmt.Sprint(joined.ID), "alice"); err != nil || ok {
		t.Fatalf("the new alice in bob's group: %v %v", ok, err)
	}
}
