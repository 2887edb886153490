package rest

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/messaging"
	"github.com/parleyim/parley/internal/rooms"
	"github.com/parleyim/parley/protocol"
)

func (s *Server) roomRoutes() {
	if s.Rooms == nil {
		return
	}
	r := "/{org}/{app}/chatrooms"
	s.app("POST "+r, s.createRoom)
	s.app("GET "+r, s.listRooms)
	s.app("GET "+r+"/{id}", s.roomDetails)
	s.app("PUT "+r+"/{id}", s.modifyRoom)
	s.app("DELETE "+r+"/{id}", s.deleteRoom)
	s.app("GET /{org}/{app}/users/{username}/joined_chatrooms", s.userRooms)
	s.app("GET "+r+"/{id}/{sub}", s.roomGet)
	s.app("POST "+r+"/{id}/announcement", s.setRoomAnnouncement)
	s.app("POST "+r+"/{id}/users", s.addRoomMembers)
	s.app("POST "+r+"/{id}/users/{username}", s.addRoomMembers)
	s.app("DELETE "+r+"/{id}/users/{usernames}", s.removeRoomMembers)
	s.app("POST "+r+"/{id}/admin", s.addRoomAdmin)
	s.app("DELETE "+r+"/{id}/admin/{username}", s.removeRoomAdmin)
	for _, l := range []string{"blocks", "white"} {
		s.app("GET "+r+"/{id}/"+l+"/users", s.roomList)
		s.app("POST "+r+"/{id}/"+l+"/users", s.roomListAdd)
		s.app("POST "+r+"/{id}/"+l+"/users/{username}", s.roomListAdd)
		s.app("DELETE "+r+"/{id}/"+l+"/users/{usernames}", s.roomListRemove)
	}
	s.app("POST "+r+"/{id}/mute", s.roomMute)
	s.app("DELETE "+r+"/{id}/mute/{usernames}", s.roomUnmute)
	s.app("POST "+r+"/{id}/ban", s.roomMuteAll)
	// One DELETE pattern for /chatrooms/{x}/{y}: super_admin/{username}
	// would otherwise collide with {id}/ban.
	s.app("DELETE "+r+"/{id}/{sub}", s.roomDelete)
	s.app("POST /{org}/{app}/metadata/chatroom/{id}", s.roomAttrs)
	s.app("PUT /{org}/{app}/metadata/chatroom/{id}/user/{username}", s.setRoomAttrs)
	s.app("PUT /{org}/{app}/metadata/chatroom/{id}/user/{username}/forced", s.setRoomAttrs)
	s.app("DELETE /{org}/{app}/metadata/chatroom/{id}/user/{username}", s.deleteRoomAttrs)
	s.app("DELETE /{org}/{app}/metadata/chatroom/{id}/user/{username}/forced", s.deleteRoomAttrs)
	s.app("POST "+r+"/super_admin", s.addSuperAdmin)
	s.app("POST /{org}/{app}/messages/chatrooms", s.sendRoomMessages)
	s.app("POST /{org}/{app}/messages/chatrooms/broadcast", s.broadcastRooms)
	s.app("POST /{org}/{app}/messages/broadcast", s.broadcastUsers)
	s.app("POST /{org}/{app}/messages/users/broadcast", s.broadcastOnline)
}

type roomBody struct {
	rooms.Settings
	Owner    string   `json:"owner"`
	Members  []string `json:"members"`
	NewOwner *string  `json:"newowner"`
}

func (s *Server) createRoom(c *call) (any, error) {
	var b roomBody
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	in, err := s.Rooms.Create(c.ctx(), c.p, b.Owner, b.Members, b.Settings)
	if err != nil {
		return nil, err
	}
	e := c.env("post", "/chatrooms")
	e.Data = map[string]string{"id": in.ID}
	return e, nil
}

func (s *Server) listRooms(c *call) (any, error) {
	limit, err := queryInt(c, "limit")
	if err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = 10
	}
	page, err := s.Rooms.List(c.ctx(), c.p, c.r.URL.Query().Get("cursor"), limit)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(page.Rooms))
	for i, r := range page.Rooms {
		out[i] = map[string]any{"id": r.ID, "name": r.Name, "owner": r.Owner, "affiliations_count": r.Count}
	}
	e := c.env("get", "/chatrooms")
	e.Data, e.Cursor, e.Count = out, page.Cursor, count(len(out))
	return e, nil
}

