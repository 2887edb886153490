// Package ws is the WebSocket gateway: it upgrades connections, speaks the
// client protocol (docs/protocol.md), and delivers bus events to the local
// sessions of each user. It holds connections and nothing else: every rule
// is in the domain services it calls.
package ws

import (
	"context"
	"log/slog"
	"sync"

	"github.com/parleyim/parley/internal/bus"
	"github.com/parleyim/parley/internal/messaging"
	"github.com/parleyim/parley/internal/obs"
	"github.com/parleyim/parley/internal/presence"
)

type userKey struct{ app, user int64 }

type userEntry struct {
	sessions []*session // oldest first
	sub      bus.Subscription
}

// Hub tracks this node's sessions per user and feeds them from the bus.
//
// Lock order: Hub.mu, then session.mu. Bus handlers take Hub.mu only to
// copy a user's sessions, then enqueue without it.
type Hub struct {
	bus     bus.Bus
	log     *slog.Logger
	metrics *obs.Metrics

	mu    sync.Mutex
	users map[userKey]*userEntry

	// OnPresence, if set, is told when a user's first device connects and
	// when their last disconnects (it must not block).
	OnPresence func(appID, userID int64)
	// GroupMembers, if set, returns a group's members and those who
	// shielded it, for delivering group items (internal/groups).
	GroupMembers func(appID, groupID int64) (members map[int64]string, shielded map[int64]bool)
	groupSub     bus.Subscription
}

// SubscribeGroups starts delivering group items from the bus to this
// node's sessions of each group's members.
func (h *Hub) SubscribeGroups() error {
	sub, err := h.bus.Subscribe(messaging.GroupSubject, func(_ string, data []byte) { h.deliverGroup(data) })
	h.groupSub = sub
	return err
}

// deliverGroup hands one group item to the members connected here: one
// encoded frame shared by all, sessions gathered under one lock.
func (h *Hub) deliverGroup(ev []byte) {
	d, ok := messaging.DecodeGroupDeliver(ev)
	if !ok || h.GroupMembers == nil {
		return
	}
	members, shielded := h.GroupMembers(d.AppID, d.GroupID)
	if len(members) == 0 {
		return
	}
	var targets []*session
	take := func(uid int64, e *userEntry) {
		if shielded[uid] && uid != d.SkipUser {
			return
		}
		for _, s := range e.sessions {
			if uid == d.SkipUser && s.p.Resource == d.SkipResource {
				continue
			}
			targets = append(targets, s)
		}
	}
	h.mu.Lock()
	if len(h.users) < len(members) {
		for k, e := range h.users {
			if k.app == d.AppID && members[k.user] != "" {
				take(k.user, e)
			}
		}
	} else {
		for uid := range members {
			if e := h.users[userKey{d.AppID, uid}]; e != nil {
				take(uid, e)
			}
		}
	}
	h.mu.Unlock()
	for _, s := range targets {
		s.enqueue(d.Frame)
	}
	h.metrics.GroupDeliveries.Add(float64(len(targets)))
}

var _ presence.Directory = (*Hub)(nil)

// NewHub builds a hub.
func NewHub(b bus.Bus, log *slog.Logger, m *obs.Metrics) *Hub {
	return &Hub{bus: b, log: log, metrics: m, users: map[userKey]*userEntry{}}
}

// register adds an authenticated session, applying the device rules: a
// session with the same resource is replaced; over the limit, the oldest is
// pushed out or the newcomer refused. It returns the sessions to close.
func (h *Hub) register(s *session, limit int, reject bool) (evicted []*session, refused bool, err error) {
	k := userKey{s.p.App.ID, s.p.UserID}
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.users[k]
	if e == nil {
		e = &userEntry{}
		sub, err := h.bus.Subscribe(messaging.UserSubject(k.app, k.user), func(_ string, data []byte) { h.deliver(k, data) })
		if err != nil {
			return nil, false, err
		}
		e.sub = sub
		h.users[k] = e
	}
	kept := e.sessions[:0:0]
	for _, o := range e.sessions {
		if o.p.Resource == s.p.Resource {
			evicted = append(evicted, o)
			continue
		}
		kept = append(kept, o)
	}
	if len(kept) >= limit {
		if reject {
			e.sessions = kept
			h.dropIfEmpty(k, e)
			return evicted, true, nil
		}
		n := len(kept) - limit + 1
		evicted = append(evicted, kept[:n]...)
		kept = kept[n:]
	}
	first := len(e.sessions) == 0
	e.sessions = append(kept, s)
	if first && h.OnPresence != nil {
		h.OnPresence(k.app, k.user)
	}
	return evicted, false, nil
}

func (h *Hub) unregister(s *session) {
	k := userKey{s.p.App.ID, s.p.UserID}
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.users[k]
	if e == nil {
		return
	}
	for i, o := range e.sessions {
		if o == s {
			e.sessions = append(e.sessions[:i:i], e.sessions[i+1:]...)
			break
		}
	}
	h.dropIfEmpty(k, e)
}

func (h *Hub) dropIfEmpty(k userKey, e *userEntry) {
	if len(e.sessions) == 0 {
		if e.sub != nil {
			e.sub.Unsubscribe()
		}
		delete(h.users, k)
		if h.OnPresence != nil {
			h.OnPresence(k.app, k.user)
		}
	}
}

func (h *Hub) sessionsOf(k userKey) []*session {
	h.mu.Lock()
	defer h.mu.Unlock()
	e := h.users[k]
	if e == nil {
		return nil
	}
	return append([]*session(nil), e.sessions...)
}

// deliver handles one bus event for a user.
func (h *Hub) deliver(k userKey, ev []byte) {
	if len(ev) == 0 {
		return
	}
	switch ev[0] {
	case messaging.EventDeliver:
		skip, frame, ok := messaging.DecodeDeliver(ev)
		if !ok {
			h.log.Warn("malformed deliver event")
			return
		}
		for _, s := range h.sessionsOf(k) {
			if skip != "" && s.p.Resource == skip {
				continue
			}
			s.enqueue(frame)
		}
	case messaging.EventKick:
		kick, ok := messaging.DecodeKick(ev)
		if !ok {
			h.log.Warn("malformed kick event")
			return
		}
		for _, s := range h.sessionsOf(k) {
			if kick.Resource == "" || kick.Resource == s.p.Resource {
				s.shutdown(kick.Code, kick.Reason, notify)
			}
		}
	}
}

// Devices implements presence.Directory for this node.
func (h *Hub) Devices(_ context.Context, appID, userID int64) ([]presence.Device, error) {
	var out []presence.Device
	for _, s := range h.sessionsOf(userKey{appID, userID}) {
		out = append(out, presence.Device{Resource: s.p.Resource, Platform: s.platform, DeviceName: s.deviceName,
			Since: s.since})
	}
	return out, nil
}
