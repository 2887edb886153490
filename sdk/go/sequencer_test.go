package parley

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"testing"

	"github.com/parleyim/parley/protocol"
)

func TestSequencer_Check(t *testing.T) {
	tests := []struct {
		name  string
		local int64
		seq   int64
		want  verdict
	}{
		{"first item of a new conversation", 0, 1, seqNext},
		{"next", 41, 42, seqNext},
		{"same seq again", 42, 42, seqDuplicate},
		{"older", 42, 7, seqDuplicate},
		{"one missing", 40, 42, seqGap},
		{"many missing on a new conversation", 0, 100, seqGap},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSequencer(func(string) int64 { return tt.local })
			if got := s.check("17", tt.seq); got != tt.want {
				t.Errorf("check(local %d, seq %d) = %v, want %v", tt.local, tt.seq, got, tt.want)
			}
		})
	}
}

func TestSequencer_Advance(t *testing.T) {
	s := newSequencer(nil)
	steps := []struct {
		seq   int64
		moved bool
		local int64
	}{{1, true, 1}, {1, false, 1}, {5, true, 5}, {3, false, 5}, {6, true, 6}}
	for _, st := range steps {
		if moved := s.advance("c", st.seq); moved != st.moved || s.local("c") != st.local {
			t.Fatalf("advance(%d) = %v, local %d; want %v, %d", st.seq, moved, s.local("c"), st.moved, st.local)
		}
	}
	if s.local("other") != 0 {
		t.Fatal("conversations share seqs")
	}
}

// fakeLog is a server-side conversation log for stream tests.
type fakeLog struct {
	items map[string][]*protocol.Item // by conv, seq 1..n at index 0..n-1
	page  int
	pulls []string
	fail  error
}

func newFakeLog(page int, counts map[string]int) *fakeLog {
	l := &fakeLog{items: map[string][]*protocol.Item{}, page: page}
	for conv, n := range counts {
		for seq := 1; seq <= n; seq++ {
			l.items[conv] = append(l.items[conv], msgItem(conv, int64(seq), "bob"))
		}
	}
	return l
}

func msgItem(conv string, seq int64, from string) *protocol.Item {
	return &protocol.Item{Kind: protocol.ItemMsg, ConvID: conv, Seq: seq, From: from, MsgID: fmt.Sprint(1000 + seq)}
}

func (l *fakeLog) pull(_ context.Context, conv string, after int64) ([]*protocol.Item, bool, error) {
	l.pulls = append(l.pulls, fmt.Sprintf("%s>%d", conv, after))
	if l.fail != nil {
		return nil, false, l.fail
	}
	all := l.items[conv]
	var out []*protocol.Item
	for _, it := range all {
		if it.Seq > after && len(out) < l.page {
			out = append(out, it)
		}
	}
	more := len(out) > 0 && out[len(out)-1].Seq < all[len(all)-1].Seq
	return out, more, nil
}

// recorder collects what a stream emits and runs the commits.
type recorder struct {
	got     []string
	notices []GroupNoticeEvent
	state   *MemoryState
}

func (r *recorder) emit(ev Event, commit func()) {
	switch e := ev.(type) {
	case MessageEvent:
		r.got = append(r.got, fmt.Sprintf("msg %s/%d", e.Item.ConvID, e.Item.Seq))
	case RecallEvent:
		r.got = append(r.got, fmt.Sprintf("recall %s/%d", e.Item.ConvID, e.Item.Seq))
	case GroupNoticeEvent:
		r.got = append(r.got, fmt.Sprintf("%s %s/%d", e.Type, e.Item.ConvID, e.Item.Seq))
		r.notices = append(r.notices, e)
	}
	if m, ok := ev.(MessageEvent); ok && m.Mentioned {
		r.got[len(r.got)-1] += " @"
	}
	if commit != nil {
		commit()
	}
}

func newTestStream(state *MemoryState) (*stream, *recorder) {
	r := &recorder{state: state}
	return &stream{seq: newSequencer(state.Seq), rcpt: newReceiptBatcher(), state: state,
		self: func() string { return "alice" }, emit: r.emit, log: slog.New(slog.DiscardHandler)}, r
}

