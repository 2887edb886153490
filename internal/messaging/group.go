package messaging

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"strconv"
	"sync"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// Group messages share the 1:1 machinery: one item in the group's
// conversation stream (one row per message, whatever the group's size),
// gap-free seqs, sync and history per member row. Live delivery is one bus
// event per message on GroupSubject; each gateway delivers it to the
// members it holds connections for.

// GroupSubject carries every group's live items to every gateway.
const GroupSubject = "grp"

// EventGroup is a group deliver event on GroupSubject.
const EventGroup = 'G'

// GroupGate is what messaging needs to know about groups
// (internal/groups implements it).
type GroupGate interface {
	// CheckGroupSend returns the group's conversation if the user may send
	// to it now (a member, not muted, the group not muted or disabled).
	CheckGroupSend(ctx context.Context, app *tenant.App, userID, groupID int64) (convID int64, err error)
	// CanModerate reports whether a user may recall others' messages in
	// the group (owner and admins).
	CanModerate(ctx context.Context, appID, userID, groupID int64) (bool, error)
	// IsMember reports whether a user belongs to the group now.
	IsMember(ctx context.Context, appID, userID, groupID int64) (bool, error)
	// GroupConv returns a group's conversation, for app-token sends (no
	// membership or mute rules).
	GroupConv(ctx context.Context, appID, groupID int64) (int64, error)
}

// EncodeGroupDeliver builds a group deliver event: the frame goes to the
// group's members except one device (skipUser's skipResource).
func EncodeGroupDeliver(appID, groupID, skipUser int64, skipResource string, frame []byte) []byte {
	if len(skipResource) > 255 {
		skipResource = skipResource[:255]
	}
	b := make([]byte, 0, 26+len(skipResource)+len(frame))
	b = append(b, EventGroup)
	b = binary.BigEndian.AppendUint64(b, uint64(appID))
	b = binary.BigEndian.AppendUint64(b, uint64(groupID))
	b = binary.BigEndian.AppendUint64(b, uint64(skipUser))
	b = append(b, byte(len(skipResource)))
	b = append(b, skipResource...)
	return append(b, frame...)
}

// GroupDeliver is a decoded group deliver event.
type GroupDeliver struct {
	AppID, GroupID, SkipUser int64
	SkipResource             string
	Frame                    []byte
}

// DecodeGroupDeliver parses a group deliver event.
func DecodeGroupDeliver(b []byte) (GroupDeliver, bool) {
	if len(b) < 26 || b[0] != EventGroup {
		return GroupDeliver{}, false
	}
	d := GroupDeliver{AppID: int64(binary.BigEndian.Uint64(b[1:])), GroupID: int64(binary.BigEndian.Uint64(b[9:])),
		SkipUser: int64(binary.BigEndian.Uint64(b[17:]))}
	n := int(b[25])
	if len(b) < 26+n {
		return GroupDeliver{}, false
	}
	d.SkipResource, d.Frame = string(b[26:26+n]), b[26+n:]
	return d, true
}

// PublishGroupItem pushes a committed group item to the group's online
// members (every device but the one that sent it).
func (s *Service) PublishGroupItem(ctx context.Context, appID, groupID int64, it *store.Item, skipResource string) {
	frame := encodeItem(s.wireItem(it, s.name(ctx, appID, it.From), strconv.FormatInt(groupID, 10), protocol.ChatTypeGroup))
	if err := s.bus.Publish(context.Background(), GroupSubject, EncodeGroupDeliver(appID, groupID, it.From, skipResource, frame)); err != nil {
		s.log.Warn("bus publish failed; members will catch up on sync", "err", err)
	}
}

// groupKinds caches conversation ID -> group ID (0: not a group);
// conversations never change kind.
type groupKinds struct{ m sync.Map }

// groupOf returns the group a conversation belongs to (0 for 1:1).
func (s *Service) groupOf(ctx context.Context, convID int64) int64 {
	if v, ok := s.kinds.m.Load(convID); ok {
		return v.(int64)
	}
	c, err := s.st.Conversations().Get(ctx, convID)
	if err != nil {
		return 0
	}
	var g int64
	if c.Kind == store.ConvGroup {
		g = c.UserA
	}
	s.kinds.m.Store(convID, g)
	return g
}

// mentions reads ext.em_at_list: usernames, or "all" (also ["all"]).
func (s *Service) mentions(ctx context.Context, app *tenant.App, ext []byte) (ids []int64, all bool) {
	if !bytes.Contains(ext, []byte(`"em_at_list"`)) {
		return nil, false
	}
	var m struct {
		List json.RawMessage `json:"em_at_list"`
	}
	if json.Unmarshal(ext, &m) != nil || len(m.List) == 0 {
		return nil, false
	}
	var one string
	if json.Unmarshal(m.List, &one) == nil {
		return nil, one == "all" || one == "ALL"
	}
	var names []string
	if json.Unmarshal(m.List, &names) != nil {
		return nil, false
	}
	for i, n := range names {
		if i >= 100 {
			break
		}
		if n == "all" || n == "ALL" {
			all = true
			continue
		}
		if id, _, err := s.users.Resolve(ctx, app, n); err == nil {
			ids = append(ids, id)
		}
	}
	return ids, all
}

// groupAckKey marks, in ext, a message whose sender asked for group read
// receipts (need_group_ack).
const groupAckKey = "em_need_group_ack"

