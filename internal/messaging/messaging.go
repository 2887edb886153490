// Package messaging is the heart of Parley: sending 1:1 messages, the
// conversation streams and their sync, history, receipts, recall and the
// conversation list. It stores through store.MessageStore and
// store.ConversationStore and, only after a commit, publishes to the bus;
// gateways deliver from the bus to sockets. It knows nothing of transports:
// the WebSocket gateway and the REST API call the same methods.
package messaging

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/parleyim/parley/internal/bus"
	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/idgen"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/internal/users"
	"github.com/parleyim/parley/protocol"
)

// Limits (documented in docs/protocol.md and docs/rest.md).
const (
	MaxPageLimit      = 100
	DefaultPullLimit  = 100
	DefaultHistory    = 20
	DefaultLatest     = 20
	MaxRESTRecipients = 600
	// SyncWindow is how far a sync cursor is rewound, so that a change
	// whose stamp was taken before, but committed after, the previous sync
	// is not missed. Clients drop what they already have by seq.
	SyncWindow = 30 * time.Second
)

// Service is the messaging domain service.
type Service struct {
	st    store.Store
	bus   bus.Bus
	ids   *idgen.Gen
	users *users.Service
	log   *slog.Logger
	now   func() time.Time

	// Gate, if set, decides whether a user may send to another (blocks,
	// mutes, friends-only apps: internal/social). App-token sends skip it.
	Gate Gate

	// Groups, if set, answers for group sends and recalls (internal/groups).
	Groups GroupGate
	// Rooms, if set, answers for chat room sends (internal/rooms).
	Rooms RoomGate
	// Push, if set, makes push jobs for messages to users who are away
	// (internal/push); a job is stored with its message.
	Push  PushGate
	kinds groupKinds

	// Released, if set, is told about files a recall left unreferenced
	// (internal/files deletes them).
	Released func(ctx context.Context, fileIDs []int64)

	// Sent, if set, is told of every message sent: stored (after its
	// commit, duplicates excluded) or delivered live only (online-only,
	// directed and chat room messages). Metrics count them. It must not
	// block.
	Sent func(chatType, msgType string)

	// Filters see every message before it is stored (chat room messages:
	// before they are delivered), in order: content moderation, the app's
	// pre-send callback, ... Set them before traffic starts.
	Filters []SendFilter
	// EditFilters see the new content of every edit (Outgoing.MsgID names
	// the edited message) before it is stored: content moderation.
	EditFilters []SendFilter
	// Callbacks, if set, gives the post-send callback job stored with each
	// message and recall (internal/callback).
	Callbacks Callbacks

	namesMu sync.RWMutex
	names   map[int64]string // user ID -> username (immutable per ID)
}

// New builds the service.
func New(st store.Store, b bus.Bus, ids *idgen.Gen, u *users.Service, log *slog.Logger) *Service {
	return &Service{st: st, bus: b, ids: ids, users: u, log: log, now: time.Now, names: map[int64]string{}}
}

// SendRequest is one message to send.
type SendRequest struct {
	To          string
	ChatType    string
	Type        string
	Body        json.RawMessage
	Ext         json.RawMessage
	ClientMsgID string
	RouteOnline bool
	// NeedGroupAck asks for group read receipts (group messages).
	NeedGroupAck bool
	// Priority is a chat room message's chatroom_msg_level (high, normal,
	// low): under overload low goes first.
	Priority string
	// Users makes a group message directed: only these members (≤20) get
	// it, live, and it is not stored in the group's history.
	Users []string
	// SyncDevice copies the message to the sender's devices (REST sends;
	// WebSocket sends always reach the sender's other devices).
	SyncDevice bool
}

