package parley_test

import (
	"errors"
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

// device is one installation of a user: its config keeps its State, so
// each dial is the same device coming back.
type device struct {
	a    *app
	cfg  parley.Config
	name string
	logs []*parley.EventLog // one per Client, oldest first
}

func (a *app) device(t *testing.T, user, resource string) *device {
	cfg := a.config(t, user, resource)
	cfg.State = parley.NewMemoryState()
	return &device{a: a, cfg: cfg, name: user + "/" + resource}
}

// dial starts a Client of the device and waits for its first sync.
func (d *device) dial(t *testing.T) (*parley.Client, *parley.EventLog) {
	t.Helper()
	c, l := dial(t, d.cfg)
	d.logs = append(d.logs, l)
	l.WaitFor(t, d.name+"'s sync", parley.HasConnState(parley.Resynced, 1))
	return c, l
}

// known makes the device known to the server (it connects once), then
// leaves it offline.
func (d *device) known(t *testing.T) *device {
	c, _ := d.dial(t)
	c.Close()
	return d
}

// people returns the people events the device got, over all its Clients.
func (d *device) people() []*protocol.Event {
	var out []*protocol.Event
	for _, l := range d.logs {
		out = append(out, parley.People(l.Events())...)
	}
	return out
}

// checkPeople fails unless the device got events of exactly these kinds
// (in this order) over all its Clients, each event ID once.
func (d *device) checkPeople(t *testing.T, want ...string) {
	t.Helper()
	got := d.people()
	var kinds []string
	ids := map[string]int{}
	for _, e := range got {
		kinds = append(kinds, e.Kind)
		ids[e.ID]++
		if e.ID == "" || ids[e.ID] > 1 {
			t.Fatalf("%s got event %q %d times: %v", d.name, e.ID, ids[e.ID], kinds)
		}
	}
	if !slices.Equal(kinds, want) {
		t.Fatalf("%s got events %v, want %v", d.name, kinds, want)
	}
}

// goOffline keeps c from reconnecting and drops its connection; the
// returned function lets it reconnect.
func goOffline(t *testing.T, c *parley.Client, l *parley.EventLog) (back func()) {
	t.Helper()
	offline := make(chan struct{})
	parley.SetBeforeDial(c, func() error {
		select {
		case <-offline:
			return nil
		default:
			return errors.New("offline")
		}
	})
	n := countConn(l, parley.Disconnected)
	parley.DropConnection(c)
	l.WaitFor(t, "the disconnect", parley.HasConnState(parley.Disconnected, n+1))
	return func() { close(offline) }
}

func countConn(l *parley.EventLog, s parley.ConnState) int {
	n := 0
	for _, ev := range l.Events() {
		if ce, ok := ev.(parley.ConnectionEvent); ok && ce.State == s {
			n++
		}
	}
	return n
}

// reconnect drops c's connection and waits for the resync after it.
func reconnect(t *testing.T, c *parley.Client, l *parley.EventLog) {
	t.Helper()
	n := countConn(l, parley.Resynced)
	parley.DropConnection(c)
	l.WaitFor(t, "the resync", parley.HasConnState(parley.Resynced, n+1))
}

// A friend request reaches the target's devices that were offline when it
// was made, and the acceptance the requester's; every device gets each
// event exactly once, across reconnects and new Clients with the same
// State. New devices start from their first connection unless they ask for
// the history.
func testFriendRequestOffline(t *testing.T, s *servertest.Server) {
	a := newApp(t, s, tenant.Settings{}, "alice", "bob")
	a1, a2 := a.device(t, "alice", "a1"), a.device(t, "alice", "a2").known(t)
	b1, b2 := a.device(t, "bob", "b1").known(t), a.device(t, "bob", "b2").known(t)

	alice, al := a1.dial(t)
	if err := alice.RequestContact(ctxT(t), "bob", "we met at the conference"); err != nil {
		t.Fatal(err)
	}
	// The requesting device gets its own change too (the server pushes it
	// to the other devices only).
	al.WaitFor(t, "alice's own request", parley.HasPeople(protocol.EventContactRequest, 1))

	// bob's devices come back.
	bob1, bl1 := b1.dial(t)
	bob2, bl2 := b2.dial(t)
	for _, d := range []*device{b1, b2} {
		d.checkPeople(t, protocol.EventContactRequest)
		if e := d.people()[0]; e.From != "alice" || e.To != "bob" || e.Reason != "we met at the conference" {
			t.Fatalf("%s: request %+v", d.name, e)
		}
	}
	reqs, err := bob1.ContactRequests(ctxT(t))
	if err != nil || len(reqs) != 1 || reqs[0].From != "alice" || reqs[0].Reason != "we met at the conference" {
		t.Fatalf("pending requests: %v, %v", reqs, err)
	}

	// alice goes offline; bob accepts.
	alice.Close()
	if err := bob1.AcceptContact(ctxT(t), "alice"); err != nil {
		t.Fatal(err)
	}
	bl1.WaitFor(t, "b1's own acceptance", parley.HasPeople(protocol.EventContactAccepted, 1))
	bl2.WaitFor(t, "the acceptance pushed to b2", parley.HasPeople(protocol.EventContactAccepted, 1))

	// Both of alice's devices learn it when they come back.
	alice1, _ := a1.dial(t)
	alice2, al2 := a2.dial(t)
	a1.checkPeople(t, protocol.EventContactRequest, protocol.EventContactAccepted)
	a2.checkPeople(t, protocol.EventContactRequest, protocol.EventContactAccepted)
	if e := a2.people()[1]; e.From != "alice" || e.To != "bob" {
		t.Fatalf("acceptance %+v", e)
	}
	if list, err := alice1.AllContacts(ctxT(t)); err != nil || len(list) != 1 || list[0].User != "bob" {
		t.Fatalf("alice's contacts: %v, %v", list, err)
	}

	// Coming back again repeats nothing, though within 30 s every events
	// round returns all of these events again: new Clients with the saved
	// State, and Clients that reconnect.
	alice1.Close()
	a1.dial(t)
	bob2.Close()
	b2.dial(t)
	reconnect(t, alice2, al2)
	back := goOffline(t, bob1, bl1)
	back()
	bl1.WaitFor(t, "b1's resync", parley.HasConnState(parley.Resynced, 2))
	for _, d := range []*device{a1, a2, b1, b2} {
		d.checkPeople(t, protocol.EventContactRequest, protocol.EventContactAccepted)
	}

	// New devices: without history they start now; with it they get all
	// that is retained, once.
	fresh := a.device(t, "alice", "a3")
	fresh.dial(t)
	fresh.checkPeople(t)
	hist := a.device(t, "alice", "a4")
	hist.cfg.EventHistory = true
	for range 2 {
		c, _ := hist.dial(t)
		c.Close()
	}
	hist.checkPeople(t, protocol.EventContactRequest, protocol.EventContactAccepted)
}

// Blocks, mutes and friends-only apps refuse a send with a typed error;
// nothing is delivered or stored, and once the gate is lifted the next
// message is the conversation's first.
func testSendGates(t *testing.T, s *servertest.Server) {
	type gate func(t *testing.T, a *app, alice, bob *parley.Client)
	mute := func(secs int) gate {
		return func(t *testing.T, a *app, _, _ *parley.Client) {
			if r := s.Do(t, "POST", a.path("/mutes"), a.token, map[string]any{"username": "alice", "chat": secs}); r.Status != 200 {
				t.Fatalf("mute: %d %s", r.Status, r.Raw)
			}
		}
	}
	tests := []struct {
		name        string
		settings    tenant.Settings
		close, open gate
		code        protocol.ErrorKind
	}{
		{"blocked", tenant.Settings{},
			func(t *testing.T, _ *app, alice, bob *parley.Client) {
				if err := bob.Block(ctxT(t), "alice"); err != nil {
					t.Fatal(err)
				}
				// Friend requests are refused too.
				if err := alice.RequestContact(ctxT(t), "bob", ""); !parley.IsCode(err, protocol.ErrBlocked) {
					t.Fatalf("request to a blocker: %v", err)
				}
			},
			func(t *testing.T, _ *app, _, bob *parley.Client) {
				if err := bob.Unblock(ctxT(t), "alice"); err != nil {
					t.Fatal(err)
				}
			},
			protocol.ErrBlocked},
		{"muted", tenant.Settings{}, mute(60), mute(0), protocol.ErrUserMuted},
		{"friends only", tenant.Settings{FriendsOnly: true},
			func(*testing.T, *app, *parley.Client, *parley.Client) {},
			func(t *testing.T, _ *app, alice, bob *parley.Client) {
				if err := alice.RequestContact(ctxT(t), "bob", ""); err != nil {
					t.Fatal(err)
				}
				if err := bob.AcceptContact(ctxT(t), "alice"); err != nil {
					t.Fatal(err)
				}
			},
			protocol.ErrNotContacts},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newApp(t, s, tt.settings, "alice", "bob")
			alice, al := a.dial(t, "alice", "a1")
			bob, bl := a.dial(t, "bob", "b1")
			tt.close(t, a, alice, bob)
			if _, err := alice.SendText(ctxT(t), "bob", "hello?"); !parley.IsCode(err, tt.code) {
				t.Fatalf("send: %v, want %s", err, tt.code.ID)
			}
			if list, _, err := bob.Conversations(ctxT(t), 10, ""); err != nil || len(list) != 0 {
				t.Fatalf("bob's conversations after a refused send: %d, %v", len(list), err)
			}
			tt.open(t, a, alice, bob)
			ack, err := alice.SendText(ctxT(t), "bob", "hello again")
			if err != nil {
				t.Fatalf("send after lifting the gate: %v", err)
			}
			if ack.Seq != 1 {
				t.Fatalf("the first accepted message has seq %d: the refused one was stored", ack.Seq)
			}
			got := parley.Messages(bl.WaitFor(t, "bob's message", parley.HasMessages(1)))
			if len(got) != 1 || got[0].MsgID != ack.MsgID {
				t.Fatalf("bob got %d messages: %s", len(got), parley.Describe(bl.Events()))
			}
			if n := len(parley.Messages(al.WaitFor(t, "alice's own message", parley.HasMessages(1)))); n != 1 {
				t.Fatalf("alice saw %d messages of her own", n)
			}
		})
	}
}

