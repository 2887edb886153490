package console

import (
	"context"
	"math"
	"time"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/groups"
	"github.com/parleyim/parley/internal/rooms"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// MaxMembersShown is how many members a group's or room's details list.
const MaxMembersShown = 500

// chats is what the console does with groups and with chat rooms: the
// same pages over two services.
type chats interface {
	search(ctx context.Context, p *tenant.Principal, q, cursor string, limit int) ([]chatItem, string, error)
	details(ctx context.Context, p *tenant.Principal, id string) (any, error)
	members(ctx context.Context, p *tenant.Principal, id string) ([]memberView, error)
	mute(ctx context.Context, p *tenant.Principal, id string, usernames []string, d time.Duration) error
	setAdmin(ctx context.Context, p *tenant.Principal, id, username string, admin bool) error
	announce(ctx context.Context, p *tenant.Principal, id, text string) error
	remove(ctx context.Context, p *tenant.Principal, id string) error
}

type chatItem struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Owner    string `json:"owner"`
	Members  int    `json:"members"`
	Public   bool   `json:"public"`
	Disabled bool   `json:"disabled"`
	Created  int64  `json:"created"`
}

type memberView struct {
	Username string `json:"username"`
	Role     string `json:"role"`
	// MutedUntil is when the member's mute ends (Unix ms; -1: never; 0:
	// not muted).
	MutedUntil int64 `json:"muted_until"`
}

func viewMembers(ms []protocol.GroupMember) []memberView {
	out := make([]memberView, 0, len(ms))
	for _, m := range ms {
		out = append(out, memberView{Username: m.User, Role: m.Role, MutedUntil: m.MuteUntil})
	}
	return out
}

func (h *Handler) chatRoutes() {
	for _, k := range []struct {
		path, noun string
		svc        chats
	}{{"groups", "group", groupChats{h.Groups}}, {"rooms", "room", roomChats{h.Rooms}}} {
		base := appPath + "/" + k.path
		one := base + "/{id}"
		svc, noun := k.svc, k.noun
		h.handle("GET "+base, appRead, "", func(c *call) (any, error) {
			limit, err := c.limit(MaxLimit)
			if err != nil {
				return nil, err
			}
			items, next, err := svc.search(c.ctx(), c.p, c.query("q"), c.query("cursor"), limit)
			if err != nil {
				return nil, err
			}
			return page{Items: items, Cursor: next}, nil
		})
		h.handle("GET "+one, appRead, "", func(c *call) (any, error) {
			return svc.details(c.ctx(), c.p, c.r.PathValue("id"))
		})
		h.handle("POST "+one+"/mute", appChange, noun+".mute", func(c *call) (any, error) {
			var b struct {
				Usernames  []string `json:"usernames"`
				DurationMS *int64   `json:"duration_ms"`
			}
			if err := c.decode(&b); err != nil {
				return nil, err
			}
			if err := required("duration_ms", b.DurationMS != nil); err != nil {
				return nil, err
			}
			if len(b.Usernames) == 0 {
				return nil, errs.New(protocol.ErrIllegalArgument, "usernames must list at least one member")
			}
			ms := *b.DurationMS
			if ms > math.MaxInt64/int64(time.Millisecond) || ms < -1 {
				return nil, errs.New(protocol.ErrIllegalArgument, "duration_ms is out of range")
			}
			c.target, c.detail = c.r.PathValue("id"), map[string]any{"usernames": b.Usernames, "duration_ms": ms}
			return empty{}, svc.mute(c.ctx(), c.p, c.target, b.Usernames, time.Duration(ms)*time.Millisecond)
		})
		h.handle("PUT "+one+"/roles", appChange, noun+".role", func(c *call) (any, error) {
			var b struct {
				Username string `json:"username"`
				Role     string `json:"role"`
			}
			if err := c.decode(&b); err != nil {
				return nil, err
			}
			if b.Role != "admin" && b.Role != "member" {
				return nil, errs.New(protocol.ErrIllegalArgument, "role must be admin or member")
			}
			c.target, c.detail = c.r.PathValue("id"), map[string]any{"username": b.Username, "role": b.Role}
			return empty{}, svc.setAdmin(c.ctx(), c.p, c.target, b.Username, b.Role == "admin")
		})
		h.handle("PUT "+one+"/announcement", appChange, noun+".announcement", func(c *call) (any, error) {
			var b struct {
				Announcement *string `json:"announcement"`
			}
			if err := c.decode(&b); err != nil {
				return nil, err
			}
			if err := required("announcement", b.Announcement != nil); err != nil {
				return nil, err
			}
			c.target = c.r.PathValue("id")
			return empty{}, svc.announce(c.ctx(), c.p, c.target, *b.Announcement)
		})
		h.handle("DELETE "+one, appChange, noun+".delete", func(c *call) (any, error) {
			c.target = c.r.PathValue("id")
			return empty{}, svc.remove(c.ctx(), c.p, c.target)
		})
	}
}