// withGroupAck adds the marker to a (compacted, validated) ext object.
func withGroupAck(ext []byte) []byte {
	if len(bytes.TrimSpace(ext)) <= 2 { // absent or {}
		return []byte(`{"` + groupAckKey + `":true}`)
	}
	return append([]byte(`{"`+groupAckKey+`":true,`), bytes.TrimSpace(ext)[1:]...)
}

// needsGroupAck reports whether a group item's ext carries the marker.
func needsGroupAck(ext []byte) bool {
	if !bytes.Contains(ext, []byte(groupAckKey)) {
		return false
	}
	var m map[string]json.RawMessage
	return json.Unmarshal(ext, &m) == nil && string(m[groupAckKey]) == "true"
}

// prepareGroup validates and builds a group send.
func (s *Service) prepareGroup(ctx context.Context, app *tenant.App, fromID int64, fromName string, cp copyTo, to string,
	req SendRequest, body, ext []byte, fileIDs []int64) ([]Result, []*pendingOp, error) {
	results := []Result{{To: to}}
	gid, err := strconv.ParseInt(to, 10, 64)
	if err != nil || gid <= 0 {
		return nil, nil, errs.New(protocol.ErrGroupNotFound, "group id %q doesn't exist", to)
	}
	if s.Groups == nil {
		return nil, nil, errs.New(protocol.ErrIllegalArgument, "groups are not available")
	}
	var conv int64
	if cp.gated {
		conv, err = s.Groups.CheckGroupSend(ctx, app, fromID, gid)
	} else {
		conv, err = s.Groups.GroupConv(ctx, app.ID, gid)
	}
	if err != nil {
		results[0].Err = err
		return results, nil, nil
	}
	if req.NeedGroupAck {
		ext = withGroupAck(ext)
	}
	it := store.Item{ID: s.ids.Next(), AppID: app.ID, ConvID: conv, Kind: store.ItemMsg, From: fromID, To: gid, Type: req.Type,
		Body: body, Ext: ext, ClientMsgID: req.ClientMsgID, Created: s.now().UnixMilli()}
	if len(req.Users) > 0 {
		return s.directed(ctx, app, gid, &it, fromName, to, req.Users, results)
	}
	if req.RouteOnline {
		w := s.wireItem(&it, fromName, to, protocol.ChatTypeGroup)
		w.Online = true
		if err := s.bus.Publish(ctx, GroupSubject, EncodeGroupDeliver(app.ID, gid, fromID, cp.skip, encodeItem(w))); err != nil {
			s.log.Warn("bus publish failed", "err", err)
		}
		results[0].Ack = &protocol.Ack{T: protocol.FrameAck, MsgID: strconv.FormatInt(it.ID, 10), TS: it.Created}
		s.sent(protocol.ChatTypeGroup, it.Type)
		return results, nil, nil
	}
	mentioned, all := s.mentions(ctx, app, ext)
	s.kinds.m.Store(conv, gid)
	var job *store.PushJob
	if s.Push != nil {
		job = s.Push.GroupJobFor(app.ID, gid)
	}
	var cb *store.CallbackJob
	if s.Callbacks != nil {
		cb = s.Callbacks.JobFor(ctx, app.ID, CallbackChat, gid)
	}
	return results, []*pendingOp{{i: 0, AppendOp: store.AppendOp{Item: it, Files: fileIDs, Mentions: mentioned, MentionAll: all,
		Push: job, Callback: cb, OnCommit: func(op *store.AppendOp) {
			s.PublishGroupItem(context.Background(), app.ID, gid, &op.Item, cp.skip)
			if op.Push != nil {
				s.Push.Poke()
			}
			if op.Callback != nil {
				s.Callbacks.Poke()
			}
			s.sent(protocol.ChatTypeGroup, op.Item.Type)
		}}}}, nil
}

// MaxDirected bounds the members a directed group message names.
const MaxDirected = 20

// directed delivers a group message to some members only: live, to their
// devices, not stored (it is not part of the group's history, unread
// counts or conversation list, as in Easemob).
func (s *Service) directed(ctx context.Context, app *tenant.App, gid int64, it *store.Item, fromName, to string, users []string,
	results []Result) ([]Result, []*pendingOp, error) {
	if len(users) > MaxDirected {
		return nil, nil, errs.New(protocol.ErrIllegalArgument, "a directed message names at most %d members", MaxDirected)
	}
	var ids []int64
	for _, u := range users {
		id, _, err := s.users.Resolve(ctx, app, u)
		if err != nil {
			return nil, nil, err
		}
		if ok, err := s.Groups.IsMember(ctx, app.ID, id, gid); err != nil {
			return nil, nil, err
		} else if !ok {
			return nil, nil, errs.New(protocol.ErrNotGroupMember, "%s is not a member of the group", u)
		}
		ids = append(ids, id)
	}
	w := s.wireItem(it, fromName, to, protocol.ChatTypeGroup)
	w.Online, w.Directed = true, true
	frame := encodeItem(w)
	for _, id := range ids {
		s.publish(ctx, app.ID, id, "", frame)
	}
	results[0].Ack = &protocol.Ack{T: protocol.FrameAck, MsgID: strconv.FormatInt(it.ID, 10), TS: it.Created}
	s.sent(protocol.ChatTypeGroup, it.Type)
	return results, nil, nil
}
