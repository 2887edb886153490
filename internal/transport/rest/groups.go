package rest

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/messaging"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/protocol"
)

func (s *Server) groupRoutes() {
	if s.Groups == nil {
		return
	}
	g := "/{org}/{app}/chatgroups"
	s.app("POST "+g, s.createGroup)
	s.app("GET "+g, s.listGroups)
	s.app("GET "+g+"/{id}", s.groupDetails)
	s.app("PUT "+g+"/{id}", s.modifyGroup)
	s.app("DELETE "+g+"/{id}", s.dissolveGroup)
	s.app("POST "+g+"/{id}/disable", s.disableGroup)
	s.app("POST "+g+"/{id}/enable", s.disableGroup)
	// One GET pattern for /chatgroups/{x}/{y}: /chatgroups/user/{username}
	// would otherwise collide with /chatgroups/{id}/announcement and the like.
	s.app("GET "+g+"/{id}/{sub}", s.groupGet)
	s.app("GET /{org}/{app}/users/{username}/joined_chatgroups", s.userGroups)
	s.app("GET "+g+"/{id}/user/{username}/is_joined", s.isJoined)
	s.app("POST "+g+"/{id}/user/{username}/is_joined", s.isJoined)
	s.app("POST "+g+"/{id}/announcement", s.setAnnouncement)
	s.app("POST "+g+"/{id}/users", s.addGroupMembers)
	s.app("POST "+g+"/{id}/users/{username}", s.addGroupMembers)
	s.app("DELETE "+g+"/{id}/users/{usernames}", s.removeGroupMembers)
	s.app("POST "+g+"/{id}/admin", s.addGroupAdmin)
	s.app("DELETE "+g+"/{id}/admin/{username}", s.removeGroupAdmin)
	for _, l := range []string{"blocks", "white"} {
		s.app("GET "+g+"/{id}/"+l+"/users", s.groupList)
		s.app("POST "+g+"/{id}/"+l+"/users", s.groupListAdd)
		s.app("POST "+g+"/{id}/"+l+"/users/{username}", s.groupListAdd)
		s.app("DELETE "+g+"/{id}/"+l+"/users/{usernames}", s.groupListRemove)
	}
	s.app("POST "+g+"/{id}/mute", s.groupMute)
	s.app("DELETE "+g+"/{id}/mute/{usernames}", s.groupUnmute)
	s.app("POST "+g+"/{id}/ban", s.groupMuteAll)
	s.app("DELETE "+g+"/{id}/ban", s.groupMuteAll)
	s.app("PUT /{org}/{app}/metadata/chatgroup/{id}/user/{username}", s.setGroupMemberAttrs)
	s.app("GET /{org}/{app}/metadata/chatgroup/{id}/user/{username}", s.getGroupMemberAttrs)
	s.app("PUT /{org}/{app}/metadata/chatgroup/{id}/users/batch", s.batchSetGroupMemberAttrs)
	s.app("POST /{org}/{app}/metadata/chatgroup/{id}/get", s.batchGetGroupMemberAttrs)
	// Client flows (user tokens), at Easemob's SDK paths.
	s.app("POST "+g+"/{id}/apply", s.groupApply)
	s.app("POST "+g+"/{id}/apply_verify", s.groupApplyVerify)
	s.app("POST "+g+"/{id}/invite", s.groupInvite)
	s.app("POST "+g+"/{id}/invite_verify", s.groupInviteVerify)
	s.app("DELETE "+g+"/{id}/quit", s.groupQuit)
	s.app("POST "+g+"/{id}/shield", s.groupShield)
	s.app("DELETE "+g+"/{id}/shield", s.groupShield)
	// Group messages.
	s.app("POST /{org}/{app}/messages/chatgroups", s.sendGroupMessages)
	s.app("POST /{org}/{app}/messages/chatgroups/users", s.sendGroupMessages)
}

// groupGet dispatches GET /chatgroups/{id}/{sub}.
func (s *Server) groupGet(c *call) (any, error) {
	id, sub := c.r.PathValue("id"), c.r.PathValue("sub")
	switch {
	case id == "user":
		c.r.SetPathValue("username", sub)
		return s.userGroups(c)
	case sub == "announcement":
		return s.getAnnouncement(c)
	case sub == "users":
		return s.groupMembers(c)
	case sub == "admin":
		return s.groupAdmins(c)
	case sub == "mute":
		return s.groupMuted(c)
	}
	return nil, errs.New(protocol.ErrNotFound, "no such resource: %s", c.r.URL.Path)
}

