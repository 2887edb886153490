package callback

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/parleyim/parley/internal/store"
	"github.com/parleyim/parley/protocol"
)

// hint is what an unexpanded job carries besides its item.
type hint struct {
	Group int64 `json:"group,omitempty"`
}

// JobFor returns the unexpanded job to store with an item of an app, or nil
// when no rule wants it. event is EventChat (a message; chat_offline is
// decided when the job runs), EventRecall or EventGroupMember; group is the
// group's ID for a group's item (0 for 1:1).
func (s *Service) JobFor(ctx context.Context, appID int64, event string, group int64) *store.CallbackJob {
	events := []string{event}
	if event == EventChat {
		events = append(events, EventOffline)
	}
	if !s.wanted(ctx, appID, events...) {
		return nil
	}
	now := s.now().UnixMilli()
	j := &store.CallbackJob{Event: event, NextAt: now, Created: now}
	if group != 0 {
		j.Payload, _ = json.Marshal(hint{Group: group})
	}
	return j
}

// Poke wakes the worker (a job was committed).
func (s *Service) Poke() {
	select {
	case s.poke <- struct{}{}:
	default:
	}
}

// Presence reports a user's first device connecting (online) or last
// disconnecting on this node: login and logout events. It never blocks
// (the hub calls it under its lock); see emit.
func (s *Service) Presence(appID, userID int64, online bool) {
	ev := EventLogout
	if online {
		ev = EventLogin
	}
	s.emit(appID, ev, map[string]any{"user_id": strconv.FormatInt(userID, 10), "uid": userID})
}

// RoomMembers reports a chat room membership change: change is "joined",
// "left" or "removed", users are usernames.
func (s *Service) RoomMembers(appID, roomID int64, change string, users []string) {
	s.emit(appID, EventRoomMember, map[string]any{"room_id": strconv.FormatInt(roomID, 10), "change": change, "users": users})
}

// emit queues an event that is not part of a stored item (logins, room
// membership). It is stored by the emitter goroutine right after; if the
// queue is full or the node dies first, the event is lost (counted as
// dropped). Item events never take this path.
func (s *Service) emit(appID int64, event string, fields map[string]any) {
	// Only the cache: the caller may hold a lock. An app not cached yet is
	// decided by the emitter.
	s.mu.RLock()
	c, known := s.rules[appID]
	s.mu.RUnlock()
	if known && s.now().Sub(c.at) < rulesTTL && !slices.ContainsFunc(c.rules, func(r Rule) bool { return r.wants(event) }) {
		return
	}
	now := s.now().UnixMilli()
	b, _ := json.Marshal(fields)
	select {
	case s.emits <- store.CallbackJob{ID: s.ids(), AppID: appID, Event: event, Payload: b, NextAt: now, Created: now}:
	default:
		s.count(event, "dropped")
	}
}

// runEmitter stores emitted events, one job per rule that wants each.
func (s *Service) runEmitter(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			// Store what is queued (logouts of a draining node) before
			// stopping, for at most a few seconds.
			stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			for len(s.emits) > 0 && stop.Err() == nil {
				s.storeEmitted(stop, nil)
			}
			return
		case j := <-s.emits:
			s.storeEmitted(ctx, []store.CallbackJob{j})
		}
	}
}

// storeEmitted stores batch and whatever else is queued (up to 256 events).
func (s *Service) storeEmitted(ctx context.Context, batch []store.CallbackJob) {
more:
	for len(batch) < 256 {
		select {
		case j := <-s.emits:
			batch = append(batch, j)
		default:
			break more
		}
	}
	var jobs []store.CallbackJob
	for _, j := range batch {
		var fields map[string]any
		json.Unmarshal(j.Payload, &fields)
		if uid, ok := fields["uid"].(float64); ok {
			delete(fields, "uid")
			if u, err := s.st.Users().GetByID(ctx, j.AppID, int64(uid)); err == nil {
				fields["user"] = u.Username
			}
		}
		more, err := s.fanOut(ctx, j, fields)
		if err != nil {
			s.log.Warn("callback event", "event", j.Event, "err", err)
			s.count(j.Event, "dropped")
			continue
		}
		jobs = append(jobs, more...)
	}
	if err := s.st.Callbacks().AddJobs(context.WithoutCancel(ctx), jobs); err != nil {
		s.log.Warn("store callback events", "err", err, "events", len(batch))
		for _, j := range batch {
			s.count(j.Event, "dropped")
		}
		return
	}
	if len(jobs) > 0 {
		s.Poke()
	}
}

