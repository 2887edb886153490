package console

import (
	"encoding/json"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/messaging"
	"github.com/parleyim/parley/internal/rooms"
	"github.com/parleyim/parley/protocol"
)

func (h *Handler) messageRoutes() {
	h.handle("GET "+appPath+"/messages", appRead, "", h.lookupMessages)
	h.handle("POST "+appPath+"/messages/{msg_id}/recall", appChange, "message.recall", h.recallMessage)
	h.handle("POST "+appPath+"/broadcasts", appChange, "broadcast.send", h.broadcast)
}

// GET /apps/{org}/{app}/messages?user&peer|group&since&until&type&from&cursor&limit:
// one conversation's messages, newest first, bodies included.
func (h *Handler) lookupMessages(c *call) (any, error) {
	limit, err := c.limit(messaging.MaxLookupLimit)
	if err != nil {
		return nil, err
	}
	since, err := c.queryInt64("since")
	if err != nil {
		return nil, err
	}
	until, err := c.queryInt64("until")
	if err != nil {
		return nil, err
	}
	pg, err := h.Messages.Lookup(c.ctx(), c.p, messaging.LookupQuery{User: c.query("user"), Peer: c.query("peer"),
		Group: c.query("group"), Since: since, Until: until, Type: c.query("type"), From: c.query("from"),
		Cursor: c.query("cursor"), Limit: limit})
	if err != nil {
		return nil, err
	}
	return page{Items: pg.Items, Cursor: pg.Cursor}, nil
}

// POST /apps/{org}/{app}/messages/{msg_id}/recall: an admin's recall, at
// any time.
func (h *Handler) recallMessage(c *call) (any, error) {
	id := c.r.PathValue("msg_id")
	it, err := h.Messages.Recall(c.ctx(), c.p, id, true)
	if err != nil {
		return nil, err
	}
	c.target = id
	c.detail = map[string]any{"chat_type": it.ChatType, "from": it.From, "to": it.To}
	return empty{}, nil
}

// POST /apps/{org}/{app}/broadcasts {target: rooms|users|online, type,
// body, ext?, from?}: an app-wide message (the rate limits of the REST
// broadcasts apply).
func (h *Handler) broadcast(c *call) (any, error) {
	var b struct {
		Target string          `json:"target"`
		Type   string          `json:"type"`
		Body   json.RawMessage `json:"body"`
		Ext    json.RawMessage `json:"ext"`
		From   string          `json:"from"`
	}
	if err := c.decode(&b); err != nil {
		return nil, err
	}
	switch b.Target {
	case rooms.ToRooms, rooms.ToUsers, rooms.ToOnline:
	default:
		return nil, errs.New(protocol.ErrIllegalArgument, "target must be %s, %s or %s", rooms.ToRooms, rooms.ToUsers, rooms.ToOnline)
	}
	id, err := h.Rooms.Broadcast(c.ctx(), c.p, b.Target, b.From, rooms.Message{Type: b.Type, Body: b.Body, Ext: b.Ext})
	if err != nil {
		return nil, err
	}
	c.target = id
	c.detail = map[string]any{"target": b.Target, "type": b.Type} // not the body
	return map[string]string{"id": id}, nil
}
