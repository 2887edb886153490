package parleyserver

import (
	"context"
	"net/http"

	"github.com/parleyim/parley/protocol"
)

// Message is what a send carries: a type of docs/protocol.md's message
// types and its body, for instance Type "txt" and Body
// map[string]string{"msg": "hello"}.
type Message struct {
	// From is the sender; empty: the system user "admin".
	From string `json:"from,omitempty"`
	Type string `json:"type"`
	Body any    `json:"body"`
	// Ext is a JSON object passed through untouched (em_* push keys too).
	Ext map[string]any `json:"ext,omitempty"`
}

func (m *Message) check() error {
	if m.Type == "" {
		return invalid("message type is empty")
	}
	if m.Body == nil {
		return invalid("message body is missing")
	}
	return nil
}

// UserMessage is a 1:1 send to 1..600 users.
type UserMessage struct {
	Message
	To []string `json:"to"`
	// SyncDevice also delivers the message to the sender's online devices.
	SyncDevice bool `json:"sync_device,omitempty"`
	// RouteOnline delivers only to devices online now and stores nothing.
	RouteOnline bool `json:"-"`
	// ClientMsgID (one recipient only) makes the send idempotent: a retry
	// returns the first message's ID. With it the SDK retries the send.
	ClientMsgID string `json:"client_msg_id,omitempty"`
}

// SendResult maps each target (user, group or room) to its message ID;
// Failed maps the targets the message did not reach to the reason.
type SendResult struct {
	IDs    map[string]string
	Failed map[string]string
}

// SendToUsers sends a 1:1 message (POST /messages/users).
func (c *Client) SendToUsers(ctx context.Context, m UserMessage) (*SendResult, error) {
	if err := m.check(); err != nil {
		return nil, err
	}
	if err := needList("to", m.To, 600); err != nil {
		return nil, err
	}
	if m.ClientMsgID != "" && len(m.To) != 1 {
		return nil, invalid("client_msg_id needs exactly one recipient")
	}
	body := struct {
		UserMessage
		RouteType string `json:"routetype,omitempty"`
	}{UserMessage: m}
	if m.RouteOnline {
		body.RouteType = "ROUTE_ONLINE"
	}
	return c.sendMessage(ctx, &request{method: http.MethodPost, path: "/messages/users", body: body,
		retry: m.ClientMsgID != ""})
}

func (c *Client) sendMessage(ctx context.Context, r *request) (*SendResult, error) {
	out := &SendResult{}
	e, err := c.data(ctx, r, &out.IDs)
	if err != nil {
		return nil, err
	}
	out.Failed = e.Failed
	return out, nil
}

// Recall names a message to recall.
type Recall struct {
	MsgID string `json:"msg_id"`
	// To, ChatType ("chat", "groupchat") and From are optional checks.
	To       string `json:"to,omitempty"`
	ChatType string `json:"chat_type,omitempty"`
	From     string `json:"from,omitempty"`
	// Force ignores the app's recall window.
	Force bool `json:"force,omitempty"`
}

// RecallResult is the outcome of one recall: Recalled is "yes", or the
// reason it failed (Easemob style).
type RecallResult struct {
	MsgID    string `json:"msg_id"`
	To       string `json:"to"`
	From     string `json:"from"`
	ChatType string `json:"chattype"`
	Recalled string `json:"recalled"`
}

// RecallMessage recalls one message (POST /messages/msg_recall). The
// outcome is in the result, not the error.
func (c *Client) RecallMessage(ctx context.Context, r Recall) (*RecallResult, error) {
	if err := need("msg_id", r.MsgID); err != nil {
		return nil, err
	}
	var out RecallResult
	// Recalling twice is harmless (the second says why): safe to retry.
	_, err := c.data(ctx, &request{method: http.MethodPost, path: "/messages/msg_recall", body: r, retry: true}, &out)
	return &out, err
}

// RecallMessages recalls 1..20 messages (POST /messages/recall; the server
// also answers it at /messages/batch_recall).
func (c *Client) RecallMessages(ctx context.Context, list []Recall) ([]RecallResult, error) {
	if len(list) == 0 || len(list) > 20 {
		return nil, invalid("a batch recalls 1..20 messages, not %d", len(list))
	}
	for _, r := range list {
		if err := need("msg_id", r.MsgID); err != nil {
			return nil, err
		}
	}
	var out struct {
		Msgs []RecallResult `json:"msgs"`
	}
	_, err := c.data(ctx, &request{method: http.MethodPost, path: "/messages/recall", retry: true,
		body: map[string]any{"msgs": list}}, &out)
	return out.Msgs, err
}

// UserStatus returns "online" or "offline".
func (c *Client) UserStatus(ctx context.Context, username string) (string, error) {
	if err := need("username", username); err != nil {
		return "", err
	}
	var m map[string]string
	if _, err := c.data(ctx, &request{method: http.MethodGet, path: "/users/" + seg(username) + "/status"}, &m); err != nil {
		return "", err
	}
	for _, v := range m {
		return v, nil
	}
	return "", nil
}

// UsersStatus returns the status of 1..100 users (unknown users are
// offline).
func (c *Client) UsersStatus(ctx context.Context, usernames []string) (map[string]string, error) {
	if err := needList("usernames", usernames, 100); err != nil {
		return nil, err
	}
	var list []map[string]string
	if _, err := c.data(ctx, &request{method: http.MethodPost, path: "/users/batch/status", retry: true,
		body: map[string]any{"usernames": usernames}}, &list); err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, m := range list {
		for k, v := range m {
			out[k] = v
		}
	}
	return out, nil
}

