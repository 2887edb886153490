package parley

import "github.com/parleyim/parley/protocol"

// Event is one of MessageEvent, RecallEvent, GroupNoticeEvent,
// ReceiptEvent, ConversationEvent, ConnectionEvent, the people events
// (ContactRequestEvent, ContactAcceptedEvent, ContactDeclinedEvent,
// ContactAddedEvent, ContactRemovedEvent, BlockedEvent, UnblockedEvent,
// AttributesEvent), PresenceEvent, the group events (GroupInviteEvent,
// GroupInviteAcceptedEvent, GroupInviteDeclinedEvent, GroupApplyEvent,
// GroupApplyAcceptedEvent, GroupApplyDeclinedEvent, GroupRemovedEvent,
// GroupDestroyedEvent), GroupAckEvent, the chat room events
// (RoomMessageEvent, RoomEvent) and BroadcastEvent.
type Event interface{ event() }

// MessageEvent is a new message of a conversation, from a live push, a sync
// or a gap pull, or built from the ack of a message this Client sent. Each
// (conv_id, seq) is delivered once, in seq order per conversation.
// ROUTE_ONLINE messages and directed group messages (Item.Online, Seq 0;
// Item.Directed for the latter) are delivered as they come. Item.From
// equals Client.User for the user's own messages.
//
// A group message has Item.ChatType "groupchat" (protocol.ChatTypeGroup)
// and the group's ID in Item.To (see Group); Item.NeedGroupAck is set when
// its sender asked for group read receipts.
type MessageEvent struct {
	Item *protocol.Item
	// Mentioned is set on a group message whose ext.em_at_list names this
	// user or is "all" (see OutgoingMessage.Mentions), unless this user sent
	// it.
	Mentioned bool
}

// Group returns the group ID of a group message, "" for a 1:1 message.
func (e MessageEvent) Group() string { return groupOf(e.Item) }

// RecallEvent reports that the message Item.Target was recalled. It is an
// item of the conversation stream and is ordered like messages. Item.From
// is the recalled message's sender, also in a group (Group), where the
// group's owner and admins may recall anyone's message.
type RecallEvent struct{ Item *protocol.Item }

// Group returns the group ID of a recall in a group, "" in a 1:1 chat.
func (e RecallEvent) Group() string { return groupOf(e.Item) }

// EditEvent reports that the message Item.Target was edited: Item.Body and
// Item.Ext are its new content (decode with Body), Item.Edits how many
// times it has been edited, Item.From its sender. Like a RecallEvent it is
// an item of the conversation stream, delivered once and in order, also
// to devices that were offline; the edited message's own Item is not sent
// again (History returns it with the new content).
type EditEvent struct{ Item *protocol.Item }

// Group returns the group ID of an edit in a group, "" in a 1:1 chat.
func (e EditEvent) Group() string { return groupOf(e.Item) }

// Body decodes the new content (a TextBody or CustomBody).
func (e EditEvent) Body() (Body, error) {
	cp := *e.Item
	cp.Kind = protocol.ItemMsg
	return DecodeBody(&cp)
}

func groupOf(it *protocol.Item) string {
	if it == nil || it.ChatType != protocol.ChatTypeGroup {
		return ""
	}
	return it.To
}

// ReceiptEvent reports that the peer received (Kind delivered) or read (Kind
// read or channel_read) this user's messages up to Seq.
type ReceiptEvent struct{ Receipt *protocol.Receipt }

// ConversationEvent carries a conversation's state for this user: pushed
// when another device changes it (read, pin, delete), and sent for each
// conversation a sync reports. For a new device's first sync, Recent holds
// the latest items, which are not delivered as MessageEvents (fetch older
// ones with History).
type ConversationEvent struct {
	Conversation *protocol.Conversation
	// FromSync is true for conversations reported by sync.
	FromSync bool
}

// ConnState is what a ConnectionEvent reports.
type ConnState int

const (
	// Connected: a connection was authenticated; sync starts.
	Connected ConnState = iota + 1
	// Resynced: the sync after connecting finished (conversations, then the
	// people events missed meanwhile) and unacknowledged sends were resent.
	Resynced
	// Disconnected: the connection was lost. The Client reconnects unless
	// Final is set.
	Disconnected
)

func (s ConnState) String() string {
	switch s {
	case Connected:
		return "connected"
	case Resynced:
		return "resynced"
	case Disconnected:
		return "disconnected"
	}
	return "unknown"
}

// ConnectionEvent reports the connection's life.
type ConnectionEvent struct {
	State ConnState
	// Resource is this device's resource (Connected).
	Resource string
	// Code and Reason are the close code and reason (Disconnected); Code is
	// 1006 when the connection broke without a close frame.
	Code   int
	Reason string
	// Err says why the connection was lost (Disconnected).
	Err error
	// Final is set when the Client stops for good: Close was called or the
	// server closed with a terminal code (see CloseError).
	Final bool
}

