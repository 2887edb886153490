package storetest

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parleyim/parley/internal/store"
)

var nextID atomic.Int64

func init() { nextID.Store(1 << 40) }

func msgOp(appID, from, to int64, cmid string) *store.AppendOp {
	id := nextID.Add(1)
	return &store.AppendOp{Item: store.Item{ID: id, AppID: appID, From: from, To: to, Type: "txt",
		Body: []byte(fmt.Sprintf(`{"msg":"m%d"}`, id)), Ext: []byte(`{"k":"v"}`), ClientMsgID: cmid, Created: id}}
}

func appendOK(t *testing.T, s store.Store, ops ...*store.AppendOp) {
	t.Helper()
	if err := s.Messages().Append(ctx, ops); err != nil {
		t.Fatal(err)
	}
	for _, op := range ops {
		if op.Err != nil {
			t.Fatalf("append: %v", op.Err)
		}
	}
}

// messageTests are part of the suite run by Run.
var messageTests = []struct {
	name string
	fn   func(t *testing.T, s store.Store)
}{
	{"Messages_AppendAndRead", testAppendAndRead},
	{"Messages_Idempotent", testAppendIdempotent},
	{"Messages_ConcurrentGapFree", testAppendConcurrent},
	{"Messages_History", testHistory},
	{"Messages_Recall", testRecall},
	{"Messages_Edit", testEdit},
	{"Conversations_SyncAndList", testConversations},
	{"Conversations_Receipts", testReceipts},
	{"Messages_OnCommit", testOnCommit},
	{"Messages_SubmitPipelined", testSubmitPipelined},
	{"Messages_BatchAppend", testBatchAppend},
	{"Messages_BatchAppendWithRecalls", testBatchAppendWithRecalls},
}

func testAppendAndRead(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	op1, op2, op3 := msgOp(a.ID, 1, 2, "c1"), msgOp(a.ID, 2, 1, "c2"), msgOp(a.ID, 1, 3, "")
	appendOK(t, s, op1, op2, op3)
	if op1.Item.ConvID == 0 || op1.Item.ConvID != op2.Item.ConvID || op3.Item.ConvID == op1.Item.ConvID {
		t.Fatalf("conversations: %d %d %d", op1.Item.ConvID, op2.Item.ConvID, op3.Item.ConvID)
	}
	if op1.Item.Seq+op2.Item.Seq != 3 || op3.Item.Seq != 1 {
		t.Fatalf("seqs %d %d %d", op1.Item.Seq, op2.Item.Seq, op3.Item.Seq)
	}
	got, err := s.Messages().Item(ctx, a.ID, op1.Item.ID)
	if err != nil || string(got.Body) != string(op1.Item.Body) || string(got.Ext) != `{"k":"v"}` || got.Kind != store.ItemMsg ||
		got.From != 1 || got.To != 2 || got.ClientMsgID != "c1" {
		t.Fatalf("item: %v %+v", err, got)
	}
	_, err = s.Messages().Item(ctx, a.ID+1, op1.Item.ID)
	mustNotFound(t, err)
	items, err := s.Messages().Items(ctx, op1.Item.ConvID, 0, 10)
	if err != nil || len(items) != 2 || items[0].Seq != 1 || items[1].Seq != 2 {
		t.Fatalf("items: %v %+v", err, items)
	}
	items, _ = s.Messages().Items(ctx, op1.Item.ConvID, 1, 10)
	if len(items) != 1 || items[0].Seq != 2 {
		t.Fatalf("items after 1: %+v", items)
	}
	c, err := s.Conversations().Find(ctx, a.ID, store.ConvChat, 2, 1)
	if err != nil || c.LastSeq != 2 || c.UserA != 1 || c.UserB != 2 {
		t.Fatalf("find: %v %+v", err, c)
	}
	v1, _ := s.Conversations().View(ctx, c.ID, 1)
	v2, _ := s.Conversations().View(ctx, c.ID, 2)
	// Each got one message from the other.
	if v1.Unread != 1 || v2.Unread != 1 || v1.PeerID != 2 || v2.PeerID != 1 || v1.Conv.LastSeq != 2 {
		t.Fatalf("views: %+v %+v", v1, v2)
	}
	_, err = s.Conversations().View(ctx, c.ID, 3)
	mustNotFound(t, err)
	st, err := s.Conversations().State(ctx, c.ID, 2)
	if err != nil || st.Unread != 0 || st.Conv.LastSeq != 2 || st.PeerID != 1 {
		t.Fatalf("state: %v %+v", err, st)
	}
	_, err = s.Conversations().State(ctx, c.ID, 3)
	mustNotFound(t, err)
}

