// Package ws is the WebSocket gateway: it upgrades connections, speaks the
// client protocol (docs/protocol.md), and delivers bus events to the local
// sessions of each user. It holds connections and nothing else: every rule
// is in the domain services it calls.
package ws

import (
	"context"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/parleyim/parley/internal/bus"
	"github.com/parleyim/parley/internal/messaging"
	"github.com/parleyim/parley/internal/obs"
	"github.com/parleyim/parley/internal/presence"
	"github.com/parleyim/parley/protocol"
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

	// OnPresence, if set, is told when a user's first device connects
	// (online) and when their last disconnects. It is called under the
	// hub's lock: it must not block or call back into the hub.
	OnPresence func(appID, userID int64, online bool)
	// OnDevice, if set, is told of every device that connects ("up"),
	// disconnects ("down") or changes its background flag ("bg"), under
	// the hub's lock (cluster presence: presence.Replica.Changed).
	OnDevice func(kind string, appID, userID int64, d presence.Device)
	// Remote, if set, lists a user's devices on other nodes and the node
	// (owner) holding each; Owner is this node's. The device limit then
	// counts them, and pushes out the oldest wherever it is.
	Remote func(appID, userID int64) ([]presence.Device, []string)
	Owner  string
	// GroupMembers, if set, returns a group's members and those who
	// shielded it, for delivering group items (internal/groups).
	GroupMembers func(appID, groupID int64) (members map[int64]string, shielded map[int64]bool)
	groupSub     bus.Subscription
	// RoomMembers, if set, returns a chat room's members (internal/rooms).
	RoomMembers func(appID, roomID int64) map[int64]string
	roomSub     bus.Subscription
	fanout      chan fanoutJob
	fanoutOnce  sync.Once
	idleWriters []*session // room fan-out: sessions whose writer it must start (fan-out goroutine only)
}

// SubscribeBroadcasts starts delivering app-wide broadcasts to this node's
// sessions.
func (h *Hub) SubscribeBroadcasts() error {
	_, err := h.bus.Subscribe(messaging.BroadcastSubject, func(_ string, data []byte) { h.deliverBroadcast(data) })
	return err
}

// broadcastPace is how many sessions a broadcast reaches per tick, so a
// broadcast to a million users trickles out instead of stalling live
// traffic (about 200,000 sessions a second).
const (
	broadcastChunk = 1000
	broadcastTick  = 5 * time.Millisecond
)

// deliverBroadcast hands a broadcast to every session of the app here, in
// paced chunks on its own goroutine.
func (h *Hub) deliverBroadcast(ev []byte) {
	appID, frame, ok := messaging.DecodeBroadcast(ev)
	if !ok {
		return
	}
	var targets []*session
	h.mu.Lock()
	for k, e := range h.users {
		if k.app == appID {
			targets = append(targets, e.sessions...)
		}
	}
	h.mu.Unlock()
	go func() {
		for i := 0; i < len(targets); i += broadcastChunk {
			if i > 0 {
				time.Sleep(broadcastTick)
			}
			for _, s := range targets[i:min(i+broadcastChunk, len(targets))] {
				s.enqueue(frame)
			}
		}
	}()
}

// SubscribeRooms starts delivering chat room traffic to this node's
// sessions of each room's members.
func (h *Hub) SubscribeRooms() error {
	h.startFanout()
	sub, err := h.bus.Subscribe(messaging.RoomSubject, func(_ string, data []byte) { h.fanout <- fanoutJob{room: data} })
	h.roomSub = sub
	return err
}

// deliverRoom hands one room frame to the members connected here. Room
// traffic never closes a connection: a member whose queue is filling gets
// low-priority messages dropped first, then normal ones (counted).
func (h *Hub) deliverRoom(ev []byte) {
	d, ok := messaging.DecodeRoomDeliver(ev)
	if !ok || h.RoomMembers == nil {
		return
	}
	members := h.RoomMembers(d.AppID, d.RoomID)
	if len(members) == 0 {
		return
	}
	targets := h.localMembers(d.AppID, members, d.SkipUser, d.SkipResource, nil)
	dropped := 0
	for _, s := range targets {
		queued, start := s.queueShed(d.Frame, d.Priority)
		if !queued {
			dropped++
		}
		if start {
			h.idleWriters = append(h.idleWriters, s)
		}
	}
	if dropped > 0 {
		h.metrics.RoomDropped.WithLabelValues(priorityName(d.Priority)).Add(float64(dropped))
	}
	h.metrics.RoomDeliveries.Add(float64(len(targets) - dropped))
}

