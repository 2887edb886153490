package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/bits"
	"strconv"
	"sync"
	"time"

	"github.com/parleyim/parley/protocol"
)

// Group messages sent by the bench carry everything a recipient needs to
// time and check them in their client_msg_id: <tag><stream>_<k>_<ref>, where
// stream numbers a sender (or a batch), k numbers its messages from 0, and
// ref is the reference time in Unix nanoseconds (the intended send time for
// the open-loop scenario, the actual send time otherwise). Recipients in
// worker processes compare ref with their own wall clock: both processes
// read the same system clock, so no offset is needed.
const (
	tagMeasured = 'm' // latency goes to the histogram
	tagUntimed  = 'w' // counted and checked, not timed (warm-up, drain)
	tagTimed    = 't' // every recipient's latency is kept, per message
)

// appendGroupCMID appends a client_msg_id (at most 64 bytes: 1+4+1+19+1+19).
func appendGroupCMID(b []byte, tag byte, stream int, k, refNs int64) []byte {
	b = append(b, tag)
	b = strconv.AppendInt(b, int64(stream), 10)
	b = append(b, '_')
	b = strconv.AppendInt(b, k, 10)
	b = append(b, '_')
	return strconv.AppendInt(b, refNs, 10)
}

// parseGroupCMID reads what appendGroupCMID wrote.
func parseGroupCMID(s []byte) (tag byte, stream int, k, refNs int64, ok bool) {
	if len(s) < 6 {
		return 0, 0, 0, 0, false
	}
	tag = s[0]
	if tag != tagMeasured && tag != tagUntimed && tag != tagTimed {
		return 0, 0, 0, 0, false
	}
	var f [3]int64
	rest := s[1:]
	for i := range f {
		j := bytes.IndexByte(rest, '_')
		part := rest
		if i < 2 {
			if j <= 0 {
				return 0, 0, 0, 0, false
			}
			part, rest = rest[:j], rest[j+1:]
		} else if j >= 0 {
			return 0, 0, 0, 0, false
		}
		v, ok := atoi(part)
		if !ok {
			return 0, 0, 0, 0, false
		}
		f[i] = v
	}
	if f[0] > 1<<10 || f[1] > 1<<26 { // bounds the recipients' bitsets
		return 0, 0, 0, 0, false
	}
	return tag, int(f[0]), f[1], f[2], true
}

