package groups

import (
	"context"
	"errors"
	"strconv"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// Settings are a group's settable fields; nil leaves a field as it is
// (on create: its default).
type Settings = protocol.GroupSettings

// apply validates and applies s to g; it returns the fields changed.
func apply(st Settings, g *store.Group) ([]string, error) {
	var changed []string
	text := func(field string, v *string, max int, dst *string) error {
		if v == nil {
			return nil
		}
		if err := checkText(field, *v, max); err != nil {
			return err
		}
		*dst = *v
		changed = append(changed, field)
		return nil
	}
	for _, f := range []struct {
		name string
		v    *string
		max  int
		dst  *string
	}{{"groupname", st.Name, MaxNameChars, &g.Name}, {"description", st.Description, MaxDescChars, &g.Description},
		{"avatar", st.Avatar, 1024, &g.Avatar}, {"custom", st.Custom, MaxCustomChars, &g.Custom}} {
		if err := text(f.name, f.v, f.max, f.dst); err != nil {
			return nil, err
		}
	}
	if st.MaxUsers != nil {
		if *st.MaxUsers < 1 || *st.MaxUsers > MaxMaxUsers {
			return nil, errs.New(protocol.ErrIllegalArgument, "maxusers must be 1..%d", MaxMaxUsers)
		}
		if *st.MaxUsers < g.Members {
			return nil, errs.New(protocol.ErrIllegalArgument, "maxusers %d is below the %d members the group has", *st.MaxUsers, g.Members)
		}
		g.MaxUsers = *st.MaxUsers
		changed = append(changed, "maxusers")
	}
	for _, f := range []struct {
		name string
		v    *bool
		dst  *bool
	}{{"public", st.Public, &g.Public}, {"allowinvites", st.AllowInvites, &g.AllowInvites},
		{"membersonly", st.MembersOnly, &g.MembersOnly}, {"invite_need_confirm", st.InviteNeedConfirm, &g.InviteNeedConfirm}} {
		if f.v != nil {
			*f.dst = *f.v
			changed = append(changed, f.name)
		}
	}
	return changed, nil
}

// Create makes a group. With an app token the owner is named; a user
// creates a group they own. Members (≤ MaxBatch, within maxusers) join at
// once.
func (s *Service) Create(ctx context.Context, p *tenant.Principal, owner string, members []string, set Settings) (*store.Group, error) {
	if p.Anonymous() {
		return nil, errs.New(protocol.ErrUnauthorized, "this call needs a token")
	}
	var ownerID int64
	var ownerName string
	var err error
	switch {
	case !p.Admin:
		ownerID, ownerName = p.UserID, p.Username
		if owner != "" && owner != p.Username {
			if n, _, _ := s.users.Resolve(ctx, p.App, owner); n != p.UserID {
				return nil, errs.New(protocol.ErrForbidden, "a user creates groups they own")
			}
		}
	case owner == "":
		return nil, errs.New(protocol.ErrIllegalArgument, "owner must be provided")
	default:
		if ownerID, ownerName, err = s.users.Resolve(ctx, p.App, owner); err != nil {
			return nil, err
		}
	}
	now := s.now().UnixMilli()
	g := &store.Group{AppID: p.App.ID, MaxUsers: DefaultMaxUsers, InviteNeedConfirm: true, Owner: ownerID, Created: now, Updated: now}
	if _, err := apply(set, g); err != nil {
		return nil, err
	}
	ms := []store.GroupMember{{UserID: ownerID, Role: store.RoleOwner, Joined: now}}
	var names []string
	if len(members) > 0 {
		ids, canon, err := s.resolve(ctx, p.App, members)
		if err != nil {
			return nil, err
		}
		for i, id := range ids {
			if id != ownerID {
				ms = append(ms, store.GroupMember{UserID: id, Role: store.RoleMember, Joined: now})
				names = append(names, canon[i])
			}
		}
	}
	if len(ms) > g.MaxUsers {
		return nil, errs.New(protocol.ErrGroupFull, "%d members exceed maxusers %d", len(ms), g.MaxUsers)
	}
	if err := s.st.Groups().Create(ctx, g, ms, s.ids.Next()); err != nil {
		return nil, err
	}
	n := s.notice(g, ownerID, NoticeCreated, map[string]any{"owner": ownerName, "members": names})
	if err := s.st.Messages().Append(ctx, []*store.AppendOp{n}); err == nil && n.Err == nil {
		s.announce(ctx, g, n)
	}
	return g, nil
}

// Info is a group's details.
type Info = protocol.GroupInfo

func (s *Service) info(ctx context.Context, g *store.Group, withMembers bool) (*Info, error) {
	names, err := s.names(ctx, g.AppID, []int64{g.Owner})
	if err != nil {
		return nil, err
	}
	in := &Info{ID: strconv.FormatInt(g.ID, 10), Name: g.Name, Description: g.Description, Avatar: g.Avatar, Public: g.Public,
		MembersOnly: g.MembersOnly, AllowInvites: g.AllowInvites, InviteNeedConfirm: g.InviteNeedConfirm, MaxUsers: g.MaxUsers,
		Owner: names[g.Owner], Created: g.Created, Custom: g.Custom, Announcement: g.Announcement, Mute: g.MuteAll,
		Disabled: g.Disabled, Count: g.Members, ConvID: strconv.FormatInt(g.ConvID, 10)}
	if withMembers {
		ms, err := s.st.Groups().Members(ctx, g.ID, 0, MaxMaxUsers)
		if err != nil {
			return nil, err
		}
		ids := make([]int64, len(ms))
		for i, m := range ms {
			ids[i] = m.UserID
		}
		mn, err := s.names(ctx, g.AppID, ids)
		if err != nil {
			return nil, err
		}
		in.Affiliations = []map[string]any{{"owner": names[g.Owner]}}
		for _, m := range ms {
			if m.Role != store.RoleOwner {
				if n, ok := mn[m.UserID]; ok {
					in.Affiliations = append(in.Affiliations, map[string]any{"member": n})
				}
			}
		}
	}
	return in, nil
}

// Details returns groups' details with their members (≤100 IDs). IDs that
// are not groups of the app come back in missing. A private group is read
// by its members and the app token only (as Info).
func (s *Service) Details(ctx context.Context, p *tenant.Principal, ids []string) (found []*Info, missing []string, err error) {
	if p.Anonymous() {
		return nil, nil, errs.New(protocol.ErrUnauthorized, "this call needs a token")
	}
	if len(ids) == 0 || len(ids) > 100 {
		return nil, nil, errs.New(protocol.ErrIllegalArgument, "give 1..100 group ids")
	}
	for _, raw := range ids {
		id, err := parseID(raw)
		if err != nil {
			missing = append(missing, raw)
			continue
		}
		g, err := s.st.Groups().Get(ctx, p.App.ID, id)
		if errors.Is(err, store.ErrNotFound) {
			missing = append(missing, raw)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		if !g.Public && !p.Admin {
			// As Info: a private group is read by its members only.
			grp, err := s.load(ctx, p.App.ID, id)
			if err != nil {
				return nil, nil, err
			}
			if grp.roles[p.UserID] == "" {
				return nil, nil, errs.New(protocol.ErrNotGroupMember, "only members may read private group %s", raw)
			}
		}
		in, err := s.info(ctx, g, true)
		if err != nil {
			return nil, nil, err
		}
		found = append(found, in)
	}
	return found, missing, nil
}

// group loads a group for an action and resolves the caller's role.
func (s *Service) group(ctx context.Context, p *tenant.Principal, id string) (*cached, caller, error) {
	gid, err := parseID(id)
	if err != nil {
		return nil, caller{}, err
	}
	grp, err := s.load(ctx, p.App.ID, gid)
	if err != nil {
		return nil, caller{}, err
	}
	c, err := s.actor(ctx, p, grp)
	return grp, c, err
}

// Modify changes settings (owner, admins, app token) and returns the
// fields changed. Members see a group_updated notice.
func (s *Service) Modify(ctx context.Context, p *tenant.Principal, id string, set Settings) ([]string, error) {
	grp, c, err := s.group(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if err := requireAdmin(c); err != nil {
		return nil, err
	}
	g := grp.g
	changed, err := apply(set, &g)
	if err != nil || len(changed) == 0 {
		return changed, err
	}
	g.Updated = s.now().UnixMilli()
	n := s.notice(&g, p.UserID, NoticeUpdated, map[string]any{"fields": changed, "by": p.Username})
	if err := s.st.Groups().Update(ctx, &g, n); err != nil {
		return nil, err
	}
	s.forget(g.ID)
	s.announce(ctx, &g, n)
	return changed, nil
}

// SetAnnouncement sets the announcement (owner, admins, app token).
func (s *Service) SetAnnouncement(ctx context.Context, p *tenant.Principal, id, text string) error {
	grp, c, err := s.group(ctx, p, id)
	if err != nil {
		return err
	}
	if err := requireAdmin(c); err != nil {
		return err
	}
	if err := checkText("announcement", text, MaxAnnounceChars); err != nil {
		return err
	}
	g := grp.g
	g.Announcement, g.Updated = text, s.now().UnixMilli()
	n := s.notice(&g, p.UserID, NoticeAnnouncement, map[string]any{"announcement": text, "by": p.Username})
	if err := s.st.Groups().Update(ctx, &g, n); err != nil {
		return err
	}
	s.forget(g.ID)
	s.announce(ctx, &g, n)
	return nil
}

// Announcement returns the announcement (members and app token; anyone
// for a public group).
func (s *Service) Announcement(ctx context.Context, p *tenant.Principal, id string) (string, error) {
	grp, c, err := s.group(ctx, p, id)
	if err != nil {
		return "", err
	}
	if c.role == "" && !grp.g.Public {
		return "", errs.New(protocol.ErrNotGroupMember, "only members may read a private group's announcement")
	}
	return grp.g.Announcement, nil
}

// SetDisabled disables (nobody may send) or enables a group (app token).
func (s *Service) SetDisabled(ctx context.Context, p *tenant.Principal, id string, disabled bool) error {
	if err := p.RequireAdmin(); err != nil {
		return err
	}
	grp, _, err := s.group(ctx, p, id)
	if err != nil {
		return err
	}
	g := grp.g
	g.Disabled, g.Updated = disabled, s.now().UnixMilli()
	typ := NoticeEnabled
	if disabled {
		typ = NoticeDisabled
	}
	n := s.notice(&g, 0, typ, map[string]any{})
	if err := s.st.Groups().Update(ctx, &g, n); err != nil {
		return err
	}
	s.forget(g.ID)
	s.announce(ctx, &g, n)
	return nil
}

// Transfer makes another member the owner (the owner or the app token);
// the old owner becomes an admin.
func (s *Service) Transfer(ctx context.Context, p *tenant.Principal, id, newOwner string) error {
	grp, c, err := s.group(ctx, p, id)
	if err != nil {
		return err
	}
	if err := requireOwner(c); err != nil {
		return err
	}
	to, toName, err := s.users.Resolve(ctx, p.App, newOwner)
	if err != nil {
		return err
	}
	if grp.roles[to] == "" {
		return errs.New(protocol.ErrNotGroupMember, "%s is not a member of the group", toName)
	}
	g := grp.g
	if to == g.Owner {
		return nil
	}
	from := g.Owner
	g.Updated = s.now().UnixMilli()
	fromNames, _ := s.names(ctx, g.AppID, []int64{from})
	n := s.notice(&g, p.UserID, NoticeOwner, map[string]any{"from": fromNames[from], "to": toName})
	if err := s.st.Groups().TransferOwner(ctx, &g, from, to, n); err != nil {
		return err
	}
	s.forget(g.ID)
	s.announce(ctx, &g, n)
	return nil
}

// Dissolve deletes a group (the owner or the app token). Every member gets
// a group_destroyed event.
func (s *Service) Dissolve(ctx context.Context, p *tenant.Principal, id string) error {
	grp, c, err := s.group(ctx, p, id)
	if err != nil {
		return err
	}
	if err := requireOwner(c); err != nil {
		return err
	}
	members := make([]int64, 0, len(grp.roles))
	for u := range grp.roles {
		members = append(members, u)
	}
	shared, err := s.st.Groups().SharedFileIDs(ctx, grp.g.ID)
	if err != nil {
		return err
	}
	if err := s.st.Groups().Delete(ctx, p.App.ID, grp.g.ID); err != nil {
		return err
	}
	s.forget(grp.g.ID)
	if s.Files != nil {
		s.Files.Release(ctx, shared) // the group's files go with it
	}
	s.social.Emit(ctx, p.App.ID, p.Resource, members, protocol.Event{Kind: protocol.EventGroupDestroyed,
		Group: strconv.FormatInt(grp.g.ID, 10), From: p.Username})
	return nil
}

// ListPage is one page of an app's groups.
type ListPage struct {
	Groups []*Info
	Cursor string
}

// List pages through the app's groups, newest first (app token).
func (s *Service) List(ctx context.Context, p *tenant.Principal, cursor string, limit int) (*ListPage, error) {
	if err := p.RequireAdmin(); err != nil {
		return nil, err
	}
	if limit < 1 || limit > MaxGroupsListed {
		return nil, errs.New(protocol.ErrIllegalArgument, "limit must be 1..%d", MaxGroupsListed)
	}
	var before int64
	if cursor != "" {
		v, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || v <= 0 {
			return nil, errs.New(protocol.ErrIllegalArgument, "cursor %q is not one this server issued", cursor)
		}
		before = v
	}
	list, err := s.st.Groups().List(ctx, p.App.ID, before, limit+1)
	if err != nil {
		return nil, err
	}
	page := &ListPage{}
	if len(list) > limit {
		list = list[:limit]
		page.Cursor = strconv.FormatInt(list[limit-1].ID, 10)
	}
	for i := range list {
		in, err := s.info(ctx, &list[i], false)
		if err != nil {
			return nil, err
		}
		page.Groups = append(page.Groups, in)
	}
	return page, nil
}

// Search finds the app's groups (app token): q names a group by ID, or
// is matched against group names (a substring, ASCII letters of any case),
// newest first. The cursor is opaque.
func (s *Service) Search(ctx context.Context, p *tenant.Principal, q, cursor string, limit int) (*ListPage, error) {
	if err := p.RequireAdmin(); err != nil {
		return nil, err
	}
	if limit < 1 || limit > MaxGroupsListed {
		return nil, errs.New(protocol.ErrIllegalArgument, "limit must be 1..%d", MaxGroupsListed)
	}
	if q == "" {
		return s.List(ctx, p, cursor, limit)
	}
	if len(q) > 4*MaxNameChars {
		return &ListPage{}, nil
	}
	var before int64
	if cursor != "" {
		v, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || v <= 0 {
			return nil, errs.New(protocol.ErrIllegalArgument, "cursor %q is not one this server issued", cursor)
		}
		before = v
	}
	page := &ListPage{}
	if id, err := strconv.ParseInt(q, 10, 64); err == nil && id > 0 && cursor == "" {
		g, err := s.st.Groups().Get(ctx, p.App.ID, id)
		if err == nil {
			in, err := s.info(ctx, g, false)
			if err != nil {
				return nil, err
			}
			page.Groups = append(page.Groups, in)
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	list, err := s.st.Groups().Search(ctx, p.App.ID, q, before, limit+1)
	if err != nil {
		return nil, err
	}
	if len(list) > limit {
		list = list[:limit]
		page.Cursor = strconv.FormatInt(list[limit-1].ID, 10)
	}
	for i := range list {
		if len(page.Groups) > 0 && page.Groups[0].ID == strconv.FormatInt(list[i].ID, 10) {
			continue // found by its ID already
		}
		in, err := s.info(ctx, &list[i], false)
		if err != nil {
			return nil, err
		}
		page.Groups = append(page.Groups, in)
	}
	return page, nil
}

// OfUser lists the groups a user belongs to (the user or the app token);
// page from 1.
func (s *Service) OfUser(ctx context.Context, p *tenant.Principal, username string, page, size int) ([]*Info, int, error) {
	uid, _, err := s.self(ctx, p, username)
	if err != nil {
		return nil, 0, err
	}
	if page < 1 || size < 1 || size > 100 {
		return nil, 0, errs.New(protocol.ErrIllegalArgument, "pagenum must be ≥1 and pagesize 1..100")
	}
	list, total, err := s.st.Groups().OfUser(ctx, p.App.ID, uid, (page-1)*size, size)
	if err != nil {
		return nil, 0, err
	}
	out := []*Info{}
	for i := range list {
		in, err := s.info(ctx, &list[i], false)
		if err != nil {
			return nil, 0, err
		}
		out = append(out, in)
	}
	return out, total, nil
}

// IsJoined reports whether a user belongs to a group (is_joined): any
// token for a public group, members and the app token for a private one.
func (s *Service) IsJoined(ctx context.Context, p *tenant.Principal, id, username string) (bool, error) {
	grp, c, err := s.group(ctx, p, id)
	if err != nil {
		return false, err
	}
	if c.role == "" && !grp.g.Public {
		// Who belongs to a private group is for its members to know.
		return false, errs.New(protocol.ErrNotGroupMember, "only members may ask who is in a private group")
	}
	uid, _, err := s.users.Resolve(ctx, p.App, username)
	if err != nil {
		return false, err
	}
	return grp.roles[uid] != "", nil
}

// self resolves the user a call is about: a user token may name only
// itself.
func (s *Service) self(ctx context.Context, p *tenant.Principal, username string) (int64, string, error) {
	if p.Anonymous() {
		return 0, "", errs.New(protocol.ErrUnauthorized, "this call needs a token")
	}
	if !p.Admin {
		if username != "" {
			if id, _, err := s.users.Resolve(ctx, p.App, username); err != nil || id != p.UserID {
				return 0, "", errs.New(protocol.ErrForbidden, "a user token may only act for its own user")
			}
		}
		return p.UserID, p.Username, nil
	}
	return s.users.Resolve(ctx, p.App, username)
}

// Info returns one group's details (members and the app token; anyone for
// a public group). Members are listed when the caller may see them.
func (s *Service) Info(ctx context.Context, p *tenant.Principal, id string) (*Info, error) {
	grp, c, err := s.group(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if c.role == "" && !grp.g.Public {
		return nil, errs.New(protocol.ErrNotGroupMember, "only members may read a private group")
	}
	return s.info(ctx, &grp.g, grp.g.Members <= 1000)
}