func (s *Server) roomDetails(c *call) (any, error) {
	if c.r.PathValue("id") == "super_admin" {
		return s.listSuperAdmins(c)
	}
	found, missing, err := s.Rooms.Details(c.ctx(), c.p, strings.Split(c.r.PathValue("id"), ","))
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, errs.New(protocol.ErrRoomNotFound, "chat room id doesn't exist: %s", strings.Join(missing, ","))
	}
	e := c.env("get", "/chatrooms")
	e.Data = found
	if len(missing) > 0 {
		e.Failed = map[string]string{}
		for _, m := range missing {
			e.Failed[m] = "chat room id doesn't exist"
		}
	}
	return e, nil
}

func (s *Server) modifyRoom(c *call) (any, error) {
	var b roomBody
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	e := c.env("put", "/chatrooms")
	if b.NewOwner != nil {
		if err := s.Rooms.Transfer(c.ctx(), c.p, c.r.PathValue("id"), *b.NewOwner); err != nil {
			return nil, err
		}
		e.Data = map[string]bool{"newowner": true}
		return e, nil
	}
	changed, err := s.Rooms.Modify(c.ctx(), c.p, c.r.PathValue("id"), b.Settings)
	if err != nil {
		return nil, err
	}
	data := map[string]bool{}
	for _, f := range changed {
		if f == "name" {
			f = "groupname" // Easemob's answer names it so
		}
		data[f] = true
	}
	e.Data = data
	return e, nil
}

func (s *Server) deleteRoom(c *call) (any, error) {
	if err := s.Rooms.Delete(c.ctx(), c.p, c.r.PathValue("id")); err != nil {
		return nil, err
	}
	e := c.env("delete", "/chatrooms")
	e.Data = map[string]any{"success": true, "id": c.r.PathValue("id")}
	return e, nil
}

func (s *Server) userRooms(c *call) (any, error) {
	num, err := queryInt(c, "pagenum")
	if err != nil {
		return nil, err
	}
	size, err := queryInt(c, "pagesize")
	if err != nil {
		return nil, err
	}
	if num == 0 {
		num = 1
	}
	if size == 0 {
		size = 500
	}
	list, err := s.Rooms.OfUser(c.ctx(), c.p, c.r.PathValue("username"), num, size)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(list))
	for i, r := range list {
		out[i] = map[string]any{"id": r.ID, "name": r.Name, "disabled": false}
	}
	e := c.env("get", "/chatrooms")
	e.Data = out
	return e, nil
}

// roomGet dispatches GET /chatrooms/{id}/{sub}.
func (s *Server) roomGet(c *call) (any, error) {
	id, sub := c.r.PathValue("id"), c.r.PathValue("sub")
	e := c.env("get", "/chatrooms")
	switch sub {
	case "announcement":
		text, err := s.Rooms.Announcement(c.ctx(), c.p, id)
		if err != nil {
			return nil, err
		}
		e.Data = map[string]string{"announcement": text}
	case "users":
		num, err := queryInt(c, "pagenum")
		if err != nil {
			return nil, err
		}
		size, err := queryInt(c, "pagesize")
		if err != nil {
			return nil, err
		}
		if num == 0 {
			num = 1
		}
		if size == 0 {
			size = 1000
		}
		if size < 1 || size > 1000 || num < 1 {
			return nil, errs.New(protocol.ErrIllegalArgument, "pagesize must be 1..1000 and pagenum ≥1")
		}
		var all []protocol.GroupMember
		cursor := ""
		for len(all) < num*size {
			ms, next, err := s.Rooms.Members(c.ctx(), c.p, id, cursor, 1000)
			if err != nil {
				return nil, err
			}
			all = append(all, ms...)
			if cursor = next; next == "" {
				break
			}
		}
		out := []map[string]string{}
		for i := (num - 1) * size; i < len(all) && i < num*size; i++ {
			out = append(out, map[string]string{all[i].Role: all[i].User})
		}
		e.Data, e.Count = out, count(len(out))
	case "admin":
		list, err := s.Rooms.Admins(c.ctx(), c.p, id)
		if err != nil {
			return nil, err
		}
		e.Data = list
	case "mute":
		list, err := s.Rooms.Muted(c.ctx(), c.p, id)
		if err != nil {
			return nil, err
		}
		out := make([]map[string]any, len(list))
		for i, m := range list {
			out[i] = map[string]any{"user": m.User, "expire": m.MuteUntil}
		}
		e.Data = out
	default:
		return nil, errs.New(protocol.ErrNotFound, "no such resource: %s", c.r.URL.Path)
	}
	return e, nil
}