func priorityName(p byte) string {
	switch p {
	case messaging.PriorityLow:
		return "low"
	case messaging.PriorityHigh:
		return "high"
	}
	return "normal"
}

// localMembers gathers the sessions of members connected here, under one
// lock, iterating whichever is smaller: this node's users or the members.
func (h *Hub) localMembers(appID int64, members map[int64]string, skipUser int64, skipResource string, shielded map[int64]bool) []*session {
	var targets []*session
	take := func(uid int64, e *userEntry) {
		if shielded[uid] && uid != skipUser {
			return
		}
		for _, s := range e.sessions {
			if uid == skipUser && s.p.Resource == skipResource {
				continue
			}
			targets = append(targets, s)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.users) < len(members) {
		for k, e := range h.users {
			if k.app == appID && members[k.user] != "" {
				take(k.user, e)
			}
		}
	} else {
		for uid := range members {
			if e := h.users[userKey{appID, uid}]; e != nil {
				take(uid, e)
			}
		}
	}
	return targets
}

// SubscribeGroups starts delivering group items from the bus to this
// node's sessions of each group's members.
func (h *Hub) SubscribeGroups() error {
	h.startFanout()
	sub, err := h.bus.Subscribe(messaging.GroupSubject, func(_ string, data []byte) { h.fanout <- fanoutJob{group: data} })
	h.groupSub = sub
	return err
}

// fanoutWakeEvery bounds how many events of a backlog the fan-out queues
// before it starts the writers of the sessions it queued room frames for.
const fanoutWakeEvery = 32

// fanoutJob is one group or room event for the fan-out goroutine.
type fanoutJob struct{ group, room []byte }

// startFanout starts the goroutine that delivers group and room events,
// in arrival order, so the bus handler (the store's announcer, which also
// sends acks) never waits for a big fan-out. The queue is bounded: when it
// is full, publishers wait.
func (h *Hub) startFanout() {
	h.fanoutOnce.Do(func() {
		h.fanout = make(chan fanoutJob, 4096)
		go func() {
			n := 0
			for j := range h.fanout {
				if j.group != nil {
					h.deliverGroup(j.group)
				} else {
					h.deliverRoom(j.room)
				}
				// Room frames of a backlog are queued first and written
				// after: a member's writer then finds several frames (one
				// writev for a burst, not one per message). A lone message
				// starts the writers at once; a backlog waits at most
				// fanoutWakeEvery events, and fewer than a quarter of a
				// send queue (the share low-priority frames may fill), so
				// deferring never sheds a frame.
				every := fanoutWakeEvery
				if len(h.idleWriters) > 0 {
					every = max(1, min(every, h.idleWriters[0].maxQueue/4))
				}
				if n++; len(h.fanout) == 0 || n >= every {
					for _, s := range h.idleWriters {
						go s.writeLoop()
					}
					clear(h.idleWriters)
					h.idleWriters, n = h.idleWriters[:0], 0
				}
			}
		}()
	})
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
	targets := h.localMembers(d.AppID, members, d.SkipUser, d.SkipResource, shielded)
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
	var remote []presence.Device
	var owners []string
	if h.Remote != nil {
		remote, owners = h.Remote(k.app, k.user)
	}
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
	// Devices on other nodes: one with this resource is replaced (it is
	// this device, reconnected here); the others count toward the limit.
	type other struct {
		since int64
		local *session
		res   string
	}
	var all []other
	for _, o := range kept {
		all = append(all, other{since: o.since, local: o})
	}
	for i, d := range remote {
		if d.Resource == s.p.Resource {
			h.kickRemote(k, d.Resource, owners[i], protocol.CloseReplaced, "the same resource logged in again")
			continue
		}
		all = append(all, other{since: d.Since, res: d.Resource})
	}
	if len(all) >= limit {
		if reject {
			e.sessions = kept
			h.dropIfEmpty(k, e)
			return evicted, true, nil
		}
		sort.SliceStable(all, func(i, j int) bool { return all[i].since < all[j].since })
		n := len(all) - limit + 1
		out := map[*session]bool{}
		for _, o := range all[:n] {
			if o.local != nil {
				out[o.local] = true
				continue
			}
			for i, d := range remote {
				if d.Resource == o.res {
					h.kickRemote(k, o.res, owners[i], protocol.CloseTooMany, "device limit reached: a newer device logged in")
				}
			}
		}
		next := kept[:0:0]
		for _, o := range kept {
			if out[o] {
				evicted = append(evicted, o)
				h.changed("down", k, o)
			} else {
				next = append(next, o)
			}
		}
		kept = next
	}
	first := len(e.sessions) == 0
	e.sessions = append(kept, s)
	h.changed("up", k, s)
	if first && h.OnPresence != nil {
		h.OnPresence(k.app, k.user, true)
	}
	return evicted, false, nil
}

// kickRemote asks the node owner to close a user's device there.
func (h *Hub) kickRemote(k userKey, resource, owner string, code int, reason string) {
	h.bus.Publish(context.Background(), messaging.UserSubject(k.app, k.user),
		messaging.EncodeKick(messaging.KickEvent{Resource: resource, Node: owner, Code: code, Reason: reason}))
}

// changed reports a local device change to OnDevice; the caller holds h.mu.
func (h *Hub) changed(kind string, k userKey, s *session) {
	if h.OnDevice != nil {
		h.OnDevice(kind, k.app, k.user, s.device())
	}
}

// setBackground records a device's background flag and reports it.
func (h *Hub) setBackground(s *session, on bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s.background.Swap(on) == on {
		return
	}
	k := userKey{s.p.App.ID, s.p.UserID}
	if e := h.users[k]; e != nil && slices.Contains(e.sessions, s) {
		h.changed("bg", k, s)
	}
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
			h.changed("down", k, s)
			break
		}
	}
	h.dropIfEmpty(k, e)
}

