package parley_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/server/servertest"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
	parley "github.com/parleyim/parley/sdk/go"
)

// The end-to-end tests run the SDK against the real server, in-process on a
// random port, on every storage backend (PostgreSQL when
// PARLEY_TEST_POSTGRES is set). One server per backend; one app per test.
func TestE2E(t *testing.T) {
	tests := []struct {
		name string
		fn   func(*testing.T, *servertest.Server)
	}{
		{"OfflineDelivery", testOfflineDelivery},
		{"ThreeDevices", testThreeDevices},
		{"RetryAfterDroppedAck", testRetryAfterDroppedAck},
		{"Recall", testRecall},
		{"Edit", testEdit},
		{"Receipts", testReceipts},
		{"ConcurrentSenders", testConcurrentSenders},
		{"ConversationsAndHistory", testConversationsAndHistory},
		{"SyncPaging", testSyncPaging},
		{"NewDeviceSyncPaging", testNewDeviceSyncPaging},
		{"RouteOnline", testRouteOnline},
		{"ForcedLogout", testForcedLogout},
		{"ResourceReplaced", testResourceReplaced},
		{"DeviceLimit", testDeviceLimit},
		{"Refusals", testRefusals},
		{"MessageTypes", testMessageTypes},
		{"UploadDownload", testUploadDownload},
		{"RestrictedFile", testRestrictedFile},
		{"UploadCancel", testUploadCancel},
		{"RecallFile", testRecallFile},
		{"FileTokenRefresh", testFileTokenRefresh},
		{"FileRefusals", testFileRefusals},
		{"FriendRequestOffline", testFriendRequestOffline},
		{"SendGates", testSendGates},
		{"Attributes", testAttributes},
		{"Presence", testPresence},
		{"ContactsAndBlocks", testContactsAndBlocks},
		{"PeopleRefusals", testPeopleRefusals},
		{"GroupLifecycle", testGroupLifecycle},
		{"GroupMessages", testGroupMessages},
		{"GroupMentions", testGroupMentions},
		{"GroupRecall", testGroupRecall},
		{"GroupMutes", testGroupMutes},
		{"GroupRefusals", testGroupRefusals},
		{"GroupRetries", testGroupRetries},
		{"RoomMessages", testRoomMessages},
		{"RoomAttributes", testRoomAttributes},
		{"RoomManagement", testRoomManagement},
		{"RoomDelete", testRoomDelete},
		{"RoomCreate", testRoomCreate},
		{"RoomRefusals", testRoomRefusals},
		{"Broadcasts", testBroadcasts},
		{"Erase", testErase},
	}
	for _, backend := range servertest.Backends {
		t.Run(backend, func(t *testing.T) {
			s := servertest.StartBackend(t, backend)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) { tt.fn(t, s) })
			}
		})
	}
}

const password = "secret-password"

var appSeq atomic.Int64

// app is one app with registered users.
type app struct {
	s     *servertest.Server
	org   string
	name  string
	token string // app token
}

func newApp(t *testing.T, s *servertest.Server, set tenant.Settings, users ...string) *app {
	t.Helper()
	name := fmt.Sprintf("e2e%d", appSeq.Add(1))
	a := &app{s: s, org: "acme", name: name}
	a.token = s.AppToken(t, s.App(t, a.org, name, set))
	var body []map[string]string
	for _, u := range users {
		body = append(body, map[string]string{"username": u, "password": password})
	}
	if r := s.Do(t, "POST", a.path("/users"), a.token, body); r.Status != 200 {
		t.Fatalf("register users: %d %s", r.Status, r.Raw)
	}
	return a
}

func (a *app) path(p string) string { return "/" + a.org + "/" + a.name + p }

func (a *app) config(t *testing.T, user, resource string) parley.Config {
	return parley.Config{BaseURL: a.s.URL, Org: a.org, App: a.name, Username: user, Password: password,
		Resource: resource, Platform: "test", BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))}
}

