package messaging

import (
	"bytes"
	"context"
	"encoding/json"

	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// SendFilter sees a message before it is stored: content moderation and
// the app's pre-send callback are filters. It may refuse the message by
// returning an error (an *errs.Error the sender gets; nothing is stored or
// delivered) or change it by replacing m.Body and m.Ext (the result is
// validated again like a send, so a filter cannot store what a client
// could not send). It runs on the sender's request path: keep it fast, and
// bound anything slow (a remote call) with its own timeout.
type SendFilter interface {
	FilterSend(ctx context.Context, m *Outgoing) error
}

// Callbacks gives the post-send callback job to store with an item (nil
// when the app has no rule that wants it): event is CallbackChat or
// CallbackRecall, group the group's ID for a group's item (0 for 1:1).
// Poke says a job was committed.
type Callbacks interface {
	JobFor(ctx context.Context, appID int64, event string, group int64) *store.CallbackJob
	Poke()
}

// Callback job events (the names internal/callback uses).
const (
	CallbackChat   = "chat"
	CallbackRecall = "recall"
)

// Outgoing is a message on its way in, as filters see it.
type Outgoing struct {
	App    *tenant.App
	FromID int64
	// From is the sender's username ("admin" for REST sends without one).
	From string
	// To are the recipients: usernames, or group or chat room IDs.
	To          []string
	ChatType    string // chat, groupchat or chatroom
	Type        string // txt, img, ..., custom
	Body        json.RawMessage
	Ext         json.RawMessage
	ClientMsgID string
	// MsgID is set for an edit (EditFilters): the edited message's ID.
	MsgID string
}

// filter runs the filters over a validated message and returns its
// (possibly changed, validated again) body, ext and file references.
func (s *Service) filter(ctx context.Context, app *tenant.App, fromID int64, fromName string, to []string, req *SendRequest,
	body, ext []byte, uuids []string) ([]byte, []byte, []string, error) {
	chatType := req.ChatType
	if chatType == "" {
		chatType = protocol.ChatTypeChat
	}
	m := &Outgoing{App: app, FromID: fromID, From: fromName, To: to, ChatType: chatType, Type: req.Type,
		Body: body, Ext: ext, ClientMsgID: req.ClientMsgID}
	for _, f := range s.Filters {
		if err := f.FilterSend(ctx, m); err != nil {
			return nil, nil, nil, err
		}
	}
	if bytes.Equal(m.Body, body) && bytes.Equal(m.Ext, ext) {
		return body, ext, uuids, nil
	}
	changed := *req
	changed.Body, changed.Ext = m.Body, m.Ext
	return validate(app, &changed)
}
