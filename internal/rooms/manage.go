package rooms

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/messaging"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// Settings are a room's settable fields (nil: unchanged, or the default).
type Settings struct {
	Name        *string `json:"name,omitempty"`
	Description *string `json:"description,omitempty"`
	MaxUsers    *int    `json:"maxusers,omitempty"`
	Custom      *string `json:"custom,omitempty"`
}

func apply(app *tenant.App, st Settings, r *store.Room) ([]string, error) {
	var changed []string
	for _, f := range []struct {
		name string
		v    *string
		max  int
		dst  *string
	}{{"name", st.Name, MaxNameChars, &r.Name}, {"description", st.Description, MaxDescChars, &r.Description},
		{"custom", st.Custom, MaxCustomChars, &r.Custom}} {
		if f.v == nil {
			continue
		}
		if err := checkText(f.name, *f.v, f.max); err != nil {
			return nil, err
		}
		*f.dst = *f.v
		changed = append(changed, f.name)
	}
	if st.MaxUsers != nil {
		if *st.MaxUsers < 1 || *st.MaxUsers > app.Settings.RoomMax() {
			return nil, errs.New(protocol.ErrIllegalArgument, "maxusers must be 1..%d", app.Settings.RoomMax())
		}
		if *st.MaxUsers < r.Members {
			return nil, errs.New(protocol.ErrIllegalArgument, "maxusers %d is below the %d members the room has", *st.MaxUsers, r.Members)
		}
		r.MaxUsers = *st.MaxUsers
		changed = append(changed, "maxusers")
	}
	return changed, nil
}

// Info is a room's details.
type Info = protocol.RoomInfo

func (s *Service) info(ctx context.Context, r *store.Room, members bool) (*Info, error) {
	names, err := s.st.Users().Names(ctx, r.AppID, []int64{r.Owner})
	if err != nil {
		return nil, err
	}
	in := &Info{ID: strconv.FormatInt(r.ID, 10), Name: r.Name, Description: r.Description, MaxUsers: r.MaxUsers,
		Owner: names[r.Owner], Created: r.Created, Custom: r.Custom, Announcement: r.Announcement, Mute: r.MuteAll,
		Count: r.Members, Public: true}
	if members {
		ms, err := s.st.Rooms().Members(ctx, r.ID, 0, 1000)
		if err != nil {
			return nil, err
		}
		ids := make([]int64, len(ms))
		for i, m := range ms {
			ids[i] = m.UserID
		}
		mn, err := s.st.Users().Names(ctx, r.AppID, ids)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if n, ok := mn[m.UserID]; ok {
				in.Affiliations = append(in.Affiliations, map[string]any{m.Role: n})
			}
		}
	}
	return in, nil
}

// Create makes a room: with an app token for a named owner, or by a super
// admin (a user the app allows to create rooms from clients).
func (s *Service) Create(ctx context.Context, p *tenant.Principal, owner string, members []string, set Settings) (*Info, error) {
	if p.Anonymous() {
		return nil, errs.New(protocol.ErrUnauthorized, "this call needs a token")
	}
	var ownerID int64
	var err error
	if p.Admin {
		if owner == "" {
			return nil, errs.New(protocol.ErrIllegalArgument, "owner must be provided")
		}
		if ownerID, _, err = s.users.Resolve(ctx, p.App, owner); err != nil {
			return nil, err
		}
	} else {
		ok, err := s.st.Rooms().IsSuperAdmin(ctx, p.App.ID, p.UserID)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, errs.New(protocol.ErrRoomForbidden, "only the app's super admins create chat rooms from clients")
		}
		ownerID = p.UserID
	}
	if set.Name == nil || *set.Name == "" {
		return nil, errs.New(protocol.ErrIllegalArgument, "name must be provided")
	}
	now := s.now().UnixMilli()
	r := &store.Room{AppID: p.App.ID, MaxUsers: min(DefaultMaxUsers, p.App.Settings.RoomMax()), Owner: ownerID, Created: now, Updated: now}
	if _, err := apply(p.App, set, r); err != nil {
		return nil, err
	}
	ms := []store.RoomMember{{UserID: ownerID, Role: store.RoleOwner, Joined: now}}
	if len(members) > 0 {
		ids, _, err := s.resolve(ctx, p.App, members, MaxBatch)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if id != ownerID {
				ms = append(ms, store.RoomMember{UserID: id, Role: store.RoleMember, Joined: now})
			}
		}
	}
	if len(ms) > r.MaxUsers {
		return nil, errs.New(protocol.ErrRoomFull, "%d members exceed maxusers %d", len(ms), r.MaxUsers)
	}
	if err := s.st.Rooms().Create(ctx, r, ms); err != nil {
		return nil, err
	}
	return s.info(ctx, r, false)
}

