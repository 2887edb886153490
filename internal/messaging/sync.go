package messaging

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/idgen"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

const syncPage = 100

// Sync returns the caller's conversations changed since the cursor (see
// docs/protocol.md). Cursor forms: "" or "0" (new device: every
// conversation with its latest items), "f<stamp>" (next page of a
// new-device round), "<stamp>" (start of a round: rewound by SyncWindow),
// "c<stamp>" (next page of a round: exact).
func (s *Service) Sync(ctx context.Context, p *tenant.Principal, since string, latest int) (*protocol.SyncResult, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	fresh := since == "" || since == "0" || strings.HasPrefix(since, "f")
	var from int64
	switch {
	case since == "" || since == "0":
	case strings.HasPrefix(since, "c") || strings.HasPrefix(since, "f"):
		v, err := strconv.ParseInt(since[1:], 10, 64)
		if err != nil || v < 0 {
			return nil, errs.New(protocol.ErrIllegalArgument, "since %q is not a cursor this server issued", since)
		}
		from = v
	default:
		v, err := strconv.ParseInt(since, 10, 64)
		if err != nil || v < 0 {
			return nil, errs.New(protocol.ErrIllegalArgument, "since %q is not a cursor this server issued", since)
		}
		from = max(0, v-idgen.FromTime(time.UnixMilli(idgen.Epoch).Add(SyncWindow)))
	}
	if fresh {
		if latest == 0 {
			latest = DefaultLatest
		}
		if latest < 0 || latest > MaxPageLimit {
			return nil, errs.New(protocol.ErrIllegalArgument, "latest must be 1..%d", MaxPageLimit)
		}
	}
	views, err := s.st.Conversations().Changed(ctx, p.App.ID, p.UserID, from, syncPage+1)
	if err != nil {
		return nil, err
	}
	res := &protocol.SyncResult{T: protocol.FrameSyncResult, Conversations: []*protocol.Conversation{}}
	if len(views) > syncPage {
		views = views[:syncPage]
		res.More = true
	}
	top := from
	for i := range views {
		v := &views[i]
		c := s.wireConv(ctx, v, true)
		if fresh {
			after := max(v.ClearedSeq, v.Conv.LastSeq-int64(latest))
			items, err := s.st.Messages().Items(ctx, v.ConvID, after, latest)
			if err != nil {
				return nil, err
			}
			for j := range items {
				c.Recent = append(c.Recent, s.toWire(ctx, &items[j]))
			}
		}
		res.Conversations = append(res.Conversations, c)
		top = max(top, v.Version)
	}
	if res.More {
		prefix := "c"
		if fresh {
			prefix = "f"
		}
		res.Next = prefix + strconv.FormatInt(top, 10)
	} else {
		// The round is over: the next one starts now, rewound by the window
		// when it is used, so nothing stamped before now is skipped.
		res.Next = strconv.FormatInt(max(top, s.stampNow()), 10)
	}
	return res, nil
}

// stampNow is the smallest stamp of the current millisecond.
func (s *Service) stampNow() int64 { return idgen.FromTime(s.now()) }

// Pull returns a conversation's items after a seq, for sync and gap repair.
func (s *Service) Pull(ctx context.Context, p *tenant.Principal, convID string, afterSeq int64, limit int) (*protocol.Items, error) {
	v, err := s.view(ctx, p, convID)
	if err != nil {
		return nil, err
	}
	if limit, err = clampLimit(limit, DefaultPullLimit); err != nil {
		return nil, err
	}
	if afterSeq < 0 {
		return nil, errs.New(protocol.ErrIllegalArgument, "after_seq must not be negative")
	}
	items, err := s.st.Messages().Items(ctx, v.ConvID, max(afterSeq, v.ClearedSeq), limit+1)
	if err != nil {
		return nil, err
	}
	return s.itemsResult(ctx, convID, items, limit), nil
}

func (s *Service) itemsResult(ctx context.Context, convID string, items []store.Item, limit int) *protocol.Items {
	res := &protocol.Items{T: protocol.FrameItems, ConvID: convID, Items: []*protocol.Item{}}
	if len(items) > limit {
		items = items[:limit]
		res.More = true
	}
	for i := range items {
		res.Items = append(res.Items, s.toWire(ctx, &items[i]))
	}
	return res
}