// Attributes set on one device reach the user's other devices as events
// and anyone can read them; limits are refused without a change.
func testAttributes(t *testing.T, s *servertest.Server) {
	a := newApp(t, s, tenant.Settings{}, "alice", "bob")
	phone, pl := a.dial(t, "alice", "phone")
	laptop, ll := a.dial(t, "alice", "laptop")
	bob, bl := a.dial(t, "bob", "b1")
	ctx := ctxT(t)

	set := map[string]string{"nickname": "Ali", "avatarurl": "https://x/a.png", "team": "blue"}
	got, err := phone.SetAttributes(ctx, set)
	if err != nil || !maps.Equal(got, set) {
		t.Fatalf("SetAttributes = %v, %v", got, err)
	}
	for name, l := range map[string]*parley.EventLog{"laptop": ll, "phone": pl} {
		evs := l.WaitFor(t, name+"'s attributes event", parley.HasPeople(protocol.EventAttrs, 1))
		if e := parley.People(evs)[0]; !maps.Equal(e.Attrs, set) {
			t.Fatalf("%s: attrs event %v", name, e.Attrs)
		}
	}
	// Merging: an empty value removes a key.
	if got, err = phone.SetAttributes(ctx, map[string]string{"team": "", "sign": "hi"}); err != nil ||
		!maps.Equal(got, map[string]string{"nickname": "Ali", "avatarurl": "https://x/a.png", "sign": "hi"}) {
		t.Fatalf("merged attributes = %v, %v", got, err)
	}
	evs := ll.WaitFor(t, "the laptop's second event", parley.HasPeople(protocol.EventAttrs, 2))
	if e := parley.People(evs)[1]; e.Attrs["team"] != "" || e.Attrs["sign"] != "hi" {
		t.Fatalf("second attrs event %v", e.Attrs)
	}

	read, err := bob.Attributes(ctx, []string{"alice", "bob", "nobody"}, "nickname", "team")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{"alice": {"nickname": "Ali"}, "bob": {}}
	if !maps.EqualFunc(read, want, maps.Equal) {
		t.Fatalf("bob reads %v, want %v", read, want)
	}

	if _, err := phone.SetAttributes(ctx, map[string]string{"bio": strings.Repeat("x", 2040)}); !parley.IsCode(err, protocol.ErrAttrsTooLarge) {
		t.Fatalf("over 2 KB: %v", err)
	}
	if read, err := bob.Attributes(ctx, []string{"alice"}); err != nil || read["alice"]["bio"] != "" || read["alice"]["sign"] != "hi" {
		t.Fatalf("after a refused set: %v, %v", read, err)
	}

	if err := phone.DeleteAttributes(ctx); err != nil {
		t.Fatal(err)
	}
	evs = ll.WaitFor(t, "the laptop's delete event", parley.HasPeople(protocol.EventAttrs, 3))
	if e := parley.People(evs)[2]; len(e.Attrs) != 0 {
		t.Fatalf("attrs after delete: %v", e.Attrs)
	}
	if read, err := bob.Attributes(ctx, []string{"alice"}); err != nil || len(read["alice"]) != 0 {
		t.Fatalf("attributes after delete: %v, %v", read, err)
	}
	pl.WaitFor(t, "the phone's own delete event", parley.HasPeople(protocol.EventAttrs, 3))
	// Once each, also after a reconnect whose round returns them again.
	reconnect(t, laptop, ll)
	for name, l := range map[string]*parley.EventLog{"laptop": ll, "phone": pl} {
		if got := parley.PeopleKinds(l.Events()); len(got) != 3 {
			t.Fatalf("%s got %v", name, got)
		}
	}
	if n := len(parley.People(bl.Events())); n != 0 {
		t.Fatalf("bob got %d events of alice's attributes", n)
	}
}