type groupBody struct {
	protocol.GroupSettings
	Owner    string   `json:"owner"`
	Members  []string `json:"members"`
	NewOwner *string  `json:"newowner"`
}

// POST /chatgroups
func (s *Server) createGroup(c *call) (any, error) {
	var b groupBody
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	if b.Public == nil {
		return nil, errs.New(protocol.ErrIllegalArgument, "public must be provided")
	}
	g, err := s.Groups.Create(c.ctx(), c.p, b.Owner, b.Members, b.GroupSettings)
	if err != nil {
		return nil, err
	}
	e := c.env("post", "/chatgroups")
	e.Data = map[string]string{"groupid": strconv.FormatInt(g.ID, 10)}
	return e, nil
}

// GET /chatgroups?limit=1..1000&cursor= (app token)
func (s *Server) listGroups(c *call) (any, error) {
	limit, err := queryInt(c, "limit")
	if err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = 10
	}
	page, err := s.Groups.List(c.ctx(), c.p, c.r.URL.Query().Get("cursor"), limit)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(page.Groups))
	for i, g := range page.Groups {
		out[i] = map[string]any{"owner": g.Owner, "groupid": g.ID, "affiliations": g.Count, "type": "group",
			"lastModified": g.Created, "groupname": g.Name}
	}
	e := c.env("get", "/chatgroups")
	e.Data, e.Cursor, e.Count = out, page.Cursor, count(len(out))
	return e, nil
}

// GET /chatgroups/{id1,id2,...}
func (s *Server) groupDetails(c *call) (any, error) {
	found, missing, err := s.Groups.Details(c.ctx(), c.p, strings.Split(c.r.PathValue("id"), ","))
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, errs.New(protocol.ErrGroupNotFound, "group id doesn't exist: %s", strings.Join(missing, ","))
	}
	e := c.env("get", "/chatgroups")
	e.Data, e.Count = found, count(len(found))
	if len(missing) > 0 {
		e.Failed = map[string]string{}
		for _, m := range missing {
			e.Failed[m] = "group id doesn't exist"
		}
	}
	return e, nil
}

// PUT /chatgroups/{id}: settings, or {newowner}.
func (s *Server) modifyGroup(c *call) (any, error) {
	var b groupBody
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	e := c.env("put", "/chatgroups")
	if b.NewOwner != nil {
		if err := s.Groups.Transfer(c.ctx(), c.p, c.r.PathValue("id"), *b.NewOwner); err != nil {
			return nil, err
		}
		e.Data = map[string]bool{"newowner": true}
		return e, nil
	}
	changed, err := s.Groups.Modify(c.ctx(), c.p, c.r.PathValue("id"), b.GroupSettings)
	if err != nil {
		return nil, err
	}
	data := map[string]bool{}
	for _, f := range changed {
		data[f] = true
	}
	e.Data = data
	return e, nil
}

// DELETE /chatgroups/{id}
func (s *Server) dissolveGroup(c *call) (any, error) {
	if err := s.Groups.Dissolve(c.ctx(), c.p, c.r.PathValue("id")); err != nil {
		return nil, err
	}
	e := c.env("delete", "/chatgroups")
	e.Data = map[string]any{"success": true, "groupid": c.r.PathValue("id")}
	return e, nil
}

// POST /chatgroups/{id}/disable|enable
func (s *Server) disableGroup(c *call) (any, error) {
	disabled := strings.HasSuffix(c.r.URL.Path, "/disable")
	if err := s.Groups.SetDisabled(c.ctx(), c.p, c.r.PathValue("id"), disabled); err != nil {
		return nil, err
	}
	e := c.env("post", "/chatgroups")
	e.Data = map[string]bool{"disabled": disabled}
	return e, nil
}

// GET /chatgroups/user/{username}?pagesize=&pagenum=
func (s *Server) userGroups(c *call) (any, error) {
	size, err := queryInt(c, "pagesize")
	if err != nil {
		return nil, err
	}
	num, err := queryInt(c, "pagenum")
	if err != nil {
		return nil, err
	}
	if size == 0 {
		size = 5
	}
	if num == 0 {
		num = 1
	}
	list, total, err := s.Groups.OfUser(c.ctx(), c.p, c.r.PathValue("username"), num, size)
	if err != nil {
		return nil, err
	}
	out := make([]any, len(list))
	for i, g := range list {
		out[i] = map[string]any{"groupId": g.ID, "name": g.Name, "avatar": g.Avatar, "owner": g.Owner, "description": g.Description,
			"disabled": g.Disabled, "public": g.Public, "allowinvites": g.AllowInvites, "membersonly": g.MembersOnly,
			"maxusers": g.MaxUsers, "created": g.Created}
	}
	e := c.env("get", "/chatgroups")
	e.Entities = out
	return map[string]any{"action": e.Action, "uri": e.URI, "entities": out, "total": total, "timestamp": e.Timestamp,
		"duration": e.Duration, "organization": e.Organization, "applicationName": e.ApplicationName}, nil
}

