package parley

import (
	"context"
	"errors"
	"strings"
	"sync"

	"github.com/parleyim/parley/protocol"
)

// People events (contact requests, blocks, attributes) are stored per user
// on the server and reach a device two ways: pushed live, and fetched with
// events requests. A fetch that starts a round goes back 30 seconds before
// its cursor (so an event committed late is not missed), so a round may
// return events the device already has, and a live event may come back in
// the next round. The Client therefore keeps the IDs of the events it
// delivered lately and delivers each ID once.
//
// Which IDs to keep: a round returns every retained event with an ID above
// (cursor - window). An ID that was known before a round started and that
// the round did not return is below that bound, and the cursors that follow
// only grow (the Client keeps its cursor when a server node whose clock
// lags answers with a lower one), so no later round returns it: it is
// dropped when the round ends. Everything else stays. This needs neither
// the window's length nor the IDs' format. To keep the set small while
// connected, the Client runs a round after live events (which also fetches
// any event whose push was lost) and after its own changes (the server
// pushes those to the user's other devices only).

const (
	// eventsPage is the page size of events requests.
	eventsPage = 100
	// maxSeenEvents bounds the IDs kept (a round trims them to the events of
	// the last 30 s or so; this only guards against a server that never
	// lets a round finish).
	maxSeenEvents = 5000
	// eventsNow asks the server for a cursor at its current position.
	eventsNow = "now"
	// savedVersion prefixes the saved form (State.EventCursor).
	savedVersion = "1"
)

// eventTracker is the processing goroutine's view of the people events:
// where the next round starts and which IDs were delivered lately.
type eventTracker struct {
	cursor string         // where the next round starts; "" before the first
	seen   map[string]int // ID -> the round that last returned it (or that ran when it arrived)
	round  int
	// off is set when the server does not know events requests (until the
	// next connection).
	off   bool
	saver *eventSaver
}

func newEventTracker(state State) (*eventTracker, error) {
	t := &eventTracker{seen: map[string]int{}, saver: &eventSaver{state: state, has: map[string]bool{}}}
	saved := state.EventCursor()
	if saved == "" {
		return t, nil
	}
	cursor, ids, err := decodeSavedEvents(saved)
	if err != nil {
		return t, err
	}
	t.cursor, t.saver.cursor = cursor, cursor
	for _, id := range ids {
		t.seen[id] = 0
		if !t.saver.has[id] {
			t.saver.has[id] = true
			t.saver.seen = append(t.saver.seen, id)
		}
	}
	return t, nil
}