// validate checks the type, body and ext of a message and returns the
// compacted body and ext, and the UUIDs of uploaded files it references.
func validate(app *tenant.App, req *SendRequest) (body, ext []byte, files []string, err error) {
	if req.ChatType != "" && req.ChatType != protocol.ChatTypeChat && req.ChatType != protocol.ChatTypeGroup &&
		req.ChatType != protocol.ChatTypeRoom {
		return nil, nil, nil, errs.New(protocol.ErrIllegalArgument, "chat_type %q is not one of chat, groupchat, chatroom", req.ChatType)
	}
	var fields map[string]json.RawMessage
	if _, known := bodyFields[req.Type]; known && (len(req.Body) == 0 || json.Unmarshal(req.Body, &fields) != nil || fields == nil) {
		return nil, nil, nil, errs.New(protocol.ErrIllegalArgument, "body must be a JSON object")
	}
	files, err = checkBody(app, req.Type, fields)
	if err != nil {
		return nil, nil, nil, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, req.Body); err != nil {
		return nil, nil, nil, errs.New(protocol.ErrIllegalArgument, "body is not valid JSON")
	}
	body = bytes.Clone(buf.Bytes())
	if len(req.Ext) > 0 && string(req.Ext) != "null" {
		var m map[string]json.RawMessage
		if json.Unmarshal(req.Ext, &m) != nil || m == nil {
			return nil, nil, nil, errs.New(protocol.ErrIllegalArgument, "ext must be a JSON object")
		}
		buf.Reset()
		json.Compact(&buf, req.Ext)
		ext = bytes.Clone(buf.Bytes())
	} else if string(req.Ext) == "null" {
		return nil, nil, nil, errs.New(protocol.ErrIllegalArgument, "ext may not be null")
	}
	if limit := app.Settings.MessageBytes(); len(body)+len(ext) > limit {
		return nil, nil, nil, errs.New(protocol.ErrMessageTooLarge, "body and ext are %d bytes, the limit is %d", len(body)+len(ext), limit)
	}
	return body, ext, files, nil
}

// Send sends one 1:1 message as the caller (a user on a device).
func (s *Service) Send(ctx context.Context, p *tenant.Principal, req SendRequest) (*protocol.Ack, error) {
	if p.Anonymous() || p.Admin {
		return nil, errs.New(protocol.ErrForbidden, "send needs a user token")
	}
	acks, err := s.send(ctx, p.App, p.UserID, p.Username, copyTo{devices: true, skip: p.Resource, gated: true}, []string{req.To}, req)
	if err != nil {
		return nil, err
	}
	return acks[0].Ack, acks[0].Err
}

// Result is one recipient's outcome of a send.
type Result struct {
	To  string
	Ack *protocol.Ack
	Err error
}

// SendAs sends one message from a named user to several recipients (the
// REST API, app token only). from "" means "admin", a system user created on
// first use.
func (s *Service) SendAs(ctx context.Context, p *tenant.Principal, from string, to []string, req SendRequest) ([]Result, error) {
	if err := p.RequireAdmin(); err != nil {
		return nil, err
	}
	if len(to) == 0 {
		return nil, errs.New(protocol.ErrIllegalArgument, "to must list at least one user")
	}
	if len(to) > MaxRESTRecipients {
		return nil, errs.New(protocol.ErrIllegalArgument, "params to's size can't exceed limit %d", MaxRESTRecipients)
	}
	if from == "" {
		from = "admin"
	}
	sender, err := s.users.Lookup(ctx, p.App, from)
	if errs.Is(err, protocol.ErrUserNotFound) && from == "admin" {
		sender, err = s.users.CreateForGrant(ctx, p.App, "admin")
	}
	if err != nil {
		return nil, err
	}
	if req.ClientMsgID != "" && len(to) > 1 {
		return nil, errs.New(protocol.ErrIllegalArgument, "client_msg_id needs a single recipient")
	}
	// REST has no device: with sync_device, all of the sender's devices get a copy.
	return s.send(ctx, p.App, sender.ID, sender.Username, copyTo{devices: req.SyncDevice}, to, req)
}

// PushGate decides which messages get a push job.
type PushGate interface {
	JobFor(appID, userID int64) *store.PushJob
	GroupJobFor(appID, groupID int64) *store.PushJob
	Poke()
}

// Gate decides whether a user may send a 1:1 message to another.
type Gate interface {
	CheckSend(ctx context.Context, app *tenant.App, from, to int64) error
}

// copyTo says whether the sender's devices get a copy, and which one not;
// gated sends are a user's own and pass the Gate.
type copyTo struct {
	devices bool
	skip    string
	gated   bool
}

func (s *Service) send(ctx context.Context, app *tenant.App, fromID int64, fromName string, cp copyTo, to []string, req SendRequest) ([]Result, error) {
	results, ops, err := s.prepare(ctx, app, fromID, fromName, cp, to, req)
	if err != nil {
		return nil, err
	}
	if len(ops) > 0 {
		batch := make([]*store.AppendOp, len(ops))
		for k, op := range ops {
			batch[k] = &op.AppendOp
		}
		if err := s.st.Messages().Append(ctx, batch); err != nil {
			return nil, err
		}
	}
	for _, op := range ops {
		r := &results[op.i]
		r.Ack, r.Err = s.ackOf(&op.AppendOp) // published by OnCommit (duplicates were delivered the first time)
	}
	return results, nil
}

