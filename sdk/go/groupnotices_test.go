package parley

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/parleyim/parley/protocol"
)

// groupLog builds a group conversation "g" (group "77") whose items are
// given by kind: "msg" (from bob), "+user" (user joined), "-user" (user
// left), "x" (a member's item alice cannot see: cleared), "created:owner".
func groupLog(page int, kinds ...string) *fakeLog {
	l := newFakeLog(page, nil)
	for i, k := range kinds {
		seq := int64(i + 1)
		var it *protocol.Item
		switch {
		case k == "msg":
			it = groupMsg(seq, "bob")
		case k == "x":
			continue
		case k[0] == '+':
			it = notice(seq, NoticeMemberJoined, map[string]any{"users": []string{k[1:]}, "by": "bob"})
		case k[0] == '-':
			it = notice(seq, NoticeMemberLeft, map[string]any{"users": []string{k[1:]}, "by": k[1:]})
		case len(k) > 8 && k[:8] == "created:":
			it = notice(seq, NoticeGroupCreated, map[string]any{"owner": k[8:], "members": []string{"carol"}})
		default:
			panic(k)
		}
		l.items["g"] = append(l.items["g"], it)
	}
	return l
}

func (l *fakeLog) item(conv string, seq int64) *protocol.Item {
	for _, it := range l.items[conv] {
		if it.Seq == seq {
			return it
		}
	}
	panic("no such item")
}

func groupMsg(seq int64, from string) *protocol.Item {
	it := msgItem("g", seq, from)
	it.ChatType, it.To = protocol.ChatTypeGroup, "77"
	return it
}

func notice(seq int64, typ string, body any) *protocol.Item {
	b, _ := json.Marshal(body)
	return &protocol.Item{Kind: protocol.ItemNotice, ConvID: "g", Seq: seq, ChatType: protocol.ChatTypeGroup, From: "bob",
		To: "77", Type: typ, Body: b, MsgID: "n" + string(rune('0'+seq%10))}
}

// A group's stream is delivered from the user's join on: a group this
// device has nothing of starts at the notice of the user's latest join,
// found by looking back from the item that revealed the group; items
// between the user leaving and rejoining are skipped.
func TestStream_GroupMembership(t *testing.T) {
	tests := []struct {
		name      string
		local     int64    // persisted seq of "g"
		log       []string // the server's items (see groupLog)
		live      []int64  // seqs pushed live (the server's items)
		want      []string
		wantPulls []string
		wantState int64
	}{
		{name: "a live join starts the stream without pulling", log: []string{"created:bob", "msg", "msg", "+alice"},
			live: []int64{4}, want: []string{"member_joined g/4"}, wantState: 4},
		{name: "a message after an unseen join: look back, then deliver from the join",
			log: []string{"created:bob", "msg", "+carol", "+alice", "msg", "msg"}, live: []int64{6},
			want:      []string{"member_joined g/4", "msg g/5", "msg g/6"},
			wantPulls: []string{"g>0", "g>3"}, wantState: 6},
		{name: "the latest join counts", log: []string{"created:bob", "+alice", "msg", "-alice", "msg", "+alice", "msg"},
			live: []int64{7}, want: []string{"member_joined g/6", "msg g/7"}, wantPulls: []string{"g>0", "g>5"}, wantState: 7},
		{name: "a member since the creation gets it all", log: []string{"created:alice", "msg", "msg"}, live: []int64{3},
			want: []string{"group_created g/1", "msg g/2", "msg g/3"}, wantPulls: []string{"g>0", "g>0"}, wantState: 3},
		{name: "no join notice: from the beginning", log: []string{"msg", "msg", "msg"}, live: []int64{3},
			want: []string{"msg g/1", "msg g/2", "msg g/3"}, wantPulls: []string{"g>0", "g>0"}, wantState: 3},
		{name: "cleared items hide the join: from what is visible", log: []string{"x", "x", "x", "msg", "msg"},
			live: []int64{5}, want: []string{"msg g/4", "msg g/5"}, wantPulls: []string{"g>0", "g>0"}, wantState: 5},
		{name: "a known group skips the time the user was out", local: 2,
			log: []string{"created:alice", "msg", "msg", "-alice", "msg", "msg", "+alice", "msg"}, live: []int64{8},
			want: []string{"msg g/3", "member_left g/4", "member_joined g/7", "msg g/8"}, wantPulls: []string{"g>2"},
			wantState: 8},
		{name: "others joining and leaving change nothing", local: 1,
			log: []string{"created:alice", "+carol", "msg", "-carol", "msg"}, live: []int64{5},
			want: []string{"member_joined g/2", "msg g/3", "member_left g/4", "msg g/5"}, wantPulls: []string{"g>1"},
			wantState: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			state := NewMemoryState()
			state.SetSeq("g", tt.local)
			s, rec := newTestStream(state)
			srv := groupLog(100, tt.log...)
			for _, seq := range tt.live {
				if err := s.apply(context.Background(), srv.pull, srv.item("g", seq)); err != nil {
					t.Fatal(err)
				}
			}
			if !reflect.DeepEqual(rec.got, tt.want) {
				t.Errorf("events = %q, want %q", rec.got, tt.want)
			}
			if !reflect.DeepEqual(srv.pulls, tt.wantPulls) {
				t.Errorf("pulls = %q, want %q", srv.pulls, tt.wantPulls)
			}
			if got := state.Seq("g"); got != tt.wantState {
				t.Errorf("persisted seq = %d, want %d", got, tt.wantState)
			}
		})
	}
}

