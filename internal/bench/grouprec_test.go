package bench

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/parleyim/parley/protocol"
)

func TestGroupCMID_RoundTrip(t *testing.T) {
	b := appendGroupCMID(nil, tagMeasured, 1023, 1<<26, 1<<62)
	if len(b) > 64 {
		t.Fatalf("client_msg_id %q is longer than the protocol's 64", b)
	}
	tag, stream, k, ref, ok := parseGroupCMID(b)
	if !ok || tag != tagMeasured || stream != 1023 || k != 1<<26 || ref != 1<<62 {
		t.Fatalf("parse %q = %c %d %d %d %v", b, tag, stream, k, ref, ok)
	}
	for _, bad := range []string{"", "m1_2", "x1_2_3", "m1_2_3_4", "m_2_3", "m1__3", "m1_2_", "m-1_2_3", "m1_2_3x",
		"m1_99999999999_3", "m2000_1_3"} {
		if _, _, _, _, ok := parseGroupCMID([]byte(bad)); ok {
			t.Errorf("%q parsed", bad)
		}
	}
}

// itemFrame is a group item as the server writes it.
func itemFrame(t *testing.T, chatType, to, cmid string) []byte {
	t.Helper()
	b, err := json.Marshal(protocol.ItemFrame{T: protocol.FrameItem, Item: &protocol.Item{Kind: "msg", MsgID: "1", ConvID: "7",
		Seq: 3, ChatType: chatType, From: "gm0", To: to, Type: "txt", Body: json.RawMessage(`{"msg":"hi"}`), TS: 1,
		ClientMsgID: cmid}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseGroupItem(t *testing.T) {
	fast := itemFrame(t, protocol.ChatTypeGroup, "42", "m0_1_2")
	tests := []struct {
		name   string
		frame  []byte
		isItem bool
		to     string
		cmid   string
	}{
		{"server's group item", fast, true, "42", "m0_1_2"},
		{"1:1 item", itemFrame(t, "chat", "bob", "m0_1_2"), true, "", ""},
		{"ack", []byte(`{"t":"ack","id":"5","seq":3}`), false, "", ""},
		{"other field order (JSON path)", []byte(`{"item":{"to":"42","chat_type":"groupchat","client_msg_id":"m0_1_2"},"t":"item"}`),
			true, "42", "m0_1_2"},
		{"escaped id (JSON path)", []byte(`{"t":"item","item":{"chat_type":"groupchat","to":"4\u0032","client_msg_id":"m0_1_2"}}`),
			true, "", "m0_1_2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			isItem, to, cmid := parseGroupItem(tc.frame)
			if isItem != tc.isItem || string(to) != tc.to || string(cmid) != tc.cmid {
				t.Errorf("got %v %q %q, want %v %q %q", isItem, to, cmid, tc.isItem, tc.to, tc.cmid)
			}
		})
	}
}

// The loss check: a recipient that misses an acknowledged message, gets
// one twice, gets one never acknowledged, or gets its own, is reported.
func TestGroupRecorder_Verify(t *testing.T) {
	rec := newGroupRecorder("42", 2)
	now := time.Now().UnixNano()
	frame := func(tag byte, stream int, k int64) []byte {
		return itemFrame(t, protocol.ChatTypeGroup, "42", string(appendGroupCMID(nil, tag, stream, k, now-int64(5*time.Millisecond))))
	}
	a, b, sender := rec.member(-1), rec.member(-1), rec.member(1)
	// acked: stream 0 messages 0..2, stream 1 message 0 (sent by sender).
	acked := []bitset{nil, nil}
	for k := range int64(3) {
		acked[0].set(k)
	}
	acked[1].set(0)
	for k := range int64(3) {
		rec.onFrame(a, frame(tagMeasured, 0, k), now)
		rec.onFrame(sender, frame(tagMeasured, 0, k), now)
	}
	rec.onFrame(a, frame(tagTimed, 1, 0), now)
	rec.onFrame(a, frame(tagTimed, 1, 0), now) // duplicate
	rec.onFrame(b, frame(tagMeasured, 0, 0), now)
	rec.onFrame(b, frame(tagMeasured, 0, 2), now)   // b misses 0/1 and 1/0
	rec.onFrame(b, frame(tagMeasured, 0, 7), now)   // never acknowledged
	rec.onFrame(sender, frame(tagTimed, 1, 0), now) // its own message
	if !rec.onFrame(b, itemFrame(t, protocol.ChatTypeGroup, "43", "m0_1_2"), now) {
		t.Fatal("an item of another group is still an item")
	}
	if rec.onFrame(b, []byte(`{"t":"ack","id":"1"}`), now) {
		t.Fatal("an ack is not an item")
	}

	st := rec.status()
	if st.Items != 12 || st.Dups != 1 || st.Other != 1 || fmt.Sprint(st.TimedCounts) != "[2 0]" {
		t.Errorf("status: %+v", st)
	}
	r := rec.verify(acked)
	if r.Missing != 2 || r.Dups != 1 || r.Extra != 2 || r.ConnsMissing != 1 {
		t.Errorf("verify: missing %d dups %d extra %d conns missing %d", r.Missing, r.Dups, r.Extra, r.ConnsMissing)
	}
	if !strings.Contains(r.FirstMissing, "connection 1: message 1 of stream 0") {
		t.Errorf("first missing: %q", r.FirstMissing)
	}
	if r.Hist.Count() != 9 || r.Hist.Quantile(0.5) < 4*time.Millisecond || r.Hist.Quantile(0.5) > 6*time.Millisecond {
		t.Errorf("histogram: %d values, p50 %s", r.Hist.Count(), r.Hist.Quantile(0.5))
	}
	if len(r.Timed) != 2 || fmt.Sprint(r.Timed[0]) != "[5000 5000]" {
		t.Errorf("timed latencies: %v", r.Timed)
	}

	// A clean record verifies clean, and merging adds up.
	clean := newGroupRecorder("42", 0)
	c := clean.member(-1)
	for k := range int64(3) {
		clean.onFrame(c, frame(tagMeasured, 0, k), now)
	}
	clean.onFrame(c, frame(tagUntimed, 1, 0), now)
	cr := clean.verify(acked)
	if cr.Missing != 0 || cr.Dups != 0 || cr.Extra != 0 || cr.Hist.Count() != 3 {
		t.Errorf("clean: %+v", cr)
	}
	cr.merge(r)
	if cr.Conns != 4 || cr.Missing != 2 || cr.Hist.Count() != 12 {
		t.Errorf("merged: conns %d missing %d hist %d", cr.Conns, cr.Missing, cr.Hist.Count())
	}
}

func TestCompareBits(t *testing.T) {
	var want, got bitset
	for _, k := range []int64{1, 64, 130} {
		want.set(k)
	}
	for _, k := range []int64{1, 65, 130, 500} {
		got.set(k)
	}
	missing, extra, first := compareBits(want, got)
	if missing != 1 || extra != 2 || first != 64 {
		t.Errorf("missing %d extra %d first %d", missing, extra, first)
	}
}

// A room send frame is a valid protocol request with its priority.
func TestAppendRoomSend(t *testing.T) {
	cmid := appendGroupCMID(nil, tagMeasured, 2, 7, 123)
	b := appendRoomSend(nil, 5, "42", "high", cmid, []byte("hi"))
	req, err := protocol.DecodeRequest(b)
	if err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if req.T != protocol.FrameSend || req.ID != "5" || req.To != "42" || req.ChatType != protocol.ChatTypeRoom ||
		req.Priority != "high" || req.ClientMsgID != string(cmid) || req.Type != "txt" {
		t.Errorf("decoded %+v", req)
	}
}

// A chat room recorder counts the room's items, not a group's with the
// same ID, and reports what is missing per stream (priority).
func TestRoomRecorder_MissingByStream(t *testing.T) {
	rec := newConvRecorder(protocol.ChatTypeRoom, "42", 0)
	now := time.Now().UnixNano()
	m := rec.member(-1)
	room := func(stream int, k int64) []byte {
		return itemFrame(t, protocol.ChatTypeRoom, "42", string(appendGroupCMID(nil, tagMeasured, stream, k, now)))
	}
	rec.onFrame(m, room(0, 0), now)
	rec.onFrame(m, room(2, 0), now)
	rec.onFrame(m, room(2, 1), now)
	rec.onFrame(m, itemFrame(t, protocol.ChatTypeGroup, "42", string(appendGroupCMID(nil, tagMeasured, 1, 0, now))), now)
	acked := make([]bitset, 3)
	for s := range acked {
		for k := range int64(2) {
			acked[s].set(k)
		}
	}
	r := rec.verify(acked)
	if r.Items != 3 || r.Other != 1 || r.Missing != 3 || fmt.Sprint(r.MissingByStream) != "[1 2 0]" {
		t.Errorf("items %d, other %d, missing %d by stream %v", r.Items, r.Other, r.Missing, r.MissingByStream)
	}
	r.merge(rec.verify(acked))
	if fmt.Sprint(r.MissingByStream) != "[2 4 0]" {
		t.Errorf("merged: %v", r.MissingByStream)
	}
}
