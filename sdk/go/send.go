package parley

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/parleyim/parley/protocol"
)

// OutgoingMessage is a message to send.
type OutgoingMessage struct {
	// To is the recipient: a username, or a group or chat room ID for a
	// group or room message.
	To string
	// ChatType defaults to "chat" (1:1); "groupchat" (protocol.ChatTypeGroup)
	// sends to the group To, "chatroom" (protocol.ChatTypeRoom) to the chat
	// room To.
	ChatType string
	// Type is the message type: txt, cmd, custom, img, audio, video, file,
	// loc or combine (protocol.MsgText, ...). It may be left empty when Body
	// is a typed Body (TextBody, ImageBody, ...), which names its type.
	Type string
	// Body is a typed Body, or any other value sent as JSON; json.RawMessage
	// and []byte are sent as is. Ext (may be nil) is sent the same way; its
	// keys, em_* included, reach the recipient untouched.
	Body any
	Ext  any
	// ClientMsgID is the idempotency key; generated when empty. Reuse it to
	// retry a Send that failed without an answer (for example on a context
	// deadline): the server stores the message once.
	ClientMsgID string
	// RouteOnline delivers the message only to devices online now, without
	// storing it. Such a send is not repeated after a lost connection.
	RouteOnline bool

	// Group messages only:

	// NeedGroupAck asks for group read receipts: a member's
	// MarkMessageRead of the message reaches the sender's devices as a
	// GroupAckEvent, and GroupReaders lists who read it.
	NeedGroupAck bool
	// Mentions are members the message mentions (usernames), MentionAll
	// mentions everyone. They are written to Ext as em_at_list (a list of
	// usernames, or "all"), replacing any em_at_list there; Ext must then be
	// a JSON object or nil. A mentioned member's conversation has Mentioned
	// set until they read past the message, and their MessageEvent too.
	Mentions   []string
	MentionAll bool
	// DirectedTo makes a group message directed: only these members (at
	// most MaxDirected) get it, on their devices online now, as an item with
	// Directed set and Seq 0. It is not stored (not in history, unread
	// counts or the conversation list), and, like RouteOnline, not repeated
	// after a lost connection.
	DirectedTo []string

	// Chat room messages only:

	// Priority is the message's priority in its chat room: PriorityHigh,
	// PriorityNormal ("" is normal) or PriorityLow. When a member's
	// connection cannot keep up, the server drops low-priority messages
	// first, then normal ones, then high ones. Room messages are not
	// stored: the ack means the members online got it (or will), and,
	// like RouteOnline messages, they are not repeated after a lost
	// connection (Send returns ErrConnectionLost): a room's live traffic
	// has moved on by the time the Client is back.
	Priority string
}

// MaxDirected is how many members a directed group message may name.
const MaxDirected = 20

// Chat room message priorities (OutgoingMessage.Priority,
// RoomMessageEvent.Priority).
const (
	PriorityHigh   = "high"
	PriorityNormal = "normal"
	PriorityLow    = "low"
)

// request builds the send frame (without an id).
func (m *OutgoingMessage) request() (protocol.Request, error) {
	typ := m.Type
	if b, ok := m.Body.(Body); ok {
		switch {
		case typ == "":
			typ = b.MsgType()
		case typ != b.MsgType():
			return protocol.Request{}, fmt.Errorf("parley: Type %q does not match the %T body (%s)", typ, b, b.MsgType())
		}
	}
	if m.To == "" || typ == "" {
		return protocol.Request{}, errors.New("parley: a message needs To and Type (or a typed Body)")
	}
	body, err := rawJSON(m.Body)
	if err != nil {
		return protocol.Request{}, fmt.Errorf("parley: message body: %w", err)
	}
	if body == nil {
		body = json.RawMessage("{}")
	}
	ext, err := rawJSON(m.Ext)
	if err != nil {
		return protocol.Request{}, fmt.Errorf("parley: message ext: %w", err)
	}
	switch m.ChatType {
	case "", protocol.ChatTypeChat, protocol.ChatTypeGroup, protocol.ChatTypeRoom:
	default:
		return protocol.Request{}, fmt.Errorf("parley: ChatType %q is not chat, groupchat or chatroom", m.ChatType)
	}
	group := m.ChatType == protocol.ChatTypeGroup
	if !group && (m.NeedGroupAck || len(m.Mentions) > 0 || m.MentionAll || len(m.DirectedTo) > 0) {
		return protocol.Request{}, errors.New("parley: NeedGroupAck, mentions and DirectedTo are for group messages (ChatType groupchat)")
	}
	switch {
	case m.Priority == "":
	case m.ChatType != protocol.ChatTypeRoom:
		return protocol.Request{}, errors.New("parley: Priority is for chat room messages (ChatType chatroom)")
	case m.Priority != PriorityHigh && m.Priority != PriorityNormal && m.Priority != PriorityLow:
		return protocol.Request{}, fmt.Errorf("parley: Priority %q is not high, normal or low", m.Priority)
	}
	if len(m.DirectedTo) > MaxDirected {
		return protocol.Request{}, fmt.Errorf("parley: a directed message names at most %d members", MaxDirected)
	}
	if slices.Contains(m.DirectedTo, "") {
		return protocol.Request{}, errors.New("parley: an empty username in DirectedTo")
	}
	if len(m.Mentions) > 0 || m.MentionAll {
		if ext, err = withMentions(ext, m.Mentions, m.MentionAll); err != nil {
			return protocol.Request{}, err
		}
	}
	if m.NeedGroupAck && isEmptyObject(ext) {
		// The same message without ext. The server adds its flag to ext and
		// turns {} into invalid JSON, which makes every frame carrying the
		// message fail to encode.
		ext = nil
	}
	r := protocol.Request{T: protocol.FrameSend, To: m.To, ChatType: m.ChatType, Type: typ,
		Body: body, Ext: ext, ClientMsgID: m.ClientMsgID, NeedGroupAck: m.NeedGroupAck, Users: m.DirectedTo,
		Priority: m.Priority}
	if r.ChatType == "" {
		r.ChatType = protocol.ChatTypeChat
	}
	if r.ClientMsgID == "" {
		r.ClientMsgID = NewClientMsgID()
	}
	if len(r.ClientMsgID) > 64 {
		return protocol.Request{}, errors.New("parley: ClientMsgID is longer than 64 characters")
	}
	if m.RouteOnline {
		r.RouteType = protocol.RouteOnline
	}
	return r, nil
}