// groupChats adapts internal/groups.
type groupChats struct{ s *groups.Service }

type groupDetail struct {
	*protocol.GroupInfo
	Members []memberView `json:"members"`
}

func (g groupChats) search(ctx context.Context, p *tenant.Principal, q, cursor string, limit int) ([]chatItem, string, error) {
	pg, err := g.s.Search(ctx, p, q, cursor, limit)
	if err != nil {
		return nil, "", err
	}
	items := make([]chatItem, 0, len(pg.Groups))
	for _, in := range pg.Groups {
		items = append(items, chatItem{ID: in.ID, Name: in.Name, Owner: in.Owner, Members: in.Count, Public: in.Public,
			Disabled: in.Disabled, Created: in.Created})
	}
	return items, pg.Cursor, nil
}

func (g groupChats) details(ctx context.Context, p *tenant.Principal, id string) (any, error) {
	in, err := g.s.Info(ctx, p, id)
	if err != nil {
		return nil, err
	}
	in.Affiliations = nil // the members below say more
	ms, err := g.members(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return groupDetail{GroupInfo: in, Members: ms}, nil
}

func (g groupChats) members(ctx context.Context, p *tenant.Principal, id string) ([]memberView, error) {
	ms, _, err := g.s.Members(ctx, p, id, "", MaxMembersShown)
	return viewMembers(ms), err
}

func (g groupChats) mute(ctx context.Context, p *tenant.Principal, id string, usernames []string, d time.Duration) error {
	_, err := g.s.Mute(ctx, p, id, usernames, d)
	return err
}

func (g groupChats) setAdmin(ctx context.Context, p *tenant.Principal, id, username string, admin bool) error {
	return g.s.SetAdmins(ctx, p, id, []string{username}, admin)
}

func (g groupChats) announce(ctx context.Context, p *tenant.Principal, id, text string) error {
	return g.s.SetAnnouncement(ctx, p, id, text)
}

func (g groupChats) remove(ctx context.Context, p *tenant.Principal, id string) error {
	return g.s.Dissolve(ctx, p, id)
}

// roomChats adapts internal/rooms.
type roomChats struct{ s *rooms.Service }

type roomDetail struct {
	*protocol.RoomInfo
	Disabled bool         `json:"disabled"`
	Members  []memberView `json:"members"`
}

func (r roomChats) search(ctx context.Context, p *tenant.Principal, q, cursor string, limit int) ([]chatItem, string, error) {
	pg, err := r.s.Search(ctx, p, q, cursor, limit)
	if err != nil {
		return nil, "", err
	}
	items := make([]chatItem, 0, len(pg.Rooms))
	for _, in := range pg.Rooms {
		items = append(items, chatItem{ID: in.ID, Name: in.Name, Owner: in.Owner, Members: in.Count, Public: in.Public,
			Created: in.Created})
	}
	return items, pg.Cursor, nil
}

func (r roomChats) details(ctx context.Context, p *tenant.Principal, id string) (any, error) {
	found, _, err := r.s.Details(ctx, p, []string{id})
	if err != nil {
		return nil, err
	}
	if len(found) == 0 {
		return nil, errs.New(protocol.ErrRoomNotFound, "chat room %s doesn't exist", id)
	}
	in := found[0]
	in.Affiliations = nil
	ms, err := r.members(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return roomDetail{RoomInfo: in, Members: ms}, nil
}

func (r roomChats) members(ctx context.Context, p *tenant.Principal, id string) ([]memberView, error) {
	ms, _, err := r.s.Members(ctx, p, id, "", MaxMembersShown)
	return viewMembers(ms), err
}

func (r roomChats) mute(ctx context.Context, p *tenant.Principal, id string, usernames []string, d time.Duration) error {
	_, err := r.s.Mute(ctx, p, id, usernames, d)
	return err
}

func (r roomChats) setAdmin(ctx context.Context, p *tenant.Principal, id, username string, admin bool) error {
	return r.s.SetAdmins(ctx, p, id, []string{username}, admin)
}

func (r roomChats) announce(ctx context.Context, p *tenant.Principal, id, text string) error {
	return r.s.SetAnnouncement(ctx, p, id, text)
}

func (r roomChats) remove(ctx context.Context, p *tenant.Principal, id string) error {
	return r.s.Delete(ctx, p, id)
}
