package rooms

import (
	"context"
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/messaging"
	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// Broadcasts (Easemob's three kinds), each with Easemob's rate limits per
// app: to every chat room (10 a minute, 100 a day), to every user of the
// app, stored so offline users get it on their next events fetch (1 per 30
// minutes, 3 a day), and to online users only (1 a minute, 50 a day).
// Gateways deliver an app-wide broadcast at a controlled pace so it does not
// stall live traffic.

// BroadcastRetention is how long an app-wide broadcast waits for offline
// users.
const BroadcastRetention = 7 * 24 * time.Hour

// Broadcast kinds.
const (
	ToRooms  = "rooms"
	ToUsers  = "users"
	ToOnline = "online"
)

type limit struct {
	window time.Duration
	max    int
}

var broadcastLimits = map[string][]limit{
	ToRooms:  {{time.Minute, 10}, {24 * time.Hour, 100}},
	ToUsers:  {{30 * time.Minute, 1}, {24 * time.Hour, 3}},
	ToOnline: {{time.Minute, 1}, {24 * time.Hour, 50}},
}

// limiter remembers recent broadcasts per app and kind (this node).
type limiter struct {
	mu   sync.Mutex
	sent map[string][]time.Time
}

func (l *limiter) allow(key string, limits []limit, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sent == nil {
		l.sent = map[string][]time.Time{}
	}
	var kept []time.Time
	for _, t := range l.sent[key] {
		if now.Sub(t) < 24*time.Hour {
			kept = append(kept, t)
		}
	}
	l.sent[key] = kept
	for _, lim := range limits {
		n := 0
		var oldest time.Time
		for _, t := range kept {
			if now.Sub(t) < lim.window {
				if n == 0 || t.Before(oldest) {
					oldest = t
				}
				n++
			}
		}
		if n >= lim.max {
			return lim.window - now.Sub(oldest), false
		}
	}
	l.sent[key] = append(kept, now)
	return 0, true
}

// Message is a broadcast's content.
type Message struct {
	Type  string
	Body  json.RawMessage
	Ext   json.RawMessage
	Level string // rooms: chatroom_msg_level
}

// Broadcast sends an app-wide message (app token) and returns its ID.
func (s *Service) Broadcast(ctx context.Context, p *tenant.Principal, kind, from string, m Message) (string, error) {
	if err := p.RequireAdmin(); err != nil {
		return "", err
	}
	body, ext, err := messaging.Validate(p.App, m.Type, m.Body, m.Ext)
	if err != nil {
		return "", err
	}
	prio, err := messaging.ParsePriority(m.Level)
	if err != nil {
		return "", err
	}
	if from == "" {
		from = "admin"
	}
	fromID, fromName, err := s.users.Resolve(ctx, p.App, from)
	if errs.Is(err, protocol.ErrUserNotFound) && from == "admin" {
		u, cerr := s.users.CreateForGrant(ctx, p.App, "admin")
		if cerr != nil {
			return "", cerr
		}
		fromID, fromName, err = u.ID, u.Username, nil
	}
	if err != nil {
		return "", err
	}
	if wait, ok := s.limits.allow(strconv.FormatInt(p.App.ID, 10)+"/"+kind, broadcastLimits[kind], s.now()); !ok {
		return "", errs.New(protocol.ErrRateLimited, "broadcast limit reached; next one allowed in %s", wait.Round(time.Second))
	}
	id := s.ids()
	it := store.Item{ID: id, AppID: p.App.ID, Kind: store.ItemMsg, From: fromID, Type: m.Type, Body: body, Ext: ext,
		Created: s.now().UnixMilli()}
	switch kind {
	case ToRooms:
		rooms, err := s.st.Rooms().All(ctx, p.App.ID)
		if err != nil {
			return "", err
		}
		for _, rid := range rooms {
			w := s.msgs.WireItem(&it, fromName, strconv.FormatInt(rid, 10), protocol.ChatTypeRoom)
			w.Priority = m.Level
			frame, _ := json.Marshal(protocol.ItemFrame{T: protocol.FrameItem, Item: w})
			if err := s.bus.Publish(ctx, messaging.RoomSubject, messaging.EncodeRoomDeliver(p.App.ID, rid, 0, "", prio, frame)); err != nil {
				return "", err
			}
		}
	case ToUsers, ToOnline:
		if kind == ToUsers {
			if err := s.st.Rooms().AddBroadcast(ctx, &store.Broadcast{ID: id, AppID: p.App.ID, From: fromID, Type: m.Type,
				Body: body, Ext: ext, Created: it.Created}); err != nil {
				return "", err
			}
		}
		ev := BroadcastEvent(s.msgs.WireItem(&it, fromName, "", protocol.ChatTypeChat), id, kind == ToUsers)
		frame, _ := json.Marshal(protocol.EventFrame{T: protocol.FrameEvent, Event: ev})
		if err := s.bus.Publish(ctx, messaging.BroadcastSubject, messaging.EncodeBroadcast(p.App.ID, frame)); err != nil {
			return "", err
		}
	default:
		return "", errs.New(protocol.ErrIllegalArgument, "unknown broadcast kind %q", kind)
	}
	return strconv.FormatInt(id, 10), nil
}

// BroadcastEvent is the event a broadcast reaches users as; stored ones
// carry their ID (the events cursor), so a device gets each once.
func BroadcastEvent(it *protocol.Item, id int64, stored bool) *protocol.Event {
	it.To = ""
	e := &protocol.Event{Kind: protocol.EventBroadcast, Item: it, From: it.From, TS: it.TS}
	if stored {
		e.ID = strconv.FormatInt(id, 10)
	}
	return e
}