// SendAsync is Send for transports that pipeline requests: it validates the
// message, queues it for storage and returns. reply is called exactly once
// with the outcome: at once for a rejected or online-only message, else
// after the commit, on the store's announcer goroutine (so it must not
// block). Messages that one caller sends with SendAsync one after another to
// the same peer are stored in that order.
func (s *Service) SendAsync(ctx context.Context, p *tenant.Principal, req SendRequest, reply func(*protocol.Ack, error)) {
	if p.Anonymous() || p.Admin {
		reply(nil, errs.New(protocol.ErrForbidden, "send needs a user token"))
		return
	}
	results, ops, err := s.prepare(ctx, p.App, p.UserID, p.Username, copyTo{devices: true, skip: p.Resource, gated: true}, []string{req.To}, req)
	if err != nil {
		reply(nil, err)
		return
	}
	if len(ops) == 0 {
		reply(results[0].Ack, results[0].Err)
		return
	}
	if err := s.st.Messages().Submit(ctx, &ops[0].AppendOp, func(op *store.AppendOp) { reply(s.ackOf(op)) }); err != nil {
		reply(nil, err)
	}
}

// pendingOp is an op to store for results[i].
type pendingOp struct {
	store.AppendOp
	i int
}

// prepare validates a send and resolves its recipients: results holds the
// outcome of recipients settled already (rejected, or online-only), ops the
// messages to store.
func (s *Service) prepare(ctx context.Context, app *tenant.App, fromID int64, fromName string, cp copyTo, to []string,
	req SendRequest) ([]Result, []*pendingOp, error) {
	body, ext, uuids, err := validate(app, &req)
	if err != nil {
		return nil, nil, err
	}
	if len(s.Filters) > 0 {
		if body, ext, uuids, err = s.filter(ctx, app, fromID, fromName, to, &req, body, ext, uuids); err != nil {
			return nil, nil, err
		}
	}
	fileIDs, err := s.attachments(ctx, app, uuids)
	if err != nil {
		return nil, nil, err
	}
	if req.ChatType == protocol.ChatTypeRoom {
		results, err := s.sendRoom(ctx, app, fromID, fromName, cp, to, req, body, ext)
		return results, nil, err
	}
	if req.ChatType == protocol.ChatTypeGroup {
		var results []Result
		var ops []*pendingOp
		for _, g := range to {
			r, o, err := s.prepareGroup(ctx, app, fromID, fromName, cp, g, req, body, ext, fileIDs)
			if err != nil {
				r = []Result{{To: g, Err: err}}
			}
			for _, op := range o {
				op.i = len(results)
			}
			results, ops = append(results, r...), append(ops, o...)
		}
		return results, ops, nil
	}
	results := make([]Result, len(to))
	var ops []*pendingOp
	for i, name := range to {
		results[i].To = name
		uid, uname, err := s.users.Resolve(ctx, app, name)
		if err != nil {
			results[i].Err = err
			continue
		}
		if uid == fromID {
			results[i].Err = errs.New(protocol.ErrIllegalArgument, "cannot send a message to yourself")
			continue
		}
		if cp.gated && s.Gate != nil {
			if err := s.Gate.CheckSend(ctx, app, fromID, uid); err != nil {
				results[i].Err = err
				continue
			}
		}
		s.remember(uid, uname)
		now := s.now().UnixMilli()
		it := store.Item{ID: s.ids.Next(), AppID: app.ID, Kind: store.ItemMsg, From: fromID, To: uid, Type: req.Type,
			Body: body, Ext: ext, ClientMsgID: req.ClientMsgID, Created: now}
		if req.RouteOnline {
			// Not stored: hand it to online devices only.
			item := s.wireItem(&it, fromName, uname, protocol.ChatTypeChat)
			item.Online = true
			frame := encodeItem(item)
			s.publish(ctx, app.ID, uid, "", frame)
			if cp.devices {
				s.publish(ctx, app.ID, fromID, cp.skip, frame)
			}
			results[i].Ack = &protocol.Ack{T: protocol.FrameAck, MsgID: strconv.FormatInt(it.ID, 10), TS: now}
			s.sent(protocol.ChatTypeChat, req.Type)
			continue
		}
		target := uname
		var job *store.PushJob
		if s.Push != nil {
			job = s.Push.JobFor(app.ID, uid)
		}
		var cb *store.CallbackJob
		if s.Callbacks != nil {
			cb = s.Callbacks.JobFor(ctx, app.ID, CallbackChat, 0)
		}
		ops = append(ops, &pendingOp{i: i, AppendOp: store.AppendOp{Item: it, Files: fileIDs, Push: job, Callback: cb, OnCommit: func(op *store.AppendOp) {
			if op.Push != nil {
				s.Push.Poke()
			}
			if op.Callback != nil {
				s.Callbacks.Poke()
			}
			s.sent(protocol.ChatTypeChat, op.Item.Type)
			// Announce in commit order, so live pushes arrive in seq order.
			// The sender's context may be over: the message is stored.
			frame := encodeItem(s.wireItem(&op.Item, fromName, target, protocol.ChatTypeChat))
			s.publish(context.Background(), app.ID, op.Item.To, "", frame)
			if cp.devices {
				s.publish(context.Background(), app.ID, fromID, cp.skip, frame)
			}
		}}})
	}
	return results, ops, nil
}