// HistoryQuery pages through a conversation's messages.
type HistoryQuery struct {
	MsgID   string // anchor message (exclusive)
	Time    int64  // or anchor time in ms
	Forward bool
	Limit   int
}

// History returns messages around an anchor (roaming history).
func (s *Service) History(ctx context.Context, p *tenant.Principal, convID string, q HistoryQuery) (*protocol.Items, error) {
	v, err := s.view(ctx, p, convID)
	if err != nil {
		return nil, err
	}
	limit, err := clampLimit(q.Limit, DefaultHistory)
	if err != nil {
		return nil, err
	}
	hq := store.HistoryQuery{Forward: q.Forward, MinSeq: v.ClearedSeq, Limit: limit + 1}
	var anchor int64
	switch {
	case q.MsgID != "":
		id, err := parseID("msg_id", q.MsgID)
		if err != nil {
			return nil, err
		}
		it, err := s.st.Messages().Item(ctx, p.App.ID, id)
		if errors.Is(err, store.ErrNotFound) || (err == nil && it.ConvID != v.ConvID) {
			return nil, errs.New(protocol.ErrMessageNotFound, "no message %s in conversation %s", q.MsgID, convID)
		}
		if err != nil {
			return nil, err
		}
		anchor = it.Seq
	case q.Time > 0:
		seq, err := s.st.Messages().SeqAt(ctx, v.ConvID, q.Time)
		if err != nil {
			return nil, err
		}
		anchor = seq
		if q.Forward {
			anchor = seq - 1 // include the first message at or after the time
		}
	}
	if q.Forward {
		hq.AfterSeq = anchor
	} else {
		hq.BeforeSeq = anchor
	}
	items, err := s.st.Messages().History(ctx, v.ConvID, hq)
	if err != nil {
		return nil, err
	}
	res := &protocol.Items{T: protocol.FrameItems, ConvID: convID, Items: []*protocol.Item{}}
	if len(items) > limit {
		res.More = true
		if q.Forward {
			items = items[:limit]
		} else {
			items = items[1:]
		}
	}
	for i := range items {
		res.Items = append(res.Items, s.toWire(ctx, &items[i]))
	}
	return res, nil
}

// Delivered records that the caller's device has received items up to seq,
// and tells the peer's devices.
func (s *Service) Delivered(ctx context.Context, p *tenant.Principal, convID string, seq int64) error {
	v, err := s.view(ctx, p, convID)
	if err != nil {
		return err
	}
	seq = min(seq, v.Conv.LastSeq)
	if seq <= v.DeliveredSeq {
		return nil
	}
	changed, err := s.st.Conversations().MarkDelivered(ctx, v.ConvID, p.UserID, seq)
	if err != nil || !changed {
		return err
	}
	if v.PeerID != 0 {
		s.publish(ctx, p.App.ID, v.PeerID, "", encode(protocol.Receipt{T: protocol.FrameReceipt, Kind: protocol.ReceiptDelivered,
			ConvID: convID, By: p.Username, Seq: seq, TS: s.now().UnixMilli()}))
	}
	return nil
}

