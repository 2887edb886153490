package rest

import (
	"net/url"
	"strconv"
	"time"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/social"
	"github.com/parleyim/parley/protocol"
)

func (s *Server) socialRoutes() {
	if s.Social == nil {
		return
	}
	// Contacts (reference §2.3). Easemob spells some paths /user/ and some
	// /users/; both are accepted.
	s.app("POST /{org}/{app}/users/{username}/contacts/users/{friend}", s.addContact)
	s.app("DELETE /{org}/{app}/users/{username}/contacts/users/{friend}", s.removeContact)
	s.app("PUT /{org}/{app}/user/{username}/contacts/users/{friend}", s.setRemark)
	s.app("PUT /{org}/{app}/users/{username}/contacts/users/{friend}", s.setRemark)
	s.app("GET /{org}/{app}/user/{username}/contacts", s.listContacts)
	s.app("GET /{org}/{app}/users/{username}/contacts", s.listContacts)
	s.app("GET /{org}/{app}/users/{username}/contacts/users", s.allContacts)
	s.app("POST /{org}/{app}/users/{username}/contacts/import", s.importContacts)
	s.app("POST /{org}/{app}/users/{username}/contacts/apply", s.applyContacts)
	s.app("POST /{org}/{app}/users/{username}/contacts/accept/users/{from}", s.answerContact)
	s.app("POST /{org}/{app}/users/{username}/contacts/decline/users/{from}", s.answerContact)
	// Block lists.
	s.app("POST /{org}/{app}/users/{username}/blocks/users", s.block)
	s.app("GET /{org}/{app}/users/{username}/blocks/users", s.listBlocked)
	s.app("DELETE /{org}/{app}/users/{username}/blocks/users/{blocked}", s.unblock)
	// Attributes (reference §2.2).
	s.app("PUT /{org}/{app}/metadata/user/{username}", s.setAttrs)
	s.app("GET /{org}/{app}/metadata/user/{username}", s.getAttrs)
	s.app("POST /{org}/{app}/metadata/user/get", s.batchAttrs)
	s.app("DELETE /{org}/{app}/metadata/user/{username}", s.deleteAttrs)
	s.app("GET /{org}/{app}/metadata/user/capacity", s.attrsCapacity)
	// Presence (reference §2.9).
	s.app("POST /{org}/{app}/users/{username}/presence/{resource}/{status}", s.setPresence)
	s.app("POST /{org}/{app}/users/{username}/presence/{expiry}", s.subscribePresence)
	s.app("POST /{org}/{app}/users/{username}/presence", s.getPresence)
	s.app("DELETE /{org}/{app}/users/{username}/presence", s.unsubscribePresence)
	s.app("GET /{org}/{app}/users/{username}/presence/sublist", s.presenceSublist)
	// Global mutes (reference §2.1).
	s.app("POST /{org}/{app}/mutes", s.setMute)
	s.app("GET /{org}/{app}/mutes/{username}", s.getMute)
	s.app("GET /{org}/{app}/mutes", s.listMutes)
}

// data is the small envelope (timestamp, data, duration) several of these
// calls answer with.
func (c *call) data(v any) *envelope {
	e := c.short("")
	e.Data = v
	return e
}

// result is the presence calls' envelope: {"result": ...}.
type result struct {
	Result any `json:"result"`
}

func (s *Server) userEntity(c *call, name string) ([]any, error) {
	u, err := s.Users.Lookup(c.ctx(), c.p.App, name)
	if err != nil {
		return nil, err
	}
	return []any{entity(u)}, nil
}

// POST /users/{owner}/contacts/users/{friend} (app token): friends at once.
func (s *Server) addContact(c *call) (any, error) {
	if err := s.Social.AddContact(c.ctx(), c.p, c.r.PathValue("username"), c.r.PathValue("friend")); err != nil {
		return nil, err
	}
	e := c.env("post", "/users")
	var err error
	e.Entities, err = s.userEntity(c, c.r.PathValue("friend"))
	return e, err
}

// DELETE /users/{owner}/contacts/users/{friend}
func (s *Server) removeContact(c *call) (any, error) {
	if err := s.Social.RemoveContact(c.ctx(), c.p, c.r.PathValue("username"), c.r.PathValue("friend")); err != nil {
		return nil, err
	}
	e := c.env("delete", "/users")
	var err error
	e.Entities, err = s.userEntity(c, c.r.PathValue("friend"))
	return e, err
}

