package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Version is the client protocol version (docs/protocol.md). Clients send it
// in the WebSocket URL: /ws?v=1.
const Version = 1

// Client-to-server frame kinds.
const (
	FrameAuth          = "auth"
	FramePing          = "ping"
	FrameSend          = "send"
	FrameSync          = "sync"
	FramePull          = "pull"
	FrameHistory       = "history"
	FrameDelivered     = "delivered"
	FrameRead          = "read"
	FrameRecall        = "recall"
	FrameEdit          = "edit"
	FrameConversations = "conversations"
	FrameConvPin       = "conv_pin"
	FrameConvDelete    = "conv_delete"

	// Social graph, profiles and presence (docs/protocol.md, "People").
	FrameContactRequest  = "contact_request"
	FrameContactAccept   = "contact_accept"
	FrameContactDecline  = "contact_decline"
	FrameContactRemove   = "contact_remove"
	FrameContactRemark   = "contact_remark"
	FrameContacts        = "contacts"
	FrameContactRequests = "contact_requests"
	FrameBlock           = "block"
	FrameUnblock         = "unblock"
	FrameBlocks          = "blocks"
	FrameAttrsSet        = "attrs_set"
	FrameAttrsGet        = "attrs_get"
	FrameAttrsDelete     = "attrs_delete"
	FramePresencePublish = "presence_publish"
	FramePresenceSub     = "presence_subscribe"
	FramePresenceUnsub   = "presence_unsubscribe"
	FramePresenceGet     = "presence_get"
	FrameEvents          = "events"

	// Groups: one frame kind with an op (docs/protocol.md, "Groups").
	FrameGroup = "group"
	// Chat rooms: one frame kind with an op (docs/protocol.md, "Chat rooms").
	FrameRoom = "room"
	// FrameBackground: {"on": true} when the app goes to the background
	// (its user then gets pushes as if offline), false when it returns.
	FrameBackground = "background"
)

// Server-to-client frame kinds.
const (
	FrameAuthOK     = "auth_ok"
	FramePong       = "pong"
	FrameAck        = "ack"
	FrameOK         = "ok"
	FrameError      = "error"
	FrameItem       = "item"
	FrameReceipt    = "receipt"
	FrameConv       = "conv"
	FrameSyncResult = "sync_result"
	FrameItems      = "items"
	FrameConvList   = "conversations_result"
	FrameKicked     = "kicked"

	FrameEvent                = "event"
	FrameContactsResult       = "contacts_result"
	FrameContactRequestsReply = "contact_requests_result"
	FrameBlocksResult         = "blocks_result"
	FrameAttrsResult          = "attrs_result"
	FramePresenceResult       = "presence_result"
	FrameEventsResult         = "events_result"
	FrameGroupResult          = "group_result"
	FrameRoomEvent            = "room_event"
	FrameRoomResult           = "room_result"
)

// Event kinds (docs/protocol.md, "Events"). All but presence are stored, so
// devices that were offline get them with an events request.
const (
	EventContactRequest  = "contact_request"  // from asked to (both users' devices)
	EventContactAccepted = "contact_accepted" // to accepted from's request (both)
	EventContactDeclined = "contact_declined" // to declined from's request (both)
	EventContactAdded    = "contact_added"    // from and to became friends without a request (both)
	EventContactRemoved  = "contact_removed"  // from removed to (both)
	EventBlocked         = "blocked"          // the user blocked users (their own devices)
	EventUnblocked       = "unblocked"        // the user unblocked users (their own devices)
	EventAttrs           = "attrs"            // the user's attributes changed (their own devices)
	EventPresence        = "presence"         // a subscribed user's presence changed (live only)

	// Groups: events for users who are not (or no longer) members; members
	// see group changes as notices in the group's stream.
	EventGroupInvite         = "group_invite"          // from invited the user to group
	EventGroupInviteAccepted = "group_invite_accepted" // from accepted the user's invitation
	EventGroupInviteDeclined = "group_invite_declined"
	EventGroupApply          = "group_apply"          // from asks to join group (owner and admins)
	EventGroupApplyAccepted  = "group_apply_accepted" // the user's application was accepted by from
	EventGroupApplyDeclined  = "group_apply_declined"
	EventGroupRemoved        = "group_removed"   // from removed the user from group
	EventGroupLeft           = "group_left"      // the user left group (their devices learn it)
	EventGroupDestroyed      = "group_destroyed" // group was dissolved
	// Group read receipts: a member read a message that asked for them
	// (live only, to the sender's devices; read the list with group_acks).
	EventGroupAck = "group_ack"
	// EventBroadcast is an app-wide broadcast (item), from the app's
	// administrators: stored for 7 days for users who were offline.
	EventBroadcast = "broadcast"
)