// Read marks one message (msgID) or a conversation up to seq (0: all) read.
func (s *Service) Read(ctx context.Context, p *tenant.Principal, convID string, seq int64, msgID string) error {
	kind := protocol.ReceiptChannelRead
	if msgID != "" {
		if err := requireUser(p); err != nil {
			return err
		}
		id, err := parseID("msg_id", msgID)
		if err != nil {
			return err
		}
		it, err := s.st.Messages().Item(ctx, p.App.ID, id)
		if errors.Is(err, store.ErrNotFound) {
			return errs.New(protocol.ErrMessageNotFound, "no message %s", msgID)
		}
		if err != nil {
			return err
		}
		group := s.groupOf(ctx, it.ConvID)
		if group == 0 && it.From != p.UserID && it.To != p.UserID {
			return errs.New(protocol.ErrMessageNotFound, "no message %s", msgID)
		}
		convID, seq, kind = strconv.FormatInt(it.ConvID, 10), it.Seq, protocol.ReceiptRead
		if group != 0 && it.From != p.UserID && it.Kind == store.ItemMsg && needsGroupAck(it.Ext) {
			if _, err := s.view(ctx, p, convID); err != nil {
				return err // not a member
			}
			if err := s.groupAck(ctx, p, it, group); err != nil {
				return err
			}
		}
	}
	v, err := s.view(ctx, p, convID)
	if err != nil {
		return err
	}
	if seq <= 0 || seq > v.Conv.LastSeq {
		seq = v.Conv.LastSeq
	}
	nv, changed, err := s.st.Conversations().MarkRead(ctx, v.ConvID, p.UserID, seq, s.ids.Next())
	if err != nil || !changed {
		return err
	}
	now := s.now().UnixMilli()
	if v.PeerID != 0 {
		s.publish(ctx, p.App.ID, v.PeerID, "", encode(protocol.Receipt{T: protocol.FrameReceipt, Kind: kind,
			ConvID: convID, By: p.Username, Seq: seq, MsgID: msgID, TS: now}))
	}
	s.publish(ctx, p.App.ID, p.UserID, p.Resource, encode(protocol.ConvFrame{T: protocol.FrameConv, Conversation: s.wireConv(ctx, nv, false)}))
	return nil
}

// Recall recalls a message: by its sender within the app's window, or by an
// app admin (force skips the window). It returns the recall item.
func (s *Service) Recall(ctx context.Context, p *tenant.Principal, msgID string, force bool) (*protocol.Item, error) {
	if p.Anonymous() {
		return nil, errs.New(protocol.ErrUnauthorized, "recall needs a token")
	}
	id, err := parseID("msg_id", msgID)
	if err != nil {
		return nil, err
	}
	it, err := s.st.Messages().Item(ctx, p.App.ID, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !p.Admin && it.From != p.UserID && it.To != p.UserID &&
		s.groupOf(ctx, it.ConvID) == 0) {
		return nil, errs.New(protocol.ErrMessageNotFound, "not_found msg %s", msgID)
	}
	if err != nil {
		return nil, err
	}
	moderator := p.Admin
	if g := s.groupOf(ctx, it.ConvID); g != 0 && !p.Admin {
		// Members see the group's messages; the owner and admins recall
		// anyone's, at any time.
		if ok, err := s.Groups.IsMember(ctx, p.App.ID, p.UserID, g); err != nil || !ok {
			return nil, errs.New(protocol.ErrMessageNotFound, "not_found msg %s", msgID)
		}
		if moderator, err = s.Groups.CanModerate(ctx, p.App.ID, p.UserID, g); err != nil {
			return nil, err
		}
	}
	switch {
	case it.Kind != store.ItemMsg:
		return nil, errs.New(protocol.ErrRecallNotAllowed, "item %s is not a message", msgID)
	case it.Recalled:
		return nil, errs.New(protocol.ErrRecallNotAllowed, "message %s is already recalled", msgID)
	case it.Type == protocol.MsgCmd:
		return nil, errs.New(protocol.ErrRecallNotAllowed, "cmd messages cannot be recalled")
	case !moderator && it.From != p.UserID:
		return nil, errs.New(protocol.ErrRecallNotAllowed, "only the sender may recall a message")
	case !(moderator && (force || !p.Admin)) && s.now().Sub(time.UnixMilli(it.Created)) > p.App.Settings.RecallWindow():
		return nil, errs.New(protocol.ErrRecallWindow, "exceed recall time limit of %s", p.App.Settings.RecallWindow())
	}
	op := &store.RecallOp{AppID: p.App.ID, ConvHint: it.ConvID, TargetID: id, RecallID: s.ids.Next(), Created: s.now().UnixMilli()}
	if s.Callbacks != nil {
		op.Callback = s.Callbacks.JobFor(ctx, p.App.ID, CallbackRecall, s.groupOf(ctx, it.ConvID))
	}
	if err := s.st.Messages().Recall(ctx, op); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return nil, errs.New(protocol.ErrRecallNotAllowed, "message %s is already recalled", msgID)
		}
		return nil, err
	}
	if op.Callback != nil {
		s.Callbacks.Poke()
	}
	if len(op.Files) > 0 && s.Released != nil {
		s.Released(ctx, op.Files)
	}
	w := s.toWire(ctx, &op.Event)
	if g := s.groupOf(ctx, op.Event.ConvID); g != 0 {
		s.PublishGroupItem(ctx, p.App.ID, g, &op.Event, "")
		return w, nil
	}
	frame := encodeItem(w)
	s.publish(ctx, p.App.ID, op.Event.From, "", frame)
	if op.Event.To != op.Event.From {
		s.publish(ctx, p.App.ID, op.Event.To, "", frame)
	}
	return w, nil
}

