package parley

import (
	"context"
	"errors"
	"fmt"
	"net"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyim/parley/protocol"
)

func dialT(t *testing.T, cfg Config, setup func(*Client)) (*Client, *EventLog) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := dial(ctx, cfg, setup)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c, Collect(c)
}

func sendN(t *testing.T, c *Client, to string, n int) {
	t.Helper()
	for i := range n {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := c.SendText(ctx, to, fmt.Sprint("m", i))
		cancel()
		if err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
}

func TestClient_SendReceiveReceipts(t *testing.T) {
	f := newFakeServer(t)
	alice, ae := dialT(t, f.config("alice"), nil)
	bob, be := dialT(t, f.config("bob"), nil)
	if alice.User() != "alice" || alice.Resource() == "" {
		t.Fatalf("user %q resource %q", alice.User(), alice.Resource())
	}
	sendN(t, alice, "bob", 3)
	got := Messages(be.WaitFor(t, "3 messages at bob", HasMessages(3)))
	if !slices.Equal(Seqs(got), UpTo(3)) || got[0].From != "alice" || string(got[0].Body) != `{"msg":"m0"}` {
		t.Fatalf("bob got %v", Seqs(got))
	}
	// The sender sees its own messages too, built from the acks.
	own := Messages(ae.WaitFor(t, "own messages at alice", HasMessages(3)))
	if !slices.Equal(Seqs(own), UpTo(3)) || own[2].ClientMsgID == "" || own[2].MsgID != got[2].MsgID {
		t.Fatalf("alice got %v", Seqs(own))
	}
	// bob acknowledges delivery by itself; alice does not for her own messages.
	deadline := time.Now().Add(2 * time.Second)
	for f.count("bob", protocol.FrameDelivered) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if f.count("bob", protocol.FrameDelivered) == 0 || f.count("alice", protocol.FrameDelivered) != 0 {
		t.Fatalf("delivered frames: bob %d, alice %d", f.count("bob", protocol.FrameDelivered), f.count("alice", protocol.FrameDelivered))
	}
	if err := bob.MarkRead(context.Background(), got[0].ConvID, 0); err != nil {
		t.Fatal(err)
	}
	ae.WaitFor(t, "read receipt", func(evs []Event) bool {
		for _, ev := range evs {
			if r, ok := ev.(ReceiptEvent); ok && r.Receipt.By == "bob" {
				return true
			}
		}
		return false
	})
}

// Live pushes that never arrive are pulled when a later item shows the gap.
func TestClient_GapIsPulled(t *testing.T) {
	f := newFakeServer(t)
	f.noPush = func(it *protocol.Item) bool { return it.Seq == 2 || it.Seq == 3 }
	alice, _ := dialT(t, f.config("alice"), nil)
	_, be := dialT(t, f.config("bob"), nil)
	sendN(t, alice, "bob", 4)
	got := Messages(be.WaitFor(t, "4 messages", HasMessages(4)))
	if !slices.Equal(Seqs(got), UpTo(4)) {
		t.Fatalf("bob got %v", Seqs(got))
	}
	if f.count("bob", protocol.FramePull) == 0 {
		t.Fatal("bob did not pull")
	}
}

// A pull the server never answers is abandoned after a while: the other
// conversations go on, and the next gap pulls the conversation again.
func TestClient_UnansweredPullIsAbandoned(t *testing.T) {
	f := newFakeServer(t)
	var mute atomic.Bool
	mute.Store(true)
	f.noPush = func(it *protocol.Item) bool { return it.From == "alice" && it.Seq == 2 }
	f.mute = func(req *protocol.Request) bool { return req.T == protocol.FramePull && mute.Load() }
	alice, _ := dialT(t, f.config("alice"), nil)
	carol, _ := dialT(t, f.config("carol"), nil)
	_, bl := dialT(t, f.config("bob"), func(c *Client) { c.hooks.pullTimeout = 100 * time.Millisecond })
	sendN(t, alice, "bob", 3)
	sendN(t, carol, "bob", 1)
	evs := bl.WaitFor(t, "carol's message", func(evs []Event) bool {
		return slices.ContainsFunc(Messages(evs), func(it *protocol.Item) bool { return it.From == "carol" })
	})
	if got := Messages(evs); len(got) != 2 || got[0].From != "alice" || got[0].Seq != 1 {
		t.Fatalf("bob got %s", Describe(evs))
	}
	mute.Store(false)
	sendN(t, alice, "bob", 1)
	var fromAlice []*protocol.Item
	for _, it := range Messages(bl.WaitFor(t, "alice's messages", HasMessages(5))) {
		if it.From == "alice" {
			fromAlice = append(fromAlice, it)
		}
	}
	if !slices.Equal(Seqs(fromAlice), UpTo(4)) {
		t.Fatalf("bob got alice's %v", Seqs(fromAlice))
	}
}

// The connection drops after the send was processed but before its ack
// arrived: the Client resends with the same client_msg_id after
// reconnecting, and the message exists once.
func TestClient_ResendAfterDroppedAck(t *testing.T) {
	f := newFakeServer(t)
	var dropped atomic.Bool
	alice, ae := dialT(t, f.config("alice"), func(c *Client) {
		c.hooks.dropReply = func(req *protocol.Request) bool {
			return req.T == protocol.FrameSend && dropped.CompareAndSwap(false, true)
		}
	})
	_, be := dialT(t, f.config("bob"), nil)
	ack, err := alice.Send(context.Background(), OutgoingMessage{To: "bob", Type: "txt", Body: map[string]string{"msg": "once"},
		ClientMsgID: "c-once"})
	if err != nil {
		t.Fatal(err)
	}
	if !dropped.Load() || !ack.Duplicate || ack.Seq != 1 {
		t.Fatalf("ack = %+v, dropped %v", ack, dropped.Load())
	}
	if n := f.count("alice", protocol.FrameSend); n != 2 {
		t.Fatalf("alice sent %d send frames, want 2", n)
	}
	if st := f.stored("alice", "bob"); len(st) != 1 {
		t.Fatalf("stored %d items", len(st))
	}
	ae.WaitFor(t, "reconnect", HasConnState(Resynced, 2))
	sendN(t, alice, "bob", 1)
	for name, col := range map[string]*EventLog{"alice": ae, "bob": be} {
		if got := Seqs(Messages(col.WaitFor(t, name+" messages", HasMessages(2)))); !slices.Equal(got, UpTo(2)) {
			t.Fatalf("%s got %v", name, got)
		}
	}
}

// A device offline while messages are sent gets them after reconnecting.
func TestClient_OfflineThenResync(t *testing.T) {
	f := newFakeServer(t)
	alice, _ := dialT(t, f.config("alice"), nil)
	var offline atomic.Bool
	bob, be := dialT(t, f.config("bob"), func(c *Client) {
		c.hooks.beforeDial = func() error {
			if offline.Load() {
				return errors.New("offline")
			}
			return nil
		}
	})
	sendN(t, alice, "bob", 1)
	be.WaitFor(t, "first message", HasMessages(1))
	offline.Store(true)
	DropConnection(bob)
	be.WaitFor(t, "disconnect", HasConnState(Disconnected, 1))
	sendN(t, alice, "bob", 3)
	time.Sleep(50 * time.Millisecond) // a few failed attempts
	offline.Store(false)
	evs := be.WaitFor(t, "3 more messages", HasMessages(4))
	if got := Seqs(Messages(evs)); !slices.Equal(got, UpTo(4)) {
		t.Fatalf("bob got %v", got)
	}
	evs = be.WaitFor(t, "resync", HasConnState(Resynced, 2))
	for _, ev := range evs {
		if ce, ok := ev.(ConnectionEvent); ok && ce.State == Disconnected && (ce.Code != 1006 || ce.Final) {
			t.Fatalf("disconnect event %+v", ce)
		}
	}
	if bob.Err() != nil {
		t.Fatal(bob.Err())
	}
}

// A later Client with the same State continues where the first stopped.
func TestClient_StateAcrossClients(t *testing.T) {
	f := newFakeServer(t)
	alice, _ := dialT(t, f.config("alice"), nil)
	sendN(t, alice, "bob", 2) // before bob ever connected

	state := NewMemoryState()
	cfg := f.config("bob")
	cfg.State = state
	bob, be := dialT(t, cfg, nil)
	evs := be.WaitFor(t, "conversation", func(evs []Event) bool {
		for _, ev := range evs {
			if ce, ok := ev.(ConversationEvent); ok && len(ce.Conversation.Recent) == 2 {
				return true
			}
		}
		return false
	})
	if len(Messages(evs)) != 0 {
		t.Fatalf("a new device got old messages as events: %s", Describe(evs))
	}
	sendN(t, alice, "bob", 1)
	if got := Seqs(Messages(be.WaitFor(t, "live message", HasMessages(1)))); !slices.Equal(got, []int64{3}) {
		t.Fatalf("bob got %v", got)
	}
	bob.Close()
	if state.Cursor() == "" || state.Seq(Messages(be.Events())[0].ConvID) != 3 {
		t.Fatalf("state not persisted: cursor %q", state.Cursor())
	}

	sendN(t, alice, "bob", 2)
	_, be2 := dialT(t, cfg, nil)
	if got := Seqs(Messages(be2.WaitFor(t, "missed messages", HasMessages(2)))); !slices.Equal(got, []int64{4, 5}) {
		t.Fatalf("second client got %v", got)
	}
}

func TestClient_TerminalClose(t *testing.T) {
	f := newFakeServer(t)
	bob, be := dialT(t, f.config("bob"), nil)
	for _, c := range f.connsOf("bob") {
		c.closeWith(protocol.CloseKicked, "deactivated")
	}
	select {
	case <-be.Closed():
	case <-time.After(5 * time.Second):
		t.Fatal("events not closed after a terminal close")
	}
	evs := be.Events()
	last, ok := evs[len(evs)-1].(ConnectionEvent)
	if !ok || !last.Final || last.Code != protocol.CloseKicked || last.Reason != "deactivated" {
		t.Fatalf("last event %+v", evs[len(evs)-1])
	}
	var ce *CloseError
	if !errors.As(bob.Err(), &ce) || ce.Code != protocol.CloseKicked {
		t.Fatalf("Err = %v", bob.Err())
	}
	if _, err := bob.SendText(context.Background(), "alice", "x"); !errors.As(err, &ce) {
		t.Fatalf("send after stop: %v", err)
	}
	if _, _, err := bob.History(context.Background(), "17", HistoryQuery{}); !errors.As(err, &ce) {
		t.Fatalf("history after stop: %v", err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := f.count("bob", protocol.FrameAuth); n != 1 {
		t.Fatalf("bob authenticated %d times, want no reconnect", n)
	}
}

// No pong in time: the link is dead, the Client reconnects.
func TestClient_Heartbeat(t *testing.T) {
	f := newFakeServer(t)
	f.heartbeat = 1
	var deaf atomic.Bool
	deaf.Store(true)
	f.mute = func(req *protocol.Request) bool { return req.T == protocol.FramePing && deaf.Load() }
	_, be := dialT(t, f.config("bob"), func(c *Client) { c.hooks.pongTimeout = 100 * time.Millisecond })
	evs := be.WaitFor(t, "dead link", HasConnState(Disconnected, 1))
	deaf.Store(false)
	for _, ev := range evs {
		if ce, ok := ev.(ConnectionEvent); ok && ce.State == Disconnected && ce.Reason != "no pong in time" {
			t.Fatalf("disconnect %+v", ce)
		}
	}
	be.WaitFor(t, "reconnect", HasConnState(Resynced, 2))
}

func TestClient_Credentials(t *testing.T) {
	f := newFakeServer(t)
	tests := []struct {
		name     string
		token    string
		password string
		wantCode string
		grants   int
	}{
		{"password grant", "", "secret", "", 1},
		{"refused token replaced through the password", "expired", "secret", "", 1},
		{"refused token without password", "expired", "", protocol.ErrBadAccessToken.ID, 0},
		{"wrong password", "", "wrong", protocol.ErrInvalidGrant.ID, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.mu.Lock()
			f.grants = 0
			f.mu.Unlock()
			cfg := f.config("alice")
			cfg.Token, cfg.Username, cfg.Password = tt.token, "alice", tt.password
			c, err := Dial(context.Background(), cfg)
			if tt.wantCode != "" {
				if ErrorCode(err) != tt.wantCode {
					t.Fatalf("err = %v, want %s", err, tt.wantCode)
				}
			} else if err != nil {
				t.Fatal(err)
			} else {
				if c.User() != "alice" {
					t.Fatalf("user %q", c.User())
				}
				c.Close()
			}
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.grants != tt.grants {
				t.Fatalf("%d token requests, want %d", f.grants, tt.grants)
			}
		})
	}
}

func TestClient_EndpointRotation(t *testing.T) {
	f := newFakeServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	cfg := f.config("alice")
	cfg.BaseURL, cfg.Endpoints = dead, []string{f.srv.URL}
	c, _ := dialT(t, cfg, nil)
	if c.User() != "alice" {
		t.Fatal("not connected")
	}
}

// A Send whose context ends is given up: it is not resent later.
func TestClient_SendContext(t *testing.T) {
	f := newFakeServer(t)
	f.mute = func(req *protocol.Request) bool { return req.T == protocol.FrameSend }
	alice, ae := dialT(t, f.config("alice"), nil)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := alice.SendText(ctx, "bob", "lost"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	f.mu.Lock()
	f.mute = nil
	f.mu.Unlock()
	DropConnection(alice)
	ae.WaitFor(t, "reconnect", HasConnState(Resynced, 2))
	if n := f.count("alice", protocol.FrameSend); n != 1 {
		t.Fatalf("%d send frames, want 1", n)
	}
	if _, err := alice.Send(context.Background(), OutgoingMessage{To: "bob"}); err == nil {
		t.Fatal("a message without a type was accepted")
	}
}

// Close stops every goroutine of the Client.
func TestClient_CloseStopsGoroutines(t *testing.T) {
	f := newFakeServer(t)
	before := runtime.NumGoroutine()
	ctx := context.Background()
	alice, err := Dial(ctx, f.config("alice"))
	if err != nil {
		t.Fatal(err)
	}
	bob, err := Dial(ctx, f.config("bob"))
	if err != nil {
		t.Fatal(err)
	}
	sendN(t, alice, "bob", 5) // nobody reads Events
	DropConnection(bob)
	alice.Close()
	bob.Close()
	if _, ok := <-alice.Events(); ok {
		// drain: events may still be buffered in the channel
		for range alice.Events() {
		}
	}
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines before, %d after Close:\n%s", before, n, buf[:runtime.Stack(buf, true)])
	}
	if !errors.Is(alice.Err(), ErrClosed) {
		t.Fatalf("Err = %v", alice.Err())
	}
	if _, err := alice.SendText(ctx, "bob", "x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after close: %v", err)
	}
}

func TestClient_Recall(t *testing.T) {
	f := newFakeServer(t)
	alice, ae := dialT(t, f.config("alice"), nil)
	_, be := dialT(t, f.config("bob"), nil)
	ack, err := alice.SendText(context.Background(), "bob", "oops")
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.Recall(context.Background(), ack.MsgID); err != nil {
		t.Fatal(err)
	}
	if err := alice.Recall(context.Background(), "404"); !IsCode(err, protocol.ErrMessageNotFound) {
		t.Fatalf("recall of an unknown message: %v", err)
	}
	for name, col := range map[string]*EventLog{"alice": ae, "bob": be} {
		col.WaitFor(t, name+" recall", func(evs []Event) bool {
			for _, ev := range evs {
				if r, ok := ev.(RecallEvent); ok && r.Item.Target == ack.MsgID && r.Item.Seq == 2 {
					return true
				}
			}
			return false
		})
	}
}

// A session closed with 4001 gets a new token when the Client has a
// password, and stops for good when it has only the token.
func TestClient_TokenRevokedInSession(t *testing.T) {
	tests := []struct {
		name      string
		password  string
		wantFinal bool
	}{
		{"with a password", "secret", false},
		{"token only", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFakeServer(t)
			cfg := f.config("alice")
			if tt.password != "" {
				cfg.Token, cfg.Username, cfg.Password = "", "alice", tt.password
			}
			_, l := dialT(t, cfg, nil)
			for _, c := range f.connsOf("alice") {
				c.closeWith(protocol.CloseAuthFailed, "token revoked")
			}
			if tt.wantFinal {
				<-l.Closed()
				evs := l.Events()
				if last := evs[len(evs)-1].(ConnectionEvent); !last.Final || last.Code != protocol.CloseAuthFailed {
					t.Fatalf("last event %+v", last)
				}
				return
			}
			l.WaitFor(t, "reconnect with a new token", HasConnState(Resynced, 2))
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.grants != 2 {
				t.Fatalf("%d token requests, want 2", f.grants)
			}
		})
	}
}