// Chat types.
const (
	ChatTypeChat  = "chat"
	ChatTypeGroup = "groupchat"
	ChatTypeRoom  = "chatroom"
)

// Item kinds: a conversation's stream holds messages and recall events, in
// one gap-free sequence.
const (
	ItemMsg    = "msg"
	ItemRecall = "recall"
	// ItemEdit is an edit of the message Target: Body and Ext are its new
	// content, Edits how many times it has been edited.
	ItemEdit = "edit"
	// ItemNotice is a group notice (a member joined, the announcement
	// changed ...): Type names it, Body holds its details.
	ItemNotice = "notice"
)

// Message types (docs/protocol.md, "Message types"). The body model is
// open: fields a type does not define pass through untouched.
const (
	MsgText    = "txt"
	MsgCmd     = "cmd"
	MsgCustom  = "custom"
	MsgImage   = "img"
	MsgAudio   = "audio"
	MsgVideo   = "video"
	MsgFile    = "file"
	MsgLoc     = "loc"
	MsgCombine = "combine"
)

// Receipt kinds.
const (
	ReceiptDelivered = "delivered"
	ReceiptRead      = "read"
	// ReceiptChannelRead means "read up to seq" for a whole conversation.
	ReceiptChannelRead = "channel_read"
)

// RouteOnline delivers a message only to online devices, without storing it.
const RouteOnline = "ROUTE_ONLINE"

// WebSocket close codes (4000-4999 are application codes).
const (
	CloseNormal        = 1000
	CloseGoingAway     = 1001 // server shutting down: reconnect elsewhere
	CloseFrameTooLarge = 1009
	CloseInternal      = 1011 // the server failed reading this connection: reconnect and resync
	CloseRestart       = 1012 // the node lost events (cluster bus outage): reconnect and resync
	CloseAuthFailed    = 4001 // bad or revoked token: do not retry with it
	CloseAuthTimeout   = 4002 // no auth frame in time
	CloseBadProtocol   = 4003 // unsupported protocol version
	CloseKicked        = 4004 // force logout by an admin, or user deactivated
	CloseReplaced      = 4005 // the same resource logged in again
	CloseTooMany       = 4006 // device limit: this device was pushed out
	CloseSlowConsumer  = 4008 // send queue overflowed: reconnect and resync
	CloseHeartbeat     = 4009 // no frame within the heartbeat timeout
	CloseBadFrames     = 4010 // too many malformed frames
)