// rawJSON encodes v unless it already is JSON; nil stays nil.
func rawJSON(v any) (json.RawMessage, error) {
	switch b := v.(type) {
	case nil:
		return nil, nil
	case json.RawMessage:
		if b == nil {
			return nil, nil
		}
		if !json.Valid(b) {
			return nil, errors.New("not valid JSON")
		}
		return b, nil
	case []byte:
		if !json.Valid(b) {
			return nil, errors.New("not valid JSON")
		}
		return json.RawMessage(b), nil
	}
	return json.Marshal(v)
}

// withMentions sets ext.em_at_list: the users, or "all".
func withMentions(ext json.RawMessage, users []string, all bool) (json.RawMessage, error) {
	obj := map[string]json.RawMessage{}
	if len(ext) > 0 && string(ext) != "null" {
		if err := json.Unmarshal(ext, &obj); err != nil {
			return nil, errors.New("parley: mentions need Ext to be a JSON object")
		}
		if obj == nil {
			obj = map[string]json.RawMessage{}
		}
	}
	var list any = users
	if all {
		list = mentionAll
	} else {
		for _, u := range users {
			if u == "" {
				return nil, errors.New("parley: an empty username in Mentions")
			}
		}
	}
	b, err := json.Marshal(list)
	if err != nil {
		return nil, err
	}
	obj[mentionKey] = b
	return json.Marshal(obj)
}

const (
	mentionKey = "em_at_list"
	mentionAll = "all"
)

// mentions reports whether a message's ext mentions user (em_at_list names
// them, or is "all").
func mentions(ext json.RawMessage, user string) bool {
	if len(ext) == 0 || user == "" || !bytes.Contains(ext, []byte(mentionKey)) {
		return false
	}
	var m struct {
		List json.RawMessage `json:"em_at_list"`
	}
	if json.Unmarshal(ext, &m) != nil || len(m.List) == 0 {
		return false
	}
	var one string
	if json.Unmarshal(m.List, &one) == nil {
		return strings.EqualFold(one, mentionAll)
	}
	var names []string
	if json.Unmarshal(m.List, &names) != nil {
		return false
	}
	return hasUser(names, user) || hasUser(names, mentionAll)
}

// isEmptyObject reports whether b is a JSON object without keys.
func isEmptyObject(b json.RawMessage) bool {
	t := bytes.TrimSpace(b)
	if len(t) < 2 || t[0] != '{' {
		return false
	}
	return len(bytes.TrimSpace(t[1:len(t)-1])) == 0 && t[len(t)-1] == '}'
}

// NewClientMsgID returns a random idempotency key.
func NewClientMsgID() string { return "c-" + rand.Text() }

// outgoing is a send waiting for its ack. Its fields other than req and
// online are guarded by Client.mu.
type outgoing struct {
	req    protocol.Request // without id
	online bool
	sentOn *conn // the connection it was last written to
	done   chan struct{}
	ack    *protocol.Ack
	err    error
}

// finish completes o once; the caller holds Client.mu.
func (o *outgoing) finish(ack *protocol.Ack, err error) {
	select {
	case <-o.done:
		return
	default:
	}
	o.ack, o.err = ack, err
	close(o.done)
}

// item builds the conversation item the ack stands for, so the sending
// device sees its own message in the stream like the other devices do.
func (o *outgoing) item(ack *protocol.Ack, from string) *protocol.Item {
	return &protocol.Item{Kind: protocol.ItemMsg, MsgID: ack.MsgID, ConvID: ack.ConvID, Seq: ack.Seq,
		ChatType: o.req.ChatType, From: from, To: o.req.To, Type: o.req.Type, Body: o.req.Body,
		Ext: o.req.Ext, TS: ack.TS, ClientMsgID: o.req.ClientMsgID, NeedGroupAck: o.req.NeedGroupAck}
}