func testAppendIdempotent(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	first := msgOp(a.ID, 1, 2, "same")
	appendOK(t, s, first)
	again := msgOp(a.ID, 1, 2, "same")
	again.Item.Body = []byte(`{"msg":"different"}`)
	other := msgOp(a.ID, 3, 2, "same") // same key, other sender: a new message
	appendOK(t, s, again, other)
	if !again.Duplicate || again.Item.ID != first.Item.ID || again.Item.Seq != first.Item.Seq || string(again.Item.Body) != string(first.Item.Body) {
		t.Fatalf("retry: %+v", again)
	}
	if other.Duplicate {
		t.Fatal("another sender's key counted as a duplicate")
	}
	c, _ := s.Conversations().Find(ctx, a.ID, store.ConvChat, 1, 2)
	v, _ := s.Conversations().View(ctx, c.ID, 2)
	if c.LastSeq != 1 || v.Unread != 1 {
		t.Fatalf("retry stored something: last_seq %d unread %d", c.LastSeq, v.Unread)
	}
	// Duplicates inside one batch.
	x, y := msgOp(a.ID, 5, 6, "k"), msgOp(a.ID, 5, 6, "k")
	appendOK(t, s, x, y)
	if x.Duplicate == y.Duplicate || x.Item.ID != y.Item.ID {
		t.Fatalf("in-batch duplicate: %+v %+v", x, y)
	}
}

func testAppendConcurrent(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	const senders, each = 6, 40
	var wg sync.WaitGroup
	var mu sync.Mutex
	seqs := map[int64]bool{}
	for w := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				from, to := int64(1), int64(2)
				if w%2 == 1 {
					from, to = 2, 1
				}
				op := msgOp(a.ID, from, to, fmt.Sprintf("w%d-%d", w, i))
				if err := s.Messages().Append(ctx, []*store.AppendOp{op}); err != nil || op.Err != nil {
					t.Errorf("append: %v %v", err, op.Err)
					return
				}
				mu.Lock()
				if seqs[op.Item.Seq] {
					t.Errorf("seq %d assigned twice", op.Item.Seq)
				}
				seqs[op.Item.Seq] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for i := int64(1); i <= senders*each; i++ {
		if !seqs[i] {
			t.Fatalf("seq %d missing: not gap-free", i)
		}
	}
	c, _ := s.Conversations().Find(ctx, a.ID, store.ConvChat, 1, 2)
	items, _ := s.Messages().Items(ctx, c.ID, 0, 1000)
	if c.LastSeq != senders*each || len(items) != senders*each {
		t.Fatalf("last_seq %d, %d items", c.LastSeq, len(items))
	}
	v, _ := s.Conversations().View(ctx, c.ID, 2)
	if v.Unread != senders/2*each {
		t.Fatalf("unread %d, want %d", v.Unread, senders/2*each)
	}
}