// attachments resolves the uploads a message body references to file IDs.
func (s *Service) attachments(ctx context.Context, app *tenant.App, uuids []string) ([]int64, error) {
	if len(uuids) == 0 {
		return nil, nil
	}
	ids, err := s.st.Files().IDs(ctx, app.ID, uuids)
	if err != nil {
		return nil, err
	}
	out := make([]int64, 0, len(uuids))
	for _, u := range uuids {
		id, ok := ids[u]
		if !ok {
			return nil, errs.New(protocol.ErrIllegalArgument, "the body names file %s, which is not an upload of this app (upload it to /chatfiles first)", u)
		}
		out = append(out, id)
	}
	return out, nil
}

func (s *Service) sent(chatType, msgType string) {
	if s.Sent != nil {
		s.Sent(chatType, msgType)
	}
}

// ackOf is the answer to a stored (or failed) op.
func (s *Service) ackOf(op *store.AppendOp) (*protocol.Ack, error) {
	if op.Err != nil {
		if !errs.Unreachable(op.Err) { // an outage is logged once, by the transport
			s.log.Error("append message", "err", op.Err)
		}
		return nil, op.Err
	}
	it := &op.Item
	return &protocol.Ack{T: protocol.FrameAck, MsgID: strconv.FormatInt(it.ID, 10),
		ConvID: strconv.FormatInt(it.ConvID, 10), Seq: it.Seq, TS: it.Created, Duplicate: op.Duplicate}, nil
}

// publish hands a frame to the bus for one user's devices. Failures are
// logged, not returned: the item is stored, and devices get it on sync.
func (s *Service) publish(ctx context.Context, appID, userID int64, skipResource string, frame []byte) {
	if err := s.bus.Publish(ctx, UserSubject(appID, userID), EncodeDeliver(skipResource, frame)); err != nil {
		s.log.Warn("bus publish failed; devices will catch up on sync", "err", err)
	}
}

// Kick closes a user's connections on every node (one resource, or all).
func (s *Service) Kick(ctx context.Context, appID, userID int64, resource string, code int, reason string) error {
	return s.bus.Publish(ctx, UserSubject(appID, userID), EncodeKick(KickEvent{Resource: resource, Code: code, Reason: reason}))
}

func encodeItem(it *protocol.Item) []byte {
	b, _ := json.Marshal(protocol.ItemFrame{T: protocol.FrameItem, Item: it})
	return b
}

