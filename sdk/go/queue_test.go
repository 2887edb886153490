package parley

import (
	"context"
	"testing"
	"time"

	"github.com/parleyim/parley/protocol"
)

func TestPushQueue_Overflow(t *testing.T) {
	q := newPushQueue(2)
	for i := range 3 {
		q.add(push{item: &protocol.Item{Seq: int64(i + 1)}})
	}
	items, overflow := q.take()
	if len(items) != 2 || !overflow {
		t.Fatalf("take = %d items, overflow %v; want 2, true", len(items), overflow)
	}
	q.requeue(items[1:])
	q.add(push{item: &protocol.Item{Seq: 9}})
	items, overflow = q.take()
	if len(items) != 2 || items[0].item.Seq != 2 || items[1].item.Seq != 9 || overflow {
		t.Fatalf("after requeue: %+v, overflow %v", items, overflow)
	}
	q.markOverflow()
	if _, overflow = q.take(); !overflow {
		t.Fatal("markOverflow not reported")
	}
}

// Commits run only after the application took the event, in order; with
// drain closed the pump delivers what is queued and closes the channel.
func TestEventQueue_CommitAfterHandoff(t *testing.T) {
	q := newEventQueue()
	drain := make(chan struct{})
	done := make(chan struct{})
	go func() { q.pump(context.Background(), drain); close(done) }()
	var committed []int
	for i := range 3 {
		q.put(ConnectionEvent{State: Connected, Code: i}, func() { committed = append(committed, i) })
	}
	q.put(nil, func() { committed = append(committed, 99) })
	time.Sleep(20 * time.Millisecond)
	if len(committed) != 0 {
		t.Fatalf("committed %v before anything was received", committed)
	}
	ev := <-q.out
	if ev.(ConnectionEvent).Code != 0 {
		t.Fatalf("first event %+v", ev)
	}
	close(drain)
	for ev := range q.out {
		_ = ev
	}
	<-done
	if want := []int{0, 1, 2, 99}; len(committed) != len(want) {
		t.Fatalf("committed %v, want %v", committed, want)
	}
}

// A cancelled pump drops what is left, without committing it.
func TestEventQueue_Cancel(t *testing.T) {
	q := newEventQueue()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { q.pump(ctx, make(chan struct{})); close(done) }()
	commits := 0
	q.put(MessageEvent{Item: &protocol.Item{Seq: 1}}, func() { commits++ })
	q.put(MessageEvent{Item: &protocol.Item{Seq: 2}}, func() { commits++ })
	<-q.out
	cancel()
	<-done
	if _, ok := <-q.out; ok {
		t.Fatal("out not closed")
	}
	if commits != 1 {
		t.Fatalf("%d commits, want 1: the undelivered message must not be committed", commits)
	}
}

// On close, commits behind connection events still run; the first
// undelivered data event stops them.
func TestEventQueue_FlushOnClose(t *testing.T) {
	tests := []struct {
		name string
		evs  []Event // each with a commit recording its index
		want []int
	}{
		{"only connection events", []Event{ConnectionEvent{State: Connected}, nil, ConnectionEvent{State: Resynced}, nil},
			[]int{0, 1, 2, 3}},
		{"stops at a message", []Event{ConnectionEvent{}, nil, MessageEvent{Item: &protocol.Item{}}, nil},
			[]int{0, 1}},
		{"stops at a conversation", []Event{ConversationEvent{Conversation: &protocol.Conversation{}}, nil}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := newEventQueue()
			var got []int
			for i, ev := range tt.evs {
				q.put(ev, func() { got = append(got, i) })
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			q.pump(ctx, make(chan struct{}))
			if len(got) != len(tt.want) {
				t.Fatalf("commits %v, want %v", got, tt.want)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("commits %v, want %v", got, tt.want)
				}
			}
		})
	}
}