// GET /chatgroups/{id}/user/{username}/is_joined
func (s *Server) isJoined(c *call) (any, error) {
	ok, err := s.Groups.IsJoined(c.ctx(), c.p, c.r.PathValue("id"), c.r.PathValue("username"))
	if err != nil {
		return nil, err
	}
	e := c.env("get", "/chatgroups")
	e.Data = ok
	return e, nil
}

func (s *Server) getAnnouncement(c *call) (any, error) {
	text, err := s.Groups.Announcement(c.ctx(), c.p, c.r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	e := c.env("get", "/chatgroups")
	e.Data = map[string]string{"announcement": text}
	return e, nil
}

func (s *Server) setAnnouncement(c *call) (any, error) {
	var b struct {
		Announcement *string `json:"announcement"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	if b.Announcement == nil {
		return nil, errs.New(protocol.ErrIllegalArgument, "announcement must be provided")
	}
	if err := s.Groups.SetAnnouncement(c.ctx(), c.p, c.r.PathValue("id"), *b.Announcement); err != nil {
		return nil, err
	}
	e := c.env("post", "/chatgroups")
	e.Data = map[string]any{"id": c.r.PathValue("id"), "result": true}
	return e, nil
}

// GET /chatgroups/{id}/users?pagenum=&pagesize=1..1000, or ?limit=&cursor=
func (s *Server) groupMembers(c *call) (any, error) {
	q := c.r.URL.Query()
	size, err := queryInt(c, "pagesize")
	if err != nil {
		return nil, err
	}
	num, err := queryInt(c, "pagenum")
	if err != nil {
		return nil, err
	}
	limit, err := queryInt(c, "limit")
	if err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = 1000
	}
	cursor, skip := q.Get("cursor"), 0
	if size > 0 || num > 0 {
		if size == 0 {
			size = 1000
		}
		if num == 0 {
			num = 1
		}
		if size < 1 || size > 1000 || num < 1 || num > 10_000 {
			return nil, errs.New(protocol.ErrIllegalArgument, "pagesize must be 1..1000 and pagenum ≥1")
		}
		limit, skip = size*num, size*(num-1)
	}
	var all []protocol.GroupMember
	for len(all) < limit {
		ms, next, err := s.Groups.Members(c.ctx(), c.p, c.r.PathValue("id"), cursor, min(1000, limit-len(all)))
		if err != nil {
			return nil, err
		}
		all = append(all, ms...)
		if cursor = next; next == "" {
			break
		}
	}
	if skip > len(all) {
		skip = len(all)
	}
	out := []map[string]string{}
	for _, m := range all[skip:] {
		out = append(out, map[string]string{m.Role: m.User})
	}
	e := c.env("get", "/chatgroups")
	e.Data, e.Count = out, count(len(out))
	if size == 0 {
		e.Cursor = cursor
	}
	return e, nil
}

// usernamesOf reads {usernames: [...]} from the body, or the path's
// {username} / comma-separated {usernames}.
func (s *Server) usernamesOf(c *call) ([]string, error) {
	if one := c.r.PathValue("username"); one != "" {
		return []string{one}, nil
	}
	if list := c.r.PathValue("usernames"); list != "" {
		return strings.Split(list, ","), nil
	}
	var b usernamesBody
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	return b.Usernames, nil
}

func memberResults(groupID, action string, users []string) []map[string]any {
	out := make([]map[string]any, len(users))
	for i, u := range users {
		out[i] = map[string]any{"result": true, "action": action, "user": u, "groupid": groupID}
	}
	return out
}

// POST /chatgroups/{id}/users {usernames} or /users/{username}
func (s *Server) addGroupMembers(c *call) (any, error) {
	names, err := s.usernamesOf(c)
	if err != nil {
		return nil, err
	}
	added, err := s.Groups.AddMembers(c.ctx(), c.p, c.r.PathValue("id"), names)
	if err != nil {
		return nil, err
	}
	e := c.env("post", "/chatgroups")
	e.Data = map[string]any{"newmembers": added, "groupid": c.r.PathValue("id"), "action": "add_member"}
	return e, nil
}

// DELETE /chatgroups/{id}/users/{u1,u2}
func (s *Server) removeGroupMembers(c *call) (any, error) {
	names, _ := s.usernamesOf(c)
	removed, err := s.Groups.RemoveMembers(c.ctx(), c.p, c.r.PathValue("id"), names)
	if err != nil {
		return nil, err
	}
	e := c.env("delete", "/chatgroups")
	e.Data = memberResults(c.r.PathValue("id"), "remove_member", removed)
	return e, nil
}

func (s *Server) groupAdmins(c *call) (any, error) {
	list, err := s.Groups.Admins(c.ctx(), c.p, c.r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	e := c.env("get", "/chatgroups")
	e.Data, e.Count = list, count(len(list))
	return e, nil
}

func (s *Server) addGroupAdmin(c *call) (any, error) {
	var b struct {
		NewAdmin string `json:"newadmin"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	if err := s.Groups.SetAdmins(c.ctx(), c.p, c.r.PathValue("id"), []string{b.NewAdmin}, true); err != nil {
		return nil, err
	}
	e := c.env("post", "/chatgroups")
	e.Data = map[string]string{"result": "success", "newadmin": b.NewAdmin}
	return e, nil
}

func (s *Server) removeGroupAdmin(c *call) (any, error) {
	name := c.r.PathValue("username")
	if err := s.Groups.SetAdmins(c.ctx(), c.p, c.r.PathValue("id"), []string{name}, false); err != nil {
		return nil, err
	}
	e := c.env("delete", "/chatgroups")
	e.Data = map[string]string{"result": "success", "oldadmin": name}
	return e, nil
}

func listKind(c *call) (string, string) {
	if strings.Contains(c.r.URL.Path, "/white/") {
		return store.ListAllow, "user_whitelist"
	}
	return store.ListBlock, "blocks"
}

func (s *Server) groupList(c *call) (any, error) {
	kind, _ := listKind(c)
	list, err := s.Groups.ListRead(c.ctx(), c.p, c.r.PathValue("id"), kind)
	if err != nil {
		return nil, err
	}
	e := c.env("get", "/chatgroups")
	e.Data, e.Count = list, count(len(list))
	return e, nil
}

func (s *Server) groupListAdd(c *call) (any, error) {
	return s.groupListChange(c, true)
}

func (s *Server) groupListRemove(c *call) (any, error) {
	return s.groupListChange(c, false)
}

func (s *Server) groupListChange(c *call, add bool) (any, error) {
	kind, name := listKind(c)
	names, err := s.usernamesOf(c)
	if err != nil {
		return nil, err
	}
	done, err := s.Groups.ListChange(c.ctx(), c.p, c.r.PathValue("id"), kind, names, add)
	if err != nil {
		return nil, err
	}
	action := "add_" + name
	if !add {
		action = "remove_" + name
	}
	e := c.env(map[bool]string{true: "post", false: "delete"}[add], "/chatgroups")
	e.Data = memberResults(c.r.PathValue("id"), action, done)
	return e, nil
}

func (s *Server) groupMuted(c *call) (any, error) {
	list, err := s.Groups.Muted(c.ctx(), c.p, c.r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(list))
	for i, m := range list {
		out[i] = map[string]any{"user": m.User, "expire": m.MuteUntil}
	}
	e := c.env("get", "/chatgroups")
	e.Data = out
	return e, nil
}

// POST /chatgroups/{id}/mute {usernames, mute_duration (ms)}
func (s *Server) groupMute(c *call) (any, error) {
	var b struct {
		Usernames    []string `json:"usernames"`
		MuteDuration int64    `json:"mute_duration"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	if b.MuteDuration <= 0 {
		return nil, errs.New(protocol.ErrIllegalArgument, "mute_duration must be positive milliseconds")
	}
	until, err := s.Groups.Mute(c.ctx(), c.p, c.r.PathValue("id"), b.Usernames, time.Duration(b.MuteDuration)*time.Millisecond)
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(b.Usernames))
	for i, u := range b.Usernames {
		out[i] = map[string]any{"result": true, "expire": until, "user": u}
	}
	e := c.env("post", "/chatgroups")
	e.Data = out
	return e, nil
}

// DELETE /chatgroups/{id}/mute/{u1,u2}
func (s *Server) groupUnmute(c *call) (any, error) {
	names, _ := s.usernamesOf(c)
	if _, err := s.Groups.Mute(c.ctx(), c.p, c.r.PathValue("id"), names, 0); err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(names))
	for i, u := range names {
		out[i] = map[string]any{"result": true, "user": u}
	}
	e := c.env("delete", "/chatgroups")
	e.Data = out
	return e, nil
}

// POST (on) or DELETE (off) /chatgroups/{id}/ban: mute all.
func (s *Server) groupMuteAll(c *call) (any, error) {
	on := c.r.Method == "POST"
	if err := s.Groups.MuteAll(c.ctx(), c.p, c.r.PathValue("id"), on); err != nil {
		return nil, err
	}
	e := c.env(strings.ToLower(c.r.Method), "/chatgroups")
	e.Data = map[string]bool{"mute": on}
	return e, nil
}

func (s *Server) setGroupMemberAttrs(c *call) (any, error) {
	var b struct {
		MetaData map[string]string `json:"metaData"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	attrs, err := s.Groups.SetMemberAttrs(c.ctx(), c.p, c.r.PathValue("id"), c.r.PathValue("username"), b.MetaData)
	if err != nil {
		return nil, err
	}
	return c.data(attrs), nil
}

func (s *Server) getGroupMemberAttrs(c *call) (any, error) {
	attrs, err := s.Groups.MemberAttrs(c.ctx(), c.p, c.r.PathValue("id"), c.r.PathValue("username"))
	if err != nil {
		return nil, err
	}
	return c.data(attrs), nil
}

// PUT /metadata/chatgroup/{id}/users/batch [{username, metadata}] (≤20)
func (s *Server) batchSetGroupMemberAttrs(c *call) (any, error) {
	var b []struct {
		Username string            `json:"username"`
		Metadata map[string]string `json:"metadata"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	if len(b) == 0 || len(b) > 20 {
		return nil, errs.New(protocol.ErrIllegalArgument, "give 1..20 members")
	}
	if c.p.Anonymous() {
		// Not a per-member failure: nobody may try without a token.
		return nil, errs.New(protocol.ErrUnauthorized, "this call needs a token")
	}
	ok, failed := []string{}, []map[string]string{}
	for _, m := range b {
		if _, err := s.Groups.SetMemberAttrs(c.ctx(), c.p, c.r.PathValue("id"), m.Username, m.Metadata); err != nil {
			reason := "internal error"
			if e, isDomain := errs.As(err); isDomain {
				reason = e.Description
			}
			failed = append(failed, map[string]string{"username": m.Username, "reason": reason})
			continue
		}
		ok = append(ok, m.Username)
	}
	return c.data(map[string]any{"updateMetadataSucceeded": ok, "updateMetadataFailed": failed}), nil
}

// POST /metadata/chatgroup/{id}/get {targets: [≤10], properties?: [keys]}
func (s *Server) batchGetGroupMemberAttrs(c *call) (any, error) {
	var b struct {
		Targets    []string `json:"targets"`
		Properties []string `json:"properties"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	if len(b.Targets) == 0 || len(b.Targets) > 10 {
		return nil, errs.New(protocol.ErrIllegalArgument, "targets must list 1..10 members")
	}
	out := map[string]map[string]string{}
	for _, u := range b.Targets {
		attrs, err := s.Groups.MemberAttrs(c.ctx(), c.p, c.r.PathValue("id"), u)
		if err != nil {
			return nil, err
		}
		if len(b.Properties) > 0 {
			kept := map[string]string{}
			for _, k := range b.Properties {
				if v, ok := attrs[k]; ok {
					kept[k] = v
				}
			}
			attrs = kept
		}
		out[strings.ToLower(u)] = attrs
	}
	return c.data(out), nil
}

// POST /chatgroups/{id}/apply {message} (the applicant's token)
func (s *Server) groupApply(c *call) (any, error) {
	var b struct {
		Message  string `json:"message"`
		Nickname string `json:"nickname"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	joined, err := s.Groups.Apply(c.ctx(), c.p, c.r.PathValue("id"), b.Message)
	if err != nil {
		return nil, err
	}
	return c.data(map[string]any{"result": "ok", "joined": joined}), nil
}

// POST /chatgroups/{id}/apply_verify {applicant, verifyResult, reason}
func (s *Server) groupApplyVerify(c *call) (any, error) {
	var b struct {
		Applicant    string `json:"applicant"`
		VerifyResult bool   `json:"verifyResult"`
		Reason       string `json:"reason"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	if err := s.Groups.AnswerApply(c.ctx(), c.p, c.r.PathValue("id"), b.Applicant, b.VerifyResult, b.Reason); err != nil {
		return nil, err
	}
	return c.data(map[string]string{"result": "ok"}), nil
}

// POST /chatgroups/{id}/invite {usernames, welcome}
func (s *Server) groupInvite(c *call) (any, error) {
	var b struct {
		Usernames []string `json:"usernames"`
		Welcome   string   `json:"welcome"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	added, err := s.Groups.Invite(c.ctx(), c.p, c.r.PathValue("id"), b.Usernames, b.Welcome)
	if err != nil {
		return nil, err
	}
	return c.data(map[string]any{"result": "ok", "newmembers": added}), nil
}

// POST /chatgroups/{id}/invite_verify {invitee, verifyResult, reason}
func (s *Server) groupInviteVerify(c *call) (any, error) {
	var b struct {
		Invitee      string `json:"invitee"`
		VerifyResult bool   `json:"verifyResult"`
		Reason       string `json:"reason"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	if c.p.Anonymous() {
		return nil, errs.New(protocol.ErrUnauthorized, "this call needs the invitee's token")
	}
	if b.Invitee != "" && !c.p.IsUser(b.Invitee) {
		return nil, errs.New(protocol.ErrForbidden, "invitations are answered with the invitee's own token")
	}
	if err := s.Groups.AnswerInvite(c.ctx(), c.p, c.r.PathValue("id"), b.VerifyResult, b.Reason); err != nil {
		return nil, err
	}
	return c.data(map[string]string{"result": "ok"}), nil
}

// DELETE /chatgroups/{id}/quit
func (s *Server) groupQuit(c *call) (any, error) {
	if err := s.Groups.Quit(c.ctx(), c.p, c.r.PathValue("id")); err != nil {
		return nil, err
	}
	return c.data(map[string]string{"result": "ok"}), nil
}

// POST (on) or DELETE (off) /chatgroups/{id}/shield
func (s *Server) groupShield(c *call) (any, error) {
	if err := s.Groups.Shield(c.ctx(), c.p, c.r.PathValue("id"), c.r.Method == "POST"); err != nil {
		return nil, err
	}
	return c.data(map[string]string{"result": "ok"}), nil
}

// POST /messages/chatgroups {from?, to: [≤3 groups], type, body, ext?, need_group_ack?, routetype?}
func (s *Server) sendGroupMessages(c *call) (any, error) {
	var b struct {
		From         *string         `json:"from"`
		To           []string        `json:"to"`
		Type         string          `json:"type"`
		Body         json.RawMessage `json:"body"`
		Ext          json.RawMessage `json:"ext"`
		NeedGroupAck bool            `json:"need_group_ack"`
		RouteType    string          `json:"routetype"`
		Users        []string        `json:"users"`
	}
	if err := s.decodeBody(c, &b); err != nil {
		return nil, err
	}
	directed := strings.HasSuffix(c.r.URL.Path, "/users")
	switch {
	case directed && (len(b.To) != 1 || len(b.Users) == 0):
		return nil, errs.New(protocol.ErrIllegalArgument, "a directed message goes to one group (to) and 1..20 of its members (users)")
	case !directed && len(b.Users) > 0:
		return nil, errs.New(protocol.ErrIllegalArgument, "users is for POST /messages/chatgroups/users")
	case len(b.To) == 0 || len(b.To) > 3:
		return nil, errs.New(protocol.ErrIllegalArgument, "to must list 1..3 groups")
	}
	from := ""
	if b.From != nil {
		if *b.From == "" {
			return nil, errs.New(protocol.ErrIllegalArgument, "from may not be empty")
		}
		from = *b.From
	}
	if b.RouteType != "" && b.RouteType != protocol.RouteOnline {
		return nil, errs.New(protocol.ErrIllegalArgument, "routetype must be %s or absent", protocol.RouteOnline)
	}
	results, err := s.Messages.SendAs(c.ctx(), c.p, from, b.To, messaging.SendRequest{ChatType: protocol.ChatTypeGroup,
		Type: b.Type, Body: b.Body, Ext: b.Ext, NeedGroupAck: b.NeedGroupAck, Users: b.Users,
		RouteOnline: b.RouteType == protocol.RouteOnline})
	if err != nil {
		return nil, err
	}
	e := c.env("post", "/messages/chatgroups")
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