func encode(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func (s *Service) remember(id int64, name string) {
	s.namesMu.Lock()
	if len(s.names) > 1_000_000 {
		s.names = map[int64]string{}
	}
	s.names[id] = name
	s.namesMu.Unlock()
}

// name returns a user's name from the cache or the store ("admin" for 0,
// an app administrator's action).
func (s *Service) name(ctx context.Context, appID, id int64) string {
	if id == 0 {
		return "admin"
	}
	s.namesMu.RLock()
	n, ok := s.names[id]
	s.namesMu.RUnlock()
	if ok {
		return n
	}
	u, err := s.st.Users().GetByID(ctx, appID, id)
	if err != nil {
		return strconv.FormatInt(id, 10) // deleted user
	}
	s.remember(id, u.Username)
	return u.Username
}

func (s *Service) wireItem(it *store.Item, from, to, chatType string) *protocol.Item {
	w := &protocol.Item{Kind: it.Kind, MsgID: strconv.FormatInt(it.ID, 10), ConvID: strconv.FormatInt(it.ConvID, 10),
		Seq: it.Seq, ChatType: chatType, From: from, To: to, Type: it.Type, TS: it.Created,
		ClientMsgID: it.ClientMsgID, Recalled: it.Recalled, Edits: it.Edits, NeedGroupAck: chatType == protocol.ChatTypeGroup && needsGroupAck(it.Ext)}
	if len(it.Body) > 0 {
		w.Body = json.RawMessage(it.Body)
	}
	if len(it.Ext) > 0 {
		w.Ext = json.RawMessage(it.Ext)
	}
	if it.Target != 0 {
		w.Target = strconv.FormatInt(it.Target, 10)
	}
	return w
}

func (s *Service) toWire(ctx context.Context, it *store.Item) *protocol.Item {
	if g := s.groupOf(ctx, it.ConvID); g != 0 {
		return s.wireItem(it, s.name(ctx, it.AppID, it.From), strconv.FormatInt(g, 10), protocol.ChatTypeGroup)
	}
	return s.wireItem(it, s.name(ctx, it.AppID, it.From), s.name(ctx, it.AppID, it.To), protocol.ChatTypeChat)
}

func parseID(field, v string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 {
		return 0, errs.New(protocol.ErrIllegalArgument, "%s %q is not a valid ID", field, v)
	}
	return n, nil
}

func clampLimit(limit, def int) (int, error) {
	if limit == 0 {
		return def, nil
	}
	if limit < 1 || limit > MaxPageLimit {
		return 0, errs.New(protocol.ErrIllegalArgument, "limit must be 1..%d", MaxPageLimit)
	}
	return limit, nil
}

func requireUser(p *tenant.Principal) error {
	if p.Anonymous() || p.Admin {
		return errs.New(protocol.ErrForbidden, "this call needs a user token")
	}
	return nil
}

// view returns the caller's state in a conversation given on the wire
// (without the unread count, which no caller of view needs).
func (s *Service) view(ctx context.Context, p *tenant.Principal, convID string) (*store.ConvView, error) {
	if err := requireUser(p); err != nil {
		return nil, err
	}
	id, err := parseID("conv_id", convID)
	if err != nil {
		return nil, err
	}
	v, err := s.st.Conversations().State(ctx, id, p.UserID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && v.Conv.AppID != p.App.ID) {
		return nil, errs.New(protocol.ErrConversationNotFound, "no conversation %s for %s", convID, p.Username)
	}
	return v, err
}

func (s *Service) wireConv(ctx context.Context, v *store.ConvView, withLast bool) *protocol.Conversation {
	c := &protocol.Conversation{ConvID: strconv.FormatInt(v.ConvID, 10), ChatType: protocol.ChatTypeChat, Mentioned: v.Mentioned,
		LastSeq: v.Conv.LastSeq, Unread: v.Unread, ReadSeq: v.ReadSeq, ClearedSeq: v.ClearedSeq,
		PeerReadSeq: v.PeerReadSeq, PeerDeliveredSeq: v.PeerDeliveredSeq, Pinned: v.Pinned,
		Deleted: v.ClearedSeq >= v.Conv.LastSeq && v.Conv.LastSeq > 0, Updated: max(v.Updated, v.Conv.Updated),
		Version: strconv.FormatInt(v.Version, 10)}
	if v.PeerID != 0 {
		c.Peer = s.name(ctx, v.Conv.AppID, v.PeerID)
	}
	if v.Conv.Kind == store.ConvGroup {
		c.ChatType, c.Group = protocol.ChatTypeGroup, strconv.FormatInt(v.Conv.UserA, 10)
		s.kinds.m.Store(v.ConvID, v.Conv.UserA)
	}
	if withLast && v.Conv.LastItemID != 0 && v.Conv.LastSeq > v.ClearedSeq {
		if it, err := s.st.Messages().Item(ctx, v.Conv.AppID, v.Conv.LastItemID); err == nil {
			c.Last = s.toWire(ctx, it)
		}
	}
	return c
}