// dial connects a device and records its events; it is closed when the
// test ends.
func dial(t *testing.T, cfg parley.Config) (*parley.Client, *parley.EventLog) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := parley.Dial(ctx, cfg)
	if err != nil {
		t.Fatalf("dial %s/%s: %v", cfg.Username, cfg.Resource, err)
	}
	t.Cleanup(func() { c.Close() })
	return c, parley.Collect(c)
}

func (a *app) dial(t *testing.T, user, resource string) (*parley.Client, *parley.EventLog) {
	t.Helper()
	return dial(t, a.config(t, user, resource))
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func sendTexts(t *testing.T, c *parley.Client, to string, n int) []*protocol.Ack {
	t.Helper()
	var acks []*protocol.Ack
	for i := range n {
		ack, err := c.SendText(ctxT(t), to, fmt.Sprintf("%s %d", c.Resource(), i))
		if err != nil {
			t.Fatalf("%s sends: %v", c.User(), err)
		}
		acks = append(acks, ack)
	}
	return acks
}

func checkSeqs(t *testing.T, who string, items []*protocol.Item, want []int64) {
	t.Helper()
	if got := parley.Seqs(items); !slices.Equal(got, want) {
		t.Fatalf("%s saw seqs %v, want %v", who, got, want)
	}
}

func recallOf(target string) func([]parley.Event) bool {
	return func(evs []parley.Event) bool {
		for _, ev := range evs {
			if r, ok := ev.(parley.RecallEvent); ok && r.Item.Target == target {
				return true
			}
		}
		return false
	}
}

func receipt(kinds []string, by string, match func(*protocol.Receipt) bool) func([]parley.Event) bool {
	return func(evs []parley.Event) bool {
		for _, ev := range evs {
			if r, ok := ev.(parley.ReceiptEvent); ok && slices.Contains(kinds, r.Receipt.Kind) && r.Receipt.By == by &&
				match(r.Receipt) {
				return true
			}
		}
		return false
	}
}

// A device that is offline while messages are sent gets them, in order,
// when it comes back: the same Client after a reconnect, and a new Client
// with the same State.
func testOfflineDelivery(t *testing.T, s *servertest.Server) {
	a := newApp(t, s, tenant.Settings{}, "alice", "bob")
	alice, _ := a.dial(t, "alice", "a1")
	state := parley.NewMemoryState()
	cfg := a.config(t, "bob", "b1")
	cfg.State = state
	bob, bl := dial(t, cfg)

	sendTexts(t, alice, "bob", 1)
	bl.WaitFor(t, "the first message", parley.HasMessages(1))

	var offline atomic.Bool
	offline.Store(true)
	parley.SetBeforeDial(bob, func() error {
		if offline.Load() {
			return errors.New("offline")
		}
		return nil
	})
	parley.DropConnection(bob)
	bl.WaitFor(t, "the disconnect", parley.HasConnState(parley.Disconnected, 1))
	sendTexts(t, alice, "bob", 3)
	offline.Store(false)
	got := parley.Messages(bl.WaitFor(t, "the messages sent while offline", parley.HasMessages(4)))
	checkSeqs(t, "bob", got, parley.UpTo(4))
	if got[3].From != "alice" || string(got[3].Body) != `{"msg":"a1 2"}` {
		t.Fatalf("last message %+v body %s", got[3], got[3].Body)
	}

	bob.Close()
	sendTexts(t, alice, "bob", 2)
	_, bl2 := dial(t, cfg)
	got = parley.Messages(bl2.WaitFor(t, "the messages sent after Close", parley.HasMessages(2)))
	checkSeqs(t, "bob's next client", got, []int64{5, 6})
}

// Three devices of one user all see what the user sends and receives, and
// the read marks made on one of them.
func testThreeDevices(t *testing.T, s *servertest.Server) {
	a := newApp(t, s, tenant.Settings{}, "alice", "bob")
	a1, l1 := a.dial(t, "alice", "a1")
	_, l2 := a.dial(t, "alice", "a2")
	_, l3 := a.dial(t, "alice", "a3")
	bob, lb := a.dial(t, "bob", "b1")

	acks := sendTexts(t, a1, "bob", 2)
	acks = append(acks, sendTexts(t, bob, "alice", 1)...)
	conv := acks[0].ConvID
	for _, ack := range acks {
		if ack.ConvID != conv {
			t.Fatalf("acks in different conversations: %+v", acks)
		}
	}
	for name, l := range map[string]*parley.EventLog{"a1": l1, "a2": l2, "a3": l3, "b1": lb} {
		got := parley.Messages(l.WaitFor(t, name+"'s messages", parley.HasMessages(3)))
		checkSeqs(t, name, got, parley.UpTo(3))
		if got[0].From != "alice" || got[2].From != "bob" || got[1].MsgID != acks[1].MsgID {
			t.Fatalf("%s: senders %s %s %s", name, got[0].From, got[1].From, got[2].From)
		}
	}

	if err := a1.MarkRead(ctxT(t), conv, 0); err != nil {
		t.Fatal(err)
	}
	for name, l := range map[string]*parley.EventLog{"a2": l2, "a3": l3} {
		l.WaitFor(t, name+" sees the read mark", func(evs []parley.Event) bool {
			for _, ev := range evs {
				if c, ok := ev.(parley.ConversationEvent); ok && !c.FromSync && c.Conversation.ConvID == conv &&
					c.Conversation.ReadSeq == 3 && c.Conversation.Unread == 0 {
					return true
				}
			}
			return false
		})
	}
	lb.WaitFor(t, "bob gets the read receipt", receipt([]string{protocol.ReceiptRead, protocol.ReceiptChannelRead}, "alice",
		func(r *protocol.Receipt) bool { return r.ConvID == conv && r.Seq == 3 }))
}

// The connection drops after the server processed a send but before the
// ack arrived; the SDK resends with the same client_msg_id and the message
// is stored and delivered once.
func testRetryAfterDroppedAck(t *testing.T, s *servertest.Server) {
	a := newApp(t, s, tenant.Settings{}, "alice", "bob")
	alice, al := a.dial(t, "alice", "a1")
	bob, bl := a.dial(t, "bob", "b1")
	var dropped atomic.Bool
	parley.SetDropReply(alice, func(req *protocol.Request) bool {
		return req.T == protocol.FrameSend && dropped.CompareAndSwap(false, true)
	})
	ack, err := alice.Send(ctxT(t), parley.OutgoingMessage{To: "bob", Type: protocol.MsgText,
		Body: map[string]string{"msg": "exactly once"}, ClientMsgID: "retry-1"})
	if err != nil {
		t.Fatal(err)
	}
	if !dropped.Load() {
		t.Fatal("the ack was not dropped")
	}
	if !ack.Duplicate || ack.Seq != 1 {
		t.Fatalf("ack after the retry = %+v, want duplicate of seq 1", ack)
	}
	al.WaitFor(t, "alice's reconnect", parley.HasConnState(parley.Resynced, 2))
	sendTexts(t, alice, "bob", 1)
	for name, l := range map[string]*parley.EventLog{"alice": al, "bob": bl} {
		got := parley.Messages(l.WaitFor(t, name+"'s messages", parley.HasMessages(2)))
		checkSeqs(t, name, got, []int64{1, 2})
		if got[0].ClientMsgID != "retry-1" || got[0].MsgID != ack.MsgID {
			t.Fatalf("%s: first message %+v", name, got[0])
		}
	}
	items, _, err := bob.History(ctxT(t), ack.ConvID, parley.HistoryQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, it := range items {
		if it.ClientMsgID == "retry-1" {
			n++
		}
	}
	if len(items) != 2 || n != 1 {
		t.Fatalf("history has %d items, %d with the retried client_msg_id", len(items), n)
	}
}

// Recall by the sender within the window; refused for others, for cmd
// messages and after the window; forced by an admin through REST.
func testRecall(t *testing.T, s *servertest.Server) {
	const window = time.Second
	a := newApp(t, s, tenant.Settings{RecallWindowSeconds: int(window / time.Second)}, "alice", "bob")
	alice, al := a.dial(t, "alice", "a1")
	bob, bl := a.dial(t, "bob", "b1")

	ack1, err := alice.SendText(ctxT(t), "bob", "oops")
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.Recall(ctxT(t), ack1.MsgID); err != nil {
		t.Fatalf("recall within the window: %v", err)
	}
	for name, l := range map[string]*parley.EventLog{"alice": al, "bob": bl} {
		evs := l.WaitFor(t, name+" sees the recall", recallOf(ack1.MsgID))
		var seq []int64
		for _, ev := range evs {
			switch e := ev.(type) {
			case parley.MessageEvent:
				seq = append(seq, e.Item.Seq)
			case parley.RecallEvent:
				seq = append(seq, e.Item.Seq)
			}
		}
		if !slices.Equal(seq, []int64{1, 2}) {
			t.Fatalf("%s: message and recall at seqs %v, want [1 2]", name, seq)
		}
	}

	ack2, err := alice.SendText(ctxT(t), "bob", "second")
	if err != nil {
		t.Fatal(err)
	}
	if err := bob.Recall(ctxT(t), ack2.MsgID); !parley.IsCode(err, protocol.ErrRecallNotAllowed) {
		t.Fatalf("recall by the recipient: %v, want recall_not_allowed", err)
	}
	cmd, err := alice.Send(ctxT(t), parley.OutgoingMessage{To: "bob", Type: protocol.MsgCmd, Body: map[string]string{"action": "typing"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := alice.Recall(ctxT(t), cmd.MsgID); !parley.IsCode(err, protocol.ErrRecallNotAllowed) {
		t.Fatalf("recall of a cmd message: %v, want recall_not_allowed", err)
	}

	time.Sleep(time.Until(time.UnixMilli(ack2.TS).Add(window + 200*time.Millisecond)))
	if err := alice.Recall(ctxT(t), ack2.MsgID); !parley.IsCode(err, protocol.ErrRecallWindow) {
		t.Fatalf("recall after the window: %v, want recall_window_passed", err)
	}
	// Easemob style: 200, and data.recalled is "yes" or the reason it failed.
	adminRecall := map[string]any{"msg_id": ack2.MsgID, "to": "bob", "chat_type": "chat", "from": "alice"}
	recalled := func(r *servertest.Response) string {
		data, _ := r.Body["data"].(map[string]any)
		v, _ := data["recalled"].(string)
		return v
	}
	if r := s.Do(t, "POST", a.path("/messages/msg_recall"), a.token, adminRecall); r.Status != 200 ||
		recalled(r) == "yes" || recalled(r) == "" {
		t.Fatalf("admin recall after the window without force: %d %s, want a refusal", r.Status, r.Raw)
	}
	adminRecall["force"] = true
	if r := s.Do(t, "POST", a.path("/messages/msg_recall"), a.token, adminRecall); r.Status != 200 || recalled(r) != "yes" {
		t.Fatalf("forced admin recall: %d %s", r.Status, r.Raw)
	}
	for name, l := range map[string]*parley.EventLog{"alice": al, "bob": bl} {
		l.WaitFor(t, name+" sees the forced recall", recallOf(ack2.MsgID))
	}
	items, _, err := bob.History(ctxT(t), ack1.ConvID, parley.HistoryQuery{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	inHistory := map[string]bool{}
	for _, it := range items {
		if it.Kind == protocol.ItemMsg && it.Recalled {
			inHistory[it.MsgID] = true
			if len(it.Body) > 0 && string(it.Body) != "null" {
				t.Errorf("recalled message %s still has a body", it.MsgID)
			}
		}
	}
	if !inHistory[ack1.MsgID] || !inHistory[ack2.MsgID] || inHistory[cmd.MsgID] {
		t.Fatalf("recalled in history: %v", inHistory)
	}
}

// Delivery and read receipts reach the sender; a new device of the sender
// learns them from sync.
func testReceipts(t *testing.T, s *servertest.Server) {
	a := newApp(t, s, tenant.Settings{}, "alice", "bob")
	alice, al := a.dial(t, "alice", "a1")
	bob, bl := a.dial(t, "bob", "b1")
	ack := sendTexts(t, alice, "bob", 1)[0]
	bl.WaitFor(t, "bob's message", parley.HasMessages(1))
	al.WaitFor(t, "the delivery receipt", receipt([]string{protocol.ReceiptDelivered}, "bob",
		func(r *protocol.Receipt) bool { return r.ConvID == ack.ConvID && r.Seq >= ack.Seq }))

	if err := bob.MarkMessageRead(ctxT(t), ack.MsgID); err != nil {
		t.Fatal(err)
	}
	al.WaitFor(t, "the read receipt of one message", receipt([]string{protocol.ReceiptRead}, "bob",
		func(r *protocol.Receipt) bool { return r.MsgID == ack.MsgID }))

	ack2 := sendTexts(t, alice, "bob", 1)[0]
	bl.WaitFor(t, "bob's second message", parley.HasMessages(2))
	if err := bob.MarkRead(ctxT(t), ack.ConvID, 0); err != nil {
		t.Fatal(err)
	}
	al.WaitFor(t, "the read receipt of the conversation", receipt([]string{protocol.ReceiptRead, protocol.ReceiptChannelRead}, "bob",
		func(r *protocol.Receipt) bool { return r.ConvID == ack.ConvID && r.Seq >= ack2.Seq }))
	_ = alice

	_, l2 := a.dial(t, "alice", "a2")
	l2.WaitFor(t, "the receipts in the new device's sync", func(evs []parley.Event) bool {
		for _, ev := range evs {
			if c, ok := ev.(parley.ConversationEvent); ok && c.FromSync && c.Conversation.ConvID == ack.ConvID {
				cv := c.Conversation
				if cv.PeerReadSeq != ack2.Seq || cv.PeerDeliveredSeq < ack2.Seq || cv.LastSeq != ack2.Seq {
					t.Fatalf("synced conversation: %+v", cv)
				}
				return true
			}
		}
		return false
	})
}

// Four devices send 50 messages each into one conversation at once: every
// device sees seqs 1..200 exactly once, in order, and the acks hand out
// each seq once.
func testConcurrentSenders(t *testing.T, s *servertest.Server) {
	const perSender = 50
	a := newApp(t, s, tenant.Settings{}, "alice", "bob")
	type device struct {
		c    *parley.Client
		log  *parley.EventLog
		peer string
	}
	var devs []device
	for _, d := range []struct{ user, res, peer string }{{"alice", "a1", "bob"}, {"alice", "a2", "bob"},
		{"bob", "b1", "alice"}, {"bob", "b2", "alice"}} {
		c, l := a.dial(t, d.user, d.res)
		devs = append(devs, device{c, l, d.peer})
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	acked := map[int64]int{}
	errs := make(chan error, len(devs))
	for _, d := range devs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perSender {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				ack, err := d.c.SendText(ctx, d.peer, fmt.Sprint(i))
				cancel()
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				acked[ack.Seq]++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	const total = perSender * 4
	for seq := int64(1); seq <= total; seq++ {
		if acked[seq] != 1 {
			t.Fatalf("seq %d acked %d times", seq, acked[seq])
		}
	}
	for _, d := range devs {
		got := parley.Messages(d.log.WaitFor(t, d.c.Resource()+"'s messages", parley.HasMessages(total)))
		checkSeqs(t, d.c.Resource(), got, parley.UpTo(total))
	}
	time.Sleep(100 * time.Millisecond)
	for _, d := range devs {
		if n := len(parley.Messages(d.log.Events())); n != total {
			t.Fatalf("%s saw %d messages, want %d", d.c.Resource(), n, total)
		}
	}
}

func testConversationsAndHistory(t *testing.T, s *servertest.Server) {
	a := newApp(t, s, tenant.Settings{}, "alice", "bob", "carol")
	alice, _ := a.dial(t, "alice", "a1")
	withBob := sendTexts(t, alice, "bob", 5)
	withCarol := sendTexts(t, alice, "carol", 1)
	convBob, convCarol := withBob[0].ConvID, withCarol[0].ConvID
	ctx := ctxT(t)

	peers := func() []string {
		t.Helper()
		list, _, err := alice.Conversations(ctx, 10, "")
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, c := range list {
			out = append(out, c.Peer)
		}
		return out
	}
	if got := peers(); !slices.Equal(got, []string{"carol", "bob"}) {
		t.Fatalf("conversations by activity: %v", got)
	}
	if err := alice.PinConversation(ctx, convBob, true); err != nil {
		t.Fatal(err)
	}
	if got := peers(); !slices.Equal(got, []string{"bob", "carol"}) {
		t.Fatalf("conversations with bob pinned: %v", got)
	}

	page, more, err := alice.History(ctx, convBob, parley.HistoryQuery{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	checkSeqs(t, "newest page", page, []int64{4, 5})
	if !more {
		t.Fatal("newest page: more = false")
	}
	older, more, err := alice.History(ctx, convBob, parley.HistoryQuery{MsgID: page[0].MsgID, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	checkSeqs(t, "older page", older, []int64{1, 2, 3})
	if more {
		t.Fatal("oldest page: more = true")
	}
	newer, _, err := alice.History(ctx, convBob, parley.HistoryQuery{MsgID: older[0].MsgID, Forward: true, Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	checkSeqs(t, "forward page", newer, []int64{2, 3})

	if err := alice.DeleteConversation(ctx, convCarol); err != nil {
		t.Fatal(err)
	}
	if got := peers(); !slices.Equal(got, []string{"bob"}) {
		t.Fatalf("conversations after deleting carol's: %v", got)
	}
	if items, _, err := alice.History(ctx, convCarol, parley.HistoryQuery{}); err != nil || len(items) != 0 {
		t.Fatalf("history of a deleted conversation: %d items, %v", len(items), err)
	}
	if _, _, err := alice.History(ctx, "999999", parley.HistoryQuery{}); !parley.IsCode(err, protocol.ErrConversationNotFound) {
		t.Fatalf("history of an unknown conversation: %v", err)
	}
	if p, err := alice.Ping(ctx); err != nil || p.TS == 0 {
		t.Fatalf("ping: %+v, %v", p, err)
	}
	if _, err := alice.SendText(ctx, "nobody", "x"); !parley.IsCode(err, protocol.ErrUserNotFound) {
		t.Fatalf("send to an unknown user: %v", err)
	}
}

// Deactivating a user logs its devices out for good (close 4004).
func testForcedLogout(t *testing.T, s *servertest.Server) {
	a := newApp(t, s, tenant.Settings{}, "alice")
	alice, al := a.dial(t, "alice", "a1")
	if r := s.Do(t, "POST", a.path("/users/alice/deactivate"), a.token, nil); r.Status != 200 {
		t.Fatalf("deactivate: %d %s", r.Status, r.Raw)
	}
	waitFinal(t, al, protocol.CloseKicked)
	var ce *parley.CloseError
	if !errors.As(alice.Err(), &ce) || ce.Code != protocol.CloseKicked {
		t.Fatalf("Err = %v", alice.Err())
	}
}

// A fifth device pushes out the oldest (max_devices 4, kick_oldest); with
// device_overflow reject, the new device is refused instead.
func testDeviceLimit(t *testing.T, s *servertest.Server) {
	a := newApp(t, s, tenant.Settings{}, "alice")
	_, first := a.dial(t, "alice", "d1")
	for i := 2; i <= 5; i++ {
		a.dial(t, "alice", fmt.Sprint("d", i))
	}
	waitFinal(t, first, protocol.CloseTooMany)

	r := newApp(t, s, tenant.Settings{MaxDevices: 1, DeviceOverflow: tenant.OverflowReject}, "bob")
	r.dial(t, "bob", "b1")
	if _, err := parley.Dial(ctxT(t), r.config(t, "bob", "b2")); !parley.IsCode(err, protocol.ErrTooManyDevices) {
		t.Fatalf("dial over the limit: %v, want too_many_devices", err)
	}
}

// The same resource logging in again replaces the older connection (4005).
func testResourceReplaced(t *testing.T, s *servertest.Server) {
	a := newApp(t, s, tenant.Settings{}, "alice")
	old, ol := a.dial(t, "alice", "laptop")
	now, _ := a.dial(t, "alice", "laptop")
	waitFinal(t, ol, protocol.CloseReplaced)
	if _, err := now.Ping(ctxT(t)); err != nil {
		t.Fatalf("the new connection: %v", err)
	}
	var ce *parley.CloseError
	if !errors.As(old.Err(), &ce) || ce.Code != protocol.CloseReplaced {
		t.Fatalf("old client: %v", old.Err())
	}
}

// Failures the server answers: a refused token, an oversized message, a
// recipient that does not exist.
func testRefusals(t *testing.T, s *servertest.Server) {
	a := newApp(t, s, tenant.Settings{MaxMessageBytes: 100}, "alice")
	cfg := a.config(t, "alice", "a1")
	cfg.Token, cfg.Password = "P1.not-a-token", ""
	if _, err := parley.Dial(ctxT(t), cfg); !parley.IsCode(err, protocol.ErrBadAccessToken) {
		t.Fatalf("dial with a bad token: %v", err)
	}
	cfg = a.config(t, "alice", "a1")
	cfg.Password = "wrong"
	if _, err := parley.Dial(ctxT(t), cfg); !parley.IsCode(err, protocol.ErrInvalidGrant) {
		t.Fatalf("dial with a wrong password: %v", err)
	}
	alice, _ := a.dial(t, "alice", "a1")
	if _, err := alice.SendText(ctxT(t), "alice", strings.Repeat("x", 200)); !parley.IsCode(err, protocol.ErrMessageTooLarge) {
		t.Fatalf("oversized message: %v", err)
	}
	if _, err := alice.SendText(ctxT(t), "nobody", "x"); !parley.IsCode(err, protocol.ErrUserNotFound) {
		t.Fatalf("send to an unknown user: %v", err)
	}
	if _, err := alice.Ping(ctxT(t)); err != nil {
		t.Fatalf("the connection after refusals: %v", err)
	}
}

// pagingApp makes an app where each of 105 users sent "hub" one message
// (through REST), so hub has more conversations than one sync page (100).
// state, when given, is a device of hub that knew the app before.
func pagingApp(t *testing.T, s *servertest.Server, state parley.State) (*app, []string) {
	const senders = 105
	var users []string
	for i := range senders {
		users = append(users, fmt.Sprintf("u%03d", i))
	}
	a := newApp(t, s, tenant.Settings{}, "hub")
	for start := 0; start < senders; start += 60 {
		var body []map[string]string
		for _, u := range users[start:min(start+60, senders)] {
			body = append(body, map[string]string{"username": u, "password": password})
		}
		if r := s.Do(t, "POST", a.path("/users"), a.token, body); r.Status != 200 {
			t.Fatalf("register: %d %s", r.Status, r.Raw)
		}
	}
	if state != nil {
		cfg := a.config(t, "hub", "h1")
		cfg.State = state
		hub, _ := dial(t, cfg)
		hub.Close() // a known device, now offline
	}
	for _, u := range users {
		r := s.Do(t, "POST", a.path("/messages/users"), a.token, map[string]any{
			"from": u, "to": []string{"hub"}, "type": "txt", "body": map[string]string{"msg": "hello from " + u}})
		if r.Status != 200 {
			t.Fatalf("REST send: %d %s", r.Status, r.Raw)
		}
	}
	return a, users
}

// A returning device with more changed conversations than one sync page
// pulls them all.
func testSyncPaging(t *testing.T, s *servertest.Server) {
	state := parley.NewMemoryState()
	a, users := pagingApp(t, s, state)
	cfg := a.config(t, "hub", "h1")
	cfg.State = state
	_, back := dial(t, cfg)
	got := parley.Messages(back.WaitFor(t, "a message from every sender", parley.HasMessages(len(users))))
	from := map[string]bool{}
	for _, it := range got {
		if it.Seq != 1 {
			t.Fatalf("message %+v", it)
		}
		from[it.From] = true
	}
	if len(from) != len(users) {
		t.Fatalf("messages from %d senders, want %d", len(from), len(users))
	}
}

// A new device gets every conversation with its recent items, on every
// page of its first sync (docs/protocol.md, "New device").
func testNewDeviceSyncPaging(t *testing.T, s *servertest.Server) {
	a, users := pagingApp(t, s, nil)
	_, fresh := a.dial(t, "hub", "h2")
	evs := fresh.WaitFor(t, "every conversation", func(evs []parley.Event) bool {
		return len(syncedConvs(evs)) >= len(users)
	})
	if n := len(parley.Messages(evs)); n != 0 {
		t.Fatalf("a new device got %d old messages as events", n)
	}
	var without []string
	for id, cv := range syncedConvs(evs) {
		if cv.LastSeq != 1 {
			t.Fatalf("conversation %s: last_seq %d", id, cv.LastSeq)
		}
		if len(cv.Recent) != 1 {
			without = append(without, id)
		}
	}
	if len(without) > 0 {
		slices.Sort(without)
		t.Fatalf("%d of %d conversations came without their recent items in the new device's sync: %v",
			len(without), len(users), without)
	}
}

func syncedConvs(evs []parley.Event) map[string]*protocol.Conversation {
	out := map[string]*protocol.Conversation{}
	for _, ev := range evs {
		if c, ok := ev.(parley.ConversationEvent); ok && c.FromSync {
			out[c.Conversation.ConvID] = c.Conversation
		}
	}
	return out
}

// ROUTE_ONLINE messages reach online devices only and take no seq.
func testRouteOnline(t *testing.T, s *servertest.Server) {
	a := newApp(t, s, tenant.Settings{}, "alice", "bob", "carol")
	alice, al := a.dial(t, "alice", "a1")
	_, bl := a.dial(t, "bob", "b1")
	ack, err := alice.Send(ctxT(t), parley.OutgoingMessage{To: "bob", Type: protocol.MsgCmd,
		Body: map[string]string{"action": "typing"}, RouteOnline: true})
	if err != nil {
		t.Fatal(err)
	}
	if ack.Seq != 0 {
		t.Fatalf("ack %+v, want seq 0", ack)
	}
	got := parley.Messages(bl.WaitFor(t, "the online message", parley.HasMessages(1)))
	if !got[0].Online || got[0].Seq != 0 {
		t.Fatalf("bob got %+v", got[0])
	}
	sendTexts(t, alice, "bob", 1)
	got = parley.Messages(bl.WaitFor(t, "the stored message", parley.HasMessages(2)))
	if got[1].Seq != 1 {
		t.Fatalf("the stored message after an online one has seq %d, want 1", got[1].Seq)
	}
	if n := len(parley.Messages(al.Events())); n > 1 {
		t.Fatalf("alice saw %d messages, want only her stored one", n)
	}

	if _, err := alice.Send(ctxT(t), parley.OutgoingMessage{To: "carol", Type: protocol.MsgText,
		Body: map[string]string{"msg": "nobody online"}, RouteOnline: true}); err != nil {
		t.Fatal(err)
	}
	_, cl := a.dial(t, "carol", "c1")
	cl.WaitFor(t, "carol's sync", parley.HasConnState(parley.Resynced, 1))
	if n := len(parley.Messages(cl.Events())) + len(syncedConvs(cl.Events())); n != 0 {
		t.Fatalf("an online-only message was stored for carol: %s", parley.Describe(cl.Events()))
	}
}

func waitFinal(t *testing.T, l *parley.EventLog, code int) {
	t.Helper()
	select {
	case <-l.Closed():
	case <-time.After(10 * time.Second):
		t.Fatalf("events not closed; got%s", parley.Describe(l.Events()))
	}
	evs := l.Events()
	last, ok := evs[len(evs)-1].(parley.ConnectionEvent)
	if !ok || !last.Final || last.Code != code {
		t.Fatalf("last event %+v, want a final disconnect with %d", evs[len(evs)-1], code)
	}
}