// Device is one online device of a user.
type Device struct {
	Resource   string `json:"res"`
	DeviceUUID string `json:"device_uuid"`
	DeviceName string `json:"device_name"`
	Platform   string `json:"platform"`
	Since      int64  `json:"since"`
}

// UserDevices lists a user's online devices (GET /users/{u}/resources).
func (c *Client) UserDevices(ctx context.Context, username string) ([]Device, error) {
	if err := need("username", username); err != nil {
		return nil, err
	}
	var out []Device
	_, err := c.data(ctx, &request{method: http.MethodGet, path: "/users/" + seg(username) + "/resources"}, &out)
	return out, err
}

// DisconnectUser logs a user out of every device (close 4004).
func (c *Client) DisconnectUser(ctx context.Context, username string) error {
	if err := need("username", username); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodGet, path: "/users/" + seg(username) + "/disconnect"}, nil)
}

// DisconnectDevice logs one device of a user out.
func (c *Client) DisconnectDevice(ctx context.Context, username, resource string) error {
	if err := need("username", username, "resource", resource); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodDelete,
		path: "/users/" + seg(username) + "/disconnect/" + seg(resource)}, nil)
}

// UndeliveredCount returns how many messages no device of the user has
// received (GET /users/{u}/offline_msg_count).
func (c *Client) UndeliveredCount(ctx context.Context, username string) (int64, error) {
	if err := need("username", username); err != nil {
		return 0, err
	}
	var m map[string]int64
	if _, err := c.data(ctx, &request{method: http.MethodGet, path: "/users/" + seg(username) + "/offline_msg_count"}, &m); err != nil {
		return 0, err
	}
	for _, v := range m {
		return v, nil
	}
	return 0, nil
}

// ConversationPage is one page of a user's conversation list.
type ConversationPage struct {
	Conversations []protocol.Conversation
	Cursor        string
}

// Conversations lists a user's conversations, pinned first (limit 1..100).
// A conversation's Recent items are its latest history.
func (c *Client) Conversations(ctx context.Context, username string, p Page) (*ConversationPage, error) {
	if err := need("username", username); err != nil {
		return nil, err
	}
	var d struct {
		Channels []protocol.Conversation `json:"channel_infos"`
	}
	e, err := c.data(ctx, &request{method: http.MethodGet, path: "/users/" + seg(username) + "/user_channels",
		query: p.query()}, &d)
	if err != nil {
		return nil, err
	}
	return &ConversationPage{Conversations: d.Channels, Cursor: e.Cursor}, nil
}

type channelBody struct {
	Channel    string `json:"channel"`
	Type       string `json:"type"`
	DeleteRoam bool   `json:"delete_roam,omitempty"`
}

// DeleteConversation hides a 1:1 conversation with peer, and its history
// so far, from one user.
func (c *Client) DeleteConversation(ctx context.Context, username, peer string) error {
	if err := need("username", username, "peer", peer); err != nil {
		return err
	}
	return c.call(ctx, &request{method: http.MethodDelete, path: "/users/" + seg(username) + "/user_channel",
		body: channelBody{Channel: peer, Type: "chat", DeleteRoam: true}}, nil)
}

// PinConversation pins (or with pin false unpins) a 1:1 conversation.
func (c *Client) PinConversation(ctx context.Context, username, peer string, pin bool) error {
	if err := need("username", username, "peer", peer); err != nil {
		return err
	}
	method := http.MethodPost
	if !pin {
		method = http.MethodDelete
	}
	return c.call(ctx, &request{method: method, path: "/users/" + seg(username) + "/user_channel/top", retry: true,
		body: channelBody{Channel: peer, Type: "chat"}}, nil)
}

// Rewrite is an edit of a sent txt or custom message (the type is kept).
type Rewrite struct {
	// User is an optional check of the sender.
	User string `json:"user,omitempty"`
	// NewMsg holds the new body's fields: "msg" for txt; "customEvent"
	// and "customExts" for custom. The SDK adds "type".
	NewMsg map[string]any `json:"new_msg"`
	// NewExt replaces (or with MergeExt merges into) the message's ext.
	NewExt map[string]any `json:"new_ext,omitempty"`
	// ReplaceExt replaces the ext instead of merging into it (the
	// server's default is to merge).
	ReplaceExt bool `json:"-"`
}

// RewriteMessage edits a message (PUT /messages/rewrite/{msg_id}); every
// device gets an edit item. typ is the message's type ("txt" or
// "custom"). Never retried: each edit counts towards the app's max_edits.
func (c *Client) RewriteMessage(ctx context.Context, msgID, typ string, r Rewrite) error {
	if err := need("msg_id", msgID, "type", typ); err != nil {
		return err
	}
	if len(r.NewMsg) == 0 {
		return invalid("new_msg is empty")
	}
	msg := map[string]any{"type": typ}
	for k, v := range r.NewMsg {
		msg[k] = v
	}
	merge := !r.ReplaceExt
	body := struct {
		Rewrite
		NewMsg  map[string]any `json:"new_msg"`
		Combine *bool          `json:"is_combine_ext,omitempty"`
	}{Rewrite: r, NewMsg: msg, Combine: &merge}
	return c.call(ctx, &request{method: http.MethodPut, path: "/messages/rewrite/" + seg(msgID), body: body, noRetry: true}, nil)
}
