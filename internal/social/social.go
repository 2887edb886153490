// Package social is the people side of Parley: friends and friend
// requests, block lists, user attributes, presence (subscriptions and a
// custom status) and global mutes, plus the per-user event stream that
// carries their changes to every device, including devices that were
// offline. It also answers messaging's question "may this user send to that
// one?" (Gate). It knows nothing of transports.
package social

import (
	"context"
	"encoding/json"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/parleyim/parley/internal/bus"
	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/idgen"
	"github.com/parleyim/parley/internal/messaging"
	"github.com/parleyim/parley/internal/presence"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/internal/users"
	"github.com/parleyim/parley/protocol"
)

// Limits (docs/rest.md and docs/protocol.md, "People").
const (
	MaxContacts      = 3000 // friends per user
	MaxBlocked       = 500  // block list per user
	MaxRemarkChars   = 100
	MaxReasonChars   = 256
	MaxBatchUsers    = 100 // usernames per batch call (block, attributes, presence)
	MaxImport        = 10  // usernames per contacts import
	MaxSubscriptions = 3000
	MaxExpirySeconds = 30 * 24 * 3600
	MaxStatusBytes   = 1024
	// EventRetention is how long stored events are kept; a device offline
	// longer reloads its lists instead.
	EventRetention = 30 * 24 * time.Hour
	// cacheTTL bounds how stale another node's view of a block list or mute
	// can be (this node's own changes clear its cache at once).
	cacheTTL = 10 * time.Second
)

// Service is the social domain service.
type Service struct {
	inv   *bus.Invalidator
	st    store.Store
	bus   bus.Bus
	users *users.Service
	ids   *idgen.Gen
	dir   presence.Directory
	log   *slog.Logger
	now   func() time.Time

	blocks   cache[int64, map[int64]bool] // owner -> blocked
	mutes    cache[int64, store.Mute]     // user -> mute (zero: none)
	friends  cache[[2]int64, bool]        // (a, b) -> friends
	presence chan presenceChange
	stop     chan struct{}
	wg       sync.WaitGroup
}

// New builds the service and starts its presence notifier.
func New(st store.Store, b bus.Bus, u *users.Service, ids *idgen.Gen, dir presence.Directory, log *slog.Logger) *Service {
	s := &Service{st: st, bus: b, users: u, ids: ids, dir: dir, log: log, now: time.Now,
		presence: make(chan presenceChange, 4096), stop: make(chan struct{})}
	s.wg.Add(1)
	go s.notifyPresence()
	return s
}

// Close stops the background work.
func (s *Service) Close() {
	close(s.stop)
	s.wg.Wait()
}

// cache is a small map with expiring entries.
type cache[K comparable, V any] struct {
	mu sync.Mutex
	m  map[K]cached[V]
}

type cached[V any] struct {
	v       V
	expires time.Time
}

func (c *cache[K, V]) get(k K, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok || now.After(e.expires) {
		var zero V
		return zero, false
	}
	return e.v, true
}

func (c *cache[K, V]) put(k K, v V, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 100_000 {
		c.m = map[K]cached[V]{}
	}
	c.m[k] = cached[V]{v: v, expires: now.Add(cacheTTL)}
}

func (c *cache[K, V]) drop(k K) {
	c.mu.Lock()
	delete(c.m, k)
	c.mu.Unlock()
}

// self resolves the user a call acts on: a user token acts on itself (and
// may name itself), an app token on the named user.
func (s *Service) self(ctx context.Context, p *tenant.Principal, username string) (int64, string, error) {
	if p.Anonymous() {
		return 0, "", errs.New(protocol.ErrUnauthorized, "this call needs a token")
	}
	if !p.Admin {
		if username != "" {
			if n, err := users.NormalizeUsername(username); err != nil {
				return 0, "", err
			} else if n != p.Username {
				return 0, "", errs.New(protocol.ErrForbidden, "a user token may only act for its own user")
			}
		}
		return p.UserID, p.Username, nil
	}
	if username == "" {
		return 0, "", errs.New(protocol.ErrIllegalArgument, "username must be provided")
	}
	return s.users.Resolve(ctx, p.App, username)
}

// userOnly refuses app tokens for calls that are a user's own action.
func userOnly(p *tenant.Principal) error {
	if p.Anonymous() || p.Admin {
		return errs.New(protocol.ErrForbidden, "this call needs a user token")
	}
	return nil
}