// Looking back for the join goes a window of pullLimit items at a time,
// each window in pages, and stops at the join.
func TestStream_FindJoinLooksBackInWindows(t *testing.T) {
	kinds := make([]string, 250)
	for i := range kinds {
		kinds[i] = "msg"
	}
	kinds[0], kinds[119] = "created:bob", "+alice"
	s, rec := newTestStream(NewMemoryState())
	srv := groupLog(60, kinds...)
	if err := s.apply(context.Background(), srv.pull, srv.item("g", 250)); err != nil {
		t.Fatal(err)
	}
	if want := []string{"g>150", "g>210", "g>50", "g>110", "g>119", "g>179", "g>239"}; !reflect.DeepEqual(srv.pulls, want) {
		t.Fatalf("pulls = %q, want %q", srv.pulls, want)
	}
	if len(rec.got) != 131 || rec.got[0] != "member_joined g/120" || rec.got[130] != "msg g/250" {
		t.Fatalf("%d events, first %q, last %q", len(rec.got), rec.got[0], rec.got[len(rec.got)-1])
	}
}

// Notices are typed events with their details decoded; one whose body does
// not decode is delivered all the same.
func TestStream_GroupNotices(t *testing.T) {
	tests := []struct {
		typ  string
		body string
		want GroupNoticeEvent // without Item
	}{
		{NoticeGroupCreated, `{"owner":"bob","members":["alice","carol"]}`,
			GroupNoticeEvent{By: "bob", Owner: "bob", Members: []string{"alice", "carol"}}},
		{NoticeMemberJoined, `{"users":["dave"],"by":"bob"}`, GroupNoticeEvent{By: "bob", Users: []string{"dave"}}},
		{NoticeMemberJoined, `{"users":["dave"],"by":""}`, GroupNoticeEvent{Users: []string{"dave"}}},
		{NoticeMemberRemoved, `{"users":["dave","erin"],"by":"bob"}`, GroupNoticeEvent{By: "bob", Users: []string{"dave", "erin"}}},
		{NoticeOwnerChanged, `{"from":"bob","to":"carol"}`, GroupNoticeEvent{By: "bob", OldOwner: "bob", NewOwner: "carol"}},
		{NoticeMemberMuted, `{"users":["dave"],"until":1700000000000,"by":"bob"}`,
			GroupNoticeEvent{By: "bob", Users: []string{"dave"}, Until: 1700000000000}},
		{NoticeMuteAll, `{"by":"bob"}`, GroupNoticeEvent{By: "bob"}},
		{NoticeAnnouncement, `{"announcement":"hike on Sunday","by":"bob"}`, GroupNoticeEvent{By: "bob", Announcement: "hike on Sunday"}},
		{NoticeGroupUpdated, `{"fields":["groupname","maxusers"],"by":"bob"}`,
			GroupNoticeEvent{By: "bob", Fields: []string{"groupname", "maxusers"}}},
		{NoticeGroupDisabled, `{}`, GroupNoticeEvent{}},
		{"some_new_notice", `{"by":"bob","extra":1}`, GroupNoticeEvent{By: "bob"}},
		{NoticeMemberJoined, `["not an object"]`, GroupNoticeEvent{}},
	}
	state := NewMemoryState()
	s, rec := newTestStream(state)
	srv := groupLog(100)
	for i, tt := range tests {
		it := notice(int64(i+1), tt.typ, nil)
		it.Body = json.RawMessage(tt.body)
		if err := s.apply(context.Background(), srv.pull, it); err != nil {
			t.Fatal(err)
		}
	}
	if len(rec.notices) != len(tests) {
		t.Fatalf("%d notices delivered, want %d: %q", len(rec.notices), len(tests), rec.got)
	}
	for i, tt := range tests {
		got := rec.notices[i]
		if got.Item == nil || got.Item.Seq != int64(i+1) {
			t.Fatalf("notice %d: item %+v", i, got.Item)
		}
		got.Item = nil
		tt.want.Type, tt.want.Group = tt.typ, "77"
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s %s:\n got %+v\nwant %+v", tt.typ, tt.body, got, tt.want)
		}
	}
	if got := state.Seq("g"); got != int64(len(tests)) {
		t.Fatalf("persisted seq %d", got)
	}
	// Notices from others count as received.
	if due := s.rcpt.due(); !reflect.DeepEqual(due, []delivered{{"g", int64(len(tests))}}) {
		t.Fatalf("due = %v", due)
	}
}