// fanOut builds an event's body and one job per rule of the app that
// wants it.
func (s *Service) fanOut(ctx context.Context, j store.CallbackJob, fields map[string]any) ([]store.CallbackJob, error) {
	rules, err := s.appRules(ctx, j.AppID)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(rules, func(r Rule) bool { return r.wants(j.Event) }) {
		return nil, nil
	}
	app, err := s.st.Apps().Get(ctx, j.AppID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	appkey := app.Org + "#" + app.Name
	id := strconv.FormatInt(j.ID, 10)
	fields["id"] = id
	fields["eventType"] = j.Event
	fields["callId"] = appkey + "_" + id
	fields["appkey"] = appkey
	fields["timestamp"] = j.Created
	body, _ := json.Marshal(fields)
	var out []store.CallbackJob
	for i := range rules {
		if rules[i].wants(j.Event) {
			out = append(out, store.CallbackJob{ID: j.ID, Rule: rules[i].Name, AppID: j.AppID, Event: j.Event, ItemID: j.ItemID,
				Payload: body, NextAt: s.now().UnixMilli(), Created: j.Created})
		}
	}
	return out, nil
}

// expand turns an unexpanded item job into its events' per-rule jobs.
func (s *Service) expand(ctx context.Context, j store.CallbackJob) error {
	it, err := s.st.Messages().Item(ctx, j.AppID, j.ItemID)
	if errors.Is(err, store.ErrNotFound) {
		return s.st.Callbacks().Expand(ctx, j.ID, nil)
	}
	if err != nil {
		return err
	}
	var h hint
	if len(j.Payload) > 0 {
		json.Unmarshal(j.Payload, &h)
	}
	ids := []int64{it.From}
	if h.Group == 0 {
		ids = append(ids, it.To)
	}
	names, err := s.st.Users().Names(ctx, j.AppID, ids)
	if err != nil {
		return err
	}
	from := names[it.From]
	if from == "" {
		from = "admin"
	}
	base := func() map[string]any {
		f := map[string]any{"from": from, "chat_type": protocol.ChatTypeChat, "to": names[it.To]}
		if h.Group != 0 {
			g := strconv.FormatInt(h.Group, 10)
			f["chat_type"], f["to"], f["group_id"] = protocol.ChatTypeGroup, g, g
		}
		return f
	}
	var jobs []store.CallbackJob
	switch j.Event {
	case EventChat:
		if it.Kind != store.ItemMsg {
			break
		}
		f := base()
		f["msg_id"] = strconv.FormatInt(it.ID, 10)
		f["msg_timestamp"] = it.Created
		f["payload"] = messagePayload(it.Type, it.Body, it.Ext)
		if jobs, err = s.fanOut(ctx, store.CallbackJob{ID: it.ID, AppID: j.AppID, Event: EventChat, ItemID: it.ID, Created: it.Created}, f); err != nil {
			return err
		}
		offline, err := s.offline(ctx, j.AppID, h.Group, it)
		if err != nil {
			return err
		}
		if len(offline) > 0 {
			off := map[string]any{}
			for k, v := range f {
				off[k] = v
			}
			off["offline_users"] = offline
			more, err := s.fanOut(ctx, store.CallbackJob{ID: s.ids(), AppID: j.AppID, Event: EventOffline, ItemID: it.ID,
				Created: s.now().UnixMilli()}, off)
			if err != nil {
				return err
			}
			jobs = append(jobs, more...)
		}
	case EventRecall:
		f := base()
		f["msg_id"] = strconv.FormatInt(it.Target, 10)
		f["recall_id"] = strconv.FormatInt(it.ID, 10)
		if jobs, err = s.fanOut(ctx, store.CallbackJob{ID: it.ID, AppID: j.AppID, Event: EventRecall, ItemID: it.ID, Created: it.Created}, f); err != nil {
			return err
		}
	case EventGroupMember:
		g := strconv.FormatInt(it.To, 10)
		f := map[string]any{"group_id": g, "change": it.Type, "by": from}
		var body map[string]any
		if json.Unmarshal(it.Body, &body) == nil {
			if u, ok := body["users"]; ok {
				f["users"] = u
			}
			if u, ok := body["members"]; ok {
				f["users"] = u
			}
		}
		if jobs, err = s.fanOut(ctx, store.CallbackJob{ID: it.ID, AppID: j.AppID, Event: EventGroupMember, ItemID: it.ID, Created: it.Created}, f); err != nil {
			return err
		}
	}
	return s.st.Callbacks().Expand(ctx, j.ID, jobs)
}

// maxOffline bounds the offline_users of a group message's event.
const maxOffline = 1000

// offline lists the recipients of a message with no device connected: the
// 1:1 recipient, or a group's members but the sender (at most maxOffline,
// by username).
func (s *Service) offline(ctx context.Context, appID, group int64, it *store.Item) ([]string, error) {
	if s.Online == nil || group != 0 && s.Members == nil {
		return nil, nil
	}
	var ids []int64
	if group == 0 {
		if !s.Online(appID, it.To) {
			ids = append(ids, it.To)
		}
	} else {
		members, _ := s.Members(appID, group)
		for id := range members {
			if id != it.From && !s.Online(appID, id) {
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	names, err := s.st.Users().Names(ctx, appID, ids)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		out = append(out, n)
	}
	slices.Sort(out)
	if len(out) > maxOffline {
		out = out[:maxOffline]
	}
	return out, nil
}

// messagePayload is a message's content as events and the pre-send check
// show it: {type, body, ext}.
func messagePayload(typ string, body, ext []byte) map[string]any {
	p := map[string]any{"type": typ}
	if len(body) > 0 {
		p["body"] = json.RawMessage(body)
	}
	if len(ext) > 0 {
		p["ext"] = json.RawMessage(ext)
	}
	return p
}