// PUT /user/{owner}/contacts/users/{friend} {remark}
func (s *Server) setRemark(c *call) (any, error) {
	var b struct {
		Remark *string `json:"remark"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	if b.Remark == nil {
		return nil, errs.New(protocol.ErrIllegalArgument, "remark must be provided")
	}
	if err := s.Social.SetRemark(c.ctx(), c.p, c.r.PathValue("username"), c.r.PathValue("friend"), *b.Remark); err != nil {
		return nil, err
	}
	return map[string]any{"action": "put", "status": "ok", "timestamp": time.Now().UnixMilli(),
		"duration": time.Since(c.start).Milliseconds()}, nil
}

// GET /user/{owner}/contacts?limit=1..50&cursor=&needReturnRemark=
func (s *Server) listContacts(c *call) (any, error) {
	limit, err := queryInt(c, "limit")
	if err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = 10
	}
	if limit < 1 || limit > 50 {
		return nil, errs.New(protocol.ErrIllegalArgument, "limit must be 1..50")
	}
	list, next, err := s.Social.Contacts(c.ctx(), c.p, c.r.PathValue("username"), c.r.URL.Query().Get("cursor"), limit)
	if err != nil {
		return nil, err
	}
	withRemark := c.r.URL.Query().Get("needReturnRemark") == "true"
	type contact struct {
		Username string  `json:"username"`
		Remark   *string `json:"remark,omitempty"`
	}
	out := make([]contact, len(list))
	for i, ct := range list {
		out[i].Username = ct.User
		if withRemark {
			r := ct.Remark
			out[i].Remark = &r
		}
	}
	e := c.env("get", "/users")
	e.Data = map[string]any{"contacts": out, "cursor": next}
	e.Count, e.Cursor = count(len(out)), next
	return e, nil
}

// GET /users/{owner}/contacts/users: every friend's username.
func (s *Server) allContacts(c *call) (any, error) {
	list, _, err := s.Social.Contacts(c.ctx(), c.p, c.r.PathValue("username"), "", social.MaxContacts)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(list))
	for i, ct := range list {
		names[i] = ct.User
	}
	e := c.env("get", "/users")
	e.Data, e.Count = names, count(len(names))
	return e, nil
}

type usernamesBody struct {
	Usernames []string `json:"usernames"`
	Reason    string   `json:"reason,omitempty"`
}

// POST /users/{owner}/contacts/import {usernames: [≤10]}
func (s *Server) importContacts(c *call) (any, error) {
	var b usernamesBody
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	res, err := s.Social.Import(c.ctx(), c.p, c.r.PathValue("username"), b.Usernames)
	if err != nil {
		return nil, err
	}
	e := c.env("post", "/users")
	e.Data = res
	return map[string]any{"action": "post", "status": "ok", "data": res, "timestamp": e.Timestamp, "duration": e.Duration}, nil
}

// POST /users/{u}/contacts/apply {usernames, reason} (the user's token):
// friend requests, as Easemob's SDK sends them.
func (s *Server) applyContacts(c *call) (any, error) {
	var b usernamesBody
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	if len(b.Usernames) == 0 || len(b.Usernames) > social.MaxImport {
		return nil, errs.New(protocol.ErrIllegalArgument, "usernames must list 1..%d users", social.MaxImport)
	}
	if err := s.ownToken(c, "friend requests are sent with the requester's own user token"); err != nil {
		return nil, err
	}
	for _, u := range b.Usernames {
		if err := s.Social.RequestContact(c.ctx(), c.p, u, b.Reason); err != nil {
			return nil, err
		}
	}
	return c.data(map[string]string{"result": "ok"}), nil
}

// ownToken requires the path's user's own token.
func (s *Server) ownToken(c *call, why string) error {
	if err := c.p.RequireSelfOrAdmin(c.r.PathValue("username")); err != nil {
		return err
	}
	if c.p.Admin {
		return errs.New(protocol.ErrForbidden, "%s", why)
	}
	return nil
}

// POST /users/{u}/contacts/accept|decline/users/{from} (the user's token).
func (s *Server) answerContact(c *call) (any, error) {
	if err := s.ownToken(c, "friend requests are answered with the user's own token"); err != nil {
		return nil, err
	}
	var err error
	if c.r.Pattern[len("POST /{org}/{app}/users/{username}/contacts/"):][0] == 'a' {
		err = s.Social.AcceptContact(c.ctx(), c.p, c.r.PathValue("from"))
	} else {
		err = s.Social.DeclineContact(c.ctx(), c.p, c.r.PathValue("from"))
	}
	if err != nil {
		return nil, err
	}
	return c.data(map[string]string{"result": "ok"}), nil
}

// POST /users/{owner}/blocks/users {usernames}
func (s *Server) block(c *call) (any, error) {
	var b usernamesBody
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	added, missing, err := s.Social.Block(c.ctx(), c.p, c.r.PathValue("username"), b.Usernames)
	if err != nil {
		return nil, err
	}
	e := c.env("post", "/users")
	e.Data = added
	if len(missing) > 0 {
		e.Failed = map[string]string{}
		for _, m := range missing {
			e.Failed[m] = "user not found"
		}
	}
	return e, nil
}

// GET /users/{owner}/blocks/users?pageSize=1..50&cursor= (no pageSize: up to 500)
func (s *Server) listBlocked(c *call) (any, error) {
	size, err := queryInt(c, "pageSize")
	if err != nil {
		return nil, err
	}
	if size == 0 {
		size = social.MaxBlocked
	} else if size < 1 || size > 50 {
		return nil, errs.New(protocol.ErrIllegalArgument, "pageSize must be 1..50")
	}
	list, next, err := s.Social.Blocked(c.ctx(), c.p, c.r.PathValue("username"), c.r.URL.Query().Get("cursor"), size)
	if err != nil {
		return nil, err
	}
	e := c.env("get", "/users")
	e.Data, e.Count, e.Cursor = list, count(len(list)), next
	return e, nil
}

// DELETE /users/{owner}/blocks/users/{blocked}
func (s *Server) unblock(c *call) (any, error) {
	name, err := s.Social.Unblock(c.ctx(), c.p, c.r.PathValue("username"), c.r.PathValue("blocked"))
	if err != nil {
		return nil, err
	}
	e := c.env("delete", "/users")
	e.Entities, err = s.userEntity(c, name)
	return e, err
}

// PUT /metadata/user/{u}, application/x-www-form-urlencoded key=value pairs.
func (s *Server) setAttrs(c *call) (any, error) {
	raw, err := s.readBody(c)
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(raw))
	if err != nil {
		return nil, errs.New(protocol.ErrInvalidBody, "the body must be form-urlencoded key=value pairs: %v", err)
	}
	set := map[string]string{}
	for k, vs := range form {
		if len(vs) != 1 {
			return nil, errs.New(protocol.ErrIllegalArgument, "attribute %s is given %d times", k, len(vs))
		}
		set[k] = vs[0]
	}
	if _, err := s.Social.SetAttrs(c.ctx(), c.p, c.r.PathValue("username"), set); err != nil {
		return nil, err
	}
	return c.data(set), nil
}

// GET /metadata/user/{u}
func (s *Server) getAttrs(c *call) (any, error) {
	attrs, err := s.Social.Attrs(c.ctx(), c.p, []string{c.r.PathValue("username")}, nil)
	if err != nil {
		return nil, err
	}
	for _, m := range attrs {
		return c.data(m), nil
	}
	return nil, errs.New(protocol.ErrUserNotFound, "Service resource not found: user %s", c.r.PathValue("username"))
}

// POST /metadata/user/get {targets: [≤100], properties: [keys]}
func (s *Server) batchAttrs(c *call) (any, error) {
	var b struct {
		Targets    []string `json:"targets"`
		Properties []string `json:"properties"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	attrs, err := s.Social.Attrs(c.ctx(), c.p, b.Targets, b.Properties)
	if err != nil {
		return nil, err
	}
	return c.data(attrs), nil
}

// DELETE /metadata/user/{u}
func (s *Server) deleteAttrs(c *call) (any, error) {
	if err := s.Social.DeleteAttrs(c.ctx(), c.p, c.r.PathValue("username")); err != nil {
		return nil, err
	}
	return c.data(true), nil
}

// GET /metadata/user/capacity
func (s *Server) attrsCapacity(c *call) (any, error) {
	n, err := s.Social.AttrsCapacity(c.ctx(), c.p)
	if err != nil {
		return nil, err
	}
	return c.data(n), nil
}

// presenceEntry is Easemob's presence shape.
type presenceEntry struct {
	UID      string            `json:"uid"`
	LastTime int64             `json:"last_time"`
	Expiry   int64             `json:"expiry,omitempty"`
	Ext      string            `json:"ext"`
	Status   map[string]string `json:"status"`
}

func presenceEntries(list []*protocol.Presence) []presenceEntry {
	out := make([]presenceEntry, len(list))
	for i, p := range list {
		out[i] = presenceEntry{UID: p.User, LastTime: p.Updated, Expiry: p.Expiry, Ext: p.Status, Status: map[string]string{}}
		for _, d := range p.Devices {
			out[i].Status[d] = "1"
		}
	}
	return out
}

// POST /users/{u}/presence/{resource}/{status} {ext}: the user's custom status.
func (s *Server) setPresence(c *call) (any, error) {
	var b struct {
		Ext string `json:"ext"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	if _, err := strconv.ParseUint(c.r.PathValue("status"), 10, 32); err != nil {
		return nil, errs.New(protocol.ErrIllegalArgument, "status must be digits: 0 offline, 1 online, others custom")
	}
	if err := s.Social.PublishStatus(c.ctx(), c.p, c.r.PathValue("username"), b.Ext); err != nil {
		return nil, err
	}
	return result{"ok"}, nil
}

// POST /users/{u}/presence/{expiry} {usernames}: subscribe.
func (s *Server) subscribePresence(c *call) (any, error) {
	expiry, err := strconv.ParseInt(c.r.PathValue("expiry"), 10, 64)
	if err != nil {
		return nil, errs.New(protocol.ErrIllegalArgument, "expiry must be a number of seconds")
	}
	var b usernamesBody
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	list, err := s.Social.Subscribe(c.ctx(), c.p, c.r.PathValue("username"), b.Usernames, expiry)
	if err != nil {
		return nil, err
	}
	return result{presenceEntries(list)}, nil
}

// POST /users/{u}/presence {usernames}: statuses now.
func (s *Server) getPresence(c *call) (any, error) {
	var b usernamesBody
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	list, err := s.Social.Presence(c.ctx(), c.p, b.Usernames)
	if err != nil {
		return nil, err
	}
	return result{presenceEntries(list)}, nil
}

// DELETE /users/{u}/presence ["u1", ...]: unsubscribe.
func (s *Server) unsubscribePresence(c *call) (any, error) {
	var names []string
	if err := s.decodeBody(c, &names); err != nil {
		return nil, err
	}
	if err := s.Social.Unsubscribe(c.ctx(), c.p, c.r.PathValue("username"), names); err != nil {
		return nil, err
	}
	return result{"ok"}, nil
}

// GET /users/{u}/presence/sublist?pageNum=&pageSize=1..500
func (s *Server) presenceSublist(c *call) (any, error) {
	page, err := queryInt(c, "pageNum")
	if err != nil {
		return nil, err
	}
	size, err := queryInt(c, "pageSize")
	if err != nil {
		return nil, err
	}
	if page == 0 {
		page = 1
	}
	if size == 0 {
		size = 100
	}
	list, total, err := s.Social.Subscriptions(c.ctx(), c.p, c.r.PathValue("username"), page, size)
	if err != nil {
		return nil, err
	}
	return result{map[string]any{"totalnum": total, "sublist": list}}, nil
}

// POST /mutes {username, chat?, groupchat?, chatroom?} (seconds; 0 lifts, -1 forever)
func (s *Server) setMute(c *call) (any, error) {
	var b struct {
		Username  string `json:"username"`
		Chat      *int64 `json:"chat"`
		GroupChat *int64 `json:"groupchat"`
		ChatRoom  *int64 `json:"chatroom"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	if err := s.Social.SetMute(c.ctx(), c.p, b.Username, social.MuteDurations{Chat: b.Chat, GroupChat: b.GroupChat, ChatRoom: b.ChatRoom}); err != nil {
		return nil, err
	}
	e := c.env("post", "/mutes")
	e.Data = map[string]string{"result": "ok"}
	return e, nil
}

// GET /mutes/{username}
func (s *Server) getMute(c *call) (any, error) {
	st, err := s.Social.Mute(c.ctx(), c.p, c.r.PathValue("username"))
	if err != nil {
		return nil, err
	}
	e := c.env("get", "/mutes")
	e.Data = st
	return e, nil
}

// GET /mutes?pageNum=&pageSize=1..50
func (s *Server) listMutes(c *call) (any, error) {
	page, err := queryInt(c, "pageNum")
	if err != nil {
		return nil, err
	}
	size, err := queryInt(c, "pageSize")
	if err != nil {
		return nil, err
	}
	if page == 0 {
		page = 1
	}
	if size == 0 {
		size = 10
	}
	list, err := s.Social.Mutes(c.ctx(), c.p, page, size)
	if err != nil {
		return nil, err
	}
	type entry map[string]any
	out := make([]entry, len(list))
	for i, m := range list {
		out[i] = entry{"username": m.User}
		for k, v := range map[string]int64{"chat": m.Chat, "groupchat": m.GroupChat, "chatroom": m.ChatRoom} {
			if v != 0 {
				out[i][k] = v
			}
		}
	}
	e := c.env("get", "/mutes")
	e.Data = map[string]any{"data": out, "unixtime": time.Now().Unix()}
	return e, nil
}