// resolveMany resolves usernames (at most max), returning IDs in order and
// the names that are not users.
func (s *Service) resolveMany(ctx context.Context, app *tenant.App, names []string, max int) (ids []int64, canon []string, missing []string, err error) {
	if len(names) == 0 {
		return nil, nil, nil, errs.New(protocol.ErrIllegalArgument, "usernames must list at least one user")
	}
	if len(names) > max {
		return nil, nil, nil, errs.New(protocol.ErrIllegalArgument, "at most %d usernames per call, got %d", max, len(names))
	}
	seen := map[int64]bool{}
	for _, n := range names {
		id, name, err := s.users.Resolve(ctx, app, n)
		if errs.Is(err, protocol.ErrUserNotFound) {
			missing = append(missing, n)
			continue
		}
		if err != nil {
			return nil, nil, nil, err
		}
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
			canon = append(canon, name)
		}
	}
	return ids, canon, missing, nil
}

// names maps user IDs to usernames (deleted users are left out).
func (s *Service) names(ctx context.Context, appID int64, ids []int64) (map[int64]string, error) {
	return s.st.Users().Names(ctx, appID, ids)
}

// event builds a stored event for one user.
func (s *Service) event(appID, userID int64, e protocol.Event) store.Event {
	now := s.now().UnixMilli()
	e.TS = now
	id := s.ids.Next()
	e.ID = strconv.FormatInt(id, 10)
	b, _ := json.Marshal(e)
	return store.Event{ID: id, AppID: appID, UserID: userID, Payload: b, Created: now}
}

// publish pushes stored events to their users' online devices (skipping
// the device that caused them). Failures only cost the live push: devices
// get the events on their next events request.
func (s *Service) publish(appID int64, skip string, evs []store.Event) {
	for _, e := range evs {
		frame := append(append([]byte(`{"t":"event","event":`), e.Payload...), '}')
		if err := s.bus.Publish(context.Background(), messaging.UserSubject(appID, e.UserID), messaging.EncodeDeliver(skip, frame)); err != nil {
			s.log.Warn("publish event", "err", err)
		}
	}
}

// Events returns the caller's events after the cursor (docs/protocol.md,
// "Events"): "" (everything retained), "now" (nothing: just a cursor for
// what comes next), "<stamp>" (a new round: rewound by
// messaging.SyncWindow, so events committed late are not missed; clients
// drop IDs they have), "c<stamp>" (the next page of a round).
func (s *Service) Events(ctx context.Context, p *tenant.Principal, since string, limit int) (*protocol.EventsResult, error) {
	if err := userOnly(p); err != nil {
		return nil, err
	}
	if limit == 0 {
		limit = 100
	}
	if limit < 1 || limit > messaging.MaxPageLimit {
		return nil, errs.New(protocol.ErrIllegalArgument, "limit must be 1..%d", messaging.MaxPageLimit)
	}
	if since == "now" {
		// A cursor for "from now on", for devices that want no history.
		return &protocol.EventsResult{T: protocol.FrameEventsResult, Events: []*protocol.Event{},
			Next: strconv.FormatInt(idgen.FromTime(s.now()), 10)}, nil
	}
	var after int64
	if since != "" && since != "0" {
		exact := strings.HasPrefix(since, "c")
		v, err := strconv.ParseInt(strings.TrimPrefix(since, "c"), 10, 64)
		if err != nil || v < 0 {
			return nil, errs.New(protocol.ErrIllegalArgument, "since %q is not a cursor this server issued", since)
		}
		after = v
		if !exact {
			after = max(0, v-idgen.FromTime(time.UnixMilli(idgen.Epoch).Add(messaging.SyncWindow)))
		}
	}
	evs, err := s.st.Social().Events(ctx, p.UserID, after, limit+1)
	if err != nil {
		return nil, err
	}
	// App-wide broadcasts join the user's own events, in ID order.
	bcs, err := s.st.Rooms().Broadcasts(ctx, p.App.ID, after, s.now().Add(-BroadcastRetention).UnixMilli(), limit+1)
	if err != nil {
		return nil, err
	}
	if len(bcs) > 0 {
		evs = append(evs, s.broadcastEvents(ctx, p.App.ID, bcs)...)
		sort.Slice(evs, func(i, j int) bool { return evs[i].ID < evs[j].ID })
	}
	res := &protocol.EventsResult{T: protocol.FrameEventsResult, Events: []*protocol.Event{}}
	if len(evs) > limit {
		evs, res.More = evs[:limit], true
	}
	top := after
	for _, e := range evs {
		var w protocol.Event
		if json.Unmarshal(e.Payload, &w) == nil {
			res.Events = append(res.Events, &w)
		}
		top = e.ID
	}
	if res.More {
		res.Next = "c" + strconv.FormatInt(top, 10)
	} else {
		res.Next = strconv.FormatInt(max(top, idgen.FromTime(s.now())), 10)
	}
	return res, nil
}

