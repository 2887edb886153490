package messaging

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// EditRequest is a new content for a message.
type EditRequest struct {
	MsgID string
	// Type, if set, must be the message's type (txt or custom): an edit
	// changes the content, not the kind of message.
	Type string
	Body json.RawMessage
	// Ext, if set, is merged into the message's ext key by key (MergeExt,
	// Easemob's default) or replaces it.
	Ext      json.RawMessage
	MergeExt bool
}

// Edit replaces the body (and optionally the ext) of a txt or custom
// message, by its sender or by an app admin. The message is updated in
// storage (history shows the latest content and the number of edits) and an
// edit item is appended to its conversation, so every device of everyone in
// it gets the edit exactly once and in order, including devices that were
// offline (on sync). It returns the edit item.
func (s *Service) Edit(ctx context.Context, p *tenant.Principal, req EditRequest) (*protocol.Item, error) {
	if p.Anonymous() {
		return nil, errs.New(protocol.ErrUnauthorized, "edit needs a token")
	}
	if p.App.Settings.EditDisabled {
		return nil, errs.New(protocol.ErrEditNotAllowed, "message editing is turned off for this app")
	}
	id, err := parseID("msg_id", req.MsgID)
	if err != nil {
		return nil, err
	}
	it, err := s.st.Messages().Item(ctx, p.App.ID, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !p.Admin && !s.canSee(ctx, p, it)) {
		return nil, errs.New(protocol.ErrMessageNotFound, "not_found msg %s", req.MsgID)
	}
	if err != nil {
		return nil, err
	}
	switch {
	case it.Kind != store.ItemMsg:
		return nil, errs.New(protocol.ErrEditNotAllowed, "item %s is not a message", req.MsgID)
	case it.Recalled:
		return nil, errs.New(protocol.ErrEditNotAllowed, "message %s was recalled", req.MsgID)
	case it.Type != protocol.MsgText && it.Type != protocol.MsgCustom:
		return nil, errs.New(protocol.ErrEditNotAllowed, "only txt and custom messages can be edited, not %s", it.Type)
	case req.Type != "" && req.Type != it.Type:
		return nil, errs.New(protocol.ErrEditNotAllowed, "an edit keeps the message's type (%s), not %s", it.Type, req.Type)
	case !p.Admin && it.From != p.UserID:
		return nil, errs.New(protocol.ErrEditNotAllowed, "only the sender may edit a message")
	}
	ext := req.Ext
	if req.MergeExt && len(req.Ext) > 0 && len(it.Ext) > 0 {
		var old, add map[string]json.RawMessage
		if json.Unmarshal(it.Ext, &old) == nil && json.Unmarshal(req.Ext, &add) == nil && add != nil {
			for k, v := range add {
				old[k] = v
			}
			ext, _ = json.Marshal(old)
		}
	} else if len(req.Ext) == 0 {
		ext = it.Ext
	}
	// The same checks as a send: the type's fields, JSON objects, the size.
	body, extOut, _, err := validate(p.App, &SendRequest{Type: it.Type, Body: req.Body, Ext: ext})
	if err != nil {
		return nil, err
	}
	if len(s.EditFilters) > 0 {
		if body, extOut, err = s.filterEdit(ctx, p.App, it, body, extOut); err != nil {
			return nil, err
		}
	}
	op := &store.EditOp{AppID: p.App.ID, ConvHint: it.ConvID, TargetID: id, EditID: s.ids.Next(), Body: body, Ext: extOut,
		MaxEdits: p.App.Settings.Edits(), Created: s.now().UnixMilli()}
	switch err := s.st.Messages().Edit(ctx, op); {
	case errors.Is(err, store.ErrLimit):
		return nil, errs.New(protocol.ErrEditLimit, "message %s was edited %d times, the app's limit", req.MsgID, p.App.Settings.Edits())
	case errors.Is(err, store.ErrConflict):
		return nil, errs.New(protocol.ErrEditNotAllowed, "message %s was recalled", req.MsgID)
	case err != nil:
		return nil, err
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

// canSee reports whether a user belongs to the conversation of an item:
// its sender or recipient, or a member of its group.
func (s *Service) canSee(ctx context.Context, p *tenant.Principal, it *store.Item) bool {
	if it.From == p.UserID || it.To == p.UserID {
		return true
	}
	g := s.groupOf(ctx, it.ConvID)
	if g == 0 || s.Groups == nil {
		return false
	}
	ok, err := s.Groups.IsMember(ctx, p.App.ID, p.UserID, g)
	return err == nil && ok
}
