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

// Joined is what a joining member gets: the room and its last messages.
type Joined struct {
	Room   *Info
	Recent []*protocol.Item
}

// add adds users, unless blocked or over maxusers.
func (s *Service) add(ctx context.Context, c *cached, ids []int64, names []string) ([]int64, error) {
	blocked, err := s.st.Rooms().ListUsers(ctx, c.r.ID, store.ListBlock)
	if err != nil {
		return nil, err
	}
	for _, b := range blocked {
		for i, id := range ids {
			if id == b {
				return nil, errs.New(protocol.ErrRoomBlocked, "%s is on the chat room's block list", names[i])
			}
		}
	}
	now := s.now().UnixMilli()
	ms := make([]store.RoomMember, len(ids))
	for i, id := range ids {
		ms[i] = store.RoomMember{UserID: id, Role: store.RoleMember, Joined: now}
	}
	r := c.r
	added, err := s.st.Rooms().AddMembers(ctx, &r, ms)
	if errors.Is(err, store.ErrConflict) {
		return nil, errs.New(protocol.ErrRoomFull, "the chat room is full: maxusers is %d", r.MaxUsers)
	}
	if err != nil {
		return nil, err
	}
	s.patch(r.ID, r.Members, added, nil)
	if len(added) > 0 {
		addedNames, _ := s.nameList(ctx, r.AppID, added)
		s.noteChurn(r.AppID, r.ID, addedNames, nil)
		for _, id := range added {
			// Members added while offline start their grace period.
			if devs, _ := s.dir.Devices(ctx, r.AppID, id); len(devs) == 0 {
				s.ConnectionChanged(r.AppID, id, false)
			}
		}
	}
	return added, nil
}