// People events. Each embeds the stored event (protocol.Event): ID is
// unique per user and grows with time, TS is when it happened (ms). The
// server stores them for 30 days, and the Client delivers each one once
// per device: pushed live, or fetched after a (re)connect (see State). The
// user's own changes come back as events too, on the device that made them
// as on the others, like own messages do.

// ContactRequestEvent: From asked To to be friends, with Reason. Both users
// get it.
type ContactRequestEvent struct{ *protocol.Event }

// ContactAcceptedEvent: To accepted From's friend request; they are friends.
// Both users get it.
type ContactAcceptedEvent struct{ *protocol.Event }

// ContactDeclinedEvent: To declined From's friend request. Both users get
// it.
type ContactDeclinedEvent struct{ *protocol.Event }

// ContactAddedEvent: From and To became friends without a request (an app
// admin added them). Both users get it.
type ContactAddedEvent struct{ *protocol.Event }

// ContactRemovedEvent: From removed To from their friends. Both users get
// it.
type ContactRemovedEvent struct{ *protocol.Event }

// BlockedEvent: the user added Users to their block list.
type BlockedEvent struct{ *protocol.Event }

// UnblockedEvent: the user removed Users from their block list.
type UnblockedEvent struct{ *protocol.Event }

// AttributesEvent: the user's attributes changed; Attrs holds all of them
// now (empty after DeleteAttributes).
type AttributesEvent struct{ *protocol.Event }

// PresenceEvent: a user this user subscribed to (SubscribePresence) came
// online, went offline or changed their custom status; Presence says how
// they are now. Presence events are live only: not stored, not fetched
// after a reconnect, and ID is empty (read presence with Presence after
// connecting).
type PresenceEvent struct{ *protocol.Event }

// Group events. Users who are not (or no longer) members of a group learn
// what concerns them through these stored events, delivered like the
// people events: once per device, also after being offline. Group is the
// group's ID. Members see changes to the group as GroupNoticeEvents in the
// group's stream instead.

// GroupInviteEvent: From invited the user to Group (named Name), with
// Reason. Answer with AnswerInvitation.
type GroupInviteEvent struct{ *protocol.Event }

// GroupInviteAcceptedEvent: From accepted the user's invitation to Group
// (and is a member now), with Reason.
type GroupInviteAcceptedEvent struct{ *protocol.Event }

// GroupInviteDeclinedEvent: From declined the user's invitation to Group,
// with Reason.
type GroupInviteDeclinedEvent struct{ *protocol.Event }

// GroupApplyEvent: From asks to join Group, with Reason. The group's owner
// and admins get it; one of them answers with AnswerApplication.
type GroupApplyEvent struct{ *protocol.Event }

// GroupApplyAcceptedEvent: From (the owner or an admin of Group) accepted
// the user's application: the user is a member now.
type GroupApplyAcceptedEvent struct{ *protocol.Event }

// GroupApplyDeclinedEvent: From declined the user's application to Group,
// with Reason.
type GroupApplyDeclinedEvent struct{ *protocol.Event }

// GroupRemovedEvent: From removed the user from Group (a kick, or a block
// by the group's owner or an admin).
type GroupRemovedEvent struct{ *protocol.Event }

// GroupDestroyedEvent: Group was dissolved (by From, its owner; empty when
// an app admin did it). Every member gets it, the owner's devices too.
type GroupDestroyedEvent struct{ *protocol.Event }

// GroupAckEvent: From read the user's message MsgID in Group, which was sent
// with NeedGroupAck; Count members have read it so far. Group acks are live
// only (ID is empty): they reach the sender's devices that are online, and
// GroupReaders lists the readers at any time.
type GroupAckEvent struct{ *protocol.Event }

// RoomMessageEvent is a message of a chat room this user is a member of
// (Item.ChatType "chatroom", the room's ID in Item.To; see Room). Room
// messages are not stored and have no seq (Seq 0): they arrive live, to the
// devices connected when they are sent, each once (see JoinRoom for the
// messages sent before). Nothing is fetched after a reconnect, so messages
// sent while a device was disconnected never reach it. The sending device
// does not get its own message (its Send returned the ack); the user's
// other devices do. A broadcast to every room (through REST) arrives as a
// RoomMessageEvent in each of the user's rooms, with one msg_id.
type RoomMessageEvent struct{ Item *protocol.Item }

// Room returns the chat room's ID.
func (e RoomMessageEvent) Room() string { return e.Item.To }

// Priority returns the message's priority as its sender set it:
// PriorityHigh, PriorityNormal or PriorityLow ("" counts as normal). Under
// overload the server drops low-priority room messages first.
func (e RoomMessageEvent) Priority() string {
	if e.Item.Priority == "" {
		return PriorityNormal
	}
	return e.Item.Priority
}

// Body decodes the message's body into the typed Body of its type.
func (e RoomMessageEvent) Body() (Body, error) { return DecodeBody(e.Item) }