// Snapshot implements presence.Local: fn gets every device connected
// here, under the lock that orders OnDevice reports.
func (h *Hub) Snapshot(fn func([]presence.Entry)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	var all []presence.Entry
	for k, e := range h.users {
		for _, s := range e.sessions {
			all = append(all, presence.Entry{App: k.app, User: k.user, Device: s.device()})
		}
	}
	fn(all)
}

func (h *Hub) dropIfEmpty(k userKey, e *userEntry) {
	if len(e.sessions) == 0 {
		if e.sub != nil {
			e.sub.Unsubscribe()
		}
		delete(h.users, k)
		if h.OnPresence != nil {
			h.OnPresence(k.app, k.user, false)
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
		if kick.Node != "" && kick.Node != h.Owner {
			return // meant for the device on another node
		}
		for _, s := range h.sessionsOf(k) {
			if kick.Resource == "" || kick.Resource == s.p.Resource {
				s.shutdown(kick.Code, kick.Reason, notify)
			}
		}
	}
}

// Foreground reports whether a user has a device connected here that has
// not said it is in the background (such users get no push).
func (h *Hub) Foreground(appID, userID int64) bool {
	for _, s := range h.sessionsOf(userKey{appID, userID}) {
		if !s.background.Load() {
			return true
		}
	}
	return false
}

// Census counts the users and connections on this node.
func (h *Hub) Census(context.Context) presence.Census {
	h.mu.Lock()
	defer h.mu.Unlock()
	c := presence.Census{Nodes: 1, Users: len(h.users)}
	for _, e := range h.users {
		c.Devices += len(e.sessions)
	}
	return c
}

// Devices implements presence.Directory for this node.
func (h *Hub) Devices(_ context.Context, appID, userID int64) ([]presence.Device, error) {
	var out []presence.Device
	for _, s := range h.sessionsOf(userKey{appID, userID}) {
		out = append(out, s.device())
	}
	return out, nil
}

func (s *session) device() presence.Device {
	return presence.Device{Resource: s.p.Resource, Platform: s.platform, DeviceName: s.deviceName,
		Since: s.since, Background: s.background.Load()}
}