// Conversations lists the caller's conversations: pinned first, then by
// last activity. The cursor is opaque.
func (s *Service) Conversations(ctx context.Context, p *tenant.Principal, cursor string, limit int) (*protocol.ConvList, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	return s.ListFor(ctx, p.App, p.UserID, cursor, limit)
}

// ListFor lists one user's conversations (for the caller's own list, or an
// admin's REST call).
func (s *Service) ListFor(ctx context.Context, app *tenant.App, userID int64, cursor string, limit int) (*protocol.ConvList, error) {
	limit, err := clampLimit(limit, 50)
	if err != nil {
		return nil, err
	}
	offset := 0
	if cursor != "" {
		n, err := strconv.Atoi(cursor)
		if err != nil || n < 0 {
			return nil, errs.New(protocol.ErrIllegalArgument, "cursor %q is not one this server issued", cursor)
		}
		offset = n
	}
	views, err := s.st.Conversations().List(ctx, app.ID, userID, offset, limit+1)
	if err != nil {
		return nil, err
	}
	res := &protocol.ConvList{T: protocol.FrameConvList, Conversations: []*protocol.Conversation{}}
	if len(views) > limit {
		views = views[:limit]
		res.Cursor = strconv.Itoa(offset + limit)
	}
	for i := range views {
		res.Conversations = append(res.Conversations, s.wireConv(ctx, &views[i], true))
	}
	return res, nil
}

// Pin pins or unpins a conversation for the caller.
func (s *Service) Pin(ctx context.Context, p *tenant.Principal, convID string, pinned bool) error {
	v, err := s.view(ctx, p, convID)
	if err != nil {
		return err
	}
	nv, err := s.st.Conversations().SetPinned(ctx, v.ConvID, p.UserID, pinned, s.ids.Next())
	if err != nil {
		return err
	}
	s.publish(ctx, p.App.ID, p.UserID, p.Resource, encode(protocol.ConvFrame{T: protocol.FrameConv, Conversation: s.wireConv(ctx, nv, false)}))
	return nil
}

// DeleteConversation hides a conversation and its history so far from the
// caller (not from the peer); a new item brings it back.
func (s *Service) DeleteConversation(ctx context.Context, p *tenant.Principal, convID string) error {
	v, err := s.view(ctx, p, convID)
	if err != nil {
		return err
	}
	return s.clear(ctx, p.App, p.UserID, p.Resource, v.ConvID)
}

func (s *Service) clear(ctx context.Context, app *tenant.App, userID int64, skip string, convID int64) error {
	nv, err := s.st.Conversations().Clear(ctx, convID, userID, s.ids.Next())
	if err != nil {
		return err
	}
	s.publish(ctx, app.ID, userID, skip, encode(protocol.ConvFrame{T: protocol.FrameConv, Conversation: s.wireConv(ctx, nv, false)}))
	return nil
}

// conversationWith finds the 1:1 conversation of user and peer for a REST
// call by an app admin or by user themself.
func (s *Service) conversationWith(ctx context.Context, p *tenant.Principal, username, peer string) (int64, int64, error) {
	u, err := s.users.Lookup(ctx, p.App, username)
	if err != nil {
		return 0, 0, err
	}
	if err := p.RequireSelfOrAdmin(u.Username); err != nil {
		return 0, 0, err
	}
	pu, err := s.users.Lookup(ctx, p.App, peer)
	if err != nil {
		return 0, 0, err
	}
	c, err := s.st.Conversations().Find(ctx, p.App.ID, store.ConvChat, u.ID, pu.ID)
	if errors.Is(err, store.ErrNotFound) {
		return 0, 0, errs.New(protocol.ErrConversationNotFound, "no conversation between %s and %s", username, peer)
	}
	if err != nil {
		return 0, 0, err
	}
	return u.ID, c.ID, nil
}

