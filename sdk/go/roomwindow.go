package parley

import (
	"slices"
	"sync"

	"github.com/parleyim/parley/protocol"
)

// Chat room messages are not stored and have no seq: the server pushes
// each one once to each connection of a member, and a joiner gets the
// room's last few in the join reply. The two overlap while a join is under
// way: a message sent just after the user became a member may arrive live
// and also be in the reply. The Client keeps the (room, msg_id) of the room
// messages it handled lately, so that each reaches the application once,
// either as a RoomMessageEvent or in JoinRoom's recent list.
//
// The key is the room and the msg_id, not the msg_id alone: a broadcast to
// every room is one message ID in many rooms.

// roomWindowSize bounds the room messages remembered.
const roomWindowSize = 1000

type roomMsg struct{ room, msgID string }

// roomWindow is shared by the processing goroutine (live messages) and
// JoinRoom callers.
type roomWindow struct {
	mu    sync.Mutex
	seen  map[roomMsg]bool
	order []roomMsg // oldest first
	// joins holds, per room, the JoinRoom calls waiting for their reply.
	joins map[string][]*joinWatch
}

// joinWatch collects the msg_ids of a room delivered as events while one
// JoinRoom waits for its reply.
type joinWatch struct{ delivered map[string]bool }

func newRoomWindow() *roomWindow {
	return &roomWindow{seen: map[roomMsg]bool{}, joins: map[string][]*joinWatch{}}
}

// mark records a message; it reports false if it was known. The caller
// holds mu.
func (w *roomWindow) mark(k roomMsg) bool {
	if w.seen[k] {
		return false
	}
	w.seen[k] = true
	w.order = append(w.order, k)
	if len(w.order) > roomWindowSize {
		delete(w.seen, w.order[0])
		w.order[0] = roomMsg{}
		w.order = w.order[1:]
	}
	return true
}

// deliver reports whether a live room message is new (and records it, for
// the joins under way too).
func (w *roomWindow) deliver(it *protocol.Item) bool {
	if it.MsgID == "" {
		return true
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.mark(roomMsg{it.To, it.MsgID}) {
		return false
	}
	for _, j := range w.joins[it.To] {
		j.delivered[it.MsgID] = true
	}
	return true
}

// startJoin starts watching the live messages of a room for a JoinRoom.
func (w *roomWindow) startJoin(room string) *joinWatch {
	j := &joinWatch{delivered: map[string]bool{}}
	w.mu.Lock()
	w.joins[room] = append(w.joins[room], j)
	w.mu.Unlock()
	return j
}

// endJoin stops watching and returns the join reply's recent messages
// without those delivered as events meanwhile; the others are recorded, so
// a live copy of them is not delivered.
func (w *roomWindow) endJoin(room string, j *joinWatch, recent []*protocol.Item) []*protocol.Item {
	w.mu.Lock()
	defer w.mu.Unlock()
	if left := slices.DeleteFunc(w.joins[room], func(x *joinWatch) bool { return x == j }); len(left) == 0 {
		delete(w.joins, room)
	} else {
		w.joins[room] = left
	}
	out := make([]*protocol.Item, 0, len(recent))
	for _, it := range recent {
		if it == nil {
			continue
		}
		if it.MsgID != "" {
			if j.delivered[it.MsgID] {
				continue
			}
			w.mark(roomMsg{room, it.MsgID})
		}
		out = append(out, it)
	}
	return out
}

// roomMessage delivers a live room message unless it was handled already.
func (c *Client) roomMessage(it *protocol.Item) {
	if !c.rooms.deliver(it) {
		return
	}
	c.events.put(RoomMessageEvent{Item: it}, nil)
}
