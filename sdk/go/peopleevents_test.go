package parley

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyim/parley/protocol"
)

// requestEvent is a friend request event to store for a user.
func requestEvent(i int) protocol.Event {
	return protocol.Event{Kind: protocol.EventContactRequest, From: fmt.Sprint("u", i), To: "bob"}
}

// ids lists the IDs of the stored people events.
func ids(evs []Event) []string {
	out := []string{}
	for _, e := range People(evs) {
		out = append(out, e.ID)
	}
	return out
}

// idRange is the event IDs from..to of the fake server (the first is 1001).
func idRange(from, to int) []string {
	out := []string{}
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprint(1000+i))
	}
	return out
}

// savedIDs decodes the IDs a State keeps for events.
func savedIDs(t *testing.T, st State) []string {
	t.Helper()
	_, got, err := decodeSavedEvents(st.EventCursor())
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// offline keeps c from reconnecting until the returned function is called.
func offline(t *testing.T, c *Client, l *EventLog) func() {
	t.Helper()
	var off atomic.Bool
	off.Store(true)
	c.hooks.mu.Lock()
	c.hooks.beforeDial = func() error {
		if off.Load() {
			return errors.New("offline")
		}
		return nil
	}
	c.hooks.mu.Unlock()
	n := 0
	for _, ev := range l.Events() {
		if ce, ok := ev.(ConnectionEvent); ok && ce.State == Disconnected {
			n++
		}
	}
	DropConnection(c)
	l.WaitFor(t, "the disconnect", HasConnState(Disconnected, n+1))
	return func() { off.Store(false) }
}

// Live events, events fetched after a reconnect and events fetched by a
// new Client with the same State reach the application once each, though
// every round goes back over events the device has.
func TestClient_PeopleEventsOnce(t *testing.T) {
	f := newFakeServer(t)
	st := NewMemoryState()
	cfg := f.config("bob")
	cfg.State = st
	bob, bl := dialT(t, cfg, nil)
	for i := 1; i <= 5; i++ {
		f.addEvent("bob", requestEvent(i), nil)
	}
	bl.WaitFor(t, "5 live events", HasPeople(protocol.EventContactRequest, 5))

	back := offline(t, bob, bl)
	f.addEvent("bob", requestEvent(6), nil)
	f.addEvent("bob", requestEvent(7), nil)
	back()
	bl.WaitFor(t, "the resync", HasConnState(Resynced, 2))
	if got := ids(bl.Events()); !slices.Equal(got, idRange(1, 7)) {
		t.Fatalf("events %v, want %v", got, idRange(1, 7))
	}

	bob.Close()
	f.addEvent("bob", requestEvent(8), nil)
	_, bl2 := dialT(t, cfg, nil)
	bl2.WaitFor(t, "the new Client's sync", HasConnState(Resynced, 1))
	if got := ids(bl2.Events()); !slices.Equal(got, idRange(8, 8)) {
		t.Fatalf("the next Client got %v, want only the new event", got)
	}
	if e := People(bl2.Events())[0]; e.From != "u8" || e.To != "bob" {
		t.Fatalf("event %+v", e)
	}
}

// A server node whose clock lags answers a round with a lower cursor; the
// Client keeps its own, so the events it stopped remembering do not come
// back.
func TestClient_EventsCursorNeverMovesBack(t *testing.T) {
	f := newFakeServer(t)
	_, bl := dialT(t, f.config("bob"), nil)
	for i := 1; i <= 8; i++ {
		f.addEvent("bob", requestEvent(i), nil)
		bl.WaitFor(t, "the live event", HasPeople(protocol.EventContactRequest, i))
	}
	f.mu.Lock()
	f.lag = 6
	f.mu.Unlock()
	for i := 9; i <= 10; i++ {
		n := f.count("bob", protocol.FrameEvents)
		f.addEvent("bob", requestEvent(i), nil)
		waitUntil(t, "the round after the live event", func() bool { return f.count("bob", protocol.FrameEvents) > n })
	}
	f.addEvent("bob", requestEvent(11), nil) // processed after the rounds before it
	bl.WaitFor(t, "the last event", HasPeople(protocol.EventContactRequest, 11))
	if got := ids(bl.Events()); !slices.Equal(got, idRange(1, 11)) {
		t.Fatalf("events %v", got)
	}
}

// An event whose push was lost is fetched by the round that the next live
// event starts.
func TestClient_LostEventPushIsFetched(t *testing.T) {
	f := newFakeServer(t)
	f.noEventPush = func(e *protocol.Event) bool { return e.From == "u2" }
	_, bl := dialT(t, f.config("bob"), nil)
	for i := 1; i <= 3; i++ {
		f.addEvent("bob", requestEvent(i), nil)
	}
	got := ids(bl.WaitFor(t, "3 events", HasPeople(protocol.EventContactRequest, 3)))
	slices.Sort(got)
	if !slices.Equal(got, idRange(1, 3)) {
		t.Fatalf("events %v", got)
	}
}

// The application received only some of the fetched events when the Client
// closed: the next Client with the same State delivers the others, once.
func TestClient_EventsResumeAfterPartialDelivery(t *testing.T) {
	f := newFakeServer(t)
	st := NewMemoryState()
	cfg := f.config("bob")
	cfg.State = st
	c, _ := dialT(t, cfg, nil)
	c.Close() // a known device, now offline
	for i := 1; i <= 10; i++ {
		f.addEvent("bob", requestEvent(i), nil)
	}

	c, err := Dial(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var first []string
	for ev := range c.Events() {
		if e := peopleOf(ev); e != nil {
			first = append(first, e.ID)
			if len(first) == 4 {
				break
			}
		}
	}
	c.Close()
	if !slices.Equal(first, idRange(1, 4)) {
		t.Fatalf("first Client got %v", first)
	}

	_, l := dialT(t, cfg, nil)
	l.WaitFor(t, "the sync", HasConnState(Resynced, 1))
	if got := ids(l.Events()); !slices.Equal(got, idRange(5, 10)) {
		t.Fatalf("the next Client got %v, want %v", got, idRange(5, 10))
	}
}

// The IDs kept in State stay few: a round drops those it no longer
// returns, after a long catch-up as while connected.
func TestClient_EventsKeepFewIDs(t *testing.T) {
	f := newFakeServer(t)
	st := NewMemoryState()
	cfg := f.config("bob")
	cfg.State = st
	bob, bl := dialT(t, cfg, nil)
	back := offline(t, bob, bl)
	for i := 1; i <= 250; i++ { // three pages
		f.addEvent("bob", requestEvent(i), nil)
	}
	back()
	bl.WaitFor(t, "the catch-up", HasPeople(protocol.EventContactRequest, 250))
	bl.WaitFor(t, "the resync", HasConnState(Resynced, 2))
	// The follow-up round returns the last rewind IDs only.
	want := idRange(248, 250)
	if got := savedIDs(t, st); !slices.Equal(got, want) {
		t.Fatalf("after the catch-up State keeps %v, want %v", got, want)
	}
	for i := 251; i <= 300; i++ {
		f.addEvent("bob", requestEvent(i), nil)
		bl.WaitFor(t, "the live event", HasPeople(protocol.EventContactRequest, i))
	}
	waitUntil(t, "State keeps few IDs", func() bool { return len(savedIDs(t, st)) <= 4 })
	if got := ids(bl.Events()); !slices.Equal(got, idRange(1, 300)) {
		t.Fatalf("events out of order or repeated: %d of them", len(got))
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A new device starts at the server's position unless it asks for the
// history; events a round goes back over from its start stay undelivered.
func TestClient_NewDeviceEvents(t *testing.T) {
	tests := []struct {
		name    string
		history bool
		want    []string
	}{
		{"from now", false, idRange(6, 7)},
		{"with history", true, idRange(1, 7)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeServer(t)
			for i := 1; i <= 5; i++ {
				f.addEvent("bob", requestEvent(i), nil)
			}
			cfg := f.config("bob")
			cfg.EventHistory = tt.history
			_, bl := dialT(t, cfg, nil)
			// A live event makes a round from the start cursor, which goes
			// back over events 3-5; a push that arrives during the round is
			// processed after it.
			n := f.count("bob", protocol.FrameEvents)
			f.addEvent("bob", requestEvent(6), nil)
			waitUntil(t, "the round after the live event", func() bool { return f.count("bob", protocol.FrameEvents) > n })
			f.addEvent("bob", requestEvent(7), nil)
			bl.WaitFor(t, "the live events", func(evs []Event) bool { return slices.Contains(ids(evs), idRange(7, 7)[0]) })
			if got := ids(bl.Events()); !slices.Equal(got, tt.want) {
				t.Fatalf("events %v, want %v", got, tt.want)
			}
		})
	}
}

// Against a server without events requests the Client works, delivers
// pushed events, and asks once per connection.
func TestClient_ServerWithoutEvents(t *testing.T) {
	f := newFakeServer(t)
	f.noEvents = true
	alice, _ := dialT(t, f.config("alice"), nil)
	_, bl := dialT(t, f.config("bob"), nil)
	f.addEvent("bob", requestEvent(1), nil)
	f.addEvent("bob", requestEvent(2), nil)
	sendN(t, alice, "bob", 1)
	evs := bl.WaitFor(t, "the message and the events", func(evs []Event) bool {
		return len(Messages(evs)) == 1 && len(People(evs)) == 2
	})
	if got := ids(evs); !slices.Equal(got, idRange(1, 2)) {
		t.Fatalf("events %v", got)
	}
	if n := f.count("bob", protocol.FrameEvents); n != 1 {
		t.Fatalf("bob sent %d events requests, want 1", n)
	}
}

// Presence events are delivered as they come; they are neither stored nor
// followed by a round.
func TestClient_PresenceEvents(t *testing.T) {
	f := newFakeServer(t)
	st := NewMemoryState()
	cfg := f.config("alice")
	cfg.State = st
	_, al := dialT(t, cfg, nil)
	al.WaitFor(t, "the sync", HasConnState(Resynced, 1)) // State is saved before
	saved, n := st.EventCursor(), f.count("alice", protocol.FrameEvents)
	if saved == "" {
		t.Fatal("no event cursor saved after the first sync")
	}
	for _, p := range []*protocol.Presence{{User: "bob", Online: true, Devices: []string{"b1"}},
		{User: "bob", Online: true, Status: "away"}, {User: "bob", Online: true, Status: "away"}} {
		f.pushPresence("alice", p)
	}
	got := Presences(al.WaitFor(t, "3 presence events", func(evs []Event) bool { return len(Presences(evs)) == 3 }))
	if !got[0].Online || got[0].Devices[0] != "b1" || got[1].Status != "away" {
		t.Fatalf("presence %+v %+v", got[0], got[1])
	}
	if st.EventCursor() != saved || f.count("alice", protocol.FrameEvents) != n {
		t.Fatalf("presence events changed the saved events (%q -> %q) or started a round", saved, st.EventCursor())
	}
}

// Calls the server would refuse as malformed, or that name too many users,
// fail without sending anything.
func TestClient_PeopleLocalChecks(t *testing.T) {
	f := newFakeServer(t)
	alice, _ := dialT(t, f.config("alice"), nil)
	many := make([]string, MaxUsersPerCall+1)
	for i := range many {
		many[i] = fmt.Sprint("u", i)
	}
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
		want error // nil: any error
	}{
		{"block nobody", func() error { return alice.Block(ctx) }, nil},
		{"block 101", func() error { return alice.Block(ctx, many...) }, ErrTooManyUsers},
		{"attributes of nobody", func() error { _, err := alice.Attributes(ctx, nil); return err }, nil},
		{"attributes of 101", func() error { _, err := alice.Attributes(ctx, many, "nickname"); return err }, ErrTooManyUsers},
		{"subscribe 101", func() error { _, err := alice.SubscribePresence(ctx, many, time.Hour); return err }, ErrTooManyUsers},
		{"subscribe for no time", func() error { _, err := alice.SubscribePresence(ctx, []string{"bob"}, 0); return err }, nil},
		{"unsubscribe nobody", func() error { return alice.UnsubscribePresence(ctx) }, nil},
		{"unsubscribe 101", func() error { return alice.UnsubscribePresence(ctx, many...) }, ErrTooManyUsers},
		{"presence of 101", func() error { _, err := alice.Presence(ctx, many...); return err }, ErrTooManyUsers},
		{"no attributes", func() error { _, err := alice.SetAttributes(ctx, nil); return err }, nil},
		{"request nobody", func() error { return alice.RequestContact(ctx, "", "hi") }, nil},
		{"accept nobody", func() error { return alice.AcceptContact(ctx, "") }, nil},
		{"decline nobody", func() error { return alice.DeclineContact(ctx, "") }, nil},
		{"remove nobody", func() error { return alice.RemoveContact(ctx, "") }, nil},
		{"remark on nobody", func() error { return alice.SetContactRemark(ctx, "", "x") }, nil},
		{"unblock nobody", func() error { return alice.Unblock(ctx, "") }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { failsLocally(t, f, tt.call, tt.want) })
	}
}

// A change whose reply is lost is repeated only when repeating it cannot
// do harm; either way this device gets its events.
func TestClient_PeopleRetries(t *testing.T) {
	tests := []struct {
		name   string
		frame  string
		call   func(*Client) error
		want   error
		frames int
		kind   string
	}{
		{"friend request: not repeated", protocol.FrameContactRequest,
			func(c *Client) error { return c.RequestContact(context.Background(), "bob", "hi") }, ErrConnectionLost, 1,
			protocol.EventContactRequest},
		{"block: repeated", protocol.FrameBlock,
			func(c *Client) error { return c.Block(context.Background(), "bob") }, nil, 2, protocol.EventBlocked},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeServer(t)
			var dropped atomic.Bool
			alice, al := dialT(t, f.config("alice"), func(c *Client) {
				c.hooks.dropReply = func(req *protocol.Request) bool {
					return req.T == tt.frame && dropped.CompareAndSwap(false, true)
				}
			})
			if err := tt.call(alice); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if n := f.count("alice", tt.frame); n != tt.frames {
				t.Fatalf("%d %s frames, want %d", n, tt.frame, tt.frames)
			}
			al.WaitFor(t, "the Client's own events", HasPeople(tt.kind, tt.frames))
		})
	}
}

