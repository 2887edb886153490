package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/parleyim/parley/internal/store"
)

func mkAdmin(t *testing.T, s store.Store, name, role string, apps ...int64) *store.Admin {
	t.Helper()
	a := &store.Admin{Username: name, PasswordHash: "h-" + name, Role: role, Apps: apps, Created: 10, Modified: 10}
	if err := s.Admins().Create(ctx, a); err != nil {
		t.Fatalf("create admin %s: %v", name, err)
	}
	return a
}

func testAdminsUpdateDelete(t *testing.T, s store.Store) {
	one := mkApp(t, s, "acme", "one")
	two := mkApp(t, s, "acme", "two")
	owner := mkAdmin(t, s, "owner", store.AdminOwner)
	ed := mkAdmin(t, s, "ed", "app_admin", two.ID, one.ID)
	got, err := s.Admins().Get(ctx, "ed")
	if err != nil || fmt.Sprint(got.Apps) != fmt.Sprint([]int64{one.ID, two.ID}) || got.Role != "app_admin" {
		t.Fatalf("get with apps: %v %+v", err, got)
	}
	if got, _ := s.Admins().Get(ctx, "owner"); len(got.Apps) != 0 {
		t.Fatalf("owner has apps: %+v", got)
	}
	mkAdmin(t, s, "vi", "viewer")
	list, err := s.Admins().List(ctx)
	if err != nil || len(list) != 3 || list[0].Username != "ed" || list[1].Username != "owner" || list[2].Username != "vi" ||
		len(list[0].Apps) != 2 || len(list[2].Apps) != 0 {
		t.Fatalf("list: %v %+v", err, list)
	}

	ed.Role, ed.PasswordHash, ed.Apps, ed.Modified = "viewer", "h2", []int64{two.ID}, 20
	if err := s.Admins().Update(ctx, ed); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Admins().Get(ctx, "ed")
	if got.Role != "viewer" || got.PasswordHash != "h2" || fmt.Sprint(got.Apps) != fmt.Sprint([]int64{two.ID}) || got.Modified != 20 || got.Created != 10 {
		t.Fatalf("after update: %+v", got)
	}
	ed.Apps = nil
	if err := s.Admins().Update(ctx, ed); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Admins().Get(ctx, "ed"); len(got.Apps) != 0 {
		t.Fatalf("apps not cleared: %+v", got)
	}
	mustNotFound(t, s.Admins().Update(ctx, &store.Admin{ID: 9999, Role: "viewer"}))

	// Deleting an account ends its sessions and tokens.
	if err := s.Admins().CreateSession(ctx, &store.AdminSession{Hash: []byte("s-ed"), AdminID: ed.ID, Created: 1, Expires: 100}); err != nil {
		t.Fatal(err)
	}
	if err := s.Admins().CreateToken(ctx, []byte("t-ed"), ed.ID, 100, 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Admins().Delete(ctx, ed.ID); err != nil {
		t.Fatal(err)
	}
	_, err = s.Admins().Get(ctx, "ed")
	mustNotFound(t, err)
	_, _, err = s.Admins().GetSession(ctx, []byte("s-ed"), 1)
	mustNotFound(t, err)
	_, err = s.Admins().GetToken(ctx, []byte("t-ed"), 1)
	mustNotFound(t, err)
	mustNotFound(t, s.Admins().Delete(ctx, ed.ID))
	// The name is free again.
	mkAdmin(t, s, "ed", "viewer")
	if n, _ := s.Admins().Count(ctx); n != 3 {
		t.Fatalf("count %d", n)
	}
	_ = owner
}

func testAdminsLastOwner(t *testing.T, s store.Store) {
	a := mkAdmin(t, s, "a", store.AdminOwner)
	v := mkAdmin(t, s, "v", "viewer")
	if err := s.Admins().Delete(ctx, a.ID); !errors.Is(err, store.ErrLastOwner) {
		t.Fatalf("delete last owner: %v", err)
	}
	a.Role = "viewer"
	if err := s.Admins().Update(ctx, a); !errors.Is(err, store.ErrLastOwner) {
		t.Fatalf("demote last owner: %v", err)
	}
	if got, _ := s.Admins().Get(ctx, "a"); got.Role != store.AdminOwner {
		t.Fatalf("changed anyway: %+v", got)
	}
	if err := s.Admins().Delete(ctx, v.ID); err != nil {
		t.Fatal(err)
	}
	// With a second owner either may go, but not both, even at once.
	b := mkAdmin(t, s, "b", store.AdminOwner)
	for round := range 5 {
		c := mkAdmin(t, s, fmt.Sprintf("c%d", round), store.AdminOwner)
		var wg sync.WaitGroup
		errs := make([]error, 3)
		for i, fn := range []func() error{
			func() error { return s.Admins().Delete(ctx, b.ID) },
			func() error { return s.Admins().Delete(ctx, c.ID) },
			func() error {
				d := *a
				d.Role = "viewer"
				return s.Admins().Update(ctx, &d)
			},
		} {
			wg.Add(1)
			go func() { defer wg.Done(); errs[i] = fn() }()
		}
		wg.Wait()
		list, err := s.Admins().List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		owners := 0
		for _, x := range list {
			if x.Role == store.AdminOwner {
				owners++
			}
		}
		if owners != 1 {
			t.Fatalf("round %d: %d owners left (%v)", round, owners, errs)
		}
		// Reset: one owner left, whoever it is; make the next round's.
		for _, x := range list {
			if x.Role == store.AdminOwner {
				cp := x
				a = &cp
			}
		}
		b = mkAdmin(t, s, fmt.Sprintf("b%d", round), store.AdminOwner)
	}
}

func testAdminSessions(t *testing.T, s store.Store) {
	a := mkAdmin(t, s, "a", store.AdminOwner)
	b := mkAdmin(t, s, "b", "viewer")
	as := s.Admins()
	for _, ss := range []*store.AdminSession{
		{Hash: []byte("a1"), AdminID: a.ID, Created: 1, Expires: 100},
		{Hash: []byte("a2"), AdminID: a.ID, Created: 2, Expires: 200},
		{Hash: []byte("a3"), AdminID: a.ID, Created: 3, Expires: 300},
		{Hash: []byte("b1"), AdminID: b.ID, Created: 4, Expires: 400},
	} {
		if err := as.CreateSession(ctx, ss); err != nil {
			t.Fatal(err)
		}
	}
	if err := as.CreateSession(ctx, &store.AdminSession{Hash: []byte("a1"), AdminID: b.ID, Expires: 1}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate hash: %v", err)
	}
	ss, got, err := as.GetSession(ctx, []byte("a1"), 99)
	if err != nil || got.Username != "a" || ss.AdminID != a.ID || ss.Created != 1 || ss.Expires != 100 || string(ss.Hash) != "a1" {
		t.Fatalf("get: %v %+v %+v", err, ss, got)
	}
	_, _, err = as.GetSession(ctx, []byte("a1"), 100) // expired
	mustNotFound(t, err)
	_, _, err = as.GetSession(ctx, []byte("zz"), 0)
	mustNotFound(t, err)
	if err := as.ExtendSession(ctx, []byte("a1"), 150); err != nil {
		t.Fatal(err)
	}
	if _, _, err := as.GetSession(ctx, []byte("a1"), 120); err != nil {
		t.Fatalf("extended: %v", err)
	}
	mustNotFound(t, as.ExtendSession(ctx, []byte("zz"), 1))

	// All but one, then one, then the expired.
	if err := as.DeleteSessions(ctx, a.ID, []byte("a2")); err != nil {
		t.Fatal(err)
	}
	for h, alive := range map[string]bool{"a1": false, "a2": true, "a3": false, "b1": true} {
		_, _, err := as.GetSession(ctx, []byte(h), 0)
		if (err == nil) != alive {
			t.Fatalf("after delete-others, %s: %v", h, err)
		}
	}
	if err := as.DeleteSession(ctx, []byte("a2")); err != nil {
		t.Fatal(err)
	}
	if err := as.DeleteSession(ctx, []byte("a2")); err != nil {
		t.Fatalf("deleting a gone session: %v", err)
	}
	_, _, err = as.GetSession(ctx, []byte("a2"), 0)
	mustNotFound(t, err)
	as.CreateSession(ctx, &store.AdminSession{Hash: []byte("b2"), AdminID: b.ID, Created: 5, Expires: 500})
	if err := as.DeleteExpiredSessions(ctx, 400); err != nil {
		t.Fatal(err)
	}
	if _, _, err := as.GetSession(ctx, []byte("b2"), 0); err != nil {
		t.Fatalf("unexpired session removed: %v", err)
	}
	_, _, err = as.GetSession(ctx, []byte("b1"), 0)
	mustNotFound(t, err)
	if err := as.DeleteSessions(ctx, b.ID, nil); err != nil {
		t.Fatal(err)
	}
	_, _, err = as.GetSession(ctx, []byte("b2"), 0)
	mustNotFound(t, err)
}

func testAudit(t *testing.T, s store.Store) {
	as := s.Admins()
	entries := []store.AuditEntry{
		{TS: 100, Actor: "owner", IP: "10.0.0.1", Action: "session.create", Detail: []byte(`{"ok":true}`)},
		{TS: 200, Actor: "owner", IP: "10.0.0.1", Action: "user.ban", App: "acme/chat", Target: "bob"},
		{TS: 300, Actor: "ed", IP: "10.0.0.2", Action: "user.ban", App: "acme/other", Target: "eve", Detail: []byte(`{"why":"spam ☺"}`)},
		{TS: 400, Actor: "ed", IP: "10.0.0.2", Action: "user.unban", App: "acme/chat", Target: "bob"},
		{TS: 500, Actor: "owner", IP: "", Action: "app.create", App: "acme/new"},
	}
	var last int64
	for i := range entries {
		if err := as.AddAudit(ctx, &entries[i]); err != nil {
			t.Fatal(err)
		}
		if entries[i].ID <= last {
			t.Fatalf("IDs must ascend: %d after %d", entries[i].ID, last)
		}
		last = entries[i].ID
	}
	ids := func(q store.AuditQuery) string {
		t.Helper()
		if q.Limit == 0 {
			q.Limit = 100
		}
		list, err := as.Audit(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		out := ""
		for _, e := range list {
			for i, want := range entries {
				if want.ID == e.ID {
					out += fmt.Sprint(i)
					if e.TS != want.TS || e.Actor != want.Actor || e.IP != want.IP || e.Action != want.Action || e.App != want.App ||
						e.Target != want.Target {
						t.Fatalf("entry %d read back as %+v", i, e)
					}
					wantDetail := string(want.Detail)
					if wantDetail == "" {
						wantDetail = "{}"
					}
					if string(e.Detail) != wantDetail {
						t.Fatalf("entry %d detail %s, want %s", i, e.Detail, wantDetail)
					}
				}
			}
		}
		return out
	}
	for _, tc := range []struct {
		q    store.AuditQuery
		want string
	}{
		{store.AuditQuery{}, "43210"},
		{store.AuditQuery{Actor: "ed"}, "32"},
		{store.AuditQuery{Action: "user.ban"}, "21"},
		{store.AuditQuery{App: "acme/chat"}, "31"},
		{store.AuditQuery{Since: 200, Until: 400}, "21"},
		{store.AuditQuery{Actor: "owner", Since: 150}, "41"},
		{store.AuditQuery{Before: entries[3].ID}, "210"},
		{store.AuditQuery{Limit: 2}, "43"},
		{store.AuditQuery{Before: entries[3].ID, Limit: 2}, "21"},
		{store.AuditQuery{Actor: "nobody"}, ""},
	} {
		if got := ids(tc.q); got != tc.want {
			t.Errorf("%+v: got %q want %q", tc.q, got, tc.want)
		}
	}
	n, err := as.PruneAudit(ctx, 300)
	if err != nil || n != 2 {
		t.Fatalf("prune: %d %v", n, err)
	}
	if got := ids(store.AuditQuery{}); got != "432" {
		t.Fatalf("after prune: %q", got)
	}
}

func testUsersSearch(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	b := mkApp(t, s, "acme", "other")
	for _, n := range []string{"bob", "alice", "al", "alfred", "alice2", "zed", "a%b", "a_c", "abc"} {
		if err := s.Users().Create(ctx, mkUser(a.ID, n)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Users().Create(ctx, mkUser(b.ID, "alan")); err != nil {
		t.Fatal(err)
	}
	names := func(prefix, after string, limit int) string {
		t.Helper()
		list, err := s.Users().Search(ctx, a.ID, prefix, after, limit)
		if err != nil {
			t.Fatal(err)
		}
		out := ""
		for _, u := range list {
			out += u.Username + " "
		}
		return out
	}
	for _, tc := range []struct {
		prefix, after string
		limit         int
		want          string
	}{
		{"al", "", 10, "al alfred alice alice2 "},
		{"al", "", 2, "al alfred "},
		{"al", "alfred", 2, "alice alice2 "},
		{"al", "alice2", 2, ""},
		{"alice", "", 10, "alice alice2 "},
		{"b", "", 10, "bob "},
		{"x", "", 10, ""},
		{"a%", "", 10, "a%b "},   // % is literal
		{"a_", "", 10, "a_c "},   // _ is literal
		{"", "b", 3, "bob zed "}, // everyone, by name
	} {
		if got := names(tc.prefix, tc.after, tc.limit); got != tc.want {
			t.Errorf("Search(%q, after %q, %d) = %q, want %q", tc.prefix, tc.after, tc.limit, got, tc.want)
		}
	}
}

func testGroupsSearch(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	b := mkApp(t, s, "acme", "other")
	var ids []int64
	for _, n := range []string{"Go Lovers", "golang", "Rust", "100% go", "GO_fast"} {
		g := &store.Group{AppID: a.ID, Name: n, MaxUsers: 10, Owner: 1, Created: 1, Updated: 1}
		if err := s.Groups().Create(ctx, g, []store.GroupMember{{UserID: 1, Role: store.RoleOwner, Joined: 1}}, nextID.Add(1)); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, g.ID)
	}
	other := &store.Group{AppID: b.ID, Name: "go elsewhere", MaxUsers: 10, Owner: 1, Created: 1, Updated: 1}
	if err := s.Groups().Create(ctx, other, []store.GroupMember{{UserID: 1, Role: store.RoleOwner, Joined: 1}}, nextID.Add(1)); err != nil {
		t.Fatal(err)
	}
	names := func(q string, before int64, limit int) string {
		t.Helper()
		list, err := s.Groups().Search(ctx, a.ID, q, before, limit)
		if err != nil {
			t.Fatal(err)
		}
		out := ""
		for _, g := range list {
			out += g.Name + "|"
		}
		return out
	}
	for _, tc := range []struct {
		q      string
		before int64
		limit  int
		want   string
	}{
		{"go", 0, 10, "GO_fast|100% go|golang|Go Lovers|"},
		{"GO", 0, 2, "GO_fast|100% go|"},
		{"go", ids[3], 10, "golang|Go Lovers|"},
		{"%", 0, 10, "100% go|"},
		{"o_f", 0, 10, "GO_fast|"},
		{"lang", 0, 10, "golang|"},
		{"java", 0, 10, ""},
	} {
		if got := names(tc.q, tc.before, tc.limit); got != tc.want {
			t.Errorf("Search(%q, before %d, %d) = %q, want %q", tc.q, tc.before, tc.limit, got, tc.want)
		}
	}
}

func testRoomsSearch(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	var ids []int64
	for _, n := range []string{"Live Music", "live news", "Sports"} {
		r := &store.Room{AppID: a.ID, Name: n, MaxUsers: 10, Owner: 1, Created: 1, Updated: 1}
		if err := s.Rooms().Create(ctx, r, []store.RoomMember{{UserID: 1, Role: store.RoleOwner, Joined: 1}}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	for _, tc := range []struct {
		q      string
		before int64
		want   string
	}{
		{"LIVE", 0, "live news|Live Music|"},
		{"live", ids[1], "Live Music|"},
		{"port", 0, "Sports|"},
		{"x", 0, ""},
	} {
		list, err := s.Rooms().Search(ctx, a.ID, tc.q, tc.before, 10)
		if err != nil {
			t.Fatal(err)
		}
		got := ""
		for _, r := range list {
			got += r.Name + "|"
		}
		if got != tc.want {
			t.Errorf("Search(%q, before %d) = %q, want %q", tc.q, tc.before, got, tc.want)
		}
	}
}