// Request is any client-to-server frame. T selects the kind; fields that do
// not belong to the kind must be absent (DecodeRequest enforces it for the
// kind's required fields, and ignores none silently: unknown keys fail).
type Request struct {
	T  string `json:"t"`
	ID string `json:"id,omitempty"` // echoed on the reply; chosen by the client

	// auth
	Token      string `json:"token,omitempty"`
	Resource   string `json:"resource,omitempty"`
	Platform   string `json:"platform,omitempty"`
	DeviceName string `json:"device_name,omitempty"`

	// send
	To          string          `json:"to,omitempty"`
	ChatType    string          `json:"chat_type,omitempty"`
	Type        string          `json:"type,omitempty"`
	Body        json.RawMessage `json:"body,omitempty"`
	Ext         json.RawMessage `json:"ext,omitempty"`
	ClientMsgID string          `json:"client_msg_id,omitempty"`
	RouteType   string          `json:"routetype,omitempty"`

	// sync, pull, history, receipts, recall, conversations
	Since     string `json:"since,omitempty"`  // sync: version cursor ("" or "0" = new device)
	Latest    int    `json:"latest,omitempty"` // sync from scratch: items per conversation
	ConvID    string `json:"conv_id,omitempty"`
	AfterSeq  int64  `json:"after_seq,omitempty"`
	Seq       int64  `json:"seq,omitempty"`
	MsgID     string `json:"msg_id,omitempty"`
	Limit     int    `json:"limit,omitempty"`
	Direction string `json:"direction,omitempty"` // history: "backward" (default) or "forward"
	Time      int64  `json:"time,omitempty"`      // history: start at this time (ms) instead of msg_id
	Cursor    string `json:"cursor,omitempty"`
	Pinned    *bool  `json:"pinned,omitempty"`

	// people: contacts, blocks, attributes, presence
	User   string            `json:"user,omitempty"`
	Users  []string          `json:"users,omitempty"`
	Reason string            `json:"reason,omitempty"`
	Remark *string           `json:"remark,omitempty"`
	Attrs  map[string]string `json:"attrs,omitempty"`
	Keys   []string          `json:"keys,omitempty"`
	Status *string           `json:"status,omitempty"`
	Expiry int64             `json:"expiry,omitempty"` // presence_subscribe: seconds

	// send to a group: ask for group read receipts
	NeedGroupAck bool `json:"need_group_ack,omitempty"`
	// group
	Op       string         `json:"op,omitempty"`
	Group    string         `json:"group,omitempty"`
	Accept   *bool          `json:"accept,omitempty"`
	On       *bool          `json:"on,omitempty"`
	Text     *string        `json:"text,omitempty"`
	Duration int64          `json:"duration,omitempty"` // ms
	Settings *GroupSettings `json:"settings,omitempty"`
	// room
	Room       string `json:"room,omitempty"`
	Force      bool   `json:"force,omitempty"`
	AutoDelete bool   `json:"auto_delete,omitempty"`
	// send to a chat room: high, normal (default) or low
	Priority string `json:"chatroom_msg_level,omitempty"`
}

// Chat room operations (the op of a room frame).
const (
	RoomOpCreate   = "create"       // settings (name required), users -> room (super admins only)
	RoomOpInfo     = "info"         // room -> room
	RoomOpJoin     = "join"         // room -> room, recent
	RoomOpLeave    = "leave"        // room
	RoomOpMembers  = "members"      // room, cursor, limit -> members, cursor
	RoomOpMine     = "mine"         // cursor (page), limit -> rooms
	RoomOpAttrs    = "attrs"        // room, keys -> attrs
	RoomOpSetAttrs = "set_attrs"    // room, attrs, auto_delete, force -> success, errors
	RoomOpDelAttrs = "delete_attrs" // room, keys, force -> success, errors
	RoomOpKick     = "kick"         // room, users (owner, admins)
	RoomOpMute     = "mute"         // room, users, duration ms (-1 forever, 0 unmute) (owner, admins)
	RoomOpMuteAll  = "mute_all"     // room, on (owner, admins)
	RoomOpAnnounce = "announce"     // room, text (owner, admins)
	RoomOpBlock    = "block"        // room, users, on (owner, admins)
	RoomOpAllow    = "allow"        // room, users, on (owner, admins)
	RoomOpAdmin    = "admin"        // room, users, on (owner)
	RoomOpDelete   = "delete"       // room (owner)
	RoomOpTransfer = "transfer"     // room, user (owner)
	RoomOpUpdate   = "update"       // room, settings (owner, admins)
)

// RoomInfo is a chat room's details (Easemob's field names).
type RoomInfo struct {
	ID           string           `json:"id"`
	Name         string           `json:"name"`
	Description  string           `json:"description"`
	MaxUsers     int              `json:"maxusers"`
	Owner        string           `json:"owner"`
	Created      int64            `json:"created"`
	Custom       string           `json:"custom"`
	Announcement string           `json:"announcement,omitempty"`
	Mute         bool             `json:"mute"`
	Count        int              `json:"affiliations_count"`
	Affiliations []map[string]any `json:"affiliations,omitempty"`
	Public       bool             `json:"public"`
	MembersOnly  bool             `json:"membersonly"`
	AllowInvites bool             `json:"allowinvites"`
}