// Send sends a message and waits for the server's ack, which means it is
// stored. If the connection drops first, the Client resends it with the same
// ClientMsgID after reconnecting (the server stores it once; Ack.Duplicate
// is then set) and Send keeps waiting. When ctx ends first, Send returns
// ctx.Err() and the message may or may not have been stored: retry with the
// same ClientMsgID to find out. The sending Client also delivers the message
// as a MessageEvent, in seq order.
//
// Messages that are not stored — RouteOnline, DirectedTo and chat room
// messages — are acknowledged without a seq, are not delivered to the
// sending Client, and are never resent: a lost connection before the ack
// fails Send with ErrConnectionLost (the message may or may not have gone
// out). A Send made while the Client is reconnecting waits for the next
// connection, as other requests do.
func (c *Client) Send(ctx context.Context, m OutgoingMessage) (*protocol.Ack, error) {
	req, err := m.request()
	if err != nil {
		return nil, err
	}
	online := m.RouteOnline || len(m.DirectedTo) > 0 || m.ChatType == protocol.ChatTypeRoom
	o := &outgoing{req: req, online: online, done: make(chan struct{})}
	c.sendMu.Lock()
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		c.sendMu.Unlock()
		return nil, err
	}
	c.outbox = append(c.outbox, o)
	cn := c.ready
	c.mu.Unlock()
	if cn != nil {
		c.transmit(cn, o)
	}
	c.sendMu.Unlock()

	select {
	case <-o.done:
	case <-ctx.Done():
		c.settle(o, nil, ctx.Err())
	}
	return o.ack, o.err
}

// SendText sends a text message to a user.
func (c *Client) SendText(ctx context.Context, to, text string) (*protocol.Ack, error) {
	return c.Send(ctx, OutgoingMessage{To: to, Body: TextBody{Msg: text}})
}

// SendGroupText sends a text message to a group (the user must be a
// member). Use Send with ChatType protocol.ChatTypeGroup for other types,
// mentions and read receipts.
func (c *Client) SendGroupText(ctx context.Context, group, text string) (*protocol.Ack, error) {
	return c.Send(ctx, OutgoingMessage{To: group, ChatType: protocol.ChatTypeGroup, Body: TextBody{Msg: text}})
}

// SendRoomText sends a text message to a chat room (the user must be a
// member) with normal priority. Use Send with ChatType
// protocol.ChatTypeRoom for other types and priorities. Room messages are
// not stored and not resent after a lost connection (see Send).
func (c *Client) SendRoomText(ctx context.Context, room, text string) (*protocol.Ack, error) {
	return c.Send(ctx, OutgoingMessage{To: room, ChatType: protocol.ChatTypeRoom, Body: TextBody{Msg: text}})
}

// SendImage sends an uploaded image to a user (body: f.ImageBody(), with
// the share-secret if f is restricted). Recalling the message deletes the
// upload unless another message refers to it.
func (c *Client) SendImage(ctx context.Context, to string, f *File) (*protocol.Ack, error) {
	return c.Send(ctx, OutgoingMessage{To: to, Body: f.ImageBody()})
}

// SendFile sends an uploaded file to a user as a file message (body:
// f.FileBody()).
func (c *Client) SendFile(ctx context.Context, to string, f *File) (*protocol.Ack, error) {
	return c.Send(ctx, OutgoingMessage{To: to, Body: f.FileBody()})
}

// SendLocation sends a location to a user.
func (c *Client) SendLocation(ctx context.Context, to string, loc LocationBody) (*protocol.Ack, error) {
	return c.Send(ctx, OutgoingMessage{To: to, Body: loc})
}

// settle completes o and takes it out of the outbox, unless it is already
// complete.
func (c *Client) settle(o *outgoing, ack *protocol.Ack, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, x := range c.outbox {
		if x == o {
			c.outbox = append(c.outbox[:i:i], c.outbox[i+1:]...)
			break
		}
	}
	o.finish(ack, err)
}

// transmit writes o on cn unless it was already written there. The caller
// holds sendMu.
func (c *Client) transmit(cn *conn, o *outgoing) {
	c.mu.Lock()
	if o.sentOn == cn || isClosed(o.done) {
		c.mu.Unlock()
		return
	}
	o.sentOn = cn
	c.mu.Unlock()
	req := o.req
	cn.requestAsync(&req, func(r *reply, err error) {
		if err != nil { // connection lost: resent by setReady on the next one
			if o.online {
				c.settle(o, nil, ErrConnectionLost)
			}
			return
		}
		if e := r.asError(); e != nil {
			c.settle(o, nil, e)
			return
		}
		var ack protocol.Ack
		if err := r.decode(&ack); err != nil {
			c.settle(o, nil, err)
			return
		}
		c.settle(o, &ack, nil)
		if ack.Seq > 0 && ack.ConvID != "" {
			c.pushes.add(push{item: o.item(&ack, c.User())})
		}
	})
}

func isClosed(ch chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}
