// Package rooms is chat rooms: large, transient rooms for live streaming.
// Members, roles, mutes, lists and attributes are stored; messages are not
// (there is no offline storage and no unread count): a member who joins
// gets the last few messages, kept in memory on every node from the room's
// live traffic. Members without a connected device for longer than a grace
// period leave automatically, unless allow-listed.
package rooms

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/parleyim/parley/internal/bus"
	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/messaging"
	"github.com/parleyim/parley/internal/presence"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/internal/users"
	"github.com/parleyim/parley/protocol"
)

// Limits (docs/rest.md, "Chat rooms").
const (
	DefaultMaxUsers = 1000
	MaxBatch        = 60
	MaxRemoveBatch  = 100
	MaxNameChars    = 128
	MaxDescChars    = 512
	MaxAnnounce     = 512
	MaxCustomChars  = 1024
	MaxAttrs        = 100 // attributes per room
	MaxAttrsPerCall = 10
	MaxAttrKeyChars = 128
	MaxAttrValChars = 4096
	cacheTTL        = 10 * time.Second
	// coalesce is how long member join/leave events wait to be sent
	// together, so a big room's churn costs one frame per interval.
	coalesce = 200 * time.Millisecond
)

// Service is the chat rooms domain service.
type Service struct {
	inv   *bus.Invalidator
	st    store.Store
	bus   bus.Bus
	apps  *tenant.Service
	users *users.Service
	msgs  *messaging.Service
	dir   presence.Directory
	log   *slog.Logger
	now   func() time.Time
	ids   func() int64
	// OnMembers, if set, hears the member changes this node announces
	// (kind members_joined or members_left; coalesced, at most 100 users):
	// the room_member callback. It must not block.
	OnMembers func(appID, roomID int64, kind string, users []string)

	mu       sync.Mutex
	cache    map[int64]*cached
	recent   map[int64]*ring        // room -> last messages (frames)
	offline  map[[2]int64]time.Time // (app, user) -> since when no device
	pending  map[int64]*churn       // room -> coalesced member events
	stop     chan struct{}
	done     chan struct{}
	roomsSub bus.Subscription
	limits   limiter
	gen      map[int64]uint64 // bumped by forget: a load that began before a change is not cached
	epoch    uint64
	// refreshing marks rooms whose expired entry a background load is
	// replacing.
	refreshing map[int64]bool
}

type cached struct {
	r       store.Room
	roles   map[int64]string
	mutes   map[int64]int64
	allow   map[int64]bool
	expires time.Time
}

// New builds the service; Start begins its background work.
func New(st store.Store, b bus.Bus, apps *tenant.Service, u *users.Service, m *messaging.Service, dir presence.Directory,
	ids func() int64, log *slog.Logger) *Service {
	return &Service{st: st, bus: b, apps: apps, users: u, msgs: m, dir: dir, log: log, now: time.Now, ids: ids, cache: map[int64]*cached{}, refreshing: map[int64]bool{},
		recent: map[int64]*ring{}, offline: map[[2]int64]time.Time{}, pending: map[int64]*churn{},
		stop: make(chan struct{}), done: make(chan struct{}), gen: map[int64]uint64{}}
}

// Start subscribes to room traffic (to keep recent messages) and starts
// the janitor that removes members offline past the grace period.
func (s *Service) Start() error {
	sub, err := s.bus.Subscribe(messaging.RoomSubject, func(_ string, data []byte) { s.remember(data) })
	if err != nil {
		return err
	}
	s.roomsSub = sub
	go s.run()
	return nil
}

// Close stops the background work.
func (s *Service) Close() {
	if s.roomsSub != nil {
		s.roomsSub.Unsubscribe()
		close(s.stop)
		<-s.done
	}
}

func (s *Service) run() {
	defer close(s.done)
	flush := time.NewTicker(coalesce)
	sweep := time.NewTicker(time.Second)
	defer flush.Stop()
	defer sweep.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-flush.C:
			s.flushChurn()
		case <-sweep.C:
			s.sweepOffline()
		}
	}
}