// token gets a user token through REST, so a Dial does not spend time on
// the password hash.
func (a *app) userToken(t *testing.T, user string) string {
	r := a.s.Do(t, "POST", a.path("/token"), "", map[string]string{"grant_type": "password", "username": user, "password": password})
	if r.Status != 200 || r.Str("access_token") == "" {
		t.Fatalf("token: %d %s", r.Status, r.Raw)
	}
	return r.Str("access_token")
}

// A subscriber gets online, status and offline presence events within a
// second each; after unsubscribing, none.
func testPresence(t *testing.T, s *servertest.Server) {
	a := newApp(t, s, tenant.Settings{}, "alice", "bob", "carol")
	alice, al := a.dial(t, "alice", "a1")
	ctx := ctxT(t)
	pr, err := alice.SubscribePresence(ctx, []string{"bob"}, time.Hour)
	if err != nil || len(pr) != 1 || pr[0].User != "bob" || pr[0].Online ||
		pr[0].Expiry < time.Now().Add(59*time.Minute).UnixMilli() {
		t.Fatalf("subscribe: %+v, %v", pr, err)
	}
	within := func(what string, act func(), match func(p *protocol.Presence) bool) {
		t.Helper()
		seen := len(parley.Presences(al.Events()))
		start := time.Now()
		act()
		al.WaitFor(t, what, func(evs []parley.Event) bool {
			return slices.ContainsFunc(parley.Presences(evs)[seen:], match)
		})
		if d := time.Since(start); d > time.Second {
			t.Fatalf("%s took %v", what, d)
		}
	}
	bobCfg := a.config(t, "bob", "b1")
	bobCfg.Token, bobCfg.Password = a.userToken(t, "bob"), ""
	var bob *parley.Client
	within("bob online", func() { bob, _ = dial(t, bobCfg) }, func(p *protocol.Presence) bool {
		return p.User == "bob" && p.Online && slices.Equal(p.Devices, []string{"b1"})
	})
	within("bob's status", func() {
		if err := bob.PublishPresence(ctx, "in a meeting"); err != nil {
			t.Fatal(err)
		}
	}, func(p *protocol.Presence) bool { return p.User == "bob" && p.Online && p.Status == "in a meeting" })
	within("bob offline", func() { bob.Close() }, func(p *protocol.Presence) bool {
		return p.User == "bob" && !p.Online && p.Status == "in a meeting"
	})
	now, err := alice.Presence(ctx, "bob", "nobody")
	if err != nil || len(now) != 1 || now[0].Online || now[0].Status != "in a meeting" || now[0].Updated == 0 {
		t.Fatalf("presence: %+v, %v", now, err)
	}

	if err := alice.UnsubscribePresence(ctx, "bob"); err != nil {
		t.Fatal(err)
	}
	before := len(parley.Presences(al.Events()))
	if _, err := alice.SubscribePresence(ctx, []string{"carol"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	dial(t, bobCfg)
	// The server notifies presence changes in order: once carol's arrives,
	// bob's would have.
	within("carol online", func() { a.dial(t, "carol", "c1") }, func(p *protocol.Presence) bool { return p.User == "carol" && p.Online })
	for _, p := range parley.Presences(al.Events())[before:] {
		if p.User == "bob" {
			t.Fatalf("a presence event of bob after unsubscribing: %+v", p)
		}
	}
	if n := len(parley.People(al.Events())); n != 0 {
		t.Fatalf("presence left %d stored events", n)
	}
}

// Friends, requests and block lists: paging, remarks, every event kind.
func testContactsAndBlocks(t *testing.T, s *servertest.Server) {
	a := newApp(t, s, tenant.Settings{}, "alice", "bob", "carol", "dave", "erin")
	alice, al := a.dial(t, "alice", "a1")
	bob, bl := a.dial(t, "bob", "b1")
	carol, cl := a.dial(t, "carol", "c1")
	dave, _ := a.dial(t, "dave", "d1")
	ctx := ctxT(t)

	// Declined.
	if err := alice.RequestContact(ctx, "bob", "hi"); err != nil {
		t.Fatal(err)
	}
	// Waiting for alice's own events keeps her events in a known order.
	al.WaitFor(t, "alice's request", parley.HasPeople(protocol.EventContactRequest, 1))
	bl.WaitFor(t, "bob's request", parley.HasPeople(protocol.EventContactRequest, 1))
	if err := bob.DeclineContact(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	al.WaitFor(t, "the decline", parley.HasPeople(protocol.EventContactDeclined, 1))
	if reqs, err := bob.ContactRequests(ctx); err != nil || len(reqs) != 0 {
		t.Fatalf("requests after declining: %v, %v", reqs, err)
	}
	// Crossing requests: the second is an acceptance.
	if err := alice.RequestContact(ctx, "dave", ""); err != nil {
		t.Fatal(err)
	}
	al.WaitFor(t, "alice's second request", parley.HasPeople(protocol.EventContactRequest, 2))
	if err := dave.RequestContact(ctx, "alice", ""); err != nil {
		t.Fatal(err)
	}
	al.WaitFor(t, "dave's acceptance", parley.HasPeople(protocol.EventContactAccepted, 1))
	// Added by the app.
	for _, f := range []string{"carol", "erin"} {
		if r := s.Do(t, "POST", a.path("/users/alice/contacts/users/"+f), a.token, nil); r.Status != 200 {
			t.Fatalf("add contact: %d %s", r.Status, r.Raw)
		}
	}
	al.WaitFor(t, "the added friends", parley.HasPeople(protocol.EventContactAdded, 2))
	cl.WaitFor(t, "carol's added event", parley.HasPeople(protocol.EventContactAdded, 1))

	if err := alice.SetContactRemark(ctx, "carol", "Caz"); err != nil {
		t.Fatal(err)
	}
	page, next, err := alice.Contacts(ctx, 2, "")
	if err != nil || len(page) != 2 || next == "" {
		t.Fatalf("first page: %d, %q, %v", len(page), next, err)
	}
	rest, next2, err := alice.Contacts(ctx, 2, next)
	if err != nil || len(rest) != 1 || next2 != "" {
		t.Fatalf("second page: %d, %q, %v", len(rest), next2, err)
	}
	friends := map[string]string{}
	for _, c := range append(page, rest...) {
		friends[c.User] = c.Remark
		if c.Since == 0 {
			t.Fatalf("contact %+v without since", c)
		}
	}
	if !maps.Equal(friends, map[string]string{"carol": "Caz", "dave": "", "erin": ""}) {
		t.Fatalf("friends %v", friends)
	}
	if all, err := alice.AllContacts(ctx); err != nil || len(all) != 3 {
		t.Fatalf("AllContacts: %d, %v", len(all), err)
	}

	if err := carol.RemoveContact(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	evs := al.WaitFor(t, "the removal", parley.HasPeople(protocol.EventContactRemoved, 1))
	if e := parley.People(evs)[len(parley.People(evs))-1]; e.From != "carol" || e.To != "alice" {
		t.Fatalf("removal %+v", e)
	}

	if err := alice.Block(ctx, "bob", "carol", "dave"); err != nil {
		t.Fatal(err)
	}
	evs = al.WaitFor(t, "the block", parley.HasPeople(protocol.EventBlocked, 1))
	for _, e := range parley.People(evs) {
		if e.Kind == protocol.EventBlocked && !slices.Equal(e.Users, []string{"bob", "carol", "dave"}) {
			t.Fatalf("blocked %v", e.Users)
		}
	}
	blocked, next, err := alice.BlockList(ctx, 2, "")
	if err != nil || len(blocked) != 2 || next == "" {
		t.Fatalf("block list page: %v, %q, %v", blocked, next, err)
	}
	if err := alice.Unblock(ctx, "carol"); err != nil {
		t.Fatal(err)
	}
	al.WaitFor(t, "the unblock", parley.HasPeople(protocol.EventUnblocked, 1))
	if all, err := alice.AllBlocked(ctx); err != nil || !slices.Equal(all, []string{"bob", "dave"}) {
		t.Fatalf("AllBlocked: %v, %v", all, err)
	}
	// Blocking someone unknown blocks the others and says who is unknown.
	if err := alice.Block(ctx, "erin", "ghost"); !parley.IsCode(err, protocol.ErrUserNotFound) {
		t.Fatalf("block with an unknown user: %v", err)
	}
	al.WaitFor(t, "the partial block", parley.HasPeople(protocol.EventBlocked, 2))

	want := []string{protocol.EventContactRequest, protocol.EventContactDeclined, protocol.EventContactRequest,
		protocol.EventContactAccepted, protocol.EventContactAdded, protocol.EventContactAdded,
		protocol.EventContactRemoved, protocol.EventBlocked, protocol.EventUnblocked, protocol.EventBlocked}
	if got := parley.PeopleKinds(al.Events()); !slices.Equal(got, want) {
		t.Fatalf("alice's events %v, want %v", got, want)
	}
}

// Limits and refusals come back as typed errors, change nothing, and leave
// the connection usable.
func testPeopleRefusals(t *testing.T, s *servertest.Server) {
	a := newApp(t, s, tenant.Settings{}, "alice", "bob")
	alice, al := a.dial(t, "alice", "a1")
	many := make([]string, parley.MaxUsersPerCall+1)
	for i := range many {
		many[i] = "bob"
	}
	tests := []struct {
		name string
		call func(*parley.Client) error
		want error
	}{
		{"attributes over 2 KB", func(c *parley.Client) error {
			_, err := c.SetAttributes(ctxT(t), map[string]string{"a": strings.Repeat("x", 1500), "b": strings.Repeat("y", 600)})
			return err
		}, &parley.Error{Code: protocol.ErrAttrsTooLarge.ID}},
		{"nickname too long", func(c *parley.Client) error {
			_, err := c.SetAttributes(ctxT(t), map[string]string{"nickname": strings.Repeat("n", 65)})
			return err
		}, &parley.Error{Code: protocol.ErrAttrsTooLarge.ID}},
		{"bad gender", func(c *parley.Client) error {
			_, err := c.SetAttributes(ctxT(t), map[string]string{"gender": "7"})
			return err
		}, &parley.Error{Code: protocol.ErrIllegalArgument.ID}},
		{"block over 100", func(c *parley.Client) error { return c.Block(ctxT(t), many...) }, parley.ErrTooManyUsers},
		{"attributes of over 100", func(c *parley.Client) error {
			_, err := c.Attributes(ctxT(t), many)
			return err
		}, parley.ErrTooManyUsers},
		{"subscribe over 100", func(c *parley.Client) error {
			_, err := c.SubscribePresence(ctxT(t), many, time.Hour)
			return err
		}, parley.ErrTooManyUsers},
		{"unsubscribe over 100", func(c *parley.Client) error { return c.UnsubscribePresence(ctxT(t), many...) }, parley.ErrTooManyUsers},
		{"presence of over 100", func(c *parley.Client) error {
			_, err := c.Presence(ctxT(t), many...)
			return err
		}, parley.ErrTooManyUsers},
		{"subscribe for over 30 days", func(c *parley.Client) error {
			_, err := c.SubscribePresence(ctxT(t), []string{"bob"}, 31*24*time.Hour)
			return err
		}, &parley.Error{Code: protocol.ErrIllegalArgument.ID}},
		{"status over 1 KB", func(c *parley.Client) error { return c.PublishPresence(ctxT(t), strings.Repeat("s", 1025)) },
			&parley.Error{Code: protocol.ErrIllegalArgument.ID}},
		{"block oneself", func(c *parley.Client) error { return c.Block(ctxT(t), "alice") }, &parley.Error{Code: protocol.ErrIllegalArgument.ID}},
		{"befriend oneself", func(c *parley.Client) error { return c.RequestContact(ctxT(t), "alice", "") },
			&parley.Error{Code: protocol.ErrIllegalArgument.ID}},
		{"befriend nobody", func(c *parley.Client) error { return c.RequestContact(ctxT(t), "ghost", "") },
			&parley.Error{Code: protocol.ErrUserNotFound.ID}},
		{"reason too long", func(c *parley.Client) error { return c.RequestContact(ctxT(t), "bob", strings.Repeat("r", 257)) },
			&parley.Error{Code: protocol.ErrIllegalArgument.ID}},
		{"accept no request", func(c *parley.Client) error { return c.AcceptContact(ctxT(t), "bob") },
			&parley.Error{Code: protocol.ErrRequestNotFound.ID}},
		{"decline no request", func(c *parley.Client) error { return c.DeclineContact(ctxT(t), "bob") },
			&parley.Error{Code: protocol.ErrRequestNotFound.ID}},
		{"remove a stranger", func(c *parley.Client) error { return c.RemoveContact(ctxT(t), "bob") },
			&parley.Error{Code: protocol.ErrUserNotFound.ID}},
		{"remark on a stranger", func(c *parley.Client) error { return c.SetContactRemark(ctxT(t), "bob", "x") },
			&parley.Error{Code: protocol.ErrUserNotFound.ID}},
		{"unblock someone not blocked", func(c *parley.Client) error { return c.Unblock(ctxT(t), "bob") },
			&parley.Error{Code: protocol.ErrUserNotFound.ID}},
		{"contacts page over 3000", func(c *parley.Client) error {
			_, _, err := c.Contacts(ctxT(t), 3001, "")
			return err
		}, &parley.Error{Code: protocol.ErrIllegalArgument.ID}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(alice); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	ctx := ctxT(t)
	if attrs, err := alice.Attributes(ctx, []string{"alice"}); err != nil || len(attrs["alice"]) != 0 {
		t.Fatalf("attributes changed: %v, %v", attrs, err)
	}
	if list, err := alice.AllBlocked(ctx); err != nil || len(list) != 0 {
		t.Fatalf("block list changed: %v, %v", list, err)
	}
	if list, err := alice.AllContacts(ctx); err != nil || len(list) != 0 {
		t.Fatalf("contacts changed: %v, %v", list, err)
	}
	if _, err := alice.Ping(ctx); err != nil {
		t.Fatalf("the connection after the refusals: %v", err)
	}
	if n := countConn(al, parley.Connected); n != 1 {
		t.Fatalf("the refusals cost %d reconnects", n-1)
	}
	if got := parley.PeopleKinds(al.Events()); len(got) != 0 {
		t.Fatalf("refusals made events %v", got)
	}
}
