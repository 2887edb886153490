package parley

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/parleyim/parley/protocol"
)

// Recall recalls one of this user's messages (within the app's recall
// window; not cmd messages). Every device of both users then gets a
// RecallEvent. Recall is not repeated after a lost connection: it returns
// ErrConnectionLost, and the RecallEvent tells whether it happened.
func (c *Client) Recall(ctx context.Context, msgID string) error {
	_, err := c.call(ctx, protocol.Request{T: protocol.FrameRecall, MsgID: msgID}, false)
	return err
}

// Edit replaces the content of one of this user's txt or custom messages
// with body (a TextBody for txt, a CustomBody for custom: the type cannot
// change). ext, if not nil, is merged into the message's ext key by key.
// Every device of everyone in the conversation then gets an EditEvent. The
// app bounds the edits per message (10 by default: ErrEditLimit) and may
// turn editing off. Like Recall it is not repeated after a lost
// connection: the EditEvent tells whether it happened.
func (c *Client) Edit(ctx context.Context, msgID string, body Body, ext map[string]any) error {
	if msgID == "" || body == nil {
		return errors.New("parley: Edit needs a message ID and a body")
	}
	typ := body.MsgType()
	if typ != protocol.MsgText && typ != protocol.MsgCustom {
		return fmt.Errorf("parley: only txt and custom messages can be edited, not %s", typ)
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req := protocol.Request{T: protocol.FrameEdit, MsgID: msgID, Type: typ, Body: raw}
	if ext != nil {
		if req.Ext, err = json.Marshal(ext); err != nil {
			return err
		}
	}
	_, err = c.call(ctx, req, false)
	return err
}

// MarkRead marks a conversation read up to seq (0: up to its last item).
// The peer's devices get a read receipt, this user's other devices a
// ConversationEvent.
func (c *Client) MarkRead(ctx context.Context, convID string, seq int64) error {
	if convID == "" {
		return errors.New("parley: MarkRead needs a conversation")
	}
	_, err := c.call(ctx, protocol.Request{T: protocol.FrameRead, ConvID: convID, Seq: seq}, true)
	return err
}

// MarkMessageRead marks one message read.
func (c *Client) MarkMessageRead(ctx context.Context, msgID string) error {
	if msgID == "" {
		return errors.New("parley: MarkMessageRead needs a message ID")
	}
	_, err := c.call(ctx, protocol.Request{T: protocol.FrameRead, MsgID: msgID}, true)
	return err
}

// HistoryQuery selects a page of history. Without MsgID and Time the page
// starts at the newest message.
type HistoryQuery struct {
	// MsgID starts the page at this message (excluded).
	MsgID string
	// Time starts the page at this time (ms since the epoch), instead of MsgID.
	Time int64
	// Forward pages towards newer messages; the default is backwards.
	Forward bool
	// Limit is 1-100; 0 means the server default (20).
	Limit int
}

// History returns a page of a conversation's stored items, oldest first, and
// whether there are more in the query's direction. History does not produce
// events and does not change what Events delivers.
func (c *Client) History(ctx context.Context, convID string, q HistoryQuery) ([]*protocol.Item, bool, error) {
	if convID == "" {
		return nil, false, errors.New("parley: History needs a conversation")
	}
	req := protocol.Request{T: protocol.FrameHistory, ConvID: convID, MsgID: q.MsgID, Time: q.Time,
		Limit: q.Limit, Direction: "backward"}
	if q.Forward {
		req.Direction = "forward"
	}
	r, err := c.call(ctx, req, true)
	if err != nil {
		return nil, false, err
	}
	var res protocol.Items
	if err := r.decode(&res); err != nil {
		return nil, false, err
	}
	return res.Items, res.More, nil
}

// Conversations returns a page of the user's conversations, pinned first,
// then by last activity, and the cursor of the next page ("" on the last).
// limit 0 means the server default.
func (c *Client) Conversations(ctx context.Context, limit int, cursor string) ([]*protocol.Conversation, string, error) {
	r, err := c.call(ctx, protocol.Request{T: protocol.FrameConversations, Limit: limit, Cursor: cursor}, true)
	if err != nil {
		return nil, "", err
	}
	var res protocol.ConvList
	if err := r.decode(&res); err != nil {
		return nil, "", err
	}
	return res.Conversations, res.Cursor, nil
}

// PinConversation pins or unpins a conversation for this user.
func (c *Client) PinConversation(ctx context.Context, convID string, pinned bool) error {
	_, err := c.call(ctx, protocol.Request{T: protocol.FrameConvPin, ConvID: convID, Pinned: &pinned}, true)
	return err
}

// DeleteConversation hides a conversation and its items from this user's
// list and history, until a new item arrives. The peer is unaffected.
func (c *Client) DeleteConversation(ctx context.Context, convID string) error {
	_, err := c.call(ctx, protocol.Request{T: protocol.FrameConvDelete, ConvID: convID}, true)
	return err
}

// Ping sends a ping and returns the pong, which carries the server's clock.
// The Client pings by itself to keep the connection alive; Ping is for
// measuring. It is not repeated after a lost connection.
func (c *Client) Ping(ctx context.Context) (*protocol.Pong, error) {
	r, err := c.call(ctx, protocol.Request{T: protocol.FramePing}, false)
	if err != nil {
		return nil, err
	}
	var p protocol.Pong
	if err := r.decode(&p); err != nil {
		return nil, err
	}
	return &p, nil
}