// load returns a room with its members and lists, from the cache. An
// expired entry is served while a background load refreshes it, so a big
// room's sends, joins and fan-out never wait for a reload of its members;
// membership changes patch the entry (patch) instead of dropping it.
func (s *Service) load(ctx context.Context, appID, id int64) (*cached, error) {
	now := s.now()
	s.mu.Lock()
	c := s.cache[id]
	if c != nil && c.r.AppID == appID && !now.Before(c.expires) && !s.refreshing[id] {
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
	if c != nil && c.r.AppID == appID {
		return c, nil
	}
	return s.fetch(ctx, appID, id)
}

// fetch reads a room, its members and allow list into the cache.
func (s *Service) fetch(ctx context.Context, appID, id int64) (*cached, error) {
	now := s.now()
	s.mu.Lock()
	gen, epoch := s.gen[id], s.epoch
	s.mu.Unlock()
	r, err := s.st.Rooms().Get(ctx, appID, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errs.New(protocol.ErrRoomNotFound, "chat room %d doesn't exist", id)
	}
	if err != nil {
		return nil, err
	}
	c := &cached{r: *r, roles: map[int64]string{}, mutes: map[int64]int64{}, allow: map[int64]bool{}, expires: now.Add(cacheTTL)}
	var after int64
	for {
		page, err := s.st.Rooms().Members(ctx, id, after, 5000)
		if err != nil {
			return nil, err
		}
		for _, m := range page {
			c.roles[m.UserID] = m.Role
			if m.MuteUntil != 0 {
				c.mutes[m.UserID] = m.MuteUntil
			}
		}
		if len(page) < 5000 {
			break
		}
		after = page[len(page)-1].UserID
	}
	allow, err := s.st.Rooms().ListUsers(ctx, id, store.ListAllow)
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

// forget drops a room from the cache after a change, here and on every
// other node.
func (s *Service) forget(id int64) {
	s.forgetLocal(id)
	s.inv.Publish("room", strconv.FormatInt(id, 10))
}

// UseInvalidator shares cache invalidations with the other nodes.
func (s *Service) UseInvalidator(iv *bus.Invalidator) {
	s.inv = iv
	iv.On("room", func(key string) {
		if id, err := strconv.ParseInt(key, 10, 64); err == nil {
			s.forgetLocal(id)
		}
	})
	iv.On("roomsender", func(key string) {
		app, name, ok := strings.Cut(key, ":")
		if id, err := strconv.ParseInt(app, 10, 64); ok && err == nil {
			s.forgetSenderLocal(id, name)
		}
	})
	iv.On("roommembers", func(key string) {
		var d delta
		if json.Unmarshal([]byte(key), &d) == nil && d.Room > 0 {
			s.patchLocal(d.Room, d.Members, d.Added, d.Removed)
		}
	})
}

func (s *Service) forgetLocal(id int64) {
	s.mu.Lock()
	delete(s.cache, id)
	s.changedLocked(id)
	s.mu.Unlock()
}

// changedLocked marks a room changed, so that a load which read it before
// the change does not cache what it read. The caller holds s.mu.
func (s *Service) changedLocked(id int64) {
	if len(s.gen) > 100_000 {
		s.gen = map[int64]uint64{}
		s.epoch++
	}
	s.gen[id]++
}

// patch applies a membership change to the cached room instead of dropping
// it (a big room with steady joins would otherwise reload all its members
// on every join), here and on every other node. members is the room's new
// member count.
func (s *Service) patch(id int64, members int, added, removed []int64) {
	s.patchLocal(id, members, added, removed)
	if s.inv != nil {
		b, _ := json.Marshal(delta{Room: id, Members: members, Added: added, Removed: removed})
		s.inv.Publish("roommembers", string(b))
	}
}

// delta is a membership change as announced to the other nodes.
type delta struct {
	Room    int64   `json:"r"`
	Members int     `json:"n"`
	Added   []int64 `json:"a,omitempty"`
	Removed []int64 `json:"d,omitempty"`
}

// patchLocal replaces the cached entry by a copy with the change: the old
// maps may be in use (LiveMembers hands them out), so they are not
// modified.
func (s *Service) patchLocal(id int64, members int, added, removed []int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changedLocked(id)
	c := s.cache[id]
	if c == nil {
		return
	}
	n := &cached{r: c.r, roles: make(map[int64]string, len(c.roles)+len(added)), mutes: c.mutes, allow: c.allow,
		expires: c.expires}
	maps.Copy(n.roles, c.roles)
	for _, u := range added {
		if _, ok := n.roles[u]; !ok {
			n.roles[u] = store.RoleMember
		}
	}
	for _, u := range removed {
		delete(n.roles, u)
		if _, ok := n.mutes[u]; ok {
			n.mutes = maps.Clone(n.mutes)
			delete(n.mutes, u)
		}
	}
	n.r.Members = members
	s.cache[id] = n
}

func parseID(v string) (int64, error) {
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.New(protocol.ErrRoomNotFound, "chat room id %q doesn't exist", v)
	}
	return id, nil
}

// actor is the caller's role in a room ("" for non-members; owner for
// app tokens).
func (s *Service) room(ctx context.Context, p *tenant.Principal, id string) (*cached, string, error) {
	if p.Anonymous() {
		return nil, "", errs.New(protocol.ErrUnauthorized, "this call needs a token")
	}
	rid, err := parseID(id)
	if err != nil {
		return nil, "", err
	}
	c, err := s.load(ctx, p.App.ID, rid)
	if err != nil {
		return nil, "", err
	}
	if p.Admin {
		return c, store.RoleOwner, nil
	}
	return c, c.roles[p.UserID], nil
}

func requireAdmin(role string) error {
	if role != store.RoleOwner && role != store.RoleAdmin {
		return errs.New(protocol.ErrRoomForbidden, "only the room's owner and admins may do this")
	}
	return nil
}

func checkText(field, v string, max int) error {
	if !utf8.ValidString(v) || utf8.RuneCountInString(v) > max {
		return errs.New(protocol.ErrIllegalArgument, "%s must be valid UTF-8 of at most %d characters", field, max)
	}
	return nil
}

func (s *Service) resolve(ctx context.Context, app *tenant.App, names []string, max int) ([]int64, []string, error) {
	if len(names) == 0 {
		return nil, nil, errs.New(protocol.ErrIllegalArgument, "usernames must list at least one user")
	}
	if len(names) > max {
		return nil, nil, errs.New(protocol.ErrIllegalArgument, "at most %d usernames per call, got %d", max, len(names))
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
			ids, canon = append(ids, id), append(canon, name)
		}
	}
	return ids, canon, nil
}

func (s *Service) nameList(ctx context.Context, appID int64, ids []int64) ([]string, error) {
	m, err := s.st.Users().Names(ctx, appID, ids)
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

// event publishes a live room event (not stored) to the room's members.
func (s *Service) event(appID, roomID int64, e protocol.RoomEvent) {
	if s.OnMembers != nil && (e.Kind == protocol.RoomMembersJoined || e.Kind == protocol.RoomMembersLeft) {
		s.OnMembers(appID, roomID, e.Kind, e.Users)
	}
	e.Room = strconv.FormatInt(roomID, 10)
	e.TS = s.now().UnixMilli()
	frame := encodeRoomEvent(e)
	if err := s.bus.Publish(context.Background(), messaging.RoomSubject,
		messaging.EncodeRoomDeliver(appID, roomID, 0, "", messaging.PriorityHigh, frame)); err != nil {
		s.log.Warn("room event", "err", err)
	}
}

func encodeRoomEvent(e protocol.RoomEvent) []byte {
	b, _ := json.Marshal(protocol.RoomEventFrame{T: protocol.FrameRoomEvent, Event: &e})
	return b
}