func testHistory(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	var conv int64
	for i := range 10 {
		op := msgOp(a.ID, 1, 2, fmt.Sprint(i))
		appendOK(t, s, op)
		conv = op.Item.ConvID
	}
	seqsOf := func(items []store.Item) (out []int64) {
		for _, it := range items {
			out = append(out, it.Seq)
		}
		return out
	}
	tests := []struct {
		name string
		q    store.HistoryQuery
		want string
	}{
		{"newest", store.HistoryQuery{Limit: 3}, "[8 9 10]"},
		{"before 5", store.HistoryQuery{BeforeSeq: 5, Limit: 3}, "[2 3 4]"},
		{"before 3, more than there is", store.HistoryQuery{BeforeSeq: 3, Limit: 10}, "[1 2]"},
		{"forward after 7", store.HistoryQuery{Forward: true, AfterSeq: 7, Limit: 10}, "[8 9 10]"},
		{"cleared up to 6", store.HistoryQuery{MinSeq: 6, Limit: 10}, "[7 8 9 10]"},
		{"forward from cleared", store.HistoryQuery{Forward: true, MinSeq: 8, Limit: 10}, "[9 10]"},
	}
	for _, tc := range tests {
		items, err := s.Messages().History(ctx, conv, tc.q)
		if err != nil || fmt.Sprint(seqsOf(items)) != tc.want {
			t.Errorf("%s: %v %v, want %s", tc.name, err, seqsOf(items), tc.want)
		}
	}
	all, _ := s.Messages().Items(ctx, conv, 0, 100)
	if seq, err := s.Messages().SeqAt(ctx, conv, all[4].Created); err != nil || seq != 5 {
		t.Errorf("SeqAt: %d %v", seq, err)
	}
	if seq, _ := s.Messages().SeqAt(ctx, conv, all[9].Created+1); seq != 11 {
		t.Errorf("SeqAt after the end: %d", seq)
	}
}

func testRecall(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	m1, m2 := msgOp(a.ID, 1, 2, "a"), msgOp(a.ID, 1, 2, "b")
	appendOK(t, s, m1)
	appendOK(t, s, m2)
	op := &store.RecallOp{AppID: a.ID, TargetID: m1.Item.ID, RecallID: nextID.Add(1), Created: 99}
	if err := s.Messages().Recall(ctx, op); err != nil {
		t.Fatal(err)
	}
	if op.Target.ID != m1.Item.ID || op.Event.Seq != 3 || op.Event.Kind != store.ItemRecall || op.Event.Target != m1.Item.ID {
		t.Fatalf("recall op: %+v", op)
	}
	got, _ := s.Messages().Item(ctx, a.ID, m1.Item.ID)
	if !got.Recalled || len(got.Body) != 0 || len(got.Ext) != 0 {
		t.Fatalf("recalled item: %+v", got)
	}
	v, _ := s.Conversations().View(ctx, m1.Item.ConvID, 2)
	if v.Unread != 1 || v.Conv.LastSeq != 3 {
		t.Fatalf("after recall: unread %d last %d", v.Unread, v.Conv.LastSeq)
	}
	items, _ := s.Messages().Items(ctx, m1.Item.ConvID, 2, 10)
	if len(items) != 1 || items[0].Kind != store.ItemRecall {
		t.Fatalf("recall item not in stream: %+v", items)
	}
	hist, _ := s.Messages().History(ctx, m1.Item.ConvID, store.HistoryQuery{Limit: 10})
	if len(hist) != 2 || !hist[0].Recalled {
		t.Fatalf("history: %+v", hist)
	}
	again := &store.RecallOp{AppID: a.ID, TargetID: m1.Item.ID, RecallID: nextID.Add(1), Created: 100}
	if err := s.Messages().Recall(ctx, again); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("second recall: %v", err)
	}
	ev := &store.RecallOp{AppID: a.ID, TargetID: op.Event.ID, RecallID: nextID.Add(1), Created: 100}
	if err := s.Messages().Recall(ctx, ev); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("recalling a recall event: %v", err)
	}
	missing := &store.RecallOp{AppID: a.ID, TargetID: 12345, RecallID: nextID.Add(1), Created: 100}
	mustNotFound(t, s.Messages().Recall(ctx, missing))
	if c, _ := s.Conversations().Find(ctx, a.ID, store.ConvChat, 1, 2); c.LastSeq != 3 {
		t.Fatalf("failed recalls changed last_seq: %d", c.LastSeq)
	}
}

