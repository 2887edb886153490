// Package groups is chat groups: creation and settings, membership flows
// (join, apply and approve, invite and accept, quit, kick), roles (owner,
// admins, members), block and allow lists, mutes and mute-all, the
// announcement and member attributes. A group's messages live in its
// conversation stream (messaging); membership changes are notices appended
// to that stream, so every member, online or not, sees them in order.
// Users who are not (or no longer) members hear about what concerns them
// through per-user events (internal/social).
package groups

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/parleyim/parley/internal/bus"
	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/files"
	"github.com/parleyim/parley/internal/idgen"
	"github.com/parleyim/parley/internal/messaging"
	"github.com/parleyim/parley/internal/social"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/internal/users"
	"github.com/parleyim/parley/protocol"
)

// Limits (docs/rest.md, "Groups").
const (
	DefaultMaxUsers   = 200
	MaxMaxUsers       = 10_000 // per group; a larger app raises it in code and docs together
	MaxAdmins         = 100    // owner and admins
	MaxBatch          = 60     // usernames per membership call
	MaxNameChars      = 128
	MaxDescChars      = 512
	MaxAnnounceChars  = 512
	MaxCustomChars    = 1024
	MaxReasonChars    = 256
	MaxGroupsListed   = 1000
	MaxAttrKeyBytes   = 16
	MaxAttrValueBytes = 512
	MaxAttrsBytes     = 4096
	cacheTTL          = 10 * time.Second
)

// Notice types in a group's stream (item kind "notice", Type below).
const (
	NoticeCreated      = "group_created"
	NoticeJoined       = "member_joined"
	NoticeLeft         = "member_left"
	NoticeRemoved      = "member_removed"
	NoticeOwner        = "owner_changed"
	NoticeAdminAdded   = "admin_added"
	NoticeAdminRemoved = "admin_removed"
	NoticeMuted        = "member_muted"
	NoticeUnmuted      = "member_unmuted"
	NoticeMuteAll      = "mute_all"
	NoticeUnmuteAll    = "unmute_all"
	NoticeAnnouncement = "announcement"
	NoticeUpdated      = "group_updated"
	NoticeDisabled     = "group_disabled"
	NoticeEnabled      = "group_enabled"
)

// Service is the groups domain service.
type Service struct {
	inv    *bus.Invalidator
	st     store.Store
	bus    bus.Bus
	users  *users.Service
	social *social.Service
	msgs   *messaging.Service
	ids    *idgen.Gen
	log    *slog.Logger
	now    func() time.Time
	// Files stores shared files.
	Files *files.Service
	// Callbacks, if set, gives the group_member callback job stored with
	// a membership notice (internal/callback).
	Callbacks messaging.Callbacks

	mu         sync.Mutex
	cache      map[int64]*cached // group ID -> members and settings
	refreshing map[int64]bool
	gen        map[int64]uint64 // bumped by forget: a load that began before a change is not cached
	epoch      uint64           // bumped when gen is reset
}

// cached is what the send path and fan-out need about a group.
type cached struct {
	g       store.Group
	roles   map[int64]string
	mutes   map[int64]int64
	shield  map[int64]bool
	allow   map[int64]bool
	expires time.Time
}

// New builds the service.
func New(st store.Store, b bus.Bus, u *users.Service, so *social.Service, m *messaging.Service, ids *idgen.Gen, log *slog.Logger) *Service {
	return &Service{st: st, bus: b, users: u, social: so, msgs: m, ids: ids, log: log, now: time.Now, cache: map[int64]*cached{},
		refreshing: map[int64]bool{}, gen: map[int64]uint64{}}
}

// load returns a group's cached view, loading it if needed. An expired
// entry is served while a background load refreshes it, so a big group's
// sends and fan-out never wait for a reload (changes made on this node
// drop the entry, so they are seen at once).
func (s *Service) load(ctx context.Context, appID, id int64) (*cached, error) {
	now := s.now()
	s.mu.Lock()
	c := s.cache[id]
	if c != nil && c.g.AppID == appID && !now.Before(c.expires) && !s.refreshing[id] {
		s.refreshing[id] = true
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := s.fetch(ctx, appID, id); err != nil {
				s.forgetLocal(id) // gone or failing: the next caller loads it
			}
			s.mu.Lock()
			delete(s.refreshing, id)
			s.mu.Unlock()
		}()
	}
	s.mu.Unlock()
	if c != nil && c.g.AppID == appID {
		return c, nil
	}
	return s.fetch(ctx, appID, id)
}

// fetch reads a group and its members into the cache.
func (s *Service) fetch(ctx context.Context, appID, id int64) (*cached, error) {
	now := s.now()
	s.mu.Lock()
	gen, epoch := s.gen[id], s.epoch
	s.mu.Unlock()
	g, err := s.st.Groups().Get(ctx, appID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.New(protocol.ErrGroupNotFound, "group %d doesn't exist", id)
	}
	if err != nil {
		return nil, err
	}
	c := &cached{g: *g, roles: map[int64]string{}, mutes: map[int64]int64{}, shield: map[int64]bool{}, allow: map[int64]bool{},
		expires: now.Add(cacheTTL)}
	var after int64
	for {
		page, err := s.st.Groups().Members(ctx, id, after, 5000)
		if err != nil {
			return nil, err
		}
		for _, m := range page {
			c.roles[m.UserID] = m.Role
			if m.MuteUntil > 0 {
				c.mutes[m.UserID] = m.MuteUntil
			}
			if m.Shield {
				c.shield[m.UserID] = true
			}
		}
		if len(page) < 5000 {
			break
		}
		after = page[len(page)-1].UserID
	}
	allow, err := s.st.Groups().ListUsers(ctx, id, store.ListAllow)
	if err != nil {
		return nil, err
	}
	for _, u := range allow {
		c.allow[u] = true
	}
	s.mu.Lock()
	if len(s.cache) > 10_000 {
		s.cache = map[int64]*cached{}
	}
	if s.gen[id] == gen && s.epoch == epoch { // nothing changed meanwhile
		s.cache[id] = c
	}
	s.mu.Unlock()
	return c, nil
}

