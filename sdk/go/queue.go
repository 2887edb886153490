package parley

import (
	"context"
	"sync"

	"github.com/parleyim/parley/protocol"
)

// push is work for the processing goroutine: a live item, an item built
// from an ack, a receipt, a conversation change, a people event, a request
// to fetch people events (after a change this device made), a chat room
// message or a chat room event.
type push struct {
	item      *protocol.Item
	receipt   *protocol.Receipt
	conv      *protocol.Conversation
	event     *protocol.Event
	eventsDue bool
	roomItem  *protocol.Item
	roomEvent *protocol.RoomEvent
}

// pushQueue carries pushes from read goroutines to the processing goroutine.
// Adding never blocks, so a read loop always keeps delivering replies (the
// processor waits for the replies to its pulls). When the queue is full,
// pushes are dropped and the queue reports an overflow: everything pushed is
// stored on the server, and the processor resyncs to get it back.
type pushQueue struct {
	mu       sync.Mutex
	items    []push
	overflow bool
	max      int
	notify   chan struct{} // has a value when items or overflow are waiting
}

func newPushQueue(max int) *pushQueue {
	return &pushQueue{max: max, notify: make(chan struct{}, 1)}
}

func (q *pushQueue) add(p push) {
	q.mu.Lock()
	if len(q.items) >= q.max {
		q.overflow = true
	} else {
		q.items = append(q.items, p)
	}
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// requeue puts pushes back at the front of the queue, for the next
// connection to process after its sync.
func (q *pushQueue) requeue(items []push) {
	q.mu.Lock()
	q.items = append(append([]push(nil), items...), q.items...)
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// markOverflow makes the next take report an overflow (a resync is due).
func (q *pushQueue) markOverflow() {
	q.mu.Lock()
	q.overflow = true
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

// take empties the queue.
func (q *pushQueue) take() (items []push, overflow bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	items, overflow = q.items, q.overflow
	q.items, q.overflow = nil, false
	return items, overflow
}

// queued is one event for the application, with what to persist once the
// application has received it.
type queued struct {
	ev     Event  // nil: only commit
	commit func() // nil: nothing to persist
}

// eventQueue buffers events between the processing goroutine and the
// application, so processing never waits for the application. Its pump
// hands events over in order and runs each commit after its event was
// received, so State only records what the application has seen.
type eventQueue struct {
	mu     sync.Mutex
	items  []queued
	notify chan struct{}
	out    chan Event
}

// newEventQueue makes a queue whose out channel is unbuffered: an event
// counts as received (and its commit runs) only once the application took
// it.
func newEventQueue() *eventQueue {
	return &eventQueue{notify: make(chan struct{}, 1), out: make(chan Event)}
}

func (q *eventQueue) put(ev Event, commit func()) {
	if ev == nil && commit == nil {
		return
	}
	q.mu.Lock()
	q.items = append(q.items, queued{ev, commit})
	q.mu.Unlock()
	select {
	case q.notify <- struct{}{}:
	default:
	}
}

func (q *eventQueue) pop() (queued, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return queued{}, false
	}
	e := q.items[0]
	q.items[0] = queued{}
	q.items = q.items[1:]
	return e, true
}

// pump hands events to out until ctx ends (dropping the rest, see flush)
// or, after drain is closed, the queue is empty. It closes out when it
// returns.
func (q *eventQueue) pump(ctx context.Context, drain <-chan struct{}) {
	defer close(q.out)
	var pending *queued // popped, not yet handed over
	for {
		if pending == nil {
			e, ok := q.pop()
			if !ok {
				select {
				case <-q.notify:
					continue
				case <-drain:
					if e, ok = q.pop(); !ok {
						return
					}
				case <-ctx.Done():
					q.flush(nil)
					return
				}
			}
			pending = &e
		}
		if pending.ev != nil {
			select {
			case q.out <- pending.ev:
			case <-ctx.Done():
				q.flush(pending)
				return
			}
		}
		if pending.commit != nil {
			pending.commit()
		}
		pending = nil
	}
}

// flush runs, when the Client closes, the commits that wait only behind
// connection events (which carry nothing to persist), and stops at the
// first undelivered event that carries data: a commit never skips an
// item or state the application did not receive.
func (q *eventQueue) flush(first *queued) {
	for {
		var e queued
		if first != nil {
			e, first = *first, nil
		} else {
			var ok bool
			if e, ok = q.pop(); !ok {
				return
			}
		}
		if _, conn := e.ev.(ConnectionEvent); e.ev != nil && !conn {
			return
		}
		if e.commit != nil {
			e.commit()
		}
	}
}
