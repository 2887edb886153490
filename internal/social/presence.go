package social

import (
	"context"
	"encoding/json"
	"time"

	"github.com/parleyim/parley/internal/errs"
	"github.com/parleyim/parley/internal/messaging"
	"github.com/parleyim/parley/internal/tenant"
	"github.com/parleyim/parley/protocol"
)

// Presence: a user is online while any device is connected (the gateways'
// presence.Directory says which); a user may also publish a custom status
// text. Subscribers (at most 3,000 subscriptions per user, each for up to
// 30 days) get a live presence event when a user comes online, goes
// offline or changes status. Presence events are not stored: a device
// reads current presence with presence_get when it connects.

type presenceChange struct {
	appID  int64
	userID int64
}

// ConnectionChanged is called by a gateway when a user's first device
// connects or last device disconnects. It never blocks: under a connection
// storm, changes beyond the queue are dropped (subscribers still read
// presence on request).
func (s *Service) ConnectionChanged(appID, userID int64) {
	select {
	case s.presence <- presenceChange{appID, userID}:
	default:
		s.log.Warn("presence notifications backlogged; dropping one")
	}
}

func (s *Service) notifyPresence() {
	defer s.wg.Done()
	for {
		select {
		case <-s.stop:
			return
		case c := <-s.presence:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := s.notify(ctx, c.appID, c.userID); err != nil {
				s.log.Warn("presence notification", "err", err)
			}
			cancel()
		}
	}
}

// notify sends a user's current presence to their subscribers.
func (s *Service) notify(ctx context.Context, appID, userID int64) error {
	subs, err := s.st.Social().Subscribers(ctx, userID, s.now().UnixMilli())
	if err != nil || len(subs) == 0 {
		return err
	}
	names, err := s.names(ctx, appID, []int64{userID})
	if err != nil {
		return err
	}
	name, ok := names[userID]
	if !ok {
		return nil // deleted meanwhile
	}
	pr, err := s.presenceOf(ctx, appID, []int64{userID}, []string{name})
	if err != nil {
		return err
	}
	frame, _ := json.Marshal(protocol.EventFrame{T: protocol.FrameEvent,
		Event: &protocol.Event{Kind: protocol.EventPresence, Presence: pr[0], TS: s.now().UnixMilli()}})
	ev := messaging.EncodeDeliver("", frame)
	for _, sub := range subs {
		if err := s.bus.Publish(ctx, messaging.UserSubject(appID, sub), ev); err != nil {
			return err
		}
	}
	return nil
}

// presenceOf builds the presence of users (ids and names in the same order).
func (s *Service) presenceOf(ctx context.Context, appID int64, ids []int64, names []string) ([]*protocol.Presence, error) {
	ps, err := s.st.Social().Profiles(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]*protocol.Presence, len(ids))
	for i, id := range ids {
		pr := &protocol.Presence{User: names[i]}
		devs, err := s.dir.Devices(ctx, appID, id)
		if err != nil {
			return nil, err
		}
		for _, d := range devs {
			pr.Devices = append(pr.Devices, d.Resource)
		}
		pr.Online = len(devs) > 0
		if p := ps[id]; p != nil {
			pr.Status, pr.Updated = p.Status, p.StatusUpdated
		}
		out[i] = pr
	}
	return out, nil
}

// PublishStatus sets the caller's custom status text (≤1 KB; "" clears it)
// and tells their subscribers.
func (s *Service) PublishStatus(ctx context.Context, p *tenant.Principal, owner, status string) error {
	oid, _, err := s.self(ctx, p, owner)
	if err != nil {
		return err
	}
	if len(status) > MaxStatusBytes {
		return errs.New(protocol.ErrIllegalArgument, "status is %d bytes; the limit is %d", len(status), MaxStatusBytes)
	}
	if err := s.st.Social().SetStatus(ctx, p.App.ID, oid, status, s.now().UnixMilli()); err != nil {
		return err
	}
	s.ConnectionChanged(p.App.ID, oid)
	return nil
}