// compareIDs orders event IDs (decimal strings) numerically.
func compareIDs(a, b string) int {
	switch {
	case len(a) != len(b):
		if len(a) < len(b) {
			return -1
		}
		return 1
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// isDecimal reports whether s is a non-empty string of digits (event IDs,
// and the cursors that start a round).
func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// mark records an ID as seen in round and reports whether it is new.
func (t *eventTracker) mark(id string, round int) bool {
	if _, ok := t.seen[id]; ok {
		t.seen[id] = max(t.seen[id], round)
		return false
	}
	t.seen[id] = round
	if len(t.seen) > maxSeenEvents {
		oldest := ""
		for k := range t.seen {
			if oldest == "" || compareIDs(k, oldest) < 0 {
				oldest = k
			}
		}
		delete(t.seen, oldest)
	}
	return true
}

// trim drops the IDs known before round started that it did not return.
func (t *eventTracker) trim(round int) map[string]bool {
	keep := make(map[string]bool, len(t.seen))
	for id, r := range t.seen {
		if r < round {
			delete(t.seen, id)
		} else {
			keep[id] = true
		}
	}
	return keep
}

// eventSaver holds what the application has received, and saves it in
// State. Its methods run as commits on the event pump.
type eventSaver struct {
	mu     sync.Mutex
	state  State
	cursor string
	seen   []string // delivered IDs, oldest first
	has    map[string]bool
}

// add records that the event id was delivered (or deliberately skipped).
func (s *eventSaver) add(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.has[id] || strings.ContainsAny(id, ",;") {
		return
	}
	s.has[id] = true
	s.seen = append(s.seen, id)
	if len(s.seen) > maxSeenEvents {
		delete(s.has, s.seen[0])
		s.seen = s.seen[1:]
	}
	s.save()
}

// endRound records a finished round: its cursor, and the IDs still worth
// keeping.
func (s *eventSaver) endRound(cursor string, keep map[string]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cursor = cursor
	kept := s.seen[:0:0]
	for _, id := range s.seen {
		if keep[id] {
			kept = append(kept, id)
		} else {
			delete(s.has, id)
		}
	}
	s.seen = kept
	s.save()
}

func (s *eventSaver) save() {
	s.state.SetEventCursor(encodeSavedEvents(s.cursor, s.seen))
}

// encodeSavedEvents is the saved form: "1;id,id,...;cursor" (the cursor
// last, as it is the server's and may hold anything).
func encodeSavedEvents(cursor string, ids []string) string {
	var b strings.Builder
	n := len(cursor) + 3
	for _, id := range ids {
		n += len(id) + 1
	}
	b.Grow(n)
	b.WriteString(savedVersion)
	b.WriteByte(';')
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(id)
	}
	b.WriteByte(';')
	b.WriteString(cursor)
	return b.String()
}

func decodeSavedEvents(s string) (cursor string, ids []string, err error) {
	parts := strings.SplitN(s, ";", 3)
	if len(parts) != 3 || parts[0] != savedVersion {
		return "", nil, errors.New("parley: the saved event cursor is not one this SDK wrote")
	}
	if parts[1] != "" {
		ids = strings.Split(parts[1], ",")
	}
	return parts[2], ids, nil
}

// onEvent handles a pushed event and reports whether it was a stored event
// not seen before (then a round is due: it moves the cursor and fetches any
// event whose push was lost).
func (c *Client) onEvent(e *protocol.Event) bool {
	if e.ID == "" { // presence: live only
		if ev := peopleEvent(e); ev != nil {
			c.events.put(ev, nil)
		} else {
			c.log.Debug("skipping a live event of unknown kind", "kind", e.Kind)
		}
		return false
	}
	return c.acceptEvent(e, c.evt.round, true)
}

// acceptEvent delivers a stored event (when deliver is set) unless its ID
// was seen, and reports whether it was new.
func (c *Client) acceptEvent(e *protocol.Event, round int, deliver bool) bool {
	t := c.evt
	if e == nil || e.ID == "" || !t.mark(e.ID, round) {
		return false
	}
	var ev Event
	if deliver {
		if ev = peopleEvent(e); ev == nil {
			c.log.Debug("skipping an event of unknown kind", "kind", e.Kind, "id", e.ID)
		}
	}
	id := e.ID
	c.events.put(ev, func() { t.saver.add(id) })
	return true
}

// syncEvents brings the people events up to date over cn: a new device
// takes the server's current position (or, with Config.EventHistory, all
// it holds); a known one runs a round from its cursor. Failures other than
// a lost connection are logged, and the next round tries again.
func (c *Client) syncEvents(ctx context.Context, cn *conn) error {
	t := c.evt
	t.off = false
	var err error
	if t.cursor == "" && !c.cfg.EventHistory {
		err = c.startEvents(ctx, cn)
	} else {
		err = c.eventsRound(ctx, cn, t.cursor, true)
	}
	switch {
	case err == nil:
	case errors.Is(err, errConnClosed) || ctx.Err() != nil:
		return err
	case IsCode(err, protocol.ErrUnknownFrame):
		c.log.Warn("the server does not support events requests; people events come only while connected")
		t.off = true
	case IsCode(err, protocol.ErrIllegalArgument) && t.cursor != "":
		// A cursor from another server, say: start over as a new device
		// (the IDs seen still keep what was delivered from coming again).
		c.log.Warn("the server refused the saved events cursor; starting from its current position", "err", err)
		t.cursor = ""
		return c.syncEvents(ctx, cn)
	default:
		c.log.Warn("fetching people events failed; trying again later", "err", err)
	}
	return nil
}

// startEvents makes a new device start at the server's current position:
// it takes the cursor of "now", then runs a round from it that delivers
// nothing, so the events the round goes back over (committed before this
// device started) count as seen. The position is saved when that round
// ends; the events committed from then on are delivered.
func (c *Client) startEvents(ctx context.Context, cn *conn) error {
	res, err := c.fetchEvents(ctx, cn, eventsNow)
	if err != nil {
		return err
	}
	if res.Next == "" {
		return errors.New("parley: the server gave no events cursor")
	}
	return c.eventsRound(ctx, cn, res.Next, false)
}

// eventsRound fetches the events after the cursor from, page by page,
// delivers those not seen yet (when deliver is set; else only marks them
// seen), and makes the round's last cursor the next round's start. A round
// that returned many events is followed by one more, which trims the kept
// IDs to the recent ones.
func (c *Client) eventsRound(ctx context.Context, cn *conn, from string, deliver bool) error {
	t := c.evt
	for range 2 {
		t.round++
		round := t.round
		since, got := from, 0
		for {
			res, err := c.fetchEvents(ctx, cn, since)
			if err != nil {
				return err
			}
			for _, e := range res.Events {
				c.acceptEvent(e, round, deliver)
			}
			got += len(res.Events)
			if !res.More && res.Next != "" {
				from = res.Next
				break
			}
			if res.Next == "" || res.Next == since {
				c.log.Warn("events reported more without moving its cursor; stopping", "cursor", res.Next)
				return nil
			}
			since = res.Next
		}
		if before := t.cursor; isDecimal(before) && isDecimal(from) && compareIDs(from, before) < 0 {
			from = before // never move back: the IDs trimmed below rely on it
		}
		t.cursor = from
		keep, cursor := t.trim(round), from
		c.events.put(nil, func() { t.saver.endRound(cursor, keep) })
		if got <= eventsPage {
			break
		}
		deliver = true // the follow-up returns only what came after this round
	}
	return nil
}

// fetchEvents makes one events request.
func (c *Client) fetchEvents(ctx context.Context, cn *conn, since string) (*protocol.EventsResult, error) {
	r, err := cn.request(ctx, &protocol.Request{T: protocol.FrameEvents, Since: since, Limit: eventsPage})
	if err != nil {
		return nil, err
	}
	var res protocol.EventsResult
	if err := r.decode(&res); err != nil {
		return nil, err
	}
	return &res, nil
}