// Details returns rooms' details (≤100 IDs); unknown IDs in missing. The
// members are listed for the room's members and the app token.
func (s *Service) Details(ctx context.Context, p *tenant.Principal, ids []string) ([]*Info, []string, error) {
	if p.Anonymous() {
		return nil, nil, errs.New(protocol.ErrUnauthorized, "this call needs a token")
	}
	if len(ids) == 0 || len(ids) > 100 {
		return nil, nil, errs.New(protocol.ErrIllegalArgument, "give 1..100 chat room ids")
	}
	var found []*Info
	var missing []string
	for _, raw := range ids {
		id, err := parseID(raw)
		if err != nil {
			missing = append(missing, raw)
			continue
		}
		r, err := s.st.Rooms().Get(ctx, p.App.ID, id)
		if errors.Is(err, store.ErrNotFound) {
			missing = append(missing, raw)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		// The member list goes to members and the app token only, as
		// Members does: a user outside the room sees its count.
		withMembers := p.Admin
		if !withMembers {
			c, err := s.load(ctx, p.App.ID, id)
			if err != nil {
				return nil, nil, err
			}
			withMembers = c.roles[p.UserID] != ""
		}
		in, err := s.info(ctx, r, withMembers)
		if err != nil {
			return nil, nil, err
		}
		found = append(found, in)
	}
	return found, missing, nil
}

// Modify changes a room's settings (owner, admins, app token).
func (s *Service) Modify(ctx context.Context, p *tenant.Principal, id string, set Settings) ([]string, error) {
	c, role, err := s.room(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if err := requireAdmin(role); err != nil {
		return nil, err
	}
	r, err := s.fresh(ctx, c)
	if err != nil {
		return nil, err
	}
	changed, err := apply(p.App, set, &r)
	if err != nil || len(changed) == 0 {
		return changed, err
	}
	r.Updated = s.now().UnixMilli()
	if err := s.st.Rooms().Update(ctx, &r); err != nil {
		return nil, err
	}
	s.forget(r.ID)
	s.event(r.AppID, r.ID, protocol.RoomEvent{Kind: protocol.RoomUpdated, Keys: changed, By: byName(p)})
	return changed, nil
}

// Transfer makes another member the owner (the owner or app token).
func (s *Service) Transfer(ctx context.Context, p *tenant.Principal, id, newOwner string) error {
	c, role, err := s.room(ctx, p, id)
	if err != nil {
		return err
	}
	if role != store.RoleOwner {
		return errs.New(protocol.ErrRoomForbidden, "only the owner transfers a chat room")
	}
	to, name, err := s.users.Resolve(ctx, p.App, newOwner)
	if err != nil {
		return err
	}
	if c.roles[to] == "" {
		return errs.New(protocol.ErrNotRoomMember, "%s has not joined the chat room", name)
	}
	r, err := s.fresh(ctx, c)
	if err != nil {
		return err
	}
	old := r.Owner
	r.Owner, r.Updated = to, s.now().UnixMilli()
	if err := s.st.Rooms().Update(ctx, &r); err != nil {
		return err
	}
	if err := s.st.Rooms().SetRole(ctx, r.ID, []int64{old}, store.RoleAdmin); err != nil {
		return err
	}
	if err := s.st.Rooms().SetRole(ctx, r.ID, []int64{to}, store.RoleOwner); err != nil {
		return err
	}
	s.forget(r.ID)
	s.event(r.AppID, r.ID, protocol.RoomEvent{Kind: protocol.RoomOwnerChanged, Users: []string{name}, By: byName(p)})
	return nil
}

// Delete deletes a room (the owner or app token); members get destroyed.
func (s *Service) Delete(ctx context.Context, p *tenant.Principal, id string) error {
	c, role, err := s.room(ctx, p, id)
	if err != nil {
		return err
	}
	if role != store.RoleOwner {
		return errs.New(protocol.ErrRoomForbidden, "only the owner deletes a chat room")
	}
	if err := s.st.Rooms().Delete(ctx, p.App.ID, c.r.ID); err != nil {
		return err
	}
	// Tell the members on their own subjects: a fan-out through the room
	// would look up a room that no longer exists.
	frame := encodeRoomEvent(protocol.RoomEvent{Room: strconv.FormatInt(c.r.ID, 10), Kind: protocol.RoomDestroyed,
		By: byName(p), TS: s.now().UnixMilli()})
	for u := range c.roles {
		s.bus.Publish(ctx, messaging.UserSubject(c.r.AppID, u), messaging.EncodeDeliver("", frame))
	}
	s.forget(c.r.ID)
	s.mu.Lock()
	delete(s.recent, c.r.ID)
	s.mu.Unlock()
	return nil
}

// SetAnnouncement sets the announcement (owner, admins, app token).
func (s *Service) SetAnnouncement(ctx context.Context, p *tenant.Principal, id, text string) error {
	c, role, err := s.room(ctx, p, id)
	if err != nil {
		return err
	}
	if err := requireAdmin(role); err != nil {
		return err
	}
	if err := checkText("announcement", text, MaxAnnounce); err != nil {
		return err
	}
	r, err := s.fresh(ctx, c)
	if err != nil {
		return err
	}
	r.Announcement, r.Updated = text, s.now().UnixMilli()
	if err := s.st.Rooms().Update(ctx, &r); err != nil {
		return err
	}
	s.forget(r.ID)
	s.event(r.AppID, r.ID, protocol.RoomEvent{Kind: protocol.RoomAnnouncement, Text: text, By: byName(p)})
	return nil
}

// Announcement reads a room's announcement (any token).
func (s *Service) Announcement(ctx context.Context, p *tenant.Principal, id string) (string, error) {
	c, _, err := s.room(ctx, p, id)
	if err != nil {
		return "", err
	}
	return c.r.Announcement, nil
}

// ListPage is a page of rooms.
type ListPage struct {
	Rooms  []*Info
	Cursor string
}

// List pages through the app's rooms, newest first (app token).
func (s *Service) List(ctx context.Context, p *tenant.Principal, cursor string, limit int) (*ListPage, error) {
	if err := p.RequireAdmin(); err != nil {
		return nil, err
	}
	if limit < 1 || limit > 1000 {
		return nil, errs.New(protocol.ErrIllegalArgument, "limit must be 1..1000")
	}
	var before int64
	if cursor != "" {
		v, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || v <= 0 {
			return nil, errs.New(protocol.ErrIllegalArgument, "cursor %q is not one this server issued", cursor)
		}
		before = v
	}
	list, err := s.st.Rooms().List(ctx, p.App.ID, before, limit+1)
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
		page.Rooms = append(page.Rooms, in)
	}
	return page, nil
}

// Search finds the app's rooms (app token): q names a room by ID, or is
// matched against room names (a substring, ASCII letters of any case),
// newest first. The cursor is opaque.
func (s *Service) Search(ctx context.Context, p *tenant.Principal, q, cursor string, limit int) (*ListPage, error) {
	if err := p.RequireAdmin(); err != nil {
		return nil, err
	}
	if limit < 1 || limit > 1000 {
		return nil, errs.New(protocol.ErrIllegalArgument, "limit must be 1..1000")
	}
	if q == "" {
		return s.List(ctx, p, cursor, limit)
	}
	if len(q) > 1024 {
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
		r, err := s.st.Rooms().Get(ctx, p.App.ID, id)
		if err == nil {
			in, err := s.info(ctx, r, false)
			if err != nil {
				return nil, err
			}
			page.Rooms = append(page.Rooms, in)
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	list, err := s.st.Rooms().Search(ctx, p.App.ID, q, before, limit+1)
	if err != nil {
		return nil, err
	}
	if len(list) > limit {
		list = list[:limit]
		page.Cursor = strconv.FormatInt(list[limit-1].ID, 10)
	}
	for i := range list {
		if len(page.Rooms) > 0 && page.Rooms[0].ID == strconv.FormatInt(list[i].ID, 10) {
			continue // found by its ID already
		}
		in, err := s.info(ctx, &list[i], false)
		if err != nil {
			return nil, err
		}
		page.Rooms = append(page.Rooms, in)
	}
	return page, nil
}

// OfUser lists the rooms a user is in (the user or app token; page from 1).
func (s *Service) OfUser(ctx context.Context, p *tenant.Principal, username string, page, size int) ([]*Info, error) {
	if p.Anonymous() {
		return nil, errs.New(protocol.ErrUnauthorized, "this call needs a token")
	}
	uid, _, err := s.users.Resolve(ctx, p.App, username)
	if err != nil {
		return nil, err
	}
	if !p.Admin && uid != p.UserID {
		return nil, errs.New(protocol.ErrForbidden, "a user token may only list its own rooms")
	}
	if page < 1 || size < 1 || size > 1000 {
		return nil, errs.New(protocol.ErrIllegalArgument, "pagenum must be ≥1 and pagesize 1..1000")
	}
	list, err := s.st.Rooms().OfUser(ctx, p.App.ID, uid, (page-1)*size, size)
	if err != nil {
		return nil, err
	}
	out := []*Info{}
	for i := range list {
		in, err := s.info(ctx, &list[i], false)
		if err != nil {
			return nil, err
		}
		out = append(out, in)
	}
	return out, nil
}

// SuperAdmins lists the users who may create rooms from clients.
func (s *Service) SuperAdmins(ctx context.Context, p *tenant.Principal) ([]string, error) {
	if err := p.RequireAdmin(); err != nil {
		return nil, err
	}
	ids, err := s.st.Rooms().SuperAdmins(ctx, p.App.ID)
	if err != nil {
		return nil, err
	}
	return s.nameList(ctx, p.App.ID, ids)
}

// SetSuperAdmin grants or revokes room creation from clients (app token).
func (s *Service) SetSuperAdmin(ctx context.Context, p *tenant.Principal, username string, on bool) error {
	if err := p.RequireAdmin(); err != nil {
		return err
	}
	uid, name, err := s.users.Resolve(ctx, p.App, username)
	if err != nil {
		return err
	}
	err = s.st.Rooms().SetSuperAdmin(ctx, p.App.ID, uid, on, time.Now().UnixMilli())
	if errors.Is(err, store.ErrNotFound) {
		return errs.New(protocol.ErrUserNotFound, "%s is not a super admin", name)
	}
	return err
}

// byName names who acted in room events ("admin" for the app token).
func byName(p *tenant.Principal) string {
	if p.Admin {
		return "admin"
	}
	return p.Username
}

// fresh reads a room's row for a read-modify-write (the cache may lag a
// concurrent change, and Update writes every column).
func (s *Service) fresh(ctx context.Context, c *cached) (store.Room, error) {
	r, err := s.st.Rooms().Get(ctx, c.r.AppID, c.r.ID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Room{}, errs.New(protocol.ErrRoomNotFound, "chat room %d doesn't exist", c.r.ID)
	}
	if err != nil {
		return store.Room{}, err
	}
	return *r, nil
}
