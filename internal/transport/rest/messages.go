package rest

import (
	"encoding/json"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/messaging"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/internal/users"
	"github.com/parleyim/parley/protocol"
)

func (s *Server) messageRoutes() {
	s.app("POST /{org}/{app}/messages/users", s.sendMessages)
	s.app("POST /{org}/{app}/messages/msg_recall", s.recallOne)
	s.app("POST /{org}/{app}/messages/recall", s.recallMany)
	s.app("POST /{org}/{app}/messages/batch_recall", s.recallMany)
	s.app("PUT /{org}/{app}/messages/rewrite/{msg_id}", s.rewrite)
	s.app("GET /{org}/{app}/users/{username}/status", s.userStatus)
	s.app("POST /{org}/{app}/users/batch/status", s.batchStatus)
	s.app("GET /{org}/{app}/users/{username}/resources", s.userResources)
	s.app("GET /{org}/{app}/users/{username}/disconnect", s.disconnectAll)
	s.app("DELETE /{org}/{app}/users/{username}/disconnect/{resource}", s.disconnectOne)
	s.app("GET /{org}/{app}/users/{username}/offline_msg_count", s.offlineCount)
	s.app("GET /{org}/{app}/users/{username}/user_channels", s.userChannels)
	s.app("DELETE /{org}/{app}/users/{username}/user_channel", s.deleteUserChannel)
	s.app("POST /{org}/{app}/users/{username}/user_channel/top", s.pinUserChannel)
	s.app("DELETE /{org}/{app}/users/{username}/user_channel/top", s.pinUserChannel)
}

type channelBody struct {
	Channel    string `json:"channel"`
	Type       string `json:"type"`
	DeleteRoam bool   `json:"delete_roam"`
}

func (s *Server) channelBody(c *call) (*channelBody, error) {
	var b channelBody
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	if b.Channel == "" {
		return nil, errs.New(protocol.ErrIllegalArgument, "channel must be provided")
	}
	if b.Type != "" && b.Type != protocol.ChatTypeChat {
		return nil, errs.New(protocol.ErrIllegalArgument, "type %q is not supported yet; use chat", b.Type)
	}
	return &b, nil
}

// POST (pin) or DELETE (unpin) /{org}/{app}/users/{username}/user_channel/top {channel, type}
func (s *Server) pinUserChannel(c *call) (any, error) {
	b, err := s.channelBody(c)
	if err != nil {
		return nil, err
	}
	if err := s.Messages.PinConversationWith(c.ctx(), c.p, c.r.PathValue("username"), b.Channel, c.r.Method == "POST"); err != nil {
		return nil, err
	}
	e := c.env(map[bool]string{true: "post", false: "delete"}[c.r.Method == "POST"], "/users")
	e.Data = map[string]string{"result": "ok"}
	return e, nil
}

type sendBody struct {
	From        string          `json:"from"`
	To          []string        `json:"to"`
	Type        string          `json:"type"`
	Body        json.RawMessage `json:"body"`
	Ext         json.RawMessage `json:"ext"`
	SyncDevice  bool            `json:"sync_device"`
	RouteType   string          `json:"routetype"`
	ClientMsgID string          `json:"client_msg_id"`
}

// POST /{org}/{app}/messages/users
func (s *Server) sendMessages(c *call) (any, error) {
	var b sendBody
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	if b.RouteType != "" && b.RouteType != protocol.RouteOnline {
		return nil, errs.New(protocol.ErrIllegalArgument, "routetype must be %s or absent", protocol.RouteOnline)
	}
	results, err := s.Messages.SendAs(c.ctx(), c.p, b.From, b.To, messaging.SendRequest{
		Type: b.Type, Body: b.Body, Ext: b.Ext, ClientMsgID: b.ClientMsgID, SyncDevice: b.SyncDevice,
		RouteOnline: b.RouteType == protocol.RouteOnline,
	})
	if err != nil {
		return nil, err
	}
	data := map[string]string{}
	failed := map[string]string{}
	for _, r := range results {
		if r.Err != nil {
			e, ok := errs.As(r.Err)
			if !ok {
				return nil, r.Err
			}
			failed[r.To] = e.Description
			continue
		}
		data[r.To] = r.Ack.MsgID
	}
	e := c.env("post", "/messages/users")
	e.Data = data
	if len(failed) > 0 {
		e.Failed = failed
	}
	return e, nil
}

type recallBody struct {
	MsgID    string `json:"msg_id"`
	To       string `json:"to"`
	ChatType string `json:"chat_type"`
	From     string `json:"from"`
	Force    bool   `json:"force"`
	// Accepted for compatibility; every device of both users is told.
	SyncDevice *bool           `json:"sync_device"`
	ExtInfo    json.RawMessage `json:"recallMessageExtensionInfo"`
}