// RoomResult answers a room frame; which fields are set depends on the op.
type RoomResult struct {
	T       string            `json:"t"`
	ID      string            `json:"id,omitempty"`
	Op      string            `json:"op"`
	Room    *RoomInfo         `json:"room,omitempty"`
	Rooms   []*RoomInfo       `json:"rooms,omitempty"`
	Recent  []*Item           `json:"recent,omitempty"`
	Members []*GroupMember    `json:"members,omitempty"`
	Users   []string          `json:"users,omitempty"`
	Attrs   map[string]string `json:"attrs,omitempty"`
	Success []string          `json:"success,omitempty"`
	Errors  map[string]string `json:"errors,omitempty"`
	Cursor  string            `json:"cursor,omitempty"`
}

// Group operations (the op of a group frame).
const (
	GroupOpCreate       = "create"        // settings, users: initial members -> group
	GroupOpInfo         = "info"          // group -> group
	GroupOpUpdate       = "update"        // group, settings (owner, admins)
	GroupOpDissolve     = "dissolve"      // group (owner)
	GroupOpTransfer     = "transfer"      // group, user: the new owner (owner)
	GroupOpApply        = "apply"         // group, reason -> joined
	GroupOpAnswerApply  = "answer_apply"  // group, user, accept, reason (owner, admins)
	GroupOpInvite       = "invite"        // group, users, reason -> users added at once
	GroupOpAnswerInvite = "answer_invite" // group, accept, reason (the invitee)
	GroupOpQuit         = "quit"          // group
	GroupOpKick         = "kick"          // group, users (owner, admins)
	GroupOpAdmin        = "admin"         // group, users, on: promote or demote (owner)
	GroupOpMute         = "mute"          // group, users, duration ms (0 unmutes) (owner, admins)
	GroupOpMuteAll      = "mute_all"      // group, on (owner, admins)
	GroupOpAnnounce     = "announce"      // group, text (owner, admins)
	GroupOpShield       = "shield"        // group, on
	GroupOpMembers      = "members"       // group, cursor, limit -> members, cursor
	GroupOpMine         = "mine"          // cursor (page number), limit -> groups, count
	GroupOpAcks         = "acks"          // msg_id, cursor, limit -> users, count, cursor
	GroupOpBlock        = "block"         // group, users, on: block list (owner, admins)
	GroupOpAllow        = "allow"         // group, users, on: allow list (owner, admins)
)

// GroupSettings are a group's settable fields; absent ones are unchanged
// (on create: defaults).
type GroupSettings struct {
	Name              *string `json:"groupname,omitempty"`
	Description       *string `json:"description,omitempty"`
	Avatar            *string `json:"avatar,omitempty"`
	Public            *bool   `json:"public,omitempty"`
	MaxUsers          *int    `json:"maxusers,omitempty"`
	AllowInvites      *bool   `json:"allowinvites,omitempty"`
	MembersOnly       *bool   `json:"membersonly,omitempty"`
	InviteNeedConfirm *bool   `json:"invite_need_confirm,omitempty"`
	Custom            *string `json:"custom,omitempty"`
}

// GroupInfo is a group's details (Easemob's field names).
type GroupInfo struct {
	ID                string           `json:"id"`
	Name              string           `json:"name"`
	Description       string           `json:"description"`
	Avatar            string           `json:"avatar"`
	Public            bool             `json:"public"`
	MembersOnly       bool             `json:"membersonly"`
	AllowInvites      bool             `json:"allowinvites"`
	InviteNeedConfirm bool             `json:"invite_need_confirm"`
	MaxUsers          int              `json:"maxusers"`
	Owner             string           `json:"owner"`
	Created           int64            `json:"created"`
	Custom            string           `json:"custom"`
	Announcement      string           `json:"announcement,omitempty"`
	Mute              bool             `json:"mute"`
	Disabled          bool             `json:"disabled"`
	Count             int              `json:"affiliations_count"`
	Affiliations      []map[string]any `json:"affiliations,omitempty"`
	ConvID            string           `json:"conv_id"`
}