// MessageEvent.Mentioned: em_at_list names the user or is "all", in a
// group message from someone else.
func TestStream_Mentions(t *testing.T) {
	tests := []struct {
		ext  string
		from string
		want bool
	}{
		{`{"em_at_list":["alice"]}`, "bob", true},
		{`{"em_at_list":["Alice","carol"]}`, "bob", true},
		{`{"em_at_list":"all"}`, "bob", true},
		{`{"em_at_list":["all"]}`, "bob", true},
		{`{"em_at_list":"ALL"}`, "bob", true},
		{`{"em_at_list":["carol"]}`, "bob", false},
		{`{"em_at_list":"carol"}`, "bob", false},
		{`{"em_at_list":"all"}`, "alice", false},
		{`{"em_at_list":42}`, "bob", false},
		{`{"other":["alice"]}`, "bob", false},
		{``, "bob", false},
	}
	for _, tt := range tests {
		s, rec := newTestStream(NewMemoryState())
		it := groupMsg(1, tt.from)
		if tt.ext != "" {
			it.Ext = json.RawMessage(tt.ext)
		}
		if err := s.apply(context.Background(), groupLog(100).pull, it); err != nil {
			t.Fatal(err)
		}
		if got := len(rec.got) == 1 && rec.got[0] == "msg g/1 @"; got != tt.want {
			t.Errorf("ext %s from %s: mentioned = %v (%q)", tt.ext, tt.from, got, rec.got)
		}
	}
	// A 1:1 message is never a mention.
	s, rec := newTestStream(NewMemoryState())
	it := msgItem("c", 1, "bob")
	it.Ext = json.RawMessage(`{"em_at_list":["alice"]}`)
	if err := s.apply(context.Background(), groupLog(100).pull, it); err != nil || !reflect.DeepEqual(rec.got, []string{"msg c/1"}) {
		t.Fatalf("1:1: %q, %v", rec.got, err)
	}
}