// A change made on this device comes back to it once, through a round
// (the server pushes it to the other devices only).
func TestClient_OwnChangeEvents(t *testing.T) {
	f := newFakeServer(t)
	alice, al := dialT(t, f.config("alice"), nil)
	_, al2 := dialT(t, f.config("alice"), nil)
	_, bl := dialT(t, f.config("bob"), nil)
	if err := alice.RequestContact(context.Background(), "bob", "hi"); err != nil {
		t.Fatal(err)
	}
	for name, l := range map[string]*EventLog{"alice": al, "alice's other device": al2, "bob": bl} {
		evs := l.WaitFor(t, name+"'s event", HasPeople(protocol.EventContactRequest, 1))
		if e := People(evs)[0]; e.From != "alice" || e.To != "bob" || e.Reason != "hi" {
			t.Fatalf("%s: %+v", name, e)
		}
	}
	// A later live event's round repeats the request; it is not delivered again.
	f.addEvent("alice", protocol.Event{Kind: protocol.EventAttrs, Attrs: map[string]string{"nickname": "Al"}}, nil)
	evs := al.WaitFor(t, "the attributes event", HasPeople(protocol.EventAttrs, 1))
	if got := PeopleKinds(evs); !slices.Equal(got, []string{protocol.EventContactRequest, protocol.EventAttrs}) {
		t.Fatalf("alice got %v", got)
	}
	if a, ok := evs[len(evs)-1].(AttributesEvent); !ok || a.Attrs["nickname"] != "Al" {
		t.Fatalf("last event %#v", evs[len(evs)-1])
	}
}