// GroupMember is one member as listed.
type GroupMember struct {
	User      string            `json:"user"`
	Role      string            `json:"role"`
	Joined    int64             `json:"joined"`
	MuteUntil int64             `json:"mute_until,omitempty"`
	Attrs     map[string]string `json:"attrs,omitempty"`
}

// GroupResult answers a group frame; which fields are set depends on the op.
type GroupResult struct {
	T       string         `json:"t"`
	ID      string         `json:"id,omitempty"`
	Op      string         `json:"op"`
	Group   *GroupInfo     `json:"group,omitempty"`
	Groups  []*GroupInfo   `json:"groups,omitempty"`
	Members []*GroupMember `json:"members,omitempty"`
	Users   []string       `json:"users,omitempty"`
	Joined  bool           `json:"joined,omitempty"`
	Count   int            `json:"count,omitempty"`
	Cursor  string         `json:"cursor,omitempty"`
}

// MaxFrameBytes is the largest frame a server accepts.
const MaxFrameBytes = 64 << 10

// DecodeError is a malformed frame; Code is a registry ID.
type DecodeError struct {
	Code    string
	Message string
}

func (e *DecodeError) Error() string { return e.Code + ": " + e.Message }

func badFrame(format string, args ...any) error {
	return &DecodeError{Code: ErrBadFrame.ID, Message: fmt.Sprintf(format, args...)}
}

// DecodeRequest parses one client frame strictly: a JSON object, a known
// kind, no unknown fields, the kind's required fields present.
func DecodeRequest(b []byte) (*Request, error) {
	if len(b) > MaxFrameBytes {
		return nil, &DecodeError{Code: ErrFrameTooLarge.ID, Message: fmt.Sprintf("frame is %d bytes, the limit is %d", len(b), MaxFrameBytes)}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r Request
	if err := dec.Decode(&r); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, badFrame("field %s has the wrong type (%s)", te.Field, te.Value)
		}
		return nil, badFrame("not a JSON object frame: %v", err)
	}
	if dec.More() {
		return nil, badFrame("data after the frame's JSON object")
	}
	if len(r.ID) > 64 {
		return nil, badFrame("id is longer than 64 characters")
	}
	need := func(ok bool, field string) error {
		if !ok {
			return badFrame("%s frame needs %s", r.T, field)
		}
		return nil
	}
	var err error
	switch r.T {
	case FrameAuth:
		err = need(r.Token != "", "token")
	case FramePing, FrameSync, FrameConversations, FrameContacts, FrameContactRequests, FrameBlocks,
		FrameAttrsDelete, FrameEvents:
	case FrameBackground:
		err = need(r.On != nil, "on")
	case FrameSend:
		if err = need(r.To != "", "to"); err == nil {
			if err = need(r.Type != "", "type"); err == nil {
				err = need(r.ClientMsgID != "", "client_msg_id")
			}
		}
		if err == nil && len(r.ClientMsgID) > 64 {
			err = badFrame("client_msg_id is longer than 64 characters")
		}
	case FramePull, FrameHistory, FrameDelivered, FrameConvDelete:
		err = need(r.ConvID != "", "conv_id")
	case FrameRead:
		err = need(r.ConvID != "" || r.MsgID != "", "conv_id or msg_id")
	case FrameRecall:
		err = need(r.MsgID != "", "msg_id")
	case FrameEdit:
		if err = need(r.MsgID != "", "msg_id"); err == nil {
			err = need(len(r.Body) > 0, "body")
		}
	case FrameConvPin:
		if err = need(r.ConvID != "", "conv_id"); err == nil {
			err = need(r.Pinned != nil, "pinned")
		}
	case FrameContactRequest:
		err = need(r.To != "", "to")
	case FrameContactAccept, FrameContactDecline, FrameContactRemove, FrameUnblock:
		err = need(r.User != "", "user")
	case FrameContactRemark:
		if err = need(r.User != "", "user"); err == nil {
			err = need(r.Remark != nil, "remark")
		}
	case FrameBlock, FramePresenceUnsub, FramePresenceGet:
		err = need(len(r.Users) > 0, "users")
	case FramePresenceSub:
		if err = need(len(r.Users) > 0, "users"); err == nil {
			err = need(r.Expiry > 0, "expiry")
		}
	case FrameAttrsSet:
		err = need(len(r.Attrs) > 0, "attrs")
	case FrameAttrsGet:
		err = need(len(r.Users) > 0, "users")
	case FramePresencePublish:
		err = need(r.Status != nil, "status")
	case FrameGroup:
		if err = need(r.Op != "", "op"); err == nil && r.Op != GroupOpCreate && r.Op != GroupOpMine && r.Op != GroupOpAcks {
			err = need(r.Group != "", "group")
		}
	case FrameRoom:
		if err = need(r.Op != "", "op"); err == nil && r.Op != RoomOpCreate && r.Op != RoomOpMine {
			err = need(r.Room != "", "room")
		}
	case "":
		err = badFrame("frame has no kind (field t)")
	default:
		return nil, &DecodeError{Code: ErrUnknownFrame.ID, Message: fmt.Sprintf("unknown frame kind %q", r.T)}
	}
	if err != nil {
		return nil, err
	}
	return &r, nil
}

