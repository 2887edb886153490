package groups

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// add adds users as members (skipping blocked ones is the caller's job),
// appending a member_joined notice. It returns who was added.
func (s *Service) add(ctx context.Context, grp *cached, by *tenant.Principal, ids []int64, names []string) ([]int64, error) {
	g := grp.g
	now := s.now().UnixMilli()
	ms := make([]store.GroupMember, len(ids))
	for i, id := range ids {
		ms[i] = store.GroupMember{UserID: id, Role: store.RoleMember, Joined: now}
	}
	byName := by.Username
	if by.Admin {
		byName = ""
	}
	var joining []string // the notice names those not members already
	for i, id := range ids {
		if grp.roles[id] == "" {
			joining = append(joining, names[i])
		}
	}
	n := s.notice(&g, by.UserID, NoticeJoined, map[string]any{"users": joining, "by": byName})
	added, err := s.st.Groups().AddMembers(ctx, &g, ms, s.ids.Next(), n)
	if errors.Is(err, store.ErrConflict) {
		return nil, errs.New(protocol.ErrGroupFull, "the group is full: maxusers is %d", g.MaxUsers)
	}
	if err != nil {
		return nil, err
	}
	s.forget(g.ID)
	if len(added) > 0 {
		s.announce(ctx, &g, n)
	}
	return added, nil
}

// checkJoinable refuses users on the group's block list.
func (s *Service) checkJoinable(ctx context.Context, g *store.Group, ids []int64, names []string) error {
	for i, id := range ids {
		blocked, err := s.st.Groups().InList(ctx, g.ID, store.ListBlock, id)
		if err != nil {
			return err
		}
		if blocked {
			return errs.New(protocol.ErrGroupBlocked, "%s is on the group's block list", names[i])
		}
	}
	return nil
}