// DeleteConversationWith hides the 1:1 conversation between user and peer
// for user (REST: app token, or the user's own).
func (s *Service) DeleteConversationWith(ctx context.Context, p *tenant.Principal, username, peer string) error {
	uid, cid, err := s.conversationWith(ctx, p, username, peer)
	if err != nil {
		return err
	}
	return s.clear(ctx, p.App, uid, "", cid)
}

// PinConversationWith pins or unpins the 1:1 conversation between user and
// peer for user (REST: app token, or the user's own).
func (s *Service) PinConversationWith(ctx context.Context, p *tenant.Principal, username, peer string, pinned bool) error {
	uid, cid, err := s.conversationWith(ctx, p, username, peer)
	if err != nil {
		return err
	}
	nv, err := s.st.Conversations().SetPinned(ctx, cid, uid, pinned, s.ids.Next())
	if err != nil {
		return err
	}
	s.publish(ctx, p.App.ID, uid, "", encode(protocol.ConvFrame{T: protocol.FrameConv, Conversation: s.wireConv(ctx, nv, false)}))
	return nil
}

// Undelivered counts the messages a user has not received on any device.
func (s *Service) Undelivered(ctx context.Context, app *tenant.App, userID int64) (int64, error) {
	return s.st.Conversations().Undelivered(ctx, app.ID, userID)
}

// groupAck records a member's read of a message that asked for group
// receipts and tells the sender's devices (group_ack event, live only).
func (s *Service) groupAck(ctx context.Context, p *tenant.Principal, it *store.Item, group int64) error {
	added, err := s.st.Groups().Ack(ctx, it.ID, p.UserID, s.now().UnixMilli())
	if err != nil || !added {
		return err
	}
	_, n, err := s.st.Groups().Acks(ctx, it.ID, 0, 0)
	if err != nil {
		return err
	}
	frame := encode(protocol.EventFrame{T: protocol.FrameEvent, Event: &protocol.Event{Kind: protocol.EventGroupAck,
		Group: strconv.FormatInt(group, 10), From: p.Username, MsgID: strconv.FormatInt(it.ID, 10), Count: n, TS: s.now().UnixMilli()}})
	s.publish(ctx, p.App.ID, it.From, "", frame)
	return nil
}

// GroupAcks lists who read a group message that asked for receipts (its
// sender, or the group's members): readers after the cursor and the count.
func (s *Service) GroupAcks(ctx context.Context, p *tenant.Principal, msgID, cursor string, limit int) ([]string, int, string, error) {
	if err := requireUser(p); err != nil && !p.Admin {
		return nil, 0, "", err
	}
	id, err := parseID("msg_id", msgID)
	if err != nil {
		return nil, 0, "", err
	}
	it, err := s.st.Messages().Item(ctx, p.App.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, 0, "", errs.New(protocol.ErrMessageNotFound, "no message %s", msgID)
	}
	if err != nil {
		return nil, 0, "", err
	}
	g := s.groupOf(ctx, it.ConvID)
	if g == 0 {
		return nil, 0, "", errs.New(protocol.ErrMessageNotFound, "message %s is not a group message", msgID)
	}
	if !p.Admin {
		if ok, err := s.Groups.IsMember(ctx, p.App.ID, p.UserID, g); err != nil || !ok {
			return nil, 0, "", errs.New(protocol.ErrMessageNotFound, "no message %s", msgID)
		}
	}
	if limit, err = clampLimit(limit, MaxPageLimit); err != nil {
		return nil, 0, "", err
	}
	var after int64
	if cursor != "" {
		if after, err = strconv.ParseInt(cursor, 10, 64); err != nil {
			return nil, 0, "", errs.New(protocol.ErrIllegalArgument, "cursor %q is not one this server issued", cursor)
		}
	}
	ids, n, err := s.st.Groups().Acks(ctx, it.ID, after, limit+1)
	if err != nil {
		return nil, 0, "", err
	}
	next := ""
	if len(ids) > limit {
		ids = ids[:limit]
		next = strconv.FormatInt(ids[limit-1], 10)
	}
	names := make([]string, 0, len(ids))
	for _, u := range ids {
		names = append(names, s.name(ctx, p.App.ID, u))
	}
	return names, n, next, nil
}