func TestStream_Apply(t *testing.T) {
	tests := []struct {
		name      string
		local     int64                // persisted seq of conv "c"
		server    int                  // items 1..server in conv "c"
		page      int                  // pull page size
		live      []int64              // seqs pushed live, in arrival order
		want      []string             // events
		wantPulls []string             // pull requests
		wantState int64                // persisted seq afterwards
		fail      error                // pull failure
		wantErr   bool                 //
		extra     func(*protocol.Item) // changes the live items
	}{
		{name: "in order", server: 3, page: 100, live: []int64{1, 2, 3},
			want: []string{"msg c/1", "msg c/2", "msg c/3"}, wantState: 3},
		{name: "duplicates dropped", server: 2, page: 100, live: []int64{1, 1, 2, 1, 2},
			want: []string{"msg c/1", "msg c/2"}, wantState: 2},
		{name: "gap pulled before the live item", server: 4, page: 100, live: []int64{1, 4},
			want: []string{"msg c/1", "msg c/2", "msg c/3", "msg c/4"}, wantPulls: []string{"c>1"}, wantState: 4},
		{name: "gap pulled in pages, stops at the live item", server: 9, page: 2, live: []int64{5},
			want:      []string{"msg c/1", "msg c/2", "msg c/3", "msg c/4", "msg c/5", "msg c/6"},
			wantPulls: []string{"c>0", "c>2", "c>4"}, wantState: 6},
		{name: "resumes from persisted seq", local: 5, server: 7, page: 100, live: []int64{3, 7},
			want: []string{"msg c/6", "msg c/7"}, wantPulls: []string{"c>5"}, wantState: 7},
		{name: "late live items after a pull are duplicates", server: 3, page: 100, live: []int64{3, 2, 1},
			want: []string{"msg c/1", "msg c/2", "msg c/3"}, wantPulls: []string{"c>0"}, wantState: 3},
		{name: "pull that does not reach the item leaves it", server: 2, page: 100, live: []int64{5},
			want: []string{"msg c/1", "msg c/2"}, wantPulls: []string{"c>0"}, wantState: 2},
		{name: "pull failure", server: 3, page: 100, live: []int64{3}, fail: errors.New("boom"),
			wantPulls: []string{"c>0"}, wantErr: true},
		{name: "route-online items bypass the sequence", server: 0, page: 100, live: []int64{0, 0},
			want: []string{"msg c/0", "msg c/0"}, extra: func(it *protocol.Item) { it.Online = true }},
		{name: "recall items are ordered like messages", server: 1, page: 100, live: []int64{1, 2},
			want: []string{"msg c/1", "recall c/2"}, wantState: 2,
			extra: func(it *protocol.Item) {
				if it.Seq == 2 {
					it.Kind = protocol.ItemRecall
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := NewMemoryState()
			state.SetSeq("c", tt.local)
			s, rec := newTestStream(state)
			srv := newFakeLog(tt.page, map[string]int{"c": tt.server})
			srv.fail = tt.fail
			var err error
			for _, seq := range tt.live {
				it := msgItem("c", seq, "bob")
				if tt.extra != nil {
					tt.extra(it)
				}
				if err = s.apply(context.Background(), srv.pull, it); err != nil {
					break
				}
			}
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if !reflect.DeepEqual(rec.got, tt.want) {
				t.Errorf("events = %q, want %q", rec.got, tt.want)
			}
			if !reflect.DeepEqual(srv.pulls, tt.wantPulls) {
				t.Errorf("pulls = %q, want %q", srv.pulls, tt.wantPulls)
			}
			if got := state.Seq("c"); got != tt.wantState {
				t.Errorf("persisted seq = %d, want %d", got, tt.wantState)
			}
		})
	}
}

func TestStream_CatchUpAcceptsClearedJump(t *testing.T) {
	state := NewMemoryState()
	s, rec := newTestStream(state)
	srv := newFakeLog(100, map[string]int{"c": 6})
	srv.items["c"] = srv.items["c"][3:] // items 1-3 were deleted by the user
	if err := s.catchUp(context.Background(), srv.pull, "c", 6); err != nil {
		t.Fatal(err)
	}
	if want := []string{"msg c/4", "msg c/5", "msg c/6"}; !reflect.DeepEqual(rec.got, want) {
		t.Fatalf("events = %q, want %q", rec.got, want)
	}
}

func TestStream_DeliveredOnlyForOthersItems(t *testing.T) {
	s, _ := newTestStream(NewMemoryState())
	srv := newFakeLog(100, nil)
	for _, it := range []*protocol.Item{msgItem("a", 1, "bob"), msgItem("a", 2, "bob"), msgItem("a", 3, "alice"),
		msgItem("b", 1, "alice")} {
		if err := s.apply(context.Background(), srv.pull, it); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := s.rcpt.due(), []delivered{{"a", 2}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("due = %v, want %v", got, want)
	}
}

func TestReceiptBatcher(t *testing.T) {
	// op is one call: note(conv, seq), due() expecting want, or done(d, ok).
	type op struct {
		do   string // "note", "due", "ok", "fail"
		d    delivered
		want []delivered
	}
	note := func(conv string, seq int64) op { return op{do: "note", d: delivered{conv, seq}} }
	due := func(want ...delivered) op { return op{do: "due", want: want} }
	ok := func(conv string, seq int64) op { return op{do: "ok", d: delivered{conv, seq}} }
	fail := func(conv string, seq int64) op { return op{do: "fail", d: delivered{conv, seq}} }
	tests := []struct {
		name string
		ops  []op
	}{
		{"coalesced per conversation", []op{
			note("a", 3), note("a", 5), note("b", 1), note("a", 4), due(delivered{"a", 5}, delivered{"b", 1}), due()}},
		{"nothing new, nothing due", []op{
			note("a", 2), due(delivered{"a", 2}), ok("a", 2), note("a", 1), due()}},
		{"failed receipt is due again", []op{
			note("a", 2), due(delivered{"a", 2}), fail("a", 2), due(delivered{"a", 2}), ok("a", 2), due()}},
		{"failure falls back to the last confirmed seq", []op{
			note("a", 2), due(delivered{"a", 2}), ok("a", 2), note("a", 6), due(delivered{"a", 6}), fail("a", 6),
			due(delivered{"a", 6})}},
		{"failure of an older receipt does not resend a newer one in flight", []op{
			note("a", 2), due(delivered{"a", 2}), note("a", 4), due(delivered{"a", 4}), fail("a", 2), due()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newReceiptBatcher()
			for i, o := range tt.ops {
				switch o.do {
				case "note":
					b.note(o.d.convID, o.d.seq)
				case "ok", "fail":
					b.done(o.d, o.do == "ok")
				case "due":
					if got := b.due(); !reflect.DeepEqual(got, o.want) {
						t.Fatalf("op %d: due = %v, want %v", i, got, o.want)
					}
				}
			}
		})
	}
}