// AuthOK answers a successful auth frame.
type AuthOK struct {
	T          string `json:"t"`
	ID         string `json:"id,omitempty"`
	User       string `json:"user"`
	Resource   string `json:"resource"`
	ServerTime int64  `json:"server_time"`
	Heartbeat  int    `json:"heartbeat"` // seconds between client pings
	Version    int    `json:"version"`
}

// Ack answers a send: the message is stored (or, for ROUTE_ONLINE, handed
// to online devices). Duplicate is true when client_msg_id was seen before;
// the fields are then those of the first send.
type Ack struct {
	T         string `json:"t"`
	ID        string `json:"id,omitempty"`
	MsgID     string `json:"msg_id"`
	ConvID    string `json:"conv_id,omitempty"`
	Seq       int64  `json:"seq,omitempty"`
	TS        int64  `json:"ts"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

// OK answers a request that returns nothing else.
type OK struct {
	T  string `json:"t"`
	ID string `json:"id,omitempty"`
}

// Pong answers a ping.
type Pong struct {
	T  string `json:"t"`
	ID string `json:"id,omitempty"`
	TS int64  `json:"ts"`
}

// Error answers a request that failed (ID set) or reports a connection-level
// problem (ID empty). Code is a registry ID (docs/errors.md).
type Error struct {
	T       string `json:"t"`
	ID      string `json:"id,omitempty"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// RetryAfterMS, on rate_limited, is how long to wait before retrying.
	RetryAfterMS int64 `json:"retry_after_ms,omitempty"`
}

// Item is one entry of a conversation stream: a message, or a recall event.
type Item struct {
	Kind        string          `json:"kind"`
	MsgID       string          `json:"msg_id"`
	ConvID      string          `json:"conv_id"`
	Seq         int64           `json:"seq"`
	ChatType    string          `json:"chat_type"`
	From        string          `json:"from"`
	To          string          `json:"to"`
	Type        string          `json:"type,omitempty"`
	Body        json.RawMessage `json:"body,omitempty"`
	Ext         json.RawMessage `json:"ext,omitempty"`
	TS          int64           `json:"ts"`
	ClientMsgID string          `json:"client_msg_id,omitempty"`
	Recalled    bool            `json:"recalled,omitempty"`
	// Edits counts the edits of a message (its body is the latest).
	Edits int `json:"edits,omitempty"`
	// Target is the recalled message (kind "recall").
	Target string `json:"target,omitempty"`
	// Online marks a ROUTE_ONLINE message: not stored, Seq is 0.
	Online bool `json:"online,omitempty"`
	// NeedGroupAck: the sender asked for group read receipts.
	NeedGroupAck bool `json:"need_group_ack,omitempty"`
	// Directed: a group message to some members only (not stored).
	Directed bool `json:"directed,omitempty"`
	// Priority: a chat room message's chatroom_msg_level.
	Priority string `json:"chatroom_msg_level,omitempty"`
}

