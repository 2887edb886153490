package parley

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/parleyim/parley/protocol"
)

// Test helpers shared with the external test package: exported names in a
// _test.go file exist only in test builds.

// EventLog records a Client's events until the channel closes.
type EventLog struct {
	mu     sync.Mutex
	evs    []Event
	closed chan struct{}
}

// Collect starts recording c's events.
func Collect(c *Client) *EventLog {
	l := &EventLog{closed: make(chan struct{})}
	go func() {
		defer close(l.closed)
		for ev := range c.Events() {
			l.mu.Lock()
			l.evs = append(l.evs, ev)
			l.mu.Unlock()
		}
	}()
	return l
}

// Events returns the events so far.
func (l *EventLog) Events() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Event(nil), l.evs...)
}

// Closed is closed once the Client's event channel is.
func (l *EventLog) Closed() <-chan struct{} { return l.closed }

// WaitFor polls until cond holds on the events so far (10 s at most).
func (l *EventLog) WaitFor(t testing.TB, what string, cond func([]Event) bool) []Event {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		evs := l.Events()
		if cond(evs) {
			return evs
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; events:%s", what, Describe(evs))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Describe renders events compactly for failure messages.
func Describe(evs []Event) string {
	s := ""
	for _, ev := range evs {
		switch e := ev.(type) {
		case MessageEvent:
			s += fmt.Sprintf(" msg(%s/%d)", e.Item.ConvID, e.Item.Seq)
		case RecallEvent:
			s += fmt.Sprintf(" recall(%s/%d of %s)", e.Item.ConvID, e.Item.Seq, e.Item.Target)
		case ReceiptEvent:
			s += fmt.Sprintf(" receipt(%s by %s #%d)", e.Receipt.Kind, e.Receipt.By, e.Receipt.Seq)
		case ConversationEvent:
			s += fmt.Sprintf(" conv(%s last %d read %d)", e.Conversation.ConvID, e.Conversation.LastSeq, e.Conversation.ReadSeq)
		case ConnectionEvent:
			s += fmt.Sprintf(" %s(%d %s)", e.State, e.Code, e.Reason)
		case PresenceEvent:
			s += fmt.Sprintf(" presence(%s online=%v status=%q)", e.Presence.User, e.Presence.Online, e.Presence.Status)
		case GroupNoticeEvent:
			s += fmt.Sprintf(" notice(%s/%d %s %v)", e.Item.ConvID, e.Item.Seq, e.Type, e.Users)
		case GroupAckEvent:
			s += fmt.Sprintf(" group_ack(%s by %s count %d)", e.MsgID, e.From, e.Count)
		case RoomMessageEvent:
			s += fmt.Sprintf(" room_msg(%s %s from %s)", e.Room(), e.Item.MsgID, e.Item.From)
		case RoomEvent:
			s += fmt.Sprintf(" room_event(%s %s %v by %s)", e.Room, e.Kind, e.Users, e.By)
		case BroadcastEvent:
			s += fmt.Sprintf(" broadcast(%q %s)", e.ID, e.Item.Body)
		default:
			if pe := peopleOf(ev); pe != nil {
				s += fmt.Sprintf(" %s(%s %s->%s %v)", pe.Kind, pe.ID, pe.From, pe.To, pe.Users)
			}
		}
	}
	return s
}

// Messages returns the items of the MessageEvents.
func Messages(evs []Event) []*protocol.Item {
	var out []*protocol.Item
	for _, ev := range evs {
		if m, ok := ev.(MessageEvent); ok {
			out = append(out, m.Item)
		}
	}
	return out
}

// Seqs returns the items' seqs.
func Seqs(items []*protocol.Item) []int64 {
	out := []int64{}
	for _, it := range items {
		out = append(out, it.Seq)
	}
	return out
}

// UpTo returns 1..n.
func UpTo(n int64) []int64 {
	out := []int64{}
	for i := int64(1); i <= n; i++ {
		out = append(out, i)
	}
	return out
}

// HasMessages holds once n MessageEvents arrived.
func HasMessages(n int) func([]Event) bool {
	return func(evs []Event) bool { return len(Messages(evs)) >= n }
}

// HasConnState holds once n ConnectionEvents of state s arrived.
func HasConnState(s ConnState, n int) func([]Event) bool {
	return func(evs []Event) bool {
		k := 0
		for _, ev := range evs {
			if ce, ok := ev.(ConnectionEvent); ok && ce.State == s {
				k++
			}
		}
		return k >= n
	}
}

// peopleOf returns the stored event a people Event carries, nil for other
// events. Its Kind is "wrong type for KIND" if the Go type does not match.
func peopleOf(ev Event) *protocol.Event {
	var e *protocol.Event
	var kind string
	switch x := ev.(type) {
	case ContactRequestEvent:
		e, kind = x.Event, protocol.EventContactRequest
	case ContactAcceptedEvent:
		e, kind = x.Event, protocol.EventContactAccepted
	case ContactDeclinedEvent:
		e, kind = x.Event, protocol.EventContactDeclined
	case ContactAddedEvent:
		e, kind = x.Event, protocol.EventContactAdded
	case ContactRemovedEvent:
		e, kind = x.Event, protocol.EventContactRemoved
	case BlockedEvent:
		e, kind = x.Event, protocol.EventBlocked
	case UnblockedEvent:
		e, kind = x.Event, protocol.EventUnblocked
	case AttributesEvent:
		e, kind = x.Event, protocol.EventAttrs
	case GroupInviteEvent:
		e, kind = x.Event, protocol.EventGroupInvite
	case GroupInviteAcceptedEvent:
		e, kind = x.Event, protocol.EventGroupInviteAccepted
	case GroupInviteDeclinedEvent:
		e, kind = x.Event, protocol.EventGroupInviteDeclined
	case GroupApplyEvent:
		e, kind = x.Event, protocol.EventGroupApply
	case GroupApplyAcceptedEvent:
		e, kind = x.Event, protocol.EventGroupApplyAccepted
	case GroupApplyDeclinedEvent:
		e, kind = x.Event, protocol.EventGroupApplyDeclined
	case GroupRemovedEvent:
		e, kind = x.Event, protocol.EventGroupRemoved
	case GroupDestroyedEvent:
		e, kind = x.Event, protocol.EventGroupDestroyed
	default:
		return nil
	}
	if e.Kind != kind {
		c := *e
		c.Kind = "wrong type for " + e.Kind
		return &c
	}
	return e
}

// People returns the stored people and group events (all but presence and
// group acks), in order.
func People(evs []Event) []*protocol.Event {
	var out []*protocol.Event
	for _, ev := range evs {
		if e := peopleOf(ev); e != nil {
			out = append(out, e)
		}
	}
	return out
}

// PeopleKinds lists the kinds of the stored people events.
func PeopleKinds(evs []Event) []string {
	out := []string{}
	for _, e := range People(evs) {
		out = append(out, e.Kind)
	}
	return out
}

// HasPeople holds once n stored people events of kind arrived.
func HasPeople(kind string, n int) func([]Event) bool {
	return func(evs []Event) bool {
		k := 0
		for _, e := range People(evs) {
			if e.Kind == kind {
				k++
			}
		}
		return k >= n
	}
}

// Presences returns the presence of each PresenceEvent.
func Presences(evs []Event) []*protocol.Presence {
	var out []*protocol.Presence
	for _, ev := range evs {
		if p, ok := ev.(PresenceEvent); ok {
			out = append(out, p.Presence)
		}
	}
	return out
}

// Notices returns the GroupNoticeEvents.
func Notices(evs []Event) []GroupNoticeEvent {
	var out []GroupNoticeEvent
	for _, ev := range evs {
		if n, ok := ev.(GroupNoticeEvent); ok {
			out = append(out, n)
		}
	}
	return out
}

// GroupAcks returns the events of the GroupAckEvents.
func GroupAcks(evs []Event) []*protocol.Event {
	var out []*protocol.Event
	for _, ev := range evs {
		if a, ok := ev.(GroupAckEvent); ok {
			out = append(out, a.Event)
		}
	}
	return out
}

// Stream returns a conversation's stored items as delivered (messages,
// recalls, notices), in order: "msg", "recall" or the notice type, each
// with its seq.
func Stream(evs []Event, convID string) []string {
	out := []string{}
	for _, ev := range evs {
		var it *protocol.Item
		what := ""
		switch e := ev.(type) {
		case MessageEvent:
			it, what = e.Item, "msg"
		case RecallEvent:
			it, what = e.Item, "recall"
		case GroupNoticeEvent:
			it, what = e.Item, e.Type
		}
		if it != nil && it.ConvID == convID && it.Seq > 0 {
			out = append(out, fmt.Sprintf("%d %s", it.Seq, what))
		}
	}
	return out
}

// RoomMessages returns the items of the RoomMessageEvents.
func RoomMessages(evs []Event) []*protocol.Item {
	var out []*protocol.Item
	for _, ev := range evs {
		if m, ok := ev.(RoomMessageEvent); ok {
			out = append(out, m.Item)
		}
	}
	return out
}

// HasRoomMessages holds once n RoomMessageEvents arrived.
func HasRoomMessages(n int) func([]Event) bool {
	return func(evs []Event) bool { return len(RoomMessages(evs)) >= n }
}

// RoomEvents returns the room events of the RoomEvents, in order.
func RoomEvents(evs []Event) []*protocol.RoomEvent {
	var out []*protocol.RoomEvent
	for _, ev := range evs {
		if e, ok := ev.(RoomEvent); ok {
			out = append(out, e.RoomEvent)
		}
	}
	return out
}

// HasRoomEvent holds once n RoomEvents of kind arrived.
func HasRoomEvent(kind string, n int) func([]Event) bool {
	return func(evs []Event) bool {
		k := 0
		for _, e := range RoomEvents(evs) {
			if e.Kind == kind {
				k++
			}
		}
		return k >= n
	}
}

// Broadcasts returns the events of the BroadcastEvents, in order.
func Broadcasts(evs []Event) []*protocol.Event {
	var out []*protocol.Event
	for _, ev := range evs {
		if b, ok := ev.(BroadcastEvent); ok {
			out = append(out, b.Event)
		}
	}
	return out
}