// recallResult follows Easemob: success is recalled "yes"; a failure is
// the reason in the same field.
func (s *Server) recallResult(c *call, b recallBody) (map[string]any, error) {
	out := map[string]any{"msg_id": b.MsgID, "to": b.To, "from": b.From, "chattype": b.ChatType}
	if b.ChatType != "" && b.ChatType != protocol.ChatTypeChat {
		out["recalled"] = "chat_type " + b.ChatType + " is not supported yet"
		return out, nil
	}
	if _, err := s.Messages.Recall(c.ctx(), c.p, b.MsgID, b.Force); err != nil {
		e, ok := errs.As(err)
		if !ok {
			return nil, err
		}
		if e.Kind.ID == protocol.ErrUnauthorized.ID || e.Kind.ID == protocol.ErrForbidden.ID {
			return nil, err
		}
		out["recalled"] = e.Description
		return out, nil
	}
	out["recalled"] = "yes"
	return out, nil
}

// PUT /{org}/{app}/messages/rewrite/{msg_id}: {user?, new_msg: {type,
// msg | customEvent, customExts}, new_ext?, is_combine_ext? (true)}.
func (s *Server) rewrite(c *call) (any, error) {
	if err := c.p.RequireAdmin(); err != nil {
		return nil, err
	}
	var b struct {
		User         string                     `json:"user"`
		NewMsg       map[string]json.RawMessage `json:"new_msg"`
		NewExt       json.RawMessage            `json:"new_ext"`
		IsCombineExt *bool                      `json:"is_combine_ext"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	if b.NewMsg == nil {
		return nil, errs.New(protocol.ErrIllegalArgument, "new_msg must be provided")
	}
	var typ string
	if raw, ok := b.NewMsg["type"]; ok {
		if json.Unmarshal(raw, &typ) != nil {
			return nil, errs.New(protocol.ErrIllegalArgument, "new_msg.type must be a string")
		}
		delete(b.NewMsg, "type")
	}
	if typ == "" {
		return nil, errs.New(protocol.ErrIllegalArgument, "new_msg.type must be txt or custom")
	}
	body, _ := json.Marshal(b.NewMsg)
	merge := b.IsCombineExt == nil || *b.IsCombineExt
	if _, err := s.Messages.Edit(c.ctx(), c.p, messaging.EditRequest{MsgID: c.r.PathValue("msg_id"), Type: typ, Body: body,
		Ext: b.NewExt, MergeExt: merge}); err != nil {
		return nil, err
	}
	e := c.env("put", "/messages/rewrite/"+c.r.PathValue("msg_id"))
	e.Data = "success"
	return e, nil
}

// POST /{org}/{app}/messages/msg_recall
func (s *Server) recallOne(c *call) (any, error) {
	if err := c.p.RequireAdmin(); err != nil {
		return nil, err
	}
	var b recallBody
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	if b.MsgID == "" {
		return nil, errs.New(protocol.ErrIllegalArgument, "msg_id must be provided")
	}
	res, err := s.recallResult(c, b)
	if err != nil {
		return nil, err
	}
	e := c.env("post", "/messages/msg_recall")
	e.Data = res
	return e, nil
}

// POST /{org}/{app}/messages/recall and /messages/batch_recall: {msgs: [...]}
func (s *Server) recallMany(c *call) (any, error) {
	if err := c.p.RequireAdmin(); err != nil {
		return nil, err
	}
	var b struct {
		Msgs []recallBody `json:"msgs"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	if len(b.Msgs) == 0 || len(b.Msgs) > 20 {
		return nil, errs.New(protocol.ErrIllegalArgument, "msgs must list 1..20 messages")
	}
	var out []map[string]any
	for _, m := range b.Msgs {
		if m.MsgID == "" {
			return nil, errs.New(protocol.ErrIllegalArgument, "every entry of msgs needs msg_id")
		}
	}
	for _, m := range b.Msgs {
		res, err := s.recallResult(c, m)
		if err != nil {
			return nil, err
		}
		out = append(out, res)
	}
	e := c.env("post", "/messages/recall")
	e.Data = map[string]any{"msgs": out}
	return e, nil
}

// targetUser resolves the {username} of an admin-only presence call.
func (s *Server) targetUser(c *call) (int64, string, error) {
	if err := c.p.RequireAdmin(); err != nil {
		return 0, "", err
	}
	u, err := s.Users.Lookup(c.ctx(), c.p.App, c.r.PathValue("username"))
	if err != nil {
		return 0, "", err
	}
	return u.ID, u.Username, nil
}

func (s *Server) online(c *call, app *tenant.App, userID int64) (bool, error) {
	devs, err := s.Presence.Devices(c.ctx(), app.ID, userID)
	return len(devs) > 0, err
}

func status(online bool) string {
	if online {
		return "online"
	}
	return "offline"
}

func (s *Server) userStatus(c *call) (any, error) {
	id, name, err := s.targetUser(c)
	if err != nil {
		return nil, err
	}
	on, err := s.online(c, c.p.App, id)
	if err != nil {
		return nil, err
	}
	e := c.env("get", "/users")
	e.Data = map[string]string{name: status(on)}
	return e, nil
}

func (s *Server) batchStatus(c *call) (any, error) {
	if err := c.p.RequireAdmin(); err != nil {
		return nil, err
	}
	var b struct {
		Usernames []string `json:"usernames"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	if len(b.Usernames) == 0 || len(b.Usernames) > 100 {
		return nil, errs.New(protocol.ErrIllegalArgument, "usernames must list 1..100 users")
	}
	data := make([]map[string]string, 0, len(b.Usernames))
	for _, n := range b.Usernames {
		on := false
		if u, err := s.Users.Lookup(c.ctx(), c.p.App, n); err == nil {
			if on, err = s.online(c, c.p.App, u.ID); err != nil {
				return nil, err
			}
		}
		data = append(data, map[string]string{n: status(on)}) // unknown users are offline
	}
	e := c.short("get batch user status")
	e.Data = data
	return e, nil
}

func (s *Server) userResources(c *call) (any, error) {
	id, _, err := s.targetUser(c)
	if err != nil {
		return nil, err
	}
	devs, err := s.Presence.Devices(c.ctx(), c.p.App.ID, id)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, 0, len(devs))
	for _, d := range devs {
		out = append(out, map[string]any{"res": d.Resource, "device_uuid": d.Resource, "device_name": d.DeviceName,
			"platform": d.Platform, "since": d.Since})
	}
	e := c.env("get", "/users")
	e.Data = out
	return e, nil
}

func (s *Server) disconnect(c *call, resource string) (any, error) {
	id, _, err := s.targetUser(c)
	if err != nil {
		return nil, err
	}
	if err := s.Messages.Kick(c.ctx(), c.p.App.ID, id, resource, protocol.CloseKicked, "logged out by the app"); err != nil {
		return nil, err
	}
	e := c.env("get", "/users")
	e.Data = map[string]bool{"result": true}
	return e, nil
}

func (s *Server) disconnectAll(c *call) (any, error) { return s.disconnect(c, "") }

func (s *Server) disconnectOne(c *call) (any, error) {
	return s.disconnect(c, c.r.PathValue("resource"))
}

func (s *Server) offlineCount(c *call) (any, error) {
	id, name, err := s.targetUser(c)
	if err != nil {
		return nil, err
	}
	n, err := s.Messages.Undelivered(c.ctx(), c.p.App, id)
	if err != nil {
		return nil, err
	}
	e := c.env("get", "/users")
	e.Data = map[string]int64{name: n}
	return e, nil
}

// GET /{org}/{app}/users/{username}/user_channels?limit=&cursor= — the
// conversation list (app token, or the user's own token).
func (s *Server) userChannels(c *call) (any, error) {
	name, err := s.selfOrAdminUser(c)
	if err != nil {
		return nil, err
	}
	u, err := s.Users.Lookup(c.ctx(), c.p.App, name)
	if err != nil {
		return nil, err
	}
	limit, err := queryInt(c, "limit")
	if err != nil {
		return nil, err
	}
	list, err := s.Messages.ListFor(c.ctx(), c.p.App, u.ID, c.r.URL.Query().Get("cursor"), limit)
	if err != nil {
		return nil, err
	}
	e := c.env("get", "/users")
	e.Data = map[string]any{"channel_infos": list.Conversations}
	e.Cursor = list.Cursor
	e.Count = count(len(list.Conversations))
	return e, nil
}

func (s *Server) selfOrAdminUser(c *call) (string, error) {
	name := c.r.PathValue("username")
	canon, err := users.NormalizeUsername(name)
	if err != nil {
		return "", err
	}
	return canon, c.p.RequireSelfOrAdmin(canon)
}

// DELETE /{org}/{app}/users/{username}/user_channel {channel, type, delete_roam}
func (s *Server) deleteUserChannel(c *call) (any, error) {
	b, err := s.channelBody(c)
	if err != nil {
		return nil, err
	}
	if err := s.Messages.DeleteConversationWith(c.ctx(), c.p, c.r.PathValue("username"), b.Channel); err != nil {
		return nil, err
	}
	e := c.env("delete", "/users")
	e.Data = map[string]string{"result": "ok"}
	return e, nil
}