// atoi parses a non-negative decimal of at most 19 digits without
// allocating.
func atoi(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 19 {
		return 0, false
	}
	var v int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// appendGroupSend appends a txt send frame to a group. The frame id is k,
// so acks name the message they answer.
func appendGroupSend(b []byte, k int64, group string, cmid, body []byte) []byte {
	b = append(b, `{"t":"send","id":"`...)
	b = strconv.AppendInt(b, k, 10)
	b = append(b, `","to":"`...)
	b = append(b, group...)
	b = append(b, `","chat_type":"groupchat","type":"txt","body":{"msg":"`...)
	b = append(b, body...)
	b = append(b, `"},"client_msg_id":"`...)
	b = append(b, cmid...)
	return append(b, `"}`...)
}

var (
	itemPrefix = []byte(`{"t":"item",`)
	toKey      = []byte(`"to":"`)
	cmidKey    = []byte(`"client_msg_id":"`)
)

// chatTypeKey is the fast path's key of a chat type ("groupchat",
// "chatroom").
func chatTypeKey(chatType string) []byte { return []byte(`"chat_type":"` + chatType + `"`) }

var groupChatKey = chatTypeKey(protocol.ChatTypeGroup)

// stringField returns the value of a string field (key includes the
// opening quote of the value) that needs no unescaping, or nil.
func stringField(b, key []byte) []byte {
	i := bytes.Index(b, key)
	if i < 0 {
		return nil
	}
	v := b[i+len(key):]
	j := bytes.IndexByte(v, '"')
	if j < 0 || bytes.IndexByte(v[:j], '\\') >= 0 {
		return nil
	}
	return v[:j]
}

// parseGroupItem reads an item frame's group and client_msg_id. The fast
// path finds the fields by their keys, which is exact for the frames the
// server writes (one item object, a bench text body without quotes);
// anything else is decoded as JSON. isItem is false for frames that are
// not items; to is empty for items of 1:1 conversations.
func parseGroupItem(b []byte) (isItem bool, to, cmid []byte) {
	return parseConvItem(b, protocol.ChatTypeGroup, groupChatKey)
}

// parseConvItem is parseGroupItem for items of one chat type (key is
// chatTypeKey(chatType)): to is empty for items of any other.
func parseConvItem(b []byte, chatType string, key []byte) (isItem bool, to, cmid []byte) {
	if !bytes.HasPrefix(b, itemPrefix) {
		if !bytes.Contains(b, []byte(`"item"`)) {
			return false, nil, nil
		}
		var f struct {
			T    string `json:"t"`
			Item *struct {
				ChatType    string `json:"chat_type"`
				To          string `json:"to"`
				ClientMsgID string `json:"client_msg_id"`
			} `json:"item"`
		}
		if json.Unmarshal(b, &f) != nil || f.T != "item" || f.Item == nil {
			return false, nil, nil
		}
		if f.Item.ChatType != chatType {
			return true, nil, nil
		}
		return true, []byte(f.Item.To), []byte(f.Item.ClientMsgID)
	}
	if !bytes.Contains(b, key) {
		return true, nil, nil
	}
	return true, stringField(b, toKey), stringField(b, cmidKey)
}

// groupRecorder times and checks the group items (or chat room items: the
// same checks) arriving at a set of connections (a worker's, or the bench's
// own sender connections). Each connection has a memberRec fed only by its
// reader goroutine; the histogram is sharded so readers rarely wait for
// each other.
type groupRecorder struct {
	group    []byte
	chatType string // protocol.ChatTypeGroup or ChatTypeRoom
	chatKey  []byte
	timed    int
	shards   [16]struct {
		mu sync.Mutex
		h  Hist
	}
	mu      sync.Mutex
	members []*memberRec
}

// memberRec is what one connection received.
type memberRec struct {
	mu    sync.Mutex
	shard int
	own   int      // the stream this connection sends itself (-1: none): it never gets those
	got   []bitset // per stream: the k received
	items int64    // group items of the bench's group
	dups  int64
	other int64   // items of other conversations, or client_msg_ids the bench did not write
	timed []int64 // per timed message: latency in µs, -1 until it arrives
}

func newGroupRecorder(group string, timed int) *groupRecorder {
	return newConvRecorder(protocol.ChatTypeGroup, group, timed)
}

// newConvRecorder records the items of one group or chat room (chatType
// protocol.ChatTypeGroup or ChatTypeRoom).
func newConvRecorder(chatType, id string, timed int) *groupRecorder {
	return &groupRecorder{group: []byte(id), chatType: chatType, chatKey: chatTypeKey(chatType), timed: timed}
}

// member adds a connection's record; own is the stream it sends (or -1).
func (g *groupRecorder) member(own int) *memberRec {
	g.mu.Lock()
	defer g.mu.Unlock()
	m := &memberRec{shard: len(g.members) % len(g.shards), own: own, timed: make([]int64, g.timed)}
	for i := range m.timed {
		m.timed[i] = -1
	}
	g.members = append(g.members, m)
	return m
}

// onFrame handles one frame read at nowNs (wall clock). It reports whether
// the frame was an item (else the caller looks at it).
func (g *groupRecorder) onFrame(m *memberRec, b []byte, nowNs int64) bool {
	isItem, to, cmid := parseConvItem(b, g.chatType, g.chatKey)
	if !isItem {
		return false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !bytes.Equal(to, g.group) {
		m.other++
		return true
	}
	tag, stream, k, ref, ok := parseGroupCMID(cmid)
	if !ok {
		m.other++
		return true
	}
	m.items++
	for len(m.got) <= stream {
		m.got = append(m.got, nil)
	}
	if m.got[stream].set(k) {
		m.dups++
		return true
	}
	lat := max(0, (nowNs-ref)/int64(time.Microsecond))
	switch {
	case tag == tagMeasured:
		s := &g.shards[m.shard]
		s.mu.Lock()
		s.h.RecordMicros(uint64(lat))
		s.mu.Unlock()
	case tag == tagTimed && k < int64(len(m.timed)):
		m.timed[k] = lat
	}
	return true
}

// groupReport is what a recorder (or a whole pool of workers) saw.
type groupReport struct {
	Conns int   `json:"conns"`
	Items int64 `json:"items"` // group items received, duplicates included
	Dups  int64 `json:"dups"`
	Other int64 `json:"other"`
	// TimedCounts is, per timed message, how many connections have it.
	TimedCounts []int `json:"timed_counts"`
	// Filled by verify only:
	Checked bool  `json:"checked"`
	Missing int64 `json:"missing"` // acknowledged, not received (connection × message)
	// MissingByStream is Missing per stream (chat room priorities).
	MissingByStream []int64   `json:"missing_by_stream,omitempty"`
	Extra           int64     `json:"extra"` // received, never acknowledged
	ConnsMissing    int       `json:"conns_missing"`
	FirstMissing    string    `json:"first_missing,omitempty"`
	Hist            *Hist     `json:"hist,omitempty"`
	Timed           [][]int64 `json:"timed,omitempty"` // per timed message: each connection's latency (µs)
}

// status counts what arrived so far.
func (g *groupRecorder) status() *groupReport {
	g.mu.Lock()
	members := append([]*memberRec(nil), g.members...)
	g.mu.Unlock()
	r := &groupReport{Conns: len(members), TimedCounts: make([]int, g.timed)}
	for _, m := range members {
		m.mu.Lock()
		r.Items += m.items
		r.Dups += m.dups
		r.Other += m.other
		for k, v := range m.timed {
			if v >= 0 {
				r.TimedCounts[k]++
			}
		}
		m.mu.Unlock()
	}
	return r
}

// verify checks every connection against the acknowledged messages of
// each stream (acked[s] holds the k acked on stream s) and gathers the
// latencies.
func (g *groupRecorder) verify(acked []bitset) *groupReport {
	r := g.status()
	r.Checked = true
	r.Hist = &Hist{}
	for i := range g.shards {
		s := &g.shards[i]
		s.mu.Lock()
		r.Hist.Merge(&s.h)
		s.mu.Unlock()
	}
	r.Timed = make([][]int64, g.timed)
	g.mu.Lock()
	members := append([]*memberRec(nil), g.members...)
	g.mu.Unlock()
	for i, m := range members {
		m.mu.Lock()
		var missing int64
		for s := range max(len(acked), len(m.got)) {
			var want, got bitset
			if s < len(acked) && s != m.own {
				want = acked[s]
			}
			if s < len(m.got) {
				got = m.got[s]
			}
			miss, extra, first := compareBits(want, got)
			missing += miss
			for len(r.MissingByStream) <= s {
				r.MissingByStream = append(r.MissingByStream, 0)
			}
			r.MissingByStream[s] += miss
			r.Extra += extra
			if miss > 0 && r.FirstMissing == "" {
				r.FirstMissing = fmt.Sprintf("connection %d: message %d of stream %d", i, first, s)
			}
		}
		for k, v := range m.timed {
			if v >= 0 {
				r.Timed[k] = append(r.Timed[k], v)
			}
		}
		m.mu.Unlock()
		r.Missing += missing
		if missing > 0 {
			r.ConnsMissing++
		}
	}
	return r
}

// compareBits counts the bits of want missing from got and those of got
// not in want, and returns the first missing one.
func compareBits(want, got bitset) (missing, extra int64, first int64) {
	first = -1
	for w := range max(len(want), len(got)) {
		var a, b uint64
		if w < len(want) {
			a = want[w]
		}
		if w < len(got) {
			b = got[w]
		}
		if m := a &^ b; m != 0 {
			missing += int64(bits.OnesCount64(m))
			if first < 0 {
				first = int64(w*64 + bits.TrailingZeros64(m))
			}
		}
		extra += int64(bits.OnesCount64(b &^ a))
	}
	return missing, extra, first
}

// merge adds another report (another worker's) to r.
func (r *groupReport) merge(o *groupReport) {
	r.Conns += o.Conns
	r.Items += o.Items
	r.Dups += o.Dups
	r.Other += o.Other
	for len(r.TimedCounts) < len(o.TimedCounts) {
		r.TimedCounts = append(r.TimedCounts, 0)
	}
	for k, v := range o.TimedCounts {
		r.TimedCounts[k] += v
	}
	r.Checked = r.Checked || o.Checked
	r.Missing += o.Missing
	for len(r.MissingByStream) < len(o.MissingByStream) {
		r.MissingByStream = append(r.MissingByStream, 0)
	}
	for s, v := range o.MissingByStream {
		r.MissingByStream[s] += v
	}
	r.Extra += o.Extra
	r.ConnsMissing += o.ConnsMissing
	if r.FirstMissing == "" {
		r.FirstMissing = o.FirstMissing
	}
	if o.Hist != nil {
		if r.Hist == nil {
			r.Hist = &Hist{}
		}
		r.Hist.Merge(o.Hist)
	}
	for len(r.Timed) < len(o.Timed) {
		r.Timed = append(r.Timed, nil)
	}
	for k, v := range o.Timed {
		r.Timed[k] = append(r.Timed[k], v...)
	}
}