func testEdit(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	m1 := msgOp(a.ID, 1, 2, "a")
	appendOK(t, s, m1)
	edit := func(body string) (*store.EditOp, error) {
		op := &store.EditOp{AppID: a.ID, TargetID: m1.Item.ID, EditID: nextID.Add(1), Body: []byte(body),
			Ext: []byte(`{"k":1}`), MaxEdits: 2, Created: 200}
		return op, s.Messages().Edit(ctx, op)
	}
	op, err := edit(`{"msg":"b"}`)
	if err != nil {
		t.Fatal(err)
	}
	if op.Event.Kind != store.ItemEdit || op.Event.Seq != 2 || op.Event.Target != m1.Item.ID || op.Event.Edits != 1 ||
		string(op.Event.Body) != `{"msg":"b"}` || op.Target.Edits != 0 {
		t.Fatalf("edit op: %+v", op)
	}
	got, _ := s.Messages().Item(ctx, a.ID, m1.Item.ID)
	if string(got.Body) != `{"msg":"b"}` || string(got.Ext) != `{"k":1}` || got.Edits != 1 {
		t.Fatalf("edited item: %+v", got)
	}
	// The edit is in the stream, not in the history; it is not unread.
	items, _ := s.Messages().Items(ctx, m1.Item.ConvID, 1, 10)
	if len(items) != 1 || items[0].Kind != store.ItemEdit || string(items[0].Body) != `{"msg":"b"}` {
		t.Fatalf("stream: %+v", items)
	}
	hist, _ := s.Messages().History(ctx, m1.Item.ConvID, store.HistoryQuery{Limit: 10})
	if len(hist) != 1 || hist[0].Edits != 1 || string(hist[0].Body) != `{"msg":"b"}` {
		t.Fatalf("history: %+v", hist)
	}
	if v, _ := s.Conversations().View(ctx, m1.Item.ConvID, 2); v.Unread != 1 {
		t.Fatalf("unread after an edit: %d", v.Unread)
	}
	if _, err := edit(`{"msg":"c"}`); err != nil {
		t.Fatal(err)
	}
	// The limit, then edits of what cannot be edited.
	if _, err := edit(`{"msg":"d"}`); !errors.Is(err, store.ErrLimit) {
		t.Fatalf("third edit with MaxEdits 2: %v", err)
	}
	ev := &store.EditOp{AppID: a.ID, TargetID: op.Event.ID, EditID: nextID.Add(1), Body: []byte(`{}`), Created: 300}
	if err := s.Messages().Edit(ctx, ev); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("editing an edit item: %v", err)
	}
	rc := &store.RecallOp{AppID: a.ID, TargetID: m1.Item.ID, RecallID: nextID.Add(1), Created: 300}
	if err := s.Messages().Recall(ctx, rc); err != nil {
		t.Fatal(err)
	}
	re := &store.EditOp{AppID: a.ID, TargetID: m1.Item.ID, EditID: nextID.Add(1), Body: []byte(`{}`), Created: 300}
	if err := s.Messages().Edit(ctx, re); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("editing a recalled message: %v", err)
	}
	mustNotFound(t, s.Messages().Edit(ctx, &store.EditOp{AppID: a.ID, TargetID: 99999, EditID: nextID.Add(1), Created: 1}))
	if c, _ := s.Conversations().Find(ctx, a.ID, store.ConvChat, 1, 2); c.LastSeq != 4 {
		t.Fatalf("last_seq %d: failed edits must not take a seq", c.LastSeq)
	}
}