// RoomEvent is a change to a chat room the user is a member of, or was
// until this event: Kind is one of protocol.RoomMembersJoined,
// RoomMembersLeft (Users; coalesced by the server, at most one of each per
// room every 200 ms, naming up to 100 users), RoomAttrsSet (Attrs: the new
// values; By), RoomAttrsDeleted (Keys; By, empty when the keys went with a
// member who left), RoomAnnouncement (Text), RoomMuted (Users, Until: ms,
// -1 for ever), RoomUnmuted (Users), RoomMuteAll, RoomUnmuteAll,
// RoomOwnerChanged (Users: the new owner), RoomUpdated (Keys: the settings
// that changed), RoomDestroyed, and RoomRemoved (this user was removed:
// kicked or blocked; By). Room is the
// room's ID, By who made the change where it applies. Room events are live
// only: not stored, not fetched after a reconnect. Kinds this SDK does not
// know (from a newer server) are delivered as they come.
type RoomEvent struct{ *protocol.RoomEvent }

// BroadcastEvent is a message an app administrator broadcast to the app's
// users (through REST), in Item; From is its sender ("admin" unless the
// administrator named one). An app-wide broadcast is stored for 7 days and
// has an ID: the Client delivers it once per device, live or, for a device
// that was offline, with the events fetched after it reconnects (like the
// people events; a new device starts at the server's current position
// unless Config.EventHistory is set). A broadcast to the users online has
// no ID and is live only.
type BroadcastEvent struct{ *protocol.Event }

// Stored reports whether the broadcast was stored for offline users (it
// has an ID).
func (e BroadcastEvent) Stored() bool { return e.ID != "" }

// Body decodes the broadcast message's body into the typed Body of its
// type.
func (e BroadcastEvent) Body() (Body, error) { return DecodeBody(e.Item) }

func (MessageEvent) event()             {}
func (RecallEvent) event()              {}
func (EditEvent) event()                {}
func (GroupNoticeEvent) event()         {}
func (ReceiptEvent) event()             {}
func (ConversationEvent) event()        {}
func (ConnectionEvent) event()          {}
func (ContactRequestEvent) event()      {}
func (ContactAcceptedEvent) event()     {}
func (ContactDeclinedEvent) event()     {}
func (ContactAddedEvent) event()        {}
func (ContactRemovedEvent) event()      {}
func (BlockedEvent) event()             {}
func (UnblockedEvent) event()           {}
func (AttributesEvent) event()          {}
func (PresenceEvent) event()            {}
func (GroupInviteEvent) event()         {}
func (GroupInviteAcceptedEvent) event() {}
func (GroupInviteDeclinedEvent) event() {}
func (GroupApplyEvent) event()          {}
func (GroupApplyAcceptedEvent) event()  {}
func (GroupApplyDeclinedEvent) event()  {}
func (GroupRemovedEvent) event()        {}
func (GroupDestroyedEvent) event()      {}
func (GroupAckEvent) event()            {}
func (RoomMessageEvent) event()         {}
func (RoomEvent) event()                {}
func (BroadcastEvent) event()           {}

// peopleEvent wraps a server event (people, group or broadcast) in its
// typed Event; nil for a kind this SDK does not know.
func peopleEvent(e *protocol.Event) Event {
	switch e.Kind {
	case protocol.EventContactRequest:
		return ContactRequestEvent{e}
	case protocol.EventContactAccepted:
		return ContactAcceptedEvent{e}
	case protocol.EventContactDeclined:
		return ContactDeclinedEvent{e}
	case protocol.EventContactAdded:
		return ContactAddedEvent{e}
	case protocol.EventContactRemoved:
		return ContactRemovedEvent{e}
	case protocol.EventBlocked:
		return BlockedEvent{e}
	case protocol.EventUnblocked:
		return UnblockedEvent{e}
	case protocol.EventAttrs:
		return AttributesEvent{e}
	case protocol.EventPresence:
		if e.Presence != nil {
			return PresenceEvent{e}
		}
	case protocol.EventGroupInvite:
		return GroupInviteEvent{e}
	case protocol.EventGroupInviteAccepted:
		return GroupInviteAcceptedEvent{e}
	case protocol.EventGroupInviteDeclined:
		return GroupInviteDeclinedEvent{e}
	case protocol.EventGroupApply:
		return GroupApplyEvent{e}
	case protocol.EventGroupApplyAccepted:
		return GroupApplyAcceptedEvent{e}
	case protocol.EventGroupApplyDeclined:
		return GroupApplyDeclinedEvent{e}
	case protocol.EventGroupRemoved:
		return GroupRemovedEvent{e}
	case protocol.EventGroupDestroyed:
		return GroupDestroyedEvent{e}
	case protocol.EventGroupAck:
		return GroupAckEvent{e}
	case protocol.EventBroadcast:
		if e.Item != nil {
			return BroadcastEvent{e}
		}
	}
	return nil
}