// Join adds the caller to a room and returns its recent messages.
func (s *Service) Join(ctx context.Context, p *tenant.Principal, id string) (*Joined, error) {
	if p.Admin {
		return nil, errs.New(protocol.ErrForbidden, "joining needs the user's token")
	}
	c, role, err := s.room(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if role == "" {
		if _, err := s.add(ctx, c, []int64{p.UserID}, []string{p.Username}); err != nil {
			return nil, err
		}
	}
	in, err := s.info(ctx, &c.r, false)
	if err != nil {
		return nil, err
	}
	return &Joined{Room: in, Recent: s.recentItems(c.r.ID, p.App.Settings.RoomRecent())}, nil
}

// Leave removes the caller from a room (the owner cannot leave).
func (s *Service) Leave(ctx context.Context, p *tenant.Principal, id string) error {
	c, role, err := s.room(ctx, p, id)
	if err != nil {
		return err
	}
	switch {
	case p.Admin:
		return errs.New(protocol.ErrForbidden, "leaving needs the user's token")
	case role == "":
		return errs.New(protocol.ErrNotRoomMember, "you have not joined the chat room")
	case role == store.RoleOwner:
		return errs.New(protocol.ErrRoomForbidden, "the owner cannot leave: transfer or delete the room")
	}
	_, err = s.removeIDs(ctx, c, []int64{p.UserID}, "", false)
	return err
}

// removeIDs removes members; with notify they get a removed event (by who:
// "" when the grace period ran out).
func (s *Service) removeIDs(ctx context.Context, c *cached, ids []int64, by string, notify bool) ([]int64, error) {
	r := c.r
	removed, keys, err := s.st.Rooms().RemoveMembers(ctx, &r, ids)
	if err != nil {
		return nil, err
	}
	s.patch(r.ID, r.Members, nil, removed)
	if len(removed) == 0 {
		return removed, nil
	}
	names, _ := s.nameList(ctx, r.AppID, removed)
	s.noteChurn(r.AppID, r.ID, nil, names)
	if len(keys) > 0 {
		s.event(r.AppID, r.ID, protocol.RoomEvent{Kind: protocol.RoomAttrsDeleted, Keys: keys})
	}
	if notify {
		// Tell the removed users' devices directly: they are no longer
		// members, so room traffic does not reach them.
		frame := encodeRoomEvent(protocol.RoomEvent{Room: strconv.FormatInt(r.ID, 10), Kind: protocol.RoomRemoved, By: by,
			TS: s.now().UnixMilli()})
		for _, u := range removed {
			s.bus.Publish(ctx, messaging.UserSubject(r.AppID, u), messaging.EncodeDeliver("", frame))
		}
	}
	return removed, nil
}

// AddMembers adds users (owner, admins, app token).
func (s *Service) AddMembers(ctx context.Context, p *tenant.Principal, id string, usernames []string) ([]string, error) {
	c, role, err := s.room(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if err := requireAdmin(role); err != nil {
		return nil, err
	}
	ids, names, err := s.resolve(ctx, p.App, usernames, MaxBatch)
	if err != nil {
		return nil, err
	}
	added, err := s.add(ctx, c, ids, names)
	if err != nil {
		return nil, err
	}
	return s.nameList(ctx, p.App.ID, added)
}

// checkTargets refuses actions on the owner, and admins' actions on admins.
func checkTargets(c *cached, role string, ids []int64, names []string, what string) error {
	for i, id := range ids {
		switch r := c.roles[id]; {
		case r == "":
			return errs.New(protocol.ErrNotRoomMember, "%s has not joined the chat room", names[i])
		case r == store.RoleOwner:
			return errs.New(protocol.ErrRoomForbidden, "the owner cannot be %s", what)
		case r == store.RoleAdmin && role != store.RoleOwner:
			return errs.New(protocol.ErrRoomForbidden, "only the owner may act on an admin")
		}
	}
	return nil
}

// RemoveMembers removes members (owner, admins, app token).
func (s *Service) RemoveMembers(ctx context.Context, p *tenant.Principal, id string, usernames []string) ([]string, error) {
	c, role, err := s.room(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if err := requireAdmin(role); err != nil {
		return nil, err
	}
	ids, names, err := s.resolve(ctx, p.App, usernames, MaxRemoveBatch)
	if err != nil {
		return nil, err
	}
	if err := checkTargets(c, role, ids, names, "removed"); err != nil {
		return nil, err
	}
	removed, err := s.removeIDs(ctx, c, ids, byName(p), true)
	if err != nil {
		return nil, err
	}
	return s.nameList(ctx, p.App.ID, removed)
}

// Members pages through a room's members (members, app token).
func (s *Service) Members(ctx context.Context, p *tenant.Principal, id, cursor string, limit int) ([]protocol.GroupMember, string, error) {
	c, role, err := s.room(ctx, p, id)
	if err != nil {
		return nil, "", err
	}
	if role == "" {
		return nil, "", errs.New(protocol.ErrNotRoomMember, "only members list a chat room's members")
	}
	if limit < 1 || limit > 1000 {
		return nil, "", errs.New(protocol.ErrIllegalArgument, "limit must be 1..1000")
	}
	var after int64
	if cursor != "" {
		if after, err = strconv.ParseInt(cursor, 10, 64); err != nil {
			return nil, "", errs.New(protocol.ErrIllegalArgument, "cursor %q is not one this server issued", cursor)
		}
	}
	ms, err := s.st.Rooms().Members(ctx, c.r.ID, after, limit+1)
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
	names, err := s.st.Users().Names(ctx, p.App.ID, ids)
	if err != nil {
		return nil, "", err
	}
	out := make([]protocol.GroupMember, 0, len(ms))
	for _, m := range ms {
		if n, ok := names[m.UserID]; ok {
			out = append(out, protocol.GroupMember{User: n, Role: m.Role, Joined: m.Joined, MuteUntil: m.MuteUntil})
		}
	}
	return out, next, nil
}

// SetAdmins promotes or demotes members (the owner, app token).
func (s *Service) SetAdmins(ctx context.Context, p *tenant.Principal, id string, usernames []string, on bool) error {
	c, role, err := s.room(ctx, p, id)
	if err != nil {
		return err
	}
	if role != store.RoleOwner {
		return errs.New(protocol.ErrRoomForbidden, "only the owner names admins")
	}
	ids, names, err := s.resolve(ctx, p.App, usernames, MaxBatch)
	if err != nil {
		return err
	}
	if err := checkTargets(c, role, ids, names, "made an admin"); err != nil {
		return err
	}
	newRole := store.RoleMember
	if on {
		newRole = store.RoleAdmin
	}
	if err := s.st.Rooms().SetRole(ctx, c.r.ID, ids, newRole); err != nil {
		return err
	}
	s.forget(c.r.ID)
	return nil
}

// Admins lists a room's admins.
func (s *Service) Admins(ctx context.Context, p *tenant.Principal, id string) ([]string, error) {
	c, _, err := s.room(ctx, p, id)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for u, r := range c.roles {
		if r == store.RoleAdmin {
			ids = append(ids, u)
		}
	}
	return s.nameList(ctx, p.App.ID, ids)
}

// Mute mutes members for a duration (-1: forever; 0: unmute).
func (s *Service) Mute(ctx context.Context, p *tenant.Principal, id string, usernames []string, d time.Duration) (int64, error) {
	c, role, err := s.room(ctx, p, id)
	if err != nil {
		return 0, err
	}
	if err := requireAdmin(role); err != nil {
		return 0, err
	}
	ids, names, err := s.resolve(ctx, p.App, usernames, MaxBatch)
	if err != nil {
		return 0, err
	}
	if err := checkTargets(c, role, ids, names, "muted"); err != nil {
		return 0, err
	}
	var until int64
	switch {
	case d < 0:
		until = -1
	case d > 0:
		until = s.now().Add(d).UnixMilli()
	}
	if err := s.st.Rooms().SetMute(ctx, c.r.ID, ids, until); err != nil {
		return 0, err
	}
	s.forget(c.r.ID)
	kind := protocol.RoomUnmuted
	if until != 0 {
		kind = protocol.RoomMuted
	}
	s.event(c.r.AppID, c.r.ID, protocol.RoomEvent{Kind: kind, Users: names, Until: until, By: byName(p)})
	return until, nil
}

// Muted lists the members muted now.
func (s *Service) Muted(ctx context.Context, p *tenant.Principal, id string) ([]protocol.GroupMember, error) {
	c, role, err := s.room(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if err := requireAdmin(role); err != nil {
		return nil, err
	}
	now := s.now().UnixMilli()
	var ids []int64
	for u, until := range c.mutes {
		if until == -1 || until > now {
			ids = append(ids, u)
		}
	}
	names, err := s.st.Users().Names(ctx, p.App.ID, ids)
	if err != nil {
		return nil, err
	}
	out := []protocol.GroupMember{}
	for _, u := range ids {
		out = append(out, protocol.GroupMember{User: names[u], Role: c.roles[u], MuteUntil: c.mutes[u]})
	}
	return out, nil
}

// MuteAll mutes or unmutes everyone but the owner, admins and allow list.
func (s *Service) MuteAll(ctx context.Context, p *tenant.Principal, id string, on bool) error {
	c, role, err := s.room(ctx, p, id)
	if err != nil {
		return err
	}
	if err := requireAdmin(role); err != nil {
		return err
	}
	r, err := s.fresh(ctx, c)
	if err != nil {
		return err
	}
	r.MuteAll, r.Updated = on, s.now().UnixMilli()
	if err := s.st.Rooms().Update(ctx, &r); err != nil {
		return err
	}
	s.forget(r.ID)
	kind := protocol.RoomUnmuteAll
	if on {
		kind = protocol.RoomMuteAll
	}
	s.event(r.AppID, r.ID, protocol.RoomEvent{Kind: kind, By: byName(p)})
	return nil
}

// ListChange adds users to or removes them from the block or allow list
// (owner, admins, app token). Blocking removes members.
func (s *Service) ListChange(ctx context.Context, p *tenant.Principal, id, kind string, usernames []string, add bool) ([]string, error) {
	c, role, err := s.room(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if err := requireAdmin(role); err != nil {
		return nil, err
	}
	ids, names, err := s.resolve(ctx, p.App, usernames, MaxBatch)
	if err != nil {
		return nil, err
	}
	if add && kind == store.ListBlock {
		var members []int64
		var mnames []string
		for i, uid := range ids {
			if c.roles[uid] != "" {
				members, mnames = append(members, uid), append(mnames, names[i])
			}
		}
		if err := checkTargets(c, role, members, mnames, "blocked"); err != nil {
			return nil, err
		}
		if len(members) > 0 {
			if _, err := s.removeIDs(ctx, c, members, byName(p), true); err != nil {
				return nil, err
			}
		}
	}
	if add {
		err = s.st.Rooms().ListAdd(ctx, c.r.ID, kind, ids, s.now().UnixMilli())
	} else {
		err = s.st.Rooms().ListRemove(ctx, c.r.ID, kind, ids)
	}
	if err != nil {
		return nil, err
	}
	s.forget(c.r.ID)
	return names, nil
}

// ListRead returns the block or allow list.
func (s *Service) ListRead(ctx context.Context, p *tenant.Principal, id, kind string) ([]string, error) {
	c, role, err := s.room(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if err := requireAdmin(role); err != nil {
		return nil, err
	}
	ids, err := s.st.Rooms().ListUsers(ctx, c.r.ID, kind)
	if err != nil {
		return nil, err
	}
	return s.nameList(ctx, p.App.ID, ids)
}

// AttrResult is the outcome of setting or deleting attributes.
type AttrResult struct {
	Success []string          `json:"successKeys"`
	Errors  map[string]string `json:"errorKeys"`
}

// Attrs returns a room's attributes (members, app token).
func (s *Service) Attrs(ctx context.Context, p *tenant.Principal, id string, keys []string) (map[string]string, error) {
	c, role, err := s.room(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if role == "" {
		return nil, errs.New(protocol.ErrNotRoomMember, "only members read a chat room's attributes")
	}
	list, err := s.st.Rooms().Attrs(ctx, c.r.ID, keys)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, a := range list {
		out[a.Key] = a.Value
	}
	return out, nil
}

// SetAttrs sets attributes as a member (≤10 per call, ≤100 per room).
// Without force a key another member set stays theirs; force needs the
// owner, an admin or the app token. autoDelete removes the keys when the
// member leaves.
func (s *Service) SetAttrs(ctx context.Context, p *tenant.Principal, id, username string, set map[string]string, autoDelete, force bool) (*AttrResult, error) {
	c, role, err := s.room(ctx, p, id)
	if err != nil {
		return nil, err
	}
	uid, uname, err := s.users.Resolve(ctx, p.App, username)
	if err != nil {
		return nil, err
	}
	if !p.Admin && uid != p.UserID {
		return nil, errs.New(protocol.ErrForbidden, "a user sets attributes as themself")
	}
	if c.roles[uid] == "" {
		return nil, errs.New(protocol.ErrNotRoomMember, "%s has not joined the chat room", uname)
	}
	if force {
		if err := requireAdmin(role); err != nil {
			return nil, err
		}
	}
	if len(set) == 0 || len(set) > MaxAttrsPerCall {
		return nil, errs.New(protocol.ErrIllegalArgument, "give 1..%d attributes", MaxAttrsPerCall)
	}
	existing, err := s.st.Rooms().Attrs(ctx, c.r.ID, nil)
	if err != nil {
		return nil, err
	}
	have := map[string]bool{}
	for _, a := range existing {
		have[a.Key] = true
	}
	res := &AttrResult{Success: []string{}, Errors: map[string]string{}}
	var put []store.RoomAttr
	now := s.now().UnixMilli()
	for k, v := range set {
		switch {
		case k == "" || len([]rune(k)) > MaxAttrKeyChars:
			res.Errors[k] = "keys are 1..128 characters"
		case len([]rune(v)) > MaxAttrValChars:
			res.Errors[k] = "values are at most 4096 characters"
		case !have[k] && len(have) >= MaxAttrs:
			res.Errors[k] = "a chat room holds at most 100 attributes"
		default:
			have[k] = true
			put = append(put, store.RoomAttr{Key: k, Value: v, Owner: uid, AutoDelete: autoDelete, Updated: now})
		}
	}
	refused, err := s.st.Rooms().PutAttrs(ctx, c.r.ID, put, force)
	if err != nil {
		return nil, err
	}
	skip := map[string]bool{}
	for _, k := range refused {
		skip[k] = true
		res.Errors[k] = "another member set this key"
	}
	changed := map[string]string{}
	for _, a := range put {
		if !skip[a.Key] {
			res.Success = append(res.Success, a.Key)
			changed[a.Key] = a.Value
		}
	}
	if len(changed) > 0 {
		s.event(c.r.AppID, c.r.ID, protocol.RoomEvent{Kind: protocol.RoomAttrsSet, Attrs: changed, By: uname})
	}
	return res, nil
}

// DeleteAttrs deletes attributes (the member's own; force: anyone's, by
// owner, admins, app token).
func (s *Service) DeleteAttrs(ctx context.Context, p *tenant.Principal, id, username string, keys []string, force bool) (*AttrResult, error) {
	c, role, err := s.room(ctx, p, id)
	if err != nil {
		return nil, err
	}
	uid, uname, err := s.users.Resolve(ctx, p.App, username)
	if err != nil {
		return nil, err
	}
	if !p.Admin && uid != p.UserID {
		return nil, errs.New(protocol.ErrForbidden, "a user deletes attributes as themself")
	}
	if force {
		if err := requireAdmin(role); err != nil {
			return nil, err
		}
	}
	if len(keys) == 0 || len(keys) > MaxAttrsPerCall {
		return nil, errs.New(protocol.ErrIllegalArgument, "give 1..%d keys", MaxAttrsPerCall)
	}
	deleted, refused, err := s.st.Rooms().DeleteAttrs(ctx, c.r.ID, uid, keys, force)
	if err != nil {
		return nil, err
	}
	res := &AttrResult{Success: append([]string{}, deleted...), Errors: map[string]string{}}
	for _, k := range refused {
		res.Errors[k] = "no such key of yours"
	}
	if len(deleted) > 0 {
		s.event(c.r.AppID, c.r.ID, protocol.RoomEvent{Kind: protocol.RoomAttrsDeleted, Keys: deleted, By: uname})
	}
	return res, nil
}