func testConversations(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	// User 1 talks with 2, 3 and 4, in that order.
	var ops []*store.AppendOp
	for _, peer := range []int64{2, 3, 4} {
		op := msgOp(a.ID, peer, 1, "")
		appendOK(t, s, op)
		ops = append(ops, op)
	}
	changed, err := s.Conversations().Changed(ctx, a.ID, 1, 0, 10)
	if err != nil || len(changed) != 3 || changed[0].PeerID != 2 || changed[2].PeerID != 4 {
		t.Fatalf("changed: %v %+v", err, changed)
	}
	since := changed[1].Version
	changed, _ = s.Conversations().Changed(ctx, a.ID, 1, since, 10)
	if len(changed) != 1 || changed[0].PeerID != 4 {
		t.Fatalf("changed since: %+v", changed)
	}
	list, _ := s.Conversations().List(ctx, a.ID, 1, 0, 10)
	if len(list) != 3 || list[0].PeerID != 4 {
		t.Fatalf("list by recency: %+v", list)
	}
	if _, err := s.Conversations().SetPinned(ctx, ops[0].Item.ConvID, 1, true, nextID.Add(1)); err != nil {
		t.Fatal(err)
	}
	list, _ = s.Conversations().List(ctx, a.ID, 1, 0, 10)
	if list[0].PeerID != 2 || !list[0].Pinned {
		t.Fatalf("pinned first: %+v", list)
	}
	page2, _ := s.Conversations().List(ctx, a.ID, 1, 2, 10)
	if len(page2) != 1 {
		t.Fatalf("offset paging: %+v", page2)
	}
	v, err := s.Conversations().Clear(ctx, ops[1].Item.ConvID, 1, nextID.Add(1))
	if err != nil || v.ClearedSeq != 1 || v.Unread != 0 || v.ReadSeq != 1 {
		t.Fatalf("clear: %v %+v", err, v)
	}
	list, _ = s.Conversations().List(ctx, a.ID, 1, 0, 10)
	if len(list) != 2 {
		t.Fatalf("cleared conversation still listed: %+v", list)
	}
	appendOK(t, s, msgOp(a.ID, 3, 1, "")) // a new message brings it back
	list, _ = s.Conversations().List(ctx, a.ID, 1, 0, 10)
	if len(list) != 3 {
		t.Fatalf("conversation did not come back: %+v", list)
	}
	_, err = s.Conversations().SetPinned(ctx, ops[0].Item.ConvID, 99, true, 1)
	mustNotFound(t, err)
}

func testReceipts(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	var last *store.AppendOp
	for i := range 5 {
		last = msgOp(a.ID, 1, 2, fmt.Sprint(i))
		appendOK(t, s, last)
	}
	conv := last.Item.ConvID
	if n, _ := s.Conversations().Undelivered(ctx, a.ID, 2); n != 5 {
		t.Fatalf("undelivered %d", n)
	}
	ok, err := s.Conversations().MarkDelivered(ctx, conv, 2, 3)
	if err != nil || !ok {
		t.Fatalf("delivered: %v %v", ok, err)
	}
	if ok, _ := s.Conversations().MarkDelivered(ctx, conv, 2, 2); ok {
		t.Fatal("delivered went backwards")
	}
	if n, _ := s.Conversations().Undelivered(ctx, a.ID, 2); n != 2 {
		t.Fatalf("undelivered after ack: %d", n)
	}
	before, _ := s.Conversations().View(ctx, conv, 1)
	v, changed, err := s.Conversations().MarkRead(ctx, conv, 2, 4, nextID.Add(1))
	if err != nil || !changed || v.ReadSeq != 4 || v.Unread != 1 || v.DeliveredSeq != 4 {
		t.Fatalf("read: %v %v %+v", err, changed, v)
	}
	peer, _ := s.Conversations().View(ctx, conv, 1)
	if peer.PeerReadSeq != 4 || peer.PeerDeliveredSeq != 4 || peer.Version <= before.Version {
		t.Fatalf("peer view after read: %+v", peer)
	}
	if _, changed, _ := s.Conversations().MarkRead(ctx, conv, 2, 3, nextID.Add(1)); changed {
		t.Fatal("read went backwards")
	}
}

func testOnCommit(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	var mu sync.Mutex
	var announced []int64
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				op := msgOp(a.ID, 1, 2, fmt.Sprintf("w%d-%d", w, i))
				op.OnCommit = func(op *store.AppendOp) {
					mu.Lock()
					announced = append(announced, op.Item.Seq)
					mu.Unlock()
				}
				appendOK(t, s, op)
				if i == 0 {
					// A retry is not announced again.
					dup := msgOp(a.ID, 1, 2, fmt.Sprintf("w%d-%d", w, i))
					dup.OnCommit = func(*store.AppendOp) { t.Error("duplicate announced") }
					appendOK(t, s, dup)
				}
			}
		}()
	}
	wg.Wait()
	// Announcements may trail Append's return: wait for them.
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := len(announced)
		mu.Unlock()
		if n >= 100 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // a duplicate announcement would show up here
	mu.Lock()
	defer mu.Unlock()
	if len(announced) != 100 {
		t.Fatalf("%d announcements, want 100", len(announced))
	}
	seen := map[int64]bool{}
	for _, seq := range announced {
		seen[seq] = true
	}
	if len(seen) != 100 {
		t.Fatal("an item was announced twice")
	}
}