// BroadcastRetention is how long app-wide broadcasts wait for offline
// users.
const BroadcastRetention = 7 * 24 * time.Hour

// broadcastEvents turns stored broadcasts into events.
func (s *Service) broadcastEvents(ctx context.Context, appID int64, bcs []store.Broadcast) []store.Event {
	ids := make([]int64, len(bcs))
	for i, b := range bcs {
		ids[i] = b.From
	}
	names, _ := s.names(ctx, appID, ids)
	out := make([]store.Event, len(bcs))
	for i, b := range bcs {
		it := &protocol.Item{Kind: protocol.ItemMsg, MsgID: strconv.FormatInt(b.ID, 10), ChatType: protocol.ChatTypeChat,
			From: names[b.From], Type: b.Type, TS: b.Created}
		if len(b.Body) > 0 {
			it.Body = json.RawMessage(b.Body)
		}
		if len(b.Ext) > 0 {
			it.Ext = json.RawMessage(b.Ext)
		}
		payload, _ := json.Marshal(protocol.Event{ID: strconv.FormatInt(b.ID, 10), Kind: protocol.EventBroadcast, Item: it,
			From: it.From, TS: b.Created})
		out[i] = store.Event{ID: b.ID, AppID: appID, Payload: payload, Created: b.Created}
	}
	return out
}

// RunJanitor prunes old events daily until ctx ends.
func (s *Service) RunJanitor(ctx context.Context) {
	t := time.NewTicker(24 * time.Hour)
	defer t.Stop()
	for {
		if n, err := s.st.Social().PruneEvents(ctx, s.now().Add(-EventRetention).UnixMilli()); err != nil {
			s.log.Warn("prune events", "err", err)
		} else if n > 0 {
			s.log.Info("pruned old events", "events", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Emit records an event for each of users and pushes it to their online
// devices (skipping the device that caused it). Failures are logged: the
// change it reports has happened.
func (s *Service) Emit(ctx context.Context, appID int64, skip string, users []int64, e protocol.Event) {
	if len(users) == 0 {
		return
	}
	evs := make([]store.Event, len(users))
	for i, u := range users {
		evs[i] = s.event(appID, u, e)
	}
	if err := s.st.Social().AddEvents(ctx, evs); err != nil {
		s.log.Error("record events", "kind", e.Kind, "err", err)
		return
	}
	s.publish(appID, skip, evs)
}

// MutedUntil returns when a user's global mute for a chat type ends (0:
// not muted).
func (s *Service) MutedUntil(ctx context.Context, userID int64, chatType string) (int64, error) {
	return s.mutedUntil(ctx, userID, chatType)
}

// UseInvalidator shares cache invalidations with the other nodes.
func (s *Service) UseInvalidator(iv *bus.Invalidator) {
	s.inv = iv
	id := func(key string) int64 { v, _ := strconv.ParseInt(key, 10, 64); return v }
	iv.On("blocks", func(key string) { s.blocks.drop(id(key)) })
	iv.On("mute", func(key string) { s.mutes.drop(id(key)) })
	iv.On("friends", func(key string) {
		a, b, _ := strings.Cut(key, ":")
		s.friends.drop([2]int64{id(a), id(b)})
	})
}

// dropBlocks forgets owner's cached block list, here and on every node.
func (s *Service) dropBlocks(owner int64) {
	s.blocks.drop(owner)
	s.inv.Publish("blocks", strconv.FormatInt(owner, 10))
}

// dropMute forgets a user's cached mute, here and on every node.
func (s *Service) dropMute(user int64) {
	s.mutes.drop(user)
	s.inv.Publish("mute", strconv.FormatInt(user, 10))
}

// dropFriends forgets whether a and b are friends, here and on every node.
func (s *Service) dropFriends(a, b int64) {
	k := [2]int64{min(a, b), max(a, b)}
	s.friends.drop(k)
	s.inv.Publish("friends", strconv.FormatInt(k[0], 10)+":"+strconv.FormatInt(k[1], 10))
}