func TestSavedEvents_Decode(t *testing.T) {
	tests := []struct {
		name   string
		saved  string
		cursor string
		ids    []string
		bad    bool
	}{
		{"cursor only", "1;;913", "913", nil, false},
		{"ids", "1;5,6,7;913", "913", []string{"5", "6", "7"}, false},
		{"cursor with separators", "1;5;c9;x,y", "c9;x,y", []string{"5"}, false},
		{"no cursor yet", "1;5;", "", []string{"5"}, false},
		{"other version", "2;;913", "", nil, true},
		{"not ours", "913", "", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cursor, got, err := decodeSavedEvents(tt.saved)
			if (err != nil) != tt.bad || cursor != tt.cursor || !slices.Equal(got, tt.ids) {
				t.Fatalf("decode(%q) = %q, %v, %v", tt.saved, cursor, got, err)
			}
			if !tt.bad {
				if again := encodeSavedEvents(cursor, got); again != tt.saved {
					t.Fatalf("encode = %q, want %q", again, tt.saved)
				}
			}
		})
	}
}

// A saved value this SDK cannot read, or whose cursor the server refuses,
// makes the Client a new device.
func TestClient_UnusableEventCursor(t *testing.T) {
	tests := []struct{ name, saved string }{
		{"unreadable", "garbage"},
		{"refused by the server", encodeSavedEvents("from-elsewhere", nil)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeServer(t)
			f.addEvent("bob", requestEvent(1), nil)
			st := NewMemoryState()
			st.SetEventCursor(tt.saved)
			cfg := f.config("bob")
			cfg.State = st
			_, bl := dialT(t, cfg, nil)
			f.addEvent("bob", requestEvent(2), nil)
			if got := ids(bl.WaitFor(t, "the new event", HasPeople(protocol.EventContactRequest, 1))); !slices.Equal(got, idRange(2, 2)) {
				t.Fatalf("events %v", got)
			}
			if cursor, _, err := decodeSavedEvents(st.EventCursor()); err != nil || cursor == "from-elsewhere" {
				t.Fatalf("the Client kept the unusable cursor: %q, %v", st.EventCursor(), err)
			}
		})
	}
}