func (s *Server) setRoomAnnouncement(c *call) (any, error) {
	var b struct {
		Announcement *string `json:"announcement"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	if b.Announcement == nil {
		return nil, errs.New(protocol.ErrIllegalArgument, "announcement must be provided")
	}
	if err := s.Rooms.SetAnnouncement(c.ctx(), c.p, c.r.PathValue("id"), *b.Announcement); err != nil {
		return nil, err
	}
	e := c.env("post", "/chatrooms")
	e.Data = map[string]any{"id": c.r.PathValue("id"), "result": true}
	return e, nil
}

func (s *Server) addRoomMembers(c *call) (any, error) {
	names, err := s.usernamesOf(c)
	if err != nil {
		return nil, err
	}
	added, err := s.Rooms.AddMembers(c.ctx(), c.p, c.r.PathValue("id"), names)
	if err != nil {
		return nil, err
	}
	e := c.env("post", "/chatrooms")
	e.Data = map[string]any{"newmembers": added, "id": c.r.PathValue("id"), "action": "add_member"}
	return e, nil
}

func (s *Server) removeRoomMembers(c *call) (any, error) {
	names, _ := s.usernamesOf(c)
	removed, err := s.Rooms.RemoveMembers(c.ctx(), c.p, c.r.PathValue("id"), names)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(removed))
	for i, u := range removed {
		out[i] = map[string]any{"result": true, "action": "remove_member", "user": u, "id": c.r.PathValue("id")}
	}
	e := c.env("delete", "/chatrooms")
	e.Data = out
	return e, nil
}

func (s *Server) addRoomAdmin(c *call) (any, error) {
	var b struct {
		NewAdmin string `json:"newadmin"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	if err := s.Rooms.SetAdmins(c.ctx(), c.p, c.r.PathValue("id"), []string{b.NewAdmin}, true); err != nil {
		return nil, err
	}
	e := c.env("post", "/chatrooms")
	e.Data = map[string]string{"result": "success", "newadmin": b.NewAdmin}
	return e, nil
}

func (s *Server) removeRoomAdmin(c *call) (any, error) {
	name := c.r.PathValue("username")
	if err := s.Rooms.SetAdmins(c.ctx(), c.p, c.r.PathValue("id"), []string{name}, false); err != nil {
		return nil, err
	}
	e := c.env("delete", "/chatrooms")
	e.Data = map[string]string{"result": "success", "oldadmin": name}
	return e, nil
}

func (s *Server) roomList(c *call) (any, error) {
	kind, _ := listKind(c)
	list, err := s.Rooms.ListRead(c.ctx(), c.p, c.r.PathValue("id"), kind)
	if err != nil {
		return nil, err
	}
	e := c.env("get", "/chatrooms")
	e.Data, e.Count = list, count(len(list))
	return e, nil
}

func (s *Server) roomListAdd(c *call) (any, error)    { return s.roomListChange(c, true) }
func (s *Server) roomListRemove(c *call) (any, error) { return s.roomListChange(c, false) }

func (s *Server) roomListChange(c *call, add bool) (any, error) {
	kind, name := listKind(c)
	names, err := s.usernamesOf(c)
	if err != nil {
		return nil, err
	}
	done, err := s.Rooms.ListChange(c.ctx(), c.p, c.r.PathValue("id"), kind, names, add)
	if err != nil {
		return nil, err
	}
	action := "add_" + name
	if !add {
		action = "remove_" + name
	}
	out := make([]map[string]any, len(done))
	for i, u := range done {
		out[i] = map[string]any{"result": true, "action": action, "user": u, "chatroomid": c.r.PathValue("id")}
	}
	e := c.env(map[bool]string{true: "post", false: "delete"}[add], "/chatrooms")
	e.Data = out
	return e, nil
}

// POST /chatrooms/{id}/mute {usernames, mute_duration (ms; -1 forever)}
func (s *Server) roomMute(c *call) (any, error) {
	var b struct {
		Usernames    []string `json:"usernames"`
		MuteDuration int64    `json:"mute_duration"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	if b.MuteDuration == 0 || b.MuteDuration < -1 {
		return nil, errs.New(protocol.ErrIllegalArgument, "mute_duration must be positive milliseconds, or -1 for ever")
	}
	until, err := s.Rooms.Mute(c.ctx(), c.p, c.r.PathValue("id"), b.Usernames, time.Duration(b.MuteDuration)*time.Millisecond)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(b.Usernames))
	for i, u := range b.Usernames {
		out[i] = map[string]any{"result": true, "expire": until, "user": u}
	}
	e := c.env("post", "/chatrooms")
	e.Data = out
	return e, nil
}

func (s *Server) roomUnmute(c *call) (any, error) {
	names, _ := s.usernamesOf(c)
	if _, err := s.Rooms.Mute(c.ctx(), c.p, c.r.PathValue("id"), names, 0); err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(names))
	for i, u := range names {
		out[i] = map[string]any{"result": true, "user": u}
	}
	e := c.env("delete", "/chatrooms")
	e.Data = out
	return e, nil
}

func (s *Server) roomMuteAll(c *call) (any, error) {
	on := c.r.Method == "POST"
	if err := s.Rooms.MuteAll(c.ctx(), c.p, c.r.PathValue("id"), on); err != nil {
		return nil, err
	}
	e := c.env(strings.ToLower(c.r.Method), "/chatrooms")
	e.Data = map[string]bool{"mute": on}
	return e, nil
}

// POST /metadata/chatroom/{id} {keys?}
func (s *Server) roomAttrs(c *call) (any, error) {
	var b struct {
		Keys []string `json:"keys"`
	}
	if c.r.ContentLength != 0 {
		if err := s.decodeBody(c, &b); err != nil {
			return nil, err
		}
	}
	attrs, err := s.Rooms.Attrs(c.ctx(), c.p, c.r.PathValue("id"), b.Keys)
	if err != nil {
		return nil, err
	}
	return c.data(attrs), nil
}

// PUT /metadata/chatroom/{id}/user/{username}[/forced] {metaData, autoDelete}
func (s *Server) setRoomAttrs(c *call) (any, error) {
	var b struct {
		MetaData   map[string]string `json:"metaData"`
		AutoDelete string            `json:"autoDelete"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	if b.AutoDelete != "" && b.AutoDelete != "DELETE" && b.AutoDelete != "NO_DELETE" {
		return nil, errs.New(protocol.ErrIllegalArgument, "autoDelete must be DELETE or NO_DELETE")
	}
	res, err := s.Rooms.SetAttrs(c.ctx(), c.p, c.r.PathValue("id"), c.r.PathValue("username"), b.MetaData,
		b.AutoDelete == "DELETE", strings.HasSuffix(c.r.URL.Path, "/forced"))
	if err != nil {
		return nil, err
	}
	return c.data(res), nil
}

// DELETE /metadata/chatroom/{id}/user/{username}[/forced] {keys}
func (s *Server) deleteRoomAttrs(c *call) (any, error) {
	var b struct {
		Keys []string `json:"keys"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	res, err := s.Rooms.DeleteAttrs(c.ctx(), c.p, c.r.PathValue("id"), c.r.PathValue("username"), b.Keys,
		strings.HasSuffix(c.r.URL.Path, "/forced"))
	if err != nil {
		return nil, err
	}
	return c.data(res), nil
}

func (s *Server) listSuperAdmins(c *call) (any, error) {
	list, err := s.Rooms.SuperAdmins(c.ctx(), c.p)
	if err != nil {
		return nil, err
	}
	e := c.env("get", "/chatrooms/super_admin")
	e.Data, e.Count = list, count(len(list))
	return e, nil
}

func (s *Server) addSuperAdmin(c *call) (any, error) {
	var b struct {
		SuperAdmin string `json:"superadmin"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	if err := s.Rooms.SetSuperAdmin(c.ctx(), c.p, b.SuperAdmin, true); err != nil {
		return nil, err
	}
	e := c.env("post", "/chatrooms/super_admin")
	e.Data = map[string]any{"result": "success", "resource": b.SuperAdmin}
	return e, nil
}

// roomDelete dispatches DELETE /chatrooms/{id}/{sub}.
func (s *Server) roomDelete(c *call) (any, error) {
	switch {
	case c.r.PathValue("id") == "super_admin":
		return s.removeSuperAdmin(c)
	case c.r.PathValue("sub") == "ban":
		return s.roomMuteAll(c)
	}
	return nil, errs.New(protocol.ErrNotFound, "no such resource: %s", c.r.URL.Path)
}

func (s *Server) removeSuperAdmin(c *call) (any, error) {
	name := c.r.PathValue("sub")
	if err := s.Rooms.SetSuperAdmin(c.ctx(), c.p, name, false); err != nil {
		return nil, err
	}
	e := c.env("delete", "/chatrooms/super_admin")
	e.Data = map[string]any{"result": "success", "newSuperAdmin": name}
	return e, nil
}

// POST /messages/chatrooms {from?, to: [≤10 rooms], type, body, ext?, chatroom_msg_level?}
func (s *Server) sendRoomMessages(c *call) (any, error) {
	var b struct {
		From  *string         `json:"from"`
		To    []string        `json:"to"`
		Type  string          `json:"type"`
		Body  json.RawMessage `json:"body"`
		Ext   json.RawMessage `json:"ext"`
		Level string          `json:"chatroom_msg_level"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	if len(b.To) == 0 || len(b.To) > 10 {
		return nil, errs.New(protocol.ErrIllegalArgument, "to must list 1..10 chat rooms")
	}
	from := ""
	if b.From != nil {
		if *b.From == "" {
			return nil, errs.New(protocol.ErrIllegalArgument, "from may not be empty")
		}
		from = *b.From
	}
	results, err := s.Messages.SendAs(c.ctx(), c.p, from, b.To, messaging.SendRequest{ChatType: protocol.ChatTypeRoom,
		Type: b.Type, Body: b.Body, Ext: b.Ext, Priority: b.Level})
	if err != nil {
		return nil, err
	}
	e := c.env("post", "/messages/chatrooms")
	data := map[string]string{}
	for _, r := range results {
		if r.Err != nil {
			if e.Failed == nil {
				e.Failed = map[string]string{}
			}
			if de, ok := errs.As(r.Err); ok {
				e.Failed[r.To] = de.Description
			} else {
				e.Failed[r.To] = "internal error"
			}
			continue
		}
		data[r.To] = r.Ack.MsgID
	}
	e.Data = data
	return e, nil
}

// broadcastBody is Easemob's broadcast request: {from?, msg: {type, ...body}, ext?, chatroom_msg_level?, target_type?}.
type broadcastBody struct {
	From       string                     `json:"from"`
	Msg        map[string]json.RawMessage `json:"msg"`
	Ext        json.RawMessage            `json:"ext"`
	Level      string                     `json:"chatroom_msg_level"`
	TargetType string                     `json:"target_type"`
}

func (s *Server) broadcast(c *call, kind string) (any, error) {
	var b broadcastBody
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	var typ string
	if raw, ok := b.Msg["type"]; !ok || json.Unmarshal(raw, &typ) != nil {
		return nil, errs.New(protocol.ErrIllegalArgument, "msg.type must be provided")
	}
	body := map[string]json.RawMessage{}
	for k, v := range b.Msg {
		if k != "type" {
			body[k] = v
		}
	}
	raw, _ := json.Marshal(body)
	if kind == rooms.ToUsers && b.TargetType != "" && b.TargetType != "users" {
		return nil, errs.New(protocol.ErrIllegalArgument, "target_type must be users")
	}
	id, err := s.Rooms.Broadcast(c.ctx(), c.p, kind, b.From, rooms.Message{Type: typ, Body: raw, Ext: b.Ext, Level: b.Level})
	if err != nil {
		return nil, err
	}
	e := c.env("post", "/messages")
	e.Data = map[string]string{"id": id}
	return e, nil
}

func (s *Server) broadcastRooms(c *call) (any, error)  { return s.broadcast(c, rooms.ToRooms) }
func (s *Server) broadcastUsers(c *call) (any, error)  { return s.broadcast(c, rooms.ToUsers) }
func (s *Server) broadcastOnline(c *call) (any, error) { return s.broadcast(c, rooms.ToOnline) }