// RoomEvent is a live chat room event (not stored): members joined or
// left (coalesced), attributes changed, the announcement, mutes.
type RoomEvent struct {
	Room  string            `json:"room"`
	Kind  string            `json:"kind"`
	Users []string          `json:"users,omitempty"`
	Attrs map[string]string `json:"attrs,omitempty"` // attrs_set: the new values
	Keys  []string          `json:"keys,omitempty"`  // attrs_deleted
	By    string            `json:"by,omitempty"`
	Text  string            `json:"text,omitempty"`  // announcement
	Until int64             `json:"until,omitempty"` // mute
	TS    int64             `json:"ts"`
}

// RoomEventFrame pushes a room event.
type RoomEventFrame struct {
	T     string     `json:"t"`
	Event *RoomEvent `json:"event"`
}

// Room event kinds.
const (
	RoomMembersJoined = "members_joined"
	RoomMembersLeft   = "members_left"
	RoomAttrsSet      = "attrs_set"
	RoomAttrsDeleted  = "attrs_deleted"
	RoomAnnouncement  = "announcement"
	RoomMuted         = "muted"
	RoomUnmuted       = "unmuted"
	RoomMuteAll       = "mute_all"
	RoomUnmuteAll     = "unmute_all"
	RoomRemoved       = "removed" // you were removed (kicked, blocked, or offline past the grace period)
	RoomDestroyed     = "destroyed"
	RoomOwnerChanged  = "owner_changed"
	RoomUpdated       = "updated"
)

// ItemFrame pushes a live item.
type ItemFrame struct {
	T    string `json:"t"`
	Item *Item  `json:"item"`
}

// Receipt reports a delivery or read acknowledgement.
type Receipt struct {
	T      string `json:"t"`
	Kind   string `json:"kind"`
	ConvID string `json:"conv_id"`
	By     string `json:"by"`
	Seq    int64  `json:"seq"`
	MsgID  string `json:"msg_id,omitempty"`
	TS     int64  `json:"ts"`
}

// Conversation is one user's view of a conversation.
type Conversation struct {
	ConvID   string `json:"conv_id"`
	ChatType string `json:"chat_type"`
	Peer     string `json:"peer"`            // 1:1
	Group    string `json:"group,omitempty"` // groupchat: the group ID
	// Mentioned: an unread message mentions the user (em_at_list).
	Mentioned bool  `json:"mentioned,omitempty"`
	LastSeq   int64 `json:"last_seq"`
	Unread    int64 `json:"unread"`
	ReadSeq   int64 `json:"read_seq"`
	// ClearedSeq: items up to here were deleted by this user.
	ClearedSeq       int64   `json:"cleared_seq,omitempty"`
	PeerReadSeq      int64   `json:"peer_read_seq"`
	PeerDeliveredSeq int64   `json:"peer_delivered_seq"`
	Pinned           bool    `json:"pinned,omitempty"`
	Deleted          bool    `json:"deleted,omitempty"`
	Updated          int64   `json:"updated"`
	Version          string  `json:"version"`
	Last             *Item   `json:"last,omitempty"`
	Recent           []*Item `json:"recent,omitempty"`
}

// ConvFrame pushes a change of a conversation's per-user state (read,
// pinned, deleted) to the user's other devices.
type ConvFrame struct {
	T            string        `json:"t"`
	Conversation *Conversation `json:"conversation"`
}

// SyncResult answers sync: conversations changed since the cursor.
type SyncResult struct {
	T             string          `json:"t"`
	ID            string          `json:"id,omitempty"`
	Conversations []*Conversation `json:"conversations"`
	Next          string          `json:"next"`
	More          bool            `json:"more"`
}

