package bench

import (
	"context"
	"fmt"
	"math/bits"
	"strconv"
	"time"

	"github.com/parleyim/parley/protocol"
)

// Chat room scenarios share this setup: a room created over the REST API
// with the app token (owned by the member who sends), members added 60 per
// call (a few calls at once) after they connected, so none of them starts
// the offline grace period that would make them leave; every member's
// connection is held by a worker process whose recorder times and checks
// the room's items exactly as for a group (grouprec.go: the client_msg_id
// carries the stream, the number and the send time).

// Room message priorities (chatroom_msg_level), in the order the server
// sheds them: low first.
var roomLevels = [...]string{"low", "normal", "high"}

// createRoom creates a chat room owned by owner with maxUsers seats and
// returns its ID.
func (e *env) createRoom(ctx context.Context, owner string, maxUsers int) (string, error) {
	var created struct {
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	body := map[string]any{"name": "bench", "owner": owner, "maxusers": maxUsers}
	if err := e.call(ctx, "POST", e.appPath("/chatrooms"), e.appTok, body, &created); err != nil {
		return "", fmt.Errorf("create chat room: %w", err)
	}
	if created.Data.ID == "" {
		return "", fmt.Errorf("create chat room: no id in the answer")
	}
	return created.Data.ID, nil
}

// addRoomMembers adds names to a room, 60 per call, four calls at once.
func (e *env) addRoomMembers(ctx context.Context, rid string, names []string) error {
	batches := (len(names) + maxGroupBatch - 1) / maxGroupBatch
	return parallel(ctx, batches, 4, func(ctx context.Context, b int) error {
		list := names[b*maxGroupBatch : min(len(names), (b+1)*maxGroupBatch)]
		var res struct {
			Data struct {
				NewMembers []string `json:"newmembers"`
			} `json:"data"`
		}
		if err := e.call(ctx, "POST", e.appPath("/chatrooms/"+rid+"/users"), e.appTok,
			map[string]any{"usernames": list}, &res); err != nil {
			return fmt.Errorf("add room members: %w", err)
		}
		if len(res.Data.NewMembers) != len(list) {
			return fmt.Errorf("add room members: %d of %d added", len(res.Data.NewMembers), len(list))
		}
		return nil
	})
}

// appendRoomSend appends a txt send frame to a chat room with a priority.
// The frame id is id, so acks name the message they answer.
func appendRoomSend(b []byte, id int64, room, level string, cmid, body []byte) []byte {
	b = append(b, `{"t":"send","id":"`...)
	b = strconv.AppendInt(b, id, 10)
	b = append(b, `","to":"`...)
	b = append(b, room...)
	b = append(b, `","chat_type":"chatroom","chatroom_msg_level":"`...)
	b = append(b, level...)
	b = append(b, `","type":"txt","body":{"msg":"`...)
	b = append(b, body...)
	b = append(b, `"},"client_msg_id":"`...)
	b = append(b, cmid...)
	return append(b, `"}`...)
}

// roomMsg is one message a roomSender sends: stream and k identify it at
// the recipients (appendGroupCMID), level is its priority.
type roomMsg struct {
	tag    byte
	stream int
	k      int64
	level  string
}

// roomSent is what became of a list of room messages.
type roomSent struct {
	sentAt []time.Time // by index; zero if never written
	ackAt  []time.Time // zero if not acknowledged
	acked  []bitset    // per stream: the k acknowledged
	codes  map[string]int64
	n      int // acknowledged
}

// sendRoom writes msgs in order on s (whose acks go to its channel), with
// up to window of them waiting for their acks, and waits for every answer.
// Each message's client_msg_id carries the time it is written.
func sendRoom(ctx context.Context, s *groupSender, room string, msgs []roomMsg, window int, body []byte, res *roomSent) error {
	if res.codes == nil {
		res.codes = map[string]int64{}
	}
	for len(res.sentAt) < len(msgs) {
		res.sentAt = append(res.sentAt, time.Time{})
		res.ackAt = append(res.ackAt, time.Time{})
	}
	buf := make([]byte, 0, 320+len(body))
	cmid := make([]byte, 0, 64)
	outstanding := 0
	for i := 0; i < len(msgs) || outstanding > 0; {
		if i < len(msgs) && outstanding < window {
			m := msgs[i]
			now := time.Now()
			cmid = appendGroupCMID(cmid[:0], m.tag, m.stream, m.k, now.UnixNano())
			buf = appendRoomSend(buf[:0], int64(i), room, m.level, cmid, body)
			if err := s.c.write(buf); err != nil {
				return fmt.Errorf("send: %w", err)
			}
			res.sentAt[i] = now
			i++
			outstanding++
			continue
		}
		a, err := s.awaitAck(ctx, 60*time.Second)
		if err != nil {
			return err
		}
		outstanding--
		if a.k < 0 || a.k >= int64(len(msgs)) {
			continue
		}
		if a.code != "" {
			res.codes[a.code]++
			continue
		}
		m := msgs[a.k]
		for len(res.acked) <= m.stream {
			res.acked = append(res.acked, nil)
		}
		if !res.acked[m.stream].set(m.k) {
			res.ackAt[a.k] = a.at
			res.n++
		}
	}
	return nil
}

// roomCounters are the server's chat room counters (/metrics).
type roomCounters struct {
	OK         bool       `json:"-"`
	Deliveries float64    `json:"deliveries"` // parley_room_deliveries_total: frames queued to connections
	Dropped    [3]float64 `json:"dropped"`    // parley_room_dropped_total by level: low, normal, high
	Closes4008 float64    `json:"closes_4008"`
}

// readRoomCounters reads the room counters, summed over the nodes (OK
// false: no /metrics).
func readRoomCounters(ctx context.Context, e *env) roomCounters {
	m := e.metrics(ctx)
	var c roomCounters
	if m == nil {
		return c
	}
	c.OK = true
	c.Deliveries = m["parley_room_deliveries_total"]
	for i, l := range roomLevels {
		c.Dropped[i] = m[`parley_room_dropped_total{level="`+l+`"}`]
	}
	c.Closes4008 = m[`parley_ws_closes_total{code="4008"}`]
	return c
}

// sub is the counters' growth since a.
func (c roomCounters) sub(a roomCounters) roomCounters {
	d := roomCounters{OK: c.OK && a.OK, Deliveries: c.Deliveries - a.Deliveries, Closes4008: c.Closes4008 - a.Closes4008}
	for i := range d.Dropped {
		d.Dropped[i] = c.Dropped[i] - a.Dropped[i]
	}
	return d
}

// handled is every room frame the server's fan-out took care of: queued or
// shed.
func (c roomCounters) handled() float64 {
	return c.Deliveries + c.Dropped[0] + c.Dropped[1] + c.Dropped[2]
}

// waitHandled polls the server's counters until its fan-out handled want
// room frames since base, or maxWait passes. It returns the last reading.
func waitHandled(ctx context.Context, e *env, base roomCounters, want float64, every, maxWait time.Duration) (roomCounters, error) {
	end := time.Now().Add(maxWait)
	for {
		c := readRoomCounters(ctx, e)
		if !c.OK || c.sub(base).handled() >= want || time.Now().After(end) {
			return c, nil
		}
		if err := sleepCtx(ctx, every); err != nil {
			return c, err
		}
	}
}

// roomJob is the worker job of room members: they record the room's items
// (timed messages: the first timed k).
func roomJob(rid string, timed int) workerJob {
	return workerJob{Resource: "member", Group: &groupJob{ID: rid, Timed: timed, ChatType: protocol.ChatTypeRoom}}
}

// count is how many bits are set.
func (b bitset) count() int {
	n := 0
	for _, w := range b {
		n += bits.OnesCount64(w)
	}
	return n
}

// or sets every bit of o in b.
func (b *bitset) or(o bitset) {
	for len(*b) < len(o) {
		*b = append(*b, 0)
	}
	for w, v := range o {
		(*b)[w] |= v
	}
}