// AddMembers adds users at once: the app token, or an owner or admin
// (invitations that need no confirmation). Use Invite for the flow with
// the invitee's consent.
func (s *Service) AddMembers(ctx context.Context, p *tenant.Principal, id string, usernames []string) ([]string, error) {
	grp, c, err := s.group(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if err := requireAdmin(c); err != nil {
		return nil, err
	}
	ids, names, err := s.resolve(ctx, p.App, usernames)
	if err != nil {
		return nil, err
	}
	if err := s.checkJoinable(ctx, &grp.g, ids, names); err != nil {
		return nil, err
	}
	added, err := s.add(ctx, grp, p, ids, names)
	if err != nil {
		return nil, err
	}
	return s.nameList(ctx, p.App.ID, added)
}

// RemoveMembers removes members (kick): the owner removes anyone but
// themself, admins remove plain members, the app token anyone but the
// owner. The removed users get a group_removed event.
func (s *Service) RemoveMembers(ctx context.Context, p *tenant.Principal, id string, usernames []string) ([]string, error) {
	grp, c, err := s.group(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if err := requireAdmin(c); err != nil {
		return nil, err
	}
	ids, names, err := s.resolve(ctx, p.App, usernames)
	if err != nil {
		return nil, err
	}
	for i, uid := range ids {
		switch role := grp.roles[uid]; {
		case role == "":
			return nil, errs.New(protocol.ErrNotGroupMember, "%s is not a member of the group", names[i])
		case role == store.RoleOwner:
			return nil, errs.New(protocol.ErrGroupForbidden, "the owner cannot be removed; transfer the group first")
		case role == store.RoleAdmin && c.role != store.RoleOwner:
			return nil, errs.New(protocol.ErrGroupForbidden, "only the owner may remove an admin")
		}
	}
	return s.remove(ctx, grp, p, ids, names, NoticeRemoved)
}

func (s *Service) remove(ctx context.Context, grp *cached, p *tenant.Principal, ids []int64, names []string, typ string) ([]string, error) {
	g := grp.g
	n := s.notice(&g, p.UserID, typ, map[string]any{"users": names, "by": p.Username})
	removed, err := s.st.Groups().RemoveMembers(ctx, &g, ids, n)
	if err != nil {
		return nil, err
	}
	s.forget(g.ID)
	if len(removed) == 0 {
		return []string{}, nil
	}
	s.announce(ctx, &g, n)
	kind := protocol.EventGroupLeft // removed users no longer see the stream: tell them
	if typ == NoticeRemoved {
		kind = protocol.EventGroupRemoved
	}
	s.social.Emit(ctx, g.AppID, "", removed, protocol.Event{Kind: kind, Group: strconv.FormatInt(g.ID, 10), From: p.Username})
	return s.nameList(ctx, p.App.ID, removed)
}

// Quit leaves a group (the owner must transfer it or dissolve it first).
func (s *Service) Quit(ctx context.Context, p *tenant.Principal, id string) error {
	grp, c, err := s.group(ctx, p, id)
	if err != nil {
		return err
	}
	if p.Admin {
		return errs.New(protocol.ErrForbidden, "quitting needs the user's token")
	}
	switch c.role {
	case "":
		return errs.New(protocol.ErrNotGroupMember, "you are not a member of the group")
	case store.RoleOwner:
		return errs.New(protocol.ErrGroupForbidden, "the owner cannot quit: transfer the group or dissolve it")
	}
	_, err = s.remove(ctx, grp, p, []int64{p.UserID}, []string{p.Username}, NoticeLeft)
	return err
}

// Apply asks to join (a user). A public group without membersonly lets the
// user in at once (joined reports it); otherwise the owner and admins get a
// group_apply event and decide with AnswerApply. Private groups accept no
// applications.
func (s *Service) Apply(ctx context.Context, p *tenant.Principal, id, reason string) (joined bool, err error) {
	grp, c, err := s.group(ctx, p, id)
	if err != nil {
		return false, err
	}
	if p.Admin {
		return false, errs.New(protocol.ErrForbidden, "applying needs the user's token")
	}
	if c.role != "" {
		return true, nil
	}
	if err := checkText("reason", reason, MaxReasonChars); err != nil {
		return false, err
	}
	g := grp.g
	if !g.Public {
		return false, errs.New(protocol.ErrGroupForbidden, "the group is private: members join by invitation")
	}
	if err := s.checkJoinable(ctx, &g, []int64{p.UserID}, []string{p.Username}); err != nil {
		return false, err
	}
	if !g.MembersOnly {
		_, err := s.add(ctx, grp, p, []int64{p.UserID}, []string{p.Username})
		return err == nil, err
	}
	if err := s.st.Groups().PutRequest(ctx, store.GroupRequest{GroupID: g.ID, UserID: p.UserID, Kind: store.RequestApply,
		Reason: reason, Created: s.now().UnixMilli()}); err != nil {
		return false, err
	}
	s.social.Emit(ctx, p.App.ID, "", grp.admins(), protocol.Event{Kind: protocol.EventGroupApply, Group: id,
		From: p.Username, Reason: reason})
	return false, nil
}

// admins lists the owner and admins.
func (c *cached) admins() []int64 {
	var out []int64
	for u, r := range c.roles {
		if r == store.RoleOwner || r == store.RoleAdmin {
			out = append(out, u)
		}
	}
	return out
}

// AnswerApply accepts or declines an application (owner, admins, app
// token). The applicant gets group_apply_accepted or _declined.
func (s *Service) AnswerApply(ctx context.Context, p *tenant.Principal, id, applicant string, accept bool, reason string) error {
	grp, c, err := s.group(ctx, p, id)
	if err != nil {
		return err
	}
	if err := requireAdmin(c); err != nil {
		return err
	}
	uid, uname, err := s.users.Resolve(ctx, p.App, applicant)
	if err != nil {
		return err
	}
	if _, err := s.st.Groups().TakeRequest(ctx, grp.g.ID, uid, store.RequestApply); errors.Is(err, store.ErrNotFound) {
		return errs.New(protocol.ErrRequestNotFound, "no pending application from %s", uname)
	} else if err != nil {
		return err
	}
	kind := protocol.EventGroupApplyDeclined
	if accept {
		kind = protocol.EventGroupApplyAccepted
		if _, err := s.add(ctx, grp, p, []int64{uid}, []string{uname}); err != nil {
			return err
		}
	}
	s.social.Emit(ctx, p.App.ID, "", []int64{uid}, protocol.Event{Kind: kind, Group: id, From: p.Username, Reason: reason})
	return nil
}

// Invite invites users (owner, admins, or any member when allowinvites).
// With invite_need_confirm the invitees get a group_invite event and
// decide with AnswerInvite; without it they join at once. It returns the
// users added at once.
func (s *Service) Invite(ctx context.Context, p *tenant.Principal, id string, usernames []string, reason string) ([]string, error) {
	grp, c, err := s.group(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if !c.admin() && !(c.role != "" && grp.g.AllowInvites) {
		return nil, errs.New(protocol.ErrGroupForbidden, "only the owner and admins may invite (or members, when allowinvites)")
	}
	if err := checkText("reason", reason, MaxReasonChars); err != nil {
		return nil, err
	}
	ids, names, err := s.resolve(ctx, p.App, usernames)
	if err != nil {
		return nil, err
	}
	if err := s.checkJoinable(ctx, &grp.g, ids, names); err != nil {
		return nil, err
	}
	if !grp.g.InviteNeedConfirm || p.Admin {
		added, err := s.add(ctx, grp, p, ids, names)
		if err != nil {
			return nil, err
		}
		return s.nameList(ctx, p.App.ID, added)
	}
	now := s.now().UnixMilli()
	var pending []int64
	for _, uid := range ids {
		if grp.roles[uid] != "" {
			continue
		}
		if err := s.st.Groups().PutRequest(ctx, store.GroupRequest{GroupID: grp.g.ID, UserID: uid, Kind: store.RequestInvite,
			Inviter: p.UserID, Reason: reason, Created: now}); err != nil {
			return nil, err
		}
		pending = append(pending, uid)
	}
	s.social.Emit(ctx, p.App.ID, "", pending, protocol.Event{Kind: protocol.EventGroupInvite, Group: id, From: p.Username,
		Reason: reason, Name: grp.g.Name})
	return []string{}, nil
}

// AnswerInvite accepts or declines an invitation (the invitee). The
// inviter gets group_invite_accepted or _declined.
func (s *Service) AnswerInvite(ctx context.Context, p *tenant.Principal, id string, accept bool, reason string) error {
	grp, _, err := s.group(ctx, p, id)
	if err != nil {
		return err
	}
	if p.Admin {
		return errs.New(protocol.ErrForbidden, "answering an invitation needs the invitee's token")
	}
	r, err := s.st.Groups().TakeRequest(ctx, grp.g.ID, p.UserID, store.RequestInvite)
	if errors.Is(err, store.ErrNotFound) {
		return errs.New(protocol.ErrRequestNotFound, "no pending invitation to this group")
	}
	if err != nil {
		return err
	}
	kind := protocol.EventGroupInviteDeclined
	if accept {
		kind = protocol.EventGroupInviteAccepted
		if err := s.checkJoinable(ctx, &grp.g, []int64{p.UserID}, []string{p.Username}); err != nil {
			return err
		}
		if _, err := s.add(ctx, grp, p, []int64{p.UserID}, []string{p.Username}); err != nil {
			return err
		}
	}
	if r.Inviter != 0 {
		s.social.Emit(ctx, p.App.ID, "", []int64{r.Inviter}, protocol.Event{Kind: kind, Group: id, From: p.Username, Reason: reason})
	}
	return nil
}

// Member is one member as listed.
type Member = protocol.GroupMember

// Members pages through a group's members by user ID (members, app token;
// anyone for a public group). The cursor is the last user's ID.
func (s *Service) Members(ctx context.Context, p *tenant.Principal, id, cursor string, limit int) ([]Member, string, error) {
	grp, c, err := s.group(ctx, p, id)
	if err != nil {
		return nil, "", err
	}
	if c.role == "" && !grp.g.Public {
		return nil, "", errs.New(protocol.ErrNotGroupMember, "only members may list a private group's members")
	}
	if limit < 1 || limit > 1000 {
		return nil, "", errs.New(protocol.ErrIllegalArgument, "limit must be 1..1000")
	}
	var after int64
	if cursor != "" {
		if after, err = strconv.ParseInt(cursor, 10, 64); err != nil || after < 0 {
			return nil, "", errs.New(protocol.ErrIllegalArgument, "cursor %q is not one this server issued", cursor)
		}
	}
	ms, err := s.st.Groups().Members(ctx, grp.g.ID, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(ms) > limit {
		ms = ms[:limit]
		next = strconv.FormatInt(ms[limit-1].UserID, 10)
	}
	ids := make([]int64, len(ms))
	for i, m := range ms {
		ids[i] = m.UserID
	}
	names, err := s.names(ctx, p.App.ID, ids)
	if err != nil {
		return nil, "", err
	}
	now := s.now().UnixMilli()
	out := make([]Member, 0, len(ms))
	for _, m := range ms {
		if n, ok := names[m.UserID]; ok {
			mm := Member{User: n, Role: m.Role, Joined: m.Joined, Attrs: m.Attrs}
			if m.MuteUntil > now {
				mm.MuteUntil = m.MuteUntil
			}
			out = append(out, mm)
		}
	}
	return out, next, nil
}

// SetAdmins promotes (true) or demotes members (the owner or app token);
// owner and admins are at most MaxAdmins.
func (s *Service) SetAdmins(ctx context.Context, p *tenant.Principal, id string, usernames []string, admin bool) error {
	grp, c, err := s.group(ctx, p, id)
	if err != nil {
		return err
	}
	if err := requireOwner(c); err != nil {
		return err
	}
	ids, names, err := s.resolve(ctx, p.App, usernames)
	if err != nil {
		return err
	}
	role, typ := store.RoleMember, NoticeAdminRemoved
	if admin {
		role, typ = store.RoleAdmin, NoticeAdminAdded
	}
	for i, uid := range ids {
		switch r := grp.roles[uid]; {
		case r == "":
			return errs.New(protocol.ErrNotGroupMember, "%s is not a member of the group", names[i])
		case r == store.RoleOwner:
			return errs.New(protocol.ErrGroupForbidden, "the owner's role does not change this way; transfer the group")
		}
	}
	if admin && len(grp.admins())+len(ids) > MaxAdmins {
		return errs.New(protocol.ErrGroupFull, "a group has at most %d owner and admins", MaxAdmins)
	}
	g := grp.g
	n := s.notice(&g, p.UserID, typ, map[string]any{"users": names, "by": p.Username})
	if err := s.st.Groups().SetRole(ctx, g.ID, ids, role, n); err != nil {
		return err
	}
	s.forget(g.ID)
	s.announce(ctx, &g, n)
	return nil
}

// Admins lists the group's admins (not the owner).
func (s *Service) Admins(ctx context.Context, p *tenant.Principal, id string) ([]string, error) {
	grp, c, err := s.group(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if c.role == "" && !grp.g.Public {
		return nil, errs.New(protocol.ErrNotGroupMember, "only members may list a private group's admins")
	}
	var ids []int64
	for u, r := range grp.roles {
		if r == store.RoleAdmin {
			ids = append(ids, u)
		}
	}
	return s.nameList(ctx, p.App.ID, ids)
}

// Mute mutes members for a duration (owner, admins, app token; admins mute
// plain members only; the owner cannot be muted). 0 unmutes.
func (s *Service) Mute(ctx context.Context, p *tenant.Principal, id string, usernames []string, d time.Duration) (int64, error) {
	grp, c, err := s.group(ctx, p, id)
	if err != nil {
		return 0, err
	}
	if err := requireAdmin(c); err != nil {
		return 0, err
	}
	if d < 0 || d > 100*365*24*time.Hour {
		return 0, errs.New(protocol.ErrIllegalArgument, "mute_duration must be positive milliseconds")
	}
	ids, names, err := s.resolve(ctx, p.App, usernames)
	if err != nil {
		return 0, err
	}
	for i, uid := range ids {
		switch r := grp.roles[uid]; {
		case r == "":
			return 0, errs.New(protocol.ErrNotGroupMember, "%s is not a member of the group", names[i])
		case r == store.RoleOwner:
			return 0, errs.New(protocol.ErrGroupForbidden, "the owner cannot be muted")
		case r == store.RoleAdmin && c.role != store.RoleOwner:
			return 0, errs.New(protocol.ErrGroupForbidden, "only the owner may mute an admin")
		}
	}
	var until int64
	typ := NoticeUnmuted
	if d > 0 {
		until, typ = s.now().Add(d).UnixMilli(), NoticeMuted
	}
	g := grp.g
	n := s.notice(&g, p.UserID, typ, map[string]any{"users": names, "until": until, "by": p.Username})
	if err := s.st.Groups().SetMute(ctx, g.ID, ids, until, n); err != nil {
		return 0, err
	}
	s.forget(g.ID)
	s.announce(ctx, &g, n)
	return until, nil
}

// Muted lists members muted now, with when their mute ends.
func (s *Service) Muted(ctx context.Context, p *tenant.Principal, id string) ([]Member, error) {
	grp, c, err := s.group(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if err := requireAdmin(c); err != nil {
		return nil, err
	}
	ms, err := s.st.Groups().Muted(ctx, grp.g.ID, s.now().UnixMilli())
	if err != nil {
		return nil, err
	}
	ids := make([]int64, len(ms))
	for i, m := range ms {
		ids[i] = m.UserID
	}
	names, err := s.names(ctx, p.App.ID, ids)
	if err != nil {
		return nil, err
	}
	out := []Member{}
	for _, m := range ms {
		out = append(out, Member{User: names[m.UserID], Role: m.Role, MuteUntil: m.MuteUntil})
	}
	return out, nil
}

// MuteAll turns mute-all on or off (owner, admins, app token): only the
// owner, admins and the allow list may speak while it is on.
func (s *Service) MuteAll(ctx context.Context, p *tenant.Principal, id string, on bool) error {
	grp, c, err := s.group(ctx, p, id)
	if err != nil {
		return err
	}
	if err := requireAdmin(c); err != nil {
		return err
	}
	g := grp.g
	g.MuteAll, g.Updated = on, s.now().UnixMilli()
	typ := NoticeUnmuteAll
	if on {
		typ = NoticeMuteAll
	}
	n := s.notice(&g, p.UserID, typ, map[string]any{"by": p.Username})
	if err := s.st.Groups().Update(ctx, &g, n); err != nil {
		return err
	}
	s.forget(g.ID)
	s.announce(ctx, &g, n)
	return nil
}

// List changes and reads the block and allow lists (owner, admins, app
// token). Blocking removes members from the group (the owner cannot be
// blocked) and keeps them from rejoining.
func (s *Service) ListChange(ctx context.Context, p *tenant.Principal, id, kind string, usernames []string, add bool) ([]string, error) {
	grp, c, err := s.group(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if err := requireAdmin(c); err != nil {
		return nil, err
	}
	ids, names, err := s.resolve(ctx, p.App, usernames)
	if err != nil {
		return nil, err
	}
	if !add {
		if err := s.st.Groups().ListRemove(ctx, grp.g.ID, kind, ids); err != nil {
			return nil, err
		}
		s.forget(grp.g.ID)
		return names, nil
	}
	if kind == store.ListBlock {
		var members []int64
		var mnames []string
		for i, uid := range ids {
			switch r := grp.roles[uid]; {
			case r == store.RoleOwner:
				return nil, errs.New(protocol.ErrGroupForbidden, "the owner cannot be blocked")
			case r == store.RoleAdmin && c.role != store.RoleOwner:
				return nil, errs.New(protocol.ErrGroupForbidden, "only the owner may block an admin")
			case r != "":
				members, mnames = append(members, uid), append(mnames, names[i])
			}
		}
		if len(members) > 0 {
			if _, err := s.remove(ctx, grp, p, members, mnames, NoticeRemoved); err != nil {
				return nil, err
			}
		}
	}
	if err := s.st.Groups().ListAdd(ctx, grp.g.ID, kind, ids, s.now().UnixMilli()); err != nil {
		return nil, err
	}
	s.forget(grp.g.ID)
	return names, nil
}

// ListRead returns a group list.
func (s *Service) ListRead(ctx context.Context, p *tenant.Principal, id, kind string) ([]string, error) {
	grp, c, err := s.group(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if err := requireAdmin(c); err != nil {
		return nil, err
	}
	ids, err := s.st.Groups().ListUsers(ctx, grp.g.ID, kind)
	if err != nil {
		return nil, err
	}
	return s.nameList(ctx, p.App.ID, ids)
}

// Shield stops (or resumes) live delivery of a group's messages to the
// caller without leaving; they still get them on sync.
func (s *Service) Shield(ctx context.Context, p *tenant.Principal, id string, on bool) error {
	grp, c, err := s.group(ctx, p, id)
	if err != nil {
		return err
	}
	if p.Admin || c.role == "" {
		return errs.New(protocol.ErrNotGroupMember, "only a member may shield a group, with their own token")
	}
	if err := s.st.Groups().SetShield(ctx, grp.g.ID, p.UserID, on); err != nil {
		return err
	}
	s.forget(grp.g.ID)
	return nil
}

// SetMemberAttrs merges a member's group attributes (the member, owner,
// admins, app token): keys ≤16 bytes, values ≤512, all ≤4 KB; an empty
// value removes a key.
func (s *Service) SetMemberAttrs(ctx context.Context, p *tenant.Principal, id, username string, set map[string]string) (map[string]string, error) {
	grp, c, err := s.group(ctx, p, id)
	if err != nil {
		return nil, err
	}
	uid, uname, err := s.users.Resolve(ctx, p.App, username)
	if err != nil {
		return nil, err
	}
	if uid != p.UserID && !c.admin() {
		return nil, errs.New(protocol.ErrGroupForbidden, "members set their own attributes; the owner and admins anyone's")
	}
	m, err := s.st.Groups().Member(ctx, grp.g.ID, uid)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.New(protocol.ErrNotGroupMember, "%s is not a member of the group", uname)
	}
	if err != nil {
		return nil, err
	}
	attrs := map[string]string{}
	for k, v := range m.Attrs {
		attrs[k] = v
	}
	size := 0
	for k, v := range set {
		if k == "" || len(k) > MaxAttrKeyBytes || len(v) > MaxAttrValueBytes {
			return nil, errs.New(protocol.ErrIllegalArgument, "member attribute keys are 1..%d bytes and values ≤%d", MaxAttrKeyBytes, MaxAttrValueBytes)
		}
		if v == "" {
			delete(attrs, k)
		} else {
			attrs[k] = v
		}
	}
	for k, v := range attrs {
		size += len(k) + len(v)
	}
	if size > MaxAttrsBytes {
		return nil, errs.New(protocol.ErrIllegalArgument, "a member's attributes would be %d bytes; the limit is %d", size, MaxAttrsBytes)
	}
	if err := s.st.Groups().SetMemberAttrs(ctx, grp.g.ID, uid, attrs); err != nil {
		return nil, err
	}
	return attrs, nil
}

// MemberAttrs returns a member's group attributes (members, app token).
func (s *Service) MemberAttrs(ctx context.Context, p *tenant.Principal, id, username string) (map[string]string, error) {
	grp, c, err := s.group(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if c.role == "" {
		return nil, errs.New(protocol.ErrNotGroupMember, "only members read member attributes")
	}
	uid, uname, err := s.users.Resolve(ctx, p.App, username)
	if err != nil {
		return nil, err
	}
	m, err := s.st.Groups().Member(ctx, grp.g.ID, uid)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.New(protocol.ErrNotGroupMember, "%s is not a member of the group", uname)
	}
	if err != nil {
		return nil, err
	}
	if m.Attrs == nil {
		m.Attrs = map[string]string{}
	}
	return m.Attrs, nil
}