// Items answers pull and history.
type Items struct {
	T      string  `json:"t"`
	ID     string  `json:"id,omitempty"`
	ConvID string  `json:"conv_id"`
	Items  []*Item `json:"items"`
	More   bool    `json:"more"`
}

// ConvList answers conversations.
type ConvList struct {
	T             string          `json:"t"`
	ID            string          `json:"id,omitempty"`
	Conversations []*Conversation `json:"conversations"`
	Cursor        string          `json:"cursor,omitempty"`
}

// Kicked precedes a server-initiated close.
type Kicked struct {
	T      string `json:"t"`
	Code   int    `json:"code"`
	Reason string `json:"reason"`
}

// Event is a per-user event: pushed live as {"t":"event","event":{...}} and
// returned by events requests (docs/protocol.md, "Events").
type Event struct {
	ID       string            `json:"id,omitempty"` // the events cursor; empty for live-only events
	Kind     string            `json:"kind"`
	From     string            `json:"from,omitempty"`
	To       string            `json:"to,omitempty"`
	Reason   string            `json:"reason,omitempty"`
	Users    []string          `json:"users,omitempty"`
	Attrs    map[string]string `json:"attrs,omitempty"`
	Presence *Presence         `json:"presence,omitempty"`
	Group    string            `json:"group,omitempty"`  // group events: the group ID
	Name     string            `json:"name,omitempty"`   // group_invite: the group's name
	MsgID    string            `json:"msg_id,omitempty"` // group_ack
	Item     *Item             `json:"item,omitempty"`   // broadcast: the message
	Count    int               `json:"count,omitempty"`  // group_ack: readers so far
	TS       int64             `json:"ts"`
}

// EventFrame pushes one event.
type EventFrame struct {
	T     string `json:"t"`
	Event *Event `json:"event"`
}

// EventsResult answers events.
type EventsResult struct {
	T      string   `json:"t"`
	ID     string   `json:"id,omitempty"`
	Events []*Event `json:"events"`
	Next   string   `json:"next"`
	More   bool     `json:"more"`
}

// Presence is a user's presence.
type Presence struct {
	User    string   `json:"user"`
	Online  bool     `json:"online"`
	Devices []string `json:"devices,omitempty"` // online resources
	Status  string   `json:"status,omitempty"`  // custom status text
	Updated int64    `json:"updated,omitempty"` // when status was last set (ms)
	Expiry  int64    `json:"expiry,omitempty"`  // presence_subscribe: when the subscription ends (ms)
}

// PresenceResult answers presence_get and presence_subscribe.
type PresenceResult struct {
	T        string      `json:"t"`
	ID       string      `json:"id,omitempty"`
	Presence []*Presence `json:"presence"`
}

// ContactInfo is one friend.
type ContactInfo struct {
	User   string `json:"user"`
	Remark string `json:"remark,omitempty"`
	Since  int64  `json:"since"`
}

// ContactsResult answers contacts.
type ContactsResult struct {
	T        string         `json:"t"`
	ID       string         `json:"id,omitempty"`
	Contacts []*ContactInfo `json:"contacts"`
	Cursor   string         `json:"cursor,omitempty"` // empty on the last page
}

// ContactRequestInfo is a pending friend request to the caller.
type ContactRequestInfo struct {
	From   string `json:"from"`
	Reason string `json:"reason,omitempty"`
	TS     int64  `json:"ts"`
}

// ContactRequestsResult answers contact_requests.
type ContactRequestsResult struct {
	T        string                `json:"t"`
	ID       string                `json:"id,omitempty"`
	Requests []*ContactRequestInfo `json:"requests"`
}

// BlocksResult answers blocks.
type BlocksResult struct {
	T      string   `json:"t"`
	ID     string   `json:"id,omitempty"`
	Users  []string `json:"users"`
	Cursor string   `json:"cursor,omitempty"`
}

// AttrsResult answers attrs_get (and attrs_set, with the caller's result).
type AttrsResult struct {
	T     string                       `json:"t"`
	ID    string                       `json:"id,omitempty"`
	Attrs map[string]map[string]string `json:"attrs"`
}