// forget drops a group from the cache after a change, here and (through
// the invalidator) on every other node.
func (s *Service) forget(id int64) {
	s.forgetLocal(id)
	s.inv.Publish("group", strconv.FormatInt(id, 10))
}

// UseInvalidator shares cache invalidations with the other nodes.
func (s *Service) UseInvalidator(iv *bus.Invalidator) {
	s.inv = iv
	iv.On("group", func(key string) {
		if id, err := strconv.ParseInt(key, 10, 64); err == nil {
			s.forgetLocal(id)
		}
	})
}

func (s *Service) forgetLocal(id int64) {
	s.mu.Lock()
	delete(s.cache, id)
	if len(s.gen) > 100_000 {
		s.gen = map[int64]uint64{}
		s.epoch++
	}
	s.gen[id]++
	s.mu.Unlock()
}

// parseID reads a group ID from the wire.
func parseID(v string) (int64, error) {
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.New(protocol.ErrGroupNotFound, "group id %q doesn't exist", v)
	}
	return id, nil
}

// caller is who acts: an app admin (UserID 0) or a member with a role.
type caller struct {
	p    *tenant.Principal
	role string // "" when not a member; RoleOwner for app admins
}

func (c caller) admin() bool { return c.role == store.RoleOwner || c.role == store.RoleAdmin }

// actor resolves the caller's role in a group.
func (s *Service) actor(ctx context.Context, p *tenant.Principal, grp *cached) (caller, error) {
	if p.Anonymous() {
		return caller{}, errs.New(protocol.ErrUnauthorized, "this call needs a token")
	}
	if p.Admin {
		return caller{p: p, role: store.RoleOwner}, nil
	}
	return caller{p: p, role: grp.roles[p.UserID]}, nil
}

// requireAdmin allows the owner, the group's admins and app admins.
func requireAdmin(c caller) error {
	if !c.admin() {
		return errs.New(protocol.ErrGroupForbidden, "only the group's owner and admins may do this")
	}
	return nil
}

func requireOwner(c caller) error {
	if c.role != store.RoleOwner {
		return errs.New(protocol.ErrGroupForbidden, "only the group's owner may do this")
	}
	return nil
}

// notice builds a stream notice by the caller.
func (s *Service) notice(g *store.Group, by int64, typ string, body map[string]any) *store.AppendOp {
	b, _ := json.Marshal(body)
	op := &store.AppendOp{Item: store.Item{ID: s.ids.Next(), AppID: g.AppID, ConvID: g.ConvID, Kind: store.ItemNotice,
		From: by, To: g.ID, Type: typ, Body: b, Created: s.now().UnixMilli()}}
	switch typ {
	case NoticeCreated, NoticeJoined, NoticeLeft, NoticeRemoved:
		if s.Callbacks != nil {
			op.Callback = s.Callbacks.JobFor(context.Background(), g.AppID, CallbackMember, g.ID)
		}
	}
	return op
}

// CallbackMember is the callback event of membership notices.
const CallbackMember = "group_member"

// announce pushes a committed notice to the group's online members.
func (s *Service) announce(ctx context.Context, g *store.Group, op *store.AppendOp) {
	if op != nil && op.Item.Seq > 0 {
		s.msgs.PublishGroupItem(ctx, g.AppID, g.ID, &op.Item, "")
		if op.Callback != nil {
			s.Callbacks.Poke()
		}
	}
}

func checkText(field, v string, max int) error {
	if !utf8.ValidString(v) || utf8.RuneCountInString(v) > max {
		return errs.New(protocol.ErrIllegalArgument, "%s must be valid UTF-8 of at most %d characters", field, max)
	}
	return nil
}

// resolve resolves usernames (at most MaxBatch) to IDs; unknown names are
// an error.
func (s *Service) resolve(ctx context.Context, app *tenant.App, names []string) ([]int64, []string, error) {
	if len(names) == 0 {
		return nil, nil, errs.New(protocol.ErrIllegalArgument, "usernames must list at least one user")
	}
	if len(names) > MaxBatch {
		return nil, nil, errs.New(protocol.ErrIllegalArgument, "at most %d usernames per call, got %d", MaxBatch, len(names))
	}
	var ids []int64
	var canon []string
	seen := map[int64]bool{}
	for _, n := range names {
		id, name, err := s.users.Resolve(ctx, app, n)
		if err != nil {
			return nil, nil, err
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
			canon = append(canon, name)
		}
	}
	return ids, canon, nil
}

// names maps IDs to usernames.
func (s *Service) names(ctx context.Context, appID int64, ids []int64) (map[int64]string, error) {
	return s.st.Users().Names(ctx, appID, ids)
}

func (s *Service) nameList(ctx context.Context, appID int64, ids []int64) ([]string, error) {
	m, err := s.names(ctx, appID, ids)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if n, ok := m[id]; ok {
			out = append(out, n)
		}
	}
	return out, nil
}