// Subscribe subscribes the owner to users' presence for expiry seconds
// (1..30 days) and returns their presence now.
func (s *Service) Subscribe(ctx context.Context, p *tenant.Principal, owner string, names []string, expiry int64) ([]*protocol.Presence, error) {
	oid, _, err := s.self(ctx, p, owner)
	if err != nil {
		return nil, err
	}
	if expiry < 1 || expiry > MaxExpirySeconds {
		return nil, errs.New(protocol.ErrIllegalArgument, "expiry must be 1..%d seconds", MaxExpirySeconds)
	}
	ids, canon, _, err := s.resolveMany(ctx, p.App, names, MaxBatchUsers)
	if err != nil {
		return nil, err
	}
	now := s.now().UnixMilli()
	_, total, err := s.st.Social().Subscriptions(ctx, oid, now, 0, 0)
	if err != nil {
		return nil, err
	}
	if total+len(ids) > MaxSubscriptions {
		return nil, errs.New(protocol.ErrContactLimit, "at most %d presence subscriptions per user (%d now)", MaxSubscriptions, total)
	}
	until := now + expiry*1000
	if err := s.st.Social().Subscribe(ctx, p.App.ID, oid, ids, until); err != nil {
		return nil, err
	}
	out, err := s.presenceOf(ctx, p.App.ID, ids, canon)
	if err != nil {
		return nil, err
	}
	for _, pr := range out {
		pr.Expiry = until
	}
	return out, nil
}

// Unsubscribe ends the owner's subscriptions to users.
func (s *Service) Unsubscribe(ctx context.Context, p *tenant.Principal, owner string, names []string) error {
	oid, _, err := s.self(ctx, p, owner)
	if err != nil {
		return err
	}
	ids, _, _, err := s.resolveMany(ctx, p.App, names, MaxBatchUsers)
	if err != nil {
		return err
	}
	return s.st.Social().Unsubscribe(ctx, oid, ids)
}

// Presence returns users' presence now (any token of the app).
func (s *Service) Presence(ctx context.Context, p *tenant.Principal, names []string) ([]*protocol.Presence, error) {
	if p.Anonymous() {
		return nil, errs.New(protocol.ErrUnauthorized, "this call needs a token")
	}
	ids, canon, _, err := s.resolveMany(ctx, p.App, names, MaxBatchUsers)
	if err != nil {
		return nil, err
	}
	return s.presenceOf(ctx, p.App.ID, ids, canon)
}

// Subscription is one of the owner's subscriptions.
type Subscription struct {
	User   string `json:"uid"`
	Expiry int64  `json:"expiry"`
}

// Subscriptions pages through the owner's live subscriptions (page from 1).
func (s *Service) Subscriptions(ctx context.Context, p *tenant.Principal, owner string, page, size int) ([]Subscription, int, error) {
	oid, _, err := s.self(ctx, p, owner)
	if err != nil {
		return nil, 0, err
	}
	if page < 1 || size < 1 || size > 500 {
		return nil, 0, errs.New(protocol.ErrIllegalArgument, "pageNum must be ≥1 and pageSize 1..500")
	}
	subs, total, err := s.st.Social().Subscriptions(ctx, oid, s.now().UnixMilli(), (page-1)*size, size)
	if err != nil {
		return nil, 0, err
	}
	ids := make([]int64, len(subs))
	for i, sub := range subs {
		ids[i] = sub.Target
	}
	names, err := s.names(ctx, p.App.ID, ids)
	if err != nil {
		return nil, 0, err
	}
	out := []Subscription{}
	for _, sub := range subs {
		if n, ok := names[sub.Target]; ok {
			out = append(out, Subscription{User: n, Expiry: sub.Expires})
		}
	}
	return out, total, nil
}