// testSubmitPipelined: callers queue many ops without waiting (as a
// connection pipelining its sends does). Each caller's ops into one
// conversation are stored in submission order, every op is answered once,
// a conversation's items are announced in seq order, and a retry queued
// right behind its original is a duplicate.
func testSubmitPipelined(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	const senders, perSender = 4, 150
	var mu sync.Mutex
	announced := map[int64][]int64{} // conv -> seqs in announcement order
	answered := map[*store.AppendOp]int{}
	var wg sync.WaitGroup
	results := make([][]*store.AppendOp, senders)
	for w := range senders {
		from := int64(100 + w)
		go func() {
			for i := range perSender {
				to := int64(200 + i%2) // two conversations per sender, interleaved
				op := msgOp(a.ID, from, to, fmt.Sprintf("p%d-%d", w, i))
				op.OnCommit = func(op *store.AppendOp) {
					mu.Lock()
					announced[op.Item.ConvID] = append(announced[op.Item.ConvID], op.Item.Seq)
					mu.Unlock()
				}
				ops := []*store.AppendOp{op}
				if i%50 == 7 {
					ops = append(ops, msgOp(a.ID, from, to, fmt.Sprintf("p%d-%d", w, i))) // an immediate retry
				}
				for _, op := range ops {
					wg.Add(1)
					err := s.Messages().Submit(ctx, op, func(op *store.AppendOp) {
						mu.Lock()
						answered[op]++
						mu.Unlock()
						wg.Done()
					})
					if err != nil {
						t.Errorf("submit: %v", err)
						wg.Done()
					}
				}
				mu.Lock()
				results[w] = append(results[w], ops...)
				mu.Unlock()
			}
		}()
	}
	// Wait until all were submitted (wg.Add happens before each submit).
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := 0
		for _, r := range results {
			n += len(r)
		}
		mu.Unlock()
		if n >= senders*(perSender+3) || time.Now().After(deadline) {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	for w, ops := range results {
		last := map[int64]int64{}
		for _, op := range ops {
			if answered[op] != 1 {
				t.Fatalf("op answered %d times", answered[op])
			}
			if op.Err != nil {
				t.Fatalf("sender %d: %v", w, op.Err)
			}
			c := op.Item.ConvID
			if op.Duplicate {
				if op.Item.Seq != last[c] {
					t.Fatalf("retry got seq %d, original %d", op.Item.Seq, last[c])
				}
				continue
			}
			if op.Item.Seq <= last[c] {
				t.Fatalf("sender %d: seq %d after %d in conversation %d: not in submission order", w, op.Item.Seq, last[c], c)
			}
			last[c] = op.Item.Seq
		}
	}
	if len(announced) != senders*2 {
		t.Fatalf("%d conversations announced, want %d", len(announced), senders*2)
	}
	for c, seqs := range announced {
		for i, seq := range seqs {
			if seq != int64(i+1) {
				t.Fatalf("conversation %d announced %v: want 1, 2, 3, ... in order", c, seqs[:i+1])
			}
		}
	}
}

// testBatchAppend: many ops queued at once into known conversations (so a
// writer takes them as one batch, which PostgreSQL appends with array
// statements), among them duplicates of stored messages, duplicates inside
// the batch, and ops that fail. Each outcome is what appending the ops one
// by one gives: failures isolated, seqs gap-free in submission order,
// duplicates answered with the original, announcements in seq order.
func testBatchAppend(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	pre := []*store.AppendOp{msgOp(a.ID, 1, 2, "pre"), msgOp(a.ID, 3, 4, "")}
	appendOK(t, s, pre...) // the conversations exist (and are known) before the batch
	convs := map[int64]int64{1: pre[0].Item.ConvID, 3: pre[1].Item.ConvID}

	type want int
	const (
		stored     want = iota // a new message
		dupStored              // a duplicate of "pre", stored before
		dupEarlier             // a duplicate of the op at index of
		notFound               // fails: no such conversation
		conflict               // fails: its item ID is taken
	)
	type tc struct {
		from, to int64
		cmid     string
		want     want
		of       int // dupEarlier: the original's index
	}
	var cases []tc
	for i := range 60 {
		from, to := int64(1), int64(2)
		if i%3 == 1 {
			from, to = 3, 4
		} else if i%3 == 2 {
			from, to = 2, 1
		}
		cases = append(cases, tc{from: from, to: to, cmid: fmt.Sprintf("b%d", i)})
		switch i {
		case 5: // a retry right behind its original
			cases = append(cases, tc{from: from, to: to, cmid: fmt.Sprintf("b%d", i), want: dupEarlier, of: len(cases) - 1})
		case 10:
			cases = append(cases, tc{from: 1, to: 2, cmid: "pre", want: dupStored})
		case 20:
			cases = append(cases, tc{from: 1, to: 2, cmid: "x-missing", want: notFound})
		case 30: // fails; its retry right behind is then a new message
			cases = append(cases, tc{from: 3, to: 4, cmid: "x-taken", want: conflict},
				tc{from: 3, to: 4, cmid: "x-taken"})
		case 40: // a retry of an op far ahead in the batch
			cases = append(cases, tc{from: 1, to: 2, cmid: "b0", want: dupEarlier, of: 0})
		}
	}

	var mu sync.Mutex
	announced := map[int64][]int64{}
	answered := map[*store.AppendOp]int{}
	var wg sync.WaitGroup
	ops := make([]*store.AppendOp, len(cases))
	for i, c := range cases {
		op := msgOp(a.ID, c.from, c.to, c.cmid)
		switch c.want {
		case notFound:
			op.Item.ConvID = nextID.Add(1) // a group stream that does not exist
		case conflict:
			op.Item.ID = pre[1].Item.ID
		}
		op.OnCommit = func(op *store.AppendOp) {
			mu.Lock()
			announced[op.Item.ConvID] = append(announced[op.Item.ConvID], op.Item.Seq)
			mu.Unlock()
		}
		ops[i] = op
	}
	for _, op := range ops { // queued without waiting, so they share batches
		wg.Add(1)
		if err := s.Messages().Submit(ctx, op, func(op *store.AppendOp) {
			mu.Lock()
			answered[op]++
			mu.Unlock()
			wg.Done()
		}); err != nil {
			t.Fatalf("submit: %v", err)
		}
	}
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	last := map[int64]int64{convs[1]: 1, convs[3]: 1}
	for i, c := range cases {
		op := ops[i]
		if answered[op] != 1 {
			t.Fatalf("op %d answered %d times", i, answered[op])
		}
		switch c.want {
		case notFound:
			if !errors.Is(op.Err, store.ErrNotFound) {
				t.Fatalf("op %d: want ErrNotFound, got %v", i, op.Err)
			}
			continue
		case conflict:
			if !errors.Is(op.Err, store.ErrConflict) {
				t.Fatalf("op %d: want ErrConflict, got %v", i, op.Err)
			}
			continue
		}
		if op.Err != nil {
			t.Fatalf("op %d (%s): %v", i, c.cmid, op.Err)
		}
		switch c.want {
		case dupStored, dupEarlier:
			orig := pre[0].Item
			if c.want == dupEarlier {
				orig = ops[c.of].Item
			}
			if !op.Duplicate || op.Item.ID != orig.ID || op.Item.Seq != orig.Seq || op.Item.ConvID != orig.ConvID ||
				string(op.Item.Body) != string(orig.Body) {
				t.Fatalf("op %d: want a duplicate of %+v, got %+v (duplicate %v)", i, orig, op.Item, op.Duplicate)
			}
			continue
		}
		conv := convs[min(c.from, c.to)]
		if op.Duplicate || op.Item.ConvID != conv || op.Item.Seq != last[conv]+1 {
			t.Fatalf("op %d: conversation %d seq %d (duplicate %v), want conversation %d seq %d",
				i, op.Item.ConvID, op.Item.Seq, op.Duplicate, conv, last[conv]+1)
		}
		last[conv] = op.Item.Seq
		got, err := s.Messages().Item(ctx, a.ID, op.Item.ID)
		if err != nil || got.Seq != op.Item.Seq || got.ConvID != conv || string(got.Body) != string(msgBody(op)) ||
			string(got.Ext) != `{"k":"v"}` || got.Kind != store.ItemMsg || got.ClientMsgID != c.cmid || got.From != c.from {
			t.Fatalf("op %d stored as %+v (%v)", i, got, err)
		}
	}
	for from, conv := range convs {
		c, err := s.Conversations().Find(ctx, a.ID, store.ConvChat, from, from+1)
		if err != nil || c.LastSeq != last[conv] {
			t.Fatalf("conversation %d: last_seq %+v (%v), want %d", conv, c, err, last[conv])
		}
		items, _ := s.Messages().Items(ctx, conv, 0, 1000)
		if int64(len(items)) != last[conv] {
			t.Fatalf("conversation %d: %d items, want %d", conv, len(items), last[conv])
		}
		seqs := announced[conv]
		if int64(len(seqs)) != last[conv]-1 {
			t.Fatalf("conversation %d: %d announcements, want %d", conv, len(seqs), last[conv]-1)
		}
		for i, seq := range seqs {
			if seq != int64(i+2) {
				t.Fatalf("conversation %d announced %v: want 2, 3, 4, ... in order", conv, seqs[:i+1])
			}
		}
	}
	if len(announced) != 2 {
		t.Fatalf("announced in %d conversations, want 2", len(announced))
	}
}

// msgBody is the body msgOp gave op.
func msgBody(op *store.AppendOp) []byte { return []byte(fmt.Sprintf(`{"msg":"m%d"}`, op.Item.ID)) }

// testBatchAppendWithRecalls: recalls (which take a conversation's next seq
// on another writer than its messages, on PostgreSQL) run while pipelined
// messages are appended to the same conversations in batches. Every op
// succeeds and each conversation's seqs stay gap-free: a batch's sequence
// allocation sees the recalls' committed ones.
func testBatchAppendWithRecalls(t *testing.T, s store.Store) {
	a := mkApp(t, s, "acme", "chat")
	seed := []*store.AppendOp{msgOp(a.ID, 1, 2, ""), msgOp(a.ID, 3, 4, "")}
	appendOK(t, s, seed...)
	const perConv, recalls = 150, 20
	var targets []*store.AppendOp // messages to recall, appended before
	for i := range recalls {
		op := msgOp(a.ID, int64(1+2*(i%2)), int64(2+2*(i%2)), "")
		appendOK(t, s, op)
		targets = append(targets, op)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	ops := make([]*store.AppendOp, 0, 2*perConv)
	for i := range 2 * perConv {
		ops = append(ops, msgOp(a.ID, int64(1+2*(i%2)), int64(2+2*(i%2)), fmt.Sprintf("r%d", i)))
	}
	for i, op := range ops {
		wg.Add(1)
		if err := s.Messages().Submit(ctx, op, func(op *store.AppendOp) {
			if op.Err != nil {
				mu.Lock()
				errs = append(errs, op.Err)
				mu.Unlock()
			}
			wg.Done()
		}); err != nil {
			t.Fatalf("submit: %v", err)
		}
		if i%15 == 14 { // a recall while the messages queued so far commit
			m := targets[i/15]
			op := &store.RecallOp{AppID: a.ID, ConvHint: m.Item.ConvID, TargetID: m.Item.ID, RecallID: nextID.Add(1), Created: 99}
			if err := s.Messages().Recall(ctx, op); err != nil {
				t.Fatalf("recall: %v", err)
			}
		}
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("%d ops failed, first: %v", len(errs), errs[0])
	}
	for _, m := range seed {
		conv := m.Item.ConvID
		c, err := s.Conversations().Find(ctx, a.ID, store.ConvChat, m.Item.From, m.Item.To)
		if err != nil {
			t.Fatal(err)
		}
		want := int64(1 + recalls/2 + perConv + recalls/2) // seed, targets, messages, recall events
		items, _ := s.Messages().Items(ctx, conv, 0, 1000)
		if c.LastSeq != want || int64(len(items)) != want {
			t.Fatalf("conversation %d: last_seq %d, %d items, want %d", conv, c.LastSeq, len(items), want)
		}
		for i, it := range items {
			if it.Seq != int64(i+1) {
				t.Fatalf("conversation %d: item %d has seq %d: not gap-free", conv, i, it.Seq)
			}
		}
	}
}
