package parley

import "github.com/parleyim/parley/protocol"

// Event is one of MessageEvent, RecallEvent, GroupNoticeEvent,
// ReceiptEvent, ConversationEvent, ConnectionEvent, the people events
// (ContactRequestEvent, ContactAcceptedEvent, ContactDeclinedEvent,
// ContactAddedEvent, ContactRemovedEvent, BlockedEvent, UnblockedEvent,
// AttributesEvent), PresenceEvent, the group events (GroupInviteEvent,
// GroupInviteAcceptedEvent, GroupInviteDeclinedEvent, GroupApplyEvent,
// GroupApplyAcceptedEvent, GroupApplyDeclinedEvent, GroupRemovedEvent,
// GroupDestroyedEvent) and GroupAckEvent.
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

func (MessageEvent) event()             {}
func (RecallEvent) event()              {}
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

// peopleEvent wraps a server event (people or group) in its typed Event;
// nil for a kind this SDK does not know.
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
	}
	return nil
}
