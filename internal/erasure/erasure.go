// Package erasure erases a user completely (a privacy request): it ends
// their group and room memberships through those services (so members see
// notices and counts stay right), dissolves the groups and deletes the
// rooms they own (as Easemob does when it deletes a user), then removes
// the account and what the database holds about them in one transaction
// (store.UserStore.Erase) and finally deletes the bytes of the files they
// uploaded. It is idempotent up to the account's removal: a failure before
// it leaves the user deactivated, and the call can be repeated.
package erasure

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/files"
	"github.com/parleyim/parley/internal/groups"
	"github.com/parleyim/parley/internal/rooms"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/internal/users"
	"github.com/parleyim/parley/protocol"
)

// Service erases users.
type Service struct {
	st     store.Store
	users  *users.Service
	groups *groups.Service
	rooms  *rooms.Service
	files  *files.Service
	log    *slog.Logger
}

// New builds the service.
func New(st store.Store, u *users.Service, g *groups.Service, r *rooms.Service, f *files.Service, log *slog.Logger) *Service {
	return &Service{st: st, users: u, groups: g, rooms: r, files: f, log: log}
}

// Result says what an erasure removed.
type Result struct {
	// User is the erased account as it was.
	User store.User
	// Messages counts the messages (and edits) turned into tombstones.
	Messages int64
	// Files counts the uploaded files deleted.
	Files int
	// GroupsDissolved and RoomsDeleted are the IDs of those the user owned.
	GroupsDissolved []string
	RoomsDeleted    []string
	// GroupsLeft and RoomsLeft count the memberships ended in others'.
	GroupsLeft, RoomsLeft int
}

// pageSize is how many groups or rooms are read at a time.
const pageSize = 100

// Erase erases one user (app token only). Not found: ErrUserNotFound.
func (s *Service) Erase(ctx context.Context, p *tenant.Principal, username string) (*Result, error) {
	if err := p.RequireAdmin(); err != nil {
		return nil, err
	}
	u, err := s.users.Get(ctx, p, username)
	if err != nil {
		return nil, err
	}
	// Stop them first: no new token verifies, their connections close, so
	// nothing they send lands after their messages are tombstoned.
	if _, err := s.users.SetActivated(ctx, p, u.Username, false); err != nil {
		return nil, err
	}
	res := &Result{}
	if err := s.endGroups(ctx, p, u, res); err != nil {
		return nil, err
	}
	if err := s.endRooms(ctx, p, u, res); err != nil {
		return nil, err
	}
	er, err := s.users.Erase(ctx, p, u.Username)
	if err != nil {
		return nil, err
	}
	// Room messages are not stored, but every node keeps each room's
	// last ones for joiners.
	s.rooms.ForgetSender(p.App.ID, er.User.Username)
	s.files.Erased(ctx, er.Files, er.Released)
	res.User, res.Messages, res.Files = er.User, er.Messages, len(er.Files)
	s.log.Info("user erased", "app", p.App.ID, "user", er.User.ID, "messages", res.Messages, "files", res.Files,
		"groups_dissolved", len(res.GroupsDissolved), "rooms_deleted", len(res.RoomsDeleted))
	return res, nil
}

// place is a group or room the user belongs to.
type place struct {
	id    int64
	owner int64
}

// ends says how to end the user's memberships of one kind of place.
type ends struct {
	kind string // for errors: "group", "room"
	// page lists the user's places from an offset.
	page func(off int) ([]place, error)
	// dissolve ends a place the user owns; leave removes them from another.
	dissolve func(id string) error
	leave    func(id string) error
	// gone are the errors that say the place or membership went away
	// meanwhile.
	gone []protocol.ErrorKind
}

// end dissolves the places the user owns and removes them from the
// others; it returns the IDs dissolved and how many were left.
func end(u *store.User, e ends) (dissolved []string, left int, err error) {
	var all []place
	for off := 0; ; off += pageSize {
		list, err := e.page(off)
		if err != nil {
			return nil, 0, err
		}
		all = append(all, list...)
		if len(list) < pageSize {
			break
		}
	}
	for _, pl := range all {
		id := strconv.FormatInt(pl.id, 10)
		var err error
		if pl.owner == u.ID {
			if err = e.dissolve(id); err == nil {
				dissolved = append(dissolved, id)
			}
		} else if err = e.leave(id); err == nil {
			left++
		}
		if err != nil && !gone(err, e.gone...) {
			return nil, 0, fmt.Errorf("%s %s: %w", e.kind, id, err)
		}
	}
	return dissolved, left, nil
}

// endGroups dissolves the groups the user owns and removes them from the
// others.
func (s *Service) endGroups(ctx context.Context, p *tenant.Principal, u *store.User, res *Result) (err error) {
	res.GroupsDissolved, res.GroupsLeft, err = end(u, ends{
		kind: "group",
		page: func(off int) ([]place, error) {
			list, _, err := s.st.Groups().OfUser(ctx, p.App.ID, u.ID, off, pageSize)
			out := make([]place, len(list))
			for i, g := range list {
				out[i] = place{g.ID, g.Owner}
			}
			return out, err
		},
		dissolve: func(id string) error { return s.groups.Dissolve(ctx, p, id) },
		leave: func(id string) error {
			_, err := s.groups.RemoveMembers(ctx, p, id, []string{u.Username})
			return err
		},
		gone: []protocol.ErrorKind{protocol.ErrGroupNotFound, protocol.ErrNotGroupMember},
	})
	return err
}

// endRooms deletes the rooms the user owns and removes them from the
// others.
func (s *Service) endRooms(ctx context.Context, p *tenant.Principal, u *store.User, res *Result) (err error) {
	res.RoomsDeleted, res.RoomsLeft, err = end(u, ends{
		kind: "room",
		page: func(off int) ([]place, error) {
			list, err := s.st.Rooms().OfUser(ctx, p.App.ID, u.ID, off, pageSize)
			out := make([]place, len(list))
			for i, r := range list {
				out[i] = place{r.ID, r.Owner}
			}
			return out, err
		},
		dissolve: func(id string) error { return s.rooms.Delete(ctx, p, id) },
		leave: func(id string) error {
			_, err := s.rooms.RemoveMembers(ctx, p, id, []string{u.Username})
			return err
		},
		gone: []protocol.ErrorKind{protocol.ErrRoomNotFound, protocol.ErrNotRoomMember},
	})
	return err
}

// gone reports whether err says the group or room, or the membership, went
// away meanwhile.
func gone(err error, kinds ...protocol.ErrorKind) bool {
	for _, k := range kinds {
		if errs.Is(err, k) {
			return true
		}
	}
	return false
}
