package parley

import "github.com/parleyim/parley/protocol"

// Event is one of MessageEvent, RecallEvent, ReceiptEvent,
// ConversationEvent and ConnectionEvent.
type Event interface{ event() }

// MessageEvent is a new message of a conversation, from a live push, a sync
// or a gap pull, or built from the ack of a message this Client sent. Each
// (conv_id, seq) is delivered once, in seq order per conversation.
// ROUTE_ONLINE messages (Item.Online, Seq 0) are delivered as they come.
// Item.From equals Client.User for the user's own messages.
type MessageEvent struct{ Item *protocol.Item }

// RecallEvent reports that the message Item.Target was recalled. It is an
// item of the conversation stream and is ordered like messages.
type RecallEvent struct{ Item *protocol.Item }

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
	// Resynced: the sync after connecting finished and unacknowledged sends
	// were resent.
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

func (MessageEvent) event()      {}
func (RecallEvent) event()       {}
func (ReceiptEvent) event()      {}
func (ConversationEvent) event() {}
func (ConnectionEvent) event()   {}
